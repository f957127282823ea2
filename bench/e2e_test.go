package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBenchEndToEnd builds the real binary and runs `barrage bench` as a user
// would, once per scenario family and target mode: it spawns the gateway(s)
// and two workers on loopback, runs a tiny load (200 connections, 2 s) and
// checks that the JSON report is internally consistent and, on a quiet box,
// that nothing was lost. The runs are sequential: in parallel they would
// measure each other.
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the barrage binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the binary with")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "barrage")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/barrage/barrage/cmd/barrage")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tiny := []string{"-conns", "200", "-per-worker", "100", "-settle", "300ms"}
	push := slices.Concat(tiny, []string{"-duration", "2s"})
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *Report)
	}{
		{"hot-room", slices.Concat(push, []string{"-rate", "20", "-charts", filepath.Join(dir, "charts")}), func(t *testing.T, r *Report) {
			want(t, r.Sent == 40 && r.Expected == 40*200, "40 pushes to 200 members")
			for _, f := range []string{ChartLatencyCDF, ChartDelivered} {
				b, err := os.ReadFile(filepath.Join(dir, "charts", f))
				want(t, err == nil && bytes.HasPrefix(b, []byte("<svg")), "chart %s written (%v)", f, err)
			}
		}},
		{"idle-hold", slices.Concat(tiny, []string{"-scenario", "idle-hold", "-duration", "1s", "-heartbeat", "250ms"}), func(t *testing.T, r *Report) {
			h := r.Heartbeats
			want(t, h != nil && h.Sent >= 400 && h.Replied+h.InFlight == h.Sent && h.Failed == 0, "every heartbeat replied: %+v", h)
			want(t, r.Sent == 0 && r.RSSPerConnKB > 0, "no pushes, memory measured")
		}},
		{"small-rooms", slices.Concat(push, []string{"-scenario", "small-rooms", "-rooms", "10", "-rate", "50"}), func(t *testing.T, r *Report) {
			want(t, r.Sent == 100 && r.Expected == 100*20, "100 pushes over 10 rooms of 20")
		}},
		{"per-user by key", slices.Concat(push, []string{"-scenario", "per-user", "-push-to", "keys", "-users-per-push", "5", "-rate", "50"}), func(t *testing.T, r *Report) {
			want(t, r.Sent == 100 && r.Expected == 100*5, "100 pushes to 5 users each")
		}},
		{"churn", slices.Concat(push, []string{"-scenario", "churn", "-churn-conns", "20", "-churn-rate", "20", "-rate", "20"}), func(t *testing.T, r *Report) {
			c := r.Churn
			want(t, c != nil && c.Reconnects >= 20 && c.Failed == 0, "churners reconnected without failures: %+v", c)
			want(t, r.Expected == 40*180, "only the 180 steady members are accounted")
		}},
		{"mixed", slices.Concat(push, []string{"-scenario", "mixed", "-rate", "20"}), func(t *testing.T, r *Report) {
			want(t, r.LatencyTCP != nil && r.LatencyWS != nil && r.LatencyTCP.Count == 40*100 && r.LatencyWS.Count == 40*100,
				"half the deliveries over each transport: tcp %+v ws %+v", r.LatencyTCP, r.LatencyWS)
		}},
		{"reuseport", slices.Concat(push, []string{"-target", "reuseport", "-gateways", "2", "-rate", "20"}), func(t *testing.T, r *Report) {
			gws := r.gatewayProcs()
			want(t, len(gws) == 2 && gws[0].PID != gws[1].PID, "two gateway processes measured: %+v", gws)
			want(t, gws[0].WritesPerSec > 0 && gws[1].WritesPerSec > 0, "both gateways delivered (kernel spread the connections)")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBench(ctx, t, bin, tt.args)
			consistent(t, r)
			tt.check(t, r)
		})
	}
}

// runBench runs the binary and returns its JSON report.
func runBench(ctx context.Context, t *testing.T, bin string, args []string) *Report {
	t.Helper()
	jsonPath := filepath.Join(t.TempDir(), "runs.jsonl")
	run := exec.CommandContext(ctx, bin, append([]string{"bench", "-json", jsonPath}, args...)...)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	start := time.Now()
	if err := run.Run(); err != nil {
		t.Fatalf("barrage bench %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "| connected |") {
		t.Errorf("stdout lacks the Markdown report:\n%s", stdout.String())
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(bytes.TrimSpace(raw), &r); err != nil {
		t.Fatalf("report line %q: %v", raw, err)
	}
	t.Logf("%.1fs: connected %d, sent %d, delivered %d of %d, p99 %.2fms, RSS/conn %.1fKB, CPU/delivery %.2fus",
		time.Since(start).Seconds(), r.Connected, r.Sent, r.Delivered, r.Expected, r.Latency.P99, r.RSSPerConnKB, r.CPUPerDelivUS)
	if t.Failed() {
		t.Logf("stderr:\n%s", stderr.String())
	}
	return &r
}

// consistent checks what must hold for any run on a quiet box.
func consistent(t *testing.T, r *Report) {
	t.Helper()
	want(t, r.Connected == r.Scenario.Conns && r.ConnectFailed == 0, "all %d connected (%d)", r.Scenario.Conns, r.Connected)
	want(t, r.Delivered <= r.Expected, "delivered %d <= expected %d", r.Delivered, r.Expected)
	want(t, r.PushErrors == 0, "no push errors (%s)", r.PushError)
	want(t, r.Lost == 0 && r.Duplicates == 0 && r.Unexpected == 0 && r.OrderViolations == 0,
		"no loss, duplicate, stray or reordered delivery: lost %d dup %d unexpected %d order %d", r.Lost, r.Duplicates, r.Unexpected, r.OrderViolations)
	want(t, r.Delivered == r.Expected && (r.Expected == 0 || r.Drained), "everything delivered: %d of %d", r.Delivered, r.Expected)
	want(t, r.Dropped == 0, "no connection dropped (%s)", r.FirstDrop)
	want(t, r.Measured && r.RSSAfterKB > 0 && r.CPUSeconds >= 0, "gateways measured")
	var series int64
	for _, v := range r.DeliveredSeries {
		series += v
	}
	want(t, series == r.Delivered, "per-second deliveries add up to %d, not %d", r.Delivered, series)
	if r.Expected > 0 {
		want(t, r.Latency.Count == r.Delivered && r.Latency.P50 > 0 && r.Latency.P50 <= r.Latency.P90 &&
			r.Latency.P90 <= r.Latency.P99 && r.Latency.P99 <= r.Latency.P999 && r.Latency.P999 <= r.Latency.Max,
			"latency percentiles in order: %+v", r.Latency)
	}
	workers := 0
	for _, p := range r.Processes {
		if strings.HasPrefix(p.Role, "worker") {
			workers++
		}
		want(t, p.Error == "" && p.RSSAfterKB > 0, "%s measured (%s)", p.Role, p.Error)
		if strings.HasPrefix(p.Role, "gateway") {
			want(t, p.WritesNote == "" && p.GC != nil, "%s: writes (%s) and GC (%s) read", p.Role, p.WritesNote, p.GCNote)
		}
	}
	want(t, workers == r.Workers, "%d worker processes in the report, want %d", workers, r.Workers)
}

func want(t *testing.T, ok bool, format string, a ...any) {
	t.Helper()
	if !ok {
		t.Errorf("want "+format, a...)
	}
}
