package main

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func planOutput(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := runPlan(args, &out, &errOut)
	return out.String(), err
}

func TestPlanTable(t *testing.T) {
	out, err := planOutput(t, "-rooms", "1x10000@40", "-window", "50ms", "-msg-size", "36", "-paced", "-heartbeat", "0")
	if err != nil {
		t.Fatal(err)
	}
	// the hot room of docs/BENCHMARKS.md: 2 messages per write, 4.1 us per
	// write, 2.05 us per delivery, 0.82 cores + 0.0014 of ingest, one box
	for _, want := range []string{
		"| gateway boxes | **1** |",
		"0.821 cores in all",
		"2.05 us CPU per delivery",
		"400,000 messages/s to viewers, in 200,000 writes/s",
		"| 1x10000@40 | 1 | 10,000 | 10,000 | 40 | 2 | 104 / 122 | 4.1 | 2.05 |",
		"| batch window | 50 ms (given)",
		"## Assumptions",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	out, err := planOutput(t, "--viewers", "1000000", "--rooms", "1x100000@200,50x2000", "--zipf", "rooms=5000,s=1.1",
		"--p99", "150ms", "--cores", "16", "--memory-gib", "64", "--nofile", "1048576", "--ws-share", "0.3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Viewers   float64 `json:"viewers"`
		Boxes     int     `json:"boxes"`
		WindowMS  float64 `json:"window_ms"`
		Derived   bool    `json:"window_derived"`
		P99Target float64 `json:"p99_target_ms"`
		Groups    []struct {
			Label string  `json:"label"`
			P99MS float64 `json:"p99_ms"`
		} `json:"groups"`
		CPU struct {
			TotalCores float64 `json:"total_cores"`
		} `json:"cpu"`
		Memory struct {
			UserGiB       float64 `json:"user_gib"`
			KernelIdleGiB float64 `json:"kernel_idle_gib"`
		} `json:"memory"`
		Egress struct {
			WireGbps float64 `json:"wire_gbps"`
		} `json:"egress"`
		Input struct {
			Costs struct {
				Sources map[string]string `json:"sources"`
			} `json:"costs"`
		} `json:"input"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if r.Viewers != 1e6 || r.Boxes < 1 || !r.Derived || r.WindowMS <= 0 || r.CPU.TotalCores <= 0 ||
		r.Memory.UserGiB <= 0 || r.Memory.KernelIdleGiB <= 0 || r.Egress.WireGbps <= 0 || r.Input.Costs.Sources["write_fixed_us"] == "" {
		t.Errorf("implausible JSON: %+v", r)
	}
	// 2 explicit groups + Zipf tiers 1, 2-10, 11-100, 101-1000, 1001-5000
	if len(r.Groups) != 7 {
		t.Errorf("%d groups, want 7", len(r.Groups))
	}
	for _, g := range r.Groups {
		if g.P99MS > r.P99Target+1e-6 {
			t.Errorf("%s: p99 %g ms over the %g ms target", g.Label, g.P99MS, r.P99Target)
		}
	}
}

func TestPlanCalibrate(t *testing.T) {
	file := filepath.Join("..", "..", "plan", "testdata", "bench.jsonl")
	out, err := planOutput(t, "-rooms", "1x10000@40", "-msg-size", "36", "-paced", "-calibrate", file,
		"-calibrate-match", "conns=10000,gateway_flags=", "-kernel-kb", "3.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| RSS per connection | 1.71 KiB | " + file + " line 1",
		"| CPU per write, fixed | 3.77 us | " + file + " line 1",
		"| kernel memory per idle socket | 3.5 KiB (3,584 B) | flag -kernel-kb |",
		"Calibration run (" + file + " line 1) as the model sees it: 2 messages per write (modelled) of 104 B, 4.08 us per write; measured 2.04 us per delivery",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// -byte-ns applies before calibration: 4.085 us - 104 B x 1 ns = 3.981 us
	out, err = planOutput(t, "-rooms", "1x10000@40", "-calibrate", file, "-calibrate-match", "gateway_flags=", "-byte-ns", "1", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Input struct {
			Costs struct {
				WriteUS float64 `json:"write_fixed_us"`
			} `json:"costs"`
		} `json:"input"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Input.Costs.WriteUS < 3.980999 || r.Input.Costs.WriteUS > 3.981001 {
		t.Errorf("fixed cost %v (%v), want 3.981", r.Input.Costs.WriteUS, err)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "rooms.csv")
	if err := os.WriteFile(csv, []byte("100\nlots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no rooms"},
		{[]string{"-rooms", "50y2000"}, `-rooms: room group "50y2000"`},
		{[]string{"-zipf", "rooms=10,q=1"}, `-zipf: zipf "rooms=10,q=1": unknown key "q"`},
		{[]string{"-rooms-file", csv}, `line 2: room size "lots"`},
		{[]string{"-rooms-file", filepath.Join(dir, "none.csv")}, "no such file"},
		{[]string{"-rooms", "1x10", "-calibrate-match", "conns=1"}, "-calibrate-match needs -calibrate"},
		{[]string{"-rooms", "1x10", "-calibrate", filepath.Join(dir, "none.jsonl")}, "calibrate: open"},
		{[]string{"-rooms", "1x10", "extra"}, "unexpected arguments [extra]"},
		{[]string{"-rooms", "1x10", "-ws-share", "2"}, "WebSocket share 2 must be from 0 to 1"},
	} {
		_, err := planOutput(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("plan %q: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := planOutput(t, "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}
