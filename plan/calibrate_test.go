package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLine is line 1 of testdata/bench.jsonl: a real `barrage bench -conns
// 10000 -rate 40 -duration 10s -json` run (default 50 ms adaptive window).
// testdata/bench.jsonl line 2 is the same with goim's batching
// (-gateway.batch_fixed=true -gateway.batch_window=1s
// -gateway.batch_max_messages=20), line 3 an idle run of 19,000 connections.
const benchLine = `{"time":"2026-11-22T02:43:23.237979186Z","scenario":{"conns":10000,"rate":40,"duration":10000000000,"transport":"tcp","msg_size":0,"per_worker":5000,"room":"bench","idle":false,"settle":2000000000,"dial_concurrency":64},"workers":2,"source_ips":["127.0.0.2","127.0.0.3"],"connected":10000,"connect_failed":0,"connect_retries":0,"connect_seconds":0.418795305,"connect_rate":23878.013627683817,"gateway_measured":true,"rss_before_kb":38380,"rss_after_kb":55476,"rss_per_conn_kb":1.7096,"cpu_seconds":8.17,"cpu_per_delivery_us":2.0425,"cpu_percent":80.86529245611315,"workers_cpu_percent":106.59965725242823,"sent":400,"push_errors":0,"push_seconds":9.975833915,"phase_seconds":10.103221978,"drained":true,"expected":4000000,"delivered":4000000,"lost":0,"duplicates":0,"unexpected":0,"dropped":0,"delivered_per_sec":395913.3045586935,"delivered_ratio":1,"latency":{"count":4000000,"p50_ms":67.903,"p99_ms":140.159,"p999_ms":160.383,"max_ms":199.679}}`

func calibrateString(t *testing.T, jsonl string, match Match) (Costs, *Calibration, error) {
	t.Helper()
	lines, err := ReadBench(strings.NewReader(jsonl), "fixture")
	if err != nil {
		return Costs{}, nil, err
	}
	c := DefaultCosts()
	cal, err := Calibrate(lines, "fixture", match, &c)
	return c, cal, err
}

func TestCalibrateFromOneLine(t *testing.T) {
	c, cal, err := calibrateString(t, benchLine+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "user KB", c.UserKB, 1.7096, 1e-12)
	// rss_before_kb 38380 / 1024 = 37.48 MiB
	near(t, "process MB", c.ProcessMB, 37.48046875, 1e-9)
	// 40 msg/s paced into a 50 ms adaptive window: 2 messages per write of
	// 2 x 52 = 104 bytes; 2.0425 us/delivery x 2 = 4.085 us per write;
	// minus 104 B x 2.991453 ns = 0.311111 us leaves 3.773889 us fixed.
	near(t, "messages per write", cal.BenchMessagesPerWrite, 2, 0)
	near(t, "bytes per write", cal.BenchWriteBytes, 104, 0)
	near(t, "us per write", cal.BenchWriteUS, 4.085, 1e-12)
	near(t, "fixed us", c.WriteUS, 3.773888889, 1e-8)
	near(t, "read us follows", c.ReadUS, c.WriteUS, 0)
	near(t, "ns per byte kept", c.ByteNS, DefaultCosts().ByteNS, 0)
	if cal.MemoryLine != 1 || cal.CPULine != 1 || cal.MeasuredP99MS != 140.159 || cal.MeasuredCPUPercent < 80 {
		t.Errorf("calibration %+v", cal)
	}
	if s := c.Sources["write_fixed_us"]; !strings.Contains(s, "fixture line 1") || !strings.Contains(s, "10000 conns tcp, 40 msg/s") {
		t.Errorf("source %q does not name the line and its scenario", s)
	}
	if s := c.Sources["kernel_kb_per_socket"]; !strings.HasPrefix(s, "default") {
		t.Errorf("kernel memory is not in a bench line, its source must stay the default: %q", s)
	}
}

func TestCalibrateFromFileWithSeveralLines(t *testing.T) {
	file := filepath.Join("testdata", "bench.jsonl")
	for _, tc := range []struct {
		name              string
		match             string
		memLine, cpuLine  int
		userKB, processMB float64
		fixedUS           float64
	}{
		// no match: the last line with each reading. Memory: line 3 (idle,
		// 1.782 KB, 35128 KB before). CPU: line 2, goim's batching: 20
		// messages per write of 1040 B; 0.35 x 20 = 7.0 us - 1040 x 2.991453 ns
		// (3.111111 us) = 3.888889 us.
		{"last", "", 3, 2, 1.7821052631578946, 35128.0 / 1024, 3.888888889},
		// conns=10000 rules out the idle line: both from line 2.
		{"conns", "conns=10000", 2, 2, 1.9648, 38320.0 / 1024, 3.888888889},
		// an empty gateway_flags (the field is left out when empty) rules out
		// line 2: memory from line 3, CPU from line 1 (see TestCalibrateFromOneLine).
		{"default flags", "gateway_flags=", 3, 1, 1.7821052631578946, 35128.0 / 1024, 3.773888889},
		// numbers compare as numbers
		{"rate as float", "rate=40.0,idle=false", 2, 2, 1.9648, 38320.0 / 1024, 3.888888889},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMatch(tc.match)
			if err != nil {
				t.Fatal(err)
			}
			c := DefaultCosts()
			cal, err := CalibrateFile(file, m, &c)
			if err != nil {
				t.Fatal(err)
			}
			if cal.MemoryLine != tc.memLine || cal.CPULine != tc.cpuLine {
				t.Errorf("lines memory %d cpu %d, want %d %d", cal.MemoryLine, cal.CPULine, tc.memLine, tc.cpuLine)
			}
			near(t, "user KB", c.UserKB, tc.userKB, 1e-12)
			near(t, "process MB", c.ProcessMB, tc.processMB, 1e-9)
			near(t, "fixed us", c.WriteUS, tc.fixedUS, 1e-8)
		})
	}
}

func TestCalibrateWebSocketLine(t *testing.T) {
	line := strings.Replace(benchLine, `"transport":"tcp"`, `"transport":"ws"`, 1)
	c, cal, err := calibrateString(t, line, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 2 packets in an op-9 packet in a frame: 2 + 16 + 104 = 122 B;
	// 4.085 - 122 x 2.991453 ns (0.364957) = 3.720043 us
	near(t, "ws bytes", cal.BenchWriteBytes, 122, 0)
	near(t, "fixed us", c.WriteUS, 3.720042735, 1e-8)
}

func TestCalibrateErrors(t *testing.T) {
	idle := `{"scenario":{"conns":10,"idle":true},"gateway_measured":true,"rss_per_conn_kb":2}`
	for _, tc := range []struct {
		name, jsonl string
		match       Match
		want        string
	}{
		{"no match", benchLine, Match{"conns": "5"}, "1 lines, 0 matching conns=5"},
		{"not measured", strings.Replace(benchLine, `"gateway_measured":true`, `"gateway_measured":false`, 1), nil, "no line with gateway readings"},
		{"not json", "hello\n", nil, "fixture line 1: not a `barrage bench -json` line"},
		{"no scenario", `{"delivered":5}`, nil, "line 1: no \"scenario\""},
		{"empty", "\n\n", nil, "no JSON lines"},
		{"bad flag", strings.Replace(benchLine, `"idle":false`, `"idle":false,"gateway_flags":"-gateway.batch_window=soon"`, 1), nil,
			`line 1: gateway flag gateway.batch_window: cannot read "soon"`},
		// 0.01 us per delivery x 2 = 0.02 us cannot pay for 104 bytes at 2.99 ns
		{"negative fixed", strings.Replace(benchLine, `"cpu_per_delivery_us":2.0425`, `"cpu_per_delivery_us":0.01`, 1), nil, "lower --byte-ns"},
		{"no rate", strings.Replace(benchLine, `"rate":40`, `"rate":0`, 1), nil, "not a positive message rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := calibrateString(t, tc.jsonl, tc.match)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// An idle line alone calibrates memory and leaves CPU at its defaults.
	c, cal, err := calibrateString(t, idle, nil)
	if err != nil || c.UserKB != 2 || cal.CPULine != 0 || c.WriteUS != DefaultCosts().WriteUS {
		t.Errorf("idle only: %+v %+v %v", c, cal, err)
	}
	if _, err := CalibrateFile(filepath.Join(t.TempDir(), "missing.jsonl"), nil, &c); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ParseMatch("conns"); err == nil || !strings.Contains(err.Error(), "not key=value") {
		t.Errorf("ParseMatch(conns) = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestBenchBatching(t *testing.T) {
	b, err := benchBatching("-gateway.batch_window 100ms --gateway.batch_fixed -gateway.batch_max_messages=20 -gateway.stripes=8")
	if err != nil {
		t.Fatal(err)
	}
	want := Batching{Window: 0.1, MaxMessages: 20, MaxBytes: 64 << 10, Fixed: true, Paced: true}
	if b != want {
		t.Errorf("got %+v, want %+v", b, want)
	}
	if b, _ := benchBatching(""); b.Window != 0.05 || b.MaxMessages != 256 || b.Fixed {
		t.Errorf("defaults: %+v", b)
	}
	if _, err := benchBatching("-gateway.batch_max_messages=0"); err == nil {
		t.Error("a zero batch cap must be refused")
	}
}

// testdata/bench-v2.jsonl holds two lines of the newer bench (scenario names,
// counted writes): line 1 `-scenario small-rooms -conns 2000 -rate 2000`
// (100 rooms of 20, 20 msg/s each), line 2 `-scenario hot-room -conns 10000
// -rate 40`, run while other tests loaded the box (the gateway fell behind and
// coalesced frames: 3.5 messages per write instead of the window's 2).
func TestCalibrateNewerBench(t *testing.T) {
	c := DefaultCosts()
	cal, err := CalibrateFile(filepath.Join("testdata", "bench-v2.jsonl"), nil, &c)
	if err != nil {
		t.Fatal(err)
	}
	if cal.MemoryLine != 2 || cal.CPULine != 2 || cal.IngestLine != 1 || !cal.MessagesCounted {
		t.Fatalf("calibration %+v, want memory and CPU from line 2, ingest from line 1, counted writes", cal)
	}
	// hot room: 0.28262725 writes per delivery x 4,000,000 deliveries -
	// 400 push replies = 1,130,109 writes: m = 3.539482 messages of 52 B =
	// 184.053 B; 1.1675 us/delivery x 3.539482 = 4.132345 us per write;
	// minus 184.053 x 2.991453 ns (0.550586 us) = 3.581759 us fixed.
	near(t, "messages per write", cal.BenchMessagesPerWrite, 3.539481590, 1e-8)
	near(t, "us per write", cal.BenchWriteUS, 4.132344756, 1e-8)
	near(t, "fixed us", c.WriteUS, 3.581758731, 1e-8)
	near(t, "user KB", c.UserKB, 1.8448, 0)
	// small rooms: 20 msg/s per room into a 50 ms window: 1 message per write
	// (the counted 1.055 writes per delivery include the 10,000 push replies);
	// 200,000 writes x (3.581759 + 52 x 2.991453 ns = 3.737314 us) = 0.747463 s
	// of the run's 1.18 s; the other 0.432537 s over 10,000 pushes = 43.25 us.
	near(t, "ingest us", c.IngestUS, 43.253714268, 1e-7)
	if s := c.Sources["ingest_us_per_message"]; !strings.Contains(s, "line 1: small-rooms, 2000 conns tcp, 100 rooms, 2000 msg/s") {
		t.Errorf("ingest source %q", s)
	}
	if s := c.Sources["write_fixed_us"]; !strings.Contains(s, "(counted)") {
		t.Errorf("write source %q does not say the messages per write were counted", s)
	}

	// A small-rooms run whose writes explain all its CPU leaves ingest alone.
	lines, err := ReadBench(strings.NewReader(`{"scenario":{"name":"small-rooms","conns":2000,"rate":2000,"rooms":100},"gateway_measured":true,"cpu_seconds":0.5,"cpu_per_delivery_us":2.5,"sent":10000,"delivered":200000}`), "fixture")
	if err != nil {
		t.Fatal(err)
	}
	c = DefaultCosts()
	cal, err = Calibrate(lines, "fixture", nil, &c)
	if err != nil || c.IngestUS != 35 || len(cal.Notes) != 1 || !strings.Contains(cal.Notes[0], "explain all its CPU") {
		t.Errorf("ingest %g, notes %q, err %v", c.IngestUS, cal.Notes, err)
	}
}
