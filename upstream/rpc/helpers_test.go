package rpc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

func TestMain(m *testing.M) {
	// Kitex logs routine lines at Info; keep test output to real trouble.
	UseSlog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// start starts s and stops it at the end of the test.
func start(t testing.TB, s *Server, err error) *Server {
	t.Helper()
	if err != nil {
		t.Fatalf("build server: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call records one call a fake core received.
type call struct {
	method string
	args   []any
}

// answers are what a fakeCore replies.
type answers struct {
	err error // returned by every method when set

	connect    logic.ConnectReply
	global     map[string]int32
	top        []logic.RoomCount
	roomCounts map[string]int32
	conns, ips int64
	kicked     int
}

// fakeCore implements LogicCore, PushCore (as pushFake) and GatewayCore (as
// gatewayFake): it records every call and replies with its answers. Safe for
// concurrent use; change answers with set while a server runs.
type fakeCore struct {
	mu    sync.Mutex
	calls []call
	answers
}

// record notes a call and returns the answers to give, read under the lock:
// the race detector cannot see that an RPC reply orders a test's later write.
func (f *fakeCore) record(method string, args ...any) (answers, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, args})
	return f.answers, f.answers.err
}

func (f *fakeCore) set(change func(a *answers)) {
	f.mu.Lock()
	change(&f.answers)
	f.mu.Unlock()
}

func (f *fakeCore) setErr(err error) { f.set(func(a *answers) { a.err = err }) }

// last returns the last recorded call.
func (f *fakeCore) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("core received no call")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeCore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// LogicCore

func (f *fakeCore) Connect(_ context.Context, server, remoteAddr string, body []byte) (logic.ConnectReply, error) {
	a, err := f.record("Connect", server, remoteAddr, string(body))
	if err != nil {
		return logic.ConnectReply{}, err
	}
	return a.connect, nil
}
func (f *fakeCore) Disconnect(_ context.Context, mid int64, key, server string) error {
	_, err := f.record("Disconnect", mid, key, server)
	return err
}
func (f *fakeCore) Heartbeat(_ context.Context, mid int64, key, server string) error {
	_, err := f.record("Heartbeat", mid, key, server)
	return err
}
func (f *fakeCore) RenewOnline(_ context.Context, server string, counts logic.Online) (map[string]int32, error) {
	a, err := f.record("RenewOnline", server, counts)
	if err != nil {
		return nil, err
	}
	return a.global, nil
}
func (f *fakeCore) Receive(_ context.Context, mid int64, key string, op int32, body []byte) error {
	_, err := f.record("Receive", mid, key, op, string(body))
	return err
}

// PushCore (PushKeys is shared with GatewayCore's by name but not signature,
// so the push side lives on pushFake below).

type pushFake struct{ *fakeCore }

func (p pushFake) PushKeys(_ context.Context, op int32, keys []string, body []byte) error {
	_, err := p.record("PushKeys", op, keys, string(body))
	return err
}
func (p pushFake) PushMids(_ context.Context, op int32, mids []int64, body []byte) error {
	_, err := p.record("PushMids", op, mids, string(body))
	return err
}
func (p pushFake) PushRoom(_ context.Context, typ, room string, op int32, body []byte) error {
	_, err := p.record("PushRoom", typ, room, op, string(body))
	return err
}
func (p pushFake) PushAll(_ context.Context, op int32, speed int32, body []byte) error {
	_, err := p.record("PushAll", op, speed, string(body))
	return err
}
func (p pushFake) OnlineTop(_ context.Context, typ string, limit int) ([]logic.RoomCount, error) {
	a, err := p.record("OnlineTop", typ, limit)
	if err != nil {
		return nil, err
	}
	return a.top, nil
}
func (p pushFake) OnlineRoom(_ context.Context, typ string, rooms []string) (map[string]int32, error) {
	a, err := p.record("OnlineRoom", typ, rooms)
	if err != nil {
		return nil, err
	}
	return a.roomCounts, nil
}
func (p pushFake) OnlineTotal(context.Context) (int64, int64, error) {
	a, err := p.record("OnlineTotal")
	if err != nil {
		return 0, 0, err
	}
	return a.conns, a.ips, nil
}

func (p pushFake) KickKeys(_ context.Context, keys []string, reason string) error {
	_, err := p.record("KickKeys", keys, reason)
	return err
}
func (p pushFake) KickMids(_ context.Context, mids []int64, reason string) error {
	_, err := p.record("KickMids", mids, reason)
	return err
}

// gatewayFake is a GatewayCore.
type gatewayFake struct{ *fakeCore }

func (g gatewayFake) PushKeys(op int32, keys []string, body []byte) error {
	_, err := g.record("PushKeys", op, keys, string(body))
	return err
}
func (g gatewayFake) BroadcastRoom(room string, op int32, seq int64, body []byte) error {
	_, err := g.record("BroadcastRoom", room, op, seq, string(body))
	return err
}
func (g gatewayFake) Broadcast(op int32, body []byte, speed int) error {
	_, err := g.record("Broadcast", op, string(body), speed)
	return err
}
func (g gatewayFake) RoomCounts() map[string]int32 {
	a, _ := g.record("RoomCounts")
	return a.roomCounts
}
func (g gatewayFake) Kick(keys []string, mids []int64, reason string) int {
	a, _ := g.record("Kick", keys, mids, reason)
	return a.kicked
}

var errBoom = errors.New("router down: dial tcp 10.0.0.1:6379: connection refused")
