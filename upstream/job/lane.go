package job

import (
	"context"
	"fmt"
	"time"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// runLane delivers the lane's messages in order until the queue is closed
// (the gateway left and everything queued was handled) or ctx ends (job is
// stopping: what is queued stays unfinished, so it is not committed and is
// redelivered to the next consumer).
func (j *Job) runLane(ctx context.Context, g *gw, ch chan *inflight) {
	// probeDone is closed when the probe this lane sent out has finished
	// (nil: none out). A probe runs on its own goroutine so that a gateway
	// that answers no packets holds one message for one call, not the whole
	// lane behind it; the lane keeps dropping the next messages meanwhile
	// (the breaker is not closed), and waits for its probe before making a
	// normal call, so one room's pushes still reach the gateway in order.
	var probeDone chan struct{}
	for {
		var in *inflight
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			in = m
		}
		if isClosed(g.gone) {
			// Left the registry: its connections are gone with it, so the
			// message counts as delivered for it.
			j.stats.droppedDead.Add(1)
			j.finishFor(in)
			continue
		}
		switch v, gen := g.brk.admit(time.Now()); v {
		case verdictDrop:
			j.breakerDrop(g, in, nil)
			j.finishFor(in)
		case verdictProbe:
			done := make(chan struct{})
			probeDone = done
			// Both counters are above zero here (this lane holds one of
			// each), so adding to them while Run or retire waits is allowed.
			g.exited.Add(1)
			j.lanes.Add(1)
			go func() {
				defer j.lanes.Done()
				defer g.exited.Done()
				defer close(done)
				if j.probe(ctx, g, in, gen) {
					j.finishFor(in)
				}
			}()
		case verdictCall:
			if probeDone != nil {
				select {
				case <-probeDone:
					probeDone = nil
				case <-ctx.Done():
					return
				}
			}
			if !j.deliver(ctx, g, in) {
				return
			}
			j.finishFor(in)
		}
	}
}

// finishFor records that one gateway is done with in; the last one finishes
// it.
func (j *Job) finishFor(in *inflight) {
	if in.pending.Add(-1) == 0 {
		j.finish(in)
	}
}

// deliver hands one message to one gateway, retrying per Config.Retry. It
// returns false only when ctx ended before the gateway accepted: the message
// must then stay unfinished. Every other outcome (accepted, gateway gone,
// given up, breaker opened) finishes the message for this gateway.
func (j *Job) deliver(ctx context.Context, g *gw, in *inflight) bool {
	backoff := j.cfg.Retry.Backoff
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if isClosed(g.gone) {
				j.stats.droppedDead.Add(1)
				return true
			}
			if !g.brk.closed() {
				// Marked down while this message was retrying (by the other
				// lanes' failures): stop holding the message.
				j.breakerDrop(g, in, nil)
				return true
			}
		}
		err := j.call(ctx, g, in)
		if err == nil {
			j.stats.delivered[in.msg.Kind].Add(1)
			g.brk.accepted()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		j.stats.gatewayErrors.Add(1)
		if attempt >= j.cfg.Retry.Attempts {
			j.stats.abandoned.Add(1)
			if j.logAbandon.allow() {
				j.log.Error("job: gave up a push for one gateway; its clients miss it (one line per second at most, see Stats.Abandoned)",
					"gateway", g.name, "kind", in.msg.Kind, "id", in.msg.ID.String(), "room", in.msg.Room,
					"seq", in.msg.Seq, "attempts", attempt, "error", err)
			}
			if g.brk.gaveUp(time.Now()) {
				j.log.Error("job: gateway marked down: its pushes are dropped without a call until a probe call succeeds (see Stats.BreakerDropped)",
					"gateway", g.name, "given_up_in_a_row", j.cfg.Breaker.Failures, "probe_after", j.cfg.Breaker.Open, "error", err)
			}
			return true
		}
		if j.logRetry.allow() {
			j.log.Warn("job: gateway call failed, retrying (one line per second at most, see Stats.GatewayErrors)",
				"gateway", g.name, "kind", in.msg.Kind, "attempt", attempt, "backoff", backoff, "error", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-g.gone:
			t.Stop()
		case <-t.C:
		}
		backoff = min(backoff*2, j.cfg.Retry.MaxBackoff)
	}
}

// probe sends in as the half-open breaker's single probe call and reports
// the outcome to the breaker. Like deliver, false means ctx ended and the
// message stays unfinished.
func (j *Job) probe(ctx context.Context, g *gw, in *inflight, gen uint64) bool {
	err := j.call(ctx, g, in)
	if err != nil && ctx.Err() != nil {
		return false
	}
	now := time.Now()
	if err == nil {
		j.stats.delivered[in.msg.Kind].Add(1)
		if g.brk.probed(gen, true, now) {
			j.log.Info("job: gateway back up: its probe call was accepted", "gateway", g.name)
		}
		return true
	}
	j.stats.gatewayErrors.Add(1)
	g.brk.probed(gen, false, now)
	j.breakerDrop(g, in, err)
	return true
}

// breakerDrop counts and logs (once a second at most) a message dropped for
// a gateway whose breaker is open; err is the failed probe's error, if any.
func (j *Job) breakerDrop(g *gw, in *inflight, err error) {
	n := j.stats.breakerDropped.Add(1)
	if !j.logBreaker.allow() {
		return
	}
	args := []any{"gateway", g.name, "kind", in.msg.Kind, "room", in.msg.Room, "seq", in.msg.Seq, "dropped_total", n}
	if err != nil {
		args = append(args, "probe_error", err)
	}
	j.log.Warn("job: dropped a push for a gateway marked down; its clients miss it (one line per second at most, see Stats.BreakerDropped)", args...)
}

// call makes one gateway call bounded by CallTimeout, on the gateway's
// current connection.
func (j *Job) call(ctx context.Context, g *gw, in *inflight) error {
	ctx, cancel := context.WithTimeout(ctx, j.cfg.CallTimeout)
	defer cancel()
	c := g.acquire()
	defer c.release(g.name, j.log)
	m := &in.msg
	switch m.Kind {
	case kafkabus.KindRoom:
		return c.conn.BroadcastRoom(ctx, m.Room, m.Op, m.Seq, m.Body)
	case kafkabus.KindKeys:
		return c.conn.PushKeys(ctx, m.Op, m.Keys, m.Body)
	case kafkabus.KindAll:
		return c.conn.Broadcast(ctx, m.Op, m.Body, m.Speed)
	case kafkabus.KindKick:
		return c.conn.Kick(ctx, m.Keys, string(m.Body))
	}
	return fmt.Errorf("job: message kind %s has no gateway call", m.Kind)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
