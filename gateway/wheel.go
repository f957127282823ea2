package gateway

// wheel is a hashed timing wheel of sessions owned by one event loop. Setting or
// moving a deadline is O(1) (unlink, link); a tick visits only the sessions in the
// slots it passes. A deadline further out than one revolution simply stays in its
// slot and is re-checked when the slot comes round again.
type wheel struct {
	slots []*session
	mask  int64
	now   int64 // current tick; every slot up to now has been processed
}

func newWheel(size int) wheel {
	n := 1
	for n < size {
		n <<= 1
	}
	return wheel{slots: make([]*session, n), mask: int64(n - 1)}
}

// set (re)schedules s to expire at tick deadline.
func (w *wheel) set(s *session, deadline int64) {
	if s.wheelSlot >= 0 {
		w.unlink(s)
	}
	if deadline <= w.now {
		deadline = w.now + 1
	}
	s.deadline = deadline
	slot := int32(deadline & w.mask)
	s.wheelSlot = slot
	s.wheelPrev = nil
	s.wheelNext = w.slots[slot]
	if s.wheelNext != nil {
		s.wheelNext.wheelPrev = s
	}
	w.slots[slot] = s
}

// remove takes s off the wheel (idempotent).
func (w *wheel) remove(s *session) {
	if s.wheelSlot >= 0 {
		w.unlink(s)
	}
}

func (w *wheel) unlink(s *session) {
	if s.wheelPrev != nil {
		s.wheelPrev.wheelNext = s.wheelNext
	} else {
		w.slots[s.wheelSlot] = s.wheelNext
	}
	if s.wheelNext != nil {
		s.wheelNext.wheelPrev = s.wheelPrev
	}
	s.wheelPrev, s.wheelNext, s.wheelSlot = nil, nil, -1
}

// advance moves the wheel to tick now and calls expire for every session whose
// deadline has passed. expire must remove the session from the wheel (closing it
// does).
func (w *wheel) advance(now int64, expire func(*session)) {
	for w.now < now {
		w.now++
		slot := w.now & w.mask
		for s := w.slots[slot]; s != nil; {
			next := s.wheelNext
			if s.deadline <= w.now {
				w.unlink(s)
				expire(s)
			}
			s = next
		}
	}
}
