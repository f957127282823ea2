package gateway

import (
	"github.com/barrage/barrage/internal/freeport"
	"strings"

	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
)

// fakeLogic trusts the auth body like goim's development setup and records calls.
type fakeLogic struct {
	mu          sync.Mutex
	received    []string
	disconnects []string
	reject      string // auth bodies containing this key are rejected
	delay       time.Duration
	heartbeat   time.Duration
	global      map[string]int32 // RenewOnline's answer
}

func (f *fakeLogic) Connect(ctx context.Context, req AuthRequest) (AuthResult, error) {
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	a, err := codec.DecodeAuth(req.Body)
	if err != nil {
		return AuthResult{}, err
	}
	if f.reject != "" && a.Key == f.reject {
		return AuthResult{}, errors.New("rejected by test")
	}
	if a.Key == "" {
		a.Key = fmt.Sprintf("gen-%d", time.Now().UnixNano())
	}
	var rooms []string
	if a.RoomID != "" {
		rooms = []string{a.RoomID}
	}
	// Keys starting with "pin" stand for tokens that pin their room.
	pinned := strings.HasPrefix(a.Key, "pin")
	return AuthResult{Mid: a.Mid, Key: a.Key, Rooms: rooms, Accepts: a.Accepts, Heartbeat: f.heartbeat, RoomPinned: pinned}, nil
}

func (f *fakeLogic) Disconnect(ctx context.Context, mid int64, key string) error {
	f.mu.Lock()
	f.disconnects = append(f.disconnects, key)
	f.mu.Unlock()
	return nil
}

func (f *fakeLogic) Heartbeat(ctx context.Context, mid int64, key string) error { return nil }

func (f *fakeLogic) RenewOnline(ctx context.Context, server string, counts OnlineCounts) (map[string]int32, error) {
	return f.global, nil
}

func (f *fakeLogic) Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error {
	f.mu.Lock()
	f.received = append(f.received, fmt.Sprintf("%s:%d:%s", key, op, body))
	f.mu.Unlock()
	return nil
}

func (f *fakeLogic) receivedCopy() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.received...)
}

// freePort returns a free loopback port outside the ephemeral range (see
// internal/freeport for why port 0 is not good enough).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type testGateway struct {
	*Server
	logic *fakeLogic
	tcp   string
	ws    string
}

func startGateway(t testing.TB, mod func(*Config), logic *fakeLogic) *testGateway {
	t.Helper()
	if logic == nil {
		logic = &fakeLogic{}
	}
	for attempt := 0; ; attempt++ {
		cfg := Config{
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Name:    "test",
			TCPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			WSAddr:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		}
		if mod != nil {
			mod(&cfg)
		}
		srv, err := New(cfg, logic)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			if attempt < 3 {
				continue // a port was taken between freePort and bind
			}
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Stop(ctx)
		})
		return &testGateway{Server: srv, logic: logic, tcp: cfg.TCPAddr, ws: cfg.WSAddr}
	}
}

func authBody(mid int64, key, room string, accepts ...int32) []byte {
	b, _ := codec.EncodeAuth(codec.AuthBody{Mid: mid, Key: key, RoomID: room, Platform: "test", Accepts: accepts})
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawConn is a test client speaking bytes, for exact-reply and bad-input tests.
type rawConn struct {
	t testing.TB
	net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c}
}

func (c *rawConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// readN reads exactly n bytes within d.
func (c *rawConn) readN(n int, d time.Duration) []byte {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		c.t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}

// packet reads one packet.
func (c *rawConn) packet(d time.Duration) codec.Packet {
	c.t.Helper()
	h := c.readN(codec.HeaderLen, d)
	n := int(h[0])<<24 | int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	body := c.readN(n-codec.HeaderLen, d)
	p, _, err := codec.Decode(append(h, body...), 1<<20)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// expectClosed asserts the server closes the connection within d, returning
// what it sent before closing.
func (c *rawConn) expectClosed(d time.Duration) []byte {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	if errors.Is(err, syscall.ECONNRESET) {
		return b
	}
	if err != nil {
		c.t.Fatalf("connection not closed by the server within %v (got %d bytes): %v", d, len(b), err)
	}
	return b
}

// expectOpen asserts nothing arrives and the connection stays open for d.
func (c *rawConn) expectSilent(d time.Duration) {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	var ne net.Error
	if n > 0 || !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected silence for %v, got n=%d err=%v", d, n, err)
	}
}

func (c *rawConn) auth(mid int64, key, room string, accepts ...int32) {
	c.t.Helper()
	c.send(codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(mid, key, room, accepts...)))
	p := c.packet(3 * time.Second)
	if p.Op != codec.OpAuthReply {
		c.t.Fatalf("auth reply op %d", p.Op)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
