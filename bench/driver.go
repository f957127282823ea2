package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Env is what the driver needs from the process that runs it.
type Env struct {
	// Exe is the barrage binary, run as `Exe run` (gateway) and `Exe bench-worker`.
	Exe string
	// Stderr receives the gateway's and the workers' logs. Default os.Stderr.
	Stderr io.Writer
	// Log is for progress notes. Default slog.Default().
	Log *slog.Logger
	// Command is the command line as typed, for the suite's report. Default
	// "barrage bench" and the arguments of this process.
	Command string
}

func (env *Env) withDefaults() {
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	if env.Log == nil {
		env.Log = slog.Default()
	}
	if env.Command == "" {
		env.Command = ShellJoin(os.Args)
	}
}

// resultTimeout bounds the wait for the workers' results after stop.
const resultTimeout = closeWait + 20*time.Second

// Run executes a scenario: phases (a) to (e) of the harness. It returns no
// report when the run could not be completed; a report with an error means
// the measurement completed but a spawned gateway did not stop cleanly
// (it crashed at the end, say), which is worth printing and flagging.
func Run(ctx context.Context, sc Scenario, env Env) (*Report, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	env.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t, err := startTarget(ctx, sc, env)
	if err != nil {
		return nil, err
	}
	d := &driver{sc: sc, env: env, ctx: ctx, events: make(chan workerEvent, 256),
		keyPrefix: fmt.Sprintf("bench-%x-", time.Now().UnixNano()&0xffffffff)}
	rep := &Report{Time: time.Now().UTC(), Scenario: sc, Workers: sc.Workers()}
	err = d.run(rep, t)
	cancel() // unblocks the stdout readers, so that workers can be reaped
	d.shutdownWorkers()
	stopErr := t.stop()
	if err != nil {
		return nil, errors.Join(err, stopErr) // a partial report would mislead
	}
	return rep, stopErr
}

type driver struct {
	sc        Scenario
	env       Env
	ctx       context.Context
	events    chan workerEvent
	workers   []*workerProc
	keyPrefix string // of per-user keys: unique per run, so stale routes of an earlier run never match
}

// run is phases (a)-(e) against a ready target.
func (d *driver) run(rep *Report, t *target) error {
	sc := d.sc
	procs := newProcTracker(t.gateways)
	// (a) Gateway RSS before any client.
	procs.before = procs.sample(d.ctx, false)
	if err := gatewayFailed(procs.before, t.gateways, "before the clients connected"); err != nil {
		return err
	}

	// (b) Workers connect their shares.
	start := time.Now()
	ips, err := d.spawnWorkers(t)
	rep.SourceIPs = ips
	if err != nil {
		return err
	}
	if err := d.awaitConnected(rep); err != nil {
		return err
	}
	rep.ConnectSeconds = time.Since(start).Seconds()
	d.env.Log.Info("bench: connected", "connected", rep.Connected, "failed", rep.ConnectFailed, "seconds", rep.ConnectSeconds)
	if rep.Connected == 0 {
		return fmt.Errorf("bench: no connection succeeded: %s", rep.ConnectError)
	}

	// (c) RSS after the connections settled.
	if err := sleepCtx(d.ctx, sc.Settle); err != nil {
		return err
	}
	procs.addWorkers(d.workers)
	procs.after = procs.sample(d.ctx, false)
	if err := gatewayFailed(procs.after, t.gateways, "while clients connected"); err != nil {
		return err
	}

	// (d) The phase: push (or hold, for idle-hold), CPU, writes and GC around it.
	if sc.Idle && sc.Duration == 0 {
		// A bare memory reading, as the first harness's -idle did.
	} else if err := d.phase(rep, t, procs); err != nil {
		return err
	}

	// (e) Stop the workers and merge what they saw.
	tally, err := d.collect(rep)
	if err != nil {
		return err
	}
	rep.Processes = procs.reports(rep.PhaseSeconds)
	rep.finishReport(tally)
	return nil
}

// gatewayFailed turns a failed gateway reading into the run's error: the
// gateway most likely died.
func gatewayFailed(samples []procSample, gws []procRef, when string) error {
	for i := range gws {
		if i < len(samples) && samples[i].err != nil {
			return fmt.Errorf("%w (did %s die %s?)", samples[i].err, gws[i].role, when)
		}
	}
	return nil
}

// phase runs the push phase (or the idle hold) and takes the process
// readings around it.
func (d *driver) phase(rep *Report, t *target, procs *procTracker) error {
	sc := d.sc
	procs.start = procs.sample(d.ctx, true)
	phaseStart := time.Now()
	if err := d.broadcast(command{Cmd: cmdStart, StartUnixNano: phaseStart.UnixNano()}); err != nil {
		return err
	}
	var err error
	if sc.Idle {
		err = d.hold(phaseStart.Add(sc.Duration))
	} else {
		err = d.push(rep, t)
	}
	if err != nil {
		return err
	}
	rep.PhaseSeconds = time.Since(phaseStart).Seconds()
	procs.end = procs.sample(d.ctx, true)
	return gatewayFailed(procs.end, t.gateways, "during the phase")
}

// hold handles worker events until the end of the idle hold.
func (d *driver) hold(until time.Time) error {
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case ev := <-d.events:
			if err := d.handle(ev); err != nil {
				return err
			}
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
}

// push runs the pusher, then waits until every expected delivery arrived or
// the drain timeout passed.
func (d *driver) push(rep *Report, t *target) error {
	sc := d.sc
	p := newPusher(t.http, sc, d.keyPrefix)
	pushDone := make(chan pushResult, 1)
	maxWall := 2*sc.Duration + 10*time.Second
	go func() { pushDone <- p.run(d.ctx, sc.Rate, sc.Messages(), maxWall) }()

	var drainTimer <-chan time.Time
	pushing := true
	for pushing || !d.drained() {
		select {
		case res := <-pushDone:
			rep.Sent, rep.PushErrors, rep.PushError = res.sent, res.errors, res.firstErr
			rep.PushSeconds = res.elapsed.Seconds()
			d.env.Log.Info("bench: pushed", "sent", res.sent, "errors", res.errors, "seconds", rep.PushSeconds)
			if err := d.broadcast(command{Cmd: cmdSent, Sent: res.sent}); err != nil {
				return err
			}
			drainTimer = time.After(sc.DrainTimeout)
			pushing = false
		case <-drainTimer:
			return nil
		case ev := <-d.events:
			if err := d.handle(ev); err != nil {
				return err
			}
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
	rep.Drained = true
	return nil
}

// collect sends stop, merges the workers' results into rep and returns the
// summed tally.
func (d *driver) collect(rep *Report) (Tally, error) {
	var tally Tally
	if err := d.broadcast(command{Cmd: cmdStop, Sent: rep.Sent}); err != nil {
		return tally, err
	}
	deadline := time.After(resultTimeout)
	for d.pending(func(w *workerProc) bool { return w.result == nil }) > 0 {
		select {
		case ev := <-d.events:
			if err := d.handle(ev); err != nil {
				return tally, err
			}
		case <-deadline:
			return tally, fmt.Errorf("bench: %d workers sent no result within %s of stop",
				d.pending(func(w *workerProc) bool { return w.result == nil }), resultTimeout)
		case <-d.ctx.Done():
			return tally, d.ctx.Err()
		}
	}
	var all, tcp, ws, rtt, churnLat []*hdrhistogram.Snapshot
	var hbSeries []int64
	for _, w := range d.workers {
		res := w.result
		tally.Add(res.Tally)
		rep.Dropped += res.Dropped
		if rep.FirstDrop == "" && res.FirstDrop != "" {
			rep.FirstDrop = fmt.Sprintf("worker %d: %s", w.idx, res.FirstDrop)
		}
		all, tcp, ws = append(all, res.Latency), append(tcp, res.LatencyTCP), append(ws, res.LatencyWS)
		rep.DeliveredSeries = addSeries(rep.DeliveredSeries, res.Delivered)
		hbSeries = addSeries(hbSeries, res.HeartbeatReplies)
		if hb := res.Heartbeats; hb != nil {
			if rep.Heartbeats == nil {
				rep.Heartbeats = &HeartbeatReport{}
			}
			h := rep.Heartbeats
			h.Sent, h.Replied, h.Failed, h.Late = h.Sent+hb.Sent, h.Replied+hb.Replied, h.Failed+hb.Failed, h.Late+hb.Late
			h.InFlight += hb.InFlight
			if h.FirstError == "" {
				h.FirstError = hb.FirstError
			}
			rtt = append(rtt, hb.RTT)
		}
		if c := res.Churn; c != nil {
			if rep.Churn == nil {
				rep.Churn = &ChurnReport{Churners: d.sc.ChurnConns}
			}
			r := rep.Churn
			r.Reconnects, r.Failed, r.Skipped, r.Received = r.Reconnects+c.Reconnects, r.Failed+c.Failed, r.Skipped+c.Skipped, r.Received+c.Received
			if r.FirstError == "" {
				r.FirstError = c.FirstError
			}
			churnLat = append(churnLat, c.ConnectLatency)
		}
	}
	hist, err := MergeSnapshots(all)
	if err != nil {
		return tally, err
	}
	rep.hist, rep.Latency = hist, summarize(hist)
	if d.sc.Transport == "mixed" {
		if rep.LatencyTCP, err = mergedLatency(tcp); err != nil {
			return tally, err
		}
		if rep.LatencyWS, err = mergedLatency(ws); err != nil {
			return tally, err
		}
	}
	if rep.Heartbeats != nil {
		rep.Heartbeats.Series = hbSeries
		h, err := MergeSnapshots(rtt)
		if err != nil {
			return tally, err
		}
		rep.hbHist, rep.Heartbeats.RTT = h, summarize(h)
	}
	if rep.Churn != nil {
		l, err := mergedLatency(churnLat)
		if err != nil {
			return tally, err
		}
		rep.Churn.ConnectLatency = *l
	}
	return tally, nil
}

func mergedLatency(snaps []*hdrhistogram.Snapshot) (*Latency, error) {
	h, err := MergeSnapshots(snaps)
	if err != nil {
		return nil, err
	}
	l := summarize(h)
	return &l, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
