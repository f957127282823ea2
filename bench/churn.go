package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
)

// Churn: besides its steady members, a worker holds Churners connections that
// it closes and dials again, one every 1/ChurnRate seconds round-robin, while
// the room receives pushes. Churners join the same room, so the gateway pays
// for every join and leave on the hot path of that room, but they are not
// accounted: what churn must not do is make a steady member lose a push.
// Each reconnect gets one attempt, so a failed dial or auth shows up as such.

// churnCloseWait bounds the wait for a closed churner's reader before the
// slot dials again.
const churnCloseWait = 5 * time.Second

// churnStats is one worker's churn outcome.
type churnStats struct {
	// Connected counts churners that held a connection when the run stopped.
	Connected int `json:"connected"`
	// Reconnects counts churners closed and connected again.
	Reconnects int64 `json:"reconnects"`
	// Failed counts reconnects whose dial or auth failed.
	Failed     int64  `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// Skipped counts churn events dropped because that churner was still
	// reconnecting from its previous turn.
	Skipped int64 `json:"skipped"`
	// Received counts pushes the churners got (not accounted).
	Received int64 `json:"received"`
	// ConnectLatency is the dial+auth time of each reconnect, in microseconds.
	ConnectLatency *hdrhistogram.Snapshot `json:"connect_latency"`
}

type churnSlot struct {
	idx  int
	mid  int64
	busy atomic.Bool // a reconnect is in flight

	mu sync.Mutex
	c  *client.Conn
}

type churner struct {
	w     *worker
	slots []*churnSlot
	lat   *shardedHistogram
	wg    sync.WaitGroup

	reconnects, failed, skipped, received atomic.Int64

	mu       sync.Mutex
	firstErr string
}

func newChurner(w *worker) *churner {
	c := &churner{w: w, lat: newShardedHistogram(), slots: make([]*churnSlot, w.spec.Churners)}
	for i := range c.slots {
		c.slots[i] = &churnSlot{idx: i, mid: w.spec.ChurnMidBase + int64(i)}
	}
	return c
}

func (c *churner) options(s *churnSlot) client.Options {
	ws := usesWS(c.w.spec.Transport, c.w.spec.WSFraction, s.idx)
	o := c.w.clientOptions(ws, s.idx, s.mid)
	o.OnPush = func(p codec.Packet) {
		if p.Op == PushOp {
			c.received.Add(1)
		}
	}
	return o
}

// connect dials churner j for the connect phase, with retries.
func (c *churner) connect(ctx context.Context, j int) (retries int, retryErr, err error) {
	s := c.slots[j]
	nc, retries, retryErr, err := dialRetrying(ctx, c.options(s), dialAttempts)
	if err == nil {
		s.mu.Lock()
		s.c = nc
		s.mu.Unlock()
	}
	return retries, retryErr, err
}

// run paces churn events at the worker's ChurnRate until ctx ends.
func (c *churner) run(ctx context.Context) {
	rate := c.w.spec.ChurnRate
	if rate <= 0 || len(c.slots) == 0 {
		return
	}
	start := time.Now()
	for k := int64(0); ; k++ {
		due := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		s := c.slots[k%int64(len(c.slots))]
		if !s.busy.CompareAndSwap(false, true) {
			c.skipped.Add(1)
			continue
		}
		c.wg.Go(func() {
			defer s.busy.Store(false)
			c.reconnect(ctx, s)
		})
	}
}

// reconnect closes the slot's connection, waits for it to end and dials again.
func (c *churner) reconnect(ctx context.Context, s *churnSlot) {
	s.mu.Lock()
	old := s.c
	s.c = nil
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
		select {
		case <-old.Done():
		case <-time.After(churnCloseWait):
		}
	}
	t0 := time.Now()
	nc, err := client.Dial(ctx, c.options(s))
	if err != nil {
		if ctx.Err() != nil || c.w.stopping.Load() {
			return // the run ended under it
		}
		c.failed.Add(1)
		c.mu.Lock()
		if c.firstErr == "" {
			c.firstErr = err.Error()
		}
		c.mu.Unlock()
		return
	}
	c.lat.record(s.idx, time.Since(t0).Microseconds())
	c.reconnects.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.w.stopping.Load() {
		_ = nc.Close() // closeAll already ran over this slot
		return
	}
	s.c = nc
}

func (c *churner) closeAll() {
	for _, s := range c.slots {
		s.mu.Lock()
		if s.c != nil {
			_ = s.c.Close()
		}
		s.mu.Unlock()
	}
}

// finish waits for reconnects in flight (the phase context is cancelled by
// then, which cuts their dials short) and returns the counts.
func (c *churner) finish() *churnStats {
	c.wg.Wait()
	st := &churnStats{Reconnects: c.reconnects.Load(), Failed: c.failed.Load(), Skipped: c.skipped.Load(),
		Received: c.received.Load(), ConnectLatency: c.lat.merged().Export()}
	for _, s := range c.slots {
		s.mu.Lock()
		if s.c != nil {
			st.Connected++
		}
		s.mu.Unlock()
	}
	c.mu.Lock()
	st.FirstError = c.firstErr
	c.mu.Unlock()
	return st
}
