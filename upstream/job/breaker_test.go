package job

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/kafkabus"
)

func TestBreakerStates(t *testing.T) {
	b := newBreaker(3, time.Second)
	t0 := time.Unix(1000, 0)
	want := func(at time.Time, v verdict) uint64 {
		t.Helper()
		got, gen := b.admit(at)
		if got != v {
			t.Fatalf("admit at +%s = %d, want %d (state %s)", at.Sub(t0), got, v, b.current())
		}
		return gen
	}
	// Two give-ups, then an accepted call: the count starts over.
	b.gaveUp(t0)
	b.gaveUp(t0)
	b.accepted()
	for i := 1; i <= 2; i++ {
		if b.gaveUp(t0) { // side effect: counts give-up i
			t.Fatalf("opened after %d give-ups in a row, want 3", i)
		}
	}
	if !b.gaveUp(t0) || b.current() != breakerOpen {
		t.Fatalf("3rd give-up in a row did not open it: %s", b.current())
	}
	want(t0.Add(999*time.Millisecond), verdictDrop)
	b.accepted() // a call from before the opening, accepted late: no effect
	if b.closed() {
		t.Fatal("a late accepted call closed an open breaker")
	}
	gen := want(t0.Add(time.Second), verdictProbe)
	want(t0.Add(time.Second), verdictDrop) // one probe at a time
	if !b.probed(gen, false, t0.Add(2*time.Second)) || b.current() != breakerOpen {
		t.Fatalf("failed probe: %s, want open", b.current())
	}
	want(t0.Add(2500*time.Millisecond), verdictDrop)
	gen = want(t0.Add(3*time.Second), verdictProbe)
	if !b.probed(gen, true, t0.Add(3*time.Second)) || !b.closed() {
		t.Fatalf("accepted probe: %s, want closed", b.current())
	}
	want(t0.Add(3*time.Second), verdictCall)

	// A reset (the gateway moved) closes it and voids the probe out.
	b.gaveUp(t0)
	b.gaveUp(t0)
	b.gaveUp(t0)
	gen = want(t0.Add(time.Hour), verdictProbe)
	b.reset()
	if b.probed(gen, false, t0.Add(time.Hour)) || !b.closed() {
		t.Fatalf("a probe from before the reset counted: %s", b.current())
	}
}

// pushRooms writes perRoom pushes (seq 1..perRoom) to each of rooms rooms
// concurrently, each room in seq order.
func pushRooms(c *cluster, rooms, perRoom int) {
	var wg sync.WaitGroup
	for r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(1); seq <= int64(perRoom); seq++ {
				c.pushRoom(fmt.Sprintf("live://%d", r), seq, fmt.Sprint(seq))
			}
		}()
	}
	wg.Wait()
}

// checkRoomOrder fails unless g got every room's pushes in seq order with no
// gap and no repeat, starting at seq 1 (from is the first call to look at).
func checkRoomOrder(t *testing.T, g *fakeGateway, from int) {
	t.Helper()
	next := map[string]int64{}
	for _, cl := range g.snapshot()[from:] {
		next[cl.room]++
		if cl.seq != next[cl.room] {
			t.Fatalf("%s: room %s got seq %d, want %d", g.name, cl.room, cl.seq, next[cl.room])
		}
	}
}

// TestRefusingGatewayDoesNotSlowOthers is the review's scenario: two
// gateways, one refusing every call, production retry settings, a small
// MaxInFlight. Without the breaker every message held its window token for
// the refusing gateway's whole retry budget (~300 ms in one of 4 lanes) and
// the healthy gateway got 259 of 400 pushes in 15 s; with it the refusing
// gateway is marked down after 3 given-up messages and the healthy one gets
// everything at once.
func TestRefusingGatewayDoesNotSlowOthers(t *testing.T) {
	c := newCluster(t, 3, "gw-a", "gw-b")
	a, b := c.gws["gw-a"], c.gws["gw-b"]
	b.setHook(func(context.Context, call) error {
		return errors.New("dial tcp 10.0.0.2:3109: connect: connection refused")
	})
	cfg := c.config()
	cfg.Retry = Retry{} // production defaults: 5 attempts, 20 ms doubling
	cfg.MaxInFlight = 64
	r := c.start(cfg)
	c.pushRoom("warm-up", 1, "w") // the group has joined once this arrives
	waitFor(t, 20*time.Second, "the warm-up push", func() bool { return a.count(kafkabus.KindRoom) == 1 })

	const rooms, perRoom = 20, 20
	start := time.Now()
	pushRooms(c, rooms, perRoom)
	waitFor(t, 3*time.Second, "gw-a to get all 400 pushes", func() bool { return a.count(kafkabus.KindRoom) == 1+rooms*perRoom })
	t.Logf("gw-a got %d pushes %s after the first was written", rooms*perRoom, time.Since(start).Round(time.Millisecond))
	checkRoomOrder(t, a, 1)
	waitFor(t, 3*time.Second, "every message finished", func() bool { return r.job.Stats().InFlight == 0 })
	s := r.job.Stats()
	if s.GatewaysDown != 1 || s.Gateways != 2 || s.BreakerDropped == 0 || s.Abandoned < 3 ||
		s.Abandoned+s.BreakerDropped != 1+rooms*perRoom || s.DeliveredRoom != 1+rooms*perRoom {
		t.Fatalf("stats %+v", s)
	}
	if n := b.count(kafkabus.KindRoom); n != 0 {
		t.Fatalf("gw-b accepted %d", n)
	}
}

// TestBlackHoleGatewayDoesNotSlowOthers: a gateway whose host drops packets
// (every call waits out its timeout) is marked down too, and while it is
// down the probes, one call each, do not hold the other pushes back.
func TestBlackHoleGatewayDoesNotSlowOthers(t *testing.T) {
	c := newCluster(t, 3, "gw-a", "gw-b")
	a, b := c.gws["gw-a"], c.gws["gw-b"]
	b.setHook(func(ctx context.Context, _ call) error { <-ctx.Done(); return ctx.Err() })
	cfg := c.config()
	cfg.Retry = Retry{Attempts: 2, Backoff: 10 * time.Millisecond}
	cfg.CallTimeout = 500 * time.Millisecond // stands for the 1 s connect timeout
	cfg.Breaker = Breaker{Failures: 3, Open: 100 * time.Millisecond}
	cfg.MaxInFlight = 4
	r := c.start(cfg)
	for i := range 4 { // mark gw-b down: each lane gives one up in ~1 s
		c.pushRoom(fmt.Sprintf("warm-up-%d", i), 1, "w")
	}
	waitFor(t, 20*time.Second, "gw-b to be marked down", func() bool { return r.job.Stats().GatewaysDown == 1 })

	// 200 pushes over 2 s: about 4 probes go out meanwhile, each a 500 ms
	// call. Were a probe to hold its lane, the pushes behind it (a quarter)
	// would wait up to 500 ms, and the 4-message window would hold up the
	// rest: gw-a's worst latency stays well under that.
	const rooms, perRoom = 10, 20
	var wg sync.WaitGroup
	for room := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(1); seq <= perRoom; seq++ {
				c.pushRoom(fmt.Sprintf("live://%d", room), seq, strconv.FormatInt(time.Now().UnixNano(), 10))
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	waitFor(t, time.Second, "gw-a to get every push", func() bool { return a.count(kafkabus.KindRoom) == 4+rooms*perRoom })
	checkRoomOrder(t, a, 4)
	var worst time.Duration
	for _, cl := range a.snapshot()[4:] {
		sent, _ := strconv.ParseInt(cl.body, 10, 64)
		worst = max(worst, cl.at.Sub(time.Unix(0, sent)))
	}
	t.Logf("gw-a: worst latency %s over %d pushes, %d probes failed meanwhile", worst, rooms*perRoom, r.job.Stats().GatewayErrors-8)
	if worst > 250*time.Millisecond {
		t.Fatalf("a push took %s to reach gw-a: held up behind gw-b's probe?", worst)
	}
	if s := r.job.Stats(); s.BreakerDropped == 0 || s.GatewayErrors < 8 {
		t.Fatalf("stats %+v", s)
	}
}

// TestBreakerClosesWhenGatewayRecovers: a gateway marked down gets pushes
// again, in order, once it accepts calls: the first probe after Open closes
// the breaker.
func TestBreakerClosesWhenGatewayRecovers(t *testing.T) {
	c := newCluster(t, 1, "gw-a", "gw-b")
	a, b := c.gws["gw-a"], c.gws["gw-b"]
	b.setHook(func(context.Context, call) error { return errors.New("connection refused") })
	cfg := c.config()
	cfg.Retry = Retry{}
	cfg.Breaker = Breaker{Failures: 3, Open: 300 * time.Millisecond}
	r := c.start(cfg)
	seq := int64(0)
	push := func() { seq++; c.pushRoom("live://1", seq, fmt.Sprint(seq)) }
	for range 5 {
		push()
	}
	waitFor(t, 20*time.Second, "gw-b to be marked down", func() bool { return r.job.Stats().GatewaysDown == 1 })

	b.setHook(nil) // back up
	recovered := time.Now()
	for b.count(kafkabus.KindRoom) == 0 {
		if time.Since(recovered) > 5*time.Second {
			t.Fatalf("gw-b got nothing 5s after recovering; stats %+v", r.job.Stats())
		}
		push()
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("gw-b got pushes again %s after it recovered", time.Since(recovered).Round(time.Millisecond))
	tail := seq + 1
	for range 20 {
		push()
	}
	waitFor(t, 5*time.Second, "gw-b to get the last push", func() bool {
		calls := b.snapshot()
		return calls[len(calls)-1].seq == seq
	})
	calls := b.snapshot()
	for i := 1; i < len(calls); i++ {
		if calls[i].seq <= calls[i-1].seq {
			t.Fatalf("gw-b got seq %d after %d", calls[i].seq, calls[i-1].seq)
		}
	}
	if first := calls[len(calls)-20].seq; first != tail {
		t.Fatalf("the 20 pushes after the recovery start at seq %d at gw-b, want %d: %+v", first, tail, calls)
	}
	waitFor(t, 5*time.Second, "gw-a to get every push", func() bool { return a.count(kafkabus.KindRoom) == int(seq) })
	if s := r.job.Stats(); s.GatewaysDown != 0 || s.BreakerDropped == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGatewayMovedKeepsQueuedPushes: a gateway registered again at another
// address (a new process) gets what was queued for it, in order, on the new
// connection; nothing counts as delivered to the old one. The old connection
// is closed only once its call in progress has returned.
func TestGatewayMovedKeepsQueuedPushes(t *testing.T) {
	c := newCluster(t, 1, "gw-b")
	old := c.gws["gw-b"]
	stuck, release := make(chan struct{}), make(chan struct{})
	old.setHook(func(ctx context.Context, cl call) error {
		if cl.seq == 1 {
			close(stuck)
		}
		<-release
		return errors.New("connection reset by peer")
	})
	r := c.start(c.config())
	for seq := int64(1); seq <= 10; seq++ {
		c.pushRoom("live://1", seq, fmt.Sprint(seq))
	}
	select {
	case <-stuck:
	case <-time.After(20 * time.Second):
		t.Fatal("the old gateway never got push 1")
	}
	waitFor(t, 5*time.Second, "all 10 fetched", func() bool { return r.job.Stats().Consumed == 10 })

	moved := &fakeGateway{name: "gw-b (new)"}
	c.move("gw-b", "new-addr-of-gw-b", moved)
	waitFor(t, 5*time.Second, "the new address to be dialed", func() bool { return c.dials.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := old.closed.Load(); n != 0 {
		t.Fatal("the old connection was closed under a call in progress")
	}
	close(release) // the call on the old connection fails; the retry goes to the new one
	waitFor(t, 5*time.Second, "the new gateway to get all 10", func() bool { return moved.count(kafkabus.KindRoom) == 10 })
	waitFor(t, 5*time.Second, "the old connection to be closed", func() bool { return old.closed.Load() == 1 })
	c.pushRoom("live://1", 11, "11")
	waitFor(t, 5*time.Second, "push 11 at the new address", func() bool { return moved.count(kafkabus.KindRoom) == 11 })
	checkRoomOrder(t, moved, 0)
	waitFor(t, 5*time.Second, "the commit past everything", func() bool { return c.committed("test-job", 1)[0] == 11 })
	if s := r.job.Stats(); s.DroppedDead != 0 || s.Abandoned != 0 || s.BreakerDropped != 0 || s.Gateways != 1 || s.DeliveredRoom != 11 {
		t.Fatalf("stats %+v", s)
	}
	if n := old.count(kafkabus.KindRoom); n != 0 || moved.closed.Load() != 0 {
		t.Fatalf("old accepted %d, new closed %d", n, moved.closed.Load())
	}
}
