package shard

import (
	"sync"
	"sync/atomic"
)

// Room is a set of members split by lane. A *Room stays valid for as long as the
// caller is a member: an empty room is dropped from its stripe, and a later Join
// makes a new one.
type Room[C Conn] struct {
	id     string
	stripe *roomStripe[C]
	lanes  [][]C       // guarded by stripe.mu
	pos    map[C]int32 // member -> index in its lane; guarded by stripe.mu
	online atomic.Int32
}

type roomStripe[C Conn] struct {
	mu sync.RWMutex
	m  map[string]*Room[C]
	_  [32]byte
}

// ID is the room id, e.g. "live://1000".
func (r *Room[C]) ID() string { return r.id }

// Online is the number of members, read without a lock.
func (r *Room[C]) Online() int32 { return r.online.Load() }

// Join adds c to room id (creating it) and returns the room. Joining twice is a
// no-op that returns the same room.
func (t *Table[C]) Join(id string, c C) *Room[C] {
	rs := &t.rooms[hashString(id)&t.mask]
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[id]
	if r == nil {
		r = &Room[C]{id: id, stripe: rs, lanes: make([][]C, t.lanes), pos: make(map[C]int32)}
		rs.m[id] = r
	}
	if _, ok := r.pos[c]; ok {
		return r
	}
	lane := c.Lane() % t.lanes
	r.pos[c] = int32(len(r.lanes[lane]))
	r.lanes[lane] = append(r.lanes[lane], c)
	r.online.Add(1)
	return r
}

// Leave removes c from r in O(1). It reports whether c was a member.
func (t *Table[C]) Leave(r *Room[C], c C) bool {
	rs := r.stripe
	rs.mu.Lock()
	defer rs.mu.Unlock()
	i, ok := r.pos[c]
	if !ok {
		return false
	}
	delete(r.pos, c)
	lane := c.Lane() % t.lanes
	members := r.lanes[lane]
	last := len(members) - 1
	if int(i) != last {
		moved := members[last]
		members[i] = moved
		r.pos[moved] = i
	}
	var zero C
	members[last] = zero
	r.lanes[lane] = shrink(members[:last])
	r.online.Add(-1)
	if len(r.pos) == 0 && rs.m[r.id] == r {
		delete(rs.m, r.id)
	}
	return true
}

// shrink gives memory back when a big room has emptied out, so one flash crowd
// does not pin its peak size forever.
func shrink[C any](s []C) []C {
	if cap(s) > 64 && len(s) < cap(s)/4 {
		return append(make([]C, 0, cap(s)/2), s...)
	}
	return s
}

// Room returns the room with id, or nil.
func (t *Table[C]) Room(id string) *Room[C] {
	rs := &t.rooms[hashString(id)&t.mask]
	rs.mu.RLock()
	r := rs.m[id]
	rs.mu.RUnlock()
	return r
}

// AppendLane appends the members of r on lane to buf. The stripe lock is held
// for the copy only, so the caller writes to sockets with no lock held. It does not
// allocate once buf has room.
func (t *Table[C]) AppendLane(r *Room[C], lane int, buf []C) []C {
	rs := r.stripe
	rs.mu.RLock()
	buf = append(buf, r.lanes[lane%t.lanes]...)
	rs.mu.RUnlock()
	return buf
}

// LaneLen is the number of members of r on lane.
func (t *Table[C]) LaneLen(r *Room[C], lane int) int {
	rs := r.stripe
	rs.mu.RLock()
	n := len(r.lanes[lane%t.lanes])
	rs.mu.RUnlock()
	return n
}

// Rooms calls fn with every non-empty room id and its online count. fn runs under
// a stripe read lock: it must not call into the Table.
func (t *Table[C]) Rooms(fn func(id string, online int32)) {
	for i := range t.rooms {
		rs := &t.rooms[i]
		rs.mu.RLock()
		for id, r := range rs.m {
			fn(id, r.online.Load())
		}
		rs.mu.RUnlock()
	}
}
