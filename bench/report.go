package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is the outcome of one run. Gateway readings (RSS, CPU, writes, GC)
// are present only when Measured is true: a running stack without
// -gateway-pid has none. The gateway totals add up every measured gateway
// process; Processes has each process alone, the workers included.
type Report struct {
	Time     time.Time `json:"time"`
	Scenario Scenario  `json:"scenario"`
	Workers  int       `json:"workers"`
	// SourceIPs are the workers' source addresses, in worker order.
	SourceIPs []string `json:"source_ips"`

	Connected      int     `json:"connected"` // churners included
	ConnectFailed  int     `json:"connect_failed"`
	ConnectError   string  `json:"connect_error,omitempty"`
	ConnectRetries int     `json:"connect_retries"` // failed attempts that were tried again
	RetryError     string  `json:"retry_error,omitempty"`
	ConnectSeconds float64 `json:"connect_seconds"`
	ConnectRate    float64 `json:"connect_rate"` // connections per second

	Measured      bool    `json:"gateway_measured"`
	RSSBeforeKB   int64   `json:"rss_before_kb,omitempty"`
	RSSAfterKB    int64   `json:"rss_after_kb,omitempty"`
	RSSPerConnKB  float64 `json:"rss_per_conn_kb,omitempty"`
	CPUSeconds    float64 `json:"cpu_seconds,omitempty"`
	CPUPerDelivUS float64 `json:"cpu_per_delivery_us,omitempty"`
	CPUPercent    float64 `json:"cpu_percent,omitempty"`
	// GatewayWritesPerS is write(2)+writev(2) calls per second of the gateways
	// during the phase; WritesPerDelivery the same over deliveries.
	GatewayWritesPerS float64 `json:"gateway_writes_per_sec,omitempty"`
	WritesPerDelivery float64 `json:"gateway_writes_per_delivery,omitempty"`
	// GatewayGC sums the gateways' GC during the phase (max: the largest).
	GatewayGC *GCReport `json:"gateway_gc,omitempty"`
	// WorkersCPUPercent is what the load generator itself burned during the
	// phase (100 = one core): near 200 on a 2-core box means the latencies
	// measure the generator as much as the gateway.
	WorkersCPUPercent float64         `json:"workers_cpu_percent,omitempty"`
	Processes         []ProcessReport `json:"processes,omitempty"`

	Sent            int64   `json:"sent"`
	PushErrors      int64   `json:"push_errors"`
	PushError       string  `json:"push_error,omitempty"`
	PushSeconds     float64 `json:"push_seconds"`  // first push to last push answered
	PhaseSeconds    float64 `json:"phase_seconds"` // first push to the end of the drain wait (idle-hold: the hold)
	Drained         bool    `json:"drained"`       // every expected delivery arrived before the drain timeout
	Expected        int64   `json:"expected"`      // what the connected steady members had to receive
	Delivered       int64   `json:"delivered"`     // op-1000 packets received, duplicates included
	Lost            int64   `json:"lost"`
	Duplicates      int64   `json:"duplicates"`
	Unexpected      int64   `json:"unexpected"`
	OrderViolations int64   `json:"order_violations"`
	Dropped         int     `json:"dropped"` // steady connections that ended during the run
	FirstDrop       string  `json:"first_drop,omitempty"`
	DeliveredPerS   float64 `json:"delivered_per_sec"`
	DeliveredRatio  float64 `json:"delivered_ratio"` // unique deliveries / expected
	Latency         Latency `json:"latency"`
	// LatencyTCP and LatencyWS split Latency by transport (mixed only).
	LatencyTCP *Latency `json:"latency_tcp,omitempty"`
	LatencyWS  *Latency `json:"latency_ws,omitempty"`
	// DeliveredSeries is deliveries per second of the phase, as the workers counted them.
	DeliveredSeries []int64 `json:"delivered_series,omitempty"`

	Heartbeats *HeartbeatReport `json:"heartbeats,omitempty"`
	Churn      *ChurnReport     `json:"churn,omitempty"`

	hist   *hdrhistogram.Histogram // merged push latencies, for the charts
	hbHist *hdrhistogram.Histogram // merged heartbeat round trips, for the charts
}

// HeartbeatReport is what the steady connections' heartbeats got.
type HeartbeatReport struct {
	Sent    int64 `json:"sent"`
	Replied int64 `json:"replied"`
	Failed  int64 `json:"failed"`
	// Late counts beats skipped because the previous one had no reply yet.
	Late int64 `json:"late"`
	// InFlight counts beats sent but unanswered when the run stopped (not failures).
	InFlight   int64  `json:"in_flight"`
	FirstError string `json:"first_error,omitempty"`
	// RepliesPerS is replies per second of the phase.
	RepliesPerS float64 `json:"replies_per_sec"`
	// CPUPerReplyUS is the gateways' CPU per reply (idle-hold, where beats are
	// all there is to do).
	CPUPerReplyUS float64 `json:"cpu_per_reply_us,omitempty"`
	RTT           Latency `json:"rtt"`
	// Series is replies per second of the phase.
	Series []int64 `json:"series,omitempty"`
}

// ChurnReport is what the churners did.
type ChurnReport struct {
	Churners   int     `json:"churners"`
	Reconnects int64   `json:"reconnects"`
	Failed     int64   `json:"failed"` // dial or auth failures
	FirstError string  `json:"first_error,omitempty"`
	Skipped    int64   `json:"skipped"`            // events dropped: that churner was still reconnecting
	PerSec     float64 `json:"reconnects_per_sec"` // achieved over the phase
	// ConnectLatency is dial+auth per reconnect.
	ConnectLatency Latency `json:"connect_latency"`
	Received       int64   `json:"received"` // pushes churners got (not accounted)
}

// AppendJSONLine appends r to path as one JSON line, creating the file.
func (r *Report) AppendJSONLine(path string) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	// bench/out/ is git-ignored, so a fresh checkout does not have it.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench: create the report directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("bench: open report file: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return fmt.Errorf("bench: write report file %s: %w", path, errorsOr(werr, cerr))
	}
	return nil
}

func errorsOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// finishReport derives the totals and ratios from the raw counts and the
// process readings.
func (r *Report) finishReport(t Tally) {
	r.Expected = t.Expected
	r.Delivered = t.Received
	r.Lost = t.Lost
	r.Duplicates = t.Duplicates
	r.Unexpected = t.Unexpected
	r.OrderViolations = t.Reordered
	if r.Expected > 0 {
		r.DeliveredRatio = float64(t.Unique) / float64(r.Expected)
	}
	if r.PhaseSeconds > 0 {
		r.DeliveredPerS = float64(r.Delivered) / r.PhaseSeconds
	}
	if r.ConnectSeconds > 0 {
		r.ConnectRate = float64(r.Connected) / r.ConnectSeconds
	}
	r.sumGateways()
	if r.Heartbeats != nil && r.PhaseSeconds > 0 {
		r.Heartbeats.RepliesPerS = float64(r.Heartbeats.Replied) / r.PhaseSeconds
	}
	if r.Churn != nil && r.PhaseSeconds > 0 {
		r.Churn.PerSec = float64(r.Churn.Reconnects) / r.PhaseSeconds
	}
	if !r.Measured {
		return
	}
	if r.Connected > 0 {
		r.RSSPerConnKB = float64(r.RSSAfterKB-r.RSSBeforeKB) / float64(r.Connected)
	}
	if r.Delivered > 0 {
		r.CPUPerDelivUS = 1e6 * r.CPUSeconds / float64(r.Delivered)
		r.WritesPerDelivery = r.GatewayWritesPerS * r.PhaseSeconds / float64(r.Delivered)
	}
	if r.PhaseSeconds > 0 {
		r.CPUPercent = 100 * r.CPUSeconds / r.PhaseSeconds
	}
	if r.Scenario.Idle && r.Heartbeats != nil && r.Heartbeats.Replied > 0 {
		r.Heartbeats.CPUPerReplyUS = 1e6 * r.CPUSeconds / float64(r.Heartbeats.Replied)
	}
}

// sumGateways adds up the gateway processes into the report's gateway totals
// and the workers' CPU into WorkersCPUPercent.
func (r *Report) sumGateways() {
	var gws, failed int
	var gc *GCReport
	r.WorkersCPUPercent = 0
	for _, p := range r.Processes {
		if !strings.HasPrefix(p.Role, "gateway") {
			r.WorkersCPUPercent += p.CPUPercent
			continue
		}
		gws++
		if p.Error != "" {
			failed++
		}
		r.RSSBeforeKB += p.RSSBeforeKB
		r.RSSAfterKB += p.RSSAfterKB
		r.CPUSeconds += p.CPUSeconds
		r.GatewayWritesPerS += p.WritesPerSec
		if p.GC != nil {
			if gc == nil {
				gc = &GCReport{}
			}
			gc.Cycles += p.GC.Cycles
			gc.PauseTotalMS += p.GC.PauseTotalMS
			gc.PauseMaxMS = max(gc.PauseMaxMS, p.GC.PauseMaxMS)
		}
	}
	if gc != nil && gc.Cycles > 0 {
		gc.PauseMeanMS = gc.PauseTotalMS / float64(gc.Cycles)
	}
	r.GatewayGC = gc
	r.Measured = gws > 0 && failed == 0
}

// gatewayProcs lists the gateway processes of the report.
func (r *Report) gatewayProcs() []ProcessReport {
	var out []ProcessReport
	for _, p := range r.Processes {
		if strings.HasPrefix(p.Role, "gateway") {
			out = append(out, p)
		}
	}
	return out
}
