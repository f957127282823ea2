package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BenchLine holds the fields of one `barrage bench -json` line the planner
// uses; field names follow bench/report.go. Lines from older benches lack the
// newer fields (scenario name, rooms, writes per delivery) and still serve.
type BenchLine struct {
	Line     int                        `json:"-"`
	Scenario map[string]json.RawMessage `json:"scenario"`
	Measured bool                       `json:"gateway_measured"`
	// RSSBeforeKB is the gateway's RSS before any connection.
	RSSBeforeKB   int64   `json:"rss_before_kb"`
	RSSPerConnKB  float64 `json:"rss_per_conn_kb"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerDelivUS float64 `json:"cpu_per_delivery_us"`
	CPUPercent    float64 `json:"cpu_percent"`
	// WritesPerDelivery is write(2)+writev(2) calls of the gateways over
	// deliveries, when the bench could count them.
	WritesPerDelivery float64 `json:"gateway_writes_per_delivery"`
	Sent              int64   `json:"sent"`
	Delivered         int64   `json:"delivered"`
	Latency           struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"latency"`
}

// benchRun is a push run as the model sees it.
type benchRun struct {
	batching    Batching
	ratePerRoom float64
	packet      float64
	wsShare     float64
	// m is messages per write: counted when the bench counted the gateway's
	// writes (measured), else from the batching model with paced arrivals.
	m        float64
	measured bool
	bytes    float64 // per write, averaged over the transports
	writes   float64 // during the run: delivered / m
}

// idle says the line pushed nothing (idle-hold, or -idle in older benches).
func (l BenchLine) idle() bool {
	return l.scenario("idle") == "true" || l.scenario("name") == "idle-hold"
}

// oneRoom says the line pushed into a single room, so its CPU is almost all
// writes: hot-room, mixed, and the older benches' only scenario.
func (l BenchLine) oneRoom() bool {
	switch l.scenario("name") {
	case "", "hot-room", "mixed":
		return l.scenarioFloat("rooms") <= 1
	}
	return false
}

// smallRooms says the line spread its pushes over many small rooms, so a good
// share of its CPU is receiving the pushes.
func (l BenchLine) smallRooms() bool { return l.scenario("name") == "small-rooms" }

// run works out messages and bytes per write for a push line.
func (l BenchLine) run() (benchRun, error) {
	b, err := benchBatching(l.scenario("gateway_flags"))
	if err != nil {
		return benchRun{}, err
	}
	r := benchRun{batching: b, packet: packetBytes(benchBody(l.scenarioFloat("msg_size")))}
	// small-rooms pushes Rate messages per second in total, round-robin over the rooms
	r.ratePerRoom = l.scenarioFloat("rate") / max(1, l.scenarioFloat("rooms"))
	switch l.scenario("transport") {
	case "ws":
		r.wsShare = 1
	case "mixed":
		r.wsShare = l.scenarioFloat("ws_fraction")
		if r.wsShare == 0 {
			r.wsShare = 0.5 // the bench's default, left out of the JSON when unset
		}
	}
	r.m = b.MessagesPerWrite(r.ratePerRoom, r.packet)
	if r.m <= 0 {
		return r, fmt.Errorf("scenario rate %q is not a positive message rate", l.scenario("rate"))
	}
	if l.WritesPerDelivery > 0 && l.Delivered > 0 {
		writes := l.WritesPerDelivery * float64(l.Delivered)
		if l.scenario("target") != "distributed" {
			// the gateway process also serves the push API: one reply write per
			// push per process
			writes -= float64(l.Sent) * max(1, l.scenarioFloat("gateways"))
		}
		if writes > 0 {
			r.m, r.measured = max(1, float64(l.Delivered)/writes), true
		}
	}
	r.bytes = (1-r.wsShare)*WriteBytes(r.m, r.packet, false) + r.wsShare*WriteBytes(r.m, r.packet, true)
	r.writes = float64(l.Delivered) / r.m
	return r, nil
}

// ReadBench reads the JSON lines of a bench file; blank lines are skipped.
func ReadBench(r io.Reader, name string) ([]BenchLine, error) {
	var lines []BenchLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l BenchLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("bench file %s line %d: not a `barrage bench -json` line: %w", name, n, err)
		}
		if l.Scenario == nil {
			return nil, fmt.Errorf("bench file %s line %d: no \"scenario\" object; not a `barrage bench -json` line", name, n)
		}
		l.Line = n
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench file %s: %w", name, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("bench file %s: no JSON lines", name)
	}
	return lines, nil
}

// scenario reads a scenario field as text: strings unquoted, numbers and
// bools as written, missing fields (omitted when empty) as "".
func (l BenchLine) scenario(key string) string {
	raw, ok := l.Scenario[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (l BenchLine) scenarioFloat(key string) float64 {
	f, _ := strconv.ParseFloat(l.scenario(key), 64)
	return f
}

// Match is a selection of bench lines by scenario fields, e.g.
// {"conns": "10000", "transport": "tcp"}.
type Match map[string]string

// ParseMatch parses "key=value,key=value" (keys are bench scenario JSON
// fields: conns, rate, transport, msg_size, idle, gateway_flags, ...).
func ParseMatch(spec string) (Match, error) {
	m := Match{}
	for kv := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("calibration match %q: %q is not key=value (keys are bench scenario fields: conns, rate, transport, msg_size, idle, gateway_flags, ...)", spec, kv)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m, nil
}

// matches says whether every key of m equals the line's scenario field;
// numbers compare as numbers, so rate=40 matches 40.0, and a missing field
// matches "", 0 or false.
func (m Match) matches(l BenchLine) bool {
	for k, want := range m {
		got := l.scenario(k)
		if got == want {
			continue
		}
		gf, gerr := strconv.ParseFloat(orZero(got), 64)
		wf, werr := strconv.ParseFloat(orZero(want), 64)
		if gerr == nil && werr == nil && gf == wf {
			continue
		}
		if (got == "" || got == "false") && (want == "" || want == "false") {
			continue
		}
		return false
	}
	return true
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func (m Match) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// describe summarises a bench line's scenario for the sources column.
func describe(l BenchLine) string {
	s := fmt.Sprintf("%s conns %s", l.scenario("conns"), l.scenario("transport"))
	if name := l.scenario("name"); name != "" {
		s = name + ", " + s
	}
	if l.idle() {
		return s + ", idle"
	}
	if rooms := l.scenario("rooms"); rooms != "" && rooms != "1" {
		s += ", " + rooms + " rooms"
	}
	s += fmt.Sprintf(", %s msg/s", l.scenario("rate"))
	if pad := l.scenario("msg_size"); pad != "" && pad != "0" {
		s += ", " + pad + " B padding"
	}
	if f := l.scenario("gateway_flags"); f != "" {
		s += ", " + f
	}
	return s
}

// benchBody is the body size of a bench message with pad bytes of padding
// (bench/body.go: `,"pad":"xxx"` adds 9 + pad bytes).
func benchBody(pad float64) float64 {
	if pad <= 0 {
		return benchBodyBytes
	}
	return benchBodyBytes + 9 + pad
}

// benchBatching reads the batch settings a bench run gave its gateway
// (-gateway.batch_window=1s and the like); the rest keep the gateway defaults.
func benchBatching(flags string) (Batching, error) {
	b := Batching{Window: 0.05, MaxMessages: 256, MaxBytes: 64 << 10, Paced: true}
	fields := strings.Fields(flags)
	for i := 0; i < len(fields); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(fields[i], "-"), "=")
		if !strings.HasPrefix(name, "gateway.batch_") {
			continue
		}
		if !hasVal && name != "gateway.batch_fixed" && i+1 < len(fields) {
			i++
			val = fields[i]
		}
		var err error
		switch name {
		case "gateway.batch_window":
			var d time.Duration
			d, err = time.ParseDuration(val)
			b.Window = d.Seconds()
		case "gateway.batch_max_messages":
			b.MaxMessages, err = strconv.Atoi(val)
		case "gateway.batch_max_bytes":
			b.MaxBytes, err = strconv.Atoi(val)
		case "gateway.batch_fixed":
			b.Fixed = true
			if hasVal {
				b.Fixed, err = strconv.ParseBool(val)
			}
		}
		if err != nil {
			return b, fmt.Errorf("gateway flag %s: cannot read %q: %w", name, val, err)
		}
	}
	if b.Window <= 0 || b.MaxMessages < 1 {
		return b, errors.New("gateway flags give a batch window <= 0 or batch_max_messages < 1")
	}
	return b, nil
}
