package job

import (
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// inflight is one fetched Kafka message on its way to the gateways.
type inflight struct {
	partition int
	offset    int64
	lane      uint32 // hash of the Kafka key: picks the lane on every gateway
	msg       kafkabus.Message
	pending   atomic.Int32 // gateways that have not finished it yet
	done      bool         // finished; guarded by tracker.mu
}

// tracker decides what may be committed. Messages are finished out of order
// (different gateways and lanes), but an offset may be committed only when
// every message fetched before it from that partition is finished, so each
// partition keeps its messages in fetch order and the head advances over
// finished ones.
//
// Fetch order, not offset order: after a rebalance the same partition may be
// fetched again from its committed offset, so offsets can go backwards within
// one queue. Committing in fetch order is still safe, because everything
// fetched before a message (which includes the whole range from the committed
// offset up to it) is finished by then.
type tracker struct {
	mu    sync.Mutex
	parts map[int]*partQueue
	ready map[int]int64 // partition -> next offset to commit, not yet handed to the committer
	wake  chan struct{} // cap 1: tells the committer that ready has something
}

type partQueue struct {
	q    []*inflight
	head int
}

func newTracker() *tracker {
	return &tracker{parts: make(map[int]*partQueue), ready: make(map[int]int64), wake: make(chan struct{}, 1)}
}

// add appends a fetched message; call before it can be finished.
func (t *tracker) add(in *inflight) {
	t.mu.Lock()
	pq := t.parts[in.partition]
	if pq == nil {
		pq = &partQueue{}
		t.parts[in.partition] = pq
	}
	pq.q = append(pq.q, in)
	t.mu.Unlock()
}

// finish marks in finished and advances its partition's head.
func (t *tracker) finish(in *inflight) {
	t.mu.Lock()
	in.done = true
	pq := t.parts[in.partition]
	var last *inflight
	for pq.head < len(pq.q) && pq.q[pq.head].done {
		last = pq.q[pq.head]
		pq.q[pq.head] = nil
		pq.head++
	}
	if pq.head == len(pq.q) {
		pq.q, pq.head = pq.q[:0], 0
	} else if pq.head > 1024 && pq.head > len(pq.q)/2 {
		// Slide the live part down now and then so the slice does not grow
		// without bound while the head is never empty.
		n := copy(pq.q, pq.q[pq.head:])
		clear(pq.q[n:])
		pq.q, pq.head = pq.q[:n], 0
	}
	if last != nil {
		t.ready[in.partition] = last.offset
	}
	t.mu.Unlock()
	if last != nil {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// take returns the commits that became ready since the last take, as the
// kafka.Messages kafka-go's CommitMessages wants (it commits offset+1).
func (t *tracker) take(topic string, dst []kafka.Message) []kafka.Message {
	t.mu.Lock()
	for p, off := range t.ready {
		dst = append(dst, kafka.Message{Topic: topic, Partition: p, Offset: off})
		delete(t.ready, p)
	}
	t.mu.Unlock()
	return dst
}

// unfinished counts messages fetched and not yet committable.
func (t *tracker) unfinished() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, pq := range t.parts {
		n += len(pq.q) - pq.head
	}
	return n
}
