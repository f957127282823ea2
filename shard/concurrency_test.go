package shard

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// member is one writer goroutine's record of a conn it registered.
type member struct {
	c    *tconn
	room *Room[*tconn]
}

// Writers churn their own conns (Put, replace, Join, Leave, Remove) over shared
// mids and shared rooms while readers copy out of the same stripes. Each writer
// owns its keys, as the gateway's per-connection goroutine does, so the final
// state is known exactly and compared with the Table's.
func TestConcurrentChurn(t *testing.T) {
	const (
		writers = 8
		readers = 4
		ops     = 3000
		lanes   = 4
		nrooms  = 6
		nmids   = 16
	)
	tb := New[*tconn](8, lanes)
	roomID := func(i int) string { return fmt.Sprintf("live://%d", i) }

	states := make([]map[string]member, writers)
	var wg sync.WaitGroup
	var readErr sync.Once
	var readFailure string
	fail := func(format string, args ...any) {
		readErr.Do(func() { readFailure = fmt.Sprintf(format, args...) })
	}

	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			var buf []*tconn
			// A fixed number of rounds rather than spinning until the writers
			// finish: under -race, unbounded readers make the run time erratic.
			for range ops {
				key := fmt.Sprintf("w%d-%d", rng.IntN(writers), rng.IntN(40))
				if c, ok := tb.Get(key); ok && c.key != key {
					fail("Get(%q) returned conn with key %q", key, c.key)
				}
				mid := int64(rng.IntN(nmids) + 1)
				buf = tb.AppendByMid(mid, buf[:0])
				for _, c := range buf {
					if c == nil || c.mid != mid {
						fail("AppendByMid(%d) returned %v", mid, c)
					}
				}
				if r := tb.Room(roomID(rng.IntN(nrooms))); r != nil {
					lane := rng.IntN(lanes)
					buf = tb.AppendLane(r, lane, buf[:0])
					for _, c := range buf {
						if c == nil || c.lane%lanes != lane {
							fail("AppendLane(%s, %d) returned %v", r.ID(), lane, c)
						}
					}
					_ = tb.LaneLen(r, lane)
					if n := r.Online(); n < 0 {
						fail("room %s online %d", r.ID(), n)
					}
				}
				tb.Rooms(func(id string, online int32) {
					if online < 0 {
						fail("Rooms: %s online %d", id, online)
					}
				})
			}
		}()
	}

	var writersWG sync.WaitGroup
	for g := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			mine := make(map[string]member)
			for range ops {
				key := fmt.Sprintf("w%d-%d", g, rng.IntN(40))
				m, in := mine[key]
				switch {
				case !in:
					c := conn(key, int64(rng.IntN(nmids)+1), rng.IntN(2*lanes))
					if _, replaced := tb.Put(c); replaced {
						t.Errorf("Put(%s) replaced a conn nobody registered", key)
					}
					mine[key] = member{c: c, room: tb.Join(roomID(rng.IntN(nrooms)), c)}
				case rng.IntN(4) == 0:
					// A newer connection with the same key kicks the old one.
					c := conn(key, int64(rng.IntN(nmids)+1), rng.IntN(2*lanes))
					if old, replaced := tb.Put(c); !replaced || old != m.c {
						t.Errorf("Put(%s) = (%v, %v), want the old conn", key, old, replaced)
					}
					if !tb.Leave(m.room, m.c) {
						t.Errorf("Leave(%s) of the kicked conn = false", key)
					}
					if tb.Remove(m.c) {
						t.Errorf("Remove(kicked %s) = true, but the key is the new conn's", key)
					}
					mine[key] = member{c: c, room: tb.Join(roomID(rng.IntN(nrooms)), c)}
				default:
					if !tb.Leave(m.room, m.c) {
						t.Errorf("Leave(%s) = false", key)
					}
					if !tb.Remove(m.c) {
						t.Errorf("Remove(%s) = false", key)
					}
					delete(mine, key)
				}
			}
			states[g] = mine
		}()
	}
	writersWG.Wait()
	wg.Wait()
	if readFailure != "" {
		t.Fatal(readFailure)
	}

	// The Table must hold exactly what the writers think they left behind.
	wantMid := map[int64][]*tconn{}
	wantRoom := map[string][][]*tconn{}
	total := 0
	for _, mine := range states {
		for key, m := range mine {
			total++
			if got, ok := tb.Get(key); !ok || got != m.c {
				t.Errorf("Get(%s) = (%v, %v), want %v", key, got, ok, m.c)
			}
			wantMid[m.c.mid] = append(wantMid[m.c.mid], m.c)
			if wantRoom[m.room.ID()] == nil {
				wantRoom[m.room.ID()] = make([][]*tconn, lanes)
			}
			wantRoom[m.room.ID()][m.c.lane%lanes] = append(wantRoom[m.room.ID()][m.c.lane%lanes], m.c)
			if tb.Room(m.room.ID()) != m.room {
				t.Errorf("member %s holds a room that is no longer registered", key)
			}
		}
	}
	if got := tb.Len(); got != total {
		t.Errorf("Len() = %d, want %d", got, total)
	}
	for mid := int64(1); mid <= nmids; mid++ {
		if got := tb.AppendByMid(mid, nil); !sameSet(got, wantMid[mid]) {
			t.Errorf("AppendByMid(%d) = %v, want %v", mid, keys(got), keys(wantMid[mid]))
		}
	}
	roomsSeen := 0
	tb.Rooms(func(id string, online int32) { roomsSeen++ })
	if roomsSeen != len(wantRoom) {
		t.Errorf("Rooms lists %d rooms, want %d", roomsSeen, len(wantRoom))
	}
	for id, want := range wantRoom {
		checkRoom(t, tb, tb.Room(id), want)
	}

	// Tearing everything down leaves nothing behind.
	for _, mine := range states {
		for _, m := range mine {
			tb.Leave(m.room, m.c)
			tb.Remove(m.c)
		}
	}
	if tb.Len() != 0 || midEntries(tb) != 0 {
		t.Errorf("after teardown: Len %d, mid entries %d", tb.Len(), midEntries(tb))
	}
	tb.Rooms(func(id string, online int32) { t.Errorf("room %s (online %d) left after teardown", id, online) })
}
