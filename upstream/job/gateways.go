package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// gw is one live gateway: its connection, its lanes and its breaker. A lane
// is a goroutine calling the gateway one message at a time from its queue.
// The lanes belong to the gateway's name, not to its address: when the
// registry gives the name another address, only the connection is replaced
// (moveTo), and what the lanes hold goes to the new address.
type gw struct {
	name   string
	cur    atomic.Pointer[gwConn] // the connection new calls use
	lanes  []chan *inflight
	brk    *breaker
	gone   chan struct{} // closed when the gateway left the registry
	exited sync.WaitGroup
}

// gwConn is one connection to a gateway at one address. It counts the calls
// using it, so that a connection replaced by a newer one (the gateway moved)
// is closed when its last call returns, not under a call.
type gwConn struct {
	addr    string
	conn    Gateway
	refs    atomic.Int32
	retired atomic.Bool
	once    sync.Once
}

// acquire returns the current connection, counted as in use until release.
func (g *gw) acquire() *gwConn {
	for {
		c := g.cur.Load()
		c.refs.Add(1)
		if !c.retired.Load() || g.cur.Load() == c {
			// Retired and still current only when the gateway is closed for
			// good, after its lanes exited; a stray call then fails on the
			// closed connection instead of spinning here.
			return c
		}
		// Replaced between the Load and the Add: give it back (closing it if
		// this was its last user) and take the new one.
		c.release(g.name, nil)
	}
}

// release ends one use; the last use of a retired connection closes it.
func (c *gwConn) release(name string, log warner) {
	if c.refs.Add(-1) == 0 && c.retired.Load() {
		c.close(name, log)
	}
}

// retire marks c replaced (or its gateway gone) and closes it when no call
// uses it. acquire adds its reference before checking retired, and retire
// sets retired before checking the references, so one of them sees the
// other and c is never used after it is closed.
func (c *gwConn) retire(name string, log warner) {
	c.retired.Store(true)
	if c.refs.Load() == 0 {
		c.close(name, log)
	}
}

func (c *gwConn) close(name string, log warner) {
	c.once.Do(func() {
		cl, ok := c.conn.(io.Closer)
		if !ok {
			return
		}
		if err := cl.Close(); err != nil && !errors.Is(err, io.EOF) && log != nil {
			log.Warn("job: close gateway connection", "gateway", name, "addr", c.addr, "error", err)
		}
	})
}

type warner interface{ Warn(string, ...any) }

// gwSet is an immutable snapshot of the live gateways, swapped whole under
// Job.mu; the fetch goroutine reads it once per message.
type gwSet struct {
	list   []*gw // sorted by name, so logs and tests are reproducible
	byName map[string]*gw
}

// startGateway creates the lanes of a freshly dialed gateway. The queues hold
// MaxInFlight each, so the fetch goroutine never blocks sending (the window
// admits no more messages than that) and never blocks while holding Job.mu.
func (j *Job) startGateway(ctx context.Context, name, addr string, conn Gateway) *gw {
	g := &gw{name: name, gone: make(chan struct{}), brk: newBreaker(j.cfg.Breaker.Failures, j.cfg.Breaker.Open)}
	g.cur.Store(&gwConn{addr: addr, conn: conn})
	g.lanes = make([]chan *inflight, j.cfg.Lanes)
	for i := range g.lanes {
		ch := make(chan *inflight, j.cfg.MaxInFlight)
		g.lanes[i] = ch
		g.exited.Add(1)
		j.lanes.Add(1)
		go func() {
			defer j.lanes.Done()
			defer g.exited.Done()
			j.runLane(ctx, g, ch)
		}()
	}
	return g
}

// moveTo points g at its new address: calls from now on use conn, the old
// connection is closed when its calls in progress return (one that fails is
// retried on conn), and the queued messages stay queued, in order, for the
// new address. The breaker starts closed: a new address is most likely a
// new process, so the old one's failures say nothing about it.
func (j *Job) moveTo(g *gw, addr string, conn Gateway) {
	old := g.cur.Swap(&gwConn{addr: addr, conn: conn})
	old.retire(g.name, j.log)
	g.brk.reset()
	j.log.Info("job: gateway moved; its queued pushes go to the new address", "gateway", g.name, "from", old.addr, "to", addr)
}

// refresh reads the registry and applies the difference: dials gateways that
// appeared (or moved to another address), retires the ones that left.
func (j *Job) refresh(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, max(j.cfg.RefreshInterval, time.Second))
	live, err := j.reg.Gateways(rctx)
	cancel()
	if err != nil {
		j.stats.registryErrors.Add(1)
		return fmt.Errorf("job: read gateway registry: %w", err)
	}
	j.mu.Lock()
	old := j.set
	j.mu.Unlock()

	var added []*gw
	for _, name := range slices.Sorted(maps.Keys(live)) {
		addr := live[name]
		g := old.byName[name]
		if g != nil && g.cur.Load().addr == addr {
			continue
		}
		conn, err := j.dial(name, addr)
		if err != nil {
			// A new gateway is not live for us until a later refresh dials
			// it: room pushes meanwhile skip it (its clients see a seq gap).
			// A moved one keeps its old connection until then.
			j.stats.dialErrors.Add(1)
			j.log.Error("job: dial gateway", "gateway", name, "addr", addr, "error", err)
			continue
		}
		if g != nil {
			j.moveTo(g, addr, conn)
			continue
		}
		added = append(added, j.startGateway(ctx, name, addr, conn))
		j.log.Info("job: gateway joined", "gateway", name, "addr", addr)
	}
	next := &gwSet{byName: make(map[string]*gw, len(live))}
	var removed []*gw
	for _, g := range old.list {
		if _, ok := live[g.name]; ok {
			next.byName[g.name] = g
		} else {
			removed = append(removed, g)
		}
	}
	for _, g := range added {
		next.byName[g.name] = g
	}
	next.list = slices.SortedFunc(maps.Values(next.byName), func(a, b *gw) int { return strings.Compare(a.name, b.name) })

	// Stop retrying against the leavers first, so their lanes drain fast.
	for _, g := range removed {
		close(g.gone)
	}
	j.mu.Lock()
	j.set = next
	// The fetch goroutine sends only under j.mu and now sees next, so nothing
	// more is sent to the leavers: their queues can be closed.
	for _, g := range removed {
		for _, ch := range g.lanes {
			close(ch)
		}
	}
	j.mu.Unlock()
	for _, g := range removed {
		j.log.Info("job: gateway left", "gateway", g.name, "addr", g.cur.Load().addr)
		j.lanes.Add(1) // Run waits for the close too
		go func() { defer j.lanes.Done(); j.retire(g) }()
	}
	return nil
}

// retire waits for a leaver's lanes (and probe) to hand back what they held,
// then closes its connection.
func (j *Job) retire(g *gw) {
	g.exited.Wait()
	closeGateway(g, j.log)
}

// closeGateway closes g's connection once no call uses it.
func closeGateway(g *gw, log warner) {
	g.cur.Load().retire(g.name, log)
}
