package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/barrage/barrage/plan"
)

const planUsage = `barrage plan: estimate gateway boxes, memory, CPU and egress for a workload.

Examples:
  barrage plan -rooms 1x10000@40 -window 50ms              # the bench's hot room, default window
  barrage plan -viewers 1000000 -rooms 1x100000@200 -zipf rooms=5000,s=1.1 -p99 150ms -cores 16 -memory-gib 64 -nofile 1048576
  barrage plan -rooms 1x10000@40 -calibrate bench.jsonl -calibrate-match conns=10000

Rooms: -rooms COUNTxSIZE[@RATE],... (explicit groups), -zipf rooms=N,s=S[,viewers=V][,rate=R]
(a power law over -viewers minus the explicit groups), -rooms-file FILE (CSV, one SIZE[,RATE] per line);
they combine. The model and a worked example: docs/CAPACITY.md.

Flags:
`

// cmdPlan is `barrage plan`: the capacity planner.
func cmdPlan(args []string) error {
	err := runPlan(args, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// costFlag is a cost the command line may override; set tells whether it was.
type costFlag struct {
	name, source string
	v            float64
	dst          func(*plan.Costs) *float64
}

func runPlan(args []string, stdout, stderr io.Writer) error {
	in := plan.DefaultInput()
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, planUsage)
		fs.PrintDefaults()
	}
	viewers := fs.Int64("viewers", 0, "concurrent connections in all (0: the members of the rooms)")
	rooms := fs.String("rooms", "", "room groups COUNTxSIZE[@MSGS_PER_S],..., e.g. 1x100000@200,50x2000,10000x20@1")
	zipf := fs.String("zipf", "", "Zipf room sizes: rooms=N,s=EXPONENT[,viewers=V][,rate=MSGS_PER_S]")
	roomsFile := fs.String("rooms-file", "", "CSV file with one room per line: SIZE[,MSGS_PER_S]")
	fs.Float64Var(&in.Rate, "rate", in.Rate, "messages per second per room, where a group gives none")
	fs.Float64Var(&in.MsgSize, "msg-size", in.MsgSize, "message body in bytes (each packet adds a 16-byte header)")
	fs.DurationVar(&in.P99, "p99", in.P99, "p99 latency target, push to client")
	fs.DurationVar(&in.Window, "window", in.Window, "batch window (0: the largest meeting the p99 target)")
	fs.DurationVar(&in.MaxWindow, "max-window", in.MaxWindow, "longest window the derivation may choose")
	fs.IntVar(&in.BatchMaxMessages, "batch-max-messages", in.BatchMaxMessages, "gateway.batch_max_messages")
	fs.IntVar(&in.BatchMaxBytes, "batch-max-bytes", in.BatchMaxBytes, "gateway.batch_max_bytes")
	fs.BoolVar(&in.BatchFixed, "batch-fixed", in.BatchFixed, "gateway.batch_fixed: every message waits for the window (goim)")
	fs.BoolVar(&in.Paced, "paced", in.Paced, "evenly spaced messages, as barrage bench sends them (default: random arrivals)")
	fs.Float64Var(&in.WSShare, "ws-share", in.WSShare, "share of viewers on WebSocket, 0 to 1")
	fs.Float64Var(&in.Cores, "cores", in.Cores, "cores per gateway box (fractions model CPU quotas)")
	fs.Float64Var(&in.MemoryGiB, "memory-gib", in.MemoryGiB, "memory per gateway box, GiB")
	fs.IntVar(&in.NoFile, "nofile", in.NoFile, "open-file limit of one gateway process")
	fs.IntVar(&in.ReservedFiles, "reserved-files", in.ReservedFiles, "descriptors a process keeps for itself")
	fs.Float64Var(&in.CPUTarget, "cpu-target", in.CPUTarget, "share of a box's cores the plan may use")
	fs.Float64Var(&in.MemTarget, "mem-target", in.MemTarget, "share of a box's memory the plan may use")
	fs.Float64Var(&in.NICTarget, "nic-target", in.NICTarget, "share of a box's NIC the plan may use")
	fs.Float64Var(&in.NICGbps, "nic-gbps", in.NICGbps, "egress bandwidth per box, Gbit/s")
	fs.DurationVar(&in.Heartbeat, "heartbeat", in.Heartbeat, "client heartbeat period (0: none)")
	fs.DurationVar(&in.BaseLatency, "base-latency", in.BaseLatency, "p99 of everything but batching and fan-out")
	fs.Float64Var(&in.MSS, "mss", in.MSS, "TCP maximum segment size, bytes")
	fs.Float64Var(&in.SegmentOverhead, "segment-overhead", in.SegmentOverhead, "Ethernet+IP+TCP header bytes per segment")
	calibrate := fs.String("calibrate", "", "bench JSON-lines file (barrage bench -json) to take costs from")
	match := fs.String("calibrate-match", "", "use the last line whose scenario has these fields, e.g. conns=10000,transport=tcp (default: the last line)")
	asJSON := fs.Bool("json", false, "print the estimate as JSON")
	d := in.Costs
	costs := []*costFlag{
		{name: "user-kb", v: d.UserKB, dst: func(c *plan.Costs) *float64 { return &c.UserKB }, source: "user_kb_per_conn"},
		{name: "kernel-kb", v: d.KernelKB, dst: func(c *plan.Costs) *float64 { return &c.KernelKB }, source: "kernel_kb_per_socket"},
		{name: "process-mb", v: d.ProcessMB, dst: func(c *plan.Costs) *float64 { return &c.ProcessMB }, source: "process_base_mb"},
		{name: "write-us", v: d.WriteUS, dst: func(c *plan.Costs) *float64 { return &c.WriteUS }, source: "write_fixed_us"},
		{name: "byte-ns", v: d.ByteNS, dst: func(c *plan.Costs) *float64 { return &c.ByteNS }, source: "write_ns_per_byte"},
		{name: "read-us", v: d.ReadUS, dst: func(c *plan.Costs) *float64 { return &c.ReadUS }, source: "heartbeat_read_us"},
		{name: "ingest-us", v: d.IngestUS, dst: func(c *plan.Costs) *float64 { return &c.IngestUS }, source: "ingest_us_per_message"},
	}
	help := map[string]string{
		"user-kb": "gateway RSS per connection, KiB", "kernel-kb": "kernel memory per idle socket, KiB",
		"process-mb": "RSS of a gateway process with no connections, MiB", "write-us": "fixed CPU cost of one socket write, us",
		"byte-ns": "CPU cost per byte written, ns", "read-us": "CPU cost of reading one heartbeat, us",
		"ingest-us": "CPU per room message per gateway process holding members, us",
	}
	for _, cf := range costs {
		fs.Float64Var(&cf.v, cf.name, cf.v, help[cf.name]+" (overrides calibration)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan: unexpected arguments %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	override := func(cf *costFlag) {
		*cf.dst(&in.Costs) = cf.v
		in.Costs.Sources[cf.source] = fmt.Sprintf("flag -%s", cf.name)
	}

	in.Viewers = float64(*viewers)
	if *rooms != "" {
		g, err := plan.ParseGroups(*rooms)
		if err != nil {
			return fmt.Errorf("plan: -rooms: %w", err)
		}
		in.Groups = append(in.Groups, g...)
	}
	if *roomsFile != "" {
		f, err := os.Open(*roomsFile)
		if err != nil {
			return fmt.Errorf("plan: -rooms-file: %w", err)
		}
		g, err := plan.ParseRoomsCSV(f, *roomsFile)
		f.Close()
		if err != nil {
			return fmt.Errorf("plan: -rooms-file: %w", err)
		}
		in.Groups = append(in.Groups, g...)
	}
	if *zipf != "" {
		z, err := plan.ParseZipf(*zipf)
		if err != nil {
			return fmt.Errorf("plan: -zipf: %w", err)
		}
		in.Zipf = &z
	}
	// The per-byte cost splits a calibration run's per-write cost, so a
	// -byte-ns flag has to be in place before calibrating.
	for _, cf := range costs {
		if cf.name == "byte-ns" && set[cf.name] {
			override(cf)
		}
	}
	var cal *plan.Calibration
	if *calibrate != "" {
		m, err := plan.ParseMatch(*match)
		if err != nil {
			return fmt.Errorf("plan: -calibrate-match: %w", err)
		}
		cal, err = plan.CalibrateFile(*calibrate, m, &in.Costs)
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
	} else if *match != "" {
		return errors.New("plan: -calibrate-match needs -calibrate FILE")
	}
	for _, cf := range costs {
		if set[cf.name] {
			override(cf)
		}
	}
	res, err := plan.Estimate(in)
	if err != nil {
		return err
	}
	res.Calibration = cal
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteTable(stdout)
}
