package bench

import "testing"

func TestSeqTrackerTally(t *testing.T) {
	tests := []struct {
		name     string
		expect   int64
		receipts []int64
		bad      int
		sent     int64
		want     Tally
	}{
		{name: "all once", expect: 5, receipts: []int64{0, 1, 2, 3, 4}, sent: 5,
			want: Tally{Expected: 5, Received: 5, Unique: 5}},
		{name: "out of order", receipts: []int64{4, 0, 3, 1, 2}, sent: 5,
			want: Tally{Expected: 5, Received: 5, Unique: 5, Reordered: 4}},
		{name: "one late message", receipts: []int64{0, 2, 1, 3}, sent: 4,
			want: Tally{Expected: 4, Received: 4, Unique: 4, Reordered: 1}},
		{name: "an old duplicate is not also reordered", receipts: []int64{0, 1, 2, 0}, sent: 3,
			want: Tally{Expected: 3, Received: 4, Unique: 3, Duplicates: 1}},
		{name: "losses", expect: 10, receipts: []int64{0, 2, 9}, sent: 10,
			want: Tally{Expected: 10, Received: 3, Unique: 3, Lost: 7}},
		{name: "duplicates", receipts: []int64{0, 0, 1, 1, 1}, sent: 2,
			want: Tally{Expected: 2, Received: 5, Unique: 2, Duplicates: 3}},
		{name: "seq past sent is unexpected", receipts: []int64{0, 1, 2, 70}, sent: 2,
			want: Tally{Expected: 2, Received: 4, Unique: 2, Unexpected: 2}},
		{name: "word boundary", receipts: []int64{62, 63, 64, 65, 127, 128}, sent: 129,
			want: Tally{Expected: 129, Received: 6, Unique: 6, Lost: 123}},
		{name: "sent ends mid-word", receipts: []int64{60, 63, 64, 66, 67}, sent: 67,
			want: Tally{Expected: 67, Received: 5, Unique: 4, Lost: 63, Unexpected: 1}},
		{name: "nothing received", sent: 40, want: Tally{Expected: 40, Lost: 40}},
		{name: "nothing sent", sent: 0, want: Tally{}},
		{name: "unparsable and huge seqs", receipts: []int64{0, maxTrackedSeq, -1}, bad: 2, sent: 1,
			want: Tally{Expected: 1, Received: 1, Unique: 1, Unexpected: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr seqTracker
			tr.expect(tt.expect)
			for _, s := range tt.receipts {
				tr.add(s)
			}
			for range tt.bad {
				tr.addBad()
			}
			if got := tr.tally(tt.sent); got != tt.want {
				t.Fatalf("tally = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSeqTrackerFirstReceipt(t *testing.T) {
	var tr seqTracker
	if !tr.add(5) || tr.add(5) || !tr.add(6) {
		t.Fatal("add must report true exactly on the first receipt of a seq")
	}
}

func TestTallyAdd(t *testing.T) {
	a := Tally{Expected: 7, Received: 1, Unique: 2, Lost: 3, Duplicates: 4, Unexpected: 5, Reordered: 6}
	a.Add(Tally{Expected: 70, Received: 10, Unique: 20, Lost: 30, Duplicates: 40, Unexpected: 50, Reordered: 60})
	if want := (Tally{Expected: 77, Received: 11, Unique: 22, Lost: 33, Duplicates: 44, Unexpected: 55, Reordered: 66}); a != want {
		t.Fatalf("sum = %+v, want %+v", a, want)
	}
}
