package main

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/barrage/barrage/upstream/job"
	"github.com/barrage/barrage/upstream/kafkabus"
	"github.com/barrage/barrage/upstream/logic"
)

// The metric wrappers of metrics.go, one at a time with fakes.

type fakeDelivery struct{ err error }

func (f fakeDelivery) PushKeys(context.Context, string, int32, []string, []byte) error { return f.err }
func (f fakeDelivery) BroadcastRooms(context.Context, []logic.RoomPush) error          { return f.err }
func (f fakeDelivery) Broadcast(context.Context, int32, []byte, int32) error           { return f.err }
func (f fakeDelivery) KickKeys(context.Context, string, []string, string) error        { return f.err }

// gathered returns the value of one series from reg (0, false when absent).
func gathered(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestMeteredDeliveryCountsKindResultAndBatch(t *testing.T) {
	boom := errors.New("boom")
	rooms := []logic.RoomPush{{Room: "live://1"}, {Room: "live://1"}, {Room: "live://2"}}
	tests := []struct {
		name       string
		err        error
		call       func(d meteredDelivery) error
		kind, res  string
		want, hist float64
	}{
		{"keys", nil, func(d meteredDelivery) error { return d.PushKeys(context.Background(), "gw", 1000, []string{"k"}, nil) }, "keys", "ok", 1, 1},
		{"mids marked by context", nil, func(d meteredDelivery) error {
			return d.PushKeys(withPushKind(context.Background(), kindMids), "gw", 1000, []string{"k"}, nil)
		}, "mids", "ok", 1, 1},
		{"room batch counts each push", nil, func(d meteredDelivery) error { return d.BroadcastRooms(context.Background(), rooms) }, "room", "ok", 3, 1},
		{"room error", boom, func(d meteredDelivery) error { return d.BroadcastRooms(context.Background(), rooms) }, "room", "error", 3, 1},
		{"all error", boom, func(d meteredDelivery) error { return d.Broadcast(context.Background(), 1000, nil, 0) }, "all", "error", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			d := meteredDelivery{fakeDelivery{tt.err}, newLogicMetrics(reg)}
			if err := tt.call(d); !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v passed through", err, tt.err)
			}
			if v, _ := gathered(t, reg, "barrage_logic_pushes_total", lbl("kind", tt.kind, "result", tt.res)); v != tt.want {
				t.Fatalf("pushes{%s,%s} = %v, want %v", tt.kind, tt.res, v, tt.want)
			}
			if v, _ := gathered(t, reg, "barrage_logic_push_seconds", lbl("kind", tt.kind)); v != tt.hist {
				t.Fatalf("push_seconds{%s} count = %v, want %v", tt.kind, v, tt.hist)
			}
		})
	}
}

func TestMeteredLogicAuthResults(t *testing.T) {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"mid": 5}).SignedString([]byte("k"))
	tests := []struct {
		name, server, body, want string
	}{
		{"ok", "gw", `{"token":"` + tok + `"}`, "ok"},
		{"no token is rejected", "gw", `{"mid":5}`, "rejected"},
		{"bad body is rejected", "gw", `not json`, "rejected"},
		{"logic failing is an error", "", `{"token":"` + tok + `"}`, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			l := meteredLogic{logic.New(logic.Config{JWTSecret: "k"}, nil, nil, nil, nil, quiet()), newLogicMetrics(reg)}
			_, _ = l.Connect(context.Background(), tt.server, "127.0.0.1:1", []byte(tt.body))
			for _, r := range []string{"ok", "rejected", "error"} {
				want := 0.0
				if r == tt.want {
					want = 1
				}
				if v, _ := gathered(t, reg, "barrage_logic_auth_total", lbl("result", r)); v != want {
					t.Fatalf("auth_total{%s} = %v, want %v", r, v, want)
				}
			}
		})
	}
}

func TestReplyRecorderGoimCode(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"code":0,"message":""}`, "0"},
		{`{"code":-500,"message":"down"}`, "-500"},
		{`{"code":-400,"message":""}`, "-400"},
		{`404 page not found`, "none"},
		{``, "none"},
		{`{"code":`, "none"},
	}
	for _, tt := range tests {
		reg := prometheus.NewRegistry()
		m := newLogicMetrics(reg)
		h := m.httpMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, b := range []byte(tt.body) { // byte by byte: the code must survive split writes
				w.Write([]byte{b})
			}
		}))
		h.ServeHTTP(discardWriter{http.Header{}}, mustRequest(t, "/goim/push/room"))
		if v, _ := gathered(t, reg, "barrage_logic_http_requests_total",
			lbl("route", "/goim/push/room", "code", "200", "goim_code", tt.want)); v != 1 {
			t.Errorf("body %q: no request counted with goim_code %q", tt.body, tt.want)
		}
	}
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func mustRequest(t *testing.T, path string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// failingStore fails every call with err.
type failingStore struct{ err error }

func (f failingStore) Add(context.Context, int64, string, string) error    { return f.err }
func (f failingStore) Remove(context.Context, int64, string, string) error { return f.err }
func (f failingStore) Touch(context.Context, int64, string, string) error  { return f.err }
func (f failingStore) ServersByKeys(context.Context, []string) (map[string][]string, error) {
	return nil, f.err
}
func (f failingStore) KeysByMids(context.Context, []int64) (map[string][]string, error) {
	return nil, f.err
}
func (f failingStore) NextRoomSeqs(context.Context, map[string]int64) (map[string]int64, error) {
	return nil, f.err
}
func (f failingStore) RenewOnline(context.Context, string, logic.Online) (map[string]int32, error) {
	return nil, f.err
}
func (f failingStore) Online(context.Context) (logic.Online, error)          { return logic.Online{}, f.err }
func (f failingStore) CleanupDeadGateways(context.Context) ([]string, error) { return nil, f.err }

func TestMeteredStoreCountsErrorsPerOp(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func(s *meteredStore) error{
		"add":             func(s *meteredStore) error { return s.Add(ctx, 1, "k", "gw") },
		"remove":          func(s *meteredStore) error { return s.Remove(ctx, 1, "k", "gw") },
		"touch":           func(s *meteredStore) error { return s.Touch(ctx, 1, "k", "gw") },
		"servers_by_keys": func(s *meteredStore) error { _, err := s.ServersByKeys(ctx, nil); return err },
		"keys_by_mids":    func(s *meteredStore) error { _, err := s.KeysByMids(ctx, nil); return err },
		"next_room_seqs":  func(s *meteredStore) error { _, err := s.NextRoomSeqs(ctx, nil); return err },
		"renew_online":    func(s *meteredStore) error { _, err := s.RenewOnline(ctx, "gw", logic.Online{}); return err },
		"online":          func(s *meteredStore) error { _, err := s.Online(ctx); return err },
		"cleanup_dead_gateways": func(s *meteredStore) error {
			_, err := s.CleanupDeadGateways(ctx)
			return err
		},
	}
	if len(calls) != len(redisOps) {
		t.Fatalf("%d calls tested, %d ops declared", len(calls), len(redisOps))
	}
	for _, tt := range []struct {
		name string
		err  error
		want float64
	}{
		{"success", nil, 0},
		{"redis down", errors.New("dial tcp: connection refused"), 1},
		{"deadline", context.DeadlineExceeded, 1},
		{"caller went away", context.Canceled, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s := newMeteredStore(failingStore{tt.err}, reg)
			for op, call := range calls {
				if err := call(s); !errors.Is(err, tt.err) {
					t.Fatalf("%s: error %v, want %v passed through", op, err, tt.err)
				}
				if v, ok := gathered(t, reg, "barrage_redis_errors_total", lbl("op", op)); !ok || v != tt.want {
					t.Fatalf("%s: errors_total = %v (present %v), want %v", op, v, ok, tt.want)
				}
			}
		})
	}
}

// scriptedProducer returns one Stats per call, as kafka-go's resetting counters do.
type scriptedProducer struct{ next []kafkabus.Stats }

func (p *scriptedProducer) Stats() kafkabus.Stats {
	if len(p.next) == 0 {
		return kafkabus.Stats{}
	}
	s := p.next[0]
	p.next = p.next[1:]
	return s
}

func TestProducerCollectorAccumulatesDeltas(t *testing.T) {
	p := &scriptedProducer{next: []kafkabus.Stats{
		{Messages: 10, Writes: 2, Errors: 1, Retries: 1, BatchSizeAvg: 5, BatchSizeMax: 8, WriteTimeMax: 3 * time.Millisecond},
		{Messages: 7, Writes: 1, BatchSizeAvg: 7, BatchSizeMax: 7, WriteTimeAvg: time.Millisecond},
	}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newProducerCollector(p))
	tests := []struct {
		name       string
		want1      float64 // after the first scrape
		want2      float64 // after the second
		want3      float64 // after a scrape with nothing written
		isGaugeMax bool
	}{
		{"barrage_kafka_producer_messages_total", 10, 17, 17, false},
		{"barrage_kafka_producer_writes_total", 2, 3, 3, false},
		{"barrage_kafka_producer_errors_total", 1, 1, 1, false},
		{"barrage_kafka_producer_retries_total", 1, 1, 1, false},
		{"barrage_kafka_producer_batch_messages_max", 8, 7, 0, true},
		{"barrage_kafka_producer_write_seconds_max", 0.003, 0, 0, true},
		{"barrage_kafka_producer_write_seconds_avg", 0, 0.001, 0, true},
	}
	for round := 1; round <= 3; round++ {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			m := mf.GetMetric()[0]
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		for _, tt := range tests {
			want := []float64{tt.want1, tt.want2, tt.want3}[round-1]
			if got[tt.name] != want {
				t.Errorf("scrape %d: %s = %v, want %v", round, tt.name, got[tt.name], want)
			}
		}
	}
}

type fixedJob struct{ s job.Stats }

func (f fixedJob) Stats() job.Stats { return f.s }

// Every field of job.Stats must reach a series: each field gets a distinct
// value and each value must come out exactly once.
func TestJobCollectorExportsEveryStatsField(t *testing.T) {
	var s job.Stats
	v := reflect.ValueOf(&s).Elem()
	want := map[float64]string{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint64:
			f.SetUint(uint64(100 + i))
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(100 + i))
		default:
			t.Fatalf("job.Stats.%s is a %s: teach jobCollector about it", v.Type().Field(i).Name, f.Kind())
		}
		want[float64(100+i)] = v.Type().Field(i).Name
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newJobCollector(fixedJob{s}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[float64]int{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			seen[m.GetCounter().GetValue()+m.GetGauge().GetValue()]++
		}
	}
	for val, field := range want {
		if seen[val] != 1 {
			t.Errorf("job.Stats.%s appears in %d series, want 1", field, seen[val])
		}
	}
	for _, name := range []string{"barrage_job_kafka_lag_messages", "barrage_job_gateways", "barrage_job_gateways_down"} {
		if _, ok := gathered(t, reg, name, nil); !ok {
			t.Errorf("%s missing", name)
		}
	}
}
