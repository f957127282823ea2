package job

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus"
	"github.com/barrage/barrage/upstream/kafkabus/kafkatest"
)

// call is one accepted gateway call.
type call struct {
	kind  kafkabus.Kind
	room  string
	seq   int64
	op    int32
	keys  string // joined with ","
	speed int32
	body  string
	at    time.Time
}

// fakeGateway records the calls it accepts. hook, when set, runs before a call
// is accepted: it may block (honouring ctx) or fail it.
type fakeGateway struct {
	name   string
	mu     sync.Mutex
	calls  []call
	hook   func(ctx context.Context, c call) error
	closed atomic.Int32
}

var _ io.Closer = (*fakeGateway)(nil)

func (g *fakeGateway) accept(ctx context.Context, c call) error {
	c.at = time.Now()
	g.mu.Lock()
	hook := g.hook
	g.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, c); err != nil {
			return err
		}
	}
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
	return nil
}

func (g *fakeGateway) PushKeys(ctx context.Context, op int32, keys []string, body []byte) error {
	return g.accept(ctx, call{kind: kafkabus.KindKeys, op: op, keys: strings.Join(keys, ","), body: string(body)})
}

func (g *fakeGateway) BroadcastRoom(ctx context.Context, room string, op int32, seq int64, body []byte) error {
	return g.accept(ctx, call{kind: kafkabus.KindRoom, room: room, op: op, seq: seq, body: string(body)})
}

func (g *fakeGateway) Broadcast(ctx context.Context, op int32, body []byte, speed int32) error {
	return g.accept(ctx, call{kind: kafkabus.KindAll, op: op, speed: speed, body: string(body)})
}

func (g *fakeGateway) Kick(ctx context.Context, keys []string, reason string) error {
	return g.accept(ctx, call{kind: kafkabus.KindKick, keys: strings.Join(keys, ","), body: reason})
}

func (g *fakeGateway) Close() error { g.closed.Add(1); return nil }

func (g *fakeGateway) setHook(h func(ctx context.Context, c call) error) {
	g.mu.Lock()
	g.hook = h
	g.mu.Unlock()
}

func (g *fakeGateway) snapshot() []call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]call(nil), g.calls...)
}

func (g *fakeGateway) count(kind kafkabus.Kind) int {
	n := 0
	for _, c := range g.snapshot() {
		if c.kind == kind {
			n++
		}
	}
	return n
}

// fakeRegistry is a mutable registry; fail makes Gateways return an error.
type fakeRegistry struct {
	mu   sync.Mutex
	live map[string]string
	fail error
}

func (r *fakeRegistry) Gateways(context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	return maps.Clone(r.live), nil
}

func (r *fakeRegistry) remove(name string) {
	r.mu.Lock()
	delete(r.live, name)
	r.mu.Unlock()
}

// cluster is one test's world: kfake, a producer, gateways, a registry.
type cluster struct {
	t     testing.TB
	kafka *kafkatest.Broker
	topic string
	prod  *kafkabus.Producer
	gws   map[string]*fakeGateway
	reg   *fakeRegistry
	dials atomic.Int32
	// at holds gateways reachable at other addresses than "addr-of-"+name
	// (a gateway that moved); guarded by reg.mu, see move.
	at map[string]*fakeGateway
}

func newCluster(t testing.TB, partitions int32, gateways ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, topic: "push", gws: map[string]*fakeGateway{}, reg: &fakeRegistry{live: map[string]string{}}}
	c.kafka = kafkatest.Start(t, c.topic, partitions)
	p, err := kafkabus.NewProducer(kafkabus.Config{Brokers: []string{c.kafka.Addr}, Topic: c.topic})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c.prod = p
	for _, name := range gateways {
		c.gws[name] = &fakeGateway{name: name}
		c.reg.live[name] = "addr-of-" + name
	}
	return c
}

func (c *cluster) dial(name, addr string) (Gateway, error) {
	c.dials.Add(1)
	c.reg.mu.Lock()
	moved := c.at[addr]
	c.reg.mu.Unlock()
	if moved != nil {
		return moved, nil
	}
	g := c.gws[name]
	if g == nil || addr != "addr-of-"+name {
		return nil, fmt.Errorf("no gateway %q at %q", name, addr)
	}
	return g, nil
}

// move registers name at addr, where g answers: the gateway process was
// replaced by one at another address.
func (c *cluster) move(name, addr string, g *fakeGateway) {
	c.reg.mu.Lock()
	defer c.reg.mu.Unlock()
	if c.at == nil {
		c.at = map[string]*fakeGateway{}
	}
	c.at[addr] = g
	c.reg.live[name] = addr
}

// config is the tests' job config: fast refresh and commits, start from the
// beginning of the topic (so pushes made before the group joined count).
func (c *cluster) config() Config {
	return Config{
		Brokers: []string{c.kafka.Addr}, Topic: c.topic, GroupID: "test-job",
		StartOffset:     kafka.FirstOffset,
		MaxWait:         time.Second,
		CommitInterval:  50 * time.Millisecond,
		RefreshInterval: 100 * time.Millisecond,
		Retry:           Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// running is a job started in the background.
type running struct {
	job     *Job
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
}

func (c *cluster) start(cfg Config) *running {
	c.t.Helper()
	j, err := New(cfg, c.reg, c.dial)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{job: j, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- j.Run(ctx) }()
	c.t.Cleanup(func() { r.stop(c.t) })
	return r
}

// stop cancels the job and waits for Run to return.
func (r *running) stop(t testing.TB) {
	r.stopped.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return within 20s of cancel")
		}
	})
}

func (c *cluster) pushRoom(room string, seq int64, body string) {
	c.t.Helper()
	if err := c.prod.BroadcastRoom(context.Background(), room, 1000, seq, []byte(body)); err != nil {
		c.t.Fatal(err)
	}
}

// committed returns the group's committed offset per partition (-1 = none).
func (c *cluster) committed(group string, partitions int) []int64 {
	c.t.Helper()
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	cl := &kafka.Client{Addr: kafka.TCP(c.kafka.Addr), Timeout: 5 * time.Second}
	resp, err := cl.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{c.topic: ps}})
	if err != nil {
		c.t.Fatal(err)
	}
	out := make([]int64, partitions)
	for _, p := range resp.Topics[c.topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
