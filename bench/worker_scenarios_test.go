package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// result skips progress messages until the worker's result.
func (h *workerHarness) result() *WorkerResult {
	h.t.Helper()
	for {
		m := h.next(false)
		if m.Type == msgProgress {
			continue
		}
		if m.Type != msgResult || m.Result == nil {
			h.t.Fatalf("final message = %+v, want a result", m)
		}
		return m.Result
	}
}

func (h *workerHarness) connected(want int) {
	h.t.Helper()
	if m := h.next(false); m.Type != msgConnected || m.Connected != want || m.Failed != 0 {
		h.t.Fatalf("first report = %+v, want %d connected", m, want)
	}
}

// A per-user plan: each connection expects only its group's pushes, counts a
// push meant for another group as unexpected and a late one as reordered.
func TestWorkerPerUserAccounting(t *testing.T) {
	g := newFakeGateway(t)
	h := startWorker(t)
	// 4 members in groups of 2: seqs 0, 2 go to mids 1, 2; seqs 1, 3 to mids 3, 4.
	h.send(command{Cmd: cmdSpec, Spec: &WorkerSpec{Transport: "tcp", TCPAddrs: []string{g.ln.Addr().String()}, LocalIP: "127.0.0.2",
		Room: "live://u", Plan: Plan{Kind: PlanUser, Group: 2, Conns: 4}, Conns: 4, DialConcurrency: 4,
		DialTimeout: 5 * time.Second, ExpectSeqs: 4}})
	h.connected(4)
	h.send(command{Cmd: cmdStart})
	body := func(seq int64) []byte { return AppendBody(nil, seq, time.Now().UnixNano(), 0) }
	g.push(1, PushOp, body(2)) // mid 1 gets seq 2 before seq 0: reordered
	g.push(1, PushOp, body(0))
	g.push(1, PushOp, body(1)) // group 1's push reaching mid 1: unexpected
	g.push(2, PushOp, body(0))
	g.push(2, PushOp, body(2))
	g.push(3, PushOp, body(1))
	g.push(3, PushOp, body(3))
	g.push(4, PushOp, body(1)) // mid 4 never gets seq 3: lost
	time.Sleep(100 * time.Millisecond)
	h.send(command{Cmd: cmdStop, Sent: 4})
	res := h.result()
	want := Tally{Expected: 8, Received: 7, Unique: 7, Lost: 1, Unexpected: 1, Reordered: 1}
	if res.Tally != want {
		t.Fatalf("tally = %+v, want %+v", res.Tally, want)
	}
}

// Heartbeats are sent by the worker itself, so that every reply is counted
// and timed, and per second.
func TestWorkerHeartbeats(t *testing.T) {
	g := newFakeGateway(t)
	h := startWorker(t)
	h.send(command{Cmd: cmdSpec, Spec: &WorkerSpec{Transport: "tcp", TCPAddrs: []string{g.ln.Addr().String()}, LocalIP: "127.0.0.2",
		Room: "live://h", Plan: Plan{Kind: PlanNone, Conns: 3}, Conns: 3, DialConcurrency: 3,
		DialTimeout: 5 * time.Second, Heartbeat: 50 * time.Millisecond}})
	h.connected(3)
	h.send(command{Cmd: cmdStart, StartUnixNano: time.Now().UnixNano()})
	time.Sleep(500 * time.Millisecond) // about 30 beats
	h.send(command{Cmd: cmdStop})
	res := h.result()
	hb := res.Heartbeats
	if hb == nil {
		t.Fatal("no heartbeat stats")
	}
	if hb.Replied < 15 || hb.Failed != 0 || hb.Replied+hb.InFlight != hb.Sent {
		t.Fatalf("heartbeats = %+v, want about 30 replied and none failed", hb)
	}
	if n := hdrhistogram.Import(hb.RTT).TotalCount(); n != hb.Replied {
		t.Errorf("RTT histogram holds %d values for %d replies", n, hb.Replied)
	}
	var sum int64
	for _, v := range res.HeartbeatReplies {
		sum += v
	}
	if sum != hb.Replied {
		t.Errorf("per-second replies %v add up to %d, want %d", res.HeartbeatReplies, sum, hb.Replied)
	}
}

// Churners reconnect at the churn rate without touching the steady members.
func TestWorkerChurn(t *testing.T) {
	g := newFakeGateway(t)
	h := startWorker(t)
	h.send(command{Cmd: cmdSpec, Spec: &WorkerSpec{Transport: "tcp", TCPAddrs: []string{g.ln.Addr().String()}, LocalIP: "127.0.0.2",
		Room: "live://c", Plan: Plan{Kind: PlanRoom, Rooms: 1, Conns: 2}, Conns: 2, Churners: 2, ChurnRate: 40,
		ChurnMidBase: 3, DialConcurrency: 4, DialTimeout: 5 * time.Second, ExpectSeqs: 1}})
	h.connected(4)
	h.send(command{Cmd: cmdStart})
	time.Sleep(400 * time.Millisecond) // about 16 churn events
	g.push(1, PushOp, AppendBody(nil, 0, time.Now().UnixNano(), 0))
	g.push(2, PushOp, AppendBody(nil, 0, time.Now().UnixNano(), 0))
	time.Sleep(50 * time.Millisecond)
	h.send(command{Cmd: cmdStop, Sent: 1})
	res := h.result()
	c := res.Churn
	if c == nil || c.Reconnects < 6 || c.Failed != 0 {
		t.Fatalf("churn = %+v, want several reconnects and no failure", c)
	}
	if res.Dropped != 0 || res.Tally != (Tally{Expected: 2, Received: 2, Unique: 2}) {
		t.Fatalf("steady members: dropped %d, tally %+v; churn must not touch them", res.Dropped, res.Tally)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var churnerAuths int
	for _, a := range g.auths {
		if a.Mid == 3 || a.Mid == 4 {
			churnerAuths++
		}
	}
	// A reconnect counts once it completed; each of the 2 churners may have had
	// one in flight when the worker stopped, whose auth the gateway already saw.
	if lo, hi := 2+int(c.Reconnects), 2+int(c.Reconnects)+2; churnerAuths < lo || churnerAuths > hi {
		t.Errorf("the gateway saw %d churner auths, want 2 + %d reconnects (+ at most 2 in flight at stop)", churnerAuths, c.Reconnects)
	}
}

func TestSeriesHelpers(t *testing.T) {
	if got := trimZeros([]int64{0, 3, 0, 5, 0, 0}); !slices.Equal(got, []int64{0, 3, 0, 5}) {
		t.Errorf("trimZeros = %v", got)
	}
	if got := trimZeros([]int64{0, 0}); got != nil {
		t.Errorf("all zeros trim to %v, want nil", got)
	}
	if got := addSeries([]int64{1, 2}, []int64{10, 20, 30}); !slices.Equal(got, []int64{11, 22, 30}) {
		t.Errorf("addSeries = %v", got)
	}
}
