package job

import (
	"testing"

	"github.com/barrage/barrage/upstream/kafkabus"
)

func TestRecentIDsWindow(t *testing.T) {
	r := newRecentIDs(3)
	id := func(n byte) kafkabus.ID { return kafkabus.ID{n} }
	for n := byte(1); n <= 3; n++ {
		if r.seen(id(n)) {
			t.Fatalf("id %d seen before it was added", n)
		}
	}
	if !r.seen(id(2)) {
		t.Fatal("id 2 not seen inside the window")
	}
	r.seen(id(4)) // evicts 1
	if r.seen(id(1)) {
		t.Fatal("id 1 still seen after it left the window")
	}
	// adding 1 again evicted 2
	if r.seen(id(2)) {
		t.Fatal("id 2 still seen after it left the window")
	}
	if len(r.set) != 3 {
		t.Fatalf("set holds %d ids, window is 3", len(r.set))
	}
}

func TestTrackerCommitsOnlyContiguous(t *testing.T) {
	tr := newTracker()
	var ins []*inflight
	for off := int64(10); off < 15; off++ {
		in := &inflight{partition: 0, offset: off}
		tr.add(in)
		ins = append(ins, in)
	}
	other := &inflight{partition: 1, offset: 7}
	tr.add(other)

	tr.finish(ins[1])
	tr.finish(ins[2])
	if got := tr.take("t", nil); len(got) != 0 {
		t.Fatalf("committed %v with offset 10 unfinished", got)
	}
	tr.finish(ins[0])
	got := tr.take("t", nil)
	if len(got) != 1 || got[0].Partition != 0 || got[0].Offset != 12 || got[0].Topic != "t" {
		t.Fatalf("take = %+v, want partition 0 offset 12", got)
	}
	tr.finish(other)
	tr.finish(ins[4])
	got = tr.take("t", nil)
	if len(got) != 1 || got[0].Partition != 1 || got[0].Offset != 7 {
		t.Fatalf("take = %+v, want partition 1 offset 7 only", got)
	}
	if n := tr.unfinished(); n != 2 {
		t.Fatalf("unfinished = %d, want 2 (13, and 14 behind it)", n)
	}
	tr.finish(ins[3])
	if got = tr.take("t", nil); len(got) != 1 || got[0].Offset != 14 {
		t.Fatalf("take = %+v, want offset 14", got)
	}
	if n := tr.unfinished(); n != 0 {
		t.Fatalf("unfinished = %d", n)
	}
}

// TestTrackerRefetchAfterRebalance: the same partition fetched again from a
// lower offset commits in fetch order, never past an unfinished message.
func TestTrackerRefetchAfterRebalance(t *testing.T) {
	tr := newTracker()
	first := &inflight{offset: 5}
	tr.add(first)
	again := &inflight{offset: 3}
	tr.add(again)
	tr.finish(again)
	if got := tr.take("t", nil); len(got) != 0 {
		t.Fatalf("committed %v past unfinished offset 5", got)
	}
	tr.finish(first)
	if got := tr.take("t", nil); len(got) != 1 || got[0].Offset != 3 {
		t.Fatalf("take = %+v, want the last fetched (offset 3)", got)
	}
}

func BenchmarkRecentIDs(b *testing.B) {
	r := newRecentIDs(1 << 20)
	g := kafkabus.NewIDGen()
	b.ReportAllocs()
	for b.Loop() {
		r.seen(g.Next())
	}
}
