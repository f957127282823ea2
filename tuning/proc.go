package tuning

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errMissing marks a /proc file that does not exist: a module not loaded
// (nf_conntrack), an older kernel, or a fake tree that leaves it out. The
// checker turns it into a skipped row, never a failure.
var errMissing = errors.New("not present")

// sysctlPath maps "net.core.somaxconn" to <procRoot>/sys/net/core/somaxconn.
func sysctlPath(procRoot, key string) string {
	return filepath.Join(procRoot, "sys", strings.ReplaceAll(key, ".", "/"))
}

// readSysctl returns the whitespace-separated integers of one sysctl. Values
// are int64 because fs.file-max may be LONG_MAX (9223372036854775807) on
// recent kernels.
func readSysctl(procRoot, key string, want int) ([]int64, error) {
	b, err := os.ReadFile(sysctlPath(procRoot, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMissing
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return parseInts(key, string(b), want)
}

// parseInts parses exactly want integers separated by blanks (tabs in /proc).
func parseInts(what, s string, want int) ([]int64, error) {
	f := strings.Fields(s)
	if len(f) != want {
		return nil, fmt.Errorf("%s: want %d integer(s), got %q", what, want, strings.TrimSpace(s))
	}
	out := make([]int64, want)
	for i, w := range f {
		v, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", what, w)
		}
		out[i] = v
	}
	return out, nil
}

// noFileLimit is RLIMIT_NOFILE as /proc/PID/limits shows it.
type noFileLimit struct{ Soft, Hard int64 }

// unlimited stands for "unlimited" in /proc/PID/limits; RLIMIT_NOFILE cannot
// really be unlimited (fs.nr_open caps it) but the file may say so.
const unlimited = int64(1<<63 - 1)

// readNoFile reads the "Max open files" line of <procRoot>/<pid>/limits.
func readNoFile(procRoot, pid string) (noFileLimit, error) {
	p := filepath.Join(procRoot, pid, "limits")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return noFileLimit{}, errMissing
	}
	if err != nil {
		return noFileLimit{}, fmt.Errorf("read %s: %w", p, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return noFileLimit{}, fmt.Errorf("%s: malformed line %q", p, line)
		}
		soft, err1 := parseLimit(f[0])
		hard, err2 := parseLimit(f[1])
		if err := errors.Join(err1, err2); err != nil {
			return noFileLimit{}, fmt.Errorf("%s: %w", p, err)
		}
		return noFileLimit{Soft: soft, Hard: hard}, nil
	}
	return noFileLimit{}, fmt.Errorf("%s: no \"Max open files\" line", p)
}

func parseLimit(s string) (int64, error) {
	if s == "unlimited" {
		return unlimited, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("limit %q is neither a number nor \"unlimited\"", s)
	}
	return v, nil
}

// readMeminfo returns the named fields of <procRoot>/meminfo in bytes.
func readMeminfo(procRoot string, names ...string) (map[string]int64, error) {
	p := filepath.Join(procRoot, "meminfo")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMissing
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	out := make(map[string]int64, len(names))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if n != name {
				continue
			}
			f := strings.Fields(rest)
			if len(f) == 0 {
				return nil, fmt.Errorf("%s: %s has no value", p, n)
			}
			v, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s value %q is not an integer", p, n, f[0])
			}
			if len(f) > 1 && f[1] == "kB" {
				v *= 1024
			}
			out[n] = v
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s: no %s line", p, n)
		}
	}
	return out, nil
}

// sockstat is the TCP line of /proc/net/sockstat.
type sockstat struct {
	InUse, Orphan, TW, Alloc int64
	MemPages                 int64 // TCP buffer memory, the quantity tcp_mem limits
}

func readSockstat(procRoot string) (sockstat, error) {
	p := filepath.Join(procRoot, "net", "sockstat")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return sockstat{}, errMissing
	}
	if err != nil {
		return sockstat{}, fmt.Errorf("read %s: %w", p, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		var s sockstat
		fields := map[string]*int64{"inuse": &s.InUse, "orphan": &s.Orphan, "tw": &s.TW, "alloc": &s.Alloc, "mem": &s.MemPages}
		for i := 0; i+1 < len(f); i += 2 {
			if dst, ok := fields[f[i]]; ok {
				v, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return sockstat{}, fmt.Errorf("%s: TCP %s %q is not an integer", p, f[i], f[i+1])
				}
				*dst = v
			}
		}
		return s, nil
	}
	return sockstat{}, fmt.Errorf("%s: no TCP line", p)
}

// slabCache is one line of /proc/slabinfo.
type slabCache struct {
	Active, ObjSize int64
}

// readSlabinfo returns every cache's active objects and object size. Reading
// it needs root on most systems; callers treat an error as "no breakdown".
func readSlabinfo(procRoot string) (map[string]slabCache, error) {
	p := filepath.Join(procRoot, "slabinfo")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errMissing
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	out := map[string]slabCache{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "slabinfo") || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		active, err1 := strconv.ParseInt(f[1], 10, 64)
		size, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: malformed line %q", p, line)
		}
		out[f[0]] = slabCache{Active: active, ObjSize: size}
	}
	return out, nil
}
