package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// PushOp is the operation of the benchmark's pushes.
const PushOp int32 = 1000

// closeWait bounds the wait for closed connections' reader goroutines at stop.
const closeWait = 10 * time.Second

// RunWorker is `barrage bench-worker`: it reads commands from in and writes
// reports to out (see protocol.go) until the driver says stop or closes in.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	lw := newLineWriter(out)
	err := runWorker(ctx, in, lw, log)
	if err != nil {
		_ = lw.send(workerMsg{Type: msgError, Error: err.Error()})
	}
	return err
}

func runWorker(ctx context.Context, in io.Reader, lw *lineWriter, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmds := make(chan command)
	cmdErr := make(chan error, 1)
	go readCommands(in, cmds, cmdErr)

	var spec WorkerSpec
	select {
	case c, ok := <-cmds:
		if !ok {
			return fmt.Errorf("bench-worker: no spec: %w", <-cmdErr)
		}
		if c.Cmd != cmdSpec || c.Spec == nil {
			return fmt.Errorf("bench-worker: first command is %q, want %q with a spec", c.Cmd, cmdSpec)
		}
		spec = *c.Spec
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := checkSpec(spec); err != nil {
		return err
	}
	// Churners close before they redial, but a close and the next dial can
	// overlap by up to the dial concurrency.
	if err := ensureFileLimit(spec.Conns + spec.Churners + spec.DialConcurrency + 64); err != nil {
		return err
	}
	w := newWorker(spec, lw)
	defer w.closeAll()

	// Stdin closing during the connect phase means the driver is gone: stop
	// dialing. (The command loop below then sees cmds closed.)
	dialCtx, dialCancel := context.WithCancel(ctx)
	defer dialCancel()
	go func() {
		select {
		case <-cmdErr:
			dialCancel()
		case <-dialCtx.Done():
		}
	}()
	cs := w.connectAll(dialCtx)
	dialCancel()
	log.Debug("bench-worker connected", "index", spec.Index, "connected", cs.connected, "failed", cs.failed, "retries", cs.retries)
	if err := lw.send(workerMsg{Type: msgConnected, Connected: cs.connected, Failed: cs.failed, Retries: cs.retries,
		FirstError: cs.firstErr, RetryError: cs.retryErr}); err != nil {
		return fmt.Errorf("bench-worker: report to driver: %w", err)
	}

	var phase *phaseRun
	defer func() {
		if phase != nil {
			phase.stop()
		}
	}()
	for {
		select {
		case c, ok := <-cmds:
			if !ok {
				return errors.New("bench-worker: driver closed stdin before stop")
			}
			switch c.Cmd {
			case cmdStart:
				if phase == nil {
					phase = w.startPhase(ctx, c.StartUnixNano)
				}
			case cmdSent:
				w.setExpected(c.Sent)
				if err := w.sendProgress(); err != nil {
					return err
				}
			case cmdStop:
				if phase != nil {
					phase.stop()
					phase = nil
				}
				res := w.finish(c.Sent)
				return lw.send(workerMsg{Type: msgResult, Result: res})
			default:
				return fmt.Errorf("bench-worker: unknown command %q", c.Cmd)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkSpec rejects a spec the worker cannot run.
func checkSpec(s WorkerSpec) error {
	needTCP, needWS := transportsUsed(s.Transport, s.WSFraction)
	if (needTCP && len(s.TCPAddrs) == 0) || (needWS && len(s.WSAddrs) == 0) {
		return fmt.Errorf("bench-worker: transport %q but tcp addrs %v, ws addrs %v", s.Transport, s.TCPAddrs, s.WSAddrs)
	}
	if s.Conns < 0 || s.Churners < 0 {
		return fmt.Errorf("bench-worker: %d conns and %d churners", s.Conns, s.Churners)
	}
	return nil
}

// readCommands forwards stdin lines until EOF; cmdErr then says why it ended.
func readCommands(in io.Reader, cmds chan<- command, cmdErr chan<- error) {
	defer close(cmds)
	s := newLineScanner(in)
	for s.Scan() {
		var c command
		if err := decodeLine(s.Bytes(), &c); err != nil {
			cmdErr <- err
			return
		}
		cmds <- c
	}
	err := s.Err()
	if err == nil {
		err = io.EOF
	}
	cmdErr <- err
}

type worker struct {
	spec   WorkerSpec
	lw     *lineWriter
	hist   *shardedHistogram // push latencies (mixed: of the TCP connections)
	histWS *shardedHistogram // mixed transport only: of the WebSocket connections
	conns  []*benchConn      // steady connections; set during connectAll, then fixed
	churn  *churner          // nil without churners
	hb     *heartbeater      // nil without heartbeats
	series *secondSeries

	received atomic.Int64
	unique   atomic.Int64
	dropped  atomic.Int32
	stopping atomic.Bool

	expected    atomic.Int64
	hasExpected atomic.Bool

	mu        sync.Mutex
	firstDrop string
	lastProg  workerMsg // last progress sent, under mu
}

func newWorker(spec WorkerSpec, lw *lineWriter) *worker {
	w := &worker{spec: spec, lw: lw, hist: newShardedHistogram(), conns: make([]*benchConn, spec.Conns),
		series: &secondSeries{}}
	if spec.Transport == "mixed" {
		w.histWS = newShardedHistogram()
	}
	if spec.Churners > 0 {
		w.churn = newChurner(w)
	}
	if spec.Heartbeat > 0 {
		w.hb = newHeartbeater(w)
	}
	return w
}

// phaseRun is what runs between start and stop: progress reports, per-second
// counting, heartbeats and churn.
type phaseRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (w *worker) startPhase(ctx context.Context, startNano int64) *phaseRun {
	if startNano == 0 {
		startNano = time.Now().UnixNano()
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &phaseRun{cancel: cancel}
	w.series.start(startNano)
	p.wg.Go(func() { w.reportProgress(ctx) })
	p.wg.Go(func() { w.series.run(ctx, &w.received, w.hbReplies()) })
	if w.hb != nil {
		p.wg.Go(func() { w.hb.run(ctx) })
	}
	if w.churn != nil {
		p.wg.Go(func() { w.churn.run(ctx) })
	}
	return p
}

// stop ends the phase's goroutines and waits for them (not for the
// heartbeats and reconnects they started: finish does).
func (p *phaseRun) stop() {
	p.cancel()
	p.wg.Wait()
}

func (w *worker) hbReplies() *atomic.Int64 {
	if w.hb == nil {
		return nil
	}
	return &w.hb.replied
}

// setExpected works out, once the driver said how many pushes went out, how
// many deliveries this worker's connected steady members must see.
func (w *worker) setExpected(sent int64) {
	var n int64
	for i, bc := range w.conns {
		if bc != nil && bc.c != nil {
			n += w.spec.Plan.ExpectedFor(w.spec.First+i, sent)
		}
	}
	w.expected.Store(n)
	w.hasExpected.Store(true)
}

func (w *worker) progress() workerMsg {
	return workerMsg{Type: msgProgress, Received: w.received.Load(), Unique: w.unique.Load(), Dropped: int(w.dropped.Load()),
		Expected: w.expected.Load(), HasExpected: w.hasExpected.Load()}
}

// sendProgress sends the counts now, whether or not they changed.
func (w *worker) sendProgress() error {
	m := w.progress()
	w.mu.Lock()
	w.lastProg = m
	w.mu.Unlock()
	if err := w.lw.send(m); err != nil {
		return fmt.Errorf("bench-worker: report to driver: %w", err)
	}
	return nil
}

// reportProgress sends delivery counts every progressEvery, when they changed,
// until ctx ends.
func (w *worker) reportProgress(ctx context.Context) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		m := w.progress()
		w.mu.Lock()
		same := m == w.lastProg
		w.lastProg = m
		w.mu.Unlock()
		if same {
			continue
		}
		if w.lw.send(m) != nil {
			return
		}
	}
}

// finish closes every connection, waits for their readers and accounts each
// steady connection against its expected seqs among 0..sent-1.
func (w *worker) finish(sent int64) *WorkerResult {
	w.stopping.Store(true)
	res := &WorkerResult{Dropped: int(w.dropped.Load())}
	w.mu.Lock()
	res.FirstDrop = w.firstDrop
	w.mu.Unlock()
	w.closeAll()
	if w.hb != nil {
		res.Heartbeats = w.hb.finish()
	}
	if w.churn != nil {
		res.Churn = w.churn.finish()
		res.Connected += res.Churn.Connected
	}
	deadline := time.After(closeWait)
	expired := false
	for i, bc := range w.conns {
		if bc == nil || bc.c == nil {
			continue
		}
		res.Connected++
		done := false
		if expired {
			select {
			case <-bc.c.Done():
				done = true
			default:
			}
		} else {
			select {
			case <-bc.c.Done():
				done = true
			case <-deadline:
				expired = true
			}
		}
		n := w.spec.Plan.ExpectedFor(w.spec.First+i, sent)
		if done {
			res.Tally.Add(bc.t.tally(n))
		} else {
			// Its reader still owns the tracker: count it as receiving
			// nothing rather than race with it.
			res.Tally.Add(Tally{Expected: n, Lost: n})
		}
	}
	all := w.hist.merged()
	if w.histWS != nil {
		ws := w.histWS.merged()
		res.LatencyTCP, res.LatencyWS = all.Export(), ws.Export()
		all.Merge(ws)
	}
	res.Latency = all.Export()
	res.Delivered, res.HeartbeatReplies = w.series.finish(&w.received, w.hbReplies())
	return res
}

func (w *worker) closeAll() {
	w.stopping.Store(true)
	for _, bc := range w.conns {
		if bc != nil && bc.c != nil {
			_ = bc.c.Close()
		}
	}
	if w.churn != nil {
		w.churn.closeAll()
	}
}

// ensureFileLimit raises the soft open-file limit to the hard one if need
// files do not fit under it, and fails if they still do not.
func ensureFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("bench-worker: read the open-file limit: %w", err)
	}
	if uint64(need) <= lim.Cur {
		return nil
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("bench-worker: raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if uint64(need) > lim.Cur {
		return fmt.Errorf("bench-worker: %d connections need about %d open files, the limit is %d: lower -per-worker",
			need-64, need, lim.Cur)
	}
	return nil
}
