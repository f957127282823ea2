package gateway

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a gateway. Every zero value means the documented default,
// so Config{} is a working gateway on goim's ports.
type Config struct {
	// Name identifies this gateway to logic (the "server" of a route). Default: "gateway-<hostname-less pid>".
	Name string `toml:"name"`
	// TCPAddr is the goim TCP listener. Default ":3101". "-" disables it.
	TCPAddr string `toml:"tcp_addr"`
	// WSAddr is the WebSocket listener (GET /sub). Default ":3102". "-" disables it.
	WSAddr string `toml:"ws_addr"`
	// EventLoops is the number of gnet event loops. Default: GOMAXPROCS.
	EventLoops int `toml:"event_loops"`
	// ReusePort sets SO_REUSEPORT so several gateway processes can share the ports. Default false.
	ReusePort bool `toml:"reuse_port"`
	// Stripes is the number of lock stripes in the connection table (rounded up to a power of two). Default 256.
	Stripes int `toml:"stripes"`

	// MaxBody is the largest client packet body. Default 4096 (goim's).
	MaxBody int `toml:"max_body"`
	// HandshakeTimeout is how long a new connection may take to authenticate
	// (including the WebSocket upgrade). Default 5s.
	HandshakeTimeout time.Duration `toml:"handshake_timeout"`
	// HeartbeatTimeout closes an authenticated connection silent for longer than
	// this, unless logic returned its own heartbeat in AuthResult. Default 8m (goim: 4m x 2).
	HeartbeatTimeout time.Duration `toml:"heartbeat_timeout"`
	// RouteRefresh is the least time between two Logic.Heartbeat calls for one connection. Default 5m.
	RouteRefresh time.Duration `toml:"route_refresh"`
	// OnlineRenew is how often room counts are sent to logic and the global
	// counts fetched back. Default 10s (goim's).
	OnlineRenew time.Duration `toml:"online_renew"`
	// TickInterval is the timer wheel resolution. Default 250ms.
	TickInterval time.Duration `toml:"tick_interval"`

	// BatchWindow is the longest a room message waits to be batched. Default 50ms.
	BatchWindow time.Duration `toml:"batch_window"`
	// BatchMaxMessages flushes a room batch early when it holds this many messages. Default 256.
	BatchMaxMessages int `toml:"batch_max_messages"`
	// BatchMaxBytes flushes a room batch early when its packets reach this size. Default 64 KiB.
	BatchMaxBytes int `toml:"batch_max_bytes"`
	// BatchFixed turns the adaptive window off: every room message waits for the
	// window or the size caps, like goim's job (1s / 20 messages). Default false:
	// a message to a room that flushed more than BatchWindow ago goes out at once.
	BatchFixed bool `toml:"batch_fixed"`

	// MaxPendingBytes bounds a connection's unsent outbound bytes; a client that
	// stops reading past this is closed as a slow consumer. Default 1 MiB.
	MaxPendingBytes int `toml:"max_pending_bytes"`
	// Workers is the number of goroutines making Logic calls. Default 64.
	Workers int `toml:"workers"`
	// WorkQueue is the capacity of the Logic call queue; a full queue rejects new
	// auths (closed with reason "overloaded") and drops forwarded messages. Default 65536.
	WorkQueue int `toml:"work_queue"`
	// LogicTimeout bounds each Logic call. Default 5s.
	LogicTimeout time.Duration `toml:"logic_timeout"`

	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger `toml:"-"`
	// Registerer receives the gateway's Prometheus metrics. Default: none are registered
	// (metrics are still counted and readable through Server.Stats).
	Registerer prometheus.Registerer `toml:"-"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	if c.Name == "" {
		c.Name = fmt.Sprintf("gateway-%d", processID())
	}
	if c.TCPAddr == "" {
		c.TCPAddr = ":3101"
	}
	if c.WSAddr == "" {
		c.WSAddr = ":3102"
	}
	defInt(&c.EventLoops, runtime.GOMAXPROCS(0))
	defInt(&c.Stripes, 256)
	defInt(&c.MaxBody, 4096)
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.HeartbeatTimeout, 8*time.Minute)
	def(&c.RouteRefresh, 5*time.Minute)
	def(&c.TickInterval, 250*time.Millisecond)
	def(&c.OnlineRenew, 10*time.Second)
	def(&c.BatchWindow, 50*time.Millisecond)
	defInt(&c.BatchMaxMessages, 256)
	defInt(&c.BatchMaxBytes, 64<<10)
	defInt(&c.MaxPendingBytes, 1<<20)
	defInt(&c.Workers, 64)
	defInt(&c.WorkQueue, 65536)
	def(&c.LogicTimeout, 5*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
