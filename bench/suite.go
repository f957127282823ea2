package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SuiteStandard is the name of the standard suite (-suite standard).
const SuiteStandard = "standard"

// suitePause lets the box settle between two runs (the last run's sockets
// close, its processes exit).
const suitePause = 2 * time.Second

// SuiteEntry is one run of a suite: a label, a directory name for its charts,
// and the `barrage bench` arguments that reproduce it alone.
type SuiteEntry struct {
	Label string
	Slug  string
	Args  []string
}

// StandardSuite is what `barrage bench -suite standard` (and `make bench`)
// runs: the issue-2 targets plus one run per scenario family, about three
// minutes on a 2-core box.
var StandardSuite = []SuiteEntry{
	{"idle-hold, 19,000 conns", "idle-hold",
		[]string{"-scenario", "idle-hold", "-conns", "19000", "-per-worker", "5000", "-heartbeat", "5s", "-duration", "10s"}},
	{"hot-room, 10k conns x 40 msg/s", "hot-room-10k",
		[]string{"-scenario", "hot-room", "-conns", "10000", "-rate", "40", "-duration", "10s"}},
	{"hot-room, 10k x 40 msg/s, goim batching (1 s / 20 msgs)", "hot-room-10k-goim-batching",
		[]string{"-scenario", "hot-room", "-conns", "10000", "-rate", "40", "-duration", "10s",
			"-gateway-flags", "-gateway.batch_fixed=true -gateway.batch_window=1s -gateway.batch_max_messages=20"}},
	{"hot-room, 1k conns x 10 msg/s", "hot-room-1k",
		[]string{"-scenario", "hot-room", "-conns", "1000", "-rate", "10", "-duration", "10s"}},
	{"small-rooms, 10k conns in 100 rooms, 1,000 msg/s", "small-rooms",
		[]string{"-scenario", "small-rooms", "-conns", "10000", "-rooms", "100", "-rate", "1000", "-duration", "10s"}},
	{"per-user, 10k conns, 1,000 pushes/s x 10 mids", "per-user",
		[]string{"-scenario", "per-user", "-conns", "10000", "-push-to", "mids", "-users-per-push", "10", "-rate", "1000", "-duration", "10s"}},
	{"churn, 5k conns (500 reconnecting 200/s), 20 msg/s", "churn",
		[]string{"-scenario", "churn", "-conns", "5000", "-churn-conns", "500", "-churn-rate", "200", "-rate", "20", "-duration", "10s"}},
	{"mixed, 10k conns (half WebSocket) x 40 msg/s", "mixed",
		[]string{"-scenario", "mixed", "-conns", "10000", "-ws-fraction", "0.5", "-rate", "40", "-duration", "10s"}},
}

// SuiteResult is one completed (or failed) run of a suite.
type SuiteResult struct {
	Entry  SuiteEntry
	Report *Report // nil when the run failed
	Err    error
}

// RunSuite runs every entry of the standard suite in turn. opts carries the
// outputs: JSONFile gets every report, ChartsDir one directory of charts per
// run plus the combined latency CDF and standard.md (the Markdown section),
// UpdateDoc the section between its markers. Each run's Markdown goes to out
// as it completes, then the section. A failed run is reported and the suite
// goes on; the error lists the failures.
func RunSuite(ctx context.Context, opts Scenario, env Env, out io.Writer) error {
	env.withDefaults()
	machine := ReadMachine()
	began := time.Now()
	var results []SuiteResult
	var errs []error
	for i, e := range StandardSuite {
		if i > 0 {
			if err := sleepCtx(ctx, suitePause); err != nil {
				return err
			}
		}
		env.Log.Info("bench suite: run", "n", i+1, "of", len(StandardSuite), "scenario", e.Label)
		res := SuiteResult{Entry: e}
		sc, err := ParseFlags(e.Args, io.Discard)
		if err == nil {
			res.Report, err = Run(ctx, sc, env)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			res.Err = err
			errs = append(errs, fmt.Errorf("%s: %w", e.Label, err))
		}
		if r := res.Report; r != nil {
			errs = append(errs, r.WriteMarkdown(out))
			if opts.JSONFile != "" {
				errs = append(errs, r.AppendJSONLine(opts.JSONFile))
			}
			if opts.ChartsDir != "" {
				_, err := r.WriteCharts(filepath.Join(opts.ChartsDir, e.Slug))
				errs = append(errs, err)
			}
		}
		results = append(results, res)
	}
	s := suiteSection{results: results, machine: machine, command: env.Command, began: began, took: time.Since(began)}
	if opts.ChartsDir != "" {
		errs = append(errs, writeCombinedCDF(opts.ChartsDir, results))
		s.charts = "."
		errs = append(errs, os.WriteFile(filepath.Join(opts.ChartsDir, "standard.md"), []byte(s.markdown()), 0o644))
	}
	if opts.UpdateDoc != "" {
		s.charts = ""
		if opts.ChartsDir != "" {
			rel, err := filepath.Rel(filepath.Dir(opts.UpdateDoc), opts.ChartsDir)
			if err != nil {
				rel = opts.ChartsDir
			}
			s.charts = filepath.ToSlash(rel)
		}
		errs = append(errs, UpdateDocRegion(opts.UpdateDoc, s.markdown()))
	}
	s.charts = filepath.ToSlash(opts.ChartsDir)
	_, err := io.WriteString(out, s.markdown())
	errs = append(errs, err)
	return errors.Join(errs...)
}

// writeCombinedCDF draws every push run's latency CDF on one chart.
func writeCombinedCDF(dir string, results []SuiteResult) error {
	var hs []namedHist
	for _, r := range results {
		if r.Report != nil && !r.Report.Scenario.Idle && r.Report.hist != nil {
			hs = append(hs, namedHist{r.Entry.Label, r.Report.hist})
		}
	}
	c := cdfChart("End-to-end push latency, cumulative distribution, standard suite", "one line per run", hs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ChartLatencyCDF), c.svg(), 0o644)
}

// suiteSection renders the suite's Markdown section.
type suiteSection struct {
	results []SuiteResult
	machine Machine
	command string
	began   time.Time
	took    time.Duration
	charts  string // charts directory relative to the Markdown file; "" for none
}

func (s suiteSection) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Standard suite\n\n")
	fmt.Fprintf(&b, "Generated by `%s` on %s (%s in all). Machine: %s. Gateway and load generator share the box.\n\n",
		s.command, s.began.UTC().Format("2006-01-02 15:04 UTC"), s.took.Round(time.Second), s.machine)
	b.WriteString("| run | conns (connect rate) | delivered (lost / dup / order) | delivered/s | latency p50 / p90 / p99 / p99.9 / max (ms) | gateway RSS/conn (KB) | gateway CPU/delivery (us) | gateway CPU (%) | gateway writes/s (per delivery) | gateway GC (cycles, max pause ms) | workers CPU (%) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range s.results {
		b.WriteString(suiteRow(r))
	}
	b.WriteString("\nEach run alone:\n\n")
	for _, r := range s.results {
		fmt.Fprintf(&b, "- %s: `barrage bench %s`\n", r.Entry.Label, ShellJoin(r.Entry.Args))
	}
	var notes []string
	for _, r := range s.results {
		if r.Report == nil {
			continue
		}
		if x := r.Report.extraNote(); x != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s\n", r.Entry.Label, x))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n" + strings.Join(notes, ""))
	}
	if s.charts != "" {
		fmt.Fprintf(&b, "\n![latency CDF of every push run](%s/%s)\n\n", s.charts, ChartLatencyCDF)
		b.WriteString("Per run: ")
		var links []string
		for _, r := range s.results {
			if r.Report == nil {
				continue
			}
			links = append(links, fmt.Sprintf("%s ([latency](%s/%s/%s), [per second](%s/%s/%s))", r.Entry.Slug,
				s.charts, r.Entry.Slug, ChartLatencyCDF, s.charts, r.Entry.Slug, ChartDelivered))
		}
		b.WriteString(strings.Join(links, ", ") + ".\n")
	}
	b.WriteString("\n<details><summary>Full reports</summary>\n\n")
	for _, r := range s.results {
		if r.Report == nil {
			continue
		}
		_ = r.Report.WriteMarkdown(&b)
	}
	b.WriteString("</details>\n")
	return b.String()
}

// suiteColumns is the number of columns of the summary table.
const suiteColumns = 11

// suiteRow is one run's row of the summary table.
func suiteRow(res SuiteResult) string {
	if res.Report == nil {
		return fmt.Sprintf("| %s | failed: %s |%s\n", res.Entry.Label, escapeCell(fmt.Sprint(res.Err)), strings.Repeat(" |", suiteColumns-2))
	}
	r := res.Report
	na := func(format string, v float64) string {
		if !r.Measured {
			return "n/a"
		}
		return fmt.Sprintf(format, v)
	}
	conns := fmt.Sprintf("%d (%.0f/s)", r.Connected, r.ConnectRate)
	if r.ConnectFailed > 0 {
		conns += fmt.Sprintf(", %d failed", r.ConnectFailed)
	}
	delivered, perS, lat, cpuPer := "", "", "", ""
	if r.Scenario.Idle {
		if h := r.Heartbeats; h != nil {
			// Beats in flight when the run stopped had no chance to be answered.
			delivered = fmt.Sprintf("heartbeats: %d of %d replied", h.Replied, h.Sent-h.InFlight)
			perS = fmt.Sprintf("%.0f replies", h.RepliesPerS)
			lat = "heartbeat RTT " + latencyCell(h.RTT)
			cpuPer = na("%.2f per reply", h.CPUPerReplyUS)
		}
	} else {
		delivered = fmt.Sprintf("%.2f%% of %d (%d / %d / %d)", 100*r.DeliveredRatio, r.Expected, r.Lost, r.Duplicates, r.OrderViolations)
		perS = fmt.Sprintf("%.0f", r.DeliveredPerS)
		lat = latencyCell(r.Latency)
		cpuPer = na("%.3f", r.CPUPerDelivUS)
	}
	writes := "n/a"
	if r.Measured {
		writes = fmt.Sprintf("%.0f", r.GatewayWritesPerS)
		if !r.Scenario.Idle {
			writes += fmt.Sprintf(" (%.3f)", r.WritesPerDelivery)
		}
	}
	gc := "n/a"
	if g := r.GatewayGC; g != nil {
		gc = fmt.Sprintf("%d, %.2f", g.Cycles, g.PauseMaxMS)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", res.Entry.Label, conns, delivered, perS, lat,
		na("%.2f", r.RSSPerConnKB), cpuPer, na("%.0f", r.CPUPercent), writes, gc, r.WorkersCPUPercent)
}

// extraNote is what a summary row cannot hold: churn, transports, drops.
func (r *Report) extraNote() string {
	var notes []string
	if c := r.Churn; c != nil {
		notes = append(notes, fmt.Sprintf("%d reconnects (%.0f/s), %d failed, %d skipped, reconnect p50 %.2f ms / p99 %.2f ms",
			c.Reconnects, c.PerSec, c.Failed, c.Skipped, c.ConnectLatency.P50, c.ConnectLatency.P99))
	}
	if r.LatencyTCP != nil && r.LatencyWS != nil {
		notes = append(notes, fmt.Sprintf("p99 TCP %.2f ms, WebSocket %.2f ms", r.LatencyTCP.P99, r.LatencyWS.P99))
	}
	if r.Dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d connections dropped (%s)", r.Dropped, r.FirstDrop))
	}
	if r.Unexpected > 0 {
		notes = append(notes, fmt.Sprintf("%d unexpected deliveries", r.Unexpected))
	}
	if len(notes) == 0 {
		return ""
	}
	return strings.Join(notes, "; ") + "."
}

// ShellJoin joins args into a command line a POSIX shell splits back into
// the same arguments, quoting those that need it.
func ShellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
