package shard

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// checkRoom compares every lane of r with want (lane -> members, any order), the
// online count, and the position index Leave relies on.
func checkRoom(t *testing.T, tb *Table[*tconn], r *Room[*tconn], want [][]*tconn) {
	t.Helper()
	total := 0
	for lane := range tb.Lanes() {
		got := tb.AppendLane(r, lane, nil)
		if !sameSet(got, want[lane]) {
			t.Fatalf("lane %d = %v, want %v", lane, keys(got), keys(want[lane]))
		}
		if n := tb.LaneLen(r, lane); n != len(want[lane]) {
			t.Fatalf("LaneLen(%d) = %d, want %d", lane, n, len(want[lane]))
		}
		for i, c := range got {
			if p, ok := r.pos[c]; !ok || int(p) != i {
				t.Fatalf("pos[%s] = (%d, %v), but it sits at %d of lane %d", c.key, p, ok, i, lane)
			}
		}
		total += len(want[lane])
	}
	if got := r.Online(); int(got) != total {
		t.Fatalf("Online() = %d, want %d", got, total)
	}
	if len(r.pos) != total {
		t.Fatalf("pos has %d entries, want %d", len(r.pos), total)
	}
}

func TestJoinLeave(t *testing.T) {
	a, b, c := conn("a", 1, 0), conn("b", 2, 1), conn("c", 3, 1)
	type op struct {
		join bool
		c    *tconn
		want bool // Leave's result; ignored for Join
	}
	tests := []struct {
		name  string
		ops   []op
		want  [][]*tconn // per lane, after all ops
		empty bool       // the room should be gone from Room(id)
	}{
		{
			name: "join places members by lane",
			ops:  []op{{join: true, c: a}, {join: true, c: b}, {join: true, c: c}},
			want: [][]*tconn{{a}, {b, c}},
		},
		{
			name: "double join is a no-op",
			ops:  []op{{join: true, c: a}, {join: true, c: a}, {join: true, c: b}},
			want: [][]*tconn{{a}, {b}},
		},
		{
			name: "leave a non-member is false",
			ops:  []op{{join: true, c: a}, {c: b, want: false}},
			want: [][]*tconn{{a}, nil},
		},
		{
			name: "leave twice is false the second time",
			ops:  []op{{join: true, c: a}, {join: true, c: b}, {c: b, want: true}, {c: b, want: false}},
			want: [][]*tconn{{a}, nil},
		},
		{
			name: "leave the first of a lane moves the last into its place",
			ops:  []op{{join: true, c: a}, {join: true, c: b}, {join: true, c: c}, {c: b, want: true}},
			want: [][]*tconn{{a}, {c}},
		},
		{
			name:  "last leave empties the room",
			ops:   []op{{join: true, c: a}, {join: true, c: b}, {c: a, want: true}, {c: b, want: true}},
			want:  [][]*tconn{nil, nil},
			empty: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New[*tconn](4, 2)
			var r *Room[*tconn]
			for i, o := range tt.ops {
				if o.join {
					got := tb.Join("live://1", o.c)
					if r != nil && got != r {
						t.Fatalf("op %d: Join returned a different room while members remain", i)
					}
					r = got
					continue
				}
				if got := tb.Leave(r, o.c); got != o.want {
					t.Fatalf("op %d: Leave(%s) = %v, want %v", i, o.c.key, got, o.want)
				}
			}
			if r.ID() != "live://1" {
				t.Errorf("ID() = %q", r.ID())
			}
			checkRoom(t, tb, r, tt.want)
			if got := tb.Room("live://1"); (got == nil) != tt.empty || (!tt.empty && got != r) {
				t.Errorf("Room(id) = %p, want %p (empty %v)", got, r, tt.empty)
			}
		})
	}
}

func TestLaneWrapsAround(t *testing.T) {
	tb := New[*tconn](1, 4)
	c := conn("a", 1, 6) // lane 6 of 4 -> lane 2
	r := tb.Join("r", c)
	if got := tb.AppendLane(r, 2, nil); len(got) != 1 || got[0] != c {
		t.Fatalf("AppendLane(2) = %v, want [a]", got)
	}
	if got := tb.AppendLane(r, 6, nil); len(got) != 1 || got[0] != c {
		t.Fatalf("AppendLane(6) = %v, want lane 2's [a]", got)
	}
	if !tb.Leave(r, c) {
		t.Fatal("Leave = false for a member on a wrapped lane")
	}
}

// Swap-remove must keep every survivor's recorded position right, whatever order
// members leave in; a wrong position would remove the wrong member later.
func TestLeaveRandomHalfKeepsPositions(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			const lanes, n = 4, 1000
			tb := New[*tconn](8, lanes)
			members := make([]*tconn, n)
			var r *Room[*tconn]
			for i := range members {
				members[i] = conn("m"+strconv.Itoa(i), int64(i), rng.IntN(lanes))
				r = tb.Join("big", members[i])
			}
			rng.Shuffle(n, func(i, j int) { members[i], members[j] = members[j], members[i] })
			leaving, staying := members[:n/2], members[n/2:]
			left := make(map[*tconn]bool)
			for i, c := range leaving {
				if !tb.Leave(r, c) {
					t.Fatalf("Leave(%s) = false", c.key)
				}
				left[c] = true
				if i%50 == 49 {
					checkRoom(t, tb, r, expectLanes(members, left, lanes))
				}
			}
			checkRoom(t, tb, r, expectLanes(members, left, lanes))
			for _, c := range leaving {
				if tb.Leave(r, c) {
					t.Fatalf("Leave(%s) = true after it already left", c.key)
				}
			}
			if got := r.Online(); int(got) != len(staying) {
				t.Fatalf("Online() = %d, want %d", got, len(staying))
			}
		})
	}
}

func expectLanes(members []*tconn, left map[*tconn]bool, lanes int) [][]*tconn {
	want := make([][]*tconn, lanes)
	for _, c := range members {
		if !left[c] {
			want[c.lane%lanes] = append(want[c.lane%lanes], c)
		}
	}
	return want
}

func TestEmptyRoomIsDroppedAndRejoinMakesANewOne(t *testing.T) {
	tb := New[*tconn](4, 2)
	a, b := conn("a", 1, 0), conn("b", 2, 1)
	r1 := tb.Join("live://9", a)
	if tb.Room("live://9") != r1 {
		t.Fatal("Room(id) does not return the joined room")
	}
	tb.Leave(r1, a)
	if got := tb.Room("live://9"); got != nil {
		t.Fatalf("Room(id) = %p after the last member left, want nil", got)
	}
	countRooms := func() int {
		n := 0
		tb.Rooms(func(string, int32) { n++ })
		return n
	}
	if n := countRooms(); n != 0 {
		t.Fatalf("Rooms lists %d rooms, want 0", n)
	}

	r2 := tb.Join("live://9", b)
	if r2 == r1 {
		t.Fatal("rejoin returned the dropped room")
	}
	if tb.Room("live://9") != r2 || r2.Online() != 1 {
		t.Fatalf("rejoined room: Room(id) = %p, Online = %d; want %p, 1", tb.Room("live://9"), r2.Online(), r2)
	}
	// The stale room must not touch the new one.
	if tb.Leave(r1, b) {
		t.Error("Leave(stale room, b) = true")
	}
	if tb.Leave(r1, a) {
		t.Error("Leave(stale room, a) = true after a already left")
	}
	if tb.Room("live://9") != r2 || r2.Online() != 1 {
		t.Error("leaving a stale room disturbed the live one")
	}
}

func TestAppendLaneCopies(t *testing.T) {
	tb := New[*tconn](4, 2)
	a, b, c := conn("a", 1, 0), conn("b", 2, 0), conn("c", 3, 1)
	r := tb.Join("r", a)
	tb.Join("r", b)
	tb.Join("r", c)

	buf := make([]*tconn, 1, 8)
	buf[0] = c
	got := tb.AppendLane(r, 0, buf)
	if len(got) != 3 || got[0] != c || !sameSet(got[1:], []*tconn{a, b}) {
		t.Fatalf("AppendLane(0, [c]) = %v, want c then a, b", keys(got))
	}
	for i := range got {
		got[i] = nil // must not reach the room's own slice
	}
	checkRoom(t, tb, r, [][]*tconn{{a, b}, {c}})

	// A copy taken before a Leave keeps its members; the room moves on.
	snap := tb.AppendLane(r, 0, nil)
	tb.Leave(r, a)
	if !sameSet(snap, []*tconn{a, b}) {
		t.Errorf("snapshot changed after Leave: %v", keys(snap))
	}
	checkRoom(t, tb, r, [][]*tconn{{b}, {c}})
}

func TestRooms(t *testing.T) {
	tb := New[*tconn](4, 2)
	want := map[string]int32{}
	var live []*Room[*tconn]
	for i := range 20 {
		id := "live://" + strconv.Itoa(i)
		var r *Room[*tconn]
		for j := range i + 1 {
			r = tb.Join(id, conn(id+"/"+strconv.Itoa(j), int64(j), j))
		}
		want[id] = int32(i + 1)
		live = append(live, r)
	}
	// Empty out room 0 and shrink room 5 by two.
	tb.Leave(live[0], tb.AppendLane(live[0], 0, nil)[0])
	delete(want, "live://0")
	for lane := range 2 {
		tb.Leave(live[5], tb.AppendLane(live[5], lane, nil)[0])
	}
	want["live://5"] -= 2

	got := map[string]int32{}
	tb.Rooms(func(id string, online int32) {
		if _, dup := got[id]; dup {
			t.Errorf("Rooms visited %q twice", id)
		}
		got[id] = online
	})
	if len(got) != len(want) {
		t.Errorf("Rooms visited %d rooms, want %d", len(got), len(want))
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("Rooms: %q online %d, want %d", id, got[id], n)
		}
	}
}

func TestShrinkFunc(t *testing.T) {
	tests := []struct {
		len, cap int
		wantCap  int
	}{
		{len: 0, cap: 0, wantCap: 0},
		{len: 1, cap: 64, wantCap: 64},   // small slices are left alone
		{len: 15, cap: 128, wantCap: 64}, // under a quarter: halve
		{len: 32, cap: 128, wantCap: 128},
		{len: 31, cap: 128, wantCap: 64},
		{len: 100, cap: 1024, wantCap: 512},
		{len: 0, cap: 1024, wantCap: 512},
	}
	for _, tt := range tests {
		s := make([]int, tt.len, tt.cap)
		for i := range s {
			s[i] = i + 1
		}
		got := shrink(s)
		if cap(got) != tt.wantCap {
			t.Errorf("shrink(len %d cap %d) cap = %d, want %d", tt.len, tt.cap, cap(got), tt.wantCap)
		}
		if len(got) != tt.len {
			t.Fatalf("shrink(len %d cap %d) len = %d", tt.len, tt.cap, len(got))
		}
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("shrink(len %d cap %d)[%d] = %d, want %d", tt.len, tt.cap, i, v, i+1)
			}
		}
	}
}

// A flash crowd leaving gives the lane's memory back, and the survivors stay
// correctly indexed across the reallocations.
func TestLeaveShrinksLane(t *testing.T) {
	tb := New[*tconn](1, 1)
	const n = 4096
	members := make([]*tconn, n)
	var r *Room[*tconn]
	for i := range members {
		members[i] = conn("m"+strconv.Itoa(i), 0, 0)
		r = tb.Join("crowd", members[i])
	}
	peak := cap(r.lanes[0])
	const keep = 10
	for _, c := range members[keep:] {
		tb.Leave(r, c)
	}
	if got := cap(r.lanes[0]); got > 4*64 || got >= peak {
		t.Errorf("lane cap = %d after %d of %d left (peak %d), want it shrunk", got, n-keep, n, peak)
	}
	checkRoom(t, tb, r, [][]*tconn{members[:keep]})
	for _, c := range members[:keep] {
		if !tb.Leave(r, c) {
			t.Fatalf("Leave(%s) = false after shrinking", c.key)
		}
	}
	if tb.Room("crowd") != nil {
		t.Error("room not dropped after everyone left")
	}
}

// A departed conn must not stay reachable from the spare capacity of a lane or a
// mid list, or a closed connection's buffers are pinned until the slot is reused.
func TestVacatedSlotsAreCleared(t *testing.T) {
	tb := New[*tconn](1, 1)
	cs := []*tconn{conn("a", 5, 0), conn("b", 5, 0), conn("c", 5, 0)}
	var r *Room[*tconn]
	for _, c := range cs {
		tb.Put(c)
		r = tb.Join("r", c)
	}
	tb.Leave(r, cs[0])
	tb.Remove(cs[0])
	lane := r.lanes[0]
	mids := tb.mids[0].m[5]
	for name, s := range map[string][]*tconn{"lane": lane, "mid list": mids} {
		if len(s) != 2 {
			t.Fatalf("%s has %d members, want 2", name, len(s))
		}
		for i, c := range s[len(s):cap(s)] {
			if c != nil {
				t.Errorf("%s spare slot %d still holds %s", name, i, c.key)
			}
		}
	}
}
