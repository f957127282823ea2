// Package kafkatest starts an in-process Kafka-protocol broker (kfake from
// franz-go) on a free loopback TCP port, for tests that talk to it with the
// real kafka-go client. Only tests import it.
//
// Imports: kfake and the standard library.
package kafkatest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running single-broker kfake cluster.
type Broker struct {
	Cluster *kfake.Cluster
	Addr    string // host:port on 127.0.0.1
}

// Start starts one broker listening on 127.0.0.1 with a port the kernel picks
// (so it is free), with topic created with partitions partitions (none when
// topic is ""). The broker is closed when the test ends; Close may be called
// earlier to simulate Kafka going away.
func Start(tb testing.TB, topic string, partitions int32, opts ...kfake.Opt) *Broker {
	tb.Helper()
	all := []kfake.Opt{kfake.NumBrokers(1)}
	if topic != "" {
		all = append(all, kfake.SeedTopics(partitions, topic))
	}
	all = append(all, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		tb.Fatalf("kafkatest: start kfake: %v", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		tb.Fatalf("kafkatest: kfake listens on %v, want one address", addrs)
	}
	b := &Broker{Cluster: c, Addr: addrs[0]}
	tb.Cleanup(b.Close)
	return b
}

// Close stops the broker; its clients then see connection errors. Idempotent.
func (b *Broker) Close() { b.Cluster.Close() }
