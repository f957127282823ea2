package plan

import (
	"fmt"
	"os"
	"strings"
)

// Costs are the per-unit costs the model multiplies. Sources says where each
// came from ("default: ...", "FILE line N: ...", "flag"), for the output.
type Costs struct {
	// UserKB is gateway RSS per idle authenticated connection, KiB.
	UserKB float64 `json:"user_kb_per_conn"`
	// KernelKB is kernel memory per idle TCP socket (not in RSS), KiB.
	KernelKB float64 `json:"kernel_kb_per_socket"`
	// ProcessMB is a gateway process's RSS with no connections, MiB.
	ProcessMB float64 `json:"process_base_mb"`
	// WriteUS is the fixed CPU cost of one write to a client socket, us.
	WriteUS float64 `json:"write_fixed_us"`
	// ByteNS is the CPU cost per byte written, ns.
	ByteNS float64 `json:"write_ns_per_byte"`
	// ReadUS is the CPU cost of reading one heartbeat from a socket, us.
	ReadUS float64 `json:"heartbeat_read_us"`
	// IngestUS is the CPU a gateway process spends receiving one room message
	// (the push RPC or HTTP call and the batcher), us. Counted once per process
	// holding members of the room.
	IngestUS float64 `json:"ingest_us_per_message"`
	// Sources maps each JSON field name above to where its value came from.
	Sources map[string]string `json:"sources"`
}

// The per-write defaults come from two points of the 10,000-connection,
// one-room, 40 msg/s runs in docs/BENCHMARKS.md, dividing gateway CPU by writes:
// ~4.1 us for a 2-message write (50 ms window) and ~6.9 us for a 20-message
// write (goim's 1 s / 20 batching). The bench message is ~36 bytes of JSON,
// a 52-byte packet, so those writes are 104 and 1,040 bytes. A straight line
// through both: 2.8 us / 936 B = 2.99 ns per byte, and 4.1 us - 104 B x 2.99 ns
// = 3.79 us fixed. The 1-message writes of the 1,000 x 10 msg/s run (~4.5 us,
// the model says 3.95 us) show the fixed part is uncertain by ~15 %.
const (
	anchorSmallUS    = 4.1
	anchorSmallBytes = 2 * (packetHeader + benchBodyBytes)
	anchorLargeUS    = 6.9
	anchorLargeBytes = 20 * (packetHeader + benchBodyBytes)
	// benchBodyBytes is the body `barrage bench` pushes without padding:
	// {"seq":N,"ts":UNIX_NANOS}, 36 bytes with a 3-digit seq.
	benchBodyBytes = 36
)

// DefaultCosts are the built-in costs, from docs/BENCHMARKS.md and DESIGN.md.
func DefaultCosts() Costs {
	byteNS := 1000 * (anchorLargeUS - anchorSmallUS) / (anchorLargeBytes - anchorSmallBytes)
	writeUS := anchorSmallUS - anchorSmallBytes*byteNS/1000
	return Costs{
		UserKB:    1.75,
		KernelKB:  4100.0 / 1024,
		ProcessMB: 38,
		WriteUS:   writeUS,
		ByteNS:    byteNS,
		ReadUS:    writeUS,
		IngestUS:  35,
		Sources: map[string]string{
			"user_kb_per_conn":      "default: BENCHMARKS.md, 1.73 / 1.80 KB RSS per idle TCP connection at 19,000 conns",
			"kernel_kb_per_socket":  "default: docs/TUNING.md, 4,100 B of slab per idle TCP socket measured here (not in RSS)",
			"process_base_mb":       "default: RSS of `barrage run` before any connection (bench rss_before_kb, ~38 MB)",
			"write_fixed_us":        fmt.Sprintf("default: line through %.1f us @ %d B and %.1f us @ %d B per write (BENCHMARKS.md)", anchorSmallUS, anchorSmallBytes, anchorLargeUS, anchorLargeBytes),
			"write_ns_per_byte":     "default: slope of the same line",
			"heartbeat_read_us":     "assumed equal to the fixed cost of a write (one read(2))",
			"ingest_us_per_message": "default: small-rooms bench, embedded mode (HTTP push API in the gateway process), 33-39 us per push (docs/CAPACITY.md)",
		},
	}
}

// WriteCostUS is the CPU cost of one write of n bytes, us.
func (c Costs) WriteCostUS(n float64) float64 { return c.WriteUS + c.ByteNS*n/1000 }

// Calibration is what a bench file contributed.
type Calibration struct {
	File string `json:"file"`
	// MemoryLine, CPULine and IngestLine are the 1-based line numbers used (0: none).
	MemoryLine int `json:"memory_line,omitempty"`
	CPULine    int `json:"cpu_line,omitempty"`
	IngestLine int `json:"ingest_line,omitempty"`
	// The CPU line's run as the model sees it: its batching, messages per
	// write (MessagesCounted: from the gateway's write count, else modelled),
	// bytes per write and the cost per write it implies.
	BenchBatching         *Batching `json:"bench_batching,omitempty"`
	BenchMessagesPerWrite float64   `json:"bench_messages_per_write,omitempty"`
	MessagesCounted       bool      `json:"bench_messages_counted,omitempty"`
	BenchWriteBytes       float64   `json:"bench_write_bytes,omitempty"`
	BenchWriteUS          float64   `json:"bench_write_us,omitempty"`
	// Measured figures of the CPU line, for comparison with the estimate.
	MeasuredCPUPerDeliveryUS float64 `json:"measured_cpu_per_delivery_us,omitempty"`
	MeasuredCPUPercent       float64 `json:"measured_cpu_percent,omitempty"`
	MeasuredP99MS            float64 `json:"measured_p99_ms,omitempty"`
	// Notes say what was skipped and why.
	Notes []string `json:"notes,omitempty"`
}

// CalibrateFile reads a bench JSON-lines file and calibrates c from it.
func CalibrateFile(path string, match Match, c *Costs) (*Calibration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer f.Close()
	lines, err := ReadBench(f, path)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	return Calibrate(lines, path, match, c)
}

// Calibrate sets costs in c from the lines that match and have gateway
// readings, using the last qualifying line for each:
//   - memory (RSS per connection, process base) from any line with rss_per_conn_kb;
//   - the per-write cost from a one-room push run (hot-room, mixed, or an older
//     bench's run): its CPU per delivery times its messages per write, minus the
//     per-byte part (the per-byte cost is kept);
//   - the ingest cost from a small-rooms run: its CPU minus its writes at the
//     per-write cost, over the messages it pushed into each gateway process.
//
// An error says why no line served.
func Calibrate(lines []BenchLine, name string, match Match, c *Costs) (*Calibration, error) {
	var mem, cpu, ingest *BenchLine
	matched := 0
	for i := range lines {
		l := &lines[i]
		if !match.matches(*l) || !l.Measured {
			continue
		}
		matched++
		if l.RSSPerConnKB > 0 {
			mem = l
		}
		if l.idle() || l.CPUPerDelivUS <= 0 || l.Delivered <= 0 {
			continue
		}
		switch {
		case l.oneRoom():
			cpu = l
		case l.smallRooms() && l.Sent > 0 && l.CPUSeconds > 0:
			ingest = l
		}
	}
	if mem == nil && cpu == nil && ingest == nil {
		what := fmt.Sprintf("%d lines", len(lines))
		if len(match) > 0 {
			what += fmt.Sprintf(", %d matching %s and measured", matched, match)
		}
		return nil, fmt.Errorf("calibrate: %s (%s) has no line with gateway readings (rss_per_conn_kb, or cpu_per_delivery_us of a hot-room or small-rooms push; run the bench with a spawned gateway or -gateway-pid)", name, what)
	}
	cal := &Calibration{File: name}
	at := func(l *BenchLine) string { return fmt.Sprintf("%s line %d: %s", name, l.Line, describe(*l)) }
	if mem != nil {
		cal.MemoryLine = mem.Line
		c.UserKB = mem.RSSPerConnKB
		c.Sources["user_kb_per_conn"] = at(mem)
		if mem.RSSBeforeKB > 0 {
			c.ProcessMB = float64(mem.RSSBeforeKB) / 1024
			c.Sources["process_base_mb"] = fmt.Sprintf("%s line %d: rss_before_kb %d", name, mem.Line, mem.RSSBeforeKB)
		}
	}
	if cpu != nil {
		r, err := cpu.run()
		if err != nil {
			return nil, fmt.Errorf("calibrate: %s line %d: %w", name, cpu.Line, err)
		}
		perWrite := cpu.CPUPerDelivUS * r.m
		fixed := perWrite - c.ByteNS*r.bytes/1000
		if fixed <= 0 {
			return nil, fmt.Errorf("calibrate: %s line %d: %.3f us per write of %.0f B leaves no fixed cost at %.2f ns per byte; lower --byte-ns",
				name, cpu.Line, perWrite, r.bytes, c.ByteNS)
		}
		how := "modelled"
		if r.measured {
			how = "counted"
		}
		c.WriteUS = fixed
		c.Sources["write_fixed_us"] = fmt.Sprintf("%s: %.3f us/delivery x %.2f msgs/write (%s) = %.2f us per %.0f B write, minus %.0f B x %.2f ns",
			at(cpu), cpu.CPUPerDelivUS, r.m, how, perWrite, r.bytes, r.bytes, c.ByteNS)
		if strings.HasPrefix(c.Sources["heartbeat_read_us"], "assumed") {
			c.ReadUS = fixed
		}
		cal.CPULine = cpu.Line
		cal.BenchBatching = &r.batching
		cal.BenchMessagesPerWrite = r.m
		cal.MessagesCounted = r.measured
		cal.BenchWriteBytes = r.bytes
		cal.BenchWriteUS = perWrite
		cal.MeasuredCPUPerDeliveryUS = cpu.CPUPerDelivUS
		cal.MeasuredCPUPercent = cpu.CPUPercent
		cal.MeasuredP99MS = cpu.Latency.P99
	}
	if ingest != nil {
		if err := calibrateIngest(ingest, at(ingest), c, cal); err != nil {
			return nil, fmt.Errorf("calibrate: %s line %d: %w", name, ingest.Line, err)
		}
	}
	return cal, nil
}

// calibrateIngest takes the ingest cost from a small-rooms run: what its
// writes do not explain, per message per gateway process.
func calibrateIngest(l *BenchLine, where string, c *Costs, cal *Calibration) error {
	r, err := l.run()
	if err != nil {
		return err
	}
	writeCPU := r.writes * c.WriteCostUS(r.bytes)
	procs := max(1, l.scenarioFloat("gateways"))
	per := (l.CPUSeconds*1e6 - writeCPU) / (float64(l.Sent) * procs)
	if per <= 0 {
		cal.Notes = append(cal.Notes, fmt.Sprintf("%s: its %.0f writes at %.2f us explain all its CPU (%.2f s); ingest cost left at %.1f us",
			where, r.writes, c.WriteCostUS(r.bytes), l.CPUSeconds, c.IngestUS))
		return nil
	}
	c.IngestUS = per
	c.Sources["ingest_us_per_message"] = fmt.Sprintf("%s: (%.3f s CPU - %.0f writes x %.2f us) / (%d messages x %.0f processes)",
		where, l.CPUSeconds, r.writes, c.WriteCostUS(r.bytes), l.Sent, procs)
	cal.IngestLine = l.Line
	return nil
}
