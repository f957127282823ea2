package plan

import (
	"fmt"
	"strings"
)

// writeArithmetic prints every derived figure as formula = numbers = result,
// so a reader can redo the sums with a calculator.
func (r *Result) writeArithmetic(b *strings.Builder) {
	in, c := &r.Input, r.Input.Costs
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	boxes := float64(r.Boxes)
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30

	b.WriteString("\n## Arithmetic\n\n```\n")
	p("CPU, per room group: members x msg/s / msgs per write = writes/s; x us per write = cores\n")
	for _, g := range r.shownGroups() {
		if g.WritesPerS == 0 {
			p("  %s: no messages\n", g.Label)
			continue
		}
		p("  %s: %s x %s / %s = %s writes/s; x %s us = %s cores\n", g.Label, num(g.Members), num(g.Rate),
			fine(g.MessagesPerWrite), num(g.WritesPerS), fine(g.WriteUS), num(g.CPUCores))
	}
	p("  us per write = %s us + bytes x %s ns (TCP: m x %s B; WS: + 16 B op-9 + 2-10 B frame header), %s WS\n",
		num(c.WriteUS), num(c.ByteNS), num(r.PacketBytes), pct(in.WSShare))
	if r.HeartbeatS > 0 {
		p("heartbeats: %s viewers / %s s = %s/s x (%s us read + %s us reply write) = %s cores\n",
			num(r.Viewers), num(r.HeartbeatS), num(r.Heartbeats.PerS), num(c.ReadUS),
			num(in.mix(c.WriteCostUS(heartbeatReply), c.WriteCostUS(heartbeatReply+2))), num(r.CPU.HeartbeatCores))
	} else {
		p("heartbeats: none (period 0)\n")
	}
	p("ingest: msg/s x rooms x gateway processes holding members x %s us = %s cores\n", num(c.IngestUS), num(r.CPU.IngestCores))
	p("CPU per box: (%s + %s + %s) cores / %d boxes = %s cores = %s of %s (limit %s)\n",
		num(r.CPU.RoomCores), num(r.CPU.HeartbeatCores), num(r.CPU.IngestCores), r.Boxes,
		num(r.CPU.PerBoxCores), pct(r.CPU.PerBoxPercent/100), num(in.Cores), pct(in.CPUTarget))

	p("\np99, per room group: batch wait p99 + fan-out + base\n")
	p("  fan-out = largest room / boxes / cores x us per write / (1 - box utilisation %s)\n", num(r.CPU.BoxUtilization))
	for _, g := range r.shownGroups() {
		if g.WritesPerS == 0 {
			continue
		}
		p("  %s: wait %s + fan-out (%s / %d / %s x %s us / %s = %s) + base %s = %s ms\n", g.Label, num(g.WaitP99MS),
			num(g.MaxSize), r.Boxes, num(in.Cores), fine(g.WriteUS), fine(1-r.CPU.BoxUtilization), num(g.FanoutMS),
			num(r.BaseLatencyMS), num(g.P99MS))
	}

	conns := float64(r.ConnsPerBox)
	procs := float64(r.ProcessesPerBox)
	user := conns*c.UserKB*kib + procs*c.ProcessMB*mib
	idle := conns * c.KernelKB * kib
	inflight := r.Memory.KernelInflightGiB * gib / boxes
	p("\nmemory per box:\n")
	p("  user space: %s conns x %s KiB + %s processes x %s MiB = %s\n",
		num(conns), num(c.UserKB), num(procs), num(c.ProcessMB), size(user/gib))
	p("  kernel: %s sockets x %s KiB + one write queued per member socket (bytes + 576, in 4 KiB pages) %s = %s\n",
		num(conns), num(c.KernelKB), size(inflight/gib), size((idle+inflight)/gib))
	p("  total: %s (limit %s of %s GiB = %s)\n", size(r.Memory.PerBoxGiB), pct(in.MemTarget), num(in.MemoryGiB),
		size(r.Memory.LimitPerBoxGiB))

	p("\negress: writes/s x (bytes per write + %s B per segment of <= %s B) x 8, per group\n",
		num(in.SegmentOverhead), num(in.MSS))
	for _, g := range r.shownGroups() {
		if g.WritesPerS == 0 {
			continue
		}
		p("  %s: %s writes/s -> %s Gbit/s\n", g.Label, num(g.WritesPerS), num(g.WireGbps))
	}
	p("  heartbeat replies: %s/s -> %s Gbit/s payload\n", num(r.Heartbeats.PerS), num(r.Heartbeats.PayloadGbps))
	p("  per box: %s Gbit/s / %d boxes = %s (limit %s of %s Gbit/s)\n", num(r.Egress.WireGbps), r.Boxes,
		num(r.Egress.PerBoxGbps), pct(in.NICTarget), num(in.NICGbps))
	b.WriteString("```\n")
}

// fine formats a factor with four significant digits, enough to redo the
// products in the arithmetic to three.
func fine(v float64) string {
	if v >= 1000 {
		return num(v)
	}
	return trimZeros(fmt.Sprintf("%.4g", v))
}
