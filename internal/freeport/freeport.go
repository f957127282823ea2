package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowestPort is the bottom of the window Pick draws from; ports below it are
// left to well-known services.
const lowestPort = 10000

var (
	mu    sync.Mutex
	given = map[int]bool{} // never hand the same port out twice in one process
)

// Pick returns a port on 127.0.0.1 that nothing is bound to right now and that
// the kernel will not hand to an outgoing connection.
func Pick() (int, error) {
	lo, hi := window()
	mu.Lock()
	defer mu.Unlock()
	for range 500 {
		p := lo + rand.IntN(hi-lo)
		if given[p] || !bindable(p) {
			continue
		}
		given[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("freeport: no bindable port found in %d-%d after 500 tries", lo, hi-1)
}

// Addr is Pick as "127.0.0.1:port".
func Addr() (string, error) {
	p, err := Pick()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// Addrs returns n distinct addresses from Addr.
func Addrs(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		a, err := Addr()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func bindable(p int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// window returns [lo, hi) outside the kernel's ephemeral port range: below it
// when there is room, otherwise above it.
func window() (lo, hi int) {
	elo, ehi := ephemeralRange()
	switch {
	case elo-lowestPort >= 2000:
		return lowestPort, elo
	case 65536-(ehi+1) >= 2000:
		return ehi + 1, 65536
	default: // the whole space is ephemeral; fall back to a fixed window
		return lowestPort, lowestPort + 10000
	}
}

// ephemeralRange reads ip_local_port_range, defaulting to Linux's 32768-60999.
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || l <= 0 || h < l {
		return lo, hi
	}
	return l, h
}
