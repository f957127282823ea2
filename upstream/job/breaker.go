package job

import (
	"sync"
	"time"
)

// breaker is one gateway's circuit breaker. It exists because a message
// returns its MaxInFlight token only when every gateway is done with it: a
// gateway that fails every call holds each message for a whole retry budget
// (about 300 ms with the default Retry, Attempts x the connect timeout when
// the host drops packets), the window fills with its messages, and fetching
// stops for every gateway until the dead one leaves the registry (20-30 s).
// While the breaker is open the gateway's messages are dropped at once, so
// they finish for it immediately and the others keep their rate.
//
// States:
//
//   - closed: calls go through with the normal retries. Breaker.Failures
//     consecutive given-up messages (no accepted call in between) open it.
//     Counting given-up messages, not failed calls, means a blip that the
//     retries ride out (a reconnect, a gateway restarting fast) never opens
//     it: the breaker only starts dropping once retrying has already failed.
//   - open: every message is dropped without a call, for Breaker.Open.
//   - half-open: after Open, the next message is the probe: one call, no
//     retries. Meanwhile the other messages are still dropped. The probe
//     being accepted closes the breaker; its failure opens it for another
//     Open. Only the probe closes it: a call that started before the breaker
//     opened and is accepted late does not, so a lane never delivers a
//     message of a room while an earlier one of the same room is still out
//     as the probe (that lane also waits for its probe before a normal call,
//     see runLane).
//
// A gateway that moves to another address gets a closed breaker (reset): it
// is likely a new process.
type breaker struct {
	failures int           // consecutive given-up messages that open it
	openFor  time.Duration // how long it stays open before a probe

	mu    sync.Mutex
	state breakerState
	fails int       // consecutive given-up messages while closed
	until time.Time // open: when the next message may be the probe
	gen   uint64    // bumped by reset, so a probe started before it is ignored
}

type breakerState uint8

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen // a probe is out
)

func (s breakerState) String() string {
	switch s {
	case breakerClosed:
		return "closed"
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half-open"
	}
	return "?"
}

// verdict is what admit tells a lane to do with a message.
type verdict uint8

const (
	verdictCall  verdict = iota // closed: call with the normal retries
	verdictProbe                // the probe: one call, then report it with probed
	verdictDrop                 // open, or a probe is out: drop without a call
)

func newBreaker(failures int, openFor time.Duration) *breaker {
	return &breaker{failures: failures, openFor: openFor}
}

// admit decides the fate of the next message; with verdictProbe it also
// returns the generation to hand back to probed.
func (b *breaker) admit(now time.Time) (verdict, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerClosed:
		return verdictCall, 0
	case breakerOpen:
		if now.Before(b.until) {
			return verdictDrop, 0
		}
		b.state = breakerHalfOpen
		return verdictProbe, b.gen
	default:
		return verdictDrop, 0
	}
}

// closed reports whether normal calls may go on; a message in its retries
// stops retrying (and is dropped) once the breaker opened meanwhile.
func (b *breaker) closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == breakerClosed
}

// accepted records a normal call the gateway accepted.
func (b *breaker) accepted() {
	b.mu.Lock()
	if b.state == breakerClosed {
		b.fails = 0
	}
	b.mu.Unlock()
}

// gaveUp records a message given up after all its attempts and reports
// whether that opened the breaker.
func (b *breaker) gaveUp(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != breakerClosed {
		return false
	}
	b.fails++
	if b.fails < b.failures {
		return false
	}
	b.state, b.fails, b.until = breakerOpen, 0, now.Add(b.openFor)
	return true
}

// probed reports the probe's outcome; it is ignored when the breaker was
// reset since the probe was admitted. It reports whether the outcome counted.
func (b *breaker) probed(gen uint64, ok bool, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen || b.state != breakerHalfOpen {
		return false
	}
	if ok {
		b.state, b.fails = breakerClosed, 0
	} else {
		b.state, b.until = breakerOpen, now.Add(b.openFor)
	}
	return true
}

// reset closes the breaker and forgets the failures and any probe out.
func (b *breaker) reset() {
	b.mu.Lock()
	b.gen++
	b.state, b.fails = breakerClosed, 0
	b.mu.Unlock()
}

// current returns the state, for Stats.
func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
