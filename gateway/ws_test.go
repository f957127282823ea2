package gateway

import (
	"bytes"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
)

const vectorUpgrade = "474554202f73756220485454502f312e310d0a486f73743a203132372e302e302e313a333130320d0a557067726164653a20776562736f636b65740d0a436f6e6e656374696f6e3a20557067726164650d0a5365632d576562536f636b65742d4b65793a206447686c49484e68625842735a5342756232356a5a513d3d0d0a5365632d576562536f636b65742d56657273696f6e3a2031330d0a0d0a"
const vectorUpgradeReply = "485454502f312e312031303120537769746368696e672050726f746f636f6c730d0a557067726164653a20776562736f636b65740d0a436f6e6e656374696f6e3a20557067726164650d0a5365632d576562536f636b65742d4163636570743a20733370504c4d426954786151396b59477a7a685a52624b2b784f6f3d0d0a0d0a"

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// wsUpgrade sends goim's captured upgrade request and checks the byte-exact reply.
func wsUpgrade(t *testing.T, addr string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	c.send(unhex(t, vectorUpgrade))
	want := unhex(t, vectorUpgradeReply)
	if got := c.readN(len(want), 3*time.Second); !bytes.Equal(got, want) {
		t.Fatalf("upgrade reply:\n%q\nwant\n%q", got, want)
	}
	return c
}

func (c *rawConn) sendWS(op byte, payload []byte) {
	c.t.Helper()
	c.send(codec.AppendWSClientFrame(nil, op, payload, testMask))
}

// wsFrame reads one server frame and returns opcode and payload.
func (c *rawConn) wsFrame(d time.Duration) (byte, []byte) {
	c.t.Helper()
	h := c.readN(2, d)
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		e := c.readN(2, d)
		n = int(e[0])<<8 | int(e[1])
		h = append(h, e...)
	case 127:
		c.t.Fatal("unexpected 64-bit frame in test")
	}
	if h[1]&0x80 != 0 {
		c.t.Fatal("server frame is masked")
	}
	return h[0] & 0x0f, c.readN(n, d)
}

func TestWebSocketGoimExchange(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := wsUpgrade(t, g.ws)
	// goim's captured masked auth frame, then heartbeat.
	c.send(unhex(t, "82eb37fa213d37fa215637ea213c37fa213a37fa213c4cd84c5453d81b0c05c90d1f5c9f581f0dd84a0c05c9031115884e525aa5485915c003515e8c440718d5100d07ca0311158a4d5c439c4e4f5ad81b1f5694454f5893451f1bd8405e549f514944d81b6606ca110d1bcb110d06a75c"))
	if got, want := c.readN(18, 3*time.Second), unhex(t, "821000000010001000010000000800000001"); !bytes.Equal(got, want) {
		t.Fatalf("auth reply %x want %x", got, want)
	}
	c.send(unhex(t, "829037fa213d37fa212d37ea213c37fa213f37fa213f"))
	if got, want := c.readN(22, 3*time.Second), unhex(t, "82140000001400100001000000030000000200000001"); !bytes.Equal(got, want) {
		t.Fatalf("heartbeat reply %x want %x", got, want)
	}
	// Room push: one binary frame holding one op-9 packet.
	_ = g.BroadcastRoom("live://1000", 1000, 0, []byte(`{"seq":1,"ts":0}`))
	if got, want := c.readN(50, 3*time.Second), unhex(t, "8230000000300010000100000009000000000000002000100001000003e8000000007b22736571223a312c227473223a307d"); !bytes.Equal(got, want) {
		t.Fatalf("room push %x want %x", got, want)
	}
	// Key push is op-9 wrapped on WebSocket too.
	_ = g.PushKeys(1000, []string{"k123"}, []byte(`{"seq":3,"ts":0}`))
	if got, want := c.readN(50, 3*time.Second), unhex(t, "8230000000300010000100000009000000000000002000100001000003e8000000007b22736571223a332c227473223a307d"); !bytes.Equal(got, want) {
		t.Fatalf("key push %x want %x", got, want)
	}
	// Ping is answered at once (goim buffers the pong until its next write).
	c.sendWS(codec.WSOpPing, []byte("hi"))
	if op, payload := c.wsFrame(3 * time.Second); op != codec.WSOpPong || string(payload) != "hi" {
		t.Fatalf("pong: op %x payload %q", op, payload)
	}
	// Change room, captured exchange.
	c.send(unhex(t, "829b37fa213d37fa212637ea213c37fa213137fa213e5b9357580dd50e0f07ca11"))
	if got, want := c.readN(29, 3*time.Second), unhex(t, "821b0000001b001000010000000d000000036c6976653a2f2f32303030"); !bytes.Equal(got, want) {
		t.Fatalf("change room reply %x want %x", got, want)
	}
	// Close: we answer with a close frame (goim just drops the socket).
	c.send(unhex(t, "888237fa213d3412"))
	rest := c.expectClosed(2 * time.Second)
	if !bytes.Equal(rest, unhex(t, "880203e8")) {
		t.Fatalf("close reply %x", rest)
	}
}

func TestWebSocketBatchOfTwo(t *testing.T) {
	g := startGateway(t, func(c *Config) { c.BatchWindow = 200 * time.Millisecond }, nil)
	c := wsUpgrade(t, g.ws)
	c.sendWS(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(1, "a", "live://1000")))
	if op, p := c.wsFrame(3 * time.Second); op != codec.WSOpBinary || len(p) != 16 {
		t.Fatalf("auth reply op %x len %d", op, len(p))
	}
	// The first message to a quiet room goes at once; the next two coalesce.
	for i, body := range []string{`{"seq":0,"ts":0}`, `{"seq":1,"ts":0}`, `{"seq":2,"ts":0}`} {
		_ = g.BroadcastRoom("live://1000", 1000, 0, []byte(body))
		if i == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Generous read deadlines: under -race on a loaded 2-core box the timer
	// flush can be late; the framing is what this test checks, not the timing.
	_, first := c.wsFrame(5 * time.Second)
	if len(first) != 48 {
		t.Fatalf("first frame %d bytes", len(first))
	}
	op, batch := c.wsFrame(5 * time.Second)
	want := unhex(t, "00000050001000010000000900000000"+"0000002000100001000003e8000000007b22736571223a312c227473223a307d0000002000100001000003e8000000007b22736571223a322c227473223a307d")
	if op != codec.WSOpBinary || !bytes.Equal(batch, want) {
		t.Fatalf("batched frame %x\nwant %x", batch, want)
	}
}

// wsFragments splits payload into n masked frames: the first with op, the rest
// continuations, FIN on the last (RFC 6455 5.4).
func wsFragments(op byte, payload []byte, n int) []byte {
	var out []byte
	step := (len(payload) + n - 1) / n
	for i := 0; i < n; i++ {
		part := payload[min(i*step, len(payload)):min((i+1)*step, len(payload))]
		fop := byte(codec.WSOpContinuation)
		if i == 0 {
			fop = op
		}
		f := codec.AppendWSClientFrame(nil, fop, part, testMask)
		if i < n-1 {
			f = clearFin(f)
		}
		out = append(out, f...)
	}
	return out
}

// Fragmented messages are reassembled: an auth split in three, a heartbeat
// split around a ping (control frames may be interleaved), each fragment sent
// in its own write so the gateway sees them in separate reads.
func TestWebSocketFragmentedMessages(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := wsUpgrade(t, g.ws)
	auth := codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(1, "frag", "live://1000"))
	for _, b := range splitFrames(wsFragments(codec.WSOpBinary, auth, 3)) {
		c.send(b)
		time.Sleep(5 * time.Millisecond)
	}
	if op, p := c.wsFrame(3 * time.Second); op != codec.WSOpBinary || len(p) != 16 {
		t.Fatalf("auth reply op %x len %d", op, len(p))
	}
	hb := splitFrames(wsFragments(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpHeartbeat, 7, nil), 2))
	c.send(hb[0])
	c.sendWS(codec.WSOpPing, []byte("p"))
	if op, p := c.wsFrame(3 * time.Second); op != codec.WSOpPong || string(p) != "p" {
		t.Fatalf("pong between fragments: op %x payload %q", op, p)
	}
	c.send(hb[1])
	op, p := c.wsFrame(3 * time.Second)
	pkt, _, err := codec.Decode(p, 4096)
	if op != codec.WSOpBinary || err != nil || pkt.Op != codec.OpHeartbeatReply || pkt.Seq != 7 {
		t.Fatalf("heartbeat reply op %x packet %+v err %v", op, pkt, err)
	}
	// A whole frame after a reassembled message is handled normally.
	c.sendWS(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpHeartbeat, 8, nil))
	_, p = c.wsFrame(3 * time.Second)
	if pkt, _, _ := codec.Decode(p, 4096); pkt.Seq != 8 {
		t.Fatalf("heartbeat after fragments: seq %d", pkt.Seq)
	}
}

// splitFrames cuts concatenated client frames apart.
func splitFrames(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		f, err := codec.DecodeWSFrame(b, 1<<20, true)
		if err != nil || f.Total == 0 {
			panic("splitFrames: bad input")
		}
		out = append(out, b[:f.Total])
		b = b[f.Total:]
	}
	return out
}
