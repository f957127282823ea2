package plan

import (
	"strings"
	"testing"
	"time"
)

func mustGroups(t *testing.T, spec string) []Group {
	t.Helper()
	g, err := ParseGroups(spec)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// benchInput is the measured hot room of docs/BENCHMARKS.md as the bench runs
// it: 10,000 viewers in one room, 40 msg/s evenly paced, the bench's 36-byte
// body, no heartbeats, on the default 2-core box.
func benchInput(t *testing.T) Input {
	in := DefaultInput()
	in.Groups = mustGroups(t, "1x10000@40")
	in.MsgSize = 36
	in.Paced = true
	in.Heartbeat = 0
	in.Window = 50 * time.Millisecond
	return in
}

func TestEstimateBenchHotRoom(t *testing.T) {
	r, err := Estimate(benchInput(t))
	if err != nil {
		t.Fatal(err)
	}
	g := r.Groups[0]
	// m = max(1, 40 x 0.05) = 2 messages of 16 + 36 = 52 B: 104 B per write,
	// 3.788889 + 104 x 0.002991453 = 4.1 us per write (the anchor itself).
	near(t, "m", g.MessagesPerWrite, 2, 0)
	near(t, "bytes", g.WriteBytesTCP, 104, 0)
	near(t, "us/write", g.WriteUS, 4.1, 1e-9)
	// 10,000 x 40 = 400,000 deliveries/s in 200,000 writes/s x 4.1 us = 0.82
	// cores, 2.05 us per delivery (measured: 1.93-2.05 us, ~80 % of a core).
	near(t, "deliveries", r.CPU.DeliveriesPerS, 400000, 1e-6)
	near(t, "writes", r.CPU.WritesPerS, 200000, 1e-6)
	near(t, "room cores", r.CPU.RoomCores, 0.82, 1e-9)
	near(t, "us/delivery", r.CPU.PerDeliveryUS, 2.05, 1e-9)
	// ingest: 40 msg/s x 1 room x 1 process x 35 us = 0.0014 cores
	near(t, "ingest cores", r.CPU.IngestCores, 0.0014, 1e-12)
	near(t, "cores", r.CPU.TotalCores, 0.8214, 1e-9)
	// utilisation 0.8214 / 2 = 0.4107; fan-out 10,000 / 1 / 2 x 4.1 us / 0.5893
	// = 34.787036 ms; p99 = 50 (paced: the window in full) + 34.787036 + 5.
	near(t, "utilisation", r.CPU.BoxUtilization, 0.4107, 1e-12)
	near(t, "fan-out", g.FanoutMS, 34.787035466, 1e-6)
	near(t, "p99", g.P99MS, 89.787035466, 1e-6)
	// memory per box: 10,000 x (1,792 B RSS + 4,100 B slab) = 58,920,000 B, +
	// one 104-byte write queued per member: (104 + 576) B rounds up to one
	// 4,096-byte page, 40,960,000 B, + 38 MiB = 39,845,888 B: 139,725,888 B.
	near(t, "memory per box", r.Memory.PerBoxGiB, 139725888.0/(1<<30), 1e-12)
	near(t, "user GiB", r.Memory.UserGiB, 10000*1.75*1024/(1<<30), 1e-12)
	near(t, "kernel idle GiB", r.Memory.KernelIdleGiB, 10000*4100.0/(1<<30), 1e-12)
	near(t, "kernel in flight GiB", r.Memory.KernelInflightGiB, 40960000.0/(1<<30), 1e-12)
	// egress: 200,000 writes x (104 + 66) B x 8 = 0.272 Gbit/s (payload 0.1664).
	near(t, "wire", r.Egress.WireGbps, 0.272, 1e-12)
	near(t, "payload", r.Egress.PayloadGbps, 0.1664, 1e-12)
	if r.Boxes != 1 || r.Processes != 1 || len(r.BoundBy) != 0 || r.WindowDerived {
		t.Errorf("boxes %d processes %d bound by %v derived %v, want one box, given window", r.Boxes, r.Processes, r.BoundBy, r.WindowDerived)
	}
}

func TestEstimateGoimBatching(t *testing.T) {
	in := benchInput(t)
	in.Window, in.BatchMaxMessages, in.BatchFixed = time.Second, 20, true
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	g := r.Groups[0]
	// 20 messages per write of 1040 B: 6.9 us, 0.345 us per delivery
	// (measured 0.335-0.352); 20,000 writes/s x 6.9 us = 0.138 cores (~14 %),
	// + 0.0014 cores of ingest.
	near(t, "m", g.MessagesPerWrite, 20, 0)
	near(t, "us/delivery", g.PerDeliveryUS, 0.345, 1e-9)
	near(t, "cores", r.CPU.TotalCores, 0.1394, 1e-9)
	// wait: a batch fills in 20 / 40 = 0.5 s; fan-out 5,000 x 6.9 us /
	// (1 - 0.0697) = 37.084811 ms; p99 = 500 + 37.084811 + 5 (measured 522-526).
	near(t, "wait", g.WaitP99MS, 500, 1e-9)
	near(t, "p99", g.P99MS, 542.084811351, 1e-6)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "over the 200 ms target") {
		t.Errorf("warnings %q, want one saying p99 is over target", r.Warnings)
	}
}

func TestEstimateTransportMix(t *testing.T) {
	in := benchInput(t)
	in.WSShare = 0.5
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	// TCP 104 B at 4.1 us, WS 122 B at 3.788889 + 0.364957 = 4.153846 us:
	// mixed 4.126923 us; 200,000 writes/s -> 0.8253846 cores.
	near(t, "us/write", r.Groups[0].WriteUS, 4.126923077, 1e-8)
	near(t, "cores", r.CPU.RoomCores, 0.8253846154, 1e-9)
	// wire: TCP 170 B, WS 188 B per write: 200,000 x 179 x 8 = 0.2864 Gbit/s
	near(t, "wire", r.Egress.WireGbps, 0.2864, 1e-12)
}

func TestEstimateMemoryBoundByOpenFiles(t *testing.T) {
	in := DefaultInput()
	in.Groups = mustGroups(t, "1000x1000@0") // silent rooms: memory only
	in.Heartbeat = 0
	in.MemoryGiB = 1
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	// A box may use 0.8 GiB = 858,993,459 B. A connection costs 1,792 B RSS +
	// 4,100 B slab = 5,892 B, a process 38 MiB = 39,845,888 B and holds
	// 20,000 - 64 = 19,936 connections.
	//  9 boxes: 111,112 conns, 6 processes: 654,671,904 + 239,075,328 = 893,747,232 B: too much
	// 10 boxes: 100,000 conns, 6 processes: 589,200,000 + 239,075,328 = 828,275,328 B: fits
	if r.Boxes != 10 || r.ProcessesPerBox != 6 || r.Processes != 60 || r.ConnsPerBox != 100000 || r.ConnsPerProcess != 16667 {
		t.Errorf("got %d boxes x %d processes (%d), %d conns per box, %d per process; want 10 x 6 (60), 100000, 16667",
			r.Boxes, r.ProcessesPerBox, r.Processes, r.ConnsPerBox, r.ConnsPerProcess)
	}
	near(t, "memory per box", r.Memory.PerBoxGiB, 828275328.0/(1<<30), 1e-12)
	if len(r.BoundBy) != 1 || !strings.HasPrefix(r.BoundBy[0], "memory: 0.83 GiB per box > 0.80") {
		t.Errorf("bound by %q, want memory at 9 boxes", r.BoundBy)
	}
	if r.MaxConnsPerProcess != 19936 || r.CPU.TotalCores != 0 {
		t.Errorf("max conns per process %d, cores %g", r.MaxConnsPerProcess, r.CPU.TotalCores)
	}
}

func TestEstimateCPUAndNICBound(t *testing.T) {
	in := DefaultInput()
	in.Groups = mustGroups(t, "100x10000@40")
	in.Window = 100 * time.Millisecond
	in.Paced = true
	in.Cores, in.MemoryGiB, in.NoFile = 16, 64, 1048576
	in.Costs.IngestUS = 0 // TestEstimateIngest covers it
	// m = 4 messages of 116 B = 464 B per write: 3.788889 + 1.388034 = 5.176923 us.
	// 1,000,000 members x 40 = 40,000,000 deliveries/s / 4 = 10,000,000 writes/s
	// x 5.176923 us = 51.76923 cores. Heartbeats: 1,000,000 / 30 s = 33,333/s x
	// (3.788889 read + 3.848718 write of 20 B) = 0.2545869 cores. Total 52.02382.
	// CPU: 11.2 cores per box (70 % of 16): 52.02382 / 11.2 = 4.645 -> 5 boxes.
	// NIC: 10,000,000 x (464 + 66) x 8 = 42.4 Gbit/s + 33,333 x (20 + 66) x 8 =
	// 0.0229 Gbit/s: 42.4229 / 7 (70 % of 10) = 6.06 -> 7 boxes.
	for _, tc := range []struct {
		nic   float64
		boxes int
		bound string
	}{
		{10, 7, "nic: 7.07 Gbit/s per box > 7.00"},
		{25, 5, "cpu: 13.01 cores per box > 11.20"},
	} {
		in.NICGbps = tc.nic
		r, err := Estimate(in)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "cores", r.CPU.TotalCores, 52.02382, 1e-5)
		near(t, "wire", r.Egress.WireGbps, 42.4229333, 1e-6)
		if r.Boxes != tc.boxes || len(r.BoundBy) != 1 || !strings.HasPrefix(r.BoundBy[0], tc.bound) {
			t.Errorf("NIC %g Gbit/s: %d boxes bound by %q, want %d by %q", tc.nic, r.Boxes, r.BoundBy, tc.boxes, tc.bound)
		}
	}
}

func TestEstimateIngest(t *testing.T) {
	in := DefaultInput()
	in.Groups = mustGroups(t, "100x20@10")
	in.Heartbeat = 0
	in.NoFile = 5064 // 5,000 connections per process after the 64 reserved
	in.Viewers = 20000
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	// 20,000 viewers / 5,000 per process = 4 processes on the one box. A
	// 20-member room reaches 4 x (1 - (3/4)^20) = 4 x (1 - 0.0031712) =
	// 3.987315 of them; 100 rooms x 10 msg/s x 3.987315 x 35 us = 0.1395560 cores.
	if r.Boxes != 1 || r.ProcessesPerBox != 4 {
		t.Fatalf("%d boxes x %d processes, want 1 x 4", r.Boxes, r.ProcessesPerBox)
	}
	near(t, "ingest cores", r.CPU.IngestCores, 0.139556, 1e-6)
}

func TestEstimateDerivesTheWindow(t *testing.T) {
	in := DefaultInput()
	in.Groups = mustGroups(t, "1000x10@100")
	in.P99 = 105 * time.Millisecond
	in.Heartbeat = 0
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	g := r.Groups[0]
	// Busy rooms (rW ~ 10): wait p99 = 0.99 W, so W = (105 - 5 - fan-out) / 0.99.
	// The rooms are tiny (fan-out 10 / 2 cores x ~7.3 us ~ 0.04 ms): W ~ 100.97 ms,
	// m = rW + e^-rW ~ 10.1.
	near(t, "p99 meets the target", g.P99MS, 105, 1e-3)
	near(t, "wait = 0.99 W", g.WaitP99MS, 0.99*r.WindowMS, 1e-9)
	near(t, "window", r.WindowMS, (105-5-g.FanoutMS)/0.99, 1e-3)
	near(t, "window by hand", r.WindowMS, 100.97, 0.05)
	near(t, "m", g.MessagesPerWrite, 10.097, 0.01)
	if !r.WindowDerived || r.WindowLimitedBy != "1000x10@100" {
		t.Errorf("derived %v limited by %q", r.WindowDerived, r.WindowLimitedBy)
	}

	// A generous target lets the window reach its maximum.
	in.P99 = 5 * time.Second
	r, err = Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.WindowMS != 1000 || r.WindowLimitedBy != "" {
		t.Errorf("window %g limited by %q, want the 1000 ms maximum", r.WindowMS, r.WindowLimitedBy)
	}
}

func TestEstimateAddsBoxesForLatency(t *testing.T) {
	in := DefaultInput()
	in.Groups = mustGroups(t, "1x100000@1")
	in.P99 = 30 * time.Millisecond
	in.Heartbeat = 0
	in.Cores, in.MemoryGiB = 1, 64
	// One message per second: CPU ~ 100,000 x 4.1 us = 0.41 cores fits one box,
	// but writing 100,000 members takes ~0.41 s on one core: only more boxes,
	// each with fewer members of the room, bring the fan-out under 25 ms.
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Boxes < 2 || r.Groups[0].P99MS > 30 {
		t.Fatalf("%d boxes, p99 %g ms", r.Boxes, r.Groups[0].P99MS)
	}
	if len(r.BoundBy) == 0 || !strings.HasPrefix(r.BoundBy[0], "latency: 1x100000@1 misses the 30 ms p99 target") {
		t.Errorf("bound by %q, want latency", r.BoundBy)
	}
}

func TestEstimateRoomsAndViewers(t *testing.T) {
	in := DefaultInput()
	in.Viewers = 1000
	in.Groups = mustGroups(t, "1x400")
	in.Zipf = &Zipf{Rooms: 3, S: 1}
	r, err := Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	// the Zipf rooms share 1000 - 400 = 600 viewers: 600 x 6/11 = 327.27 in rank 1
	if r.Members != 1000 || r.Rooms != 4 || len(r.Groups) != 3 {
		t.Fatalf("members %g rooms %g groups %d", r.Members, r.Rooms, len(r.Groups))
	}
	near(t, "zipf rank 1", r.Groups[1].Members, 600*6.0/11, 1e-9)
	if r.Groups[1].Rate != 10 {
		t.Errorf("zipf rooms got rate %g, want the default 10", r.Groups[1].Rate)
	}

	in.Zipf = nil
	r, err = Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "600 viewers are in no room") {
		t.Errorf("warnings %q", r.Warnings)
	}
	// heartbeats count every viewer: 1000 / 30 s x (3.788889 + 3.848718) us
	near(t, "heartbeat cores", r.CPU.HeartbeatCores, 1000/30.0*7.637606838/1e6, 1e-12)
}

func TestEstimateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Input)
		want string
	}{
		{"no rooms", func(in *Input) { in.Groups = nil }, "no rooms"},
		{"too few viewers", func(in *Input) { in.Viewers = 50 }, "the rooms hold 100 members but --viewers is 50"},
		{"zipf without viewers", func(in *Input) { in.Zipf = &Zipf{Rooms: 10, S: 1}; in.Viewers = 100 }, "no viewers to spread"},
		{"bad machine", func(in *Input) { in.Cores = 0; in.NoFile = 10; in.CPUTarget = 1 },
			"cores 0 must be above 0\nplan: open-file limit 10 must exceed the 64 files a process reserves for itself\nplan: cpu target 1 must be below 1"},
		{"unreachable p99", func(in *Input) { in.P99 = 4 * time.Millisecond }, "no number of boxes fits"},
		{"bad cost", func(in *Input) { in.Costs.UserKB = -1 }, "user KB per conn = -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := DefaultInput()
			in.Groups = mustGroups(t, "1x100@5")
			tc.mod(&in)
			_, err := Estimate(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestWriteTableShowsTheArithmetic(t *testing.T) {
	r, err := Estimate(benchInput(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| gateway boxes | **1** |",
		"0.821 cores in all",
		"1x10000@40: 10,000 x 40 / 2 = 200,000 writes/s; x 4.1 us = 0.82 cores",
		"wait 50 + fan-out (10,000 / 1 / 2 x 4.1 us / 0.5893 = 34.8) + base 5 = 89.8 ms",
		"user space: 10,000 conns x 1.75 KiB + 1 processes x 38 MiB = 55.1 MiB",
		"| CPU per write, fixed | 3.79 us | default: line through 4.1 us @ 104 B",
		"| kernel memory per idle socket | 4 KiB (4,100 B) | default: docs/TUNING.md",
		"0.272 Gbit/s on the wire",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1234567: "1,234,567", -2500: "-2,500", 12.34: "12.3", 1.5: "1.5", 2: "2", 0.0123: "0.0123", 100: "100",
	} {
		if got := num(v); got != want {
			t.Errorf("num(%g) = %q, want %q", v, got, want)
		}
	}
}
