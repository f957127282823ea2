package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// rateClass is the rooms sharing one message rate. Messages per write, the
// cost per write and the batch wait depend on the rate alone; deliveries on the
// members; fan-out time on the largest room. Grouping by rate keeps the window
// search cheap however many rooms a spec has.
type rateClass struct {
	rate, members, maxSize float64
	label                  string // the group holding the largest room
}

// load is what the rooms cost at a given box count and window.
type load struct {
	roomCPU     float64 // us of CPU per second, all boxes
	deliveries  float64 // messages per second received by viewers
	writes      float64 // batch writes per second
	payload     float64 // bytes per second written to sockets
	wire        float64 // the same with Ethernet/IP/TCP headers
	inflight    float64 // bytes: one write queued per member socket, in whole pages
	rho         float64 // CPU utilisation of a box, everything included
	worstP99    float64 // seconds, the slowest class
	worstLabel  string
	perClassP99 []float64
}

// sizing is one candidate deployment: boxes and what they spend.
type sizing struct {
	boxes, connsPerBox, procsPerBox int
	window                          float64 // seconds
	windowOK                        bool    // every room meets the p99 target
	hbCPU, ingestCPU                float64 // us per second, all boxes
	hbPayload, hbWire               float64 // bytes per second
	load
	memPerBox float64 // bytes
	fails     []string
}

type estimator struct {
	in      *Input
	viewers float64
	groups  []Group
	classes []rateClass
	packet  float64
	perProc int
}

func newEstimator(in *Input, viewers float64, groups []Group) *estimator {
	e := &estimator{in: in, viewers: viewers, groups: groups, packet: packetBytes(in.MsgSize),
		perProc: in.NoFile - in.ReservedFiles}
	for _, g := range groups {
		if g.Rate <= 0 || g.Members <= 0 {
			continue
		}
		i := slices.IndexFunc(e.classes, func(c rateClass) bool { return c.rate == g.Rate })
		if i < 0 {
			e.classes = append(e.classes, rateClass{rate: g.Rate})
			i = len(e.classes) - 1
		}
		c := &e.classes[i]
		c.members += g.Members
		if g.MaxSize > c.maxSize {
			c.maxSize, c.label = g.MaxSize, g.Label
		}
	}
	return e
}

// writeCost is the transport-mixed CPU cost (us) and socket bytes of one write
// carrying m messages.
func (e *estimator) writeCost(m float64) (us, bytes float64) {
	tcp, ws := WriteBytes(m, e.packet, false), WriteBytes(m, e.packet, true)
	c := e.in.Costs
	return e.in.mix(c.WriteCostUS(tcp), c.WriteCostUS(ws)), e.in.mix(tcp, ws)
}

// wireBytes mixes the wire size of one write of m messages.
func (e *estimator) wireBytes(m float64) float64 {
	in := e.in
	return in.mix(WireBytes(WriteBytes(m, e.packet, false), in.MSS, in.SegmentOverhead),
		WireBytes(WriteBytes(m, e.packet, true), in.MSS, in.SegmentOverhead))
}

// fanout is how long one box takes to write a frame to its members of a room
// of size members, in seconds: they are spread evenly over the boxes and the
// box's cores write in parallel, slowed by the other work on the box (a core
// busy a share rho of the time does the fan-out 1/(1-rho) times slower).
func (e *estimator) fanout(size float64, boxes int, costUS, rho float64) float64 {
	if rho >= 1 {
		return math.Inf(1)
	}
	return size / float64(boxes) / e.in.Cores * costUS / 1e6 / (1 - rho)
}

// rooms costs the rooms at window w; otherCPU (us/s, all boxes) is the
// heartbeat and ingest work, which slows fan-out too.
func (e *estimator) rooms(boxes int, w, otherCPU float64) load {
	in, bat := e.in, e.in.batching(w)
	var l load
	costs := make([]float64, len(e.classes))
	for i, c := range e.classes {
		m := bat.MessagesPerWrite(c.rate, e.packet)
		us, bytes := e.writeCost(m)
		costs[i] = us
		writes := c.members * c.rate / m
		l.deliveries += c.members * c.rate
		l.writes += writes
		l.roomCPU += writes * us
		l.payload += writes * bytes
		l.wire += writes * e.wireBytes(m)
		l.inflight += c.members * in.mix(QueuedBytes(WriteBytes(m, e.packet, false)), QueuedBytes(WriteBytes(m, e.packet, true)))
	}
	l.rho = (l.roomCPU + otherCPU) / 1e6 / float64(boxes) / in.Cores
	l.perClassP99 = make([]float64, len(e.classes))
	for i, c := range e.classes {
		p := bat.WaitP99(c.rate, e.packet) + e.fanout(c.maxSize, boxes, costs[i], l.rho) + in.BaseLatency.Seconds()
		l.perClassP99[i] = p
		if p > l.worstP99 || l.worstLabel == "" {
			l.worstP99, l.worstLabel = p, c.label
		}
	}
	return l
}

// searchWindow finds the largest window up to MaxWindow at which every room's
// p99 meets the target. p99 need not grow with the window (a longer window
// means fewer writes, a less busy box and a faster fan-out), so it scans down
// from the top in small steps and then narrows the step it found by bisection.
// When no window meets the target it returns the one with the lowest p99.
func (e *estimator) searchWindow(boxes int, otherCPU float64) (float64, bool) {
	target := e.in.P99.Seconds()
	p99 := func(w float64) float64 { return e.rooms(boxes, w, otherCPU).worstP99 }
	top := e.in.MaxWindow.Seconds()
	best, bestP99 := top, p99(top)
	if len(e.classes) == 0 || bestP99 <= target {
		return top, true
	}
	const steps = 2000
	step := top / steps
	for i := steps - 1; i >= 0; i-- {
		lo := float64(i) * step
		p := p99(lo)
		if p < bestP99 {
			best, bestP99 = lo, p
		}
		if p > target {
			continue
		}
		hi := lo + step
		for range 40 {
			mid := (lo + hi) / 2
			if p99(mid) <= target {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo, true
	}
	return best, false
}

// reached is how many of procs gateway processes hold at least one member of
// a room of size members, when members land on processes at random.
func reached(size float64, procs int) float64 {
	if size <= 0 {
		return 0
	}
	p := float64(procs)
	if procs <= 1 {
		return 1
	}
	return p * (1 - math.Pow(1-1/p, size))
}

// at sizes the deployment for a given number of boxes.
func (e *estimator) at(boxes int) sizing {
	in, c := e.in, e.in.Costs
	s := sizing{boxes: boxes}
	s.connsPerBox = int(math.Ceil(e.viewers / float64(boxes)))
	s.procsPerBox = max(1, (s.connsPerBox+e.perProc-1)/e.perProc)
	procs := boxes * s.procsPerBox
	for _, g := range e.groups {
		if g.Rooms > 0 {
			s.ingestCPU += g.Rate * g.Rooms * reached(g.Members/g.Rooms, procs) * c.IngestUS
		}
	}
	if hb := in.Heartbeat.Seconds(); hb > 0 {
		perS := e.viewers / hb
		tcp, ws := float64(heartbeatReply), float64(heartbeatReply)+wsHeaderLen(heartbeatReply)
		s.hbCPU = perS * (c.ReadUS + in.mix(c.WriteCostUS(tcp), c.WriteCostUS(ws)))
		s.hbPayload = perS * in.mix(tcp, ws)
		s.hbWire = perS * in.mix(WireBytes(tcp, in.MSS, in.SegmentOverhead), WireBytes(ws, in.MSS, in.SegmentOverhead))
	}
	other := s.hbCPU + s.ingestCPU
	if in.Window > 0 {
		s.window = in.Window.Seconds()
		s.windowOK = true
	} else {
		s.window, s.windowOK = e.searchWindow(boxes, other)
	}
	s.load = e.rooms(boxes, s.window, other)
	perConn := (c.UserKB + c.KernelKB) * 1024
	s.memPerBox = float64(s.connsPerBox)*perConn + s.inflight/float64(boxes) + float64(s.procsPerBox)*c.ProcessMB*(1<<20)

	b := float64(boxes)
	if !s.windowOK {
		s.fails = append(s.fails, fmt.Sprintf("latency: %s misses the %s ms p99 target at every window up to %s ms (best: p99 %s ms at a %s ms window)",
			s.worstLabel, num(1000*in.P99.Seconds()), num(1000*in.MaxWindow.Seconds()), num(1000*s.worstP99), num(1000*s.window)))
	}
	if cpu, limit := (s.roomCPU+other)/1e6/b, in.Cores*in.CPUTarget; cpu > limit {
		s.fails = append(s.fails, fmt.Sprintf("cpu: %.2f cores per box > %.2f (%.0f %% of %g cores)",
			cpu, limit, 100*in.CPUTarget, in.Cores))
	}
	if limit := in.MemoryGiB * in.MemTarget * (1 << 30); s.memPerBox > limit {
		s.fails = append(s.fails, fmt.Sprintf("memory: %.2f GiB per box > %.2f (%.0f %% of %g GiB)",
			s.memPerBox/(1<<30), limit/(1<<30), 100*in.MemTarget, in.MemoryGiB))
	}
	if bps, limit := 8*(s.wire+s.hbWire)/b, in.NICGbps*in.NICTarget*1e9; bps > limit {
		s.fails = append(s.fails, fmt.Sprintf("nic: %.2f Gbit/s per box > %.2f (%.0f %% of %g Gbit/s)",
			bps/1e9, limit/1e9, 100*in.NICTarget, in.NICGbps))
	}
	return s
}

// search finds the fewest boxes that fit. Every constraint eases as boxes are
// added (fewer members per box, so faster fan-out, a longer window, cheaper
// deliveries), so a bisection finds the smallest count. The one exception,
// per-process ingest cost growing with the number of processes, can only make
// the answer larger than necessary, never unfit.
func (e *estimator) search() (sizing, error) {
	hi := max(1, int(math.Ceil(e.viewers)))
	top := e.at(hi)
	if len(top.fails) > 0 {
		return top, fmt.Errorf("plan: no number of boxes fits; even with %d boxes of %d viewers each: %s",
			hi, top.connsPerBox, strings.Join(top.fails, "; "))
	}
	lo := 1
	best := top
	for lo < hi {
		mid := lo + (hi-lo)/2
		s := e.at(mid)
		if len(s.fails) == 0 {
			hi, best = mid, s
		} else {
			lo = mid + 1
		}
	}
	if best.boxes != hi {
		best = e.at(hi)
	}
	return best, nil
}
