package job

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// TestRoomPushReachesEveryGatewayOnceInOrder: 100 pushes over 5 rooms on a
// 3-partition topic reach each of 2 gateways exactly once, each room in seq
// order.
func TestRoomPushReachesEveryGatewayOnceInOrder(t *testing.T) {
	c := newCluster(t, 3, "gw-a", "gw-b")
	r := c.start(c.config())
	rooms := []string{"live://1", "live://2", "live://3", "live://4", "live://5"}
	const perRoom = 20
	for seq := int64(1); seq <= perRoom; seq++ {
		for _, room := range rooms {
			c.pushRoom(room, seq, fmt.Sprintf("%s/%d", room, seq))
		}
	}
	total := len(rooms) * perRoom
	for _, g := range c.gws {
		waitFor(t, 15*time.Second, g.name+" to get every room push", func() bool { return g.count(kafkabus.KindRoom) >= total })
	}
	time.Sleep(200 * time.Millisecond) // room for a stray duplicate to show up
	for _, g := range c.gws {
		calls := g.snapshot()
		if len(calls) != total {
			t.Fatalf("%s got %d calls, want %d", g.name, len(calls), total)
		}
		next := map[string]int64{}
		for _, cl := range calls {
			next[cl.room]++
			if cl.seq != next[cl.room] || cl.body != fmt.Sprintf("%s/%d", cl.room, cl.seq) || cl.op != 1000 {
				t.Fatalf("%s: room %s got seq %d (body %q), want seq %d", g.name, cl.room, cl.seq, cl.body, next[cl.room])
			}
		}
	}
	waitFor(t, 5*time.Second, "commits to cover everything", func() bool {
		var sum int64
		for _, off := range c.committed("test-job", 3) {
			sum += max(off, 0)
		}
		return sum == int64(total)
	})
	s := r.job.Stats()
	if s.Consumed != uint64(total) || s.DeliveredRoom != uint64(2*total) || s.Duplicates != 0 || s.Gateways != 2 || s.InFlight != 0 || s.Lag != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestKeysPushAndKickOnlyTheirGatewayAndAllReachesAll(t *testing.T) {
	c := newCluster(t, 3, "gw-a", "gw-b", "gw-c")
	r := c.start(c.config())
	ctx := context.Background()
	if err := c.prod.PushKeys(ctx, "gw-b", 1001, []string{"k1", "k2"}, []byte("for b")); err != nil {
		t.Fatal(err)
	}
	if err := c.prod.PushKeys(ctx, "gw-gone", 1001, []string{"k9"}, []byte("for nobody")); err != nil {
		t.Fatal(err)
	}
	if err := c.prod.Broadcast(ctx, 1002, []byte("for all"), 9); err != nil {
		t.Fatal(err)
	}
	if err := c.prod.KickKeys(ctx, "gw-c", []string{"k3"}, "banned"); err != nil {
		t.Fatal(err)
	}
	for _, g := range c.gws {
		waitFor(t, 15*time.Second, g.name+" to get the broadcast", func() bool { return g.count(kafkabus.KindAll) == 1 })
	}
	waitFor(t, 5*time.Second, "gw-b to get its key push", func() bool { return c.gws["gw-b"].count(kafkabus.KindKeys) == 1 })
	waitFor(t, 5*time.Second, "gw-c to get its kick", func() bool { return c.gws["gw-c"].count(kafkabus.KindKick) == 1 })
	waitFor(t, 5*time.Second, "the keys push to nobody to be counted", func() bool { return r.job.Stats().KeysNoGateway == 1 })
	time.Sleep(100 * time.Millisecond)
	for name, g := range c.gws {
		for _, cl := range g.snapshot() {
			switch cl.kind {
			case kafkabus.KindKeys:
				if name != "gw-b" || cl.keys != "k1,k2" || cl.body != "for b" || cl.op != 1001 {
					t.Fatalf("%s got key push %+v", name, cl)
				}
			case kafkabus.KindAll:
				if cl.body != "for all" || cl.speed != 9 || cl.op != 1002 {
					t.Fatalf("%s got broadcast %+v", name, cl)
				}
			case kafkabus.KindKick:
				if name != "gw-c" || cl.keys != "k3" || cl.body != "banned" {
					t.Fatalf("%s got kick %+v", name, cl)
				}
			default:
				t.Fatalf("%s got %+v", name, cl)
			}
		}
	}
	s := r.job.Stats()
	if s.DeliveredKeys != 1 || s.DeliveredAll != 3 || s.DeliveredKick != 1 || s.KeysNoGateway != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDuplicateIDsDeliveredOnce: the same message written twice (a producer
// retry that Kafka stored twice) reaches the gateway once.
func TestDuplicateIDsDeliveredOnce(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	r := c.start(c.config())
	m := &kafkabus.Message{Kind: kafkabus.KindRoom, Room: "live://7", Seq: 1, Op: 1000, Body: []byte("once")}
	for range 3 {
		if err := c.prod.Write(context.Background(), m); err != nil { // same ID every time
			t.Fatal(err)
		}
	}
	c.pushRoom("live://7", 2, "after")
	g := c.gws["gw-a"]
	waitFor(t, 15*time.Second, "the push after the duplicates", func() bool { return g.count(kafkabus.KindRoom) >= 2 })
	time.Sleep(100 * time.Millisecond)
	if calls := g.snapshot(); len(calls) != 2 || calls[0].body != "once" || calls[1].body != "after" {
		t.Fatalf("gateway got %+v", calls)
	}
	if s := r.job.Stats(); s.Duplicates != 2 || s.Consumed != 4 {
		t.Fatalf("stats %+v", s)
	}
}

// TestUndecodableMessageDoesNotStall: a value that is not ours (or from a
// newer producer) is counted, skipped and committed past.
func TestUndecodableMessageDoesNotStall(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	r := c.start(c.config())
	w := &kafka.Writer{Addr: kafka.TCP(c.kafka.Addr), Topic: c.topic, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	future := []byte{kafkabus.Magic, 9, 1, 2, 3}
	if err := w.WriteMessages(context.Background(), kafka.Message{Value: []byte("garbage")}, kafka.Message{Value: future}); err != nil {
		t.Fatal(err)
	}
	c.pushRoom("live://1", 1, "good")
	g := c.gws["gw-a"]
	waitFor(t, 15*time.Second, "the good push", func() bool { return g.count(kafkabus.KindRoom) == 1 })
	waitFor(t, 5*time.Second, "the commit past all three", func() bool { return c.committed("test-job", 1)[0] == 3 })
	if s := r.job.Stats(); s.Undecodable != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestCommitExcludesUndeliveredAndRestartRedelivers: job is stopped while
// gw-b is stuck on push 5 of 10. The committed offset must stop before push
// 5; a new job process redelivers 5..10. gw-b then has each push exactly
// once; gw-a, which had accepted 5..10 before the stop, gets them a second
// time: dedupe is per process, so this is the at-least-once case that
// docs/KAFKA.md describes (clients can drop it by seq).
func TestCommitExcludesUndeliveredAndRestartRedelivers(t *testing.T) {
	c := newCluster(t, 3, "gw-a", "gw-b")
	a, b := c.gws["gw-a"], c.gws["gw-b"]
	stuck := make(chan struct{})
	b.setHook(func(ctx context.Context, cl call) error {
		if cl.seq == 5 {
			close(stuck)
			<-ctx.Done() // blocked until job is stopped
			return ctx.Err()
		}
		return nil
	})
	r1 := c.start(c.config())
	for seq := int64(1); seq <= 10; seq++ {
		c.pushRoom("live://42", seq, fmt.Sprint(seq))
	}
	select {
	case <-stuck:
	case <-time.After(15 * time.Second):
		t.Fatal("gw-b never got push 5")
	}
	waitFor(t, 5*time.Second, "gw-a to accept all 10", func() bool { return a.count(kafkabus.KindRoom) == 10 })
	if n := b.count(kafkabus.KindRoom); n != 4 {
		t.Fatalf("gw-b accepted %d pushes, want 4 (1..4, then stuck on 5)", n)
	}
	time.Sleep(150 * time.Millisecond) // a few commit intervals
	r1.stop(t)

	var committed int64
	for _, off := range c.committed("test-job", 3) {
		committed += max(off, 0)
	}
	if committed != 4 {
		t.Fatalf("committed %d messages, want 4: push 5 was not accepted by gw-b", committed)
	}

	b.setHook(nil)
	r2 := c.start(c.config())
	waitFor(t, 20*time.Second, "gw-b to get 5..10 after the restart", func() bool { return b.count(kafkabus.KindRoom) == 10 })
	waitFor(t, 5*time.Second, "gw-a to get the redelivery", func() bool { return a.count(kafkabus.KindRoom) == 16 })
	time.Sleep(100 * time.Millisecond)
	seqs := func(g *fakeGateway) []int64 {
		var out []int64
		for _, cl := range g.snapshot() {
			out = append(out, cl.seq)
		}
		return out
	}
	if got, want := fmt.Sprint(seqs(b)), "[1 2 3 4 5 6 7 8 9 10]"; got != want {
		t.Fatalf("gw-b got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(seqs(a)), "[1 2 3 4 5 6 7 8 9 10 5 6 7 8 9 10]"; got != want {
		t.Fatalf("gw-a got %s, want %s (at-least-once after a restart)", got, want)
	}
	if s := r2.job.Stats(); s.Consumed != 6 {
		t.Fatalf("the new job consumed %d messages, want 6 (offsets 4..9)", s.Consumed)
	}
}

// TestGatewayLeavingRegistry: a gateway stuck failing on a push is dropped
// when it leaves the registry (the push counts as delivered for it, commits
// move on), its connection is closed, and it gets nothing afterwards.
func TestGatewayLeavingRegistry(t *testing.T) {
	c := newCluster(t, 1, "gw-a", "gw-b")
	a, b := c.gws["gw-a"], c.gws["gw-b"]
	b.setHook(func(ctx context.Context, cl call) error {
		if cl.seq >= 2 {
			return errors.New("gw-b is broken")
		}
		return nil
	})
	cfg := c.config()
	cfg.Retry = Retry{Attempts: 1000, Backoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	r := c.start(cfg)
	c.pushRoom("live://1", 1, "1")
	c.pushRoom("live://1", 2, "2")
	waitFor(t, 15*time.Second, "gw-a to get both", func() bool { return a.count(kafkabus.KindRoom) == 2 })
	waitFor(t, 5*time.Second, "gw-b to fail on push 2", func() bool { return r.job.Stats().GatewayErrors >= 2 })
	if off := c.committed("test-job", 1)[0]; off > 1 {
		t.Fatalf("committed offset %d while gw-b has not accepted push 2", off)
	}
	c.reg.remove("gw-b")
	waitFor(t, 5*time.Second, "the commit to move past push 2", func() bool { return c.committed("test-job", 1)[0] == 2 })
	waitFor(t, 5*time.Second, "gw-b to be closed", func() bool { return b.closed.Load() == 1 })
	c.pushRoom("live://1", 3, "3")
	waitFor(t, 5*time.Second, "gw-a to get push 3", func() bool { return a.count(kafkabus.KindRoom) == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := b.count(kafkabus.KindRoom); n != 1 {
		t.Fatalf("gw-b accepted %d pushes, want 1", n)
	}
	if s := r.job.Stats(); s.DroppedDead != 1 || s.Gateways != 1 || s.Abandoned != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetryThenGiveUp(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	g := c.gws["gw-a"]
	fails := 0
	g.setHook(func(ctx context.Context, cl call) error {
		if cl.seq == 1 && fails < 2 { // flaky: fails twice, then accepts
			fails++
			return errors.New("flaky")
		}
		if cl.seq == 2 { // broken for this push
			return errors.New("broken")
		}
		return nil
	})
	r := c.start(c.config()) // 3 attempts
	for seq := int64(1); seq <= 3; seq++ {
		c.pushRoom("live://1", seq, fmt.Sprint(seq))
	}
	waitFor(t, 15*time.Second, "push 3", func() bool { return g.count(kafkabus.KindRoom) == 2 })
	calls := g.snapshot()
	if calls[0].seq != 1 || calls[1].seq != 3 {
		t.Fatalf("gateway got %+v", calls)
	}
	waitFor(t, 5*time.Second, "commit of all three", func() bool { return c.committed("test-job", 1)[0] == 3 })
	if s := r.job.Stats(); s.GatewayErrors != 5 || s.Abandoned != 1 || s.DeliveredRoom != 2 {
		t.Fatalf("stats %+v (want 2 flaky + 3 broken errors, 1 abandoned)", s)
	}
}

func TestRunFailsWhenRegistryUnreadableAtStart(t *testing.T) {
	c := newCluster(t, 1)
	c.reg.fail = errors.New("redis: connection refused")
	j, err := New(c.config(), c.reg, c.dial)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = j.Run(ctx)
	if err == nil || !errors.Is(err, c.reg.fail) {
		t.Fatalf("Run: %v, want the registry error", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	reg := &fakeRegistry{}
	dial := func(string, string) (Gateway, error) { return nil, nil }
	if _, err := New(Config{}, reg, dial); err == nil {
		t.Fatal("no brokers accepted")
	}
	if _, err := New(Config{Brokers: []string{"x:1"}}, nil, dial); err == nil {
		t.Fatal("nil registry accepted")
	}
	if _, err := New(Config{Brokers: []string{"x:1"}, StartOffset: 5}, reg, dial); err == nil {
		t.Fatal("StartOffset 5 accepted")
	}
	j, err := New(Config{Brokers: []string{"x:1"}}, reg, dial)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := j.Config(); cfg.Topic != kafkabus.DefaultTopic || cfg.GroupID != DefaultGroupID || cfg.StartOffset != kafka.LastOffset ||
		cfg.MaxWait != DefaultMaxWait || cfg.DedupeSize != DefaultDedupeSize || cfg.Lanes != DefaultLanes ||
		cfg.Breaker != (Breaker{Failures: DefaultBreakerFailures, Open: DefaultBreakerOpen}) {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

// TestBackpressureAndLag: with MaxInFlight 4 and a gateway stuck on the
// first push, job fetches 4 messages and no more, and reports the rest as lag.
func TestBackpressureAndLag(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	g := c.gws["gw-a"]
	release := make(chan struct{})
	g.setHook(func(ctx context.Context, cl call) error {
		if cl.seq == 1 {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	cfg := c.config()
	cfg.MaxInFlight = 4
	r := c.start(cfg)
	for seq := int64(1); seq <= 50; seq++ {
		c.pushRoom("live://9", seq, fmt.Sprint(seq))
	}
	waitFor(t, 15*time.Second, "the window to fill", func() bool { return r.job.Stats().Consumed == 4 })
	time.Sleep(200 * time.Millisecond)
	s := r.job.Stats()
	if s.Consumed != 4 || s.InFlight != 4 {
		t.Fatalf("with the window full: %+v, want 4 consumed and in flight", s)
	}
	if s.Lag != 46 {
		t.Fatalf("lag %d, want 46 (50 written, 4 fetched)", s.Lag)
	}
	close(release)
	waitFor(t, 10*time.Second, "all 50 delivered", func() bool { return g.count(kafkabus.KindRoom) == 50 })
	waitFor(t, 5*time.Second, "lag and in-flight back to 0", func() bool {
		s := r.job.Stats()
		return s.Lag == 0 && s.InFlight == 0
	})
	for i, cl := range g.snapshot() {
		if cl.seq != int64(i+1) {
			t.Fatalf("push %d arrived as seq %d", i+1, cl.seq)
		}
	}
}

// TestGatewayJoinsLater: a gateway that registers while job runs is dialed at
// the next refresh and gets the room pushes written after that; one that
// cannot be dialed is counted and retried at every refresh.
func TestGatewayJoinsLater(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	c.gws["gw-b"] = &fakeGateway{name: "gw-b"}
	r := c.start(c.config())
	c.pushRoom("live://1", 1, "1")
	waitFor(t, 15*time.Second, "gw-a to get push 1", func() bool { return c.gws["gw-a"].count(kafkabus.KindRoom) == 1 })

	c.reg.mu.Lock()
	c.reg.live["gw-b"] = "wrong-addr" // dial fails
	c.reg.mu.Unlock()
	waitFor(t, 5*time.Second, "a failed dial", func() bool { return r.job.Stats().DialErrors >= 1 })
	c.reg.mu.Lock()
	c.reg.live["gw-b"] = "addr-of-gw-b"
	c.reg.mu.Unlock()
	waitFor(t, 5*time.Second, "gw-b to join", func() bool { return r.job.Stats().Gateways == 2 })
	c.pushRoom("live://1", 2, "2")
	waitFor(t, 5*time.Second, "gw-b to get push 2", func() bool { return c.gws["gw-b"].count(kafkabus.KindRoom) == 1 })
	if calls := c.gws["gw-b"].snapshot(); calls[0].seq != 2 {
		t.Fatalf("gw-b got %+v", calls)
	}
}

// A key push for a gateway that registered after the last periodic refresh is
// not dropped: job reads the registry again before giving it up.
func TestKeyPushToNewlyRegisteredGateway(t *testing.T) {
	c := newCluster(t, 1, "gw-a")
	cfg := c.config()
	cfg.RefreshInterval = time.Hour // only the on-demand refresh can find gw-b
	r := c.start(cfg)
	c.pushRoom("live://1", 1, "warm")
	waitFor(t, 15*time.Second, "job running", func() bool { return c.gws["gw-a"].count(kafkabus.KindRoom) == 1 })
	c.gws["gw-b"] = &fakeGateway{name: "gw-b"}
	c.reg.mu.Lock()
	c.reg.live["gw-b"] = "addr-of-gw-b"
	c.reg.mu.Unlock()
	if err := c.prod.PushKeys(context.Background(), "gw-b", 1000, []string{"k"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "gw-b to get the key push", func() bool { return c.gws["gw-b"].count(kafkabus.KindKeys) == 1 })
	if n := r.job.Stats().KeysNoGateway; n != 0 {
		t.Fatalf("KeysNoGateway = %d", n)
	}
}
