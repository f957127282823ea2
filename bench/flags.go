package bench

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseFlags parses the `barrage bench` flags. Help and errors go to output.
//
// Defaults that depend on the scenario (presets) fill only the flags that were
// not given: `-scenario small-rooms` pushes 100 msg/s over 100 rooms unless
// -rate or -rooms say otherwise.
func ParseFlags(args []string, output io.Writer) (Scenario, error) {
	sc := DefaultScenario()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: barrage bench [-scenario NAME] [flags]\n       barrage bench -suite standard [-charts DIR] [-update-doc docs/BENCHMARKS.md] [-json FILE]\n\n")
		fmt.Fprintf(output, "Scenarios: %s (default %s).\nTargets: %s (default), %s, %s.\n\nFlags:\n",
			strings.Join(ScenarioNames, ", "), ScenarioHotRoom, TargetEmbedded, TargetReusePort, TargetDistributed)
		fs.PrintDefaults()
	}
	fs.StringVar(&sc.Name, "scenario", sc.Name, "scenario: "+strings.Join(ScenarioNames, ", "))
	fs.StringVar(&sc.Target, "target", sc.Target, "embedded (spawn barrage run), reuseport (spawn -gateways processes sharing ports) or distributed (a running stack: -tcp, -ws, -http)")
	fs.IntVar(&sc.Gateways, "gateways", sc.Gateways, "gateway processes of -target reuseport (default 2 there)")
	fs.IntVar(&sc.Conns, "conns", sc.Conns, "client connections (churners included)")
	fs.Float64Var(&sc.Rate, "rate", sc.Rate, "pushes per second, in total (small-rooms and per-user default 100)")
	fs.DurationVar(&sc.Duration, "duration", sc.Duration, "length of the push phase (idle-hold: of the hold phase)")
	fs.StringVar(&sc.Transport, "transport", sc.Transport, "tcp, ws or mixed (mixed scenario default)")
	fs.Float64Var(&sc.WSFraction, "ws-fraction", 0, "share of WebSocket connections with -transport mixed (default 0.5)")
	fs.IntVar(&sc.MsgSize, "msg-size", sc.MsgSize, "bytes of padding in each message (0: a small body)")
	fs.IntVar(&sc.PerWorker, "per-worker", sc.PerWorker, fmt.Sprintf("connections per worker process (at most %d)", MaxPerWorker))
	fs.StringVar(&sc.Room, "room", sc.Room, "room name (members join live://ROOM, small-rooms live://ROOM-N)")
	fs.IntVar(&sc.Rooms, "rooms", sc.Rooms, "rooms of small-rooms (default 100)")
	fs.StringVar(&sc.PushTo, "push-to", "", "per-user: address users by mids or keys (default mids)")
	fs.IntVar(&sc.UsersPerPush, "users-per-push", 0, "per-user: users addressed by one push (default 10)")
	fs.IntVar(&sc.ChurnConns, "churn-conns", 0, "churn: connections that close and reconnect (default conns/10)")
	fs.Float64Var(&sc.ChurnRate, "churn-rate", 0, "churn: reconnects per second (default 50)")
	idle := fs.Bool("idle", false, "same as -scenario idle-hold")
	fs.DurationVar(&sc.Settle, "settle", sc.Settle, "wait after the last connection before reading RSS again")
	fs.StringVar(&sc.GatewayFlags, "gateway-flags", sc.GatewayFlags, "extra flags for the spawned `barrage run`")
	fs.Var((*addrList)(&sc.TCPAddrs), "tcp", "TCP addresses of running gateways, comma-separated (implies -target distributed)")
	fs.Var((*addrList)(&sc.WSAddrs), "ws", "WebSocket addresses of running gateways, comma-separated")
	fs.Var((*addrList)(&sc.HTTPAddrs), "http", "push API addresses (logic); every push goes to each")
	fs.Var((*pidList)(&sc.GatewayPIDs), "gateway-pid", "pids of the running gateways, comma-separated, for RSS, CPU and writes")
	fs.Var((*addrList)(&sc.GatewayAdmin), "gateway-admin", "admin HTTP addresses (/metrics) of those gateways, same order, for GC pauses")
	fs.StringVar(&sc.JSONFile, "json", "", "append each report to this file as one JSON line")
	fs.StringVar(&sc.ChartsDir, "charts", "", "write latency-cdf.svg and delivered-per-second.svg into this directory")
	fs.StringVar(&sc.Suite, "suite", "", "run a fixed list of scenarios: standard")
	fs.StringVar(&sc.UpdateDoc, "update-doc", "", "with -suite: replace the marked region of this Markdown file with the results")
	fs.IntVar(&sc.DialConcurrency, "dial-concurrency", sc.DialConcurrency, "handshakes in flight per worker")
	fs.DurationVar(&sc.Heartbeat, "heartbeat", sc.Heartbeat, "client heartbeat period, replies counted (0: none; idle-hold default 5s)")
	fs.DurationVar(&sc.ConnectTimeout, "connect-timeout", sc.ConnectTimeout, "limit on the connect phase")
	fs.DurationVar(&sc.DrainTimeout, "drain-timeout", sc.DrainTimeout, "longest wait for deliveries after the last push")
	if err := fs.Parse(args); err != nil {
		return sc, err
	}
	if fs.NArg() > 0 {
		return sc, fmt.Errorf("bench: unexpected arguments %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if sc.Suite != "" {
		return sc, checkSuiteFlags(&sc, set)
	}
	if sc.UpdateDoc != "" {
		return sc, fmt.Errorf("bench: -update-doc needs -suite")
	}
	if *idle {
		if set["scenario"] && sc.Name != ScenarioIdleHold {
			return sc, fmt.Errorf("bench: -idle is -scenario %s; it cannot be combined with -scenario %s", ScenarioIdleHold, sc.Name)
		}
		sc.Name = ScenarioIdleHold
	}
	applyPresets(&sc, set)
	return sc, sc.Validate()
}

// applyPresets fills the scenario- and target-dependent defaults of the flags
// that were not given.
func applyPresets(sc *Scenario, set map[string]bool) {
	def := func(flag string, apply func()) {
		if !set[flag] {
			apply()
		}
	}
	sc.Idle = sc.Name == ScenarioIdleHold
	switch sc.Name {
	case ScenarioIdleHold:
		def("heartbeat", func() { sc.Heartbeat = 5 * time.Second })
	case ScenarioSmallRooms:
		def("rooms", func() { sc.Rooms = 100 })
		def("rate", func() { sc.Rate = 100 })
	case ScenarioPerUser:
		def("push-to", func() { sc.PushTo = "mids" })
		def("users-per-push", func() { sc.UsersPerPush = 10 })
		def("rate", func() { sc.Rate = 100 })
	case ScenarioChurn:
		def("churn-conns", func() { sc.ChurnConns = max(sc.Conns/10, 1) })
		def("churn-rate", func() { sc.ChurnRate = 50 })
	case ScenarioMixed:
		def("transport", func() { sc.Transport = "mixed" })
	}
	if sc.Transport == "mixed" {
		def("ws-fraction", func() { sc.WSFraction = 0.5 })
	}
	if !set["target"] && (set["tcp"] || set["ws"] || set["http"]) {
		sc.Target = TargetDistributed // the flags of the first harness, kept working
	}
	if sc.Target == TargetReusePort {
		def("gateways", func() { sc.Gateways = 2 })
	}
}

// checkSuiteFlags allows with -suite only the flags that do not change what
// the suite measures: its scenarios are fixed so that runs compare.
func checkSuiteFlags(sc *Scenario, set map[string]bool) error {
	if sc.Suite != SuiteStandard {
		return fmt.Errorf("bench: -suite %q: the only suite is %q", sc.Suite, SuiteStandard)
	}
	var extra []string
	for name := range set {
		switch name {
		case "suite", "charts", "json", "update-doc":
		default:
			extra = append(extra, "-"+name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("bench: -suite runs fixed scenarios; %s cannot be combined with it (allowed: -charts, -json, -update-doc)",
			strings.Join(extra, ", "))
	}
	return nil
}

// addrList is a comma-separated flag of addresses; repeating the flag appends.
type addrList []string

func (l *addrList) String() string { return strings.Join(*l, ",") }

func (l *addrList) Set(v string) error {
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			return fmt.Errorf("empty address in %q", v)
		}
		*l = append(*l, a)
	}
	return nil
}

// pidList is a comma-separated flag of process ids.
type pidList []int

func (l *pidList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

func (l *pidList) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("pid %q is not a number", p)
		}
		*l = append(*l, n)
	}
	return nil
}
