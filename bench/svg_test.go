package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgDoc is what a test needs to know of a rendered chart.
type svgDoc struct {
	root      string
	elements  map[string]int
	texts     []string
	polylines []string // points attributes
}

// parseSVG fails the test unless b is well-formed XML with an <svg> root.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	d := svgDoc{elements: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var inText bool
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if d.root == "" {
				d.root = el.Name.Local
				if el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q, want the SVG namespace", el.Name.Space)
				}
			}
			d.elements[el.Name.Local]++
			if el.Name.Local == "text" {
				inText = true
				text.Reset()
			}
			if el.Name.Local == "polyline" {
				for _, a := range el.Attr {
					if a.Name.Local == "points" {
						d.polylines = append(d.polylines, a.Value)
					}
				}
			}
		case xml.CharData:
			if inText {
				text.Write(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" {
				inText = false
				d.texts = append(d.texts, text.String())
			}
		}
	}
	if d.root != "svg" {
		t.Fatalf("root element %q, want svg", d.root)
	}
	return d
}

func (d svgDoc) hasText(s string) bool {
	return slices.ContainsFunc(d.texts, func(t string) bool { return strings.Contains(t, s) })
}

func chartReport(t *testing.T) *Report {
	t.Helper()
	r := sampleReport()
	h := newLatencyHistogram()
	for i := range 1000 {
		_ = h.RecordValue(int64(200 + 50*i)) // 0.2 ms .. 50 ms
	}
	r.hist = h
	r.Latency = summarize(h)
	r.PhaseSeconds = 3.4
	return r
}

func TestLatencyCDFChart(t *testing.T) {
	r := chartReport(t)
	r.Scenario.Name = `a <"hot"> & room` // escaped, not breaking the XML
	d := parseSVG(t, r.latencyChart().svg())
	if d.elements["polyline"] != 1 || d.elements["circle"] != 4 {
		t.Errorf("%d lines and %d marks, want 1 CDF line and 4 percentile marks", d.elements["polyline"], d.elements["circle"])
	}
	for _, want := range []string{"End-to-end push latency, cumulative distribution", "latency (ms, log scale)",
		"share at or below (%)", "100%", "0%", "0.1", "1", "10", "p50 25", "p99 49", `a <"hot"> & room`} {
		if !d.hasText(want) {
			t.Errorf("no text %q among %q", want, d.texts)
		}
	}
	// The CDF only rises: x and y never go backwards along the line.
	pts := strings.Fields(d.polylines[0])
	if len(pts) < 10 {
		t.Fatalf("CDF line has %d points", len(pts))
	}
	lastX, lastY := math.Inf(-1), math.Inf(1)
	for _, p := range pts {
		xs, ys, _ := strings.Cut(p, ",")
		x, errX := strconv.ParseFloat(xs, 64)
		y, errY := strconv.ParseFloat(ys, 64)
		if errX != nil || errY != nil {
			t.Fatalf("point %q is not x,y", p)
		}
		if x < lastX || y > lastY { // SVG y grows downwards
			t.Fatalf("CDF goes backwards at %q", p)
		}
		lastX, lastY = x, y
	}
}

func TestDeliveredSeriesChart(t *testing.T) {
	r := chartReport(t)
	r.DeliveredSeries = []int64{900, 1000, 980, 40}
	d := parseSVG(t, r.seriesChart().svg())
	if d.elements["polyline"] != 2 {
		t.Fatalf("%d lines, want measured and offered", d.elements["polyline"])
	}
	if d.elements["circle"] != 3 {
		t.Errorf("%d dots, want one per whole second (3 of 3.4 s)", d.elements["circle"])
	}
	for _, want := range []string{"Deliveries per second, counted at the receivers", "seconds since the phase began",
		"deliveries/s", "measured, per 1 s bucket", "offered: 2000 expected deliveries / 2.0 s = 1000/s", "(last 0.40 s not drawn)"} {
		if !d.hasText(want) {
			t.Errorf("no text %q among %q", want, d.texts)
		}
	}
	// A last bucket of at least half a second is drawn, as a rate.
	r.PhaseSeconds = 3.5
	d = parseSVG(t, r.seriesChart().svg())
	if d.elements["circle"] != 4 || !d.hasText("(last 0.50 s scaled to a rate)") {
		t.Errorf("%d dots and texts %q: want the half second drawn and said so", d.elements["circle"], d.texts)
	}
}

func TestChartsOfAnIdleRunShowHeartbeats(t *testing.T) {
	r := chartReport(t)
	r.Scenario.Name, r.Scenario.Idle, r.Scenario.Heartbeat = ScenarioIdleHold, true, time.Second
	r.hbHist, r.hist = r.hist, nil
	r.Heartbeats = &HeartbeatReport{Series: []int64{100, 100, 100}}
	dir := t.TempDir()
	paths, err := r.WriteCharts(filepath.Join(dir, "idle"))
	if err != nil || len(paths) != 2 {
		t.Fatalf("WriteCharts = %v, %v", paths, err)
	}
	cdf, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := parseSVG(t, cdf); !d.hasText("Heartbeat round trip") {
		t.Errorf("idle CDF is not about heartbeats: %q", d.texts)
	}
	ts, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := parseSVG(t, ts); !d.hasText("Heartbeat replies per second") || !d.hasText("offered: 100 conns / 1s = 100/s") {
		t.Errorf("idle series is not about heartbeat replies: %q", d.texts)
	}
}

func TestEmptyChartsStillRender(t *testing.T) {
	r := &Report{Scenario: DefaultScenario()}
	for _, c := range []*chart{r.latencyChart(), r.seriesChart(), cdfChart("t", "s", nil)} {
		d := parseSVG(t, c.svg())
		if !d.hasText("nothing was") {
			t.Errorf("an empty chart should say so: %q", d.texts)
		}
	}
}

func TestTicks(t *testing.T) {
	if got := linearTicks(0, 100); !slices.Equal(got, []float64{0, 20, 40, 60, 80, 100}) {
		t.Errorf("linearTicks(0, 100) = %v", got)
	}
	if got := linearTicks(0, 450_000); !slices.Equal(got, []float64{0, 100_000, 200_000, 300_000, 400_000}) {
		t.Errorf("linearTicks(0, 450k) = %v", got)
	}
	major, minor := logTicks(0.1, 100)
	if !slices.Equal(major, []float64{0.1, 1, 10, 100}) || len(minor) != 6 {
		t.Errorf("logTicks(0.1, 100) = %v, %v", major, minor)
	}
	for in, want := range map[float64]float64{0.7: 1, 1.2: 2, 3: 5, 7: 10, 130: 200} {
		if got := niceStep(in); got != want {
			t.Errorf("niceStep(%g) = %g, want %g", in, got, want)
		}
	}
	for in, want := range map[float64]string{400_000: "400k", 2_500_000: "2.5M", 0.5: "0.5", 1500: "1500"} {
		if got := fmtNum(in); got != want {
			t.Errorf("fmtNum(%g) = %q, want %q", in, got, want)
		}
	}
}

func TestWrapText(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"short", 10, []string{"short"}},
		{"hot-room: 10000 conns, gateway -a=1 -b=2", 20, []string{"hot-room: 10000", "conns, gateway -a=1 -b=2"}},
		{"aaaa bbbb cccc dddd eeee ffff gggg hhhh", 10, []string{"aaaa bbbb", "cccc dddd..."}},
		{"", 10, nil},
	}
	for _, tt := range tests {
		if got := wrapText(tt.in, tt.width, 2); !slices.Equal(got, tt.want) {
			t.Errorf("wrapText(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}
