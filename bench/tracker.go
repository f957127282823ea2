package bench

import "math/bits"

// maxTrackedSeq bounds a connection's bitset: a seq past it (a corrupt body)
// counts as unexpected instead of allocating megabytes.
const maxTrackedSeq = 1 << 24

// seqTracker records which of its own sequence numbers (see Plan) one
// connection received. It is owned by that connection's reader goroutine until
// the connection is done, so it needs no lock. Idle connections pay for an
// empty slice header and counters.
type seqTracker struct {
	bits      []uint64
	next      int64  // highest seq received + 1 (0: none yet)
	received  uint32 // op-1000 packets with a parsable body
	dups      uint32 // receipts of a seq already seen
	bad       uint32 // unparsable bodies, seqs meant for others, seqs past maxTrackedSeq
	reordered uint32 // first receipts of a seq lower than one already received
}

// expect sizes the bitset for seqs 0..n-1 up front, so that receiving does
// not grow it.
func (t *seqTracker) expect(n int64) {
	if n > 0 && n <= maxTrackedSeq {
		t.bits = make([]uint64, (n+63)/64)
	}
}

// add records one receipt of seq and reports whether it was the first. A first
// receipt below the highest seq seen so far is an order violation: the
// message arrived after a later one. (A repeated old seq is a duplicate, not
// counted twice.)
func (t *seqTracker) add(seq int64) bool {
	if seq < 0 || seq >= maxTrackedSeq {
		t.bad++
		return false
	}
	t.received++
	next := t.next
	t.next = max(next, seq+1)
	w := int(seq / 64)
	if w >= len(t.bits) {
		grown := make([]uint64, max(w+1, 2*len(t.bits)))
		copy(grown, t.bits)
		t.bits = grown
	}
	m := uint64(1) << (seq % 64)
	if t.bits[w]&m != 0 {
		t.dups++
		return false
	}
	t.bits[w] |= m
	if seq+1 < next {
		t.reordered++
	}
	return true
}

// addBad records a packet whose body could not be parsed, or that carried a
// seq meant for another connection or room.
func (t *seqTracker) addBad() { t.bad++ }

// Tally is loss, duplicate and order accounting over connections.
type Tally struct {
	// Expected counts the pushes the connections had to receive.
	Expected int64 `json:"expected"`
	// Received counts every op-1000 packet with a parsable seq meant for the
	// connection, duplicates included.
	Received int64 `json:"received"`
	// Unique counts expected pushes received at least once.
	Unique int64 `json:"unique"`
	// Lost counts expected pushes never received.
	Lost int64 `json:"lost"`
	// Duplicates counts receipts of a push the connection already had.
	Duplicates int64 `json:"duplicates"`
	// Unexpected counts unparsable bodies, pushes meant for another connection
	// or room, and seqs past the last one sent.
	Unexpected int64 `json:"unexpected"`
	// Reordered counts pushes that arrived after a later push of the same
	// connection's sequence (per room, in a room plan).
	Reordered int64 `json:"order_violations"`
}

// Add accumulates o into t.
func (t *Tally) Add(o Tally) {
	t.Expected += o.Expected
	t.Received += o.Received
	t.Unique += o.Unique
	t.Lost += o.Lost
	t.Duplicates += o.Duplicates
	t.Unexpected += o.Unexpected
	t.Reordered += o.Reordered
}

// tally accounts one connection against its seqs 0..sent-1 (sent is in the
// connection's own numbering: Plan.ExpectedFor).
func (t *seqTracker) tally(sent int64) Tally {
	var inRange, outOfRange int64
	for w, word := range t.bits {
		if word == 0 {
			continue
		}
		lo := int64(w) * 64
		switch {
		case lo+64 <= sent:
			inRange += int64(bits.OnesCount64(word))
		case lo >= sent:
			outOfRange += int64(bits.OnesCount64(word))
		default:
			low := word & (uint64(1)<<(sent-lo) - 1)
			inRange += int64(bits.OnesCount64(low))
			outOfRange += int64(bits.OnesCount64(word &^ low))
		}
	}
	return Tally{
		Expected:   max(sent, 0),
		Received:   int64(t.received),
		Unique:     inRange,
		Lost:       max(sent, 0) - inRange,
		Duplicates: int64(t.dups),
		Unexpected: int64(t.bad) + outOfRange,
		Reordered:  int64(t.reordered),
	}
}
