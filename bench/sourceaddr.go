package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
)

// Why source addresses are picked, not fixed: workers close their connections
// first, so every run leaves one TIME_WAIT socket per connection on the
// worker's source address for a minute (tcp_fin_timeout). A bind to port 0
// cannot reuse those ports, so a second run from the same address right after
// the first finds most of its ~28k ephemeral ports taken: connecting slows
// down several-fold, and then fails. The driver therefore gives each worker
// the next address of 127.0.0.2, 127.0.0.3, ... that holds few sockets.

// busySourceSockets is the most sockets an address may already hold for a
// worker to be given it.
const busySourceSockets = 1000

// ParseProcNetTCP counts the sockets (any state) per local IPv4 address in
// the text of /proc/net/tcp. The kernel prints each address as the hex of its
// four bytes read as a host-order integer.
func ParseProcNetTCP(text []byte) (map[netip.Addr]int, error) {
	counts := map[netip.Addr]int{}
	for i, line := range bytes.Split(text, []byte("\n")) {
		fields := bytes.Fields(line)
		if i == 0 || len(fields) < 2 {
			continue // header or blank
		}
		hostport := fields[1]
		colon := bytes.IndexByte(hostport, ':')
		if colon != 8 {
			return nil, fmt.Errorf("line %d: local address %q is not HEX8:PORT", i+1, hostport)
		}
		var raw [4]byte
		if _, err := hex.Decode(raw[:], hostport[:8]); err != nil {
			return nil, fmt.Errorf("line %d: local address %q: %w", i+1, hostport, err)
		}
		var ip [4]byte
		binary.NativeEndian.PutUint32(ip[:], binary.BigEndian.Uint32(raw[:]))
		counts[netip.AddrFrom4(ip)]++
	}
	return counts, nil
}

// pickSourceIPs returns n addresses from 127.0.0.2 up, skipping those with
// busySourceSockets or more sockets in counts.
func pickSourceIPs(n int, counts map[netip.Addr]int) ([]string, error) {
	ips := make([]string, 0, n)
	busy := 0
	for last := 2; last <= 254 && len(ips) < n; last++ {
		a := netip.AddrFrom4([4]byte{127, 0, 0, byte(last)})
		if counts[a] >= busySourceSockets {
			busy++
			continue
		}
		ips = append(ips, a.String())
	}
	if len(ips) < n {
		return nil, fmt.Errorf("bench: %d workers need as many source addresses, but only %d of 127.0.0.2-254 hold fewer than %d sockets (%d are busy, likely TIME_WAIT from recent runs: wait a minute)",
			n, len(ips), busySourceSockets, busy)
	}
	return ips, nil
}

// sourceIPs picks the workers' source addresses from the live socket table.
// Without /proc/net/tcp it falls back to 127.0.0.2, 127.0.0.3, ...
func sourceIPs(n int) ([]string, error) {
	counts := map[netip.Addr]int{}
	if text, err := os.ReadFile("/proc/net/tcp"); err == nil {
		if c, err := ParseProcNetTCP(text); err == nil {
			counts = c
		}
	}
	return pickSourceIPs(n, counts)
}
