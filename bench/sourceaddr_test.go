package bench

import (
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

const procNetTCPFixture = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0C1D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6762 1 0000000009ec3289 100 0 0 10 0
   1: 0200007F:8CA0 0100007F:0C1D 06 00000000:00000000 03:00000F5A 00000000     0        0 0 3 0000000000000000
   2: 0200007F:8CA1 0100007F:0C1D 06 00000000:00000000 03:00000F5A 00000000     0        0 0 3 0000000000000000
   3: 0300007F:8CA1 0100007F:0C1D 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 20 4 30 10 -1
`

func TestParseProcNetTCP(t *testing.T) {
	if !littleEndianHost() {
		t.Skip("fixture written for a little-endian host")
	}
	got, err := ParseProcNetTCP([]byte(procNetTCPFixture))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"127.0.0.1": 1, "127.0.0.2": 2, "127.0.0.3": 1}
	if len(got) != len(want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	for ip, n := range want {
		if got[netip.MustParseAddr(ip)] != n {
			t.Errorf("%s: %d sockets, want %d", ip, got[netip.MustParseAddr(ip)], n)
		}
	}
	if _, err := ParseProcNetTCP([]byte("header\n 0: 7F:1 0:0 0A\n")); err == nil || !strings.Contains(err.Error(), "HEX8:PORT") {
		t.Errorf("short address: err = %v", err)
	}
	if _, err := ParseProcNetTCP([]byte("header\n 0: 0100007G:0C1D 0:0 0A\n")); err == nil {
		t.Error("bad hex accepted")
	}
}

func TestParseLiveProcNetTCP(t *testing.T) {
	text, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp")
	}
	if _, err := ParseProcNetTCP(text); err != nil {
		t.Fatalf("the live socket table does not parse: %v", err)
	}
}

func TestPickSourceIPs(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		n       int
		counts  map[netip.Addr]int
		want    []string
		wantErr string
	}{
		{name: "fresh box", n: 3, want: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
		{name: "skips addresses full of TIME_WAIT", n: 2,
			counts: map[netip.Addr]int{a("127.0.0.2"): 4750, a("127.0.0.3"): busySourceSockets, a("127.0.0.4"): 999},
			want:   []string{"127.0.0.4", "127.0.0.5"}},
		{name: "too many workers", n: 254, wantErr: "only 253 of 127.0.0.2-254"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickSourceIPs(tt.n, tt.counts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func littleEndianHost() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}
