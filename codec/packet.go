package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderLen is the size of every packet header. goim fixes it at 16 and so do we:
// a packet announcing any other header length is rejected.
const HeaderLen = 16

// DefaultMaxBody is the largest client body accepted unless configured otherwise
// (goim's limit: packLen up to 4096+16).
const DefaultMaxBody = 4096

// Operations. Values 0..17 are goim's; 18..21 are Barrage extensions documented in
// docs/PROTOCOL.md. Application push operations are >= 1000 by convention.
const (
	OpHandshake        int32  = 0
	OpHandshakeReply   int32  = 1
	OpHeartbeat        int32  = 2
	OpHeartbeatReply   int32  = 3
	OpSendMsg          int32  = 4
	OpSendMsgReply     int32  = 5
	OpDisconnectReply  int32  = 6
	OpAuth             int32  = 7
	OpAuthReply        int32  = 8
	OpRaw              int32  = 9
	OpProtoReady       int32  = 10
	OpProtoFinish      int32  = 11
	OpChangeRoom       int32  = 12
	OpChangeRoomReply  int32  = 13
	OpSub              int32  = 14
	OpSubReply         int32  = 15
	OpUnsub            int32  = 16
	OpUnsubReply       int32  = 17
	OpJoinRoom         int32  = 18 // extension: join one more room, body = room id
	OpJoinRoomReply    int32  = 19 // extension: echoes the body
	OpLeaveRoom        int32  = 20 // extension: leave one room, body = room id
	OpLeaveRoomReply   int32  = 21 // extension: echoes the body
	OpMinApplication   int32  = 1000
	DefaultVer         uint16 = 1
	heartbeatReplyBody        = 4
)

// Decoding errors. Each names what was wrong so the gateway can log and count it.
var (
	ErrPackLenTooSmall = errors.New("codec: packLen smaller than the 16-byte header")
	ErrPackLenTooLarge = errors.New("codec: packLen exceeds the body limit")
	ErrHeaderLen       = errors.New("codec: headerLen is not 16")
)

// Packet is a decoded packet. Body aliases the decoded buffer: copy it before the
// buffer is reused.
type Packet struct {
	Ver  uint16
	Op   int32
	Seq  int32
	Body []byte
}

// Len is the encoded size of p.
func (p *Packet) Len() int { return HeaderLen + len(p.Body) }

// Decode reads one packet from the front of buf. It returns the packet and the
// number of bytes it used. n == 0 with a nil error means buf does not yet hold a
// whole packet (read more and call again). Checks run on the header alone, so an
// oversized packet is rejected before its body arrives. maxBody <= 0 means
// DefaultMaxBody. Decode never allocates.
func Decode(buf []byte, maxBody int) (p Packet, n int, err error) {
	if len(buf) < HeaderLen {
		return p, 0, nil
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	packLen := binary.BigEndian.Uint32(buf[0:4])
	headerLen := binary.BigEndian.Uint16(buf[4:6])
	if headerLen != HeaderLen {
		return p, 0, ErrHeaderLen
	}
	if packLen < HeaderLen {
		return p, 0, ErrPackLenTooSmall
	}
	// Compared in 64 bits: HeaderLen+maxBody in uint32 (or int) would wrap for a
	// huge configured limit and then reject every packet.
	if uint64(packLen) > HeaderLen+uint64(maxBody) {
		return p, 0, ErrPackLenTooLarge
	}
	if uint64(len(buf)) < uint64(packLen) {
		return p, 0, nil
	}
	p.Ver = binary.BigEndian.Uint16(buf[6:8])
	p.Op = int32(binary.BigEndian.Uint32(buf[8:12]))
	p.Seq = int32(binary.BigEndian.Uint32(buf[12:16]))
	p.Body = buf[HeaderLen:packLen:packLen]
	return p, int(packLen), nil
}

// AppendHeader appends a header for a body of bodyLen bytes.
func AppendHeader(dst []byte, bodyLen int, ver uint16, op, seq int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(HeaderLen+bodyLen))
	dst = binary.BigEndian.AppendUint16(dst, HeaderLen)
	dst = binary.BigEndian.AppendUint16(dst, ver)
	dst = binary.BigEndian.AppendUint32(dst, uint32(op))
	return binary.BigEndian.AppendUint32(dst, uint32(seq))
}

// AppendPacket appends one whole packet.
func AppendPacket(dst []byte, ver uint16, op, seq int32, body []byte) []byte {
	dst = AppendHeader(dst, len(body), ver, op, seq)
	return append(dst, body...)
}

// AppendHeartbeatReply appends the op-3 reply carrying the room's online count.
func AppendHeartbeatReply(dst []byte, ver uint16, seq int32, online int32) []byte {
	dst = AppendHeader(dst, heartbeatReplyBody, ver, OpHeartbeatReply, seq)
	return binary.BigEndian.AppendUint32(dst, uint32(online))
}

// HeartbeatOnline reads the online count from an op-3 reply body.
func HeartbeatOnline(body []byte) (int32, error) {
	if len(body) != heartbeatReplyBody {
		return 0, fmt.Errorf("codec: heartbeat reply body is %d bytes, want 4", len(body))
	}
	return int32(binary.BigEndian.Uint32(body)), nil
}

// ReplyOp maps a request op to the op goim answers with. goim answers op 4 and
// every unknown op with the request op itself, not op 5.
func ReplyOp(op int32) int32 {
	switch op {
	case OpHeartbeat:
		return OpHeartbeatReply
	case OpAuth:
		return OpAuthReply
	case OpChangeRoom:
		return OpChangeRoomReply
	case OpSub:
		return OpSubReply
	case OpUnsub:
		return OpUnsubReply
	case OpJoinRoom:
		return OpJoinRoomReply
	case OpLeaveRoom:
		return OpLeaveRoomReply
	}
	return op
}

// Packets iterates over packets laid back to back (an op-9 body or a TCP batch),
// calling fn for each. It stops at the first error; a trailing partial packet is an
// error. It does not allocate.
func Packets(buf []byte, maxBody int, fn func(Packet) error) error {
	for len(buf) > 0 {
		p, n, err := Decode(buf, maxBody)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("codec: truncated packet: %d trailing bytes", len(buf))
		}
		if err := fn(p); err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}
