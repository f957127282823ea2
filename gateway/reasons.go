package gateway

import (
	"errors"

	"github.com/barrage/barrage/codec"
)

// Close reasons, used as the "reason" label of barrage_gateway_closes_total and
// in debug logs. Bad-input reasons start with "bad_".
const (
	reasonHandshakeTimeout = "handshake_timeout"
	reasonHeartbeatTimeout = "heartbeat_timeout"
	reasonSlowConsumer     = "slow_consumer"
	reasonAuthRejected     = "auth_rejected"
	reasonOverloaded       = "overloaded"
	reasonDuplicateKey     = "duplicate_key"
	reasonClientClose      = "client_close"
	reasonKicked           = "kicked"

	reasonBadHeaderLen    = "bad_header_len"
	reasonBadPackLenSmall = "bad_pack_len_too_small"
	reasonBadPackLenLarge = "bad_pack_len_too_large"
	reasonBadNotAuthed    = "bad_op_before_auth"
	reasonBadReauth       = "bad_auth_twice"
	reasonBadOpList       = "bad_op_list"
	reasonBadRoom         = "bad_room"
	reasonBadRoomPinned   = "bad_room_not_allowed"
	reasonBadFlood        = "bad_inbound_flood"
	reasonBadUpgrade      = "bad_ws_upgrade"
	reasonBadWSUnmasked   = "bad_ws_unmasked"
	reasonBadWSTooLarge   = "bad_ws_too_large"
	reasonBadWSOpcode     = "bad_ws_opcode"
	reasonBadWSFragmented = "bad_ws_fragmented"
	reasonBadWSProtocol   = "bad_ws_protocol"
	reasonBadWSTruncated  = "bad_ws_truncated_packet"
)

// decodeReason names a codec error for metrics and logs.
func decodeReason(err error) string {
	switch {
	case errors.Is(err, codec.ErrHeaderLen):
		return reasonBadHeaderLen
	case errors.Is(err, codec.ErrPackLenTooSmall):
		return reasonBadPackLenSmall
	case errors.Is(err, codec.ErrPackLenTooLarge):
		return reasonBadPackLenLarge
	case errors.Is(err, codec.ErrWSUnmasked):
		return reasonBadWSUnmasked
	case errors.Is(err, codec.ErrWSTooLarge):
		return reasonBadWSTooLarge
	case errors.Is(err, codec.ErrWSOpcode):
		return reasonBadWSOpcode
	default:
		return reasonBadWSProtocol
	}
}
