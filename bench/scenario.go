package bench

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Scenario names (-scenario).
const (
	// ScenarioIdleHold connects, measures memory, then holds the connections for
	// Duration with client heartbeats and counts the replies. Nothing is pushed.
	ScenarioIdleHold = "idle-hold"
	// ScenarioHotRoom puts every connection in one room and pushes Rate msg/s into it.
	ScenarioHotRoom = "hot-room"
	// ScenarioSmallRooms spreads the connections over Rooms rooms and pushes
	// Rate msg/s in total, round-robin over the rooms.
	ScenarioSmallRooms = "small-rooms"
	// ScenarioPerUser pushes Rate msg/s, each to UsersPerPush users by mid or key.
	ScenarioPerUser = "per-user"
	// ScenarioChurn is hot-room while ChurnConns of the connections close and
	// reconnect at ChurnRate per second; only the steady members are accounted.
	ScenarioChurn = "churn"
	// ScenarioMixed is hot-room with TCP and WebSocket members (WSFraction).
	ScenarioMixed = "mixed"
)

// ScenarioNames lists the scenarios in the order the help text shows them.
var ScenarioNames = []string{ScenarioIdleHold, ScenarioHotRoom, ScenarioSmallRooms, ScenarioPerUser, ScenarioChurn, ScenarioMixed}

// Target modes (-target).
const (
	// TargetEmbedded spawns one `barrage run` on free loopback ports.
	TargetEmbedded = "embedded"
	// TargetReusePort spawns Gateways `barrage run -gateway.reuse_port=true`
	// sharing one TCP and one WebSocket port. Each is a whole embedded stack
	// with its own logic, router and HTTP port, and knows only the connections
	// the kernel gave it, so every push goes to every process's HTTP API.
	TargetReusePort = "reuseport"
	// TargetDistributed targets a running stack (`make stack`): -tcp/-ws list
	// the gateways, -http logic's push API.
	TargetDistributed = "distributed"
)

// Scenario is one `barrage bench` run. Every field documents its default, which
// DefaultScenario and ParseFlags fill in (some defaults depend on the scenario;
// see presets in flags.go).
type Scenario struct {
	// Name is the scenario (see ScenarioNames). Default "hot-room".
	Name string `json:"name"`
	// Target is where the gateways come from: "embedded" (default), "reuseport"
	// or "distributed".
	Target string `json:"target"`
	// Gateways is how many processes the reuseport target spawns. Default 2
	// there, 1 for embedded.
	Gateways int `json:"gateways"`

	// Conns is the number of client connections, churners included. Default 1000.
	Conns int `json:"conns"`
	// Rate is the pushes per second (in total over the rooms or users). Default 10.
	Rate float64 `json:"rate"`
	// Duration is how long the push phase lasts (the hold phase of idle-hold);
	// Rate x Duration messages are sent. Default 10s.
	Duration time.Duration `json:"duration"`
	// Transport is "tcp", "ws" or "mixed" (WSFraction of the connections on
	// WebSocket). Default "tcp"; "mixed" for the mixed scenario.
	Transport string `json:"transport"`
	// WSFraction is the share of WebSocket connections when Transport is
	// "mixed". Default 0.5.
	WSFraction float64 `json:"ws_fraction,omitempty"`
	// MsgSize is the number of padding bytes in each message body. Default 0: a
	// small body holding only seq and ts.
	MsgSize int `json:"msg_size"`
	// PerWorker is the most connections one worker process holds. Default 5000;
	// at most MaxPerWorker because a process may open 20,000 files.
	PerWorker int `json:"per_worker"`
	// Room is the room name; members join "live://Room" (small-rooms:
	// "live://Room-0" ... "live://Room-(Rooms-1)"). Default "bench".
	Room string `json:"room"`
	// Rooms is the number of rooms of small-rooms. Default 100; 1 elsewhere.
	Rooms int `json:"rooms,omitempty"`
	// PushTo is how per-user pushes address users: "mids" (default) or "keys".
	PushTo string `json:"push_to,omitempty"`
	// UsersPerPush is how many users one per-user push addresses. Default 10.
	UsersPerPush int `json:"users_per_push,omitempty"`
	// ChurnConns is how many of the connections churn. Default Conns/10.
	ChurnConns int `json:"churn_conns,omitempty"`
	// ChurnRate is how many churners close and reconnect per second. Default 50.
	ChurnRate float64 `json:"churn_rate,omitempty"`
	// Idle is true for idle-hold (kept for readers of older JSON lines).
	Idle bool `json:"idle"`
	// Settle is the wait between the last connection and the second RSS reading. Default 2s.
	Settle time.Duration `json:"settle"`
	// GatewayFlags are extra flags for the spawned `barrage run`, split on blanks.
	GatewayFlags string `json:"gateway_flags,omitempty"`
	// TCPAddrs, WSAddrs and HTTPAddrs address a running stack (target
	// distributed): connection g dials TCPAddrs[g % len]; every push goes to
	// every HTTP address. All must be loopback addresses.
	TCPAddrs  []string `json:"tcp_addrs,omitempty"`
	WSAddrs   []string `json:"ws_addrs,omitempty"`
	HTTPAddrs []string `json:"http_addrs,omitempty"`
	// GatewayPIDs are the pids of the targeted gateways, for RSS, CPU and write
	// readings. Default none: those readings are skipped.
	GatewayPIDs []int `json:"gateway_pids,omitempty"`
	// GatewayAdmin are the targeted gateways' HTTP ports serving /metrics, in
	// GatewayPIDs order, for GC pauses. Default none: GC is not read.
	GatewayAdmin []string `json:"gateway_admin,omitempty"`
	// DialConcurrency is how many handshakes each worker runs at once. Default 64.
	DialConcurrency int `json:"dial_concurrency"`
	// Heartbeat is the client heartbeat period; every reply is counted and
	// timed. Default 0 (none: beats cost CPU that would blur a push
	// measurement); 5s for idle-hold.
	Heartbeat time.Duration `json:"heartbeat,omitempty"`
	// ConnectTimeout bounds the connect phase. Default 2m.
	ConnectTimeout time.Duration `json:"-"`
	// DrainTimeout is the longest wait for the last deliveries after the last
	// push. Default 5s.
	DrainTimeout time.Duration `json:"-"`

	// JSONFile, if set, gets each Report appended as one JSON line.
	JSONFile string `json:"-"`
	// ChartsDir, if set, gets latency-cdf.svg and delivered-per-second.svg.
	ChartsDir string `json:"-"`
	// Suite, if set, runs a fixed list of scenarios instead ("standard").
	Suite string `json:"-"`
	// UpdateDoc, with Suite, is a Markdown file whose marked region gets the results.
	UpdateDoc string `json:"-"`
}

// MaxPerWorker is the most connections a worker may hold: the per-process
// open-file limit is 20,000 and the worker needs a few files of its own.
const MaxPerWorker = 15000

// maxWorkers is how many source addresses 127.0.0.2 ... 127.0.0.254 offer.
const maxWorkers = 253

// maxUsersPerPush bounds the mids or keys of one push: they travel in the URL.
const maxUsersPerPush = 1000

// DefaultScenario is the hot-room scenario with every default filled in.
func DefaultScenario() Scenario {
	return Scenario{
		Name:            ScenarioHotRoom,
		Target:          TargetEmbedded,
		Gateways:        1,
		Conns:           1000,
		Rate:            10,
		Duration:        10 * time.Second,
		Transport:       "tcp",
		PerWorker:       5000,
		Room:            "bench",
		Rooms:           1,
		Settle:          2 * time.Second,
		DialConcurrency: 64,
		ConnectTimeout:  2 * time.Minute,
		DrainTimeout:    5 * time.Second,
	}
}

// Validate says what is wrong with the scenario, if anything.
func (sc *Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	if !isScenarioName(sc.Name) {
		bad("-scenario %q: want one of %s", sc.Name, strings.Join(ScenarioNames, ", "))
	}
	if sc.Conns <= 0 {
		bad("-conns %d: want at least 1", sc.Conns)
	}
	if sc.PerWorker <= 0 || sc.PerWorker > MaxPerWorker {
		bad("-per-worker %d: want 1..%d (a process may open 20,000 files)", sc.PerWorker, MaxPerWorker)
	}
	if sc.Conns > 0 && sc.PerWorker > 0 && sc.Workers() > maxWorkers {
		bad("-conns %d over -per-worker %d needs %d workers, more than the %d source addresses 127.0.0.2-254",
			sc.Conns, sc.PerWorker, sc.Workers(), maxWorkers)
	}
	switch sc.Transport {
	case "tcp", "ws":
	case "mixed":
		if sc.WSFraction < 0 || sc.WSFraction > 1 {
			bad("-ws-fraction %g: want 0..1", sc.WSFraction)
		}
	default:
		bad("-transport %q: want tcp, ws or mixed", sc.Transport)
	}
	if !sc.Idle {
		if sc.Rate <= 0 {
			bad("-rate %g: want more than 0", sc.Rate)
		}
		if sc.Duration <= 0 {
			bad("-duration %s: want more than 0", sc.Duration)
		}
		if sc.Rate > 0 && sc.Duration > 0 && sc.Messages() < 1 {
			bad("-rate %g for -duration %s sends no message", sc.Rate, sc.Duration)
		}
	} else if sc.Duration < 0 {
		bad("-duration %s is negative", sc.Duration)
	}
	if sc.Idle != (sc.Name == ScenarioIdleHold) {
		bad("-idle is -scenario %s; it cannot be combined with -scenario %s", ScenarioIdleHold, sc.Name)
	}
	errs = append(errs, sc.validateShape()...)
	if sc.MsgSize < 0 {
		bad("-msg-size %d: want 0 or more", sc.MsgSize)
	}
	if sc.Room == "" {
		bad("-room is empty")
	}
	if sc.Settle < 0 {
		bad("-settle %s is negative", sc.Settle)
	}
	if sc.DialConcurrency <= 0 {
		bad("-dial-concurrency %d: want at least 1", sc.DialConcurrency)
	}
	if sc.Heartbeat < 0 {
		bad("-heartbeat %s is negative", sc.Heartbeat)
	}
	errs = append(errs, sc.validateTarget()...)
	if sc.ConnectTimeout <= 0 || sc.DrainTimeout < 0 {
		bad("-connect-timeout must be positive and -drain-timeout not negative")
	}
	return errors.Join(errs...)
}

// validateShape checks the per-scenario fields.
func (sc *Scenario) validateShape() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	// A flag that belongs to another scenario is a mistake worth stopping
	// for: the run would silently measure something else.
	if sc.Name == ScenarioSmallRooms {
		if sc.Rooms < 1 {
			bad("-rooms %d: want at least 1", sc.Rooms)
		} else if sc.Rooms > sc.SteadyConns() {
			bad("-rooms %d is more than the %d connections: some rooms would be empty", sc.Rooms, sc.SteadyConns())
		}
	} else if sc.Rooms != 1 {
		bad("-rooms needs -scenario %s", ScenarioSmallRooms)
	}
	if sc.Name == ScenarioPerUser {
		if sc.PushTo != "mids" && sc.PushTo != "keys" {
			bad("-push-to %q: want mids or keys", sc.PushTo)
		}
		if sc.UsersPerPush < 1 || sc.UsersPerPush > maxUsersPerPush || sc.UsersPerPush > sc.Conns {
			bad("-users-per-push %d: want 1..%d and at most -conns", sc.UsersPerPush, maxUsersPerPush)
		}
	} else if sc.PushTo != "" || sc.UsersPerPush != 0 {
		bad("-push-to and -users-per-push need -scenario %s", ScenarioPerUser)
	}
	if sc.Name == ScenarioChurn {
		if sc.ChurnConns < 1 || sc.ChurnConns >= sc.Conns {
			bad("-churn-conns %d: want 1..%d (at least one steady member must stay)", sc.ChurnConns, sc.Conns-1)
		}
		if sc.ChurnRate <= 0 {
			bad("-churn-rate %g: want more than 0", sc.ChurnRate)
		}
	} else if sc.ChurnConns != 0 || sc.ChurnRate != 0 {
		bad("-churn-conns and -churn-rate need -scenario %s", ScenarioChurn)
	}
	if sc.Name == ScenarioMixed && sc.Transport != "mixed" {
		bad("-scenario %s needs -transport mixed (or leave -transport out)", ScenarioMixed)
	}
	if sc.Transport != "mixed" && sc.WSFraction != 0 {
		bad("-ws-fraction needs -transport mixed or -scenario %s", ScenarioMixed)
	}
	return errs
}

// validateTarget checks the target mode and its addresses.
func (sc *Scenario) validateTarget() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	external := len(sc.TCPAddrs)+len(sc.WSAddrs)+len(sc.HTTPAddrs) > 0
	switch sc.Target {
	case TargetEmbedded, TargetReusePort:
		if external {
			bad("-tcp/-ws/-http address a running stack: use them with -target %s", TargetDistributed)
		}
		if len(sc.GatewayPIDs) > 0 || len(sc.GatewayAdmin) > 0 {
			bad("-gateway-pid and -gateway-admin need -target %s: spawned gateways are known", TargetDistributed)
		}
		if sc.Target == TargetEmbedded && sc.Gateways != 1 {
			bad("-gateways %d: -target %s runs one gateway (use -target %s for more)", sc.Gateways, TargetEmbedded, TargetReusePort)
		}
		if sc.Target == TargetReusePort && (sc.Gateways < 1 || sc.Gateways > 64) {
			bad("-gateways %d: want 1..64", sc.Gateways)
		}
	case TargetDistributed:
		needTCP, needWS := transportsUsed(sc.Transport, sc.WSFraction)
		if len(sc.HTTPAddrs) == 0 || (needTCP && len(sc.TCPAddrs) == 0) || (needWS && len(sc.WSAddrs) == 0) {
			bad("targeting a running stack needs -http and the addresses of the -transport in use (-tcp and/or -ws)")
		}
		for _, l := range []struct {
			flag  string
			addrs []string
		}{{"tcp", sc.TCPAddrs}, {"ws", sc.WSAddrs}, {"http", sc.HTTPAddrs}, {"gateway-admin", sc.GatewayAdmin}} {
			for _, a := range l.addrs {
				if !isLoopback(a) {
					bad("-%s %q: the harness only targets loopback addresses", l.flag, a)
				}
			}
		}
		if len(sc.GatewayAdmin) > 0 && len(sc.GatewayAdmin) != len(sc.GatewayPIDs) {
			bad("-gateway-admin lists %d addresses for %d -gateway-pid: give one per pid, in the same order",
				len(sc.GatewayAdmin), len(sc.GatewayPIDs))
		}
		for _, pid := range sc.GatewayPIDs {
			if pid <= 0 {
				bad("-gateway-pid %d is not a pid", pid)
			}
		}
	default:
		bad("-target %q: want %s, %s or %s", sc.Target, TargetEmbedded, TargetReusePort, TargetDistributed)
	}
	return errs
}

func isScenarioName(name string) bool {
	for _, n := range ScenarioNames {
		if n == name {
			return true
		}
	}
	return false
}

// External reports whether the scenario targets a running stack.
func (sc *Scenario) External() bool { return sc.Target == TargetDistributed }

// Messages is how many messages the push phase sends.
func (sc *Scenario) Messages() int64 {
	if sc.Idle {
		return 0
	}
	return int64(sc.Rate * sc.Duration.Seconds())
}

// SteadyConns is the number of connections that stay for the whole run and
// are accounted: all but the churners.
func (sc *Scenario) SteadyConns() int { return sc.Conns - sc.ChurnConns }

// Plan is the scenario's expected-delivery plan.
func (sc *Scenario) Plan() Plan {
	switch {
	case sc.Idle:
		return Plan{Kind: PlanNone, Conns: sc.SteadyConns()}
	case sc.Name == ScenarioPerUser:
		return Plan{Kind: PlanUser, Group: sc.UsersPerPush, Conns: sc.SteadyConns()}
	default:
		return Plan{Kind: PlanRoom, Rooms: max(sc.Rooms, 1), Conns: sc.SteadyConns()}
	}
}

// Workers is the number of worker processes.
func (sc *Scenario) Workers() int {
	return (sc.Conns + sc.PerWorker - 1) / sc.PerWorker
}

// workerShares splits conns as evenly as possible over the workers.
func (sc *Scenario) workerShares() []int { return split(sc.Conns, sc.Workers()) }

// split divides n into k parts that differ by at most one, larger first.
func split(n, k int) []int {
	shares := make([]int, k)
	for i := range shares {
		shares[i] = n / k
		if i < n%k {
			shares[i]++
		}
	}
	return shares
}

// usesWS reports whether steady connection g dials WebSocket: the mixed
// transport interleaves them so that every worker and every room gets its
// share (g is WebSocket when floor((g+1)f) > floor(g f)).
func usesWS(transport string, fraction float64, g int) bool {
	switch transport {
	case "ws":
		return true
	case "mixed":
		return int64(float64(g+1)*fraction) > int64(float64(g)*fraction)
	default:
		return false
	}
}

// transportIndex numbers connection g among the connections of its own
// transport (the k-th TCP one, the k-th WebSocket one), so that spreading
// each transport over its addresses by k % len stays even when the mixed
// transport interleaves them: by g alone, with two gateways and half the
// connections on WebSocket, every TCP connection would land on the first.
func transportIndex(transport string, fraction float64, g int) int {
	if transport != "mixed" {
		return g
	}
	wsBefore := int(int64(float64(g) * fraction)) // WebSocket among 0..g-1
	if usesWS(transport, fraction, g) {
		return wsBefore
	}
	return g - wsBefore
}

// transportsUsed says which listeners a transport setting dials.
func transportsUsed(transport string, wsFraction float64) (tcp, ws bool) {
	switch transport {
	case "ws":
		return false, true
	case "mixed":
		return wsFraction < 1, wsFraction > 0
	default:
		return true, false
	}
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
