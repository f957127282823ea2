package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

func newLogicPair(t *testing.T, core LogicCore) (*Server, *LogicClient) {
	t.Helper()
	s, err := NewLogicServer("127.0.0.1:0", core, quiet)
	start(t, s, err)
	c, err := NewLogicClient([]string{s.Addr()}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestLogicRoundTrip(t *testing.T) {
	core := &fakeCore{answers: answers{
		connect: logic.ConnectReply{Mid: 1 << 60, Key: "k-1", Rooms: []string{"live://1000", "live://2"},
			Accepts: []int32{1000, 1001}, Heartbeat: 4*time.Minute + 1500*time.Millisecond, RoomPinned: true},
		global: map[string]int32{"live://1000": 7, "live://2": 1},
	}}
	_, c := newLogicPair(t, core)
	ctx := ctxT(t)

	body := `{"mid":123,"room_id":"live://1000","token":"x"}`
	rep, err := c.Connect(ctx, "gw-a", "10.1.2.3:5555", []byte(body))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if !reflect.DeepEqual(rep, core.connect) {
		t.Errorf("Connect reply = %+v, want %+v", rep, core.connect)
	}
	if got, want := core.last(t), (call{"Connect", []any{"gw-a", "10.1.2.3:5555", body}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	if err := c.Disconnect(ctx, 42, "k-2", "gw-b"); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if got, want := core.last(t), (call{"Disconnect", []any{int64(42), "k-2", "gw-b"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	if err := c.Heartbeat(ctx, -7, "k-3", "gw-c"); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if got, want := core.last(t), (call{"Heartbeat", []any{int64(-7), "k-3", "gw-c"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	on := logic.Online{Rooms: map[string]int32{"live://1000": 3}, Conns: 5, IPs: 4}
	global, err := c.RenewOnline(ctx, "gw-a", on)
	if err != nil {
		t.Fatalf("RenewOnline: %v", err)
	}
	if !reflect.DeepEqual(global, core.global) {
		t.Errorf("RenewOnline = %v, want %v", global, core.global)
	}
	if got, want := core.last(t), (call{"RenewOnline", []any{"gw-a", on}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}

	if err := c.Receive(ctx, 9, "k-9", 4, []byte("hello\x00\xff")); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got, want := core.last(t), (call{"Receive", []any{int64(9), "k-9", int32(4), "hello\x00\xff"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("core got %+v, want %+v", got, want)
	}
}

// Empty values survive the trip as "none": nil rooms and accepts, and the
// difference between "logic keeps no aggregate" (nil) and "no room has
// anyone" (empty map) in RenewOnline.
func TestLogicEmptyValues(t *testing.T) {
	core := &fakeCore{answers: answers{connect: logic.ConnectReply{Mid: 1, Key: "k"}}}
	_, c := newLogicPair(t, core)
	ctx := ctxT(t)

	rep, err := c.Connect(ctx, "gw", "1.2.3.4:5", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rooms != nil || rep.Accepts != nil || rep.Heartbeat != 0 {
		t.Errorf("Connect reply = %+v, want no rooms, no accepts, zero heartbeat", rep)
	}

	global, err := c.RenewOnline(ctx, "gw", logic.Online{})
	if err != nil || global != nil {
		t.Errorf("RenewOnline without a store = %v, %v; want nil, nil", global, err)
	}
	core.set(func(a *answers) { a.global = map[string]int32{} })
	global, err = c.RenewOnline(ctx, "gw", logic.Online{})
	if err != nil || global == nil || len(global) != 0 {
		t.Errorf("RenewOnline with an empty store = %#v, %v; want empty non-nil map", global, err)
	}
}

func TestLogicConnectRejected(t *testing.T) {
	core := &fakeCore{}
	_, c := newLogicPair(t, core)
	ctx := ctxT(t)

	cause := errors.New("token is expired")
	for _, reason := range []error{logic.ErrBadAuthBody, logic.ErrTokenRequired, logic.ErrBadToken,
		logic.ErrMidMismatch, logic.ErrRoomNotAllowed} {
		sent := &logic.AuthError{Reason: reason, Detail: "what was wrong", Cause: cause}
		core.setErr(fmt.Errorf("wrapped by a middleware: %w", sent))
		_, err := c.Connect(ctx, "gw", "1.2.3.4:5", []byte("{}"))
		var ae *logic.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("reason %v: Connect error %v (%T) is not a *logic.AuthError", reason, err, err)
		}
		if !errors.Is(err, reason) {
			t.Errorf("reason %v: errors.Is(%v, reason) = false", reason, err)
		}
		if ae.Error() != sent.Error() {
			t.Errorf("reason %v: message %q, want %q", reason, ae.Error(), sent.Error())
		}
	}

	// A reason this build does not know is still a rejection.
	core.setErr(&logic.AuthError{Reason: errors.New("logic: banned"), Detail: "mid 5"})
	_, err := c.Connect(ctx, "gw", "1.2.3.4:5", []byte("{}"))
	var ae *logic.AuthError
	if !errors.As(err, &ae) || !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "mid 5") {
		t.Errorf("unknown reason: got %v (%T), want *logic.AuthError wrapping ErrRejected with the detail", err, err)
	}
}

// A failing logic and an unreachable logic are errors, never rejections.
func TestLogicErrorsAreNotRejections(t *testing.T) {
	core := &fakeCore{answers: answers{err: errBoom}}
	s, c := newLogicPair(t, core)
	ctx := ctxT(t)

	_, err := c.Connect(ctx, "gw", "1.2.3.4:5", nil)
	var ae *logic.AuthError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("Connect with a failing core = %v (%T), want a plain error", err, err)
	}
	if !strings.Contains(err.Error(), errBoom.Error()) {
		t.Errorf("remote error %q does not carry the server's message %q", err, errBoom)
	}
	for name, f := range map[string]func() error{
		"Disconnect": func() error { return c.Disconnect(ctx, 1, "k", "gw") },
		"Heartbeat":  func() error { return c.Heartbeat(ctx, 1, "k", "gw") },
		"Receive":    func() error { return c.Receive(ctx, 1, "k", 4, nil) },
		"RenewOnline": func() error {
			_, err := c.RenewOnline(ctx, "gw", logic.Online{})
			return err
		},
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), errBoom.Error()) {
			t.Errorf("%s with a failing core = %v, want an error carrying %q", name, err, errBoom)
		}
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Connect(ctx, "gw", "1.2.3.4:5", nil)
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("Connect to a stopped server = %v (%T), want a transport error", err, err)
	}
	t.Logf("stopped server: %v", err)
}

// The same LogicClient reaches a logic that was stopped and started again on
// the same address, with no call on the client in between.
func TestLogicClientReconnectsAfterRestart(t *testing.T) {
	core := &fakeCore{}
	s, err := NewLogicServer("127.0.0.1:0", core, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	c, err := NewLogicClient([]string{addr}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	if err := c.Heartbeat(ctx, 1, "k", "gw"); err != nil {
		t.Fatalf("before restart: %v", err)
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, 1, "k", "gw"); err == nil {
		t.Fatal("call to a stopped logic succeeded")
	}

	s2, err := NewLogicServer(addr, core, quiet)
	start(t, s2, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.Heartbeat(ctx, 2, "k2", "gw")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not reach the restarted logic within 5s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := core.last(t); got.method != "Heartbeat" || got.args[0] != int64(2) {
		t.Errorf("restarted logic got %+v", got)
	}
}

// With several logic addresses, a dead one costs no failed call: the client
// retries on another address when it cannot connect.
func TestLogicClientSkipsDeadAddress(t *testing.T) {
	core := &fakeCore{}
	live, err := NewLogicServer("127.0.0.1:0", core, quiet)
	start(t, live, err)
	dead, err := NewLogicServer("127.0.0.1:0", core, quiet)
	start(t, dead, err)
	deadAddr := dead.Addr()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dead.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	c, err := NewLogicClient([]string{deadAddr, live.Addr()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	for i := range 400 {
		if err := c.Heartbeat(ctx, int64(i), "k", "gw"); err != nil {
			t.Fatalf("call %d with one of two logics down: %v", i, err)
		}
	}
	if n := core.count(); n != 400 {
		t.Errorf("live logic got %d calls, want 400", n)
	}
}

// A real *logic.Logic behind NewLogicServer serves LogicService and PushAPI on
// one port, and its own rejections arrive as *logic.AuthError.
func TestLogicServerServesPushAPIOnSamePort(t *testing.T) {
	del := &recordDelivery{}
	l := logic.New(logic.Config{}, nil, del, nil, nil, quiet)
	s, c := newLogicPair(t, l)
	ctx := ctxT(t)

	_, err := c.Connect(ctx, "gw", "1.2.3.4:5", []byte("not json"))
	if !errors.Is(err, logic.ErrBadAuthBody) {
		t.Fatalf("Connect with a bad body = %v, want logic.ErrBadAuthBody", err)
	}
	rep, err := c.Connect(ctx, "gw-a", "1.2.3.4:5", []byte(`{"mid":7,"key":"kk","room_id":"live://1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mid != 7 || rep.Key != "kk" || !reflect.DeepEqual(rep.Rooms, []string{"live://1"}) || rep.Heartbeat != logic.DefaultHeartbeat {
		t.Errorf("Connect = %+v", rep)
	}

	p, err := NewPushClient([]string{s.Addr()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.PushMids(ctx, 1000, []int64{7}, []byte("hi")); err != nil {
		t.Fatalf("PushMids through the logic port: %v", err)
	}
	if got, want := del.last(), "PushKeys gw-a 1000 [kk] hi"; got != want {
		t.Errorf("delivery got %q, want %q", got, want)
	}
	if err := p.PushKeys(ctx, 1000, nil, nil); !errors.Is(err, logic.ErrNoKeys) || !errors.Is(err, logic.ErrBadRequest) {
		t.Errorf("PushKeys with no keys = %v, want logic.ErrNoKeys", err)
	}
}

type recordDelivery struct {
	fakeCore
}

func (d *recordDelivery) PushKeys(_ context.Context, server string, op int32, keys []string, body []byte) error {
	_, err := d.record(fmt.Sprintf("PushKeys %s %d %v %s", server, op, keys, body))
	return err
}
func (d *recordDelivery) BroadcastRooms(_ context.Context, pushes []logic.RoomPush) error {
	for _, p := range pushes {
		if _, err := d.record(fmt.Sprintf("BroadcastRoom %s %d %d %s", p.Room, p.Op, p.Seq, p.Body)); err != nil {
			return err
		}
	}
	return nil
}
func (d *recordDelivery) Broadcast(_ context.Context, op int32, body []byte, speed int32) error {
	_, err := d.record(fmt.Sprintf("Broadcast %d %s %d", op, body, speed))
	return err
}
func (d *recordDelivery) KickKeys(_ context.Context, server string, keys []string, reason string) error {
	_, err := d.record(fmt.Sprintf("KickKeys %s %v %s", server, keys, reason))
	return err
}
func (d *recordDelivery) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) == 0 {
		return ""
	}
	return d.calls[len(d.calls)-1].method
}
