package gateway

import (
	"context"
	"sync"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
	"github.com/barrage/barrage/shard"
)

// loop is Barrage's state for one gnet event loop. Fields below the inbox are
// touched only on the loop's goroutine.
type loop struct {
	idx int
	el  gnet.EventLoop
	srv *Server

	mu      sync.Mutex
	inbox   []item
	waking  bool // a drain is queued on the event loop
	drainFn gnet.RunnableFunc

	spare    []item
	wheel    wheel
	sessions []*session // open sessions, for broadcasts
	dirty    []*session // sessions with pending frames, flushed at the end of a drain
	scratch  []*session // room members copied out of the shard table
	out      []byte     // replies being encoded for one connection

	frags map[*session][]byte // WebSocket messages whose fragments are still arriving
}

type itemKind uint8

const (
	itemRoom      itemKind = iota // frame to room members on this lane
	itemTargets                   // frame to listed sessions (key and mid pushes), filtered by accepts
	itemBroadcast                 // frame to sessions[from:to] of a snapshot, filtered by accepts
	itemAuthDone                  // logic answered an auth
	itemTick                      // advance the timer wheel
	itemKick                      // close listed sessions
)

// item is one unit of work for a loop. It is passed by value through the inbox.
type item struct {
	kind    itemKind
	op      int32
	frame   *codec.Frame
	room    *shard.Room[*session]
	targets []*session
	auth    *authJob
	tick    int64
	reason  string
}

func newLoop(srv *Server, idx int, el gnet.EventLoop, nowTick int64) *loop {
	l := &loop{idx: idx, el: el, srv: srv, wheel: newWheel(4096), frags: make(map[*session][]byte)}
	l.wheel.now = nowTick
	l.drainFn = func(context.Context) error { l.drain(); return nil }
	return l
}

// post hands it to the loop. Safe from any goroutine; it never blocks on I/O.
func (l *loop) post(it item) {
	if l.srv.stopping.Load() {
		return // gnet may accept the task and never run it; do not queue forever
	}
	l.mu.Lock()
	l.inbox = append(l.inbox, it)
	wake := !l.waking
	l.waking = true
	l.mu.Unlock()
	if wake {
		if err := l.el.Execute(context.Background(), l.drainFn); err != nil {
			// The engine is shutting down; nothing will drain this loop again.
			l.mu.Lock()
			l.inbox = l.inbox[:0]
			l.waking = false
			l.mu.Unlock()
		}
	}
}

// drain runs on the loop: it processes every queued item in order, then writes
// each touched connection once.
func (l *loop) drain() {
	l.mu.Lock()
	items := l.inbox
	l.inbox = l.spare[:0]
	l.waking = false
	l.mu.Unlock()

	for i := range items {
		l.run(&items[i])
	}
	l.flush()
	clear(items) // drop frame and session references for the GC
	l.spare = items[:0]
}

func (l *loop) run(it *item) {
	switch it.kind {
	case itemRoom:
		// Copy this lane's members out under the stripe lock, write with no lock.
		l.scratch = l.srv.table.AppendLane(it.room, l.idx, l.scratch[:0])
		n := 0
		for _, s := range l.scratch {
			if l.queue(s, it.frame.Bytes(s.ws)) {
				n++
			}
		}
		clear(l.scratch)
		l.srv.metrics.deliveries(n * it.frame.Count)
	case itemTargets:
		n := 0
		for _, s := range it.targets {
			if s.loop == l && s.acceptsOp(it.op) && l.queue(s, it.frame.Bytes(s.ws)) {
				n++
			}
		}
		l.srv.metrics.deliveries(n)
	case itemBroadcast:
		n := 0
		for _, s := range l.sessions {
			if s.acceptsOp(it.op) && l.queue(s, it.frame.Bytes(s.ws)) {
				n++
			}
		}
		l.srv.metrics.deliveries(n)
	case itemAuthDone:
		l.srv.finishAuth(l, it.auth)
	case itemTick:
		l.wheel.advance(it.tick, l.expire)
	case itemKick:
		for _, s := range it.targets {
			if s.loop != l || s.state == stateClosed {
				continue
			}
			if it.reason == reasonDuplicateKey {
				l.srv.closeSession(s, reasonDuplicateKey, codec.WSClosePolicyViolation)
				continue
			}
			if s.ws && s.state != stateUpgrading {
				var buf [128]byte
				_, _ = s.c.Write(codec.AppendWSClose(buf[:0], codec.WSClosePolicyViolation, it.reason))
			}
			// The closes metric keeps one bounded label; the text went to the client.
			l.srv.closeSession(s, reasonKicked, 0)
		}
	}
}

// queue adds b to s's pending writes for this drain. Closed and not yet
// authenticated sessions get nothing.
func (l *loop) queue(s *session, b []byte) bool {
	if s.state != stateOpen {
		return false
	}
	s.pending = append(s.pending, b)
	if !s.dirty {
		s.dirty = true
		l.dirty = append(l.dirty, s)
	}
	return true
}

// flush writes each dirty session's frames with one write or writev. Frames are
// shared and written by reference; gnet copies only what the socket does not take.
func (l *loop) flush() {
	for _, s := range l.dirty {
		s.dirty = false
		if s.state != stateOpen || len(s.pending) == 0 {
			clear(s.pending)
			s.pending = s.pending[:0]
			continue
		}
		n, err := writeFrames(s, s.pending)
		clear(s.pending)
		s.pending = s.pending[:0]
		if err != nil {
			continue // gnet has closed the connection; OnClose cleaned up
		}
		l.srv.metrics.bytesWritten.Add(float64(n))
		if s.c.OutboundBuffered() > l.srv.cfg.MaxPendingBytes {
			l.srv.closeSession(s, reasonSlowConsumer, codec.WSClosePolicyViolation)
		}
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
}

// iovMax is Linux's limit on the pieces of one writev; gnet passes ours through.
const iovMax = 1024

// writeFrames writes frames with as few syscalls as the kernel allows. Pieces
// past a partial write land in gnet's buffer by copy, so chunking keeps order.
func writeFrames(s *session, frames [][]byte) (int, error) {
	if len(frames) == 1 {
		return s.c.Write(frames[0])
	}
	total := 0
	for len(frames) > 0 {
		chunk := frames[:min(len(frames), iovMax)]
		n, err := s.c.Writev(chunk)
		total += n
		if err != nil {
			return total, err
		}
		frames = frames[len(chunk):]
	}
	return total, nil
}

func (l *loop) expire(s *session) {
	reason := reasonHeartbeatTimeout
	if s.state != stateOpen {
		reason = reasonHandshakeTimeout
	}
	l.srv.closeSession(s, reason, codec.WSCloseGoingAway)
}

func (l *loop) addSession(s *session) {
	s.loopPos = int32(len(l.sessions))
	l.sessions = append(l.sessions, s)
	l.srv.ips.add(s.ip)
}

func (l *loop) removeSession(s *session) {
	i := s.loopPos
	if i < 0 || int(i) >= len(l.sessions) || l.sessions[i] != s {
		return
	}
	last := len(l.sessions) - 1
	l.sessions[i] = l.sessions[last]
	l.sessions[i].loopPos = i
	l.sessions[last] = nil
	l.sessions = l.sessions[:last]
	s.loopPos = -1
	l.srv.ips.remove(s.ip)
}
