package client

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
)

var transports = []Transport{TCP, WebSocket}

var testAuth = codec.AuthBody{Mid: 123, Key: "k123", RoomID: "live://1000", Platform: "android", Accepts: []int32{1000, 1001}}

// recorder keeps what the callbacks saw.
type recorder struct {
	pushes chan codec.Packet // bodies copied

	mu        sync.Mutex
	closes    int
	closeErrs []error
}

func newRecorder() *recorder { return &recorder{pushes: make(chan codec.Packet, 1024)} }

func (r *recorder) onPush(p codec.Packet) {
	p.Body = bytes.Clone(p.Body)
	r.pushes <- p
}

func (r *recorder) onClose(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closes++
	r.closeErrs = append(r.closeErrs, err)
}

func (r *recorder) closeCalls() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closes == 0 {
		return 0, nil
	}
	return r.closes, r.closeErrs[0]
}

func (r *recorder) noPush(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case p := <-r.pushes:
		t.Fatalf("unexpected push op %d seq %d body %q", p.Op, p.Seq, p.Body)
	case <-time.After(within):
	}
}

// dialFake dials s with the recorder's callbacks, lets mod adjust the options,
// and returns the connection with the fake's side of it (its auth packet read).
func dialFake(t *testing.T, s *fakeServer, mod func(*Options)) (*Conn, *fakeConn, *recorder) {
	t.Helper()
	rec := newRecorder()
	o := Options{Addr: s.addr(), Auth: testAuth, OnPush: rec.onPush, OnClose: rec.onClose, DialTimeout: 5 * time.Second}
	if s.ws {
		o.Transport = WebSocket
	}
	if mod != nil {
		mod(&o)
	}
	c, err := Dial(context.Background(), o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	fc := s.conn()
	if p := fc.nextPacket(t); p.Op != codec.OpAuth {
		t.Fatalf("first packet op %d, want auth (7)", p.Op)
	}
	return c, fc, rec
}

func waitDone(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection did not end")
	}
}

func TestDialSendsAuthAndWaitsForReply(t *testing.T) {
	tests := []struct {
		tr      Transport
		ver     uint16
		wantVer uint16
	}{
		{TCP, 0, codec.DefaultVer},
		{WebSocket, 0, codec.DefaultVer},
		{TCP, 3, 3},
		{WebSocket, 3, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/ver%d", tt.tr, tt.ver), func(t *testing.T) {
			s := newFakeServer(t, tt.tr, authReply)
			c, err := Dial(context.Background(), Options{Transport: tt.tr, Addr: s.addr(), Auth: testAuth, Ver: tt.ver})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			fc := s.conn()
			p := fc.nextPacket(t)
			if p.Op != codec.OpAuth || p.Seq != 1 || p.Ver != tt.wantVer {
				t.Errorf("auth packet op %d seq %d ver %d, want op 7 seq 1 ver %d", p.Op, p.Seq, p.Ver, tt.wantVer)
			}
			got, err := codec.DecodeAuth(p.Body)
			if err != nil {
				t.Fatalf("auth body %q: %v", p.Body, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(testAuth) {
				t.Errorf("auth body = %+v, want %+v", got, testAuth)
			}
			if c.Key() != "k123" {
				t.Errorf("Key() = %q, want k123", c.Key())
			}
			if tt.tr == WebSocket && fc.path != "/sub" {
				t.Errorf("websocket request URI %q, want /sub", fc.path)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name     string
		do       func(ctx context.Context, c *Conn) error
		wantOp   int32
		wantBody string
	}{
		{"heartbeat", func(ctx context.Context, c *Conn) error {
			online, err := c.Heartbeat(ctx)
			if err == nil && online != onlineNow {
				err = fmt.Errorf("online %d, want %d", online, onlineNow)
			}
			return err
		}, codec.OpHeartbeat, ""},
		{"change room", func(ctx context.Context, c *Conn) error { return c.ChangeRoom(ctx, "live://2000") }, codec.OpChangeRoom, "live://2000"},
		{"leave by empty change room", func(ctx context.Context, c *Conn) error { return c.ChangeRoom(ctx, "") }, codec.OpChangeRoom, ""},
		{"join room", func(ctx context.Context, c *Conn) error { return c.JoinRoom(ctx, "live://3000") }, codec.OpJoinRoom, "live://3000"},
		{"leave room", func(ctx context.Context, c *Conn) error { return c.LeaveRoom(ctx, "live://3000") }, codec.OpLeaveRoom, "live://3000"},
		{"sub", func(ctx context.Context, c *Conn) error { return c.Sub(ctx, 1000, 1001) }, codec.OpSub, "1000,1001"},
		{"unsub", func(ctx context.Context, c *Conn) error { return c.Unsub(ctx, 1002) }, codec.OpUnsub, "1002"},
		{"send", func(ctx context.Context, c *Conn) error { return c.Send(ctx, []byte("hello")) }, codec.OpSendMsg, "hello"},
		{"generic request", func(ctx context.Context, c *Conn) error {
			p, err := c.Request(ctx, 1234, []byte("ping"))
			if err == nil && (p.Op != 1234 || string(p.Body) != "re:ping") {
				err = fmt.Errorf("reply op %d body %q, want op 1234 body re:ping", p.Op, p.Body)
			}
			return err
		}, 1234, "ping"},
		{"reply matched by seq and op", func(ctx context.Context, c *Conn) error {
			p, err := c.Request(ctx, opTricky, nil)
			if err == nil && string(p.Body) != "right" {
				err = fmt.Errorf("reply body %q, want the one with matching seq and op", p.Body)
			}
			return err
		}, opTricky, ""},
	}
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, fc, rec := dialFake(t, s, nil)
			wantSeq := int32(2) // auth took 1
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := tt.do(ctx, c); err != nil {
						t.Fatalf("request: %v", err)
					}
					p := fc.nextPacket(t)
					if p.Op != tt.wantOp || string(p.Body) != tt.wantBody || p.Seq != wantSeq {
						t.Errorf("server got op %d seq %d body %q, want op %d seq %d body %q", p.Op, p.Seq, p.Body, tt.wantOp, wantSeq, tt.wantBody)
					}
					wantSeq++
				})
			}
			// The two decoys of the tricky request are not replies: they are pushes.
			for _, want := range []string{"other seq", "other op"} {
				if p := recv(t, rec.pushes, "a decoy push"); string(p.Body) != want {
					t.Errorf("push body %q, want decoy %q", p.Body, want)
				}
			}
			rec.noPush(t, 50*time.Millisecond)
		})
	}
}

func TestEchoMismatchIsAnError(t *testing.T) {
	s := newFakeServer(t, TCP, authReply)
	c, _, _ := dialFake(t, s, nil)
	err := c.ChangeRoom(context.Background(), badEchoRoom)
	if err == nil || !strings.Contains(err.Error(), "does not echo") {
		t.Errorf("ChangeRoom with a wrong echo: error %v, want one saying the reply does not echo", err)
	}
}

func TestPushesUnpackedInOrder(t *testing.T) {
	one := codec.Packet{Op: 1000, Body: []byte(`{"seq":1}`)}
	two := codec.Packet{Op: 1001, Body: []byte(`{"seq":2}`)}
	three := codec.Packet{Op: 1000, Seq: 5, Body: []byte(`{"seq":3}`)}
	tests := []struct {
		name   string
		tr     Transport
		slowly bool
	}{
		{"tcp", TCP, false},
		{"ws", WebSocket, false},
		{"tcp byte by byte", TCP, true},
		{"ws byte by byte", WebSocket, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.tr, authReply)
			_, fc, rec := dialFake(t, s, nil)
			if tt.slowly {
				fc.pushSlowly(one, two)
				fc.pushSlowly(three)
			} else {
				fc.push(one, two)
				fc.push(three)
			}
			for i, want := range []codec.Packet{one, two, three} {
				got := recv(t, rec.pushes, fmt.Sprintf("push %d", i+1))
				if got.Op != want.Op || got.Seq != want.Seq || got.Ver != codec.DefaultVer || !bytes.Equal(got.Body, want.Body) {
					t.Errorf("push %d = op %d seq %d ver %d body %q, want op %d seq %d ver 1 body %q",
						i+1, got.Op, got.Seq, got.Ver, got.Body, want.Op, want.Seq, want.Body)
				}
			}
			rec.noPush(t, 20*time.Millisecond)
		})
	}
}

func TestLargePushGrowsThenShrinksReadBuffer(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, fc, rec := dialFake(t, s, nil)
			big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
			fc.push(codec.Packet{Op: 1000, Body: big})
			fc.push(codec.Packet{Op: 1001, Body: []byte("small")})
			if p := recv(t, rec.pushes, "the big push"); p.Op != 1000 || !bytes.Equal(p.Body, big) {
				t.Fatalf("big push op %d, %d bytes, equal %v", p.Op, len(p.Body), bytes.Equal(p.Body, big))
			}
			if p := recv(t, rec.pushes, "the small push"); string(p.Body) != "small" {
				t.Fatalf("small push body %q", p.Body)
			}
			c.Close()
			waitDone(t, c) // the reader has exited: its buffer may be inspected
			if len(c.rb.buf) != DefaultReadBufferSize {
				t.Errorf("read buffer is %d bytes after draining, want it back to %d", len(c.rb.buf), DefaultReadBufferSize)
			}
		})
	}
}

func TestLocalIPIsTheSourceAddress(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, fc, _ := dialFake(t, s, func(o *Options) { o.LocalIP = "127.0.0.2" })
			host, _, _ := net.SplitHostPort(fc.nc.RemoteAddr().String())
			if host != "127.0.0.2" {
				t.Errorf("server sees the client at %s, want 127.0.0.2", host)
			}
			if a := c.LocalAddr().(*net.TCPAddr); !a.IP.Equal(net.ParseIP("127.0.0.2")) {
				t.Errorf("LocalAddr %v, want 127.0.0.2", a)
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := newFakeServer(t, tr, authReply)
			c, _, rec := dialFake(t, s, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for g := range 20 {
				wg.Go(func() {
					for i := range 25 {
						body := fmt.Sprintf("g%d-%d", g, i)
						p, err := c.Request(ctx, 2000+int32(g), []byte(body))
						if err != nil {
							errs <- err
							return
						}
						if string(p.Body) != "re:"+body {
							errs <- fmt.Errorf("reply %q to %q: crossed replies", p.Body, body)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := c.npending.Load(); n != 0 {
				t.Errorf("%d requests still pending", n)
			}
			rec.noPush(t, 10*time.Millisecond)
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"unknown transport", Options{Transport: "udp", Addr: "127.0.0.1:1"}, "unknown transport"},
		{"no address", Options{}, "Addr is empty"},
		{"bad local IP", Options{Addr: "127.0.0.1:1", LocalIP: "localhost"}, "not an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dial error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
