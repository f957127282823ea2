package redisstore

import (
	"reflect"
	"testing"
	"time"
)

func gatewayNames(tb testing.TB, s *Store) []string {
	tb.Helper()
	gws, err := s.Gateways(ctx)
	mustNil(tb, err)
	names := []string{}
	for _, g := range gws {
		names = append(names, g.Name)
	}
	return names
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	const ttl = 500 * time.Millisecond
	s := newStore(t, Config{GatewayTTL: ttl})
	if names := gatewayNames(t, s); len(names) != 0 {
		t.Fatalf("empty registry lists %q", names)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g2", PushAddr: "10.0.0.2:3109", Conns: 7, Updated: at}))
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g1", PushAddr: "10.0.0.1:3109", Conns: 3}))
	gws, err := s.Gateways(ctx)
	mustNil(t, err)
	if len(gws) != 2 || gws[0].Name != "g1" || gws[1].Name != "g2" {
		t.Fatalf("Gateways = %+v, want g1 and g2", gws)
	}
	if g := gws[1]; g.PushAddr != "10.0.0.2:3109" || g.Conns != 7 || !g.Updated.Equal(at) {
		t.Fatalf("g2's entry = %+v", g)
	}
	if time.Since(gws[0].Updated) > time.Minute {
		t.Fatalf("g1's Updated %v was not set to now", gws[0].Updated)
	}
	if err := s.RegisterGateway(ctx, GatewayInfo{}); err == nil {
		t.Fatal("registering a gateway without a name succeeded")
	}

	mustNil(t, s.DeregisterGateway(ctx, "g2"))
	if names := gatewayNames(t, s); !reflect.DeepEqual(names, []string{"g1"}) {
		t.Fatalf("after deregistering g2: %q, want [g1]", names)
	}
	// Without heartbeats g1 expires.
	eventually(t, 3*time.Second, "g1's registry entry never expired", func() bool {
		return len(gatewayNames(t, s)) == 0
	})
}

func TestCleanupDeadGateways(t *testing.T) {
	t.Parallel()
	const ttl = 400 * time.Millisecond
	// A grace of 1ms: the first sweep that finds "dead" missing marks it, the
	// next one cleans it (cleanup_test.go covers a real grace).
	s := newStore(t, Config{GatewayTTL: ttl, CleanupGrace: time.Millisecond})
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "dead"}))
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "live"}))
	mustNil(t, s.Add(ctx, 1, "a", "dead"))
	mustNil(t, s.Add(ctx, 2, "b", "dead"))
	mustNil(t, s.Add(ctx, 0, "anon", "dead"))
	mustNil(t, s.Add(ctx, 1, "c", "live"))
	mustNil(t, s.Add(ctx, 3, "d", "dead"))
	mustNil(t, s.Add(ctx, 3, "d", "live")) // d moved from dead to live
	mustNil(t, s.Add(ctx, 4, "e", "unregistered"))

	// Nobody is dead yet.
	removed, err := s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if len(removed) != 0 {
		t.Fatalf("cleanup with every gateway alive removed %q", removed)
	}

	// "live" keeps its heartbeat, "dead" stops.
	deadline := time.Now().Add(ttl + 200*time.Millisecond)
	for time.Now().Before(deadline) {
		mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "live"}))
		time.Sleep(ttl / 4)
	}
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "live"}))
	removed, err = s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if len(removed) != 0 {
		t.Fatalf("the sweep that first found it missing removed %q, want nothing yet", removed)
	}
	time.Sleep(5 * time.Millisecond)
	removed, err = s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if !reflect.DeepEqual(removed, []string{"dead"}) {
		t.Fatalf("cleanup removed %q, want [dead]", removed)
	}
	wantServers(t, s, []string{"a", "b", "anon", "c", "d", "e"},
		map[string][]string{"live": {"c", "d"}, "unregistered": {"e"}})
	wantMids(t, s, []int64{1, 2, 3, 4},
		map[string][]string{"live": {"c", "d"}, "unregistered": {"e"}})
	if n := s.rdb.Exists(ctx, s.keys.gwRoutes("dead"), s.keys.mid(2)).Val(); n != 0 {
		t.Fatalf("%d keys of the dead gateway are left", n)
	}
	if s.rdb.SIsMember(ctx, s.keys.gateways(), "dead").Val() {
		t.Fatal("the dead gateway is still in the seen set")
	}
	if s.rdb.HExists(ctx, s.keys.gwMissing(), "dead").Val() {
		t.Fatal("the dead gateway still has a missing mark")
	}
	removed, err = s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if len(removed) != 0 {
		t.Fatalf("second cleanup removed %q, want nothing", removed)
	}
}

// A gracefully stopped gateway whose connections did not all disconnect is
// cleaned up like a dead one.
func TestCleanupAfterDeregister(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g"}))
	mustNil(t, s.Add(ctx, 1, "a", "g"))
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	removed, err := s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if !reflect.DeepEqual(removed, []string{"g"}) {
		t.Fatalf("cleanup removed %q, want [g]", removed)
	}
	wantServers(t, s, []string{"a"}, map[string][]string{})
}

// While one logic instance cleans a gateway, another one skips it.
func TestCleanupLock(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g"}))
	mustNil(t, s.Add(ctx, 1, "a", "g"))
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	mustNil(t, s.rdb.Set(ctx, s.keys.gwCleanup("g"), "1", time.Minute).Err())
	removed, err := s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if len(removed) != 0 {
		t.Fatalf("cleanup under another instance's lock removed %q", removed)
	}
	wantServers(t, s, []string{"a"}, map[string][]string{"g": {"a"}})
}
