package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	sc, err := ParseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != ScenarioHotRoom || sc.Target != TargetEmbedded || sc.Gateways != 1 || sc.Conns != 1000 || sc.Rate != 10 ||
		sc.Duration != 10*time.Second || sc.Transport != "tcp" || sc.PerWorker != 5000 || sc.Room != "bench" ||
		sc.Rooms != 1 || sc.Settle != 2*time.Second || sc.External() || sc.Idle || sc.Heartbeat != 0 {
		t.Fatalf("defaults = %+v", sc)
	}
	if sc.Messages() != 100 || sc.Workers() != 1 {
		t.Fatalf("messages %d workers %d, want 100 and 1", sc.Messages(), sc.Workers())
	}
	if p := sc.Plan(); p != (Plan{Kind: PlanRoom, Rooms: 1, Conns: 1000}) {
		t.Fatalf("plan = %+v", p)
	}
}

// Each scenario fills its own defaults for the flags not given, and only those.
func TestParseFlagsPresets(t *testing.T) {
	tests := []struct {
		args  []string
		check func(sc Scenario) bool
	}{
		{[]string{"-scenario", "idle-hold"}, func(sc Scenario) bool {
			return sc.Idle && sc.Heartbeat == 5*time.Second && sc.Messages() == 0 && sc.Plan().Kind == PlanNone
		}},
		{[]string{"-idle"}, func(sc Scenario) bool { return sc.Name == ScenarioIdleHold && sc.Idle }},
		{[]string{"-scenario", "idle-hold", "-heartbeat", "0"}, func(sc Scenario) bool { return sc.Heartbeat == 0 }},
		{[]string{"-scenario", "small-rooms"}, func(sc Scenario) bool {
			return sc.Rooms == 100 && sc.Rate == 100 && sc.Plan() == Plan{Kind: PlanRoom, Rooms: 100, Conns: 1000}
		}},
		{[]string{"-scenario", "small-rooms", "-rooms", "10", "-rate", "5"}, func(sc Scenario) bool { return sc.Rooms == 10 && sc.Rate == 5 }},
		{[]string{"-scenario", "per-user"}, func(sc Scenario) bool {
			return sc.PushTo == "mids" && sc.UsersPerPush == 10 && sc.Plan() == Plan{Kind: PlanUser, Group: 10, Conns: 1000}
		}},
		{[]string{"-scenario", "per-user", "-push-to", "keys"}, func(sc Scenario) bool { return sc.PushTo == "keys" }},
		{[]string{"-scenario", "churn", "-conns", "500"}, func(sc Scenario) bool {
			return sc.ChurnConns == 50 && sc.ChurnRate == 50 && sc.SteadyConns() == 450 && sc.Plan().Conns == 450
		}},
		{[]string{"-scenario", "mixed"}, func(sc Scenario) bool { return sc.Transport == "mixed" && sc.WSFraction == 0.5 }},
		{[]string{"-transport", "mixed", "-ws-fraction", "0.25"}, func(sc Scenario) bool {
			return sc.Name == ScenarioHotRoom && sc.WSFraction == 0.25
		}},
		{[]string{"-target", "reuseport"}, func(sc Scenario) bool { return sc.Gateways == 2 }},
		{[]string{"-target", "reuseport", "-gateways", "3"}, func(sc Scenario) bool { return sc.Gateways == 3 }},
		// The first harness's flags: -tcp and -http target a running gateway.
		{[]string{"-tcp", "127.0.0.1:3101", "-http", "127.0.0.1:3111", "-gateway-pid", "9"}, func(sc Scenario) bool {
			return sc.Target == TargetDistributed && sc.External() && slices.Equal(sc.GatewayPIDs, []int{9})
		}},
		{[]string{"-tcp", "127.0.0.1:3101,127.0.0.1:3201", "-http", "127.0.0.1:3111", "-gateway-pid", "9,10",
			"-gateway-admin", "127.0.0.1:3110", "-gateway-admin", "127.0.0.1:3210"}, func(sc Scenario) bool {
			return len(sc.TCPAddrs) == 2 && slices.Equal(sc.GatewayPIDs, []int{9, 10}) && len(sc.GatewayAdmin) == 2
		}},
	}
	for _, tt := range tests {
		sc, err := ParseFlags(tt.args, io.Discard)
		if err != nil {
			t.Errorf("ParseFlags(%v): %v", tt.args, err)
			continue
		}
		if !tt.check(sc) {
			t.Errorf("ParseFlags(%v) = %+v", tt.args, sc)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-conns", "0"}, "-conns 0"},
		{[]string{"-per-worker", "16000"}, "-per-worker 16000"},
		{[]string{"-transport", "udp"}, `-transport "udp"`},
		{[]string{"-rate", "0"}, "-rate 0"},
		{[]string{"-rate", "0.1", "-duration", "1s"}, "sends no message"},
		{[]string{"-conns", "300000", "-per-worker", "1000"}, "source addresses"},
		{[]string{"-tcp", "127.0.0.1:3101"}, "needs -http"},
		{[]string{"-tcp", "10.0.0.1:3101", "-http", "127.0.0.1:3111"}, "only targets loopback"},
		{[]string{"-gateway-pid", "5"}, "-gateway-pid and -gateway-admin need -target distributed"},
		{[]string{"-gateway-pid", "x"}, `pid "x" is not a number`},
		{[]string{"-tcp", "127.0.0.1:1", "-http", "127.0.0.1:2", "-gateway-pid", "5", "-gateway-admin", "127.0.0.1:3,127.0.0.1:4"}, "one per pid"},
		{[]string{"-target", "embedded", "-tcp", "127.0.0.1:1"}, "use them with -target distributed"},
		{[]string{"-target", "cloud"}, `-target "cloud"`},
		{[]string{"-gateways", "3"}, "-target embedded runs one gateway"},
		{[]string{"-target", "reuseport", "-gateways", "0"}, "-gateways 0"},
		{[]string{"-scenario", "nope"}, `-scenario "nope"`},
		{[]string{"-scenario", "hot-room", "-idle"}, "-idle is -scenario idle-hold"},
		{[]string{"-rooms", "10"}, "-rooms needs -scenario small-rooms"},
		{[]string{"-scenario", "small-rooms", "-conns", "10", "-rooms", "20"}, "some rooms would be empty"},
		{[]string{"-users-per-push", "3"}, "need -scenario per-user"},
		{[]string{"-scenario", "per-user", "-push-to", "rooms"}, `-push-to "rooms"`},
		{[]string{"-scenario", "per-user", "-users-per-push", "2000", "-conns", "5000"}, "-users-per-push 2000"},
		{[]string{"-churn-rate", "5"}, "need -scenario churn"},
		{[]string{"-scenario", "churn", "-conns", "10", "-churn-conns", "10"}, "at least one steady member"},
		{[]string{"-scenario", "churn", "-churn-rate", "0"}, "-churn-rate 0"},
		{[]string{"-scenario", "mixed", "-transport", "tcp"}, "needs -transport mixed"},
		{[]string{"-ws-fraction", "0.3"}, "-ws-fraction needs -transport mixed"},
		{[]string{"-transport", "mixed", "-ws-fraction", "1.5"}, "-ws-fraction 1.5"},
		{[]string{"-update-doc", "x.md"}, "-update-doc needs -suite"},
		{[]string{"-suite", "big"}, `-suite "big"`},
		{[]string{"-suite", "standard", "-conns", "5"}, "-conns cannot be combined"},
		{[]string{"stray"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		_, err := ParseFlags(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFlags(%v) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	// Idle needs no rate.
	if _, err := ParseFlags([]string{"-idle", "-rate", "0"}, io.Discard); err != nil {
		t.Errorf("-idle -rate 0: %v", err)
	}
	if _, err := ParseFlags([]string{"-ws", "localhost:3102", "-http", "[::1]:3111", "-transport", "ws", "-gateway-pid", "9"}, io.Discard); err != nil {
		t.Errorf("targeting a loopback gateway: %v", err)
	}
	if sc, err := ParseFlags([]string{"-suite", "standard", "-charts", "d", "-json", "j", "-update-doc", "x.md"}, io.Discard); err != nil || sc.Suite != SuiteStandard {
		t.Errorf("-suite standard with its output flags: %v", err)
	}
}

func TestWorkerShares(t *testing.T) {
	tests := []struct {
		conns, per int
		want       []int
	}{
		{1000, 5000, []int{1000}},
		{19000, 5000, []int{4750, 4750, 4750, 4750}},
		{10001, 5000, []int{3334, 3334, 3333}},
		{200, 100, []int{100, 100}},
	}
	for _, tt := range tests {
		sc := DefaultScenario()
		sc.Conns, sc.PerWorker = tt.conns, tt.per
		if got := sc.workerShares(); !slices.Equal(got, tt.want) {
			t.Errorf("%d over %d per worker = %v, want %v", tt.conns, tt.per, got, tt.want)
		}
	}
}

func TestUsesWS(t *testing.T) {
	count := func(transport string, f float64, n int) (ws int, pattern string) {
		var b strings.Builder
		for g := range n {
			if usesWS(transport, f, g) {
				ws++
				b.WriteByte('w')
			} else {
				b.WriteByte('t')
			}
		}
		return ws, b.String()
	}
	if ws, p := count("mixed", 0.5, 8); ws != 4 || p != "twtwtwtw" {
		t.Errorf("half of 8: %d WebSocket, %s; want 4 interleaved", ws, p)
	}
	if ws, _ := count("mixed", 0.25, 1000); ws != 250 {
		t.Errorf("a quarter of 1000: %d WebSocket", ws)
	}
	if ws, _ := count("tcp", 0.5, 10); ws != 0 {
		t.Errorf("tcp: %d WebSocket", ws)
	}
	if ws, _ := count("ws", 0, 10); ws != 10 {
		t.Errorf("ws: %d WebSocket", ws)
	}
}

// With two gateways, a mixed run must put half of each transport on each.
func TestTransportIndexSpreadsEachTransport(t *testing.T) {
	for _, f := range []float64{0.5, 0.25, 0.9} {
		perAddr := map[string]int{}
		for g := range 1000 {
			tr := "tcp"
			if usesWS("mixed", f, g) {
				tr = "ws"
			}
			perAddr[fmt.Sprintf("%s-%d", tr, transportIndex("mixed", f, g)%2)]++
		}
		ws := int(1000 * f)
		tcp := 1000 - ws
		if perAddr["ws-0"]-perAddr["ws-1"] > 1 || perAddr["ws-0"]+perAddr["ws-1"] != ws ||
			perAddr["tcp-0"]-perAddr["tcp-1"] > 1 || perAddr["tcp-0"]+perAddr["tcp-1"] != tcp {
			t.Errorf("ws fraction %g: %v, want each transport split evenly over both addresses", f, perAddr)
		}
	}
	if transportIndex("tcp", 0, 7) != 7 {
		t.Error("a single transport numbers connections by g")
	}
}
