package shard

import (
	"strconv"
	"testing"
)

// The push path runs these per message; any allocation there becomes garbage at
// message rate.
func TestHotPathsDoNotAllocate(t *testing.T) {
	tb := New[*tconn](16, 2)
	var r *Room[*tconn]
	for i := range 1000 {
		c := conn("k"+strconv.Itoa(i), int64(i%10+1), i)
		tb.Put(c)
		r = tb.Join("live://1", c)
	}
	laneBuf := make([]*tconn, 0, 1000)
	midBuf := make([]*tconn, 0, 1000)
	key, id := "k500", "live://1"

	tests := []struct {
		name string
		fn   func()
	}{
		{"AppendLane", func() { laneBuf = tb.AppendLane(r, 1, laneBuf[:0]) }},
		{"Get", func() { _, _ = tb.Get(key) }},
		{"Get missing", func() { _, _ = tb.Get("nobody") }},
		{"AppendByMid", func() { midBuf = tb.AppendByMid(3, midBuf[:0]) }},
		{"Room", func() { _ = tb.Room(id) }},
		{"LaneLen", func() { _ = tb.LaneLen(r, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.fn); got != 0 {
				t.Errorf("%s allocates %.1f times per call, want 0", tt.name, got)
			}
		})
	}
	// Make sure the calls measured did real work.
	if len(laneBuf) != 500 || len(midBuf) != 100 {
		t.Errorf("lane copy %d members (want 500), mid copy %d (want 100)", len(laneBuf), len(midBuf))
	}
}
