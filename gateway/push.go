package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/barrage/barrage/codec"
)

// ErrNoTargets is not an error a caller must handle: it only says that no
// connection on this gateway matched (goim answers such pushes with success too).
var ErrNoTargets = errors.New("gateway: no matching connection")

// ErrStopped is returned by pushes to a gateway that is shutting down.
var ErrStopped = errors.New("gateway: stopped")

// PushKeys sends one packet to the connections with the given keys whose
// accepted ops include op. goim does not batch key pushes, neither do we.
func (s *Server) PushKeys(op int32, keys []string, body []byte) error {
	s.metrics.push("keys")
	targets := make([]*session, 0, len(keys))
	for _, k := range keys {
		if sess, ok := s.table.Get(k); ok {
			targets = append(targets, sess)
		}
	}
	return s.pushTargets(op, targets, body)
}

// PushMids sends one packet to every connection of the given members.
func (s *Server) PushMids(op int32, mids []int64, body []byte) error {
	s.metrics.push("mids")
	var targets []*session
	for _, mid := range mids {
		targets = s.table.AppendByMid(mid, targets)
	}
	return s.pushTargets(op, targets, body)
}

func (s *Server) pushTargets(op int32, targets []*session, body []byte) error {
	if len(targets) == 0 {
		return ErrNoTargets
	}
	frame := codec.SinglePacketFrame(codec.DefaultVer, op, 0, body)
	if len(targets) == 1 {
		targets[0].loop.post(item{kind: itemTargets, op: op, frame: &frame, targets: targets})
		return nil
	}
	// One item per loop holding only that loop's targets.
	byLoop := make(map[*loop][]*session)
	for _, t := range targets {
		byLoop[t.loop] = append(byLoop[t.loop], t)
	}
	for l, ts := range byLoop {
		l.post(item{kind: itemTargets, op: op, frame: &frame, targets: ts})
	}
	return nil
}

// BroadcastRoom queues one message for a room. Messages are batched per room
// (see batcher) and every member receives them in the order they were queued.
// seq is the room's sequence number from logic; it goes in the packet's seq
// field (truncated to 32 bits) so clients can detect gaps. goim sends 0.
func (s *Server) BroadcastRoom(room string, op int32, seq int64, body []byte) error {
	if s.stopping.Load() {
		return ErrStopped
	}
	s.metrics.push("room")
	return s.batches.add(room, op, int32(seq), body)
}

// Broadcast sends one packet to every authenticated connection that accepts op.
// speed > 0 paces delivery to about speed connections per second (goim's
// broadcast speed); 0 delivers at once.
func (s *Server) Broadcast(op int32, body []byte, speed int) error {
	s.metrics.push("all")
	frame := codec.SinglePacketFrame(codec.DefaultVer, op, 0, body)
	loops := *s.loops.Load()
	if speed <= 0 {
		for _, l := range loops {
			l.post(item{kind: itemBroadcast, op: op, frame: &frame})
		}
		return nil
	}
	go s.pacedBroadcast(op, &frame, speed, loops)
	return nil
}

// pacedBroadcast takes each loop's session list, then hands it over in slices
// of speed/10 connections every 100ms.
func (s *Server) pacedBroadcast(op int32, frame *codec.Frame, speed int, loops []*loop) {
	const step = 100 * time.Millisecond
	snaps := make(chan []*session, len(loops))
	for _, l := range loops {
		l := l
		err := l.el.Execute(context.Background(), runFunc(func() {
			snaps <- append([]*session(nil), l.sessions...)
		}))
		if err != nil {
			snaps <- nil
		}
	}
	var pending [][]*session
	timeout := time.After(5 * time.Second) // a stopping engine may never run the task
	for range loops {
		select {
		case snap := <-snaps:
			if len(snap) > 0 {
				pending = append(pending, snap)
			}
		case <-timeout:
			return
		}
	}
	per := max(speed/10, 1)
	t := time.NewTicker(step)
	defer t.Stop()
	for start := 0; len(pending) > 0; start++ {
		// Hand out per sessions this step, starting at a different loop each
		// time so no loop is always served first.
		budget := per
		for i := 0; i < len(pending) && budget > 0; i++ {
			j := (start + i) % len(pending)
			snap := pending[j]
			n := min(len(snap), budget)
			snap[0].loop.post(item{kind: itemTargets, op: op, frame: frame, targets: snap[:n]})
			pending[j] = snap[n:]
			budget -= n
		}
		kept := pending[:0]
		for _, snap := range pending {
			if len(snap) > 0 {
				kept = append(kept, snap)
			}
		}
		pending = kept
		if len(pending) == 0 || s.stopping.Load() {
			return
		}
		<-t.C
	}
}

// Kick closes the connections with the given keys and of the given mids.
// WebSocket clients get close code 1008 with reason as its text (cut to fit a
// control frame). It returns how many connections were found.
func (s *Server) Kick(keys []string, mids []int64, reason string) int {
	var targets []*session
	for _, k := range keys {
		if sess, ok := s.table.Get(k); ok {
			targets = append(targets, sess)
		}
	}
	for _, mid := range mids {
		targets = s.table.AppendByMid(mid, targets)
	}
	if reason == "" {
		reason = reasonKicked
	}
	for _, sess := range targets {
		sess.loop.post(item{kind: itemKick, targets: []*session{sess}, reason: reason})
	}
	return len(targets)
}

// runFunc adapts a func to gnet.Runnable.
type runFunc func()

func (f runFunc) Run(context.Context) error { f(); return nil }
