package redisstore

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// sweep runs one cleanup and checks what it removed.
func sweep(tb testing.TB, s *Store, want ...string) {
	tb.Helper()
	removed, err := s.CleanupDeadGateways(ctx)
	mustNil(tb, err)
	if len(removed) != len(want) || (len(want) > 0 && !reflect.DeepEqual(removed, want)) {
		tb.Fatalf("cleanup removed %q, want %q", removed, want)
	}
}

// register heartbeats and checks the revived report.
func register(tb testing.TB, s *Store, name string, wantRevived bool) {
	tb.Helper()
	revived, err := s.RegisterGatewayRevived(ctx, GatewayInfo{Name: name})
	mustNil(tb, err)
	if revived != wantRevived {
		tb.Fatalf("RegisterGatewayRevived(%q) revived = %v, want %v", name, revived, wantRevived)
	}
}

// waitMissing waits until the gateway's registry entry has expired.
func waitMissing(tb testing.TB, s *Store, name string) {
	tb.Helper()
	eventually(tb, 3*time.Second, name+"'s registry entry never expired", func() bool {
		return s.rdb.Exists(ctx, s.keys.gwInfo(name)).Val() == 0
	})
}

func routeMembers(tb testing.TB, s *Store, name string) []string {
	tb.Helper()
	m, err := s.rdb.SMembers(ctx, s.keys.gwRoutes(name)).Result()
	mustNil(tb, err)
	slices.Sort(m)
	return m
}

// (a) A gateway whose entry lapses for less than CleanupGrace (it lost Redis
// for a few heartbeats) keeps its routes; its heartbeat clears the mark, so a
// later absence gets a full grace again; one missing for the whole grace is
// cleaned, and its next heartbeat reports it revived, once.
func TestCleanupGrace(t *testing.T) {
	t.Parallel()
	const ttl, grace = 300 * time.Millisecond, 900 * time.Millisecond
	s := newStore(t, Config{GatewayTTL: ttl, CleanupGrace: grace})
	register(t, s, "g", false) // a name registered for the first time is not revived
	mustNil(t, s.Add(ctx, 1, "a", "g"))
	mustNil(t, s.Add(ctx, 0, "anon", "g"))
	keys, mids := []string{"a", "anon"}, []int64{1}
	routes := map[string][]string{"g": {"a", "anon"}}
	midRoutes := map[string][]string{"g": {"a"}}

	waitMissing(t, s, "g")
	sweep(t, s) // marks g
	if !s.rdb.HExists(ctx, s.keys.gwMissing(), "g").Val() {
		t.Fatal("a sweep finding g missing did not mark it")
	}
	time.Sleep(700 * time.Millisecond) // < grace
	sweep(t, s)
	wantServers(t, s, keys, routes)
	wantMids(t, s, mids, midRoutes)

	// Redis reachable again: the heartbeat finds its entry expired but its
	// routes intact, so it is not revived, and clears the mark.
	register(t, s, "g", false)
	if s.rdb.HExists(ctx, s.keys.gwMissing(), "g").Val() {
		t.Fatal("RegisterGateway left the missing mark")
	}
	// Missing again: had the first mark survived it would be > grace old now.
	waitMissing(t, s, "g")
	sweep(t, s)
	wantServers(t, s, keys, routes)

	time.Sleep(grace + 100*time.Millisecond)
	sweep(t, s, "g")
	wantServers(t, s, keys, map[string][]string{})
	wantMids(t, s, mids, map[string][]string{})
	if s.rdb.SIsMember(ctx, s.keys.gateways(), "g").Val() || s.rdb.HExists(ctx, s.keys.gwMissing(), "g").Val() {
		t.Fatal("the cleaned gateway is still in the seen set or marked")
	}
	if n := s.rdb.Exists(ctx, s.keys.gwRoutes("g"), s.keys.gwRoutesDead("g"), s.keys.gwCleanup("g")).Val(); n != 0 {
		t.Fatalf("%d of its routes set, dead copy and lock are left", n)
	}
	register(t, s, "g", true)  // its routes are gone: say so
	register(t, s, "g", false) // once
}

// Marks of gateways that are alive are dropped by the next sweep, so a stale
// mark cannot shorten a later grace.
func TestCleanupDropsStaleMarks(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{CleanupGrace: time.Millisecond})
	register(t, s, "live", false)
	mustNil(t, s.Add(ctx, 1, "a", "live"))
	mustNil(t, s.rdb.HSet(ctx, s.keys.gwMissing(), "live", 1, "unknown", 1).Err())
	sweep(t, s)
	if n := s.rdb.HLen(ctx, s.keys.gwMissing()).Val(); n != 0 {
		t.Fatalf("%d stale marks survived a sweep", n)
	}
	wantServers(t, s, []string{"a"}, map[string][]string{"live": {"a"}})
}

// (b) The gateway restarts under the same name while the cleanup runs: the
// routes its new connections record after the snapshot (new keys, and an old
// key reconnected) survive, its registration reports revived, and it stays
// in the seen set.
func TestCleanupSnapshotKeepsRestartedRoutes(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{}) // default grace 60s: DeregisterGateway skips it
	register(t, s, "g", false)
	mustNil(t, s.Add(ctx, 1, "a", "g"))
	mustNil(t, s.Add(ctx, 2, "b", "g"))
	mustNil(t, s.Add(ctx, 0, "anon", "g"))
	mustNil(t, s.Add(ctx, 3, "same", "g"))
	mustNil(t, s.Add(ctx, 5, "other", "h")) // another gateway, untouched
	mustNil(t, s.DeregisterGateway(ctx, "g"))

	hooked := 0
	s.afterSnapshot = func(name string) {
		hooked++
		if name != "g" {
			t.Errorf("snapshot of %q, want g", name)
		}
		// The new process accepts connections, then registers.
		mustNil(t, s.Add(ctx, 4, "new", "g"))
		mustNil(t, s.Add(ctx, 3, "same", "g")) // a client reconnecting with its key
		register(t, s, "g", true)              // a cleanup is under way
	}
	sweep(t, s, "g")
	if hooked != 1 {
		t.Fatalf("snapshot hook ran %d times, want 1", hooked)
	}
	keys := []string{"a", "b", "anon", "same", "new", "other"}
	wantServers(t, s, keys, map[string][]string{"g": {"same", "new"}, "h": {"other"}})
	wantMids(t, s, []int64{1, 2, 3, 4, 5}, map[string][]string{"g": {"new", "same"}, "h": {"other"}})
	if got, want := routeMembers(t, s, "g"), []string{"3|same", "4|new"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("routes set after the cleanup = %q, want %q", got, want)
	}
	if names := gatewayNames(t, s); !reflect.DeepEqual(names, []string{"g"}) {
		t.Fatalf("registry after the cleanup = %q, want [g]", names)
	}
	if !s.rdb.SIsMember(ctx, s.keys.gateways(), "g").Val() {
		t.Fatal("the restarted gateway left the seen set")
	}
	if n := s.rdb.Exists(ctx, s.keys.gwRoutesDead("g"), s.keys.gwCleanup("g")).Val(); n != 0 {
		t.Fatalf("%d of the dead copy and the lock are left", n)
	}
	s.afterSnapshot = nil
	register(t, s, "g", false)
	sweep(t, s) // alive: nothing to do
	wantServers(t, s, keys, map[string][]string{"g": {"same", "new"}, "h": {"other"}})
}

// A dead copy left by a cleanup that failed half-way is finished by the next
// one, together with routes recorded after it.
func TestCleanupResumesDeadCopy(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	register(t, s, "g", false)
	mustNil(t, s.Add(ctx, 1, "a", "g"))
	mustNil(t, s.rdb.Rename(ctx, s.keys.gwRoutes("g"), s.keys.gwRoutesDead("g")).Err())
	mustNil(t, s.Add(ctx, 2, "b", "g"))
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	sweep(t, s, "g")
	wantServers(t, s, []string{"a", "b"}, map[string][]string{})
	wantMids(t, s, []int64{1, 2}, map[string][]string{})
	if n := s.rdb.Exists(ctx, s.keys.gwRoutes("g"), s.keys.gwRoutesDead("g")).Val(); n != 0 {
		t.Fatalf("%d of the routes set and dead copy are left", n)
	}
}

// A gateway that deregistered and comes back after the cleanup is told so;
// RegisterGateway, without the report, still works.
func TestRevivedAfterDeregisterAndCleanup(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g"}))
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	register(t, s, "g", false) // back before any cleanup: nothing lost
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	sweep(t, s, "g")
	register(t, s, "g", true)

	// Registering while a cleanup holds the lock (between its check that the
	// entry is missing and its marker that it removed the routes) is revived.
	mustNil(t, s.DeregisterGateway(ctx, "g"))
	mustNil(t, s.rdb.Set(ctx, s.keys.gwCleanup("g"), "1", time.Minute).Err())
	register(t, s, "g", true)
	register(t, s, "g", false) // the entry was there: not again
	if _, err := s.RegisterGatewayRevived(ctx, GatewayInfo{}); err == nil {
		t.Fatal("registering a gateway without a name succeeded")
	}
}

func TestCleanupGraceDefault(t *testing.T) {
	t.Parallel()
	if g := (Config{}).withDefaults().CleanupGrace; g != 2*DefaultGatewayTTL {
		t.Fatalf("default CleanupGrace = %v, want %v", g, 2*DefaultGatewayTTL)
	}
	if g := (Config{GatewayTTL: 5 * time.Second}).withDefaults().CleanupGrace; g != 10*time.Second {
		t.Fatalf("CleanupGrace with GatewayTTL 5s = %v, want 10s", g)
	}
}
