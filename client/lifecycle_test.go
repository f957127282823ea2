package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/barrage/barrage/codec"
)

func TestDialFailsWhenAuthIsNotAnswered(t *testing.T) {
	tests := []struct {
		name    string
		tr      Transport
		auth    authMode
		timeout time.Duration
		want    []string
	}{
		{"tcp server closes", TCP, authClose, 0, []string{"closed the connection instead of replying to auth", "EOF"}},
		{"ws server closes", WebSocket, authClose, 0, []string{"closed the connection instead of replying to auth", "EOF"}},
		{"ws close frame", WebSocket, authWSClose, 0, []string{"closed the websocket", "1008", "bad token"}},
		{"tcp silent", TCP, authSilent, 100 * time.Millisecond, []string{"no auth reply (op 8)", "within 100ms"}},
		{"ws silent", WebSocket, authSilent, 100 * time.Millisecond, []string{"no auth reply (op 8)", "within 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.tr, tt.auth)
			rec := newRecorder()
			c, err := Dial(context.Background(), Options{Transport: tt.tr, Addr: s.addr(), Auth: testAuth, DialTimeout: tt.timeout, OnClose: rec.onClose})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded without an auth reply")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Dial error %q does not contain %q", err, w)
				}
			}
			if n, _ := rec.closeCalls(); n != 0 {
				t.Errorf("OnClose called %d times for a failed Dial", n)
			}
		})
	}
}

func TestDialCanceledByContext(t *testing.T) {
	s := newFakeServer(t, TCP, authSilent)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Dial(ctx, Options{Addr: s.addr(), Auth: testAuth})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Dial error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial took %v after the context was canceled", d)
	}
}

func TestDialWebSocketPathOption(t *testing.T) {
	s := newFakeServer(t, WebSocket, authReply)
	_, fc, _ := dialFake(t, s, func(o *Options) { o.Path = "/other?room=1" })
	if fc.path != "/other?room=1" {
		t.Errorf("request URI %q, want /other?room=1", fc.path)
	}
}

func TestDialWebSocketRejected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		body := "404 page not found " + req.URL.Path
		fmt.Fprintf(nc, "HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}()
	_, err = Dial(context.Background(), Options{Transport: WebSocket, Addr: ln.Addr().String(), Path: "/sub?x=1", Auth: testAuth})
	if err == nil || !strings.Contains(err.Error(), "websocket upgrade") || !strings.Contains(err.Error(), "404") {
		t.Errorf("Dial error %v, want a failed websocket upgrade naming status 404", err)
	}
}

func TestServerCloseEndsConnection(t *testing.T) {
	tests := []struct {
		name      string
		tr        Transport
		closeWith []byte // a frame to send first, nil = just close the socket
		want      string
	}{
		{"tcp eof", TCP, nil, "server closed the connection"},
		{"ws eof", WebSocket, nil, "server closed the connection"},
		{"ws close frame", WebSocket, codec.AppendWSClose(nil, 4000, "bye"), `websocket close 4000 "bye"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.tr, authReply)
			c, fc, rec := dialFake(t, s, nil)
			reqErr := make(chan error, 1)
			go func() {
				_, err := c.Request(context.Background(), opSilent, nil)
				reqErr <- err
			}()
			fc.nextPacket(t) // the request is on the wire, so it is pending
			if tt.closeWith != nil {
				fc.writeRaw(tt.closeWith)
				payload := recv(t, fc.closes, "the echoed close frame")
				if code, _, _ := codec.WSClosePayload(payload); code != 4000 {
					t.Errorf("client echoed close code %d, want 4000", code)
				}
			}
			fc.nc.Close()

			err := recv(t, reqErr, "the pending request to fail")
			if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("pending request error %q: want ErrClosed naming %q", err, tt.want)
			}
			waitDone(t, c)
			n, closeErr := rec.closeCalls()
			if n != 1 || closeErr == nil || !strings.Contains(closeErr.Error(), tt.want) {
				t.Errorf("OnClose called %d times with %v, want once with an error naming %q", n, closeErr, tt.want)
			}
			if c.Err() != closeErr {
				t.Errorf("Err() = %v, want what OnClose got (%v)", c.Err(), closeErr)
			}
			var ce *CloseError
			if tt.closeWith != nil && (!errors.As(closeErr, &ce) || ce.Code != 4000 || ce.Reason != "bye") {
				t.Errorf("OnClose error %v is not CloseError{4000, bye}", closeErr)
			}
			if _, err := c.Request(context.Background(), codec.OpHeartbeat, nil); !errors.Is(err, ErrClosed) {
				t.Errorf("request after the end: %v, want ErrClosed", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after the end: %v", err)
			}
			if n, _ := rec.closeCalls(); n != 1 {
				t.Errorf("OnClose called %d times, want once", n)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, fc, rec := dialFake(t, s, nil)
			if err := c.Close(); err != nil {
				t.Errorf("first Close: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			waitDone(t, c)
			if n, err := rec.closeCalls(); n != 1 || err != nil {
				t.Errorf("OnClose called %d times with %v, want once with nil", n, err)
			}
			if c.Err() != nil {
				t.Errorf("Err() after Close = %v, want nil", c.Err())
			}
			if _, err := c.Heartbeat(context.Background()); !errors.Is(err, ErrClosed) {
				t.Errorf("Heartbeat after Close: %v, want ErrClosed", err)
			}
			if tr == WebSocket {
				payload := recv(t, fc.closes, "the client's close frame")
				if code, _, _ := codec.WSClosePayload(payload); code != codec.WSCloseNormal {
					t.Errorf("close frame code %d, want 1000", code)
				}
			}
			recv(t, fc.ended, "the fake to see the socket closed")
		})
	}
}

func TestCloseFromOnPush(t *testing.T) {
	s := newFakeServer(t, TCP, authReply)
	var c *Conn
	ready := make(chan struct{})
	c, fc, _ := dialFake(t, s, func(o *Options) {
		o.OnPush = func(codec.Packet) { <-ready; c.Close() }
	})
	close(ready)
	fc.push(codec.Packet{Op: 1000})
	waitDone(t, c)
	if c.Err() != nil {
		t.Errorf("Err() = %v after Close from OnPush, want nil", c.Err())
	}
}

func TestRequestContextEnds(t *testing.T) {
	s := newFakeServer(t, TCP, authReply)
	c, _, _ := dialFake(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Request(ctx, opSilent, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Request error %v, want DeadlineExceeded", err)
	}
	if n := c.npending.Load(); n != 0 {
		t.Errorf("%d requests still pending after their context ended", n)
	}
	if _, err := c.Heartbeat(context.Background()); err != nil {
		t.Errorf("the connection is unusable after a request timed out: %v", err)
	}
}

func TestPingIsAnsweredWithPong(t *testing.T) {
	s := newFakeServer(t, WebSocket, authReply)
	c, fc, rec := dialFake(t, s, nil)
	fc.writeRaw(codec.AppendWSFrame(nil, codec.WSOpPing, []byte("hi")))
	if got := recv(t, fc.pongs, "a pong"); string(got) != "hi" {
		t.Errorf("pong payload %q, want %q", got, "hi")
	}
	fc.writeRaw(codec.AppendWSFrame(nil, codec.WSOpPing, nil))
	if got := recv(t, fc.pongs, "an empty pong"); len(got) != 0 {
		t.Errorf("pong payload %q, want empty", got)
	}
	fc.writeRaw(codec.AppendWSFrame(nil, codec.WSOpPong, []byte("unsolicited")))
	if _, err := c.Heartbeat(context.Background()); err != nil {
		t.Errorf("heartbeat after control frames: %v", err)
	}
	rec.noPush(t, 10*time.Millisecond)
}

func TestHeartbeatTimer(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, fc, rec := dialFake(t, s, func(o *Options) { o.Heartbeat = 20 * time.Millisecond })
			start := time.Now()
			last := int32(1)
			for i := range 4 {
				p := fc.nextPacket(t)
				if p.Op != codec.OpHeartbeat || p.Seq <= last {
					t.Fatalf("timer packet %d: op %d seq %d, want op 2 with seq > %d", i, p.Op, p.Seq, last)
				}
				last = p.Seq
			}
			if d := time.Since(start); d < 60*time.Millisecond {
				t.Errorf("4 heartbeats in %v: the timer does not wait 20ms between them", d)
			}
			rec.noPush(t, 30*time.Millisecond) // replies to timer heartbeats are consumed
			if c.Online() != onlineNow {
				t.Errorf("Online() = %d, want %d from the heartbeat replies", c.Online(), onlineNow)
			}
			c.Close()
			waitDone(t, c)
			recv(t, fc.ended, "the fake to see the socket closed")
			c.mu.Lock()
			stopped := c.timer == nil
			c.mu.Unlock()
			if !stopped {
				t.Error("heartbeat timer still armed after the connection ended")
			}
		})
	}
}

func TestBadServerDataEndsConnection(t *testing.T) {
	pkt := codec.AppendPacket(nil, 1, 1000, 0, []byte("x"))
	badHeaderLen := append([]byte(nil), pkt...)
	badHeaderLen[5] = 20
	tests := []struct {
		name  string
		tr    Transport
		bytes []byte
		want  error  // matched with errors.Is, or nil
		text  string // contained in the error
	}{
		{"tcp body over MaxBody", TCP, codec.AppendPacket(nil, 1, 1000, 0, make([]byte, 2000)), codec.ErrPackLenTooLarge, "bad packet"},
		{"tcp headerLen 20", TCP, badHeaderLen, codec.ErrHeaderLen, "bad packet"},
		{"ws frame over MaxBody", WebSocket, codec.AppendWSFrame(nil, codec.WSOpBinary, make([]byte, 2000)), codec.ErrWSTooLarge, "bad websocket frame"},
		{"ws masked frame", WebSocket, codec.AppendWSClientFrame(nil, codec.WSOpBinary, pkt, [4]byte{1, 2, 3, 4}), codec.ErrWSMasked, "bad websocket frame"},
		{"ws text frame", WebSocket, codec.AppendWSFrame(nil, codec.WSOpText, pkt), nil, "text frame"},
		{"ws fragment", WebSocket, codec.AppendWSHeader(nil, codec.WSOpBinary, false, 0), codec.ErrWSFragmented, "bad websocket frame"},
		{"ws two packets in a frame", WebSocket, codec.AppendWSFrame(nil, codec.WSOpBinary, append(pkt, pkt...)), nil, "exactly one packet"},
		{"ws truncated op-9 batch", WebSocket, codec.AppendWSFrame(nil, codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpRaw, 0, pkt[:20])), nil, "op-9 batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.tr, authReply)
			c, fc, _ := dialFake(t, s, func(o *Options) { o.MaxBody = 1024 })
			fc.writeRaw(tt.bytes)
			waitDone(t, c)
			err := c.Err()
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("connection ended with %v, want an error matching %v and containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestDecodeStream(t *testing.T) {
	one := codec.AppendPacket(nil, 1, 1000, 0, []byte("one"))
	two := codec.AppendPacket(nil, 1, 1001, 0, []byte("two"))
	three := codec.AppendPacket(nil, 1, 3, 9, []byte{0, 0, 0, 7})
	var stream []byte
	stream = append(stream, one...)
	stream = codec.AppendPacket(stream, 1, codec.OpRaw, 0, append(append([]byte(nil), two...), three...))
	tests := []struct {
		name    string
		in      []byte
		wantOps []int32
		wantErr error
	}{
		{"whole", stream, []int32{1000, 1001, 3}, nil},
		{"empty", nil, nil, nil},
		{"cut inside a packet", stream[:len(stream)-2], []int32{1000}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ops []int32
			err := DecodeStream(iotest.OneByteReader(bytes.NewReader(tt.in)), func(p codec.Packet) { ops = append(ops, p.Op) })
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if len(ops) != len(tt.wantOps) {
				t.Fatalf("ops %v, want %v", ops, tt.wantOps)
			}
			for i := range ops {
				if ops[i] != tt.wantOps[i] {
					t.Errorf("ops %v, want %v", ops, tt.wantOps)
				}
			}
		})
	}
}
