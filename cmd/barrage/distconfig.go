package main

import (
	"net"
	"time"
)

// RedisConfig is where logic keeps routes, room sequence numbers, room counts
// and the gateway registry (distributed mode).
type RedisConfig struct {
	// Addrs: one address is a single Redis, several are a Redis Cluster. Default ["127.0.0.1:6379"].
	Addrs []string `toml:"addrs"`
	// Password for AUTH. Default none.
	Password string `toml:"password"`
	// DB number (single Redis only). Default 0.
	DB int `toml:"db"`
	// KeyPrefix starts every key. Default "barrage:".
	KeyPrefix string `toml:"key_prefix"`
	// RouteTTL: a key/mid route expires when not refreshed for this long. Default 30m.
	RouteTTL time.Duration `toml:"route_ttl"`
	// GatewayTTL: a gateway's registry entry expires this long after its last heartbeat. Default 30s.
	GatewayTTL time.Duration `toml:"gateway_ttl"`
	// OnlineTTL: a gateway's reported room counts expire after this. Default 60s.
	OnlineTTL time.Duration `toml:"online_ttl"`
	// CleanupGrace: logic removes a dead gateway's routes once its registry entry
	// has been missing this long. Default 2 x gateway_ttl.
	CleanupGrace time.Duration `toml:"cleanup_grace"`
}

// KafkaConfig is the push feed between logic (producer) and job (consumer).
type KafkaConfig struct {
	// Brokers to bootstrap from. Default ["127.0.0.1:9092"].
	Brokers []string `toml:"brokers"`
	// Topic carrying pushes. Default "barrage-push".
	Topic string `toml:"topic"`
	// BatchTimeout is the longest the producer waits to fill a batch. Default 1ms
	// (kafka-go's own default of 1s would add a second to every push; see docs/KAFKA.md).
	BatchTimeout time.Duration `toml:"batch_timeout"`
	// GroupID is job's consumer group. Default "barrage-job".
	GroupID string `toml:"group_id"`
	// Partitions of the topic logic creates at start when it is missing. Default 8.
	Partitions int `toml:"partitions"`
	// Replication factor of that topic. Default 1.
	Replication int `toml:"replication"`
}

// RPCConfig holds the Kitex addresses.
type RPCConfig struct {
	// LogicAddr is where logic serves LogicService and PushAPI. Default ":3119".
	LogicAddr string `toml:"logic_addr"`
	// LogicAddrs is where gateways reach logic (load-balanced). Default ["127.0.0.1:3119"].
	LogicAddrs []string `toml:"logic_addrs"`
	// GatewayAddr is where a gateway serves GatewayPush for job. Default ":3109".
	GatewayAddr string `toml:"gateway_addr"`
	// GatewayAdvertise is the address job dials for this gateway, registered in
	// Redis. Default: 127.0.0.1 with GatewayAddr's port.
	GatewayAdvertise string `toml:"gateway_advertise"`
	// Timeout bounds each RPC. Default 3s.
	Timeout time.Duration `toml:"timeout"`
}

// AdminConfig is the HTTP port of a gateway or job process: /metrics and /debug/pprof.
type AdminConfig struct {
	// Addr to listen on. Default ":3110" for a gateway, ":3112" for job; "-" disables it.
	Addr string `toml:"addr"`
}

func (c *Config) setDistributedDefaults() {
	if len(c.Redis.Addrs) == 0 {
		c.Redis.Addrs = []string{"127.0.0.1:6379"}
	}
	if c.Redis.KeyPrefix == "" {
		c.Redis.KeyPrefix = "barrage:"
	}
	if c.Redis.RouteTTL <= 0 {
		c.Redis.RouteTTL = 30 * time.Minute
	}
	if c.Redis.GatewayTTL <= 0 {
		c.Redis.GatewayTTL = 30 * time.Second
	}
	if c.Redis.OnlineTTL <= 0 {
		c.Redis.OnlineTTL = time.Minute
	}
	if c.Redis.CleanupGrace <= 0 {
		c.Redis.CleanupGrace = 2 * c.Redis.GatewayTTL
	}
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Kafka.Topic == "" {
		c.Kafka.Topic = "barrage-push"
	}
	if c.Kafka.BatchTimeout <= 0 {
		c.Kafka.BatchTimeout = time.Millisecond
	}
	if c.Kafka.Partitions <= 0 {
		c.Kafka.Partitions = 8
	}
	if c.Kafka.Replication <= 0 {
		c.Kafka.Replication = 1
	}
	if c.Kafka.GroupID == "" {
		c.Kafka.GroupID = "barrage-job"
	}
	if c.RPC.LogicAddr == "" {
		c.RPC.LogicAddr = ":3119"
	}
	if len(c.RPC.LogicAddrs) == 0 {
		c.RPC.LogicAddrs = []string{"127.0.0.1:3119"}
	}
	if c.RPC.GatewayAddr == "" {
		c.RPC.GatewayAddr = ":3109"
	}
	if c.RPC.GatewayAdvertise == "" {
		_, port, err := net.SplitHostPort(c.RPC.GatewayAddr)
		if err == nil {
			c.RPC.GatewayAdvertise = net.JoinHostPort("127.0.0.1", port)
		}
	}
	if c.RPC.Timeout <= 0 {
		c.RPC.Timeout = 3 * time.Second
	}
}
