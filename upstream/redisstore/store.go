package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/barrage/barrage/upstream/logic"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults applied to zero Config fields.
const (
	DefaultKeyPrefix    = "barrage:"
	DefaultRouteTTL     = 30 * time.Minute // gateways refresh routes every 5 minutes
	DefaultGatewayTTL   = 30 * time.Second
	DefaultOnlineTTL    = 60 * time.Second
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = 2 * time.Second
	DefaultWriteTimeout = 2 * time.Second
)

// Config configures a Store. Every zero value has a usable default.
type Config struct {
	// Addrs: one address is a single Redis, several are the seed nodes of a
	// Redis Cluster (redis.UniversalOptions). Default ["127.0.0.1:6379"].
	Addrs []string
	// Cluster forces cluster mode with a single seed address (a cluster behind
	// one configuration endpoint). Default false.
	Cluster bool
	// Password for AUTH. Default none.
	Password string
	// DB number; single Redis only (a cluster has only DB 0). Default 0.
	DB int
	// KeyPrefix starts every key. Default "barrage:". A prefix holding a hash
	// tag ("{barrage}:") would put every key in one cluster slot: legal, but it
	// defeats the point of a cluster.
	KeyPrefix string
	// RouteTTL is how long a route (key -> gateway, mid -> keys) lives without
	// a refresh by Add or Touch. Default 30m; gateways refresh every 5m.
	RouteTTL time.Duration
	// GatewayTTL is how long a registry entry lives without a heartbeat
	// (RegisterGateway). Default 30s.
	GatewayTTL time.Duration
	// CleanupGrace is how long CleanupDeadGateways waits, after it first finds
	// a gateway's registry entry missing, before it removes the gateway's
	// routes. A gateway that merely lost Redis for a while (missed heartbeats)
	// and registers again within it keeps its routes. Default 2 x GatewayTTL.
	// A DeregisterGateway'd gateway is cleaned without waiting.
	CleanupGrace time.Duration
	// OnlineTTL is how long a gateway's reported room counts count without a
	// renewal (RenewOnline). Default 60s.
	OnlineTTL time.Duration
	// Socket timeouts. Defaults 2s each. A caller's context deadline, when
	// earlier, bounds a call too.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if len(c.Addrs) == 0 {
		c.Addrs = []string{"127.0.0.1:6379"}
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.RouteTTL <= 0 {
		c.RouteTTL = DefaultRouteTTL
	}
	if c.GatewayTTL <= 0 {
		c.GatewayTTL = DefaultGatewayTTL
	}
	if c.CleanupGrace <= 0 {
		c.CleanupGrace = 2 * c.GatewayTTL
	}
	if c.OnlineTTL <= 0 {
		c.OnlineTTL = DefaultOnlineTTL
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c
}

// Store is logic's state in Redis. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	cfg  Config
	keys keyspace
	own  bool // Close closes rdb: New made it

	// afterSnapshot, when set (tests only), runs in a cleanup right after the
	// gateway's routes set was renamed to its dead copy and before any route
	// is deleted: the moment a restarted gateway's new routes must survive.
	afterSnapshot func(server string)
}

// The seams a Store serves.
var (
	_ logic.Router       = (*Store)(nil)
	_ logic.Sequencer    = (*Store)(nil)
	_ logic.OnlineStore  = (*Store)(nil)
	_ logic.OnlineSource = (*Store)(nil)
)

// New connects to Redis and checks it answers a PING within DialTimeout +
// ReadTimeout, so a wrong address or a Redis that is down fails the start with
// a clear error instead of the first connection's auth.
func New(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if cfg.DB != 0 && (len(cfg.Addrs) > 1 || cfg.Cluster) {
		return nil, fmt.Errorf("redisstore: db %d with a cluster (%d addresses): a Redis Cluster has only db 0", cfg.DB, len(cfg.Addrs))
	}
	rdb := redis.NewUniversalClient(clientOptions(cfg))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DialTimeout+cfg.ReadTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: redis at %s is not answering: %w", strings.Join(cfg.Addrs, ","), err)
	}
	s := NewFromClient(rdb, cfg)
	s.own = true
	return s, nil
}

// clientOptions are the go-redis options New uses.
func clientOptions(cfg Config) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:         cfg.Addrs,
		IsClusterMode: cfg.Cluster,
		Password:      cfg.Password,
		DB:            cfg.DB,
		DialTimeout:   cfg.DialTimeout,
		ReadTimeout:   cfg.ReadTimeout,
		WriteTimeout:  cfg.WriteTimeout,
		// Let callers' deadlines bound a call: logic passes the RPC's context.
		ContextTimeoutEnabled: true,
		// Retry a command once (a pooled connection may have died with a Redis
		// restart) and a dial once. go-redis's defaults (3 command retries x 5
		// dials) multiply every timeout by up to 20 while Redis hangs.
		MaxRetries:         1,
		DialerRetries:      2,
		DialerRetryTimeout: 50 * time.Millisecond,
		// Maintenance push notifications are a Redis Enterprise/Cloud feature;
		// probing for them on every connection only adds noise.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// NewFromClient builds a Store on a client the caller made and keeps owning:
// Close does not close it. cfg's connection fields are ignored.
func NewFromClient(c redis.UniversalClient, cfg Config) *Store {
	cfg = cfg.withDefaults()
	return &Store{rdb: c, cfg: cfg, keys: keyspace{prefix: cfg.KeyPrefix}}
}

// Close closes the Redis client if New made it.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	if err := s.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// Config returns the configuration in effect, defaults applied.
func (s *Store) Config() Config { return s.cfg }

// NextRoomSeq returns the room's next sequence number, 1, 2, 3, ... shared by
// every logic instance (one INCR). The counter has no TTL: expiring it would
// restart the room at 1, which clients would read as a jump backwards.
func (s *Store) NextRoomSeq(ctx context.Context, room string) (int64, error) {
	n, err := s.rdb.Incr(ctx, s.keys.seq(room)).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: next sequence number of room %q: %w", room, err)
	}
	return n, nil
}
