package plan

import (
	"fmt"
	"math"
)

// Result is an estimate. Rates are per second; CPU in cores (1 = one core
// busy all the time); memory in GiB; bandwidth in Gbit/s.
type Result struct {
	Viewers float64 `json:"viewers"`
	Members float64 `json:"members"` // viewers in rooms
	Rooms   float64 `json:"rooms"`

	Boxes              int `json:"boxes"`
	ProcessesPerBox    int `json:"processes_per_box"`
	Processes          int `json:"processes"`
	ConnsPerBox        int `json:"conns_per_box"`
	ConnsPerProcess    int `json:"conns_per_process"`
	MaxConnsPerProcess int `json:"max_conns_per_process"`
	// BoundBy lists what would not fit with one box fewer ("cpu: ...").
	BoundBy []string `json:"bound_by,omitempty"`

	// WindowMS is the batch window; WindowDerived says it was chosen to meet
	// the p99 target (else it was given), WindowLimitedBy names the group whose
	// p99 stops it growing (empty when it reached the maximum).
	WindowMS        float64  `json:"window_ms"`
	WindowDerived   bool     `json:"window_derived"`
	WindowLimitedBy string   `json:"window_limited_by,omitempty"`
	Batching        Batching `json:"batching"`
	P99TargetMS     float64  `json:"p99_target_ms"`
	BaseLatencyMS   float64  `json:"base_latency_ms"`
	MaxWindowMS     float64  `json:"max_window_ms"`
	HeartbeatS      float64  `json:"heartbeat_s"`
	PacketBytes     float64  `json:"packet_bytes"`

	Groups     []GroupResult `json:"groups"`
	Heartbeats struct {
		PerS        float64 `json:"per_s"`
		CPUCores    float64 `json:"cpu_cores"`
		PayloadGbps float64 `json:"payload_gbps"`
	} `json:"heartbeats"`
	CPU struct {
		DeliveriesPerS   float64 `json:"deliveries_per_s"`
		WritesPerS       float64 `json:"writes_per_s"`
		RoomCores        float64 `json:"room_cores"`
		HeartbeatCores   float64 `json:"heartbeat_cores"`
		IngestCores      float64 `json:"ingest_cores"`
		TotalCores       float64 `json:"total_cores"`
		PerBoxCores      float64 `json:"per_box_cores"`
		PerBoxPercent    float64 `json:"per_box_percent"` // of the box's cores
		PerDeliveryUS    float64 `json:"per_delivery_us"` // room CPU / deliveries
		BoxUtilization   float64 `json:"box_utilization"` // 0-1, used for fan-out
		LimitPerBoxCores float64 `json:"limit_per_box_cores"`
	} `json:"cpu"`
	Memory struct {
		UserGiB           float64 `json:"user_gib"`    // RSS per conn x viewers
		ProcessGiB        float64 `json:"process_gib"` // base RSS x processes
		KernelIdleGiB     float64 `json:"kernel_idle_gib"`
		KernelInflightGiB float64 `json:"kernel_inflight_gib"`
		TotalGiB          float64 `json:"total_gib"`
		PerBoxGiB         float64 `json:"per_box_gib"`
		LimitPerBoxGiB    float64 `json:"limit_per_box_gib"`
	} `json:"memory"`
	Egress struct {
		PayloadGbps   float64 `json:"payload_gbps"`
		WireGbps      float64 `json:"wire_gbps"`
		PerBoxGbps    float64 `json:"per_box_gbps"` // wire
		LimitBoxGbps  float64 `json:"limit_per_box_gbps"`
		PerViewerKbps float64 `json:"per_viewer_kbps"` // wire
	} `json:"egress"`

	Input       Input        `json:"input"`
	Calibration *Calibration `json:"calibration,omitempty"`
	Warnings    []string     `json:"warnings,omitempty"`
}

// GroupResult is one room group at the planned window and box count.
type GroupResult struct {
	Group
	MessagesPerWrite float64 `json:"messages_per_write"`
	WriteBytesTCP    float64 `json:"write_bytes_tcp"`
	WriteBytesWS     float64 `json:"write_bytes_ws"`
	WriteUS          float64 `json:"write_us"` // mixed over transports
	PerDeliveryUS    float64 `json:"per_delivery_us"`
	DeliveriesPerS   float64 `json:"deliveries_per_s"`
	WritesPerS       float64 `json:"writes_per_s"`
	CPUCores         float64 `json:"cpu_cores"`
	WireGbps         float64 `json:"wire_gbps"`
	WaitP99MS        float64 `json:"wait_p99_ms"`
	FanoutMS         float64 `json:"fanout_ms"` // the group's largest room
	P99MS            float64 `json:"p99_ms"`
}

// Estimate sizes the deployment for in. It returns an error when in is
// invalid or when no number of boxes meets every target.
func Estimate(in Input) (*Result, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r := &Result{Input: in}
	var groups []Group
	for _, g := range in.Groups {
		if g.DefaultRate {
			g.Rate = in.Rate
		}
		groups = append(groups, g)
		r.Members += g.Members
	}
	if in.Zipf != nil {
		z := *in.Zipf
		if !z.HasRate {
			z.Rate = in.Rate
		}
		zv := z.Viewers
		if zv == 0 && in.Viewers > 0 {
			zv = in.Viewers - r.Members
		}
		zg, err := z.Groups(zv)
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		for _, g := range zg {
			r.Members += g.Members
		}
		groups = append(groups, zg...)
	}
	for _, g := range groups {
		r.Rooms += g.Rooms
	}
	r.Viewers = in.Viewers
	switch {
	case in.Viewers == 0:
		r.Viewers = r.Members
	case in.Viewers < r.Members-0.5:
		return nil, fmt.Errorf("plan: the rooms hold %.0f members but --viewers is %.0f; a viewer is in at most one room", r.Members, in.Viewers)
	case in.Viewers > r.Members+0.5:
		r.Warnings = append(r.Warnings, fmt.Sprintf("%.0f viewers are in no room (or a silent one): they cost memory and heartbeats only",
			in.Viewers-r.Members))
	}
	if r.Viewers < 1 {
		return nil, fmt.Errorf("plan: no viewers (the rooms hold %.2f members)", r.Members)
	}
	e := newEstimator(&in, r.Viewers, groups)
	s, err := e.search()
	if err != nil {
		return nil, err
	}
	if s.boxes > 1 {
		r.BoundBy = e.at(s.boxes - 1).fails
	}
	r.fill(e, s)
	return r, nil
}

// fill copies sizing s into r and costs each group at s's window.
func (r *Result) fill(e *estimator, s sizing) {
	in, c := e.in, e.in.Costs
	b := float64(s.boxes)
	r.Boxes, r.ProcessesPerBox, r.Processes = s.boxes, s.procsPerBox, s.boxes*s.procsPerBox
	r.ConnsPerBox = s.connsPerBox
	r.ConnsPerProcess = int(math.Ceil(float64(s.connsPerBox) / float64(s.procsPerBox)))
	r.MaxConnsPerProcess = e.perProc
	r.WindowMS = 1000 * s.window
	r.WindowDerived = in.Window == 0
	if r.WindowDerived && s.window < in.MaxWindow.Seconds() {
		r.WindowLimitedBy = s.worstLabel
	}
	bat := in.batching(s.window)
	r.Batching = bat
	r.P99TargetMS = 1000 * in.P99.Seconds()
	r.BaseLatencyMS = 1000 * in.BaseLatency.Seconds()
	r.MaxWindowMS = 1000 * in.MaxWindow.Seconds()
	r.HeartbeatS = in.Heartbeat.Seconds()
	r.PacketBytes = e.packet

	for _, g := range e.groups {
		gr := GroupResult{Group: g}
		m := bat.MessagesPerWrite(g.Rate, e.packet)
		if m > 0 && g.Members > 0 {
			us, _ := e.writeCost(m)
			gr.MessagesPerWrite = m
			gr.WriteBytesTCP = WriteBytes(m, e.packet, false)
			gr.WriteBytesWS = WriteBytes(m, e.packet, true)
			gr.WriteUS = us
			gr.PerDeliveryUS = us / m
			gr.DeliveriesPerS = g.Members * g.Rate
			gr.WritesPerS = gr.DeliveriesPerS / m
			gr.CPUCores = gr.WritesPerS * us / 1e6
			gr.WireGbps = 8 * gr.WritesPerS * e.wireBytes(m) / 1e9
			gr.WaitP99MS = 1000 * bat.WaitP99(g.Rate, e.packet)
			gr.FanoutMS = 1000 * e.fanout(g.MaxSize, s.boxes, us, s.rho)
			gr.P99MS = gr.WaitP99MS + gr.FanoutMS + r.BaseLatencyMS
			if !r.WindowDerived && gr.P99MS > r.P99TargetMS {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: estimated p99 %.1f ms is over the %.0f ms target at the given %.1f ms window",
					g.Label, gr.P99MS, r.P99TargetMS, r.WindowMS))
			}
		}
		if g.Rooms > 0 && g.Members/g.Rooms < 1 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: rooms average %.2f viewers; fewer viewers or fewer rooms would be more realistic",
				g.Label, g.Members/g.Rooms))
		}
		r.Groups = append(r.Groups, gr)
	}

	if hb := in.Heartbeat.Seconds(); hb > 0 {
		r.Heartbeats.PerS = r.Viewers / hb
	}
	r.Heartbeats.CPUCores = s.hbCPU / 1e6
	r.Heartbeats.PayloadGbps = 8 * s.hbPayload / 1e9

	r.CPU.DeliveriesPerS = s.deliveries
	r.CPU.WritesPerS = s.writes
	r.CPU.RoomCores = s.roomCPU / 1e6
	r.CPU.HeartbeatCores = s.hbCPU / 1e6
	r.CPU.IngestCores = s.ingestCPU / 1e6
	r.CPU.TotalCores = r.CPU.RoomCores + r.CPU.HeartbeatCores + r.CPU.IngestCores
	r.CPU.PerBoxCores = r.CPU.TotalCores / b
	r.CPU.PerBoxPercent = 100 * r.CPU.PerBoxCores / in.Cores
	if s.deliveries > 0 {
		r.CPU.PerDeliveryUS = s.roomCPU / s.deliveries
	}
	r.CPU.BoxUtilization = s.rho
	r.CPU.LimitPerBoxCores = in.Cores * in.CPUTarget

	const gib = 1 << 30
	r.Memory.UserGiB = r.Viewers * c.UserKB * 1024 / gib
	r.Memory.ProcessGiB = float64(r.Processes) * c.ProcessMB * (1 << 20) / gib
	r.Memory.KernelIdleGiB = r.Viewers * c.KernelKB * 1024 / gib
	r.Memory.KernelInflightGiB = s.inflight / gib
	r.Memory.TotalGiB = r.Memory.UserGiB + r.Memory.ProcessGiB + r.Memory.KernelIdleGiB + r.Memory.KernelInflightGiB
	r.Memory.PerBoxGiB = s.memPerBox / gib
	r.Memory.LimitPerBoxGiB = in.MemoryGiB * in.MemTarget

	r.Egress.PayloadGbps = 8 * (s.payload + s.hbPayload) / 1e9
	r.Egress.WireGbps = 8 * (s.wire + s.hbWire) / 1e9
	r.Egress.PerBoxGbps = r.Egress.WireGbps / b
	r.Egress.LimitBoxGbps = in.NICGbps * in.NICTarget
	r.Egress.PerViewerKbps = 1e6 * r.Egress.WireGbps / r.Viewers
}
