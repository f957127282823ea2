package client

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
	"github.com/gobwas/ws"
)

// The fake gateway: just enough of the protocol, written with codec and
// independent of the client's own reading code, so that the tests check the
// client against the wire format rather than against itself.

type authMode int

const (
	authReply   authMode = iota // answer op 7 with op 8
	authClose                   // close the socket instead
	authWSClose                 // send close frame 1008 "bad token", then close
	authSilent                  // never answer
)

// Ops with a special meaning to the fake.
const (
	opSilent  int32 = 99 // never answered
	opTricky  int32 = 77 // answered by decoys first, see serve
	onlineNow int32 = 7  // the count every heartbeat reply carries
)

// badEchoRoom is a room the fake answers with a different body.
const badEchoRoom = "live://bad-echo"

type fakeServer struct {
	t     testing.TB
	ln    net.Listener
	ws    bool
	auth  authMode
	conns chan *fakeConn
}

type fakeConn struct {
	t      testing.TB
	nc     net.Conn
	ws     bool
	path   string            // WebSocket request URI
	got    chan codec.Packet // every packet the client sent, body copied
	pongs  chan []byte
	closes chan []byte // close frame payloads the client sent
	ended  chan struct{}
	wmu    sync.Mutex
}

func newFakeServer(t testing.TB, tr Transport, auth authMode) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &fakeServer{t: t, ln: ln, ws: tr == WebSocket, auth: auth, conns: make(chan *fakeConn, 16)}
	t.Cleanup(func() { ln.Close() })
	go s.accept()
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.t.Cleanup(func() { nc.Close() })
		fc := &fakeConn{
			t: s.t, nc: nc, ws: s.ws,
			got:    make(chan codec.Packet, 256),
			pongs:  make(chan []byte, 16),
			closes: make(chan []byte, 4),
			ended:  make(chan struct{}),
		}
		go func() {
			if s.ws {
				up := ws.Upgrader{OnRequest: func(uri []byte) error { fc.path = string(uri); return nil }}
				if _, err := up.Upgrade(nc); err != nil {
					s.t.Errorf("fake: websocket upgrade: %v", err)
					nc.Close()
					return
				}
			}
			s.conns <- fc
			fc.serve(s.auth)
		}()
	}
}

// conn waits for the next accepted (and upgraded) connection.
func (s *fakeServer) conn() *fakeConn {
	s.t.Helper()
	return recv(s.t, s.conns, "the fake server to accept a connection")
}

// serve reads client packets and answers them until the client goes away.
func (fc *fakeConn) serve(auth authMode) {
	defer close(fc.ended)
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		n, err := fc.nc.Read(chunk)
		if err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			used, ok := fc.next(buf, auth)
			if !ok {
				return
			}
			if used == 0 {
				break
			}
			buf = buf[used:]
		}
	}
}

// next handles one unit from the front of buf: (0, true) needs more bytes,
// ok false ends the connection.
func (fc *fakeConn) next(buf []byte, auth authMode) (used int, ok bool) {
	pkt := buf
	if fc.ws {
		f, err := codec.DecodeWSFrame(buf, 1<<20, true) // also proves the client masks
		if err != nil {
			fc.t.Errorf("fake: bad frame from client: %v", err)
			return 0, false
		}
		if f.Total == 0 {
			return 0, true
		}
		payload := bytes.Clone(buf[f.PayloadStart:f.Total])
		codec.Unmask(payload, f.Mask)
		switch f.Opcode {
		case codec.WSOpPong:
			fc.pongs <- payload
			return f.Total, true
		case codec.WSOpClose:
			fc.closes <- payload
			return f.Total, false
		}
		pkt, used = payload, f.Total
	}
	p, n, err := codec.Decode(pkt, 1<<20)
	if err != nil {
		fc.t.Errorf("fake: bad packet from client: %v", err)
		return 0, false
	}
	if n == 0 {
		if fc.ws {
			fc.t.Errorf("fake: websocket frame holds a partial packet")
			return 0, false
		}
		return 0, true
	}
	if !fc.ws {
		used = n
	}
	p.Body = bytes.Clone(p.Body)
	select {
	case fc.got <- p:
	default: // a test sending this many packets does not inspect them
	}
	return used, fc.answer(p, auth)
}

func (fc *fakeConn) answer(p codec.Packet, auth authMode) bool {
	switch p.Op {
	case codec.OpAuth:
		switch auth {
		case authClose:
			fc.nc.Close()
			return false
		case authWSClose:
			fc.writeRaw(codec.AppendWSClose(nil, codec.WSClosePolicyViolation, "bad token"))
			fc.nc.Close()
			return false
		case authSilent:
			return true
		}
		fc.write(p.Ver, codec.OpAuthReply, p.Seq, nil)
	case codec.OpHeartbeat:
		fc.writePacket(codec.AppendHeartbeatReply(nil, p.Ver, p.Seq, onlineNow))
	case codec.OpChangeRoom, codec.OpSub, codec.OpUnsub, codec.OpJoinRoom, codec.OpLeaveRoom:
		body := p.Body
		if string(body) == badEchoRoom {
			body = []byte("live://elsewhere")
		}
		fc.write(p.Ver, codec.ReplyOp(p.Op), p.Seq, body)
	case codec.OpSendMsg:
		fc.write(p.Ver, codec.OpSendMsg, p.Seq, nil)
	case opSilent:
	case opTricky:
		// Decoys: right op wrong seq, right seq wrong op. Only the third answers.
		fc.write(p.Ver, opTricky, p.Seq+100, []byte("other seq"))
		fc.write(p.Ver, opTricky+1, p.Seq, []byte("other op"))
		fc.write(p.Ver, opTricky, p.Seq, []byte("right"))
	default:
		fc.write(p.Ver, p.Op, p.Seq, append([]byte("re:"), p.Body...))
	}
	return true
}

// write sends one reply packet, framed as the transport wants.
func (fc *fakeConn) write(ver uint16, op, seq int32, body []byte) {
	fc.writePacket(codec.AppendPacket(nil, ver, op, seq, body))
}

func (fc *fakeConn) writePacket(pkt []byte) {
	if fc.ws {
		pkt = codec.AppendWSFrame(nil, codec.WSOpBinary, pkt)
	}
	fc.writeRaw(pkt)
}

func (fc *fakeConn) writeRaw(b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	_, _ = fc.nc.Write(b)
}

// push sends packets as one batch the way the gateway does: bare packets back to
// back on TCP, one op-9 frame on WebSocket.
func (fc *fakeConn) push(pkts ...codec.Packet) {
	f := batch(pkts...)
	fc.writeRaw(f.Bytes(fc.ws))
}

// pushSlowly sends the same bytes as push, one byte per write.
func (fc *fakeConn) pushSlowly(pkts ...codec.Packet) {
	f := batch(pkts...)
	for _, b := range f.Bytes(fc.ws) {
		fc.writeRaw([]byte{b})
		time.Sleep(200 * time.Microsecond)
	}
}

func batch(pkts ...codec.Packet) codec.Frame {
	var bw codec.BatchWriter
	bw.Reset(0)
	for _, p := range pkts {
		bw.Add(codec.DefaultVer, p.Op, p.Seq, p.Body)
	}
	return bw.Seal()
}

// nextPacket waits for the next packet the client sent.
func (fc *fakeConn) nextPacket(t *testing.T) codec.Packet {
	t.Helper()
	return recv(t, fc.got, "a packet from the client")
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
