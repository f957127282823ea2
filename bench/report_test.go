package bench

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	sc := DefaultScenario()
	sc.Conns, sc.Rate, sc.Duration = 100, 10, 2*time.Second
	r := &Report{Scenario: sc, Workers: 1, Connected: 100, ConnectSeconds: 0.5,
		Sent: 20, PushSeconds: 2, PhaseSeconds: 2.5,
		Latency: Latency{Count: 1990, P50: 1.5, P90: 4, P99: 9.25, P999: 10, Max: 12},
		Processes: []ProcessReport{
			{Role: "gateway", PID: 10, RSSBeforeKB: 10_000, RSSAfterKB: 12_000, RSSEndKB: 12_500, CPUSeconds: 0.4, CPUPercent: 16,
				WriteSyscalls: 1000, WritesPerSec: 400, GC: &GCReport{Cycles: 2, PauseTotalMS: 0.2, PauseMeanMS: 0.1, PauseMaxMS: 0.3}},
			{Role: "worker-0", PID: 11, RSSAfterKB: 9000, RSSEndKB: 9100, CPUSeconds: 0.5, CPUPercent: 20, WriteSyscalls: 5, WritesPerSec: 2},
		},
		DeliveredSeries: []int64{900, 1000, 95}}
	r.finishReport(Tally{Expected: 2000, Received: 1995, Unique: 1990, Lost: 10, Duplicates: 5, Reordered: 3})
	return r
}

func TestFinishReport(t *testing.T) {
	r := sampleReport()
	checks := []struct {
		name      string
		got, want float64
	}{
		{"expected", float64(r.Expected), 2000},
		{"delivered", float64(r.Delivered), 1995},
		{"lost", float64(r.Lost), 10},
		{"duplicates", float64(r.Duplicates), 5},
		{"order violations", float64(r.OrderViolations), 3},
		{"delivered ratio", r.DeliveredRatio, 0.995},
		{"delivered/s", r.DeliveredPerS, 1995 / 2.5},
		{"connect rate", r.ConnectRate, 200},
		{"RSS before (gateways only)", float64(r.RSSBeforeKB), 10_000},
		{"RSS per conn", r.RSSPerConnKB, 20},
		{"CPU per delivery", r.CPUPerDelivUS, 400_000.0 / 1995},
		{"CPU percent", r.CPUPercent, 16},
		{"workers CPU percent", r.WorkersCPUPercent, 20},
		{"gateway writes/s", r.GatewayWritesPerS, 400},
		{"writes per delivery", r.WritesPerDelivery, 1000.0 / 1995},
		{"GC cycles", float64(r.GatewayGC.Cycles), 2},
	}
	for _, c := range checks {
		if d := c.got - c.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !r.Measured {
		t.Error("a report with a gateway reading is measured")
	}
}

// Several gateways (reuseport, a stack) add up; one unreadable gateway makes
// the totals untrustworthy.
func TestFinishReportSumsGateways(t *testing.T) {
	r := &Report{Scenario: DefaultScenario(), Connected: 10, PhaseSeconds: 1, Processes: []ProcessReport{
		{Role: "gateway-0", RSSBeforeKB: 100, RSSAfterKB: 150, CPUSeconds: 1, WritesPerSec: 10, GC: &GCReport{Cycles: 1, PauseTotalMS: 1, PauseMaxMS: 2}},
		{Role: "gateway-1", RSSBeforeKB: 100, RSSAfterKB: 250, CPUSeconds: 2, WritesPerSec: 20, GC: &GCReport{Cycles: 3, PauseTotalMS: 1, PauseMaxMS: 5}},
	}}
	r.finishReport(Tally{Expected: 10, Received: 10, Unique: 10})
	if !r.Measured || r.RSSPerConnKB != 20 || r.CPUSeconds != 3 || r.GatewayWritesPerS != 30 ||
		r.GatewayGC.Cycles != 4 || r.GatewayGC.PauseMaxMS != 5 || r.GatewayGC.PauseMeanMS != 0.5 {
		t.Fatalf("sum of two gateways = %+v (gc %+v)", r, r.GatewayGC)
	}
	r.Processes[1].Error = "no such process"
	r.RSSBeforeKB, r.RSSAfterKB, r.CPUSeconds, r.GatewayWritesPerS = 0, 0, 0, 0
	r.finishReport(Tally{})
	if r.Measured {
		t.Fatal("a gateway without readings must make the report unmeasured")
	}
}

func TestWriteMarkdown(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(r *Report)
		want    []string
		notWant []string
	}{
		{name: "push run",
			want: []string{"### barrage bench hot-room: 100 tcp conns, one room, 10 msg/s for 2s",
				"| metric | value |", "| connected | 100 of 100 |", "| expected deliveries | 2000 |",
				"| delivered | 1995 (99.50%) |", "| lost | 10 |", "| duplicates | 5 |", "| order violations | 3 |",
				"| delivered/s | 798 (busiest second 1000) |",
				"| latency p50 / p90 / p99 / p99.9 / max (ms) | 1.50 / 4.00 / 9.25 / 10.00 / 12.00 |",
				"| gateway RSS per conn (KB) | 20.00 |", "| gateway CPU per delivery (us) | 200.501 |",
				"| gateway write syscalls/s (per delivery) | 400 (0.501) |",
				"| gateway GC during push | 2 cycles, pauses 0.20 ms in all, mean 0.100 ms, max 0.300 ms (last 256 GCs) |",
				"| gateway | 10 | 9.8 / 11.7 / 12.2 | 16.0 | 400 | 2, 0.100 / 0.300 |",
				"| worker-0 | 11 | - / 8.8 / 8.9 | 20.0 | 2 | - |"}},
		{name: "idle run has no push rows",
			edit: func(r *Report) {
				r.Scenario.Name, r.Scenario.Idle, r.Scenario.Heartbeat = ScenarioIdleHold, true, 5*time.Second
				r.Heartbeats = &HeartbeatReport{Sent: 42, Replied: 39, Failed: 1, InFlight: 2, RepliesPerS: 15.6, CPUPerReplyUS: 12.5,
					RTT: Latency{P50: 0.1, P99: 1, Max: 2}, FirstError: "timeout"}
			},
			want: []string{"idle-hold: 100 tcp conns, held 2s with heartbeats every 5s", "| gateway RSS per conn (KB) | 20.00 |",
				"| heartbeats sent / replied / failed / late | 42 / 39 / 1 / 0 (16 replies/s; 2 in flight at stop) first failure: timeout |",
				"| heartbeat RTT p50 / p99 / max (ms) | 0.10 / 1.00 / 2.00 |", "| gateway CPU per heartbeat reply (us) | 12.50 |"},
			notWant: []string{"| sent", "latency p50", "per delivery"}},
		{name: "unmeasured gateway",
			edit: func(r *Report) { r.Measured = false },
			want: []string{"| gateway RSS per conn (KB) | n/a |", "| gateway CPU per delivery (us) | n/a |",
				"| gateway write syscalls/s (per delivery) | n/a |"},
			notWant: []string{"RSS before / after (MB) |"}},
		{name: "mixed splits latency by transport",
			edit: func(r *Report) {
				r.Scenario.Transport, r.Scenario.WSFraction = "mixed", 0.5
				r.LatencyTCP, r.LatencyWS = &Latency{P50: 1}, &Latency{P50: 2}
			},
			want: []string{"100 tcp+ws (50% ws) conns", "| latency TCP p50 / p90 / p99 / p99.9 / max (ms) | 1.00 /",
				"| latency WS p50 / p90 / p99 / p99.9 / max (ms) | 2.00 /"}},
		{name: "churn",
			edit: func(r *Report) {
				r.Churn = &ChurnReport{Churners: 10, Reconnects: 50, PerSec: 20, Failed: 2, FirstError: "refused"}
			},
			want: []string{"| churn reconnects | 50 (20/s), 2 failed, 0 skipped, first failure: refused |"}},
		{name: "failures are explained and pipes escaped",
			edit: func(r *Report) { r.ConnectFailed, r.ConnectError = 3, "worker 0: dial | refused" },
			want: []string{`| connected | 100 of 100 (3 failed: worker 0: dial \| refused) |`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport()
			if tt.edit != nil {
				tt.edit(r)
			}
			var b strings.Builder
			if err := r.WriteMarkdown(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in:\n%s", w, out)
				}
			}
		})
	}
}

func TestAppendJSONLine(t *testing.T) {
	// A directory that does not exist yet, as bench/out/ on a fresh checkout.
	path := filepath.Join(t.TempDir(), "out", "runs.jsonl")
	for range 2 {
		if err := sampleReport().AppendJSONLine(path); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	lines := 0
	for s.Scan() {
		lines++
		var got map[string]any
		if err := json.Unmarshal(s.Bytes(), &got); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		lat, _ := got["latency"].(map[string]any)
		procs, _ := got["processes"].([]any)
		sc, _ := got["scenario"].(map[string]any)
		if got["delivered"] != 1995.0 || got["lost"] != 10.0 || got["order_violations"] != 3.0 || lat["p99_ms"] != 9.25 ||
			lat["p90_ms"] != 4.0 || len(procs) != 2 || sc["name"] != ScenarioHotRoom || got["rss_per_conn_kb"] != 20.0 ||
			got["cpu_per_delivery_us"] == nil {
			t.Fatalf("line %d lacks the counts: %s", lines, s.Bytes())
		}
	}
	if lines != 2 {
		t.Fatalf("%d lines, want 2 (one per run, appended)", lines)
	}
}
