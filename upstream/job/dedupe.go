package job

import "github.com/barrage/barrage/upstream/kafkabus"

// recentIDs remembers the last size message ids: a ring gives the eviction
// order, a map answers "seen?". Only the fetch goroutine uses it.
type recentIDs struct {
	ring []kafkabus.ID
	next int // ring slot the next id goes to
	full bool
	set  map[kafkabus.ID]struct{}
}

func newRecentIDs(size int) *recentIDs {
	// The map grows with use instead of being sized up front: a job that
	// sees little traffic should not pay for the whole window.
	return &recentIDs{ring: make([]kafkabus.ID, size), set: make(map[kafkabus.ID]struct{})}
}

// seen reports whether id is among the recent ids, and records it if not.
func (r *recentIDs) seen(id kafkabus.ID) bool {
	if _, ok := r.set[id]; ok {
		return true
	}
	if r.full {
		delete(r.set, r.ring[r.next])
	}
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	return false
}
