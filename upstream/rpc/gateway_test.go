package rpc

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

var errNoTargets = errors.New("gateway: no matching connection")

func newGatewayPair(t testing.TB, core GatewayCore) (*Server, *GatewayClient) {
	t.Helper()
	ignore := func(err error) bool { return errors.Is(err, errNoTargets) }
	s, err := NewGatewayServer("127.0.0.1:0", core, ignore, quiet)
	start(t, s, err)
	c, err := NewGatewayClient(s.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestGatewayRoundTrip(t *testing.T) {
	core := &fakeCore{answers: answers{roomCounts: map[string]int32{"live://1000": 12, "live://7": 1}, kicked: 3}}
	_, c := newGatewayPair(t, gatewayFake{core})
	ctx := ctxT(t)

	if err := c.PushKeys(ctx, 1000, []string{"k1", "k2"}, []byte("msg\x00")); err != nil {
		t.Fatalf("PushKeys: %v", err)
	}
	if got, want := core.last(t), (call{"PushKeys", []any{int32(1000), []string{"k1", "k2"}, "msg\x00"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	if err := c.BroadcastRoom(ctx, "live://1000", 1001, 1<<40, []byte("room msg")); err != nil {
		t.Fatalf("BroadcastRoom: %v", err)
	}
	if got, want := core.last(t), (call{"BroadcastRoom", []any{"live://1000", int32(1001), int64(1 << 40), "room msg"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	if err := c.Broadcast(ctx, 1002, []byte("all"), 250); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	if got, want := core.last(t), (call{"Broadcast", []any{int32(1002), "all", 250}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	rooms, err := c.RoomOnline(ctx)
	if err != nil {
		t.Fatalf("RoomOnline: %v", err)
	}
	if !reflect.DeepEqual(rooms, core.roomCounts) {
		t.Errorf("RoomOnline = %v, want %v", rooms, core.roomCounts)
	}

	n, err := c.Kick(ctx, []string{"k3"}, []int64{5, 6}, "banned by moderator")
	if err != nil {
		t.Fatalf("Kick: %v", err)
	}
	if n != 3 {
		t.Errorf("Kick closed %d, want 3", n)
	}
	if got, want := core.last(t), (call{"Kick", []any{[]string{"k3"}, []int64{5, 6}, "banned by moderator"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	core.set(func(a *answers) { a.roomCounts = nil })
	rooms, err = c.RoomOnline(ctx)
	if err != nil || rooms == nil || len(rooms) != 0 {
		t.Errorf("RoomOnline of an empty gateway = %#v, %v; want an empty non-nil map", rooms, err)
	}
}

// A body as large as the HTTP API accepts (logic.DefaultMaxPushBody) crosses
// both hops intact.
func TestLargeBody(t *testing.T) {
	body := make([]byte, logic.DefaultMaxPushBody)
	for i := range body {
		body[i] = byte(i * 7)
	}
	core := &fakeCore{}
	_, gc := newGatewayPair(t, gatewayFake{core})
	ctx := ctxT(t)
	if err := gc.BroadcastRoom(ctx, "live://1", 1000, 1, body); err != nil {
		t.Fatalf("BroadcastRoom with %d bytes: %v", len(body), err)
	}
	if got := core.last(t).args[3].(string); got != string(body) {
		t.Errorf("gateway got %d bytes, not the %d sent", len(got), len(body))
	}
	ps, err := NewPushServer("127.0.0.1:0", pushFake{core}, quiet)
	start(t, ps, err)
	pc, err := NewPushClient([]string{ps.Addr()}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.PushRoom(ctx, "live", "1", 1000, body); err != nil {
		t.Fatalf("PushRoom with %d bytes: %v", len(body), err)
	}
	if got := core.last(t).args[3].(string); got != string(body) {
		t.Errorf("push api got %d bytes, not the %d sent", len(got), len(body))
	}
}

// "No matching connection" is success for the caller; real failures come back
// as *RemoteError with the gateway's message.
func TestGatewayErrors(t *testing.T) {
	core := &fakeCore{}
	s, c := newGatewayPair(t, gatewayFake{core})
	ctx := ctxT(t)

	core.setErr(errNoTargets)
	if err := c.PushKeys(ctx, 1000, []string{"gone"}, nil); err != nil {
		t.Errorf("PushKeys to keys that left = %v, want nil (ignored)", err)
	}
	if err := c.BroadcastRoom(ctx, "live://empty", 1000, 1, nil); err != nil {
		t.Errorf("BroadcastRoom to an empty room = %v, want nil (ignored)", err)
	}

	stopped := errors.New("gateway: stopped")
	core.setErr(stopped)
	for name, f := range map[string]func() error{
		"PushKeys":      func() error { return c.PushKeys(ctx, 1, []string{"k"}, nil) },
		"BroadcastRoom": func() error { return c.BroadcastRoom(ctx, "live://1", 1, 1, nil) },
		"Broadcast":     func() error { return c.Broadcast(ctx, 1, nil, 0) },
	} {
		err := f()
		var re *RemoteError
		if !errors.As(err, &re) || re.Message != stopped.Error() {
			t.Errorf("%s on a stopped gateway = %v (%T), want *RemoteError %q", name, err, err, stopped)
		}
		if err != nil && !strings.Contains(err.Error(), s.Addr()) {
			t.Errorf("%s error %q does not name the gateway %s", name, err, s.Addr())
		}
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	err := c.BroadcastRoom(ctx, "live://1", 1, 1, nil)
	var re *RemoteError
	if err == nil || errors.As(err, &re) {
		t.Errorf("BroadcastRoom to a stopped server = %v (%T), want a transport error", err, err)
	}
}

func BenchmarkGatewayBroadcastRoom(b *testing.B) {
	core := &nopGateway{}
	_, c := newGatewayPair(b, core)
	ctx := context.Background()
	body := make([]byte, 128)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := c.BroadcastRoom(ctx, "live://1000", 1000, int64(i), body); err != nil {
			b.Fatal(err)
		}
	}
}

// 16 callers in flight, as job has when it pushes to many rooms at once: the
// pool opens more connections and netpoll batches the work.
func BenchmarkGatewayBroadcastRoomParallel(b *testing.B) {
	core := &nopGateway{}
	_, c := newGatewayPair(b, core)
	ctx := context.Background()
	body := make([]byte, 128)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.SetParallelism(8) // x GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.BroadcastRoom(ctx, "live://1000", 1000, 1, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// nopGateway is a GatewayCore that does nothing, so benchmarks measure the
// RPC alone.
type nopGateway struct{}

func (nopGateway) PushKeys(int32, []string, []byte) error           { return nil }
func (nopGateway) BroadcastRoom(string, int32, int64, []byte) error { return nil }
func (nopGateway) Broadcast(int32, []byte, int) error               { return nil }
func (nopGateway) RoomCounts() map[string]int32                     { return nil }
func (nopGateway) Kick([]string, []int64, string) int               { return 0 }
