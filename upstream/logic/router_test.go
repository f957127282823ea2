package logic

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for route expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestRouter(ttl time.Duration) (*MemoryRouter, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	r := NewMemoryRouterTTL(ttl)
	r.now = clock.Now
	return r, clock
}

func equalRoutes(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]string])
}

func TestMemoryRouter(t *testing.T) {
	ctx := context.Background()
	type step struct {
		do          func(r *MemoryRouter, c *fakeClock)
		keys        []string
		wantByKeys  map[string][]string
		mids        []int64
		wantByMids  map[string][]string
		description string
	}
	add := func(mid int64, key, server string) func(*MemoryRouter, *fakeClock) {
		return func(r *MemoryRouter, _ *fakeClock) { r.Add(ctx, mid, key, server) }
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "add and look up", steps: []step{{
			do: func(r *MemoryRouter, c *fakeClock) {
				r.Add(ctx, 1, "a", "gw-1")
				r.Add(ctx, 1, "b", "gw-2")
				r.Add(ctx, 2, "c", "gw-1")
				r.Add(ctx, 0, "anon", "gw-2")
			},
			keys:       []string{"c", "a", "b", "anon", "nosuch", "a"},
			wantByKeys: map[string][]string{"gw-1": {"c", "a"}, "gw-2": {"b", "anon"}},
			mids:       []int64{1, 2, 0, 7, 1},
			wantByMids: map[string][]string{"gw-1": {"a", "c"}, "gw-2": {"b"}},
		}}},
		{name: "remove", steps: []step{
			{do: func(r *MemoryRouter, c *fakeClock) {
				r.Add(ctx, 1, "a", "gw-1")
				r.Add(ctx, 1, "b", "gw-1")
				r.Remove(ctx, 1, "a", "gw-1")
			},
				keys: []string{"a", "b"}, wantByKeys: map[string][]string{"gw-1": {"b"}},
				mids: []int64{1}, wantByMids: map[string][]string{"gw-1": {"b"}}},
			{do: func(r *MemoryRouter, c *fakeClock) { r.Remove(ctx, 1, "b", "gw-1") },
				keys: []string{"a", "b"}, wantByKeys: map[string][]string{},
				mids: []int64{1}, wantByMids: map[string][]string{}},
		}},
		{name: "late remove from the old server keeps the new route", steps: []step{{
			do: func(r *MemoryRouter, c *fakeClock) {
				r.Add(ctx, 1, "a", "gw-1")
				r.Add(ctx, 1, "a", "gw-2") // reconnected elsewhere with the same key
				r.Remove(ctx, 1, "a", "gw-1")
			},
			keys: []string{"a"}, wantByKeys: map[string][]string{"gw-2": {"a"}},
			mids: []int64{1}, wantByMids: map[string][]string{"gw-2": {"a"}},
		}}},
		{name: "key moving to another mid leaves the old mid", steps: []step{{
			do: func(r *MemoryRouter, c *fakeClock) {
				r.Add(ctx, 1, "a", "gw-1")
				r.Add(ctx, 2, "a", "gw-1")
			},
			keys: []string{"a"}, wantByKeys: map[string][]string{"gw-1": {"a"}},
			mids: []int64{1, 2}, wantByMids: map[string][]string{"gw-1": {"a"}},
		}, {
			do:   func(r *MemoryRouter, c *fakeClock) { r.Remove(ctx, 2, "a", "gw-1") },
			mids: []int64{1, 2}, wantByMids: map[string][]string{},
		}}},
		{name: "expiry and touch", steps: []step{
			{do: func(r *MemoryRouter, c *fakeClock) {
				add(1, "a", "gw-1")(r, c)
				add(1, "b", "gw-1")(r, c)
				c.Advance(40 * time.Second)
				r.Touch(ctx, 1, "a", "gw-1")
				c.Advance(40 * time.Second) // b is 80 s old, a was touched 40 s ago
			},
				keys: []string{"a", "b"}, wantByKeys: map[string][]string{"gw-1": {"a"}},
				mids: []int64{1}, wantByMids: map[string][]string{"gw-1": {"a"}},
				description: "b expired, a kept alive by Touch"},
			{do: func(r *MemoryRouter, c *fakeClock) {
				r.Touch(ctx, 1, "b", "gw-2") // heartbeat for an expired route re-creates it
			},
				keys: []string{"a", "b"}, wantByKeys: map[string][]string{"gw-1": {"a"}, "gw-2": {"b"}},
				mids: []int64{1}, wantByMids: map[string][]string{"gw-1": {"a"}, "gw-2": {"b"}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestRouter(time.Minute)
			for i, s := range tc.steps {
				s.do(r, clock)
				if s.keys != nil {
					got, err := r.ServersByKeys(ctx, s.keys)
					if err != nil || !equalRoutes(got, s.wantByKeys) {
						t.Fatalf("step %d %s: ServersByKeys(%v) = %v, %v; want %v", i, s.description, s.keys, got, err, s.wantByKeys)
					}
				}
				if s.mids != nil {
					got, err := r.KeysByMids(ctx, s.mids)
					if err != nil || !equalRoutes(got, s.wantByMids) {
						t.Fatalf("step %d %s: KeysByMids(%v) = %v, %v; want %v", i, s.description, s.mids, got, err, s.wantByMids)
					}
				}
			}
		})
	}
}

func TestMemoryRouterSweepsExpiredRoutes(t *testing.T) {
	ctx := context.Background()
	r, clock := newTestRouter(time.Minute)
	for i := range 100 {
		r.Add(ctx, int64(i), fmt.Sprint("k", i), "gw-1")
	}
	clock.Advance(2 * time.Minute)
	r.Add(ctx, 1000, "fresh", "gw-1") // triggers the sweep
	if n := r.Len(); n != 1 {
		t.Fatalf("%d routes after the sweep, want 1", n)
	}
	if len(r.mids) != 1 {
		t.Fatalf("mid index holds %d mids after the sweep, want 1", len(r.mids))
	}
}

func TestMemoryRouterNoTTL(t *testing.T) {
	ctx := context.Background()
	r, clock := newTestRouter(0)
	r.Add(ctx, 1, "a", "gw-1")
	clock.Advance(1000 * time.Hour)
	if got, _ := r.ServersByKeys(ctx, []string{"a"}); !equalRoutes(got, map[string][]string{"gw-1": {"a"}}) {
		t.Fatalf("route expired with ttl 0: %v", got)
	}
}

// TestMemoryRouterConcurrent is for -race: writers and readers on shared keys
// and mids, then a check that everything added and not removed is found.
func TestMemoryRouterConcurrent(t *testing.T) {
	ctx := context.Background()
	r := NewMemoryRouter()
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			server := fmt.Sprint("gw-", w%3)
			for i := range perWorker {
				mid := int64(i%10 + 1) // mid 0 is not indexed by mid
				key := fmt.Sprintf("w%d-k%d", w, i)
				r.Add(ctx, mid, key, server)
				r.Touch(ctx, mid, key, server)
				r.ServersByKeys(ctx, []string{key, "shared"})
				r.KeysByMids(ctx, []int64{mid})
				if i%2 == 1 {
					r.Remove(ctx, mid, key, server)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	got, _ := r.KeysByMids(ctx, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	for _, ks := range got {
		total += len(ks)
	}
	if want := workers * perWorker / 2; total != want || r.Len() != want {
		t.Fatalf("%d keys by mid, %d routes; want %d", total, r.Len(), want)
	}
}
