package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The worker sends heartbeats itself instead of using the client's timer
// heartbeat, because the timer consumes the replies silently and the
// idle-hold scenario measures them: how many beats got a reply, and how long
// the reply took. Beats are spread evenly over the period (conn k beats at
// about k*period/N, then every period), so the gateway sees a steady rate of
// N/period per second instead of bursts.

// hbTick is how often the heartbeater wakes to send the beats that fell due.
const hbTick = 10 * time.Millisecond

// hbTimeout bounds the wait for one reply; a slower reply counts as failed.
const hbTimeout = 10 * time.Second

// heartbeatStats is one worker's heartbeat outcome.
type heartbeatStats struct {
	Sent    int64 `json:"sent"`
	Replied int64 `json:"replied"`
	Failed  int64 `json:"failed"` // no reply within hbTimeout, or the connection failed
	// Late counts beats not sent because the connection's previous one was
	// still waiting for its reply.
	Late int64 `json:"late"`
	// InFlight counts beats still waiting for their reply when the run
	// stopped: neither replied nor failed.
	InFlight   int64                  `json:"in_flight"`
	FirstError string                 `json:"first_error,omitempty"`
	RTT        *hdrhistogram.Snapshot `json:"rtt"` // microseconds
}

type heartbeater struct {
	w                                     *worker
	sent, replied, failed, late, inFlight atomic.Int64
	rtt                                   *shardedHistogram
	inflight                              sync.WaitGroup

	mu       sync.Mutex
	firstErr string
}

func newHeartbeater(w *worker) *heartbeater {
	return &heartbeater{w: w, rtt: newShardedHistogram()}
}

// run sends the beats that fall due until ctx ends.
func (h *heartbeater) run(ctx context.Context) {
	var conns []*benchConn
	for _, bc := range h.w.conns {
		if bc != nil && bc.c != nil {
			conns = append(conns, bc)
		}
	}
	if len(conns) == 0 {
		return
	}
	// The beats due are worked out from the time elapsed, not counted per
	// tick: a loaded box delays and drops ticker ticks, and the rate must
	// not sag with them.
	n := int64(len(conns))
	period := h.w.spec.Heartbeat
	start := time.Now()
	t := time.NewTicker(hbTick)
	defer t.Stop()
	var beats int64
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		due := int64(float64(time.Since(start)) / float64(period) * float64(n))
		for ; beats < due; beats++ {
			h.beat(conns[beats%n])
		}
	}
}

// beat sends one heartbeat on bc unless its previous one is still out.
func (h *heartbeater) beat(bc *benchConn) {
	if !bc.hbBusy.CompareAndSwap(false, true) {
		h.late.Add(1)
		return
	}
	h.sent.Add(1)
	h.inflight.Go(func() {
		defer bc.hbBusy.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), hbTimeout)
		defer cancel()
		t0 := time.Now()
		_, err := bc.c.Heartbeat(ctx)
		if h.w.stopping.Load() {
			h.inFlight.Add(1) // closed under it at stop: neither a reply nor a failure
			return
		}
		if err != nil {
			h.failed.Add(1)
			h.mu.Lock()
			if h.firstErr == "" {
				h.firstErr = err.Error()
			}
			h.mu.Unlock()
			return
		}
		h.rtt.record(bc.idx, time.Since(t0).Microseconds())
		h.replied.Add(1)
	})
}

// finish waits for the beats in flight (the connections are closed by then,
// so they end at once) and returns the counts.
func (h *heartbeater) finish() *heartbeatStats {
	h.inflight.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return &heartbeatStats{Sent: h.sent.Load(), Replied: h.replied.Load(), Failed: h.failed.Load(), Late: h.late.Load(),
		InFlight: h.inFlight.Load(), FirstError: h.firstErr, RTT: h.rtt.merged().Export()}
}
