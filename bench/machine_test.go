package bench

import (
	"runtime"
	"strings"
	"testing"
)

func TestParseMachineFiles(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC   7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
	if got := parseCPUModel([]byte(cpuinfo)); got != "AMD EPYC 7B13 64-Core Processor" {
		t.Errorf("CPU model = %q", got)
	}
	if got := parseMemTotalKB([]byte("MemTotal:       24588352 kB\nMemFree: 1 kB\n")); got != 24588352 {
		t.Errorf("MemTotal = %d", got)
	}
	m := Machine{CPUs: 2, CPUModel: "AMD EPYC", MemTotalKB: 24588352, Kernel: "6.18.44", GoVersion: "go1.26.8", OpenFiles: 20000}
	if got, want := m.String(), "2 CPUs (AMD EPYC), 23.4 GiB RAM, Linux 6.18.44, go1.26.8, open-file limit 20000"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if live := ReadMachine(); live.CPUs != runtime.NumCPU() || !strings.HasPrefix(live.GoVersion, "go") {
		t.Errorf("ReadMachine = %+v", live)
	}
}
