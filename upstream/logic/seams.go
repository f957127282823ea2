package logic

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Delivery hands a push to the gateways. Embedded mode: a direct call into the
// in-process gateway. Distributed mode (later): Kafka.
//
// body is handed over: the caller does not modify it after the call, so an
// implementation may keep it (a room batcher holds it until its window closes)
// but must not modify it either, because one body goes to several servers.
type Delivery interface {
	// PushKeys delivers to the connections with these keys on one gateway.
	PushKeys(ctx context.Context, server string, op int32, keys []string, body []byte) error
	// BroadcastRooms delivers each push to every member of its room, in slice
	// order: a room's pushes must reach its members in the order given, which
	// is the order of their sequence numbers.
	BroadcastRooms(ctx context.Context, pushes []RoomPush) error
	// Broadcast delivers to every connection. speed is goim's rate hint
	// (pushes per second across gateways; 0 = as fast as possible).
	Broadcast(ctx context.Context, op int32, body []byte, speed int32) error
	// KickKeys closes the connections with these keys on one gateway;
	// WebSocket clients see reason in the close frame.
	KickKeys(ctx context.Context, server string, keys []string, reason string) error
}

// Router records which gateway ("server") holds which key of which mid. Memory
// implementation here; Redis later.
type Router interface {
	Add(ctx context.Context, mid int64, key, server string) error
	Remove(ctx context.Context, mid int64, key, server string) error
	// Touch is the heartbeat that keeps the route alive; it re-creates a route
	// that has expired or was never recorded (goim does the same).
	Touch(ctx context.Context, mid int64, key, server string) error
	// ServersByKeys groups keys by the server holding them (server -> keys);
	// unknown keys are dropped.
	ServersByKeys(ctx context.Context, keys []string) (map[string][]string, error)
	// KeysByMids returns server -> keys of the connections of those mids.
	KeysByMids(ctx context.Context, mids []int64) (map[string][]string, error)
}

// RoomPush is one message to a room. Room is the full id ("live://1000"); Seq
// is the room's sequence number from the Sequencer, carried in the packet's
// seq field so clients can spot gaps (0: unsequenced).
type RoomPush struct {
	Room string
	Op   int32
	Seq  int64
	Body []byte
}

// Sequencer numbers each room's pushes 1, 2, 3, ... with no gaps: once per push,
// in logic, before delivery. Memory implementation here (embedded mode); Redis
// INCRBY in distributed mode, so every logic instance shares one counter per room.
type Sequencer interface {
	// NextRoomSeqs reserves counts[room] consecutive numbers of each room and
	// returns the first number of each (one round trip for a whole batch).
	NextRoomSeqs(ctx context.Context, counts map[string]int64) (first map[string]int64, err error)
}

// OnlineStore aggregates what every gateway reports about its rooms
// (distributed mode). RenewOnline records one gateway's counts and returns the
// counts summed over all live gateways.
type OnlineStore interface {
	RenewOnline(ctx context.Context, server string, counts Online) (map[string]int32, error)
}

// OnlineSource reports counts. Embedded: read live from the gateway.
type OnlineSource interface {
	Online(ctx context.Context) (Online, error)
}

// Online is a snapshot of the connection counts.
type Online struct {
	Rooms map[string]int32 // full room id ("live://1000") -> connections in it
	Conns int64            // open authenticated connections
	IPs   int64            // distinct client IP addresses
}

// MessageHandler receives clients' op-4 messages (the business service).
type MessageHandler interface {
	Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error
}

// LogHandler is the default MessageHandler: it logs each message at debug level
// and counts them, so an embedded deployment without a business service still
// shows that client messages arrive.
type LogHandler struct {
	log      *slog.Logger
	received atomic.Uint64
}

// NewLogHandler returns a LogHandler writing to log (slog.Default() when nil).
func NewLogHandler(log *slog.Logger) *LogHandler {
	if log == nil {
		log = slog.Default()
	}
	return &LogHandler{log: log}
}

// Receive logs and counts one message.
func (h *LogHandler) Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error {
	h.received.Add(1)
	h.log.DebugContext(ctx, "client message", "mid", mid, "key", key, "op", op, "bytes", len(body))
	return nil
}

// Received is the number of messages received so far.
func (h *LogHandler) Received() uint64 { return h.received.Load() }

// MemorySequencer is the in-process Sequencer of embedded mode.
type MemorySequencer struct {
	mu   sync.Mutex
	next map[string]int64
}

// NewMemorySequencer returns an empty MemorySequencer.
func NewMemorySequencer() *MemorySequencer { return &MemorySequencer{next: make(map[string]int64)} }

// NextRoomSeqs reserves numbers for each room (a room's first push is 1).
func (s *MemorySequencer) NextRoomSeqs(_ context.Context, counts map[string]int64) (map[string]int64, error) {
	first := make(map[string]int64, len(counts))
	s.mu.Lock()
	for room, n := range counts {
		first[room] = s.next[room] + 1
		s.next[room] += n
	}
	s.mu.Unlock()
	return first, nil
}
