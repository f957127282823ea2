package plan

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// maxGroupRows bounds the room-group table; a rooms file can have thousands
// of distinct sizes. The rest are summed into one row.
const maxGroupRows = 25

// WriteTable renders r for a person: the answer first, then the arithmetic
// behind each figure with the numbers substituted, then every assumption and
// where it came from.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	in, c := &r.Input, r.Input.Costs
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("# barrage plan\n\n")
	p("Workload: %s viewers, rooms: %s (%s viewers in them), %s B messages (%s B packets), %s on WebSocket, p99 target %s ms.\n",
		num(r.Viewers), num(r.Rooms), num(r.Members), num(in.MsgSize), num(r.PacketBytes), pct(in.WSShare), num(r.P99TargetMS))
	p("Box: %s cores, %s GiB, open-file limit %d per process, %s Gbit/s NIC.\n\n",
		num(in.Cores), num(in.MemoryGiB), in.NoFile, num(in.NICGbps))

	p("## Estimate\n\n| figure | value |\n|---|---|\n")
	p("| gateway boxes | **%d** |\n", r.Boxes)
	p("| gateway processes | %d per box, %d in all (open files: %s connections per box / %s per process, nofile %d - %d reserved) |\n",
		r.ProcessesPerBox, r.Processes, num(float64(r.ConnsPerBox)), num(float64(r.MaxConnsPerProcess)), in.NoFile, in.ReservedFiles)
	p("| connections | %s per box, %s per process |\n", num(float64(r.ConnsPerBox)), num(float64(r.ConnsPerProcess)))
	window := fmt.Sprintf("%s ms (given)", num(r.WindowMS))
	if r.WindowDerived {
		window = fmt.Sprintf("%s ms (the largest up to %s ms meeting the p99 target", num(r.WindowMS), num(r.MaxWindowMS))
		if r.WindowLimitedBy != "" {
			window += "; limited by " + r.WindowLimitedBy
		}
		window += ")"
	}
	p("| batch window | %s, %s |\n", window, r.Batching.describe())
	p("| CPU | %s cores in all, %s per box = %s of %s cores (limit %s) |\n",
		num(r.CPU.TotalCores), num(r.CPU.PerBoxCores), pct(r.CPU.PerBoxPercent/100), num(in.Cores), num(r.CPU.LimitPerBoxCores))
	p("| memory, user space | %s in all (RSS of connections %s + process base %s) |\n",
		size(r.Memory.UserGiB+r.Memory.ProcessGiB), size(r.Memory.UserGiB), size(r.Memory.ProcessGiB))
	p("| memory, kernel | %s in all (idle sockets %s + one write queued per member %s) |\n",
		size(r.Memory.KernelIdleGiB+r.Memory.KernelInflightGiB), size(r.Memory.KernelIdleGiB), size(r.Memory.KernelInflightGiB))
	p("| memory per box | %s (limit %s) |\n", size(r.Memory.PerBoxGiB), size(r.Memory.LimitPerBoxGiB))
	p("| egress | %s Gbit/s on the wire (%s Gbit/s payload), %s per box (limit %s), %s kbit/s per viewer |\n",
		num(r.Egress.WireGbps), num(r.Egress.PayloadGbps), num(r.Egress.PerBoxGbps), num(r.Egress.LimitBoxGbps), num(r.Egress.PerViewerKbps))
	p("| deliveries | %s messages/s to viewers, in %s writes/s; %s us CPU per delivery |\n",
		num(r.CPU.DeliveriesPerS), num(r.CPU.WritesPerS), num(r.CPU.PerDeliveryUS))
	if len(r.BoundBy) > 0 {
		p("| with %d box(es) | %s |\n", r.Boxes-1, escape(strings.Join(r.BoundBy, "; ")))
	} else {
		p("| bound by | nothing: one box holds it all |\n")
	}

	p("\n## Room groups\n\n")
	p("Per write: messages per write m from the rate r and the window W; bytes = m x %s B (TCP), + 16 B op-9 header + 2-10 B frame header (WS); "+
		"us per write = %s us + bytes x %s ns, averaged over the transport mix. "+
		"p99 = batch wait p99 + fan-out of the group's largest room + %s ms base.\n\n",
		num(r.PacketBytes), num(c.WriteUS), num(c.ByteNS), num(r.BaseLatencyMS))
	p("| group | rooms | members | largest | msg/s per room | msgs/write | B/write TCP / WS | us/write | us/delivery | deliveries/s | writes/s | CPU cores | wire Gbit/s | wait p99 ms | fan-out ms | p99 ms |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range r.shownGroups() {
		p("| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			escape(g.Label), num(g.Rooms), num(g.Members), num(g.MaxSize), num(g.Rate), num(g.MessagesPerWrite),
			num(g.WriteBytesTCP), num(g.WriteBytesWS), num(g.WriteUS), num(g.PerDeliveryUS), num(g.DeliveriesPerS),
			num(g.WritesPerS), num(g.CPUCores), num(g.WireGbps), num(g.WaitP99MS), num(g.FanoutMS), num(g.P99MS))
	}

	r.writeArithmetic(&b)

	p("\n## Assumptions\n\n| assumption | value | source |\n|---|---|---|\n")
	src := func(k string) string { return escape(c.Sources[k]) }
	p("| RSS per connection | %s KiB | %s |\n", num(c.UserKB), src("user_kb_per_conn"))
	p("| kernel memory per idle socket | %s KiB (%s B) | %s |\n", num(c.KernelKB), num(c.KernelKB*1024), src("kernel_kb_per_socket"))
	p("| kernel memory per queued write | bytes + 576, in whole 4 KiB pages; one write per member | docs/TUNING.md |\n")
	p("| RSS of a process with no connections | %s MiB | %s |\n", num(c.ProcessMB), src("process_base_mb"))
	p("| CPU per write, fixed | %s us | %s |\n", num(c.WriteUS), src("write_fixed_us"))
	p("| CPU per byte written | %s ns | %s |\n", num(c.ByteNS), src("write_ns_per_byte"))
	p("| CPU per heartbeat read | %s us | %s |\n", num(c.ReadUS), src("heartbeat_read_us"))
	p("| CPU per room message per process (ingest) | %s us | %s |\n", num(c.IngestUS), src("ingest_us_per_message"))
	p("| messages per write | %s | batching model (docs/CAPACITY.md) |\n", r.Batching.mFormula())
	p("| batch wait p99 | %s | batching model |\n", r.Batching.waitFormula())
	p("| base latency p99 | %s ms | push API and network, not batching or fan-out |\n", num(r.BaseLatencyMS))
	p("| heartbeat period | %s s | replies are 20 B (TCP), 22 B (WS) |\n", num(r.HeartbeatS))
	p("| wire overhead | %s B per segment of at most %s B | Ethernet 14 + IPv4 20 + TCP 32 (timestamps) |\n", num(in.SegmentOverhead), num(in.MSS))
	p("| headroom | CPU %s, memory %s, NIC %s of a box | targets |\n", pct(in.CPUTarget), pct(in.MemTarget), pct(in.NICTarget))
	if cal := r.Calibration; cal != nil {
		if cal.CPULine > 0 {
			how := "modelled"
			if cal.MessagesCounted {
				how = "counted"
			}
			p("\nCalibration run (%s line %d) as the model sees it: %s messages per write (%s) of %s B, %s us per write; measured %s us per delivery, %s CPU, p99 %s ms.\n",
				cal.File, cal.CPULine, num(cal.BenchMessagesPerWrite), how, num(cal.BenchWriteBytes), num(cal.BenchWriteUS),
				num(cal.MeasuredCPUPerDeliveryUS), pct(cal.MeasuredCPUPercent/100), num(cal.MeasuredP99MS))
		}
		for _, n := range cal.Notes {
			p("\nCalibration note: %s\n", n)
		}
	}
	if len(r.Warnings) > 0 {
		p("\n## Warnings\n\n")
		for _, wr := range r.Warnings {
			p("- %s\n", wr)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shownGroups is the groups to print: all of them, or the largest by members
// plus one row summing the rest.
func (r *Result) shownGroups() []GroupResult {
	if len(r.Groups) <= maxGroupRows {
		return r.Groups
	}
	gs := append([]GroupResult(nil), r.Groups...)
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Members > gs[j].Members })
	rest := GroupResult{Group: Group{Label: fmt.Sprintf("%d other groups (sums; per-write figures are averages)", len(gs)-maxGroupRows+1)}}
	for _, g := range gs[maxGroupRows-1:] {
		rest.Rooms += g.Rooms
		rest.Members += g.Members
		rest.MaxSize = max(rest.MaxSize, g.MaxSize)
		rest.DeliveriesPerS += g.DeliveriesPerS
		rest.WritesPerS += g.WritesPerS
		rest.CPUCores += g.CPUCores
		rest.WireGbps += g.WireGbps
		rest.WaitP99MS = max(rest.WaitP99MS, g.WaitP99MS)
		rest.FanoutMS = max(rest.FanoutMS, g.FanoutMS)
		rest.P99MS = max(rest.P99MS, g.P99MS)
	}
	if rest.WritesPerS > 0 {
		rest.MessagesPerWrite = rest.DeliveriesPerS / rest.WritesPerS
		rest.WriteUS = rest.CPUCores * 1e6 / rest.WritesPerS
		rest.PerDeliveryUS = rest.CPUCores * 1e6 / rest.DeliveriesPerS
	}
	if rest.Rooms > 0 {
		rest.Rate = rest.DeliveriesPerS / rest.Members
	}
	return append(gs[:maxGroupRows-1], rest)
}

func (b Batching) describe() string {
	s := "adaptive"
	if b.Fixed {
		s = "fixed"
	}
	s += fmt.Sprintf(", at most %d messages / %d B per batch, ", b.MaxMessages, b.MaxBytes)
	if b.Paced {
		return s + "evenly paced messages"
	}
	return s + "random (Poisson) messages"
}

func (b Batching) mFormula() string {
	switch {
	case b.Paced:
		return "max(1, r x W), capped"
	case b.Fixed:
		return "1 + r x W, capped"
	default:
		return "r x W + e^(-r x W), capped"
	}
}

func (b Batching) waitFormula() string {
	switch {
	case b.Fixed:
		return "T = min(W, cap / r)"
	case b.Paced:
		return "0 if 1/r >= T else T, T = min(W, cap / r)"
	default:
		return "T - 0.01 x max(T, 1/r), 0 if negative, T = min(W, cap / r)"
	}
}

// num formats a figure with about three significant digits and thousands
// separators: 1,234,567 / 12.3 / 0.0123.
func num(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return thousands(fmt.Sprintf("%.0f", v))
	case math.Abs(v) >= 10:
		return trimZeros(fmt.Sprintf("%.1f", v))
	case math.Abs(v) >= 1:
		return trimZeros(fmt.Sprintf("%.2f", v))
	default:
		return trimZeros(fmt.Sprintf("%.3g", v))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// size formats a GiB figure in the unit that reads best.
func size(g float64) string {
	switch {
	case g >= 1 || g == 0:
		return num(g) + " GiB"
	case g*1024 >= 1:
		return num(g*1024) + " MiB"
	default:
		return num(g*1024*1024) + " KiB"
	}
}

func pct(share float64) string { return num(100*share) + " %" }

func escape(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
