package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/barrage/barrage/codec"
)

// fakeGateway is just enough of a goim gateway for the worker: it answers auth
// and lets the test push to a member by mid.
type fakeGateway struct {
	t     *testing.T
	ln    net.Listener
	mu    sync.Mutex
	wmu   sync.Mutex
	conns map[int64]net.Conn
	auths []codec.AuthBody
}

func newFakeGateway(t *testing.T) *fakeGateway {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &fakeGateway{t: t, ln: ln, conns: map[int64]net.Conn{}}
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		for _, c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
	})
	go g.accept()
	return g
}

func (g *fakeGateway) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.handshake(c)
	}
}

func (g *fakeGateway) handshake(c net.Conn) {
	r := bufio.NewReader(c)
	hdr := make([]byte, codec.HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		c.Close()
		return
	}
	body := make([]byte, int(binary.BigEndian.Uint32(hdr))-codec.HeaderLen)
	if _, err := io.ReadFull(r, body); err != nil {
		c.Close()
		return
	}
	auth, err := codec.DecodeAuth(body)
	if err != nil {
		c.Close()
		return
	}
	g.mu.Lock()
	g.conns[auth.Mid] = c
	g.auths = append(g.auths, auth)
	g.mu.Unlock()
	seq := int32(binary.BigEndian.Uint32(hdr[12:16]))
	g.write(c, codec.AppendPacket(nil, 1, codec.OpAuthReply, seq, nil))
	// Then answer heartbeats (op 2 -> op 3 with an online count of 1) and
	// ignore anything else.
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr)) - codec.HeaderLen
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return
		}
		if op := int32(binary.BigEndian.Uint32(hdr[8:12])); op == codec.OpHeartbeat {
			seq := int32(binary.BigEndian.Uint32(hdr[12:16]))
			g.write(c, codec.AppendPacket(nil, 1, codec.OpHeartbeatReply, seq, []byte{0, 0, 0, 1}))
		}
	}
}

// write serialises writes to one connection between the handshake goroutine
// (replies) and the test (pushes).
func (g *fakeGateway) write(c net.Conn, b []byte) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	_, err := c.Write(b)
	return err
}

func (g *fakeGateway) push(mid int64, op int32, body []byte) {
	g.mu.Lock()
	c := g.conns[mid]
	g.mu.Unlock()
	if err := g.write(c, codec.AppendPacket(nil, 1, op, 0, body)); err != nil {
		g.t.Errorf("push to mid %d: %v", mid, err)
	}
}

func (g *fakeGateway) drop(mid int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns[mid].Close()
}

// workerHarness runs RunWorker in-process on pipes, reading its output
// continuously as the driver does (a worker blocks on a full stdout).
type workerHarness struct {
	t    *testing.T
	in   *io.PipeWriter
	msgs chan workerMsg
	lw   *lineWriter
	done chan error
}

func startWorker(t *testing.T) *workerHarness {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &workerHarness{t: t, in: inW, msgs: make(chan workerMsg, 1024), lw: newLineWriter(inW), done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	go func() {
		h.done <- RunWorker(ctx, inR, outW, nil)
		outW.Close()
	}()
	go func() {
		defer close(h.msgs)
		s := newLineScanner(outR)
		for s.Scan() {
			var m workerMsg
			if err := decodeLine(s.Bytes(), &m); err != nil {
				m = workerMsg{Type: msgError, Error: err.Error()}
			}
			h.msgs <- m
		}
	}()
	t.Cleanup(func() { cancel(); inW.Close() })
	return h
}

func (h *workerHarness) send(c command) {
	h.t.Helper()
	if err := h.lw.send(c); err != nil {
		h.t.Fatalf("send %q: %v", c.Cmd, err)
	}
}

// next returns the worker's next message; wantErr says whether it may be an error.
func (h *workerHarness) next(wantErr bool) workerMsg {
	h.t.Helper()
	select {
	case m, ok := <-h.msgs:
		if !ok {
			h.t.Fatal("worker output ended")
		}
		if m.Type == msgError && !wantErr {
			h.t.Fatalf("worker error: %s", m.Error)
		}
		return m
	case <-time.After(10 * time.Second):
		h.t.Fatal("no message from the worker within 10s")
	}
	return workerMsg{}
}

func TestWorkerCountsDeliveriesLossesAndDuplicates(t *testing.T) {
	g := newFakeGateway(t)
	h := startWorker(t)
	h.send(command{Cmd: cmdSpec, Spec: &WorkerSpec{Transport: "tcp", TCPAddrs: []string{g.ln.Addr().String()}, LocalIP: "127.0.0.2",
		Room: "live://t", Plan: Plan{Kind: PlanRoom, Rooms: 1, Conns: 4}, First: 100, Conns: 4, DialConcurrency: 2,
		DialTimeout: 5 * time.Second, ExpectSeqs: 10}})
	if m := h.next(false); m.Type != msgConnected || m.Connected != 4 || m.Failed != 0 {
		t.Fatalf("first report = %+v, want 4 connected", m)
	}
	g.mu.Lock()
	for _, a := range g.auths {
		if a.RoomID != "live://t" || len(a.Accepts) != 1 || a.Accepts[0] != PushOp || a.Mid < 101 || a.Mid > 104 {
			t.Errorf("auth body %+v", a)
		}
	}
	g.mu.Unlock()
	h.send(command{Cmd: cmdStart})

	const sent = 10
	body := func(seq int64) []byte { return AppendBody(nil, seq, time.Now().UnixNano(), 8) }
	for seq := range int64(sent) {
		g.push(101, PushOp, body(seq)) // all once
		g.push(102, PushOp, body(seq)) // all, seq 3 twice
		if seq == 3 {
			g.push(102, PushOp, body(seq))
		}
		if seq != 5 { // 103 misses seq 5 and gets junk
			g.push(103, PushOp, body(seq))
		}
		if seq < 4 { // 104 is dropped after seq 3
			g.push(104, PushOp, body(seq))
		}
	}
	g.push(103, PushOp, []byte(`not a bench body`))
	g.push(103, PushOp+1, body(0))  // another op: ignored
	g.push(103, PushOp, body(sent)) // past the last seq sent
	time.Sleep(50 * time.Millisecond)
	g.drop(104)

	// 10 + 11 + 9 + 1 (seq 10) + 4 receipts; 10 + 10 + 10 + 4 unique seqs.
	for {
		m := h.next(false)
		if m.Type != msgProgress {
			t.Fatalf("got %+v during the push phase, want progress", m)
		}
		if m.Received == 35 && m.Unique == 34 && m.Dropped == 1 {
			break
		}
	}
	// Told what was sent, the worker answers at once with what it expects:
	// 10 pushes to each of its 4 connected members.
	h.send(command{Cmd: cmdSent, Sent: sent})
	for {
		m := h.next(false)
		if m.HasExpected {
			if m.Expected != 40 {
				t.Fatalf("expected = %d, want 40", m.Expected)
			}
			break
		}
	}
	h.send(command{Cmd: cmdStop, Sent: sent})
	var m workerMsg
	for m = h.next(false); m.Type == msgProgress; m = h.next(false) {
	}
	if m.Type != msgResult || m.Result == nil {
		t.Fatalf("final message = %+v, want a result", m)
	}
	res := m.Result
	want := Tally{Expected: 40, Received: 35, Unique: 33, Lost: 7, Duplicates: 1, Unexpected: 2}
	if res.Tally != want || res.Connected != 4 || res.Dropped != 1 {
		t.Fatalf("result = %+v, want tally %+v, 4 connected, 1 dropped", res, want)
	}
	if !strings.Contains(res.FirstDrop, "connection 3") {
		t.Errorf("first drop %q should name connection 3", res.FirstDrop)
	}
	hist, err := MergeSnapshots(append([]*hdrhistogram.Snapshot{}, res.Latency))
	if err != nil {
		t.Fatal(err)
	}
	if hist.TotalCount() != 35 || hist.Max() > 5_000_000 {
		t.Fatalf("latency histogram: %d values, max %dus; want 35 values under 5s", hist.TotalCount(), hist.Max())
	}
	if err := <-h.done; err != nil {
		t.Fatalf("RunWorker after stop: %v", err)
	}
}

func TestWorkerReportsConnectFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h := startWorker(t)
	h.send(command{Cmd: cmdSpec, Spec: &WorkerSpec{Transport: "tcp", TCPAddrs: []string{addr}, LocalIP: "127.0.0.3",
		Plan: Plan{Kind: PlanRoom, Rooms: 1, Conns: 3}, Conns: 3, DialConcurrency: 3, DialTimeout: time.Second}})
	m := h.next(false)
	if m.Type != msgConnected || m.Connected != 0 || m.Failed != 3 || !strings.Contains(m.FirstError, "refused") {
		t.Fatalf("report = %+v, want 3 failed with connection refused", m)
	}
	h.in.Close() // the driver going away ends the worker
	if m := h.next(true); m.Type != msgError || !strings.Contains(m.Error, "closed stdin") {
		t.Fatalf("after stdin closed: %+v, want an error message", m)
	}
	if err := <-h.done; err == nil {
		t.Fatal("RunWorker returned nil after stdin closed without stop")
	}
}

func TestWorkerWantsASpecFirst(t *testing.T) {
	h := startWorker(t)
	h.send(command{Cmd: cmdStart})
	if m := h.next(true); m.Type != msgError {
		t.Fatalf("got %+v, want an error message", m)
	}
	if err := <-h.done; err == nil || !strings.Contains(err.Error(), "want \"spec\"") {
		t.Fatalf("RunWorker = %v, want a complaint about the missing spec", err)
	}
}
