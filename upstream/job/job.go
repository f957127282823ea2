package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// Job consumes the push topic and fans pushes out to the gateways.
type Job struct {
	cfg  Config
	reg  Registry
	dial Dialer
	log  *slog.Logger

	mu  sync.Mutex // guards set; held by the fetch goroutine while it dispatches
	set *gwSet

	refreshMu    sync.Mutex // one registry refresh at a time (periodic or on demand)
	lastOnDemand time.Time  // guarded by refreshMu

	tracker *tracker
	window  chan struct{} // one token per unfinished message (MaxInFlight)
	lanes   sync.WaitGroup
	ran     atomic.Bool

	stats counters

	// one log line per second at most for each of these
	logRetry, logAbandon, logKafka, logDecode, logBreaker limiter
}

// New checks cfg and returns a Job; nothing is contacted before Run.
func New(cfg Config, reg Registry, dial Dialer) (*Job, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if reg == nil || dial == nil {
		return nil, errors.New("job: New needs a Registry and a Dialer")
	}
	return &Job{
		cfg: cfg, reg: reg, dial: dial, log: cfg.Logger,
		set:     &gwSet{byName: map[string]*gw{}},
		tracker: newTracker(),
		window:  make(chan struct{}, cfg.MaxInFlight),
		stats:   counters{next: make(map[int]int64), end: make(map[int]int64)},
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (j *Job) Config() Config { return j.cfg }

// Run consumes until ctx is done, then stops at once: calls in progress are
// cancelled and their messages stay uncommitted (the next consumer of the
// partition gets them again); finished work is committed before Run returns.
// It fails at start if the registry cannot be read. Run may be called once.
func (j *Job) Run(ctx context.Context) error {
	if j.ran.Swap(true) {
		return errors.New("job: Run called twice")
	}
	// Everything below stops with this context, also when fetching fails on
	// its own.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := j.refresh(ctx); err != nil {
		return err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               j.cfg.Brokers,
		Topic:                 j.cfg.Topic,
		GroupID:               j.cfg.GroupID,
		StartOffset:           j.cfg.StartOffset,
		MinBytes:              j.cfg.MinBytes,
		MaxBytes:              j.cfg.MaxBytes,
		MaxWait:               j.cfg.MaxWait,
		CommitInterval:        j.cfg.CommitInterval, // kafka-go commits what we hand it, on its own goroutine
		WatchPartitionChanges: true,
		ErrorLogger: kafka.LoggerFunc(func(f string, args ...any) {
			if !j.logKafka.allow() {
				return
			}
			j.log.Warn("job: kafka consumer", "topic", j.cfg.Topic, "group", j.cfg.GroupID, "error", fmt.Sprintf(f, args...))
		}),
	})
	j.log.Info("job: consuming", "brokers", j.cfg.Brokers, "topic", j.cfg.Topic, "group", j.cfg.GroupID)

	refreshed := make(chan struct{})
	go func() { defer close(refreshed); j.refreshLoop(ctx) }()
	commitDone, committed := make(chan struct{}), make(chan struct{})
	go func() { defer close(committed); j.commitLoop(r, commitDone) }()

	err := j.fetchLoop(ctx, r)
	stop()

	<-refreshed    // no gateway starts after this, so lanes.Wait below is final
	j.lanes.Wait() // lanes stop on ctx; nothing finishes after this
	close(commitDone)
	<-committed // the committer handed its last offsets to the reader
	if cerr := r.Close(); cerr != nil {
		j.log.Warn("job: close kafka consumer", "error", cerr)
	}
	j.mu.Lock()
	for _, g := range j.set.list {
		closeGateway(g, j.log)
	}
	j.set = &gwSet{byName: map[string]*gw{}}
	j.mu.Unlock()
	return err
}

// fetchLoop is the single goroutine that reads, decodes, drops duplicates
// and dispatches. It returns nil when ctx ends.
func (j *Job) fetchLoop(ctx context.Context, r *kafka.Reader) error {
	recent := newRecentIDs(j.cfg.DedupeSize)
	for {
		select { // wait for room in the window before taking more
		case j.window <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		km, err := r.FetchMessage(ctx)
		if err != nil {
			<-j.window
			if ctx.Err() != nil {
				return nil
			}
			// kafka-go retries broker trouble itself; an error here means
			// the reader is unusable (closed, bad config).
			return fmt.Errorf("job: fetch from topic %q: %w", j.cfg.Topic, err)
		}
		j.stats.consumed.Add(1)
		j.stats.fetched(km.Partition, km.Offset)
		in := &inflight{partition: km.Partition, offset: km.Offset, lane: fnv32(km.Key)}
		j.tracker.add(in)
		if err := kafkabus.Decode(km.Value, &in.msg); err != nil {
			// A poison message must not stall the partition: count it, log
			// it, commit past it. ErrUnknownVersion means logic was upgraded
			// before job (docs/KAFKA.md, "Versions").
			j.stats.undecodable.Add(1)
			if j.logDecode.allow() {
				j.log.Error("job: dropped a message that does not decode", "partition", km.Partition,
					"offset", km.Offset, "bytes", len(km.Value), "error", err)
			}
			j.finish(in)
			continue
		}
		if recent.seen(in.msg.ID) {
			j.stats.duplicates.Add(1)
			j.finish(in)
			continue
		}
		if in.msg.Kind.Targeted() && !j.knows(in.msg.Server) {
			// The gateway may have registered since the last refresh: look
			// again before giving its key push or kick up.
			j.refreshOnDemand(ctx)
		}
		if j.dispatch(in) == 0 {
			j.finish(in)
		}
	}
}

// dispatch queues in on every target gateway's lane and returns how many
// gateways it went to.
func (j *Job) dispatch(in *inflight) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	set := j.set
	if in.msg.Kind.Targeted() {
		g := set.byName[in.msg.Server]
		if g == nil {
			j.stats.keysNoGateway.Add(1)
			return 0
		}
		in.pending.Store(1)
		g.lanes[in.lane%uint32(len(g.lanes))] <- in
		return 1
	}
	n := len(set.list)
	// pending is set before the first send: a lane may finish its part
	// before the loop below has queued the others.
	in.pending.Store(int32(n))
	for _, g := range set.list {
		g.lanes[in.lane%uint32(len(g.lanes))] <- in
	}
	return n
}

// finish is called once per message when every target is done with it.
func (j *Job) finish(in *inflight) {
	j.tracker.finish(in)
	<-j.window
}

// commitLoop hands newly committable offsets to the reader, which commits
// them every CommitInterval. On done it hands over the last ones, before the
// reader is closed (kafka-go commits what it holds when it closes).
func (j *Job) commitLoop(r *kafka.Reader, done <-chan struct{}) {
	var batch []kafka.Message
	flush := func() {
		batch = j.tracker.take(j.cfg.Topic, batch[:0])
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.CommitMessages(ctx, batch...); err != nil {
			// Not fatal: a later commit covers these offsets, and a lost
			// commit only means a redelivery (at-least-once).
			j.stats.commitErrors.Add(1)
			j.log.Warn("job: commit offsets", "error", err)
			return
		}
		j.stats.commits.Add(uint64(len(batch)))
	}
	for {
		select {
		case <-j.tracker.wake:
			flush()
		case <-done:
			flush()
			return
		}
	}
}

func (j *Job) refreshLoop(ctx context.Context) {
	t := time.NewTicker(j.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := j.lockedRefresh(ctx); err != nil && ctx.Err() == nil {
				// Keep the last known set: a registry blip should not stop
				// deliveries to gateways that are still there.
				j.log.Warn("job: keeping the previous gateway list", "error", err)
			}
			j.updateLag(ctx)
		}
	}
}

// knows reports whether server is in the current gateway set.
func (j *Job) knows(server string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.set.byName[server] != nil
}

func (j *Job) lockedRefresh(ctx context.Context) error {
	j.refreshMu.Lock()
	defer j.refreshMu.Unlock()
	return j.refresh(ctx)
}

// onDemandGap bounds registry reads triggered by key pushes and kicks for unknown
// gateways, so a flood of pushes to a dead gateway costs one read per gap.
const onDemandGap = 250 * time.Millisecond

func (j *Job) refreshOnDemand(ctx context.Context) {
	j.refreshMu.Lock()
	defer j.refreshMu.Unlock()
	if time.Since(j.lastOnDemand) < onDemandGap {
		return
	}
	j.lastOnDemand = time.Now()
	if err := j.refresh(ctx); err != nil && ctx.Err() == nil {
		j.log.Warn("job: on-demand registry refresh failed", "error", err)
	}
}

// fnv32 is FNV-1a: a cheap, stable hash of the Kafka key for lane choice.
func fnv32(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
