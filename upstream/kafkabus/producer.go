package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Defaults of Config. The batching figures are measured: docs/KAFKA.md
// ("Producer batching") has the numbers behind them.
const (
	DefaultTopic        = "barrage-push"
	DefaultBatchTimeout = time.Millisecond
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20
	DefaultWriteTimeout = 5 * time.Second
	DefaultMaxAttempts  = 3
)

// Acks is how many replicas must have a write before Kafka answers it.
type Acks int

// The accepted values. There is deliberately no "none": without an
// acknowledgement a push would report success that nothing confirmed.
const (
	AcksDefault Acks = 0  // zero value: AcksAll
	AcksLeader  Acks = 1  // the partition leader only (lower latency; a leader crash can lose acknowledged pushes)
	AcksAll     Acks = -1 // every in-sync replica (goim's choice)
)

// Config configures a Producer. Every zero value means the documented default.
type Config struct {
	// Brokers are the bootstrap addresses ("host:port"). Required.
	Brokers []string
	// Topic is the push topic. Default "barrage-push".
	Topic string
	// BatchTimeout is the longest a push waits for others to share its Kafka
	// produce request (per partition). It is the latency one push adds when
	// the load is light; under load batches fill up (BatchSize) and leave
	// sooner. Default 1ms: Go timers do not fire much sooner than 1ms in an
	// idle process, so smaller values measure the same. kafka-go's own
	// default (1s) would add a second to every push.
	BatchTimeout time.Duration
	// BatchSize is the most pushes in one per-partition produce request; a
	// full batch leaves without waiting for BatchTimeout. Default 1000.
	BatchSize int
	// BatchBytes caps one produce request's size. Default 1 MiB (Kafka's
	// default message.max.bytes); a single push larger than it is refused.
	BatchBytes int64
	// WriteTimeout bounds one push, retries included: a push that Kafka has
	// not acknowledged by then fails (its fate is then unknown: Kafka may
	// still store it, and job's dedupe drops a retried copy only if the caller
	// re-sends the same Message). Default 5s.
	WriteTimeout time.Duration
	// MaxAttempts is how many times kafka-go tries a produce request on
	// retriable errors (leader moved, broker restarting). Default 3.
	MaxAttempts int
	// RequiredAcks: AcksAll (default) or AcksLeader.
	RequiredAcks Acks
	// AutoCreateTopic lets the first write create a missing topic with the
	// broker's default partition count. Off by default: create the topic
	// with CreateTopic (or your Kafka tooling) and choose the partitions.
	AutoCreateTopic bool
	// Logger receives kafka-go's error log at WARN, at most once a second.
	// Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafkabus: producer config: no brokers (Config.Brokers is empty)")
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	switch c.RequiredAcks {
	case AcksDefault:
		c.RequiredAcks = AcksAll
	case AcksAll, AcksLeader:
	default:
		return fmt.Errorf("kafkabus: producer config: RequiredAcks %d (want %d all or %d leader)", c.RequiredAcks, AcksAll, AcksLeader)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Producer writes pushes to Kafka; it backs logic.Delivery. Safe for
// concurrent use; concurrent pushes share produce requests.
type Producer struct {
	cfg Config
	w   *kafka.Writer
	ids *IDGen
	now func() time.Time

	lastLog atomic.Int64 // unix nanos of the last kafka-go error logged
}

// NewProducer returns a Producer. It does not contact Kafka: the first push
// does (and fails with the reason if Kafka is unreachable).
func NewProducer(cfg Config) (*Producer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	w := &kafka.Writer{
		Addr:  kafka.TCP(cfg.Brokers...),
		Topic: cfg.Topic,
		// Murmur2 on the message key is what Java's default partitioner
		// does, so a Java producer writing the same room lands in the same
		// partition and one room's order holds whoever produces.
		Balancer:               &kafka.Murmur2Balancer{},
		MaxAttempts:            cfg.MaxAttempts,
		WriteBackoffMin:        10 * time.Millisecond,
		WriteBackoffMax:        200 * time.Millisecond,
		BatchSize:              cfg.BatchSize,
		BatchBytes:             cfg.BatchBytes,
		BatchTimeout:           cfg.BatchTimeout,
		ReadTimeout:            cfg.WriteTimeout,
		WriteTimeout:           cfg.WriteTimeout,
		RequiredAcks:           kafka.RequiredAcks(cfg.RequiredAcks),
		AllowAutoTopicCreation: cfg.AutoCreateTopic,
	}
	p := &Producer{cfg: cfg, w: w, ids: NewIDGen(), now: time.Now}
	w.ErrorLogger = kafka.LoggerFunc(func(f string, args ...any) {
		// Every failed push already returns its error to the caller; this
		// log is for the operator, once a second at most, so an outage at
		// 50,000 pushes/s does not also flood the log.
		now := time.Now().UnixNano()
		last := p.lastLog.Load()
		if now-last < int64(time.Second) || !p.lastLog.CompareAndSwap(last, now) {
			return
		}
		log.Warn("kafka producer", "topic", cfg.Topic, "error", fmt.Sprintf(f, args...))
	})
	return p, nil
}

// Config returns the configuration in use, defaults filled in.
func (p *Producer) Config() Config { return p.cfg }

// PushKeys writes a push to the connections with keys on gateway server.
func (p *Producer) PushKeys(ctx context.Context, server string, op int32, keys []string, body []byte) error {
	return p.Write(ctx, &Message{Kind: KindKeys, Server: server, Keys: keys, Op: op, Body: body})
}

// KickKeys writes an order to close the connections with these keys on server;
// WebSocket clients see reason as the close frame's text.
func (p *Producer) KickKeys(ctx context.Context, server string, keys []string, reason string) error {
	return p.Write(ctx, &Message{Kind: KindKick, Server: server, Keys: keys, Body: []byte(reason)})
}

// BroadcastRoom writes a push to every member of room, numbered seq.
func (p *Producer) BroadcastRoom(ctx context.Context, room string, op int32, seq int64, body []byte) error {
	return p.Write(ctx, &Message{Kind: KindRoom, Room: room, Seq: seq, Op: op, Body: body})
}

// Broadcast writes a push to every connection.
func (p *Producer) Broadcast(ctx context.Context, op int32, body []byte, speed int32) error {
	return p.Write(ctx, &Message{Kind: KindAll, Speed: speed, Op: op, Body: body})
}

// Write sends m and waits until Kafka acknowledged it, ctx ended or
// Config.WriteTimeout passed. A zero m.ID gets a fresh one and a zero m.Time
// the current time; a caller that retries a failed Write with the same
// Message (same ID) lets job drop the copy if both were stored.
func (p *Producer) Write(ctx context.Context, m *Message) error {
	if m.ID == (ID{}) {
		m.ID = p.ids.Next()
	}
	if m.Time == 0 {
		m.Time = p.now().UnixNano()
	}
	value, err := AppendEncode(nil, m)
	if err != nil {
		return fmt.Errorf("kafkabus: %s push: %w", m.Kind, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	err = p.w.WriteMessages(ctx, kafka.Message{Key: []byte(m.Key()), Value: value})
	if err == nil {
		return nil
	}
	return fmt.Errorf("kafkabus: write %s push %s (key %q) to topic %q at %s: %w",
		m.Kind, m.ID, m.Key(), p.cfg.Topic, strings.Join(p.cfg.Brokers, ","), unwrapWriteErrors(err))
}

// unwrapWriteErrors turns kafka-go's one-element WriteErrors into its error,
// so the message says what went wrong instead of "kafka write errors (1/1)".
func unwrapWriteErrors(err error) error {
	var we kafka.WriteErrors
	if errors.As(err, &we) && len(we) == 1 && we[0] != nil {
		return we[0]
	}
	return err
}

// Stats is a snapshot of the producer's batching since the last call (the
// counters reset on each call, as kafka-go's do).
type Stats struct {
	Writes       int64         // produce requests sent
	Messages     int64         // pushes written
	Errors       int64         // failed produce requests
	Retries      int64         // produce requests retried
	BatchSizeAvg int64         // pushes per produce request, average
	BatchSizeMax int64         // pushes per produce request, largest
	BatchTimeAvg time.Duration // from a batch's first push to its request, average
	WriteTimeAvg time.Duration // produce request round trip, average
	WriteTimeMax time.Duration // produce request round trip, largest
}

// Stats returns the batching figures since the previous call.
func (p *Producer) Stats() Stats {
	s := p.w.Stats()
	return Stats{
		Writes: s.Writes, Messages: s.Messages, Errors: s.Errors, Retries: s.Retries,
		BatchSizeAvg: s.BatchSize.Avg, BatchSizeMax: s.BatchSize.Max,
		BatchTimeAvg: s.BatchTime.Avg,
		WriteTimeAvg: s.WriteTime.Avg, WriteTimeMax: s.WriteTime.Max,
	}
}

// Close flushes pending pushes and closes the connections.
func (p *Producer) Close() error {
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("kafkabus: close producer: %w", err)
	}
	return nil
}

// CreateTopic creates topic with partitions partitions and the given
// replication factor on the cluster behind brokers, through the controller.
// An existing topic is not an error (its partition count is left alone).
// More partitions let more job instances share the load; one room always
// stays in one partition.
func CreateTopic(ctx context.Context, brokers []string, topic string, partitions, replication int) error {
	if len(brokers) == 0 {
		return errors.New("kafkabus: create topic: no brokers")
	}
	if topic == "" {
		topic = DefaultTopic
	}
	if partitions <= 0 || replication <= 0 {
		return fmt.Errorf("kafkabus: create topic %q: partitions %d and replication %d must be positive", topic, partitions, replication)
	}
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("kafkabus: create topic %q: dial %s: %w", topic, brokers[0], err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafkabus: create topic %q: find controller: %w", topic, err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("kafkabus: create topic %q: dial controller %s:%d: %w", topic, ctrl.Host, ctrl.Port, err)
	}
	defer cc.Close()
	err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: replication})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("kafkabus: create topic %q (%d partitions, replication %d): %w", topic, partitions, replication, err)
	}
	return nil
}
