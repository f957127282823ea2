package job

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// Stats is a snapshot of a Job's counters (totals since New).
type Stats struct {
	Consumed      uint64 // Kafka messages fetched
	Undecodable   uint64 // dropped because they do not decode (bad magic, unknown version, malformed)
	Duplicates    uint64 // dropped because their id was seen recently
	DeliveredKeys uint64 // PushKeys calls accepted by a gateway
	DeliveredRoom uint64 // BroadcastRoom calls accepted by a gateway
	DeliveredAll  uint64 // Broadcast calls accepted by a gateway
	DeliveredKick uint64 // Kick calls accepted by a gateway
	KeysNoGateway uint64 // keys pushes and kicks whose gateway was not live (skipped)
	GatewayErrors uint64 // failed gateway calls, retries included
	Abandoned     uint64 // (message, gateway) pairs given up after Retry.Attempts
	DroppedDead   uint64 // (message, gateway) pairs dropped because the gateway left the registry
	// BreakerDropped counts (message, gateway) pairs dropped because the
	// gateway's breaker was open: without a call, cut short in their
	// retries when it opened, or a failed probe.
	BreakerDropped uint64
	Commits        uint64 // partition offsets handed to Kafka for commit
	CommitErrors   uint64
	RegistryErrs   uint64 // failed registry reads
	DialErrors     uint64
	Gateways       int // live gateways now
	GatewaysDown   int // live gateways whose breaker is open or probing now
	InFlight       int // fetched messages not yet committable
	// Lag is how many messages of the partitions this job has fetched from
	// are not fetched yet: log end offset minus the next offset to fetch,
	// summed, with the end offsets read every RefreshInterval. Messages
	// fetched and not finished are InFlight, not Lag.
	Lag int64
}

type counters struct {
	consumed, undecodable, duplicates       atomic.Uint64
	delivered                               [5]atomic.Uint64 // by kafkabus.Kind (Decode admits kinds 1-4 only)
	keysNoGateway, gatewayErrors, abandoned atomic.Uint64
	droppedDead, commits, commitErrors      atomic.Uint64
	registryErrors, dialErrors              atomic.Uint64
	breakerDropped                          atomic.Uint64

	lagMu sync.Mutex
	next  map[int]int64 // partition -> next offset to fetch (last fetched + 1)
	end   map[int]int64 // partition -> log end offset at the last lag update
}

// fetched records the position after a fetched message.
func (c *counters) fetched(partition int, offset int64) {
	c.lagMu.Lock()
	c.next[partition] = offset + 1
	c.lagMu.Unlock()
}

// updateLag reads the log end offsets of the partitions fetched so far: one
// ListOffsets request per RefreshInterval, not per message.
func (j *Job) updateLag(ctx context.Context) {
	c := &j.stats
	c.lagMu.Lock()
	reqs := make([]kafka.OffsetRequest, 0, len(c.next))
	for p := range c.next {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	c.lagMu.Unlock()
	if len(reqs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, max(j.cfg.RefreshInterval, time.Second))
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(j.cfg.Brokers...)}
	resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{j.cfg.Topic: reqs}})
	if err != nil {
		j.log.Debug("job: read end offsets for lag", "error", err)
		return
	}
	c.lagMu.Lock()
	for _, po := range resp.Topics[j.cfg.Topic] {
		if po.Error == nil {
			c.end[po.Partition] = po.LastOffset
		}
	}
	c.lagMu.Unlock()
}

// Stats returns the counters now.
func (j *Job) Stats() Stats {
	c := &j.stats
	s := Stats{
		Consumed:       c.consumed.Load(),
		Undecodable:    c.undecodable.Load(),
		Duplicates:     c.duplicates.Load(),
		DeliveredKeys:  c.delivered[kafkabus.KindKeys].Load(),
		DeliveredRoom:  c.delivered[kafkabus.KindRoom].Load(),
		DeliveredAll:   c.delivered[kafkabus.KindAll].Load(),
		DeliveredKick:  c.delivered[kafkabus.KindKick].Load(),
		KeysNoGateway:  c.keysNoGateway.Load(),
		GatewayErrors:  c.gatewayErrors.Load(),
		Abandoned:      c.abandoned.Load(),
		DroppedDead:    c.droppedDead.Load(),
		BreakerDropped: c.breakerDropped.Load(),
		Commits:        c.commits.Load(),
		CommitErrors:   c.commitErrors.Load(),
		RegistryErrs:   c.registryErrors.Load(),
		DialErrors:     c.dialErrors.Load(),
		InFlight:       j.tracker.unfinished(),
	}
	c.lagMu.Lock()
	for p, next := range c.next {
		s.Lag += max(c.end[p]-next, 0)
	}
	c.lagMu.Unlock()
	j.mu.Lock()
	s.Gateways = len(j.set.list)
	for _, g := range j.set.list {
		if g.brk.current() != breakerClosed {
			s.GatewaysDown++
		}
	}
	j.mu.Unlock()
	return s
}

// limiter lets one log line through per second: failures come per message,
// and a broken gateway at thousands of pushes per second must not flood the
// log. The counters in Stats carry the totals.
type limiter struct{ last atomic.Int64 }

func (l *limiter) allow() bool {
	now := time.Now().UnixNano()
	last := l.last.Load()
	return now-last >= int64(time.Second) && l.last.CompareAndSwap(last, now)
}
