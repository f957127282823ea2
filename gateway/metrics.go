package gateway

import (
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series. They are counted whether or not
// a Registerer was configured; Stats reads the cheap ones back.
type metrics struct {
	conns         *prometheus.GaugeVec
	accepted      *prometheus.CounterVec
	closes        *prometheus.CounterVec
	auths         *prometheus.CounterVec
	authLatency   prometheus.Histogram
	pushes        *prometheus.CounterVec
	frames        prometheus.Counter
	batchMessages prometheus.Histogram
	batchWait     prometheus.Histogram
	delivered     prometheus.Counter
	bytesWritten  prometheus.Counter
	received      prometheus.Counter
	workDropped   prometheus.Counter

	deliveredN atomic.Int64
	closesN    atomic.Int64
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "barrage", "gateway"
	m := &metrics{
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connections",
			Help: "Open client connections by transport."}, []string{"transport"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "accepted_total",
			Help: "Accepted client connections by transport."}, []string{"transport"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "closes_total",
			Help: "Connections closed by the gateway, by reason (bad_* are bad input)."}, []string{"reason"}),
		auths: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "auth_total",
			Help: "Auth results: ok, rejected, abandoned (client left before the verdict)."}, []string{"result"}),
		authLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "auth_seconds",
			Help: "Time from auth packet to logic's verdict.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pushes_total",
			Help: "Pushes received by kind: keys, mids, room, all."}, []string{"kind"}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "room_frames_total",
			Help: "Room batches sealed into a frame and delivered."}),
		batchMessages: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "batch_messages",
			Help: "Messages per room batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		batchWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "batch_wait_seconds",
			Help: "Time the oldest message of a room batch waited for its flush.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "delivered_messages_total",
			Help: "Messages queued to client connections (one per message per connection)."}),
		bytesWritten: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "written_bytes_total",
			Help: "Bytes handed to client sockets."}),
		received: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "client_messages_total",
			Help: "Client messages (op 4 and other non-protocol ops) forwarded to logic."}),
		workDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "logic_queue_full_total",
			Help: "Logic calls dropped because the worker queue was full."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.conns, m.accepted, m.closes, m.auths, m.authLatency, m.pushes,
			m.frames, m.batchMessages, m.batchWait, m.delivered, m.bytesWritten, m.received, m.workDropped} {
			if err := reg.Register(c); err != nil {
				slog.Warn("gateway metric not registered", "err", err)
			}
		}
	}
	return m
}

func transport(ws bool) string {
	if ws {
		return "ws"
	}
	return "tcp"
}

func (m *metrics) opened(ws bool) {
	m.accepted.WithLabelValues(transport(ws)).Inc()
	m.conns.WithLabelValues(transport(ws)).Inc()
}

func (m *metrics) closed(ws bool) { m.conns.WithLabelValues(transport(ws)).Dec() }

func (m *metrics) close(reason string) {
	m.closes.WithLabelValues(reason).Inc()
	m.closesN.Add(1)
}

func (m *metrics) auth(result string) { m.auths.WithLabelValues(result).Inc() }
func (m *metrics) push(kind string)   { m.pushes.WithLabelValues(kind).Inc() }

func (m *metrics) deliveries(n int) {
	if n > 0 {
		m.delivered.Add(float64(n))
		m.deliveredN.Add(int64(n))
	}
}
