package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Snapshots travel as JSON from worker to driver: merging what arrived must
// give the same distribution as recording everything in one histogram.
func TestMergeSnapshotsAfterJSON(t *testing.T) {
	all := newLatencyHistogram()
	var snaps []*hdrhistogram.Snapshot
	for w, values := range [][]int64{{100, 200, 300}, {1000, 1500}, {}, {50_000, 59_000_000}} {
		h := newLatencyHistogram()
		for _, v := range values {
			_ = h.RecordValue(v)
			_ = all.RecordValue(v)
		}
		b, err := json.Marshal(h.Export())
		if err != nil {
			t.Fatal(err)
		}
		var s hdrhistogram.Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("worker %d snapshot: %v", w, err)
		}
		snaps = append(snaps, &s)
	}
	snaps = append(snaps, nil) // a worker without a histogram is skipped
	got, err := MergeSnapshots(snaps)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(all) {
		t.Fatalf("merged histogram differs: count %d max %d, want count %d max %d", got.TotalCount(), got.Max(), all.TotalCount(), all.Max())
	}
	sum := summarize(got)
	if sum.Count != 7 || sum.P50 < 0.999 || sum.P50 > 1.001 || sum.Max < 59000*0.999 {
		t.Fatalf("summary = %+v", sum)
	}
}

func TestMergeSnapshotsRejectsOtherShape(t *testing.T) {
	other := hdrhistogram.New(1, 1000, 2).Export()
	_, err := MergeSnapshots([]*hdrhistogram.Snapshot{newLatencyHistogram().Export(), other})
	if err == nil || !strings.Contains(err.Error(), "histogram 1 has shape") {
		t.Fatalf("err = %v, want a shape complaint about histogram 1", err)
	}
}

func TestShardedHistogramClampsAndMerges(t *testing.T) {
	s := newShardedHistogram()
	for conn := range 100 {
		s.record(conn, 500)
	}
	s.record(3, -20)   // a clock step backwards
	s.record(4, 1<<40) // beyond 60 s
	h := s.merged()
	if h.TotalCount() != 102 {
		t.Fatalf("count = %d, want 102", h.TotalCount())
	}
	if h.Min() != latencyMinUS || !h.ValuesAreEquivalent(h.Max(), latencyMaxUS) {
		t.Fatalf("min %d max %d: out-of-range values must be clamped to %d..%d", h.Min(), h.Max(), latencyMinUS, latencyMaxUS)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	if got := summarize(newLatencyHistogram()); got != (Latency{}) {
		t.Fatalf("summary of nothing = %+v", got)
	}
}
