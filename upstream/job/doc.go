// Package job is the job role of distributed mode: it consumes the push topic
// (written by kafkabus.Producer in logic) as a Kafka consumer group and hands
// every push to the gateways that hold its targets.
//
//   - room push: BroadcastRoom on every live gateway (a gateway without
//     members of the room drops it), in partition order per gateway;
//   - keys push: PushKeys on the named gateway only (skipped and counted when
//     that gateway is not live);
//   - broadcast: Broadcast on every live gateway.
//
// The live gateways come from a Registry (Redis in production), refreshed
// every Config.RefreshInterval; job dials each through a Dialer once and keeps
// the connection until the gateway leaves the registry. A gateway registered
// again at another address keeps its queued pushes: only the connection is
// replaced.
//
// Delivery is at-least-once. A message's offset is committed only after every
// target gateway accepted it, left the registry, or had it given up or
// dropped while marked down (below); a crash or rebalance before the commit
// redelivers it. Redeliveries are dropped by message id within one job
// process (a bounded window of recent ids, Config.DedupeSize), so a
// redelivery after a job restart can reach a gateway a second time:
// docs/KAFKA.md ("Delivery guarantees") says when and what a client sees.
//
// A gateway that keeps failing is marked down by its circuit breaker
// (Config.Breaker) after a few given-up messages in a row: its messages are
// then dropped at once instead of each holding a MaxInFlight slot for a whole
// retry budget, which would stop fetching for every gateway. A single probe
// call after Breaker.Open brings it back.
//
// Pipeline: one goroutine fetches, decodes, drops duplicates and dispatches;
// each gateway has Config.Lanes worker goroutines, and a message goes to the
// lane picked by a hash of its Kafka key, so one room's (or one server's)
// pushes reach a gateway one at a time, in partition order, while other rooms
// proceed in parallel. A tracker commits, per partition, the highest offset
// below which every message is finished.
//
// Imports: kafkabus (the schema), kafka-go and the standard library. It never
// imports gateway/, shard/ or the Kitex code: what it needs from a gateway and
// from the registry is declared here (Gateway, Registry, Dialer), and
// cmd/barrage wires them to the Kitex client and the Redis registry.
package job
