package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Title is a one-line description of the run's scenario.
func (r *Report) Title() string {
	sc := r.Scenario
	transport := sc.Transport
	if transport == "mixed" {
		transport = fmt.Sprintf("tcp+ws (%.0f%% ws)", 100*sc.WSFraction)
	}
	title := fmt.Sprintf("%s: %d %s conns", sc.Name, sc.Conns, transport)
	switch sc.Name {
	case ScenarioIdleHold:
		title += fmt.Sprintf(", held %s", sc.Duration)
		if sc.Heartbeat > 0 {
			title += fmt.Sprintf(" with heartbeats every %s", sc.Heartbeat)
		}
	case ScenarioSmallRooms:
		title += fmt.Sprintf(" in %d rooms, %g msg/s in all for %s", sc.Rooms, sc.Rate, sc.Duration)
	case ScenarioPerUser:
		title += fmt.Sprintf(", %g pushes/s to %d %s each for %s", sc.Rate, sc.UsersPerPush, sc.PushTo, sc.Duration)
	case ScenarioChurn:
		title += fmt.Sprintf(" (%d churning at %g/s), %g msg/s for %s", sc.ChurnConns, sc.ChurnRate, sc.Rate, sc.Duration)
	default:
		title += fmt.Sprintf(", one room, %g msg/s for %s", sc.Rate, sc.Duration)
	}
	if sc.MsgSize > 0 {
		title += fmt.Sprintf(", %d B padding", sc.MsgSize)
	}
	switch sc.Target {
	case TargetReusePort:
		title += fmt.Sprintf(", %d gateways sharing ports", sc.Gateways)
	case TargetDistributed:
		title += ", distributed stack"
	}
	if sc.GatewayFlags != "" {
		title += ", gateway " + sc.GatewayFlags
	}
	return title
}

// WriteMarkdown renders r as a two-column Markdown table, then one row per
// measured process.
func (r *Report) WriteMarkdown(w io.Writer) error {
	sc := r.Scenario
	var b strings.Builder
	fmt.Fprintf(&b, "### barrage bench %s\n\n| metric | value |\n|---|---|\n", r.Title())
	row := func(name, value string) { fmt.Fprintf(&b, "| %s | %s |\n", name, value) }
	gw := func(format string, v float64) string {
		if !r.Measured {
			return "n/a"
		}
		return fmt.Sprintf(format, v)
	}
	row("workers", fmt.Sprintf("%d (from %s)", r.Workers, strings.Join(r.SourceIPs, ", ")))
	connected := fmt.Sprintf("%d of %d", r.Connected, sc.Conns)
	if r.ConnectFailed > 0 {
		connected += fmt.Sprintf(" (%d failed: %s)", r.ConnectFailed, escapeCell(r.ConnectError))
	}
	row("connected", connected)
	if r.ConnectRetries > 0 {
		row("connect retries", fmt.Sprintf("%d (first: %s)", r.ConnectRetries, escapeCell(r.RetryError)))
	}
	row("connect rate (conns/s)", fmt.Sprintf("%.0f (%.2f s)", r.ConnectRate, r.ConnectSeconds))
	row("gateway RSS per conn (KB)", gw("%.2f", r.RSSPerConnKB))
	if r.Measured {
		row("gateway RSS before / after (MB)", fmt.Sprintf("%.1f / %.1f", float64(r.RSSBeforeKB)/1024, float64(r.RSSAfterKB)/1024))
	}
	if !sc.Idle {
		r.pushRows(row, gw)
	}
	if h := r.Heartbeats; h != nil {
		hb := fmt.Sprintf("%d / %d / %d / %d (%.0f replies/s", h.Sent, h.Replied, h.Failed, h.Late, h.RepliesPerS)
		if h.InFlight > 0 {
			hb += fmt.Sprintf("; %d in flight at stop", h.InFlight)
		}
		hb += ")"
		if h.FirstError != "" {
			hb += " first failure: " + escapeCell(h.FirstError)
		}
		row("heartbeats sent / replied / failed / late", hb)
		row("heartbeat RTT p50 / p99 / max (ms)", fmt.Sprintf("%.2f / %.2f / %.2f", h.RTT.P50, h.RTT.P99, h.RTT.Max))
		if sc.Idle {
			row("gateway CPU per heartbeat reply (us)", gw("%.2f", h.CPUPerReplyUS))
		}
	}
	if sc.Idle && r.PhaseSeconds > 0 {
		row("gateway CPU during hold (%)", gw("%.1f", r.CPUPercent))
		row("gateway write syscalls/s", gw("%.0f", r.GatewayWritesPerS))
		row("gateway GC during hold", r.gcCell())
	}
	if c := r.Churn; c != nil {
		churn := fmt.Sprintf("%d (%.0f/s), %d failed, %d skipped", c.Reconnects, c.PerSec, c.Failed, c.Skipped)
		if c.FirstError != "" {
			churn += ", first failure: " + escapeCell(c.FirstError)
		}
		row("churn reconnects", churn)
		row("churn connect p50 / p99 / max (ms)", fmt.Sprintf("%.2f / %.2f / %.2f",
			c.ConnectLatency.P50, c.ConnectLatency.P99, c.ConnectLatency.Max))
	}
	b.WriteString("\n")
	r.processTable(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) pushRows(row func(name, value string), gw func(string, float64) string) {
	sent := fmt.Sprint(r.Sent)
	if r.PushErrors > 0 {
		sent += fmt.Sprintf(" (%d push errors: %s)", r.PushErrors, escapeCell(r.PushError))
	}
	row("sent", sent)
	row("push time (s)", fmt.Sprintf("%.2f", r.PushSeconds))
	row("expected deliveries", fmt.Sprint(r.Expected))
	row("delivered", fmt.Sprintf("%d (%.2f%%)", r.Delivered, 100*r.DeliveredRatio))
	row("lost", fmt.Sprint(r.Lost))
	row("duplicates", fmt.Sprint(r.Duplicates))
	row("order violations", fmt.Sprint(r.OrderViolations))
	if r.Unexpected > 0 {
		row("unexpected", fmt.Sprint(r.Unexpected))
	}
	if r.Dropped > 0 {
		row("dropped conns", fmt.Sprintf("%d (%s)", r.Dropped, escapeCell(r.FirstDrop)))
	}
	perS := fmt.Sprintf("%.0f", r.DeliveredPerS)
	if len(r.DeliveredSeries) > 0 {
		perS += fmt.Sprintf(" (busiest second %d)", slices.Max(r.DeliveredSeries))
	}
	row("delivered/s", perS)
	row("latency p50 / p90 / p99 / p99.9 / max (ms)", latencyCell(r.Latency))
	if r.LatencyTCP != nil && r.LatencyWS != nil {
		row("latency TCP p50 / p90 / p99 / p99.9 / max (ms)", latencyCell(*r.LatencyTCP))
		row("latency WS p50 / p90 / p99 / p99.9 / max (ms)", latencyCell(*r.LatencyWS))
	}
	row("gateway CPU per delivery (us)", gw("%.3f", r.CPUPerDelivUS))
	row("gateway CPU during push (%)", gw("%.0f", r.CPUPercent))
	if r.Measured {
		row("gateway write syscalls/s (per delivery)", fmt.Sprintf("%.0f (%.3f)", r.GatewayWritesPerS, r.WritesPerDelivery))
	} else {
		row("gateway write syscalls/s (per delivery)", "n/a")
	}
	row("gateway GC during push", r.gcCell())
	row("workers CPU during push (%)", fmt.Sprintf("%.0f", r.WorkersCPUPercent))
}

func latencyCell(l Latency) string {
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f / %.2f", l.P50, l.P90, l.P99, l.P999, l.Max)
}

// gcCell summarizes the gateways' GC, or says why it is missing.
func (r *Report) gcCell() string {
	if g := r.GatewayGC; g != nil {
		return fmt.Sprintf("%d cycles, pauses %.2f ms in all, mean %.3f ms, max %.3f ms (last 256 GCs)",
			g.Cycles, g.PauseTotalMS, g.PauseMeanMS, g.PauseMaxMS)
	}
	for _, p := range r.gatewayProcs() {
		if p.GCNote != "" {
			return escapeCell(p.GCNote)
		}
	}
	return "n/a"
}

// processTable lists every measured process.
func (r *Report) processTable(b *strings.Builder) {
	if len(r.Processes) == 0 {
		return
	}
	b.WriteString("| process | pid | RSS before / after / end (MB) | CPU (%) | write syscalls/s | GC cycles, mean / max pause (ms) |\n|---|---|---|---|---|---|\n")
	mb := func(kb int64) string {
		if kb == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(kb)/1024)
	}
	for _, p := range r.Processes {
		writes := fmt.Sprintf("%.0f", p.WritesPerSec)
		if p.WritesNote != "" {
			writes = "n/a"
		}
		gc := "-"
		if p.GC != nil {
			gc = fmt.Sprintf("%d, %.3f / %.3f", p.GC.Cycles, p.GC.PauseMeanMS, p.GC.PauseMaxMS)
		}
		role := p.Role
		if p.Error != "" {
			role += " (" + escapeCell(p.Error) + ")"
		}
		fmt.Fprintf(b, "| %s | %d | %s / %s / %s | %.1f | %s | %s |\n", role, p.PID,
			mb(p.RSSBeforeKB), mb(p.RSSAfterKB), mb(p.RSSEndKB), p.CPUPercent, writes, gc)
	}
	b.WriteString("\n")
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
