package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

const statusFixture = `Name:	barrage
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
VmPeak:	 1335808 kB
VmSize:	 1335808 kB
VmHWM:	  210044 kB
VmRSS:	  204812 kB
RssAnon:	  190000 kB
Threads:	7
`

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "real status", in: statusFixture, want: 204812},
		{name: "VmHWM is not VmRSS", in: "VmHWM:\t 9 kB\nVmRSS:\t 7 kB\n", want: 7},
		{name: "kernel thread without VmRSS", in: "Name:\tkworker/0:1\nState:\tI (idle)\n", wantErr: "no VmRSS"},
		{name: "wrong unit", in: "VmRSS:\t 7 MB\n", wantErr: "not \"VmRSS: N kB\""},
		{name: "not a number", in: "VmRSS:\t seven kB\n", wantErr: "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestParseStatCPUTicks(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "plain command",
			in:   "5985 (barrage) S 5982 5982 30065 0 -1 4194304 122 0 0 0 1500 250 0 0 20 0 7 0 100779 3133440 406",
			want: 1750},
		{name: "command with blanks and parentheses",
			in:   "77 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7\n",
			want: 7},
		{name: "no closing parenthesis", in: "77 (barrage S 1 2", wantErr: "no ')'"},
		{name: "truncated", in: "77 (x) S 1 2 3", wantErr: "only 4 fields"},
		{name: "bad utime", in: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 4 0", wantErr: "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPUTicks([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// The readers work on a live process: this one.
func TestReadProcSelf(t *testing.T) {
	pid := os.Getpid()
	kb, err := ReadRSSKB(pid)
	if err != nil || kb <= 0 {
		t.Fatalf("ReadRSSKB(self) = %d, %v", kb, err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU so that utime moves off zero
	}
	cpu, err := ReadCPU(pid)
	if err != nil || cpu <= 0 {
		t.Fatalf("ReadCPU(self) = %s, %v", cpu, err)
	}
	if _, err := ReadRSSKB(1 << 30); err == nil {
		t.Fatal("ReadRSSKB of a pid that cannot exist succeeded")
	}
}
