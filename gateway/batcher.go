package gateway

import (
	"sync"
	"time"

	"github.com/barrage/barrage/codec"
)

// batcher collects room messages per room and seals each batch into one Frame
// that all members receive by reference.
//
// The window adapts to load: a message to a room that has not flushed for a whole
// window goes out at once (a quiet room pays no batching latency); messages that
// follow within the window wait for it to close, so a busy room flushes at most
// once per window, plus early when a batch reaches its size caps. With
// Config.BatchFixed every message waits for the window, like goim's job.
type batcher struct {
	srv   *Server
	rooms sync.Map // room id -> *roomBatch
	quit  chan struct{}
	once  sync.Once
}

type roomBatch struct {
	id       string
	mu       sync.Mutex
	w        codec.BatchWriter
	timer    *time.Timer
	armed    bool
	dead     bool          // evicted; look the room up again
	last     time.Duration // since srv.epoch, of the last flush
	first    time.Duration // since srv.epoch, of the oldest pending message
	lastSize int
}

// idleEviction is how long a room's batch state outlives its last message.
const idleEviction = 30 * time.Second

func (b *batcher) init(srv *Server) {
	b.srv = srv
	b.quit = make(chan struct{})
}

func (b *batcher) start() { go b.evictLoop() }

func (b *batcher) stop() { b.once.Do(func() { close(b.quit) }) }

func (b *batcher) now() time.Duration { return time.Since(b.srv.epoch) }

func (b *batcher) add(room string, op, seq int32, body []byte) error {
	cfg := &b.srv.cfg
	for {
		v, ok := b.rooms.Load(room)
		if !ok {
			nb := &roomBatch{id: room, last: -cfg.BatchWindow}
			v, _ = b.rooms.LoadOrStore(room, nb)
		}
		rb := v.(*roomBatch)
		rb.mu.Lock()
		if rb.dead {
			rb.mu.Unlock()
			select {
			case <-b.quit:
				return ErrStopped
			default:
				continue // evicted while we looked it up; make a fresh one
			}
		}
		now := b.now()
		if rb.w.Count() == 0 {
			rb.w.Reset(max(rb.lastSize, codec.HeaderLen+len(body)))
			rb.first = now
		}
		rb.w.Add(codec.DefaultVer, op, seq, body)
		switch {
		case rb.w.Count() >= cfg.BatchMaxMessages || rb.w.Size() >= cfg.BatchMaxBytes:
			b.flushLocked(rb, now)
		case rb.armed:
			// the pending timer flushes this message with the rest
		case !cfg.BatchFixed && now-rb.last >= cfg.BatchWindow:
			b.flushLocked(rb, now)
		default:
			wait := cfg.BatchWindow
			if !cfg.BatchFixed {
				wait -= now - rb.last
			}
			b.arm(rb, wait)
		}
		rb.mu.Unlock()
		return nil
	}
}

func (b *batcher) arm(rb *roomBatch, wait time.Duration) {
	rb.armed = true
	if rb.timer == nil {
		rb.timer = time.AfterFunc(wait, func() { b.fire(rb) })
		return
	}
	rb.timer.Reset(wait)
}

func (b *batcher) fire(rb *roomBatch) {
	rb.mu.Lock()
	rb.armed = false
	if rb.w.Count() > 0 && !rb.dead {
		b.flushLocked(rb, b.now())
	}
	rb.mu.Unlock()
}

// flushLocked seals the batch and hands it to the loops while rb.mu is held, so
// two batches of one room reach every loop's inbox in order.
func (b *batcher) flushLocked(rb *roomBatch, now time.Duration) {
	frame := rb.w.Seal()
	rb.lastSize = len(frame.TCP)
	rb.last = now
	m := b.srv.metrics
	m.batchMessages.Observe(float64(frame.Count))
	m.batchWait.Observe((now - rb.first).Seconds())
	b.srv.deliverRoom(rb.id, &frame)
}

// deliverRoom posts frame to every loop that has members of the room.
func (s *Server) deliverRoom(id string, frame *codec.Frame) {
	r := s.table.Room(id)
	if r == nil {
		return
	}
	s.metrics.frames.Inc()
	for _, l := range *s.loops.Load() {
		if s.table.LaneLen(r, l.idx) > 0 {
			l.post(item{kind: itemRoom, frame: frame, room: r})
		}
	}
}

// evictLoop forgets rooms that have been quiet for idleEviction.
func (b *batcher) evictLoop() {
	t := time.NewTicker(idleEviction / 2)
	defer t.Stop()
	for {
		select {
		case <-b.quit:
			b.rooms.Range(func(_, v any) bool {
				rb := v.(*roomBatch)
				rb.mu.Lock()
				if rb.timer != nil {
					rb.timer.Stop()
				}
				rb.dead = true
				rb.mu.Unlock()
				return true
			})
			return
		case <-t.C:
			now := b.now()
			b.rooms.Range(func(k, v any) bool {
				rb := v.(*roomBatch)
				rb.mu.Lock()
				if !rb.armed && rb.w.Count() == 0 && now-rb.last > idleEviction {
					rb.dead = true
					b.rooms.Delete(k)
				}
				rb.mu.Unlock()
				return true
			})
		}
	}
}
