package tuning

import (
	"fmt"
	"syscall"
)

// reservedFiles are descriptors a gateway needs besides client connections:
// listeners, epoll and event fds, logs, the HTTP API, outbound RPC.
const reservedFiles = 64

// FileLimit is the outcome of RaiseFileLimit.
type FileLimit struct {
	Before, After, Hard uint64
}

// MaxConns is how many client connections fit under the limit.
func (f FileLimit) MaxConns() uint64 {
	if f.After <= reservedFiles {
		return 0
	}
	return f.After - reservedFiles
}

// Caps returns a warning when the limit holds fewer than want connections.
func (f FileLimit) Caps(want uint64) error {
	if want == 0 || f.MaxConns() >= want {
		return nil
	}
	return fmt.Errorf("open-file limit %d (hard %d) allows about %d connections, %d wanted: raise the hard limit "+
		"(systemd LimitNOFILE=, ulimit -Hn, or fs.nr_open) or run more gateway processes with reuse_port",
		f.After, f.Hard, f.MaxConns(), want)
}

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit: every
// connection is a file descriptor, and the usual soft default (1024) is far too low.
func RaiseFileLimit() (FileLimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return FileLimit{}, fmt.Errorf("getrlimit: %w", err)
	}
	f := FileLimit{Before: lim.Cur, After: lim.Cur, Hard: lim.Max}
	if lim.Cur >= lim.Max {
		return f, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return f, fmt.Errorf("setrlimit to %d: %w", lim.Max, err)
	}
	f.After = lim.Max
	return f, nil
}
