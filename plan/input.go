package plan

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Input is a workload and a machine. DefaultInput fills every field; each
// comment gives that default.
type Input struct {
	// Viewers is the total of concurrent connections. Default 0: the members of
	// the rooms. More viewers than members are connections in no room (or in
	// silent rooms): memory and heartbeats only.
	Viewers float64 `json:"viewers"`
	// Groups are the rooms (ParseGroups, ParseRoomsCSV). Zipf adds more.
	Groups []Group `json:"groups"`
	Zipf   *Zipf   `json:"zipf,omitempty"`
	// Rate is the messages per second per room when a group gives none. Default 10.
	Rate float64 `json:"rate"`
	// MsgSize is the body of one message in bytes (the packet adds 16). Default 100.
	MsgSize float64 `json:"msg_size"`
	// P99 is the latency target, push accepted to client received. Default 200ms.
	P99 time.Duration `json:"-"`
	// Window is the batch window. Default 0: the largest window (at most
	// MaxWindow) whose estimated p99 meets P99 in every room.
	Window    time.Duration `json:"-"`
	MaxWindow time.Duration `json:"-"` // Default 1s.
	// BatchMaxMessages and BatchMaxBytes cap a batch (gateway defaults 256 and
	// 64 KiB); BatchFixed makes every message wait for the window.
	BatchMaxMessages int  `json:"batch_max_messages"`
	BatchMaxBytes    int  `json:"batch_max_bytes"`
	BatchFixed       bool `json:"batch_fixed"`
	// Paced models evenly spaced messages (as `barrage bench` sends them)
	// instead of random (Poisson) arrivals. Default false.
	Paced bool `json:"paced"`
	// WSShare is the share of viewers on WebSocket, 0 to 1. Default 0 (all TCP).
	WSShare float64 `json:"ws_share"`
	// Cores per gateway box (fractions model CPU quotas). Default 2.
	Cores float64 `json:"cores"`
	// MemoryGiB per gateway box. Default 24.
	MemoryGiB float64 `json:"memory_gib"`
	// NoFile is the open-file limit of one gateway process. Default 20000.
	NoFile int `json:"nofile"`
	// ReservedFiles are descriptors a process needs besides clients (listeners,
	// epoll, logs, RPC); tuning/ reserves 64. Default 64.
	ReservedFiles int `json:"reserved_files"`
	// CPUTarget, MemTarget and NICTarget are the shares of a box's cores,
	// memory and NIC the plan may fill (CPU below 1). Defaults 0.7, 0.8, 0.7.
	CPUTarget float64 `json:"cpu_target"`
	MemTarget float64 `json:"mem_target"`
	NICTarget float64 `json:"nic_target"`
	// NICGbps is a box's egress bandwidth in Gbit/s. Default 10.
	NICGbps float64 `json:"nic_gbps"`
	// Heartbeat is the client heartbeat period; 0: none. Default 30s.
	Heartbeat time.Duration `json:"-"`
	// BaseLatency is the p99 of everything but batching and fan-out (push API,
	// network to the client). Default 5ms.
	BaseLatency time.Duration `json:"-"`
	// MSS and SegmentOverhead turn socket bytes into wire bytes: one
	// Ethernet+IPv4+TCP header (with timestamps: 14+20+32 = 66 B) per segment
	// of at most MSS (1448) bytes.
	MSS             float64 `json:"mss"`
	SegmentOverhead float64 `json:"segment_overhead"`
	// Costs are the per-unit costs. Default DefaultCosts().
	Costs Costs `json:"costs"`
}

// DefaultInput is an Input with every default filled in and no rooms; the
// machine defaults are the box docs/BENCHMARKS.md was measured on.
func DefaultInput() Input {
	return Input{
		Rate:             10,
		MsgSize:          100,
		P99:              200 * time.Millisecond,
		MaxWindow:        time.Second,
		BatchMaxMessages: 256,
		BatchMaxBytes:    64 << 10,
		Cores:            2,
		MemoryGiB:        24,
		NoFile:           20000,
		ReservedFiles:    64,
		CPUTarget:        0.7,
		MemTarget:        0.8,
		NICTarget:        0.7,
		NICGbps:          10,
		Heartbeat:        30 * time.Second,
		BaseLatency:      5 * time.Millisecond,
		MSS:              1448,
		SegmentOverhead:  66,
		Costs:            DefaultCosts(),
	}
}

// Validate says what is wrong with in, every problem at once.
func (in *Input) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("plan: "+format, a...)) }
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if len(in.Groups) == 0 && in.Zipf == nil {
		bad("no rooms: give --rooms COUNTxSIZE[@RATE],..., --zipf rooms=N,s=S or --rooms-file FILE")
	}
	if in.Viewers < 0 || !finite(in.Viewers) {
		bad("viewers %g must be >= 0", in.Viewers)
	}
	if in.Rate < 0 || !finite(in.Rate) {
		bad("rate %g msg/s must be >= 0", in.Rate)
	}
	if in.MsgSize < 0 || !finite(in.MsgSize) {
		bad("message size %g B must be >= 0", in.MsgSize)
	}
	if in.P99 <= 0 {
		bad("p99 target %s must be above 0", in.P99)
	}
	if in.Window < 0 {
		bad("batch window %s must be >= 0 (0: derive it from the p99 target)", in.Window)
	}
	if in.Window == 0 && in.MaxWindow <= 0 {
		bad("max window %s must be above 0", in.MaxWindow)
	}
	if in.BatchMaxMessages < 1 || in.BatchMaxBytes < 1 {
		bad("batch caps %d messages / %d bytes must be >= 1", in.BatchMaxMessages, in.BatchMaxBytes)
	}
	if in.WSShare < 0 || in.WSShare > 1 || !finite(in.WSShare) {
		bad("WebSocket share %g must be from 0 to 1", in.WSShare)
	}
	if in.Cores <= 0 || !finite(in.Cores) {
		bad("cores %g must be above 0", in.Cores)
	}
	if in.MemoryGiB <= 0 || !finite(in.MemoryGiB) {
		bad("memory %g GiB must be above 0", in.MemoryGiB)
	}
	if in.NoFile <= in.ReservedFiles || in.ReservedFiles < 0 {
		bad("open-file limit %d must exceed the %d files a process reserves for itself", in.NoFile, in.ReservedFiles)
	}
	type named struct {
		name string
		v    float64
	}
	// A box planned at 100 % CPU has unbounded queues: the fan-out model
	// divides by 1 - utilisation.
	if in.CPUTarget >= 1 {
		bad("cpu target %g must be below 1 (a saturated box has no bounded latency)", in.CPUTarget)
	}
	for _, t := range []named{{"cpu", in.CPUTarget}, {"memory", in.MemTarget}, {"nic", in.NICTarget}} {
		if t.v <= 0 || t.v > 1 || !finite(t.v) {
			bad("%s target %g must be above 0 and at most 1", t.name, t.v)
		}
	}
	if in.NICGbps <= 0 || !finite(in.NICGbps) {
		bad("NIC bandwidth %g Gbit/s must be above 0", in.NICGbps)
	}
	if in.Heartbeat < 0 || in.BaseLatency < 0 {
		bad("heartbeat %s and base latency %s must be >= 0", in.Heartbeat, in.BaseLatency)
	}
	if in.MSS < 1 || in.SegmentOverhead < 0 {
		bad("MSS %g must be >= 1 and segment overhead %g >= 0", in.MSS, in.SegmentOverhead)
	}
	c := in.Costs
	for _, t := range []named{
		{"user KB per conn", c.UserKB}, {"kernel KB per socket", c.KernelKB}, {"process base MB", c.ProcessMB},
		{"write fixed us", c.WriteUS}, {"ns per byte", c.ByteNS}, {"heartbeat read us", c.ReadUS}, {"ingest us", c.IngestUS},
	} {
		if t.v < 0 || !finite(t.v) {
			bad("cost %s = %g must be >= 0", t.name, t.v)
		}
	}
	for _, g := range in.Groups {
		if g.Rooms <= 0 || g.Members < 0 || g.MaxSize < 0 || g.Rate < 0 {
			bad("room group %q: rooms %g, members %g, max size %g, rate %g must not be negative (rooms above 0)",
				g.Label, g.Rooms, g.Members, g.MaxSize, g.Rate)
		}
	}
	return errors.Join(errs...)
}

// batching is the batcher configuration for window w (seconds).
func (in *Input) batching(w float64) Batching {
	return Batching{Window: w, MaxMessages: in.BatchMaxMessages, MaxBytes: in.BatchMaxBytes,
		Fixed: in.BatchFixed, Paced: in.Paced}
}

// mix averages a TCP and a WebSocket figure by the transport shares.
func (in *Input) mix(tcp, ws float64) float64 { return (1-in.WSShare)*tcp + in.WSShare*ws }
