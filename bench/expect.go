package bench

import "strconv"

// Which connection must receive which push. The pusher numbers its pushes
// 0, 1, 2, ... (the "seq" in the body) and a Plan maps each seq to its
// receivers by arithmetic alone, so that the pusher and every worker agree
// without exchanging member lists:
//
//   - room plans (hot-room, small-rooms, churn, mixed): push seq goes to room
//     seq % Rooms, and steady connection g sits in room g % Rooms. With one
//     room every connection gets every push.
//   - user plans (per-user): the steady connections form groups of Group
//     consecutive numbers (the last may be smaller); push seq goes to every
//     member of group seq % Groups, addressed by mid or key.
//
// Either way connection g receives exactly the seqs s with s % stride ==
// offset, and s / stride is its own gap-free sequence 0, 1, 2, ...: in a
// room plan that is the room's sequence number. That is what the seq
// tracker records, so losses, duplicates and order are exact per connection
// and per room.

// Plan kinds.
const (
	PlanNone = "none" // nothing is pushed (idle-hold)
	PlanRoom = "room"
	PlanUser = "user"
)

// Plan says which pushes each steady connection must receive.
type Plan struct {
	// Kind is PlanNone, PlanRoom or PlanUser.
	Kind string `json:"kind"`
	// Rooms is the number of rooms of a room plan (at least 1).
	Rooms int `json:"rooms,omitempty"`
	// Group is the number of users each push of a user plan addresses (at least 1).
	Group int `json:"group,omitempty"`
	// Conns is the number of steady connections, numbered 0..Conns-1 across workers.
	Conns int `json:"conns"`
}

// groups is how many groups a user plan cycles through.
func (p Plan) groups() int {
	if p.Group <= 0 {
		return 1
	}
	return max((p.Conns+p.Group-1)/p.Group, 1)
}

// slot returns the stride and offset of steady connection g: it must receive
// the seqs s with s % stride == offset.
func (p Plan) slot(g int) (stride, offset int64) {
	switch p.Kind {
	case PlanRoom:
		r := int64(max(p.Rooms, 1))
		return r, int64(g) % r
	case PlanUser:
		return int64(p.groups()), int64(g / max(p.Group, 1))
	default:
		return 1, 0
	}
}

// ExpectedFor is how many of the pushes 0..sent-1 steady connection g must
// receive.
func (p Plan) ExpectedFor(g int, sent int64) int64 {
	if p.Kind == PlanNone || sent <= 0 {
		return 0
	}
	stride, offset := p.slot(g)
	return countResidue(sent, stride, offset)
}

// countResidue counts s in [0, n) with s % stride == offset.
func countResidue(n, stride, offset int64) int64 {
	if n <= offset {
		return 0
	}
	return (n - offset + stride - 1) / stride
}

// RoomOf is the room index of push seq in a room plan.
func (p Plan) RoomOf(seq int64) int {
	return int(seq % int64(max(p.Rooms, 1)))
}

// UsersOf is the range [lo, hi) of steady connection numbers that push seq
// addresses in a user plan.
func (p Plan) UsersOf(seq int64) (lo, hi int) {
	g := int(seq % int64(p.groups()))
	lo = g * p.Group
	return lo, min(lo+p.Group, p.Conns)
}

// roomName is the name of room r of n rooms sharing base: the base itself
// when there is one room, else base-r ("bench-7").
func roomName(base string, n, r int) string {
	if n <= 1 {
		return base
	}
	return base + "-" + strconv.Itoa(r)
}

// localSeq maps a received seq to the connection's own sequence number, or
// reports that the seq was not meant for it.
func localSeq(seq, stride, offset int64) (int64, bool) {
	if stride <= 1 {
		return seq, true
	}
	if seq%stride != offset {
		return 0, false
	}
	return seq / stride, true
}
