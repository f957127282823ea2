package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Chart file names, the same in every directory -charts writes.
const (
	ChartLatencyCDF = "latency-cdf.svg"
	ChartDelivered  = "delivered-per-second.svg"
)

// WriteCharts writes the run's latency CDF and its per-second deliveries
// (idle-hold: heartbeat round trips and replies per second) into dir,
// creating it, and returns the files' paths.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: charts directory: %w", err)
	}
	files := []struct {
		name string
		c    *chart
	}{{ChartLatencyCDF, r.latencyChart()}, {ChartDelivered, r.seriesChart()}}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.c.svg(), 0o644); err != nil {
			return paths, fmt.Errorf("bench: write chart: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// latencyChart is the CDF of the merged push latencies (idle-hold: of the
// heartbeat round trips).
func (r *Report) latencyChart() *chart {
	h, what := r.hist, "End-to-end push latency"
	if r.Scenario.Idle {
		h, what = r.hbHist, "Heartbeat round trip"
	}
	c := cdfChart(what+", cumulative distribution", r.Title(), []namedHist{{"", h}})
	if h != nil && h.TotalCount() > 0 {
		for _, q := range []struct {
			label string
			pct   float64
		}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}} {
			v := float64(h.ValueAtQuantile(q.pct)) / 1000
			c.marks = append(c.marks, mark{point{v, q.pct}, fmt.Sprintf("%s %s ms", q.label, fmtMS(v))})
		}
	}
	return c
}

type namedHist struct {
	name string
	h    *hdrhistogram.Histogram
}

// cdfChart draws one CDF line per histogram on a log latency axis.
func cdfChart(title, subtitle string, hs []namedHist) *chart {
	c := &chart{title: title, subtitle: subtitle, xLabel: "latency (ms, log scale)",
		yLabel: "share at or below (%)", logX: true, yMin: 0, yMax: 100,
		xFmt: func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }, yFmt: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }}
	total := int64(0)
	for _, nh := range hs {
		c.series = append(c.series, series{name: nh.name, pts: cdfPoints(nh.h)})
		if nh.h != nil {
			total += nh.h.TotalCount()
		}
	}
	if total == 0 {
		c.subtitle += " (nothing was measured)"
	}
	return c
}

// cdfPoints are (latency ms, percent at or below) pairs: the exact
// cumulative count at the top of every histogram bucket that holds values,
// thinned to the points a reader could tell apart (a step of 0.2 % on the y
// axis or 0.5 % of a decade on the x axis).
func cdfPoints(h *hdrhistogram.Histogram) []point {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	total := float64(h.TotalCount())
	pts := []point{{float64(h.Min()) / 1000, 0}}
	var cum int64
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		cum += bar.Count
		p := point{float64(bar.To) / 1000, 100 * float64(cum) / total}
		last := pts[len(pts)-1]
		if cum < h.TotalCount() && p.y-last.y < 0.2 && math.Log10(p.x)-math.Log10(last.x) < 0.005 {
			continue
		}
		pts = append(pts, p)
	}
	return pts
}

// seriesChart is deliveries per second over the phase, against the offered
// load (idle-hold: heartbeat replies per second against the beat rate).
func (r *Report) seriesChart() *chart {
	sc := r.Scenario
	vals, what, unit := r.DeliveredSeries, "Deliveries per second", "deliveries/s"
	offered, offeredName := 0.0, ""
	if sc.Idle {
		what, unit, vals = "Heartbeat replies per second", "replies/s", nil
		if r.Heartbeats != nil {
			vals = r.Heartbeats.Series
		}
		if sc.Heartbeat > 0 {
			offered = float64(r.Connected) / sc.Heartbeat.Seconds()
			offeredName = fmt.Sprintf("offered: %d conns / %s = %s/s", r.Connected, sc.Heartbeat, fmtNum(offered))
		}
	} else if r.PushSeconds > 0 && r.Expected > 0 {
		offered = float64(r.Expected) / r.PushSeconds
		offeredName = fmt.Sprintf("offered: %s expected deliveries / %.1f s = %s/s", fmtNum(float64(r.Expected)), r.PushSeconds, fmtNum(offered))
	}
	c := &chart{title: what + ", counted at the receivers", subtitle: r.Title(),
		xLabel: "seconds since the phase began", yLabel: unit, xMin: 0, yMin: 0}
	// Bucket i covers [i, i+1) of the phase. The one the phase ended in
	// covers only part of a second: drawn as a count it would dive, so it is
	// scaled to a rate when it covers at least half a second, else left out.
	var pts []point
	full, frac := int(r.PhaseSeconds), r.PhaseSeconds-math.Floor(r.PhaseSeconds)
	for i, v := range vals {
		switch {
		case i < full:
			pts = append(pts, point{float64(i) + 0.5, float64(v)})
		case i == full && frac >= 0.5:
			pts = append(pts, point{float64(i) + frac/2, float64(v) / frac})
			c.subtitle += fmt.Sprintf(" (last %.2f s scaled to a rate)", frac)
		case i == full && v > 0:
			c.subtitle += fmt.Sprintf(" (last %.2f s not drawn)", frac)
		}
	}
	c.xMax = math.Max(float64(len(vals)), math.Ceil(r.PhaseSeconds))
	c.series = append(c.series, series{name: "measured, per 1 s bucket", pts: pts, dots: true})
	if offered > 0 {
		end := r.PushSeconds
		if sc.Idle {
			end = r.PhaseSeconds
		}
		c.series = append(c.series, series{name: offeredName, pts: []point{{0, offered}, {end, offered}}, dashed: true})
	}
	if len(vals) == 0 {
		c.subtitle += " (nothing was counted)"
	}
	return c
}

// fmtMS prints a latency in ms with as many decimals as it needs.
func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}
