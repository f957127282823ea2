package gateway

import (
	"net/netip"
	"os"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/shard"
)

type sessionState uint8

const (
	stateUpgrading sessionState = iota // WebSocket: waiting for the HTTP upgrade request
	stateHandshake                     // waiting for the op-7 auth packet
	stateAuthing                       // auth handed to logic, reply pending
	stateOpen                          // authenticated
	stateClosed
)

// session is one client connection. Every field is owned by the connection's
// event loop (see doc.go), so none needs a lock; key, mid and lane are fixed
// before the session enters the shard table and never change after.
type session struct {
	c    gnet.Conn
	loop *loop
	ws   bool

	state sessionState
	ver   uint16 // the client's protocol version, echoed in replies
	key   string
	mid   int64
	ip    netip.Addr

	rooms   []*shard.Room[*session] // rooms[0] is the primary room (op 12, heartbeat count)
	pinned  string                  // the only room this connection may be in; "" = any (AuthResult.RoomPinned)
	accepts []int32                 // push ops accepted for key pushes and broadcasts

	heartbeat   int64 // heartbeat timeout in wheel ticks
	lastRefresh int64 // tick of the last Logic.Heartbeat call

	// timer wheel links (wheel.go)
	deadline  int64
	wheelSlot int32
	wheelPrev *session
	wheelNext *session

	// outbound frames queued during one inbox drain (loop.go), written by reference
	pending [][]byte
	dirty   bool

	loopPos int32 // index in loop.sessions while open, for broadcast
}

// Key, Mid and Lane make *session a shard.Conn.
func (s *session) Key() string { return s.key }
func (s *session) Mid() int64  { return s.mid }
func (s *session) Lane() int   { return s.loop.idx }

// mayEnter reports whether a pinned connection may enter room id ("" leaves
// every room and is always allowed).
func (s *session) mayEnter(id []byte) bool {
	return s.pinned == "" || len(id) == 0 || string(id) == s.pinned
}

func (s *session) acceptsOp(op int32) bool {
	for _, a := range s.accepts {
		if a == op {
			return true
		}
	}
	return false
}

func (s *session) addAccept(op int32) {
	if !s.acceptsOp(op) {
		s.accepts = append(s.accepts, op)
	}
}

func (s *session) removeAccept(op int32) {
	for i, a := range s.accepts {
		if a == op {
			s.accepts = append(s.accepts[:i], s.accepts[i+1:]...)
			return
		}
	}
}

// primaryOnline is the online count reported in heartbeat replies: the count
// over all gateways from the last RenewOnline, or this gateway's own.
func (s *session) primaryOnline() int32 {
	if len(s.rooms) == 0 {
		return 0
	}
	r := s.rooms[0]
	if global := s.loop.srv.globalRooms.Load(); global != nil {
		if n, ok := (*global)[r.ID()]; ok && n >= r.Online() {
			return n
		}
	}
	return r.Online()
}

func (s *session) roomIndex(id string) int {
	for i, r := range s.rooms {
		if r.ID() == id {
			return i
		}
	}
	return -1
}

func processID() int { return os.Getpid() }
