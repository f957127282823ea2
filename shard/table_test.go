package shard

import (
	"slices"
	"strconv"
	"testing"
)

// tconn is the smallest Conn: a pointer, so two conns with the same key and mid
// are still different connections, as in the gateway.
type tconn struct {
	key  string
	mid  int64
	lane int
}

func (c *tconn) Key() string { return c.key }
func (c *tconn) Mid() int64  { return c.mid }
func (c *tconn) Lane() int   { return c.lane }

func conn(key string, mid int64, lane int) *tconn { return &tconn{key: key, mid: mid, lane: lane} }

// sameSet reports whether a and b hold the same conns, ignoring order.
func sameSet(a, b []*tconn) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[*tconn]int, len(a))
	for _, c := range a {
		seen[c]++
	}
	for _, c := range b {
		if seen[c] == 0 {
			return false
		}
		seen[c]--
	}
	return true
}

func keys(cs []*tconn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.key
	}
	slices.Sort(out)
	return out
}

// midEntries counts mids with a list in the table, so a test can see empty lists
// being deleted rather than left behind as zero-length slices.
func midEntries[C Conn](t *Table[C]) int {
	n := 0
	for i := range t.mids {
		t.mids[i].mu.RLock()
		n += len(t.mids[i].m)
		t.mids[i].mu.RUnlock()
	}
	return n
}

func TestNewRoundsStripesAndLanes(t *testing.T) {
	tests := []struct {
		stripes, lanes         int
		wantStripes, wantLanes int
	}{
		{stripes: 5, lanes: 3, wantStripes: 8, wantLanes: 3},
		{stripes: 8, lanes: 2, wantStripes: 8, wantLanes: 2},
		{stripes: 9, lanes: 1, wantStripes: 16, wantLanes: 1},
		{stripes: 1, lanes: 1, wantStripes: 1, wantLanes: 1},
		{stripes: 0, lanes: 0, wantStripes: 1, wantLanes: 1},
		{stripes: -4, lanes: -2, wantStripes: 1, wantLanes: 1},
		{stripes: 1000, lanes: 16, wantStripes: 1024, wantLanes: 16},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.stripes)+"x"+strconv.Itoa(tt.lanes), func(t *testing.T) {
			tb := New[*tconn](tt.stripes, tt.lanes)
			if got := len(tb.keys); got != tt.wantStripes {
				t.Errorf("key stripes = %d, want %d", got, tt.wantStripes)
			}
			if len(tb.mids) != tt.wantStripes || len(tb.rooms) != tt.wantStripes {
				t.Errorf("mid/room stripes = %d/%d, want %d", len(tb.mids), len(tb.rooms), tt.wantStripes)
			}
			if tb.mask != uint64(tt.wantStripes-1) {
				t.Errorf("mask = %#x, want %#x", tb.mask, tt.wantStripes-1)
			}
			if got := tb.Lanes(); got != tt.wantLanes {
				t.Errorf("Lanes() = %d, want %d", got, tt.wantLanes)
			}
		})
	}
}

func TestPut(t *testing.T) {
	a1 := conn("a", 7, 0)
	a2 := conn("a", 7, 1) // same key and mid, newer connection
	b := conn("b", 0, 0)  // mid 0: not indexed by mid
	c := conn("c", 8, 0)

	type step struct {
		put          *tconn
		wantOld      *tconn
		wantReplaced bool
		wantLen      int
	}
	tests := []struct {
		name  string
		steps []step
		// After all steps: what Get and AppendByMid see.
		wantGet map[string]*tconn
		wantMid map[int64][]*tconn
	}{
		{
			name:    "new key",
			steps:   []step{{put: a1, wantLen: 1}},
			wantGet: map[string]*tconn{"a": a1},
			wantMid: map[int64][]*tconn{7: {a1}},
		},
		{
			name: "replaced key returns old and the newest wins",
			steps: []step{
				{put: a1, wantLen: 1},
				{put: a2, wantOld: a1, wantReplaced: true, wantLen: 1},
			},
			wantGet: map[string]*tconn{"a": a2},
			// The old conn's mid entry is the caller's to Remove.
			wantMid: map[int64][]*tconn{7: {a1, a2}},
		},
		{
			name: "same conn twice is listed once under its mid",
			steps: []step{
				{put: a1, wantLen: 1},
				{put: a1, wantOld: a1, wantReplaced: true, wantLen: 1},
			},
			wantGet: map[string]*tconn{"a": a1},
			wantMid: map[int64][]*tconn{7: {a1}},
		},
		{
			name: "distinct keys and mid 0",
			steps: []step{
				{put: a1, wantLen: 1},
				{put: b, wantLen: 2},
				{put: c, wantLen: 3},
			},
			wantGet: map[string]*tconn{"a": a1, "b": b, "c": c, "missing": nil},
			wantMid: map[int64][]*tconn{7: {a1}, 8: {c}, 0: nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New[*tconn](4, 2)
			for i, s := range tt.steps {
				old, replaced := tb.Put(s.put)
				if old != s.wantOld || replaced != s.wantReplaced {
					t.Errorf("step %d: Put(%s) = (%v, %v), want (%v, %v)", i, s.put.key, old, replaced, s.wantOld, s.wantReplaced)
				}
				if got := tb.Len(); got != s.wantLen {
					t.Errorf("step %d: Len() = %d, want %d", i, got, s.wantLen)
				}
			}
			for key, want := range tt.wantGet {
				got, ok := tb.Get(key)
				if got != want || ok != (want != nil) {
					t.Errorf("Get(%q) = (%v, %v), want (%v, %v)", key, got, ok, want, want != nil)
				}
			}
			for mid, want := range tt.wantMid {
				if got := tb.AppendByMid(mid, nil); !sameSet(got, want) {
					t.Errorf("AppendByMid(%d) = %v, want %v", mid, got, want)
				}
			}
		})
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name string
		// put are registered in order, then remove is removed in order.
		put, remove []*tconn
		wantRemoved []bool
		wantLen     int
		wantGet     map[string]int // key -> index into put, -1 for absent
		wantMid     map[int64][]int
	}{
		{
			name:        "registered conn",
			put:         []*tconn{conn("a", 7, 0)},
			remove:      []*tconn{nil}, // nil: put[0]
			wantRemoved: []bool{true},
			wantLen:     0,
			wantGet:     map[string]int{"a": -1},
			wantMid:     map[int64][]int{7: nil},
		},
		{
			name:        "removing twice reports false the second time",
			put:         []*tconn{conn("a", 7, 0)},
			remove:      []*tconn{nil, nil},
			wantRemoved: []bool{true, false},
			wantLen:     0,
			wantGet:     map[string]int{"a": -1},
			wantMid:     map[int64][]int{7: nil},
		},
		{
			name:        "never registered",
			put:         []*tconn{conn("a", 7, 0)},
			remove:      []*tconn{conn("a", 7, 0)},
			wantRemoved: []bool{false},
			wantLen:     1,
			wantGet:     map[string]int{"a": 0},
			wantMid:     map[int64][]int{7: {0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New[*tconn](4, 1)
			for _, c := range tt.put {
				tb.Put(c)
			}
			for i, c := range tt.remove {
				if c == nil {
					c = tt.put[0]
				}
				if got := tb.Remove(c); got != tt.wantRemoved[i] {
					t.Errorf("Remove #%d = %v, want %v", i, got, tt.wantRemoved[i])
				}
			}
			if got := tb.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			for key, idx := range tt.wantGet {
				got, ok := tb.Get(key)
				if idx < 0 {
					if ok {
						t.Errorf("Get(%q) = %v, want absent", key, got)
					}
				} else if got != tt.put[idx] {
					t.Errorf("Get(%q) = %v, want %v", key, got, tt.put[idx])
				}
			}
			for mid, idxs := range tt.wantMid {
				var want []*tconn
				for _, i := range idxs {
					want = append(want, tt.put[i])
				}
				if got := tb.AppendByMid(mid, nil); !sameSet(got, want) {
					t.Errorf("AppendByMid(%d) = %v, want %v", mid, got, want)
				}
			}
		})
	}
}

// The gateway's kick-old-connection path: Put the new conn, then Remove the old
// one. The key must stay with the new conn; only the old conn's mid entry goes.
func TestRemoveReplacedConnKeepsNewKey(t *testing.T) {
	tb := New[*tconn](4, 1)
	oldC, newC := conn("a", 7, 0), conn("a", 7, 0)
	tb.Put(oldC)
	if got, replaced := tb.Put(newC); got != oldC || !replaced {
		t.Fatalf("Put(new) = (%v, %v), want (old, true)", got, replaced)
	}
	if tb.Remove(oldC) {
		t.Error("Remove(old) = true, but the key maps to the new conn")
	}
	if got, ok := tb.Get("a"); !ok || got != newC {
		t.Errorf("Get(a) = (%v, %v), want the new conn", got, ok)
	}
	if got := tb.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
	if got := tb.AppendByMid(7, nil); len(got) != 1 || got[0] != newC {
		t.Errorf("AppendByMid(7) = %v, want only the new conn", got)
	}
	if !tb.Remove(newC) {
		t.Error("Remove(new) = false, want true")
	}
	if n := midEntries(tb); n != 0 {
		t.Errorf("%d mid entries left after removing everything", n)
	}
}

func TestAppendByMidSeveralConns(t *testing.T) {
	tb := New[*tconn](8, 2)
	var cs []*tconn
	for i := range 5 {
		c := conn("m"+strconv.Itoa(i), 42, i%2)
		cs = append(cs, c)
		tb.Put(c)
	}
	other := conn("other", 43, 0)
	tb.Put(other)

	prefix := []*tconn{other}
	got := tb.AppendByMid(42, prefix)
	if got[0] != other || !sameSet(got[1:], cs) {
		t.Fatalf("AppendByMid(42, [other]) = %v, want other then %v", keys(got), keys(cs))
	}

	// Remove from the middle, the end and the front; the list shrinks each time
	// and never loses or duplicates a survivor.
	live := slices.Clone(cs)
	for _, i := range []int{2, 4, 0, 1, 3} {
		if !tb.Remove(cs[i]) {
			t.Fatalf("Remove(%s) = false", cs[i].key)
		}
		live = slices.DeleteFunc(live, func(c *tconn) bool { return c == cs[i] })
		if got := tb.AppendByMid(42, nil); !sameSet(got, live) {
			t.Fatalf("after removing %s: AppendByMid(42) = %v, want %v", cs[i].key, keys(got), keys(live))
		}
	}
	// The emptied mid's list is deleted, the other mid is untouched.
	if n := midEntries(tb); n != 1 {
		t.Errorf("mid entries = %d, want 1 (only mid 43)", n)
	}
	if got := tb.AppendByMid(43, nil); len(got) != 1 || got[0] != other {
		t.Errorf("AppendByMid(43) = %v, want [other]", got)
	}
}

func TestLenCountsKeysNotConns(t *testing.T) {
	tb := New[*tconn](16, 1)
	const n = 300
	cs := make([]*tconn, n)
	for i := range cs {
		cs[i] = conn("k"+strconv.Itoa(i), int64(i%7), 0)
		tb.Put(cs[i])
	}
	if got := tb.Len(); got != n {
		t.Fatalf("Len() after %d puts = %d", n, got)
	}
	// Replacing keys does not change the count.
	for i := 0; i < n; i += 3 {
		tb.Put(conn(cs[i].key, 0, 0))
	}
	if got := tb.Len(); got != n {
		t.Fatalf("Len() after replacing a third = %d, want %d", got, n)
	}
	// Removing replaced conns does not change it either; removing live ones does.
	want := n
	for i := range cs {
		if tb.Remove(cs[i]) {
			want--
		}
	}
	if got := tb.Len(); got != want || want != n/3 {
		t.Fatalf("Len() = %d, want %d (the %d replacements)", got, want, n/3)
	}
}

func TestHashSpreadsKeysOverAllStripes(t *testing.T) {
	tb := New[*tconn](64, 1)
	counts := make([]int, len(tb.keys))
	for i := range 10000 {
		counts[hashString("k"+strconv.Itoa(i))&tb.mask]++
	}
	for i, n := range counts {
		// 10000/64 is ~156; a stripe with under a third or over twice that
		// means the hash is badly skewed, not unlucky.
		if n < 50 || n > 320 {
			t.Errorf("stripe %d holds %d of 10000 keys", i, n)
		}
	}
}

// FNV-1a's low bits ignore the high bits of each byte; keys differing only there
// (bits 6 and 7) must still spread.
func TestHashSpreadsKeysDifferingInHighBits(t *testing.T) {
	tb := New[*tconn](64, 1)
	alphabet := []byte{0x21, 0x61, 0xa1, 0xe1} // same low six bits
	used := make(map[uint64]bool)
	for i := range 256 {
		k := []byte{alphabet[i&3], alphabet[i>>2&3], alphabet[i>>4&3], alphabet[i>>6&3]}
		used[hashString(string(k))&tb.mask] = true
	}
	if len(used) < 48 {
		t.Errorf("256 keys landed in only %d of 64 stripes", len(used))
	}
}

func TestHashSpreadsMidsOverAllStripes(t *testing.T) {
	tb := New[*tconn](64, 1)
	counts := make([]int, len(tb.mids))
	for mid := int64(1); mid <= 10000; mid++ {
		counts[hashMid(mid)&tb.mask]++
	}
	for i, n := range counts {
		if n < 50 || n > 320 {
			t.Errorf("stripe %d holds %d of 10000 mids", i, n)
		}
	}
}
