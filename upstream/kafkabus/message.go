package kafkabus

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
)

// Schema constants. Every value starts with Magic and a version byte; Decode
// accepts the versions listed in docs/KAFKA.md ("Versions") and rejects the
// rest with ErrUnknownVersion, so a job that is older than logic says so
// instead of misreading bytes.
const (
	Magic   byte = 'B' // first byte of every value: "this is a Barrage push"
	Version byte = 1   // the version AppendEncode writes

	// HeaderLen is the fixed part of a version-1 value: magic, version, kind,
	// id, op, send time. The target and the body follow it.
	HeaderLen = 1 + 1 + 1 + 16 + 4 + 8

	// MaxStringLen bounds a room id, a server name and each key (bytes). It
	// keeps a corrupt length from allocating much before Decode notices.
	MaxStringLen = 4096
)

// Kind says who a push is for.
type Kind uint8

// The kinds. The numbers are on the wire: never renumber them.
const (
	KindKeys Kind = 1 // connections with these keys on one gateway (Server, Keys)
	KindRoom Kind = 2 // every member of a room, on every gateway (Room, Seq)
	KindAll  Kind = 3 // every connection on every gateway (Speed)
	KindKick Kind = 4 // close the connections with these keys on one gateway (Server, Keys); Body is the reason text, Op is 0
)

// Targeted reports whether a message goes to one gateway (Server) rather
// than to every gateway.
func (k Kind) Targeted() bool { return k == KindKeys || k == KindKick }

func (k Kind) String() string {
	switch k {
	case KindKeys:
		return "keys"
	case KindRoom:
		return "room"
	case KindAll:
		return "all"
	case KindKick:
		return "kick"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Decode errors; test with errors.Is. Each comes wrapped with the detail.
var (
	// ErrNotBarrage: the value does not start with Magic (another producer
	// wrote to the topic, or the value is not ours at all).
	ErrNotBarrage = errors.New("kafkabus: not a barrage push (bad magic byte)")
	// ErrUnknownVersion: the value was written by a newer (or broken) producer.
	ErrUnknownVersion = errors.New("kafkabus: unknown message version")
	// ErrMalformed: the value is truncated or its fields are invalid.
	ErrMalformed = errors.New("kafkabus: malformed message")
)

// ID identifies one push across redeliveries: the producer assigns it once,
// and job drops a message whose ID it has seen recently.
type ID [16]byte

// String is the id in hex (32 characters).
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IDGen makes unique IDs cheaply: 8 random bytes chosen once per generator
// (per producer process) followed by a 64-bit counter. Two producers collide
// only if their random prefixes are equal (2^-64), and a restarted producer
// draws a new prefix, so counters never repeat under one prefix.
type IDGen struct {
	prefix [8]byte
	n      atomic.Uint64
}

// NewIDGen returns a generator with a fresh random prefix.
func NewIDGen() *IDGen {
	g := &IDGen{}
	_, _ = rand.Read(g.prefix[:]) // crypto/rand.Read never fails on Linux (getrandom)
	return g
}

// Next returns a new ID. Safe for concurrent use.
func (g *IDGen) Next() ID {
	var id ID
	copy(id[:8], g.prefix[:])
	binary.BigEndian.PutUint64(id[8:], g.n.Add(1))
	return id
}

// Message is one push as it travels through Kafka.
type Message struct {
	Version byte  // set by Decode; AppendEncode always writes Version
	ID      ID    // unique per push
	Kind    Kind  // who it is for
	Op      int32 // operation of the packet the clients receive
	Time    int64 // unix nanoseconds when the producer accepted the push

	Server string   // KindKeys, KindKick: the gateway holding Keys
	Keys   []string // KindKeys, KindKick: connection keys on Server (at least one)
	Room   string   // KindRoom: full room id ("live://1000")
	Seq    int64    // KindRoom: the room's sequence number
	Speed  int32    // KindAll: goim's rate hint (0 = as fast as possible)

	// Body is the payload. Decode points it into the value it decoded (no
	// copy): keep the value alive and unmodified while Body is in use.
	Body []byte
}

// Key is the Kafka message key, which picks the partition: the room id for a
// room push (so one room's pushes stay in order in one partition), the gateway
// name for a key push, AllKey for a broadcast.
func (m *Message) Key() string {
	switch m.Kind {
	case KindKeys, KindKick:
		return m.Server
	case KindRoom:
		return m.Room
	}
	return AllKey
}

// AllKey is the Kafka key of every broadcast: one partition keeps broadcasts
// in order relative to each other. It cannot be a room id (those contain
// "://") and a gateway named like it would only share the partition.
const AllKey = "*all*"

// EncodedLen is the exact length AppendEncode adds for m.
func (m *Message) EncodedLen() int {
	n := HeaderLen + len(m.Body)
	switch m.Kind {
	case KindKeys, KindKick:
		n += uvarintLen(uint64(len(m.Server))) + len(m.Server) + uvarintLen(uint64(len(m.Keys)))
		for _, k := range m.Keys {
			n += uvarintLen(uint64(len(k))) + len(k)
		}
	case KindRoom:
		n += uvarintLen(uint64(len(m.Room))) + len(m.Room) + 8
	case KindAll:
		n += 4
	}
	return n
}

// validate checks what both AppendEncode and Decode require of a message.
func (m *Message) validate() error {
	switch m.Kind {
	case KindKeys, KindKick:
		if m.Kind == KindKick && m.Op != 0 {
			return fmt.Errorf("%w: kick message has op %d, want 0", ErrMalformed, m.Op)
		}
		if m.Server == "" || len(m.Server) > MaxStringLen {
			return fmt.Errorf("%w: %s message needs a server name of 1..%d bytes, got %d", ErrMalformed, m.Kind, MaxStringLen, len(m.Server))
		}
		if len(m.Keys) == 0 {
			return fmt.Errorf("%w: %s message to server %q has no keys", ErrMalformed, m.Kind, m.Server)
		}
		for i, k := range m.Keys {
			if k == "" || len(k) > MaxStringLen {
				return fmt.Errorf("%w: key %d of a %s message must be 1..%d bytes, got %d", ErrMalformed, i, m.Kind, MaxStringLen, len(k))
			}
		}
	case KindRoom:
		if m.Room == "" || len(m.Room) > MaxStringLen {
			return fmt.Errorf("%w: room push needs a room id of 1..%d bytes, got %d", ErrMalformed, MaxStringLen, len(m.Room))
		}
	case KindAll:
	default:
		return fmt.Errorf("%w: unknown kind %d (want 1 keys, 2 room, 3 all or 4 kick)", ErrMalformed, uint8(m.Kind))
	}
	return nil
}

// AppendEncode appends m's version-1 encoding to dst. m.Version is ignored.
// It fails only for a message Decode would refuse (bad kind, empty target).
func AppendEncode(dst []byte, m *Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return dst, err
	}
	if need := m.EncodedLen(); cap(dst)-len(dst) < need {
		grown := make([]byte, len(dst), len(dst)+need)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, Magic, Version, byte(m.Kind))
	dst = append(dst, m.ID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.Op))
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Time))
	switch m.Kind {
	case KindKeys, KindKick:
		dst = appendString(dst, m.Server)
		dst = binary.AppendUvarint(dst, uint64(len(m.Keys)))
		for _, k := range m.Keys {
			dst = appendString(dst, k)
		}
	case KindRoom:
		dst = appendString(dst, m.Room)
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.Seq))
	case KindAll:
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Speed))
	}
	return append(dst, m.Body...), nil
}

// Decode parses value into m, overwriting every field. m.Body aliases value.
// Errors wrap ErrNotBarrage, ErrUnknownVersion or ErrMalformed.
func Decode(value []byte, m *Message) error {
	if len(value) < 2 {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrMalformed, len(value), HeaderLen)
	}
	if value[0] != Magic {
		return fmt.Errorf("%w: first byte 0x%02x, want 0x%02x", ErrNotBarrage, value[0], Magic)
	}
	if value[1] != Version {
		return fmt.Errorf("%w: version %d, this build reads version %d (upgrade job before logic)", ErrUnknownVersion, value[1], Version)
	}
	if len(value) < HeaderLen {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrMalformed, len(value), HeaderLen)
	}
	*m = Message{Version: value[1], Kind: Kind(value[2])}
	copy(m.ID[:], value[3:19])
	m.Op = int32(binary.BigEndian.Uint32(value[19:23]))
	m.Time = int64(binary.BigEndian.Uint64(value[23:31]))
	rest := value[HeaderLen:]
	var err error
	switch m.Kind {
	case KindKeys, KindKick:
		if m.Server, rest, err = readString(rest, "server"); err != nil {
			return err
		}
		n, w := binary.Uvarint(rest)
		// Every key takes at least two bytes (length + one byte), which bounds
		// the allocation below by the value's size whatever n claims.
		if w <= 0 || w != uvarintLen(n) || n > uint64(len(rest)-w)/2 {
			return fmt.Errorf("%w: bad key count", ErrMalformed)
		}
		rest = rest[w:]
		// A fresh slice, never the caller's old one: job hands Keys to the
		// gateways and the previous message may still be in flight.
		keys := make([]string, 0, n)
		for i := uint64(0); i < n; i++ {
			var k string
			if k, rest, err = readString(rest, "key"); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		m.Keys = keys
	case KindRoom:
		if m.Room, rest, err = readString(rest, "room"); err != nil {
			return err
		}
		if len(rest) < 8 {
			return fmt.Errorf("%w: room push truncated before its seq", ErrMalformed)
		}
		m.Seq = int64(binary.BigEndian.Uint64(rest))
		rest = rest[8:]
	case KindAll:
		if len(rest) < 4 {
			return fmt.Errorf("%w: broadcast truncated before its speed", ErrMalformed)
		}
		m.Speed = int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
	}
	if err := m.validate(); err != nil {
		return err
	}
	m.Body = rest
	return nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// readString reads a uvarint length and that many bytes.
func readString(b []byte, what string) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	// w != uvarintLen(n) refuses padded varints: one message, one encoding.
	if w <= 0 || w != uvarintLen(n) || n == 0 || n > MaxStringLen || n > uint64(len(b)-w) {
		return "", b, fmt.Errorf("%w: bad %s length", ErrMalformed, what)
	}
	end := w + int(n)
	return string(b[w:end]), b[end:], nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
