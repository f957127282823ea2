package redisstore

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var ctx = context.Background()

func mustNil(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func wantServers(tb testing.TB, s *Store, keys []string, want map[string][]string) {
	tb.Helper()
	got, err := s.ServersByKeys(ctx, keys)
	mustNil(tb, err)
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("ServersByKeys(%q) = %v, want %v", keys, got, want)
	}
}

func wantMids(tb testing.TB, s *Store, mids []int64, want map[string][]string) {
	tb.Helper()
	got, err := s.KeysByMids(ctx, mids)
	mustNil(tb, err)
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("KeysByMids(%v) = %v, want %v", mids, got, want)
	}
}

func TestRoutesAddLookup(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.Add(ctx, 1, "a", "g1"))
	mustNil(t, s.Add(ctx, 1, "b", "g2"))
	mustNil(t, s.Add(ctx, 2, "c", "g1"))
	mustNil(t, s.Add(ctx, 0, "anon", "g2"))
	mustNil(t, s.Add(ctx, 3, "pipe|key", "gw|odd")) // '|' inside names survives the packing

	wantServers(t, s, []string{"a", "b", "c", "anon", "unknown", "a", "pipe|key"},
		map[string][]string{"g1": {"a", "c"}, "g2": {"b", "anon"}, "gw|odd": {"pipe|key"}})
	wantMids(t, s, []int64{1, 2, 99, 0, 1, 3},
		map[string][]string{"g1": {"a", "c"}, "g2": {"b"}, "gw|odd": {"pipe|key"}})
	wantServers(t, s, nil, map[string][]string{})
	wantServers(t, s, []string{"nope"}, map[string][]string{})
	wantMids(t, s, nil, map[string][]string{})
	wantMids(t, s, []int64{0}, map[string][]string{}) // anonymous connections are reachable by key only

	// Routes carry RouteTTL.
	ttl := s.rdb.PTTL(ctx, s.keys.route("a")).Val()
	if ttl <= 29*time.Minute || ttl > 30*time.Minute {
		t.Fatalf("route TTL %v, want about 30m", ttl)
	}
}

func TestRoutesRemove(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.Add(ctx, 1, "a", "g1"))
	mustNil(t, s.Add(ctx, 1, "b", "g1"))
	mustNil(t, s.Add(ctx, 0, "anon", "g1"))
	mustNil(t, s.Remove(ctx, 1, "a", "g1"))
	mustNil(t, s.Remove(ctx, 0, "anon", "g1"))
	mustNil(t, s.Remove(ctx, 5, "never-added", "g1"))
	wantServers(t, s, []string{"a", "b", "anon"}, map[string][]string{"g1": {"b"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g1": {"b"}})
	members := s.rdb.SMembers(ctx, s.keys.gwRoutes("g1")).Val()
	if !reflect.DeepEqual(members, []string{"1|b"}) {
		t.Fatalf("g1's route set = %q, want [1|b]", members)
	}
	mustNil(t, s.Remove(ctx, 1, "b", "g1"))
	wantMids(t, s, []int64{1}, map[string][]string{})
	if n := s.rdb.Exists(ctx, s.keys.mid(1)).Val(); n != 0 {
		t.Fatal("mid hash left behind after its last key was removed")
	}
}

// A client reconnects to g2 with the same key; g1's late disconnect must not
// delete the new route, and g1's heartbeat must not pull it back.
func TestRemoveKeepsKeyMovedElsewhere(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.Add(ctx, 1, "k", "g1"))
	mustNil(t, s.Add(ctx, 1, "k", "g2"))
	mustNil(t, s.Touch(ctx, 1, "k", "g1"))
	wantServers(t, s, []string{"k"}, map[string][]string{"g2": {"k"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g2": {"k"}})
	mustNil(t, s.Remove(ctx, 1, "k", "g1"))
	wantServers(t, s, []string{"k"}, map[string][]string{"g2": {"k"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g2": {"k"}})
	if n := s.rdb.SCard(ctx, s.keys.gwRoutes("g1")).Val(); n != 0 {
		t.Fatalf("g1's route set holds %d members after the key moved away", n)
	}
	mustNil(t, s.Remove(ctx, 1, "k", "g2"))
	wantServers(t, s, []string{"k"}, map[string][]string{})
}

// A key reused by another user must not stay reachable through the old mid.
func TestAddKeyReusedByAnotherMid(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	mustNil(t, s.Add(ctx, 1, "k", "g1"))
	mustNil(t, s.Add(ctx, 2, "k", "g1"))
	wantMids(t, s, []int64{1}, map[string][]string{})
	wantMids(t, s, []int64{2}, map[string][]string{"g1": {"k"}})
	members := s.rdb.SMembers(ctx, s.keys.gwRoutes("g1")).Val()
	if !reflect.DeepEqual(members, []string{"2|k"}) {
		t.Fatalf("g1's route set = %q, want [2|k]", members)
	}
}

func TestRoutesTouchAndExpiry(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	s := newStore(t, Config{RouteTTL: ttl})
	mustNil(t, s.Add(ctx, 1, "a", "g1"))
	mustNil(t, s.Add(ctx, 1, "b", "g1"))
	time.Sleep(ttl / 2)
	mustNil(t, s.Touch(ctx, 1, "a", "g1"))
	time.Sleep(ttl*7/10 + 50*time.Millisecond) // b is 1.25 TTL old, a 0.75
	// b's field in mid:1 expired although the hash lives on thanks to a.
	wantServers(t, s, []string{"a", "b"}, map[string][]string{"g1": {"a"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g1": {"a"}})
	// Add prunes expired fields of the mid's hash.
	mustNil(t, s.Add(ctx, 1, "c", "g1"))
	if has := s.rdb.HExists(ctx, s.keys.mid(1), "b").Val(); has {
		t.Fatal("Add did not prune the expired field b of mid:1")
	}
	eventually(t, 3*time.Second, "routes never expired", func() bool {
		got, err := s.ServersByKeys(ctx, []string{"a", "b", "c"})
		return err == nil && len(got) == 0
	})
	wantMids(t, s, []int64{1}, map[string][]string{})
	if n := s.rdb.Exists(ctx, s.keys.mid(1), s.keys.gwRoutes("g1")).Val(); n != 0 {
		t.Fatalf("%d route keys outlived RouteTTL", n)
	}
	// Touch re-creates an expired (or never recorded) route.
	mustNil(t, s.Touch(ctx, 1, "a", "g1"))
	mustNil(t, s.Touch(ctx, 0, "anon", "g2"))
	wantServers(t, s, []string{"a", "anon"}, map[string][]string{"g1": {"a"}, "g2": {"anon"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g1": {"a"}})
}

// Thousands of lookups are one pipeline: one round trip on a single Redis.
func TestManyMidsPipelined(t *testing.T) {
	t.Parallel()
	needRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: sharedAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	hook := &countingHook{}
	rdb.AddHook(hook)
	s := NewFromClient(rdb, Config{KeyPrefix: uniquePrefix(t)})
	const n = 1000
	mids := make([]int64, n)
	keys := make([]string, n)
	for i := range n {
		mids[i], keys[i] = int64(i+1), "k"+strconv.Itoa(i)
		mustNil(t, s.Add(ctx, mids[i], keys[i], fmt.Sprintf("g%d", i%3)))
	}
	hook.cmds.Store(0)
	hook.pipes.Store(0)
	byKeys, err := s.ServersByKeys(ctx, keys)
	mustNil(t, err)
	byMids, err := s.KeysByMids(ctx, mids)
	mustNil(t, err)
	if c, p := hook.cmds.Load(), hook.pipes.Load(); c != 0 || p != 2 {
		t.Fatalf("two lookups of %d made %d commands and %d pipelines, want 0 and 2", n, c, p)
	}
	for _, got := range []map[string][]string{byKeys, byMids} {
		total := 0
		for g, ks := range got {
			total += len(ks)
			for _, k := range ks {
				i, _ := strconv.Atoi(k[1:])
				if want := fmt.Sprintf("g%d", i%3); g != want {
					t.Fatalf("key %s on %s, want %s", k, g, want)
				}
			}
		}
		if total != n {
			t.Fatalf("lookup found %d keys, want %d", total, n)
		}
	}
}

// Redis forgets scripts on restart or SCRIPT FLUSH; the Store resends them.
func TestScriptFlushed(t *testing.T) {
	needRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: sharedAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	s := NewFromClient(rdb, Config{KeyPrefix: uniquePrefix(t)})
	mustNil(t, s.Add(ctx, 1, "a", "g1"))
	mustNil(t, rdb.ScriptFlush(ctx).Err())
	mustNil(t, s.Touch(ctx, 1, "a", "g1"))
	mustNil(t, rdb.ScriptFlush(ctx).Err())
	mustNil(t, s.Remove(ctx, 1, "a", "g1"))
	wantServers(t, s, []string{"a"}, map[string][]string{})
	wantMids(t, s, []int64{1}, map[string][]string{})
}

func TestNextRoomSeqsReservesPerRoomInOneCall(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	first, err := s.NextRoomSeqs(ctx, map[string]int64{"live://a": 3, "live://b": 1})
	if err != nil {
		t.Fatal(err)
	}
	if first["live://a"] != 1 || first["live://b"] != 1 {
		t.Fatalf("first %v", first)
	}
	first, err = s.NextRoomSeqs(ctx, map[string]int64{"live://a": 2})
	if err != nil || first["live://a"] != 4 {
		t.Fatalf("second reservation %v %v", first, err)
	}
	if _, err := s.NextRoomSeqs(ctx, map[string]int64{"live://a": 0}); err == nil {
		t.Fatal("n=0 accepted")
	}
}
