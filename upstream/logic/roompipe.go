package logic

import (
	"context"
	"sync"
	"time"
)

// Room pushes go through one pipe so that numbering and delivery happen in one
// order: a push is numbered and handed to Delivery together with every push
// queued before it, so the order of a room's sequence numbers is the order
// Delivery (a Kafka partition) sees. Concurrent pushes coalesce: one batch costs
// one Sequencer round trip (a Redis pipeline of INCRBY, one per room) and one
// Delivery call (one Kafka produce), which is what keeps throughput high while a
// batch is in flight the next one gathers. Within one logic instance the order is
// exact; pushes to one room through several logic instances are numbered without
// gaps or repeats but may interleave (docs/DISTRIBUTED.md).
const (
	maxPipeBatch = 4096
	pipeTimeout  = 30 * time.Second
)

type roomPipe struct {
	mu    sync.Mutex
	queue []*roomReq
	busy  bool // a drain goroutine owns the queue
}

type roomReq struct {
	push RoomPush
	err  error
	done chan struct{}
}

// push queues p and waits for its batch to be delivered (or ctx to end: the
// push may then still go out, as with any timed-out write).
func (pipe *roomPipe) push(ctx context.Context, l *Logic, p RoomPush) error {
	req := &roomReq{push: p, done: make(chan struct{})}
	pipe.mu.Lock()
	pipe.queue = append(pipe.queue, req)
	if !pipe.busy {
		pipe.busy = true
		go pipe.drain(l)
	}
	pipe.mu.Unlock()
	select {
	case <-req.done:
		return req.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain sends batches until the queue is empty.
func (pipe *roomPipe) drain(l *Logic) {
	for {
		pipe.mu.Lock()
		n := min(len(pipe.queue), maxPipeBatch)
		if n == 0 {
			pipe.busy = false
			pipe.mu.Unlock()
			return
		}
		batch := pipe.queue[:n:n]
		pipe.queue = pipe.queue[n:]
		if len(pipe.queue) == 0 {
			pipe.queue = nil // let the backing array go
		}
		pipe.mu.Unlock()
		l.sendRoomBatch(batch)
	}
}

// sendRoomBatch numbers the batch (one reservation round trip for all its
// rooms) and delivers it in one call.
func (l *Logic) sendRoomBatch(batch []*roomReq) {
	ctx, cancel := context.WithTimeout(context.Background(), pipeTimeout)
	defer cancel()
	counts := make(map[string]int64, 4)
	for _, r := range batch {
		counts[r.push.Room]++
	}
	next, err := l.seq.NextRoomSeqs(ctx, counts)
	if err != nil {
		// Degrade rather than stop the rooms: the pushes go out unsequenced
		// (seq 0, as goim sends), which clients treat as "no number".
		l.log.Warn("room sequence numbers unavailable, pushing unsequenced", "rooms", len(counts), "pushes", len(batch), "err", err)
		next = nil
	}
	pushes := make([]RoomPush, len(batch))
	for i, r := range batch {
		pushes[i] = r.push
		if seq := next[r.push.Room]; seq > 0 {
			pushes[i].Seq = seq
			next[r.push.Room] = seq + 1
		}
	}
	err = l.delivery.BroadcastRooms(ctx, pushes)
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
}
