package bench

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// workerDialTimeout bounds one connection's dial plus auth in a worker. It is
// above the gateway's default 5s handshake timeout: on a connect storm the
// gateway, not the client, should be the one to give up.
const workerDialTimeout = 10 * time.Second

// workerExitWait is how long a worker may take to exit once its stdin closes.
const workerExitWait = 5 * time.Second

// workerProc is the driver's handle on one `barrage bench-worker` process and
// the latest it reported.
type workerProc struct {
	idx    int
	ip     string // source address
	conns  int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lw     *lineWriter
	exited chan struct{}

	reported    bool // sent "connected"
	connected   int
	failed      int
	retries     int
	firstErr    string
	retryErr    string
	received    int64
	unique      int64
	dropped     int
	expected    int64
	hasExpected bool
	result      *WorkerResult
}

type workerEvent struct {
	idx int
	msg workerMsg
	err error // the worker's stdout ended or was unreadable
}

// spawnWorkers starts one worker per share and hands each its spec. It
// returns the workers' source addresses.
func (d *driver) spawnWorkers(t *target) ([]string, error) {
	sc := d.sc
	n := sc.Workers()
	ips, err := sourceIPs(n)
	if err != nil {
		return nil, err
	}
	steady, churn := split(sc.SteadyConns(), n), split(sc.ChurnConns, n)
	keyPrefix := ""
	if sc.Name == ScenarioPerUser && sc.PushTo == "keys" {
		keyPrefix = d.keyPrefix
	}
	first, churnMid := 0, int64(sc.SteadyConns())+1
	for i := range n {
		spec := WorkerSpec{
			Index:           i,
			Transport:       sc.Transport,
			WSFraction:      sc.WSFraction,
			TCPAddrs:        t.tcp,
			WSAddrs:         t.ws,
			LocalIP:         ips[i],
			Room:            "live://" + sc.Room,
			Plan:            sc.Plan(),
			First:           first,
			Conns:           steady[i],
			KeyPrefix:       keyPrefix,
			Churners:        churn[i],
			ChurnMidBase:    churnMid,
			DialConcurrency: sc.DialConcurrency,
			Heartbeat:       sc.Heartbeat,
			DialTimeout:     workerDialTimeout,
			ExpectSeqs:      sc.Messages(),
		}
		if sc.ChurnConns > 0 {
			spec.ChurnRate = sc.ChurnRate * float64(churn[i]) / float64(sc.ChurnConns)
		}
		first += steady[i]
		churnMid += int64(churn[i])
		w, err := d.startWorker(spec)
		if w != nil {
			d.workers = append(d.workers, w)
		}
		if err != nil {
			return ips, err
		}
	}
	return ips, nil
}

func (d *driver) startWorker(spec WorkerSpec) (*workerProc, error) {
	cmd := exec.Command(d.env.Exe, "bench-worker")
	cmd.Stderr = d.env.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker %d stdin: %w", spec.Index, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker %d stdout: %w", spec.Index, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start worker %d (%s bench-worker): %w", spec.Index, d.env.Exe, err)
	}
	w := &workerProc{idx: spec.Index, ip: spec.LocalIP, conns: spec.Conns + spec.Churners, cmd: cmd, stdin: stdin, lw: newLineWriter(stdin), exited: make(chan struct{})}
	go d.readWorker(w, stdout)
	if err := w.lw.send(command{Cmd: cmdSpec, Spec: &spec}); err != nil {
		return w, fmt.Errorf("bench: send spec to worker %d: %w", spec.Index, err)
	}
	return w, nil
}

// readWorker turns the worker's stdout lines into events, then reaps it.
func (d *driver) readWorker(w *workerProc, stdout io.Reader) {
	emit := func(ev workerEvent) bool {
		select {
		case d.events <- ev:
			return true
		case <-d.ctx.Done():
			return false
		}
	}
	s := newLineScanner(stdout)
	for s.Scan() {
		var m workerMsg
		if err := decodeLine(s.Bytes(), &m); err != nil {
			emit(workerEvent{idx: w.idx, err: err})
			break
		}
		if !emit(workerEvent{idx: w.idx, msg: m}) {
			break
		}
	}
	// Drain so a worker blocked on a full pipe can exit.
	_, _ = io.Copy(io.Discard, stdout)
	err := w.cmd.Wait()
	close(w.exited)
	if err == nil {
		err = io.EOF
	}
	emit(workerEvent{idx: w.idx, err: fmt.Errorf("exited: %w", err)})
}

// handle applies one event; an error message or an unexpected exit aborts the run.
func (d *driver) handle(ev workerEvent) error {
	w := d.workers[ev.idx]
	if ev.err != nil {
		if w.result != nil && errors.Is(ev.err, io.EOF) {
			return nil // a clean exit after its result
		}
		return fmt.Errorf("bench: worker %d (%s): %w", ev.idx, w.ip, ev.err)
	}
	m := ev.msg
	switch m.Type {
	case msgConnected:
		w.reported, w.connected, w.failed, w.firstErr = true, m.Connected, m.Failed, m.FirstError
		w.retries, w.retryErr = m.Retries, m.RetryError
	case msgProgress:
		w.received, w.unique, w.dropped = m.Received, m.Unique, m.Dropped
		w.expected, w.hasExpected = m.Expected, m.HasExpected
	case msgResult:
		if m.Result == nil {
			return fmt.Errorf("bench: worker %d sent an empty result", ev.idx)
		}
		w.result = m.Result
	case msgError:
		return fmt.Errorf("bench: worker %d (%s): %s", ev.idx, w.ip, m.Error)
	default:
		return fmt.Errorf("bench: worker %d sent an unknown message type %q", ev.idx, m.Type)
	}
	return nil
}

// awaitConnected waits until every worker has reported its connect phase.
func (d *driver) awaitConnected(rep *Report) error {
	deadline := time.After(d.sc.ConnectTimeout)
	for d.pending(func(w *workerProc) bool { return !w.reported }) > 0 {
		select {
		case ev := <-d.events:
			if err := d.handle(ev); err != nil {
				return err
			}
		case <-deadline:
			return fmt.Errorf("bench: %d workers had not finished connecting after -connect-timeout %s",
				d.pending(func(w *workerProc) bool { return !w.reported }), d.sc.ConnectTimeout)
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
	for _, w := range d.workers {
		rep.Connected += w.connected
		rep.ConnectFailed += w.failed
		rep.ConnectRetries += w.retries
		if rep.ConnectError == "" && w.firstErr != "" {
			rep.ConnectError = fmt.Sprintf("worker %d: %s", w.idx, w.firstErr)
		}
		if rep.RetryError == "" && w.retryErr != "" {
			rep.RetryError = fmt.Sprintf("worker %d: %s", w.idx, w.retryErr)
		}
	}
	return nil
}

func (d *driver) pending(waiting func(*workerProc) bool) int {
	n := 0
	for _, w := range d.workers {
		if waiting(w) {
			n++
		}
	}
	return n
}

// drained reports whether every worker knows what to expect and has seen it all.
func (d *driver) drained() bool {
	var unique, expected int64
	for _, w := range d.workers {
		if !w.hasExpected {
			return false
		}
		unique += w.unique
		expected += w.expected
	}
	return unique >= expected
}

func (d *driver) broadcast(c command) error {
	for _, w := range d.workers {
		if err := w.lw.send(c); err != nil {
			return fmt.Errorf("bench: send %q to worker %d: %w", c.Cmd, w.idx, err)
		}
	}
	return nil
}

// shutdownWorkers closes every worker's stdin (which ends it), then kills any
// that has not exited in time.
func (d *driver) shutdownWorkers() {
	for _, w := range d.workers {
		_ = w.stdin.Close()
	}
	deadline := time.NewTimer(workerExitWait)
	defer deadline.Stop()
	for _, w := range d.workers {
		select {
		case <-w.exited:
			continue
		case <-deadline.C:
			deadline.Reset(0) // expired for the rest too
		}
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
}
