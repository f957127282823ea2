package bench

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

const metricsFixture = `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 1.466e-05
go_gc_duration_seconds{quantile="0.5"} 1.801e-05
go_gc_duration_seconds{quantile="1"} 0.00042
go_gc_duration_seconds_sum 0.0125
go_gc_duration_seconds_count 42
go_gc_gogc_percent 100
`

func TestParseGCSummary(t *testing.T) {
	g, err := ParseGCSummary([]byte(metricsFixture))
	if err != nil {
		t.Fatal(err)
	}
	if g.count != 42 || g.sumSec != 0.0125 || g.maxSec != 0.00042 {
		t.Fatalf("parsed %+v", g)
	}
	if _, err := ParseGCSummary([]byte("process_open_fds 7\n")); err == nil || !strings.Contains(err.Error(), "no go_gc_duration_seconds") {
		t.Fatalf("metrics without the summary: %v", err)
	}
	if _, err := ParseGCSummary([]byte("go_gc_duration_seconds_sum x\n")); err == nil {
		t.Fatal("a bad value must fail")
	}
}

func TestScrapeGC(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(metricsFixture))
	}))
	defer srv.Close()
	g, err := scrapeGC(t.Context(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil || g.count != 42 {
		t.Fatalf("scrape = %+v, %v", g, err)
	}
}

func TestParseSyscw(t *testing.T) {
	n, err := ParseSyscw([]byte("rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 12345\nread_bytes: 0\n"))
	if err != nil || n != 12345 {
		t.Fatalf("ParseSyscw = %d, %v", n, err)
	}
	if _, err := ParseSyscw([]byte("rchar: 1\n")); err == nil {
		t.Fatal("no syscw line must fail")
	}
	// This process's own file: the reading the harness relies on exists here.
	if _, err := os.Stat("/proc/self/io"); err == nil {
		if _, err := ReadWriteSyscalls(os.Getpid()); err != nil {
			t.Fatalf("own /proc/PID/io: %v", err)
		}
	}
}

func TestProcTrackerReports(t *testing.T) {
	tr := &procTracker{refs: []procRef{{role: "gateway", pid: 1, metrics: "x"}, {role: "gateway-1", pid: 2}, {role: "worker-0", pid: 3}}}
	tr.before = []procSample{{rssKB: 100}, {rssKB: 100}}
	tr.after = []procSample{{rssKB: 200}, {rssKB: 300}, {rssKB: 50}}
	tr.start = []procSample{
		{cpu: time.Second, syscw: 1000, gc: &gcSample{count: 10, sumSec: 0.001, maxSec: 0.0002}},
		{cpu: time.Second, syscwErr: errors.New("permission denied")},
		{cpu: 0, syscw: 5},
	}
	tr.end = []procSample{
		{rssKB: 210, cpu: 3 * time.Second, syscw: 5000, gc: &gcSample{count: 14, sumSec: 0.003, maxSec: 0.0005}},
		{rssKB: 310, cpu: 2 * time.Second},
		{rssKB: 60, cpu: time.Second, syscw: 25},
	}
	got := tr.reports(4)
	g := got[0]
	if g.RSSBeforeKB != 100 || g.RSSAfterKB != 200 || g.RSSEndKB != 210 || g.CPUSeconds != 2 || g.CPUPercent != 50 ||
		g.WriteSyscalls != 4000 || g.WritesPerSec != 1000 || g.GC == nil || g.GC.Cycles != 4 || g.GC.PauseMeanMS != 0.5 || g.GC.PauseMaxMS != 0.5 {
		t.Errorf("gateway = %+v (gc %+v)", g, g.GC)
	}
	if g1 := got[1]; !strings.Contains(g1.WritesNote, "permission denied") || !strings.Contains(g1.GCNote, "-gateway-admin") || g1.GC != nil {
		t.Errorf("gateway-1 = %+v: want notes on writes and GC", g1)
	}
	if w := got[2]; w.RSSBeforeKB != 0 || w.CPUPercent != 25 || w.WritesPerSec != 5 || w.GCNote != "" {
		t.Errorf("worker = %+v", w)
	}
	// A process that died between readings says so.
	tr.end[2] = procSample{err: errors.New("no such process")}
	if w := tr.reports(4)[2]; w.Error != "no such process" || w.CPUSeconds != 0 {
		t.Errorf("dead worker = %+v", w)
	}
}
