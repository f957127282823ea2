package job

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// Gateway is what job needs from one gateway's push service (the Kitex client
// in production). Each call hands body over: job passes the same body to
// several gateways and never modifies it; a gateway must not modify it either.
type Gateway interface {
	PushKeys(ctx context.Context, op int32, keys []string, body []byte) error
	BroadcastRoom(ctx context.Context, room string, op int32, seq int64, body []byte) error
	Broadcast(ctx context.Context, op int32, body []byte, speed int32) error
	// Kick closes the connections with these keys; reason is the text
	// WebSocket clients see in the close frame.
	Kick(ctx context.Context, keys []string, reason string) error
}

// Registry lists the live gateways: name -> push address.
type Registry interface {
	Gateways(ctx context.Context) (map[string]string, error)
}

// Dialer connects to a gateway's push service. Job calls it once per gateway
// (again if its address changes: the old Gateway is closed once its calls in
// progress returned) and drops the Gateway when the gateway leaves the
// registry, calling Close if the Gateway implements io.Closer.
type Dialer func(name, addr string) (Gateway, error)

// Defaults of Config.
const (
	DefaultGroupID         = "barrage-job"
	DefaultMinBytes        = 1
	DefaultMaxBytes        = 10 << 20
	DefaultMaxWait         = time.Second
	DefaultCommitInterval  = 200 * time.Millisecond
	DefaultRefreshInterval = 2 * time.Second
	DefaultDedupeSize      = 1 << 20
	DefaultLanes           = 4
	DefaultMaxInFlight     = 1024
	DefaultCallTimeout     = 5 * time.Second
	DefaultRetryAttempts   = 5
	DefaultRetryBackoff    = 20 * time.Millisecond
	DefaultRetryMaxBackoff = time.Second
	DefaultBreakerFailures = 3
	DefaultBreakerOpen     = 2 * time.Second
)

// Retry is how a failing gateway call is retried.
type Retry struct {
	// Attempts is how many calls are made in all before the message is given
	// up for that gateway (counted in Stats.Abandoned, logged at ERROR).
	// Default 5. Giving up (and the Breaker, once several messages in a row
	// were given up) keeps one broken-but-registered gateway from stalling
	// every other gateway's feed; its clients see a seq gap.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles per attempt
	// up to MaxBackoff. Defaults 20ms and 1s.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Breaker is the per-gateway circuit breaker: it keeps one gateway that
// fails every call from slowing the pushes to every other gateway (see
// docs/KAFKA.md, "A gateway that keeps failing").
type Breaker struct {
	// Failures is how many messages in a row must be given up for a gateway
	// (each after Retry.Attempts calls, no call accepted in between) before
	// it is marked down: its messages are then dropped without a call
	// (Stats.BreakerDropped) for Open. Default 3. Failed calls that a retry
	// rides out never count, so a short blip never marks a gateway down.
	Failures int
	// Open is how long a down gateway's messages are dropped; then the next
	// one is sent as a single probe call (no retries), which closes the
	// breaker if accepted and opens it for another Open if not. Default 2s:
	// a recovered gateway misses at most about this long of pushes.
	Open time.Duration
}

// Config configures a Job. Every zero value means the documented default.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Required.
	Brokers []string
	// Topic is the push topic. Default kafkabus.DefaultTopic ("barrage-push").
	Topic string
	// GroupID is the consumer group; job instances with the same GroupID
	// share the partitions. Default "barrage-job".
	GroupID string
	// StartOffset is where a group with no committed offset starts:
	// kafka.LastOffset (-1, the default: a new group skips old, stale
	// pushes) or kafka.FirstOffset (-2).
	StartOffset int64
	// MinBytes and MaxBytes bound one fetch. Defaults 1 (answer as soon as one
	// push is there: no added latency) and 10 MiB.
	MinBytes, MaxBytes int
	// MaxWait is how long the broker holds a fetch that has less than
	// MinBytes. With MinBytes 1 it adds no latency (the broker answers as
	// soon as a push arrives); it is only how often an idle consumer polls.
	// Default 1s; keep it at 1s or more under the race detector, where
	// kafka-go's shorter deadlines misfire.
	MaxWait time.Duration
	// CommitInterval is how often finished offsets are committed. A crash
	// redelivers at most this much finished work (at-least-once). Default
	// 200ms.
	CommitInterval time.Duration
	// RefreshInterval is how often the registry is read. A gateway that left
	// stops receiving within about this long. Default 2s.
	RefreshInterval time.Duration
	// DedupeSize is how many recent message ids are remembered to drop
	// redeliveries (about 50 bytes each: 1M ids measured 52 MB of heap).
	// Default 1<<20.
	DedupeSize int
	// Lanes is how many calls run in parallel against one gateway; one
	// room's pushes always use the same lane, so they stay in order.
	// Default 4.
	Lanes int
	// MaxInFlight bounds the messages fetched but not yet finished; the
	// consumer waits when it is reached. Default 1024.
	MaxInFlight int
	// CallTimeout bounds one gateway call. Default 5s.
	CallTimeout time.Duration
	// Retry is the policy for failing gateway calls.
	Retry Retry
	// Breaker marks down a gateway that keeps failing.
	Breaker Breaker
	// Logger receives job's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("job: config: no brokers (Config.Brokers is empty)")
	}
	if c.Topic == "" {
		c.Topic = kafkabus.DefaultTopic
	}
	if c.GroupID == "" {
		c.GroupID = DefaultGroupID
	}
	if c.StartOffset == 0 {
		c.StartOffset = -1 // kafka.LastOffset
	}
	if c.StartOffset != -1 && c.StartOffset != -2 {
		return errors.New("job: config: StartOffset must be -1 (last) or -2 (first)")
	}
	setDefault(&c.MinBytes, DefaultMinBytes)
	setDefault(&c.MaxBytes, DefaultMaxBytes)
	setDefault(&c.MaxWait, DefaultMaxWait)
	setDefault(&c.CommitInterval, DefaultCommitInterval)
	setDefault(&c.RefreshInterval, DefaultRefreshInterval)
	setDefault(&c.DedupeSize, DefaultDedupeSize)
	setDefault(&c.Lanes, DefaultLanes)
	setDefault(&c.MaxInFlight, DefaultMaxInFlight)
	setDefault(&c.CallTimeout, DefaultCallTimeout)
	setDefault(&c.Retry.Attempts, DefaultRetryAttempts)
	setDefault(&c.Retry.Backoff, DefaultRetryBackoff)
	setDefault(&c.Retry.MaxBackoff, DefaultRetryMaxBackoff)
	setDefault(&c.Breaker.Failures, DefaultBreakerFailures)
	setDefault(&c.Breaker.Open, DefaultBreakerOpen)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
