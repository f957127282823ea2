package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// Machine is the box a suite ran on, as published next to its numbers.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemTotalKB int64  `json:"mem_total_kb"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	// OpenFiles is the hard open-file limit of this process (what a gateway
	// or worker may raise itself to).
	OpenFiles uint64 `json:"open_files"`
}

// ReadMachine describes this machine from /proc and the runtime; a field it
// cannot read stays empty.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = parseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotalKB = parseMemTotalKB(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		m.OpenFiles = lim.Max
	}
	return m
}

// String is one line: "2 CPUs (AMD EPYC 7B13), 23.5 GiB RAM, Linux 6.18, go1.26.8, open files 20000".
func (m Machine) String() string {
	cpu := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		cpu += " (" + m.CPUModel + ")"
	}
	mem := "memory unknown"
	if m.MemTotalKB > 0 {
		mem = fmt.Sprintf("%.1f GiB RAM", float64(m.MemTotalKB)/(1<<20))
	}
	kernel := "Linux " + m.Kernel
	if m.Kernel == "" {
		kernel = runtime.GOOS
	}
	return fmt.Sprintf("%s, %s, %s, %s, open-file limit %d", cpu, mem, kernel, m.GoVersion, m.OpenFiles)
}

// parseCPUModel returns the first "model name" of /proc/cpuinfo.
func parseCPUModel(cpuinfo []byte) string {
	for line := range bytes.SplitSeq(cpuinfo, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && string(bytes.TrimSpace(k)) == "model name" {
			return strings.Join(strings.Fields(string(v)), " ")
		}
	}
	return ""
}

// parseMemTotalKB returns MemTotal of /proc/meminfo in KiB.
func parseMemTotalKB(meminfo []byte) int64 {
	for line := range bytes.SplitSeq(meminfo, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("MemTotal:"))
		if !ok {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(string(rest), "%d", &kb); err == nil {
			return kb
		}
	}
	return 0
}
