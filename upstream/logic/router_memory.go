package logic

import (
	"context"
	"sort"
	"sync"
	"time"
)

// DefaultRouteTTL is how long a MemoryRouter keeps a route without a Touch.
// Gateways must call Heartbeat for each connection more often than this.
const DefaultRouteTTL = 30 * time.Minute

// MemoryRouter is the embedded-mode Router: two maps behind one lock. It is
// safe for concurrent use. A route not touched within its TTL is ignored by
// lookups and deleted by a sweep that runs at most once per TTL, piggybacked on
// Add and Touch, so a gateway that died without disconnecting its connections
// does not leak them forever.
type MemoryRouter struct {
	ttl time.Duration
	now func() time.Time // replaced in tests

	mu        sync.RWMutex
	keys      map[string]memRoute           // key -> route
	mids      map[int64]map[string]struct{} // mid -> its keys (mid 0 is not indexed)
	lastSweep time.Time
}

type memRoute struct {
	mid     int64
	server  string
	expires time.Time // zero = never
}

// NewMemoryRouter returns a MemoryRouter whose routes live DefaultRouteTTL
// without a Touch.
func NewMemoryRouter() *MemoryRouter { return NewMemoryRouterTTL(DefaultRouteTTL) }

// NewMemoryRouterTTL returns a MemoryRouter with the given route lifetime;
// ttl <= 0 keeps routes until they are removed.
func NewMemoryRouterTTL(ttl time.Duration) *MemoryRouter {
	return &MemoryRouter{
		ttl:  ttl,
		now:  time.Now,
		keys: make(map[string]memRoute),
		mids: make(map[int64]map[string]struct{}),
	}
}

// Add records that server holds key of mid. A key already recorded elsewhere
// moves (the newest connection wins). mid 0 (an anonymous connection) is
// reachable by key only, as in goim.
func (r *MemoryRouter) Add(_ context.Context, mid int64, key, server string) error {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(mid, key, server, now)
	r.maybeSweep(now)
	return nil
}

// Remove forgets key if server still holds it. A Remove from a server that no
// longer holds the key (a late disconnect after the client reconnected
// elsewhere with the same key) is ignored, so it cannot delete the new route.
func (r *MemoryRouter) Remove(_ context.Context, _ int64, key, server string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt, ok := r.keys[key]; ok && rt.server == server {
		r.delete(key, rt)
	}
	return nil
}

// Touch extends the route's life, re-creating it if it expired or was never
// recorded.
func (r *MemoryRouter) Touch(_ context.Context, mid int64, key, server string) error {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt, ok := r.keys[key]; ok && rt.mid == mid && rt.server == server {
		rt.expires = r.expiry(now)
		r.keys[key] = rt
	} else {
		r.put(mid, key, server, now)
	}
	r.maybeSweep(now)
	return nil
}

// ServersByKeys groups the live keys among keys by server, in the order given,
// without duplicates. Unknown and expired keys are dropped.
func (r *MemoryRouter) ServersByKeys(_ context.Context, keys []string) (map[string][]string, error) {
	now := r.now()
	out := make(map[string][]string)
	seen := make(map[string]struct{}, len(keys))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if rt, ok := r.keys[k]; ok && r.live(rt, now) {
			out[rt.server] = append(out[rt.server], k)
		}
	}
	return out, nil
}

// KeysByMids returns server -> live keys of those mids, each server's keys
// sorted so results are reproducible.
func (r *MemoryRouter) KeysByMids(_ context.Context, mids []int64) (map[string][]string, error) {
	now := r.now()
	out := make(map[string][]string)
	seen := make(map[int64]struct{}, len(mids))
	r.mu.RLock()
	for _, mid := range mids {
		if _, dup := seen[mid]; dup {
			continue
		}
		seen[mid] = struct{}{}
		for k := range r.mids[mid] {
			if rt := r.keys[k]; r.live(rt, now) {
				out[rt.server] = append(out[rt.server], k)
			}
		}
	}
	r.mu.RUnlock()
	for _, ks := range out {
		sort.Strings(ks)
	}
	return out, nil
}

// Len is the number of routes held, expired ones not yet swept included.
func (r *MemoryRouter) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys)
}

// put records a route; r.mu must be held for writing.
func (r *MemoryRouter) put(mid int64, key, server string, now time.Time) {
	if old, ok := r.keys[key]; ok && old.mid != mid {
		r.unindex(old.mid, key)
	}
	r.keys[key] = memRoute{mid: mid, server: server, expires: r.expiry(now)}
	if mid == 0 {
		return
	}
	set := r.mids[mid]
	if set == nil {
		set = make(map[string]struct{}, 1)
		r.mids[mid] = set
	}
	set[key] = struct{}{}
}

// delete removes a route; r.mu must be held for writing.
func (r *MemoryRouter) delete(key string, rt memRoute) {
	delete(r.keys, key)
	r.unindex(rt.mid, key)
}

func (r *MemoryRouter) unindex(mid int64, key string) {
	if set := r.mids[mid]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(r.mids, mid)
		}
	}
}

func (r *MemoryRouter) expiry(now time.Time) time.Time {
	if r.ttl <= 0 {
		return time.Time{}
	}
	return now.Add(r.ttl)
}

func (r *MemoryRouter) live(rt memRoute, now time.Time) bool {
	return rt.server != "" && (rt.expires.IsZero() || now.Before(rt.expires))
}

// maybeSweep deletes expired routes at most once per TTL, so its O(routes)
// cost is spread over a TTL's worth of Adds and Touches; r.mu must be held for
// writing.
func (r *MemoryRouter) maybeSweep(now time.Time) {
	if r.ttl <= 0 || now.Sub(r.lastSweep) < r.ttl {
		return
	}
	r.lastSweep = now
	for k, rt := range r.keys {
		if !r.live(rt, now) {
			r.delete(k, rt)
		}
	}
}
