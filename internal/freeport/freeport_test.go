package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickIsOutsideTheEphemeralRangeAndBindable(t *testing.T) {
	elo, ehi := ephemeralRange()
	seen := map[int]bool{}
	for range 50 {
		p, err := Pick()
		if err != nil {
			t.Fatal(err)
		}
		if p >= elo && p <= ehi {
			t.Fatalf("port %d is inside the ephemeral range %d-%d", p, elo, ehi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("picked port %d does not bind: %v", p, err)
		}
		ln.Close()
	}
}

func TestPickSkipsABoundPort(t *testing.T) {
	p, err := Pick()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mu.Lock()
	delete(given, p) // forget it, so only the bind check can keep it out
	mu.Unlock()
	if bindable(p) {
		t.Fatalf("port %d reported bindable while a listener holds it", p)
	}
}

func TestWindowHasRoom(t *testing.T) {
	lo, hi := window()
	if hi-lo < 2000 || lo < lowestPort || hi > 65536 {
		t.Fatalf("window [%d,%d) is too small or out of bounds", lo, hi)
	}
}
