package shard

import (
	"sync"
	"sync/atomic"
)

// Conn is a connection as the shard sees it. Key, Mid and Lane must not change
// while the connection is in a Table.
type Conn interface {
	comparable
	Key() string
	Mid() int64
	Lane() int
}

// Table holds connections by key and by mid, and rooms of members. All methods
// are safe for concurrent use.
type Table[C Conn] struct {
	keys  []keyStripe[C]
	mids  []midStripe[C]
	rooms []roomStripe[C]
	mask  uint64
	lanes int
	conns atomic.Int64
}

type keyStripe[C Conn] struct {
	mu sync.RWMutex
	m  map[string]C
	_  [32]byte // keep neighbouring stripes' locks off one cache line
}

type midStripe[C Conn] struct {
	mu sync.RWMutex
	m  map[int64][]C
	_  [32]byte
}

// New makes a Table with stripes rounded up to a power of two (minimum 1) and
// rooms split into lanes (event loops, minimum 1).
func New[C Conn](stripes, lanes int) *Table[C] {
	n := 1
	for n < stripes {
		n <<= 1
	}
	if lanes < 1 {
		lanes = 1
	}
	t := &Table[C]{
		keys:  make([]keyStripe[C], n),
		mids:  make([]midStripe[C], n),
		rooms: make([]roomStripe[C], n),
		mask:  uint64(n - 1),
		lanes: lanes,
	}
	for i := range t.keys {
		t.keys[i].m = make(map[string]C)
		t.mids[i].m = make(map[int64][]C)
		t.rooms[i].m = make(map[string]*Room[C])
	}
	return t
}

// Lanes is the number of lanes rooms are split into.
func (t *Table[C]) Lanes() int { return t.lanes }

// Len is the number of connections registered by key.
func (t *Table[C]) Len() int { return int(t.conns.Load()) }

// hashString is FNV-1a, inlined so hashing never allocates. The stripe is picked
// from the low bits, and FNV's low k bits depend only on the low k bits of each
// byte (keys differing only in bit 6 or 7 of a byte, like "a" and "!", always
// shared a stripe), so the result goes through a finaliser that mixes all bits down.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// hashMid spreads consecutive mids over all stripes.
func hashMid(mid int64) uint64 { return mix64(uint64(mid)) }

// mix64 is the splitmix64 finaliser: every input bit affects every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Put registers c under its key and mid. If another connection held the key it is
// returned with replaced == true and is no longer registered (its mid entry and
// rooms are left for the caller, who closes it). goim does the same: the newest
// connection with a key wins.
func (t *Table[C]) Put(c C) (old C, replaced bool) {
	ks := &t.keys[hashString(c.Key())&t.mask]
	ks.mu.Lock()
	old, replaced = ks.m[c.Key()]
	ks.m[c.Key()] = c
	ks.mu.Unlock()
	if !replaced {
		t.conns.Add(1)
	}
	// Putting the same connection again must not list it twice under its mid, or
	// one Remove would leave it behind and pushes would reach a closed connection.
	if c.Mid() != 0 && !(replaced && old == c) {
		ms := &t.mids[hashMid(c.Mid())&t.mask]
		ms.mu.Lock()
		ms.m[c.Mid()] = append(ms.m[c.Mid()], c)
		ms.mu.Unlock()
	}
	return old, replaced
}

// Remove unregisters c: its key (only if the key still maps to c) and its mid
// entry. Rooms are left with Leave. It reports whether the key mapping was removed.
func (t *Table[C]) Remove(c C) bool {
	ks := &t.keys[hashString(c.Key())&t.mask]
	ks.mu.Lock()
	cur, ok := ks.m[c.Key()]
	removed := ok && cur == c
	if removed {
		delete(ks.m, c.Key())
	}
	ks.mu.Unlock()
	if removed {
		t.conns.Add(-1)
	}
	if c.Mid() != 0 {
		ms := &t.mids[hashMid(c.Mid())&t.mask]
		ms.mu.Lock()
		list := ms.m[c.Mid()]
		for i := range list {
			if list[i] == c {
				last := len(list) - 1
				list[i] = list[last]
				var zero C
				list[last] = zero
				list = list[:last]
				break
			}
		}
		if len(list) == 0 {
			delete(ms.m, c.Mid())
		} else {
			ms.m[c.Mid()] = list
		}
		ms.mu.Unlock()
	}
	return removed
}

// Get returns the connection registered under key.
func (t *Table[C]) Get(key string) (C, bool) {
	ks := &t.keys[hashString(key)&t.mask]
	ks.mu.RLock()
	c, ok := ks.m[key]
	ks.mu.RUnlock()
	return c, ok
}

// AppendByMid appends the connections of mid to buf.
func (t *Table[C]) AppendByMid(mid int64, buf []C) []C {
	ms := &t.mids[hashMid(mid)&t.mask]
	ms.mu.RLock()
	buf = append(buf, ms.m[mid]...)
	ms.mu.RUnlock()
	return buf
}
