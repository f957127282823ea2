package gateway

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
)

// streamConn is a gnet.Conn fed by the fuzzer: what arrives is appended to in,
// Peek shows it all and Discard consumes, as gnet's inbound buffer does.
type streamConn struct {
	discardConn
	in []byte
}

func (c *streamConn) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(c.in) {
		return c.in, nil
	}
	return c.in[:n], nil
}

func (c *streamConn) Discard(n int) (int, error) {
	n = min(n, len(c.in))
	c.in = c.in[n:]
	return n, nil
}

func (c *streamConn) InboundBuffered() int { return len(c.in) }
func (c *streamConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 40000}
}
func (c *streamConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3101}
}
func (c *streamConn) SetLinger(int) error                         { return nil }
func (c *streamConn) Context() any                                { return nil }
func (c *streamConn) SetContext(any)                              {}
func (c *streamConn) Close() error                                { return nil }
func (c *streamConn) AsyncWrite([]byte, gnet.AsyncCallback) error { return nil }

// FuzzInbound drives one connection's read path (TCP packets, or WebSocket
// frames with fragment reassembly, in any session state from the handshake on)
// with arbitrary bytes arriving in arbitrary pieces. Whatever comes in, the
// gateway must not panic, must stay within its per-connection bounds, and
// must hold no per-connection state once the connection is let go.
func FuzzInbound(f *testing.F) {
	hb := codec.AppendPacket(nil, 1, codec.OpHeartbeat, 1, nil)
	join := codec.AppendPacket(nil, 1, codec.OpJoinRoom, 2, []byte("live://1"))
	mask := [4]byte{1, 2, 3, 4}
	frag := codec.AppendWSClientFrame(nil, codec.WSOpBinary, hb[:7], mask)
	frag[0] &^= 0x80
	frag = append(frag, codec.AppendWSClientFrame(nil, codec.WSOpContinuation, hb[7:], mask)...)
	auth := codec.AppendPacket(nil, 1, codec.OpAuth, 1, []byte(`{"mid":1,"room_id":"live://1"}`))
	for _, seed := range []struct {
		data  []byte
		ws    bool
		state uint8
		cut   uint8
	}{
		{append(hb, join...), false, 0, 5},
		{auth, false, 1, 0},
		{codec.AppendWSClientFrame(nil, codec.WSOpBinary, append(hb, join...), mask), true, 0, 3},
		{frag, true, 0, 9},
		{append(codec.AppendWSClientFrame(nil, codec.WSOpPing, []byte("p"), mask), frag...), true, 0, 1},
		{codec.AppendWSClientFrame(nil, codec.WSOpBinary, auth, mask), true, 1, 0},
	} {
		f.Add(seed.data, seed.ws, seed.state, seed.cut)
	}
	srv, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WSAddr: "-", EventLoops: 1}, &fakeLogic{})
	if err != nil {
		f.Fatal(err)
	}
	l := newLoop(srv, 0, nil, 0)
	maxPayload := srv.cfg.MaxBody + codec.HeaderLen
	f.Fuzz(func(t *testing.T, data []byte, ws bool, state uint8, cut uint8) {
		c := &streamConn{}
		s := &session{c: c, loop: l, ws: ws, key: "fuzz", mid: 1, wheelSlot: -1, loopPos: -1, heartbeat: 100}
		s.state = stateOpen
		if state%2 == 1 {
			s.state = stateHandshake
		}
		step := int(cut%64) + 1 // bytes per read
		for len(data) > 0 {
			n := min(step, len(data))
			c.in = append(c.in, data[:n]...)
			data = data[n:]
			if srv.readInbound(s) != gnet.None {
				break
			}
			if len(s.rooms) > maxRoomsPerConn || len(s.accepts) > maxAccepts {
				t.Fatalf("bounds broken: %d rooms, %d accepts", len(s.rooms), len(s.accepts))
			}
			if len(l.frags[s]) > maxPayload {
				t.Fatalf("held %d bytes of fragments, limit %d", len(l.frags[s]), maxPayload)
			}
		}
		// Let the connection go as OnClose would.
		l.wheel.remove(s)
		delete(l.frags, s)
		for _, r := range s.rooms {
			srv.table.Leave(r, s)
		}
		if len(l.frags) != 0 {
			t.Fatalf("%d fragment buffers left behind", len(l.frags))
		}
	})
}
