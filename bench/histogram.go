package bench

import (
	"fmt"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1us to 60s with 3 significant
// digits: 0.1% error anywhere in the range. Values outside are clamped, so a
// clock step shows as 1us or 60s instead of vanishing.
const (
	latencyMinUS  = 1
	latencyMaxUS  = 60_000_000
	latencyDigits = 3
)

// newLatencyHistogram is the one histogram shape workers and driver share;
// merging needs equal shapes.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(latencyMinUS, latencyMaxUS, latencyDigits)
}

func clampLatencyUS(us int64) int64 {
	return min(max(us, latencyMinUS), latencyMaxUS)
}

// histShards is how many histograms a worker records into. Thousands of
// reader goroutines record at once; a connection always uses the same shard,
// so a lock is held for one RecordValue and rarely contended.
const histShards = 16

type shardedHistogram struct {
	shards [histShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [40]byte // keeps neighbouring locks off one cache line
	}
}

func newShardedHistogram() *shardedHistogram {
	s := &shardedHistogram{}
	for i := range s.shards {
		s.shards[i].h = newLatencyHistogram()
	}
	return s
}

// record adds a latency in microseconds to connection conn's shard.
func (s *shardedHistogram) record(conn int, us int64) {
	sh := &s.shards[conn%histShards]
	sh.mu.Lock()
	_ = sh.h.RecordValue(clampLatencyUS(us)) // cannot fail: clamped into range
	sh.mu.Unlock()
}

// merged returns one histogram holding every shard's values.
func (s *shardedHistogram) merged() *hdrhistogram.Histogram {
	out := newLatencyHistogram()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		out.Merge(sh.h)
		sh.mu.Unlock()
	}
	return out
}

// MergeSnapshots imports exported histograms and merges them into one. It
// fails on a snapshot of another shape (which would silently lose precision).
func MergeSnapshots(snaps []*hdrhistogram.Snapshot) (*hdrhistogram.Histogram, error) {
	out := newLatencyHistogram()
	for i, s := range snaps {
		if s == nil {
			continue
		}
		if s.LowestTrackableValue != latencyMinUS || s.HighestTrackableValue != latencyMaxUS || s.SignificantFigures != latencyDigits {
			return nil, fmt.Errorf("bench: histogram %d has shape %d..%d/%d digits, want %d..%d/%d", i,
				s.LowestTrackableValue, s.HighestTrackableValue, s.SignificantFigures, latencyMinUS, latencyMaxUS, latencyDigits)
		}
		if dropped := out.Merge(hdrhistogram.Import(s)); dropped > 0 {
			return nil, fmt.Errorf("bench: histogram %d: %d values out of range", i, dropped)
		}
	}
	return out, nil
}

// Latency is a histogram summary in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}
