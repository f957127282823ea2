package gateway

import (
	"net/netip"
	"sync"
	"testing"
	"unsafe"
)

func TestIPCounterCountsDistinctAddresses(t *testing.T) {
	var c ipCounter
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.1.1") // same last byte as a: the same stripe
	v6 := netip.MustParseAddr("2001:db8::1")
	steps := []struct {
		add  bool
		addr netip.Addr
		want int64
	}{
		{true, a, 1},
		{true, a, 1},
		{true, b, 2},
		{true, v6, 3},
		{false, a, 3}, // a still has one connection
		{false, a, 2},
		{false, a, 2}, // an extra remove must not go negative or drop others
		{false, v6, 1},
		{false, b, 0},
	}
	for i, st := range steps {
		if st.add {
			c.add(st.addr)
		} else {
			c.remove(st.addr)
		}
		if got := c.distinct(); got != st.want {
			t.Fatalf("step %d: distinct = %d, want %d", i, got, st.want)
		}
	}
}

func TestIPCounterConcurrent(t *testing.T) {
	var c ipCounter
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				a := netip.AddrFrom4([4]byte{10, byte(w), byte(i >> 8), byte(i)})
				c.add(a)
				c.add(a)
				c.remove(a)
			}
		}()
	}
	wg.Wait()
	if got := c.distinct(); got != 8000 {
		t.Fatalf("distinct = %d, want 8000", got)
	}
}

func TestIPStripeFillsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(ipStripe{}); n != 64 {
		t.Fatalf("ipStripe is %d bytes, want 64", n)
	}
}
