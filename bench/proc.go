package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. Linux
// fixes it at 100 for user space on every architecture Go supports.
const clockTicks = 100

// ReadRSSKB returns the resident set size of process pid in KiB (VmRSS).
func ReadRSSKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read RSS of pid %d: %w", pid, err)
	}
	kb, err := ParseVmRSS(b)
	if err != nil {
		return 0, fmt.Errorf("bench: /proc/%d/status: %w", pid, err)
	}
	return kb, nil
}

// ReadCPU returns the CPU time (user + system) process pid has used so far.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read CPU time of pid %d: %w", pid, err)
	}
	ticks, err := ParseStatCPUTicks(b)
	if err != nil {
		return 0, fmt.Errorf("bench: /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// ParseVmRSS finds the "VmRSS:   1234 kB" line of a /proc/PID/status text and
// returns the number (KiB).
func ParseVmRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("VmRSS line %q is not \"VmRSS: N kB\"", line)
		}
		n, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", line, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no VmRSS line (a kernel thread or a zombie has none)")
}

// ParseStatCPUTicks returns utime + stime (fields 14 and 15) of a
// /proc/PID/stat line, in clock ticks. The command name (field 2) is in
// parentheses and may itself hold blanks and parentheses, so fields are counted
// from the last ')'.
func ParseStatCPUTicks(stat []byte) (int64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("no ')' closing the command name in %q", truncate(stat, 80))
	}
	// After ')' come fields 3 (state), 4, ...: utime is field 14, index 11 here.
	fields := bytes.Fields(stat[end+1:])
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(fields) <= stimeIdx {
		return 0, fmt.Errorf("only %d fields after the command name, want at least %d", len(fields), stimeIdx+1)
	}
	utime, err := strconv.ParseInt(string(fields[utimeIdx]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(string(fields[stimeIdx]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ReadWriteSyscalls returns the write syscalls process pid has made so far:
// the syscw line of /proc/PID/io. It counts write(2) and writev(2) (what the
// gateway's event loops use on sockets), not sendmsg(2). The file is readable
// for one's own processes without privileges.
func ReadWriteSyscalls(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read write syscalls of pid %d: %w", pid, err)
	}
	n, err := ParseSyscw(b)
	if err != nil {
		return 0, fmt.Errorf("bench: /proc/%d/io: %w", pid, err)
	}
	return n, nil
}

// ParseSyscw finds the "syscw: N" line of a /proc/PID/io text.
func ParseSyscw(io []byte) (int64, error) {
	for line := range bytes.SplitSeq(io, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("syscw:"))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("syscw line %q: %w", line, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no syscw line")
}
