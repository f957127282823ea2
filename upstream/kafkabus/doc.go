// Package kafkabus is the Kafka feed between logic and job in distributed mode:
// the versioned message schema (Message, AppendEncode, Decode) and the
// producer (Producer, which backs logic.Delivery by writing one Kafka message
// per push; cmd/barrage maps a batch of room pushes onto WriteBatch).
//
// A push becomes one Kafka message whose value is a compact binary record
// (magic 'B', version 1, kind, 16-byte id, op, send time, the target, then the
// body). The Kafka message key decides the partition: the room id for room
// pushes (one room's pushes stay in one partition, in order), the gateway name
// for key pushes, a fixed key for broadcasts. docs/KAFKA.md describes the
// layout byte by byte, the ordering and delivery guarantees and the measured
// batching trade-off.
//
// Writes are synchronous: a push returns only after Kafka acknowledged it (or
// with an error, within Config.WriteTimeout), so the push API never reports a
// silent success. Concurrent pushes share Kafka produce requests through
// kafka-go's per-partition batches.
//
// Imports: kafka-go (github.com/segmentio/kafka-go) and the standard library.
// It does not import logic (Producer satisfies logic.Delivery structurally),
// gateway/ or shard/. Subpackage kafkatest starts an in-process Kafka-protocol
// broker (kfake) for tests and is imported only by tests.
package kafkabus
