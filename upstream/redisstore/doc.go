// Package redisstore keeps logic's shared state in Redis for distributed mode:
// routes (mid -> {key -> gateway}, key -> gateway), per-room sequence numbers,
// per-gateway room counts and the gateway registry that replaces a discovery
// service. One *Store serves logic.Router, logic.Sequencer, logic.OnlineStore
// and logic.OnlineSource.
//
// Every key, its type, TTL and refresh rule is documented in docs/REDIS.md;
// keys.go builds them all, so the two must change together.
//
// It works against a single Redis and a Redis Cluster alike (go-redis
// UniversalClient): no Lua script and no command touches more than one key,
// except the cleanup's RENAMENX of a gateway's routes set to its dead copy,
// two keys that share the hash tag {gw:<server>} and so one slot. Batches are
// pipelines, which the cluster client splits by node (one round trip per
// node, in parallel).
//
// Imports: go-redis/v9 and upstream/logic (for the seam interfaces and the
// Online type). It must not import gateway/ or shard/.
package redisstore
