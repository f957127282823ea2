package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ProcessReport is what one measured process (a gateway or a worker) used.
type ProcessReport struct {
	Role string `json:"role"`
	PID  int    `json:"pid"`
	// RSSBeforeKB is the RSS before any client connected (gateways only).
	RSSBeforeKB int64 `json:"rss_before_kb,omitempty"`
	// RSSAfterKB is the RSS once the clients connected and settled.
	RSSAfterKB int64 `json:"rss_after_kb"`
	// RSSEndKB is the RSS at the end of the phase.
	RSSEndKB int64 `json:"rss_end_kb"`
	// CPUSeconds is utime+stime during the phase; CPUPercent over its wall
	// time (100 = one core).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_percent"`
	// WriteSyscalls is the syscw delta of /proc/PID/io during the phase.
	WriteSyscalls int64   `json:"write_syscalls"`
	WritesPerSec  float64 `json:"write_syscalls_per_sec"`
	// WritesNote says why the writes could not be read, if so.
	WritesNote string `json:"write_syscalls_note,omitempty"`
	// GC is the Go GC during the phase, scraped from go_gc_duration_seconds on
	// the process's /metrics; GCNote says why it is missing.
	GC     *GCReport `json:"gc,omitempty"`
	GCNote string    `json:"gc_note,omitempty"`
	// Error says which reading failed (the process died, say).
	Error string `json:"error,omitempty"`
}

// GCReport is a process's garbage collection during the phase.
type GCReport struct {
	Cycles       int64   `json:"cycles"`
	PauseTotalMS float64 `json:"pause_total_ms"`
	PauseMeanMS  float64 `json:"pause_mean_ms"`
	// PauseMaxMS is the longest stop-the-world pause among the process's last
	// 256 collections (the summary's quantile 1, from debug.ReadGCStats).
	PauseMaxMS float64 `json:"pause_max_ms"`
}

// gcSample is one scrape of go_gc_duration_seconds.
type gcSample struct {
	count  int64
	sumSec float64
	maxSec float64
}

// procSample is one reading of a process.
type procSample struct {
	rssKB    int64
	cpu      time.Duration
	syscw    int64
	syscwErr error
	gc       *gcSample
	gcErr    error
	err      error // RSS or CPU could not be read
}

// gcScrapeTimeout bounds one /metrics request.
const gcScrapeTimeout = 3 * time.Second

// sampleProc reads RSS and CPU, and with full also the write syscalls and
// (if the process serves /metrics) the GC summary.
func sampleProc(ctx context.Context, p procRef, full bool) procSample {
	var s procSample
	if s.rssKB, s.err = ReadRSSKB(p.pid); s.err != nil {
		return s
	}
	if s.cpu, s.err = ReadCPU(p.pid); s.err != nil {
		return s
	}
	if !full {
		return s
	}
	s.syscw, s.syscwErr = ReadWriteSyscalls(p.pid)
	if p.metrics != "" {
		g, err := scrapeGC(ctx, p.metrics)
		s.gc, s.gcErr = &g, err
		if err != nil {
			s.gc = nil
		}
	}
	return s
}

// scrapeGC fetches http://addr/metrics and reads go_gc_duration_seconds.
func scrapeGC(ctx context.Context, addr string) (gcSample, error) {
	ctx, cancel := context.WithTimeout(ctx, gcScrapeTimeout)
	defer cancel()
	url := "http://" + addr + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return gcSample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gcSample{}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return gcSample{}, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return gcSample{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	g, err := ParseGCSummary(body)
	if err != nil {
		return gcSample{}, fmt.Errorf("GET %s: %w", url, err)
	}
	return g, nil
}

// ParseGCSummary reads the go_gc_duration_seconds summary (sum, count and
// quantile 1) from a Prometheus text exposition.
func ParseGCSummary(text []byte) (gcSample, error) {
	var g gcSample
	var haveSum, haveCount bool
	s := bufio.NewScanner(bytes.NewReader(text))
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, "go_gc_duration_seconds") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return g, fmt.Errorf("metric line %q: %w", line, err)
		}
		switch name {
		case "go_gc_duration_seconds_sum":
			g.sumSec, haveSum = v, true
		case "go_gc_duration_seconds_count":
			g.count, haveCount = int64(v), true
		case `go_gc_duration_seconds{quantile="1"}`:
			g.maxSec = v
		}
	}
	if !haveSum || !haveCount {
		return g, fmt.Errorf("no go_gc_duration_seconds summary (is the Go collector registered?)")
	}
	return g, nil
}

// procTracker holds the readings of every measured process across the phases.
type procTracker struct {
	refs                      []procRef
	before, after, start, end []procSample
}

func newProcTracker(gateways []procRef) *procTracker {
	return &procTracker{refs: append([]procRef(nil), gateways...)}
}

// addWorkers measures the workers too from now on (they have no "before").
func (t *procTracker) addWorkers(ws []*workerProc) {
	for _, w := range ws {
		t.refs = append(t.refs, procRef{role: fmt.Sprintf("worker-%d", w.idx), pid: w.cmd.Process.Pid})
	}
}

func (t *procTracker) sample(ctx context.Context, full bool) []procSample {
	out := make([]procSample, len(t.refs))
	for i, p := range t.refs {
		out[i] = sampleProc(ctx, p, full)
	}
	return out
}

// reports turns the readings into one ProcessReport per process.
func (t *procTracker) reports(phaseSeconds float64) []ProcessReport {
	get := func(ss []procSample, i int) *procSample {
		if i < len(ss) {
			return &ss[i]
		}
		return nil
	}
	out := make([]ProcessReport, 0, len(t.refs))
	for i, p := range t.refs {
		r := ProcessReport{Role: p.role, PID: p.pid}
		var errs []string
		for _, s := range []*procSample{get(t.before, i), get(t.after, i), get(t.start, i), get(t.end, i)} {
			if s != nil && s.err != nil {
				errs = append(errs, s.err.Error())
			}
		}
		if len(errs) > 0 {
			r.Error = errs[0]
		}
		if b := get(t.before, i); b != nil && b.err == nil {
			r.RSSBeforeKB = b.rssKB
		}
		if a := get(t.after, i); a != nil && a.err == nil {
			r.RSSAfterKB = a.rssKB
		}
		s, e := get(t.start, i), get(t.end, i)
		if e != nil && e.err == nil {
			r.RSSEndKB = e.rssKB
		}
		if s != nil && e != nil && s.err == nil && e.err == nil {
			r.CPUSeconds = (e.cpu - s.cpu).Seconds()
			if phaseSeconds > 0 {
				r.CPUPercent = 100 * r.CPUSeconds / phaseSeconds
			}
			r.fillWrites(s, e, phaseSeconds)
			r.fillGC(p, s, e)
		}
		out = append(out, r)
	}
	return out
}

func (r *ProcessReport) fillWrites(s, e *procSample, phaseSeconds float64) {
	switch {
	case s.syscwErr != nil:
		r.WritesNote = s.syscwErr.Error()
	case e.syscwErr != nil:
		r.WritesNote = e.syscwErr.Error()
	default:
		r.WriteSyscalls = e.syscw - s.syscw
		if phaseSeconds > 0 {
			r.WritesPerSec = float64(r.WriteSyscalls) / phaseSeconds
		}
	}
}

func (r *ProcessReport) fillGC(p procRef, s, e *procSample) {
	switch {
	case p.metrics == "":
		if strings.HasPrefix(p.role, "gateway") {
			r.GCNote = "not read: no /metrics address for this process (-gateway-admin)"
		}
	case s.gcErr != nil:
		r.GCNote = "not read: " + s.gcErr.Error()
	case e.gcErr != nil:
		r.GCNote = "not read: " + e.gcErr.Error()
	case s.gc != nil && e.gc != nil:
		g := &GCReport{Cycles: e.gc.count - s.gc.count, PauseTotalMS: 1000 * (e.gc.sumSec - s.gc.sumSec), PauseMaxMS: 1000 * e.gc.maxSec}
		if g.Cycles > 0 {
			g.PauseMeanMS = g.PauseTotalMS / float64(g.Cycles)
		}
		r.GC = g
	}
}
