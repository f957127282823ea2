package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// maxSeriesSeconds bounds a per-second series (an hour of phase).
const maxSeriesSeconds = 3600

// secondSeries turns the worker's running counters into counts per second of
// the phase. It samples the counters at start+1s, start+2s, ... rather than
// bucketing each delivery: the receive path then costs no more than before,
// and since every worker samples at the same instants of the driver's clock,
// the driver can add the series up bucket by bucket.
type secondSeries struct {
	mu        sync.Mutex
	startNano int64
	delivered []int64
	hb        []int64
	lastDeliv int64
	lastHB    int64
}

// start begins the series at startNano (Unix nanoseconds).
func (s *secondSeries) start(startNano int64) {
	s.mu.Lock()
	s.startNano = startNano
	s.mu.Unlock()
}

// run samples at every whole second after the start until ctx ends. hb may be nil.
func (s *secondSeries) run(ctx context.Context, recv, hb *atomic.Int64) {
	s.mu.Lock()
	start := s.startNano
	s.mu.Unlock()
	for k := int64(1); k <= maxSeriesSeconds; k++ {
		t := time.NewTimer(time.Until(time.Unix(0, start+k*int64(time.Second))))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		s.sample(recv, hb)
	}
}

func (s *secondSeries) sample(recv, hb *atomic.Int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := recv.Load()
	s.delivered = append(s.delivered, d-s.lastDeliv)
	s.lastDeliv = d
	if hb != nil {
		h := hb.Load()
		s.hb = append(s.hb, h-s.lastHB)
		s.lastHB = h
	}
}

// finish adds the last, partial second and returns both series without
// their trailing zeros (the quiet end of a drain wait).
func (s *secondSeries) finish(recv, hb *atomic.Int64) (delivered, heartbeats []int64) {
	s.mu.Lock()
	started := s.startNano != 0
	s.mu.Unlock()
	if !started {
		return nil, nil
	}
	s.sample(recv, hb)
	s.mu.Lock()
	defer s.mu.Unlock()
	return trimZeros(s.delivered), trimZeros(s.hb)
}

func trimZeros(v []int64) []int64 {
	n := len(v)
	for n > 0 && v[n-1] == 0 {
		n--
	}
	if n == 0 {
		return nil
	}
	return v[:n:n]
}

// addSeries adds b into a bucket by bucket, growing a as needed.
func addSeries(a, b []int64) []int64 {
	for i, v := range b {
		if i < len(a) {
			a[i] += v
		} else {
			a = append(a, v)
		}
	}
	return a
}
