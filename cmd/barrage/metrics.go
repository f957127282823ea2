package main

// Prometheus series of the logic and job roles, and of the gateway role's
// registry heartbeat. The gateway's own series live in gateway/metrics.go;
// docs/OBSERVABILITY.md lists them all, and deploy/grafana/barrage.json draws
// them. Everything here wraps a seam the roles already have (logic.Delivery,
// the Redis store, the Kitex LogicCore, the HTTP handler, Stats snapshots), so
// no package below cmd/barrage needs to know Prometheus exists.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/barrage/barrage/upstream/job"
	"github.com/barrage/barrage/upstream/kafkabus"
	"github.com/barrage/barrage/upstream/logic"
)

const metricNS = "barrage"

// Push kinds, the "kind" label of barrage_logic_pushes_total.
const (
	kindKeys = "keys"
	kindMids = "mids"
	kindRoom = "room"
	kindAll  = "all"
	kindKick = "kick" // not a push: a kick order, counted with them
)

// logicMetrics are the logic role's own series (embedded mode has them too).
type logicMetrics struct {
	pushes      *prometheus.CounterVec   // kind, result
	pushSeconds *prometheus.HistogramVec // kind
	auths       *prometheus.CounterVec   // result
	authSeconds prometheus.Histogram
	http        *prometheus.CounterVec // route, code, goim_code
}

func newLogicMetrics(reg prometheus.Registerer) *logicMetrics {
	const sub = "logic"
	m := &logicMetrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricNS, Subsystem: sub, Name: "pushes_total",
			Help: "Pushes handed to delivery (Kafka, or the in-process gateway) by kind and result. A key or mid push " +
				"counts once per gateway holding its keys; a room batch counts each push."}, []string{"kind", "result"}),
		pushSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricNS, Subsystem: sub, Name: "push_seconds",
			Help:    "Duration of one delivery call (a Kafka produce in distributed mode; a room batch is one call).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"kind"}),
		auths: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricNS, Subsystem: sub, Name: "auth_total",
			Help: "Connect (auth) results: ok, rejected (the client sent something wrong), error (logic failed)."}, []string{"result"}),
		authSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricNS, Subsystem: sub, Name: "auth_seconds",
			Help: "Time logic spends on one Connect (token check and route write).", Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16)}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricNS, Subsystem: sub, Name: "http_requests_total",
			Help: "goim HTTP API requests by route, HTTP status and goim reply code (the code, not the status, says a push failed)."},
			[]string{"route", "code", "goim_code"}),
	}
	// Create the common children so dashboards and alerts see zeros, not gaps.
	for _, kind := range []string{kindKeys, kindMids, kindRoom, kindAll, kindKick} {
		m.pushes.WithLabelValues(kind, "ok")
		m.pushes.WithLabelValues(kind, "error")
		m.pushSeconds.WithLabelValues(kind)
	}
	for _, r := range []string{"ok", "rejected", "error"} {
		m.auths.WithLabelValues(r)
	}
	reg.MustRegister(m.pushes, m.pushSeconds, m.auths, m.authSeconds, m.http)
	return m
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// pushKindKey marks a context whose key pushes started as a mid push: logic
// resolves mids to keys before Delivery sees them, and passes the context on.
type pushKindKey struct{}

func withPushKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, pushKindKey{}, kind)
}

// meteredDelivery counts what logic hands to its Delivery.
type meteredDelivery struct {
	next logic.Delivery
	m    *logicMetrics
}

func (d meteredDelivery) observe(kind string, n int, start time.Time, err error) {
	d.m.pushSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	d.m.pushes.WithLabelValues(kind, result(err)).Add(float64(n))
}

func (d meteredDelivery) PushKeys(ctx context.Context, server string, op int32, keys []string, body []byte) error {
	kind := kindKeys
	if k, ok := ctx.Value(pushKindKey{}).(string); ok {
		kind = k
	}
	start := time.Now()
	err := d.next.PushKeys(ctx, server, op, keys, body)
	d.observe(kind, 1, start, err)
	return err
}

func (d meteredDelivery) BroadcastRooms(ctx context.Context, pushes []logic.RoomPush) error {
	start := time.Now()
	err := d.next.BroadcastRooms(ctx, pushes)
	d.observe(kindRoom, len(pushes), start, err)
	return err
}

func (d meteredDelivery) Broadcast(ctx context.Context, op int32, body []byte, speed int32) error {
	start := time.Now()
	err := d.next.Broadcast(ctx, op, body, speed)
	d.observe(kindAll, 1, start, err)
	return err
}

func (d meteredDelivery) KickKeys(ctx context.Context, server string, keys []string, reason string) error {
	start := time.Now()
	err := d.next.KickKeys(ctx, server, keys, reason)
	d.observe(kindKick, 1, start, err)
	return err
}

// meteredLogic is *logic.Logic with Connect counted and mid pushes marked, for
// the gateway (embedded mode) and the Kitex LogicService and PushAPI.
type meteredLogic struct {
	*logic.Logic
	m *logicMetrics
}

func (l meteredLogic) Connect(ctx context.Context, server, remoteAddr string, body []byte) (logic.ConnectReply, error) {
	start := time.Now()
	r, err := l.Logic.Connect(ctx, server, remoteAddr, body)
	l.m.authSeconds.Observe(time.Since(start).Seconds())
	var refused *logic.AuthError
	switch {
	case err == nil:
		l.m.auths.WithLabelValues("ok").Inc()
	case errors.As(err, &refused):
		l.m.auths.WithLabelValues("rejected").Inc()
	default:
		l.m.auths.WithLabelValues("error").Inc()
	}
	return r, err
}

func (l meteredLogic) PushMids(ctx context.Context, op int32, mids []int64, body []byte) error {
	return l.Logic.PushMids(withPushKind(ctx, kindMids), op, mids, body)
}

// goimRoutes bounds the "route" label: anything else is "other".
var goimRoutes = map[string]bool{
	"/goim/push/keys": true, "/goim/push/mids": true, "/goim/push/room": true, "/goim/push/all": true,
	"/goim/online/top": true, "/goim/online/room": true, "/goim/online/total": true,
	"/goim/kick/keys": true, "/goim/kick/mids": true,
}

// httpMiddleware counts the goim API's requests and marks mid pushes.
func (m *logicMetrics) httpMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.URL.Path
		if !goimRoutes[route] {
			route = "other"
		}
		if route == "/goim/push/mids" {
			r = r.WithContext(withPushKind(r.Context(), kindMids))
		}
		rec := &replyRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.http.WithLabelValues(route, strconv.Itoa(rec.status), rec.goimCode()).Inc()
	})
}

// replyRecorder keeps the status and the start of the body, where goim's
// JSON reply puts its code: {"code":-500,...}.
type replyRecorder struct {
	http.ResponseWriter
	status int
	head   []byte
}

const goimCodePrefix = `{"code":`

func (r *replyRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *replyRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if need := len(goimCodePrefix) + 8; len(r.head) < need {
		r.head = append(r.head, b[:min(len(b), need-len(r.head))]...)
	}
	return r.ResponseWriter.Write(b)
}

// goimCode is the reply's "code" ("0", "-400", "-500"), or "none" when the
// body is not a goim reply (the 404 page).
func (r *replyRecorder) goimCode() string {
	if len(r.head) <= len(goimCodePrefix) || string(r.head[:len(goimCodePrefix)]) != goimCodePrefix {
		return "none"
	}
	digits := r.head[len(goimCodePrefix):]
	end := 0
	for end < len(digits) && (digits[end] == '-' || digits[end] >= '0' && digits[end] <= '9') {
		end++
	}
	if _, err := strconv.Atoi(string(digits[:end])); err != nil {
		return "none"
	}
	return string(digits[:end])
}

// logicStore is what logic uses of the Redis store: its four seams plus the
// dead-gateway cleanup. *redisstore.Store implements it.
type logicStore interface {
	logic.Router
	logic.Sequencer
	logic.OnlineStore
	logic.OnlineSource
	CleanupDeadGateways(ctx context.Context) (removed []string, err error)
}

// Redis operations, the "op" label of barrage_redis_errors_total.
var redisOps = []string{"add", "remove", "touch", "servers_by_keys", "keys_by_mids",
	"next_room_seqs", "renew_online", "online", "cleanup_dead_gateways"}

// meteredStore counts failed Redis calls per operation. A caller that went
// away (context.Canceled) is not a Redis failure and is not counted; a
// deadline is (Redis too slow).
type meteredStore struct {
	next logicStore
	errs *prometheus.CounterVec
}

func newMeteredStore(s logicStore, reg prometheus.Registerer) *meteredStore {
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricNS, Subsystem: "redis", Name: "errors_total",
		Help: "Failed Redis calls by operation."}, []string{"op"})
	for _, op := range redisOps {
		errs.WithLabelValues(op)
	}
	reg.MustRegister(errs)
	return &meteredStore{next: s, errs: errs}
}

func (s *meteredStore) count(op string, err error) error {
	if err != nil && !errors.Is(err, context.Canceled) {
		s.errs.WithLabelValues(op).Inc()
	}
	return err
}

func (s *meteredStore) Add(ctx context.Context, mid int64, key, server string) error {
	return s.count("add", s.next.Add(ctx, mid, key, server))
}

func (s *meteredStore) Remove(ctx context.Context, mid int64, key, server string) error {
	return s.count("remove", s.next.Remove(ctx, mid, key, server))
}

func (s *meteredStore) Touch(ctx context.Context, mid int64, key, server string) error {
	return s.count("touch", s.next.Touch(ctx, mid, key, server))
}

func (s *meteredStore) ServersByKeys(ctx context.Context, keys []string) (map[string][]string, error) {
	m, err := s.next.ServersByKeys(ctx, keys)
	return m, s.count("servers_by_keys", err)
}

func (s *meteredStore) KeysByMids(ctx context.Context, mids []int64) (map[string][]string, error) {
	m, err := s.next.KeysByMids(ctx, mids)
	return m, s.count("keys_by_mids", err)
}

func (s *meteredStore) NextRoomSeqs(ctx context.Context, counts map[string]int64) (map[string]int64, error) {
	m, err := s.next.NextRoomSeqs(ctx, counts)
	return m, s.count("next_room_seqs", err)
}

func (s *meteredStore) RenewOnline(ctx context.Context, server string, counts logic.Online) (map[string]int32, error) {
	m, err := s.next.RenewOnline(ctx, server, counts)
	return m, s.count("renew_online", err)
}

func (s *meteredStore) Online(ctx context.Context) (logic.Online, error) {
	o, err := s.next.Online(ctx)
	return o, s.count("online", err)
}

func (s *meteredStore) CleanupDeadGateways(ctx context.Context) ([]string, error) {
	removed, err := s.next.CleanupDeadGateways(ctx)
	return removed, s.count("cleanup_dead_gateways", err)
}

// producerStats is what producerCollector reads; *kafkabus.Producer has it.
type producerStats interface{ Stats() kafkabus.Stats }

// producerCollector turns the producer's since-last-call figures (kafka-go
// resets them on every read) into running totals at each scrape. The gauges
// cover the time since the previous scrape: zero when nothing was written.
// Nothing else may call Stats on the same producer, or its deltas go missing
// from the totals.
type producerCollector struct {
	p producerStats

	mu                                  sync.Mutex
	messages, writes, errors, retries   float64
	messagesD, writesD, errorsD, retryD *prometheus.Desc
	batchAvg, batchMax, batchTimeAvg    *prometheus.Desc
	writeAvg, writeMax                  *prometheus.Desc
}

func newProducerCollector(p producerStats) *producerCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metricNS, "kafka_producer", name), help, nil, nil)
	}
	return &producerCollector{p: p,
		messagesD:    d("messages_total", "Pushes written to Kafka."),
		writesD:      d("writes_total", "Produce requests sent."),
		errorsD:      d("errors_total", "Failed produce requests."),
		retryD:       d("retries_total", "Produce requests retried."),
		batchAvg:     d("batch_messages_avg", "Pushes per produce request since the previous scrape, average."),
		batchMax:     d("batch_messages_max", "Pushes per produce request since the previous scrape, largest."),
		batchTimeAvg: d("batch_seconds_avg", "From a batch's first push to its produce request since the previous scrape, average."),
		writeAvg:     d("write_seconds_avg", "Produce request round trip since the previous scrape, average."),
		writeMax:     d("write_seconds_max", "Produce request round trip since the previous scrape, largest."),
	}
}

func (c *producerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messagesD, c.writesD, c.errorsD, c.retryD,
		c.batchAvg, c.batchMax, c.batchTimeAvg, c.writeAvg, c.writeMax} {
		ch <- d
	}
}

func (c *producerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock() // concurrent scrapes must not interleave read-and-add
	s := c.p.Stats()
	c.messages += float64(s.Messages)
	c.writes += float64(s.Writes)
	c.errors += float64(s.Errors)
	c.retries += float64(s.Retries)
	totals := [4]float64{c.messages, c.writes, c.errors, c.retries}
	c.mu.Unlock()
	for i, d := range []*prometheus.Desc{c.messagesD, c.writesD, c.errorsD, c.retryD} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, totals[i])
	}
	ch <- prometheus.MustNewConstMetric(c.batchAvg, prometheus.GaugeValue, float64(s.BatchSizeAvg))
	ch <- prometheus.MustNewConstMetric(c.batchMax, prometheus.GaugeValue, float64(s.BatchSizeMax))
	ch <- prometheus.MustNewConstMetric(c.batchTimeAvg, prometheus.GaugeValue, s.BatchTimeAvg.Seconds())
	ch <- prometheus.MustNewConstMetric(c.writeAvg, prometheus.GaugeValue, s.WriteTimeAvg.Seconds())
	ch <- prometheus.MustNewConstMetric(c.writeMax, prometheus.GaugeValue, s.WriteTimeMax.Seconds())
}

// jobStats is what jobCollector reads; *job.Job has it.
type jobStats interface{ Stats() job.Stats }

// jobSeries maps each field of job.Stats to a series. One collector reading
// one snapshot per scrape, rather than a CounterFunc per field, so a scrape's
// values are consistent with each other and Stats (which takes job's locks)
// runs once.
var jobSeries = []struct {
	name, help string
	kind       prometheus.ValueType
	labels     prometheus.Labels
	value      func(job.Stats) float64
}{
	{"consumed_total", "Kafka messages fetched.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.Consumed) }},
	{"undecodable_total", "Messages dropped because they do not decode.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.Undecodable) }},
	{"duplicates_total", "Messages dropped because their id was seen recently.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.Duplicates) }},
	{"delivered_total", "Gateway push calls accepted, by kind.", prometheus.CounterValue, prometheus.Labels{"kind": kindKeys}, func(s job.Stats) float64 { return float64(s.DeliveredKeys) }},
	{"delivered_total", "Gateway push calls accepted, by kind.", prometheus.CounterValue, prometheus.Labels{"kind": kindRoom}, func(s job.Stats) float64 { return float64(s.DeliveredRoom) }},
	{"delivered_total", "Gateway push calls accepted, by kind.", prometheus.CounterValue, prometheus.Labels{"kind": kindAll}, func(s job.Stats) float64 { return float64(s.DeliveredAll) }},
	{"delivered_total", "Gateway push calls accepted, by kind.", prometheus.CounterValue, prometheus.Labels{"kind": kindKick}, func(s job.Stats) float64 { return float64(s.DeliveredKick) }},
	{"keys_no_gateway_total", "Key pushes and kicks skipped because their gateway was not live.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.KeysNoGateway) }},
	{"gateway_errors_total", "Failed gateway calls, retries included.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.GatewayErrors) }},
	{"abandoned_total", "(message, gateway) pairs given up after the retries.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.Abandoned) }},
	{"dropped_dead_total", "(message, gateway) pairs dropped because the gateway left the registry.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.DroppedDead) }},
	{"breaker_dropped_total", "(message, gateway) pairs dropped because the gateway's circuit breaker was open.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.BreakerDropped) }},
	{"commits_total", "Partition offsets handed to Kafka for commit.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.Commits) }},
	{"commit_errors_total", "Failed offset commits.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.CommitErrors) }},
	{"registry_errors_total", "Failed reads of the gateway registry in Redis.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.RegistryErrs) }},
	{"dial_errors_total", "Failed connections to gateways.", prometheus.CounterValue, nil, func(s job.Stats) float64 { return float64(s.DialErrors) }},
	{"gateways", "Live gateways in the registry now.", prometheus.GaugeValue, nil, func(s job.Stats) float64 { return float64(s.Gateways) }},
	{"gateways_down", "Live gateways whose circuit breaker is open or probing now.", prometheus.GaugeValue, nil, func(s job.Stats) float64 { return float64(s.GatewaysDown) }},
	{"in_flight_messages", "Fetched messages not yet committable.", prometheus.GaugeValue, nil, func(s job.Stats) float64 { return float64(s.InFlight) }},
	{"kafka_lag_messages", "Messages of the fetched partitions not fetched yet (log end offset minus next offset).", prometheus.GaugeValue, nil, func(s job.Stats) float64 { return float64(s.Lag) }},
}

type jobCollector struct {
	j     jobStats
	descs []*prometheus.Desc
}

func newJobCollector(j jobStats) *jobCollector {
	c := &jobCollector{j: j}
	for _, s := range jobSeries {
		c.descs = append(c.descs, prometheus.NewDesc(prometheus.BuildFQName(metricNS, "job", s.name), s.help, nil, s.labels))
	}
	return c
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.j.Stats()
	for i, series := range jobSeries {
		ch <- prometheus.MustNewConstMetric(c.descs[i], series.kind, series.value(s))
	}
}

// registryMetrics count the gateway role's heartbeat into the Redis registry.
type registryMetrics struct {
	heartbeatErrors prometheus.Counter
	revived         prometheus.Counter
}

func newRegistryMetrics(reg prometheus.Registerer) *registryMetrics {
	const sub = "gateway_registry"
	m := &registryMetrics{
		heartbeatErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricNS, Subsystem: sub, Name: "heartbeat_errors_total",
			Help: "Failed registry heartbeats (Redis unreachable): job keeps its last gateway list meanwhile."}),
		revived: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricNS, Subsystem: sub, Name: "revived_total",
			Help: "Heartbeats that found this gateway's registry entry expired (its routes were cleaned)."}),
	}
	reg.MustRegister(m.heartbeatErrors, m.revived)
	return m
}
