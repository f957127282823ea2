package gateway

import (
	"net/netip"
	"sync"
)

// ipStripes is the number of independently locked parts of an ipCounter. An
// address always hashes to the same stripe, so the distinct count is the sum
// of the stripes' sizes.
const ipStripes = 64

// ipCounter keeps the number of distinct client IPs among authenticated
// connections, updated on open and close, so the online API and RenewOnline
// read it in O(stripes) instead of visiting every connection. It costs one
// map entry per distinct address (~40 bytes), nothing per extra connection
// from an address already counted.
type ipCounter struct {
	stripes [ipStripes]ipStripe
}

type ipStripe struct {
	mu sync.Mutex
	m  map[netip.Addr]int32
	_  [64 - 16]byte // one stripe per 64-byte cache line
}

func (c *ipCounter) stripe(a netip.Addr) *ipStripe {
	// The last byte of an address varies the most between clients; its low six
	// bits pick the stripe.
	var h uint32
	if a.Is4() {
		b := a.As4()
		h = uint32(b[2])<<8 | uint32(b[3])
	} else {
		b := a.As16()
		h = uint32(b[14])<<8 | uint32(b[15])
	}
	return &c.stripes[h%ipStripes]
}

func (c *ipCounter) add(a netip.Addr) {
	st := c.stripe(a)
	st.mu.Lock()
	if st.m == nil {
		st.m = make(map[netip.Addr]int32)
	}
	st.m[a]++
	st.mu.Unlock()
}

func (c *ipCounter) remove(a netip.Addr) {
	st := c.stripe(a)
	st.mu.Lock()
	if n := st.m[a]; n <= 1 {
		delete(st.m, a)
	} else {
		st.m[a] = n - 1
	}
	st.mu.Unlock()
}

// distinct returns the number of distinct addresses counted now.
func (c *ipCounter) distinct() int64 {
	var n int64
	for i := range c.stripes {
		st := &c.stripes[i]
		st.mu.Lock()
		n += int64(len(st.m))
		st.mu.Unlock()
	}
	return n
}
