package codec

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	WSOpContinuation byte = 0x0
	WSOpText         byte = 0x1
	WSOpBinary       byte = 0x2
	WSOpClose        byte = 0x8
	WSOpPing         byte = 0x9
	WSOpPong         byte = 0xA
)

// WebSocket close codes the gateway sends (RFC 6455 section 7.4.1).
const (
	WSCloseNormal          uint16 = 1000
	WSCloseGoingAway       uint16 = 1001
	WSCloseProtocolError   uint16 = 1002
	WSCloseUnsupportedData uint16 = 1003
	WSClosePolicyViolation uint16 = 1008
	WSCloseTooBig          uint16 = 1009
	WSCloseInternalError   uint16 = 1011
)

// WebSocket frame decoding errors, each mapped to the close code the gateway sends.
var (
	ErrWSUnmasked     = errors.New("codec: websocket client frame not masked")
	ErrWSMasked       = errors.New("codec: websocket server frame masked")
	ErrWSReserved     = errors.New("codec: websocket frame uses reserved bits")
	ErrWSOpcode       = errors.New("codec: websocket frame has an unknown opcode")
	ErrWSControl      = errors.New("codec: websocket control frame fragmented or longer than 125 bytes")
	ErrWSTooLarge     = errors.New("codec: websocket frame payload exceeds the limit")
	ErrWSFragmented   = errors.New("codec: fragmented websocket messages are not supported")
	ErrWSBadLength    = errors.New("codec: websocket frame length not minimally encoded or too large")
	ErrWSCloseBadCode = errors.New("codec: websocket close frame has a bad payload")
)

// WSCloseCode is the close code a gateway sends for a frame decoding error.
func WSCloseCode(err error) uint16 {
	switch {
	case errors.Is(err, ErrWSTooLarge), errors.Is(err, ErrPackLenTooLarge):
		return WSCloseTooBig
	default:
		return WSCloseProtocolError
	}
}

// maxCloseReason is the control frame limit (125) minus the 2-byte close code.
const maxCloseReason = 123

// WSFrame is a decoded frame header. The payload is buf[PayloadStart:Total] of the
// buffer passed to DecodeWSFrame, still masked if Masked is set.
type WSFrame struct {
	Fin          bool
	Opcode       byte
	Masked       bool
	Mask         [4]byte
	PayloadStart int
	Total        int
}

// PayloadLen is the payload size in bytes.
func (f *WSFrame) PayloadLen() int { return f.Total - f.PayloadStart }

// DecodeWSFrame decodes one frame header from the front of buf. Total == 0 with a
// nil error means more bytes are needed. fromClient selects the masking rule:
// client frames must be masked, server frames must not be. Limits are enforced on
// the header alone. It never allocates.
func DecodeWSFrame(buf []byte, maxPayload int, fromClient bool) (f WSFrame, err error) {
	if len(buf) < 2 {
		return f, nil
	}
	b0, b1 := buf[0], buf[1]
	if b0&0x70 != 0 {
		return f, ErrWSReserved
	}
	f.Fin = b0&0x80 != 0
	f.Opcode = b0 & 0x0f
	f.Masked = b1&0x80 != 0
	control := f.Opcode&0x8 != 0
	switch f.Opcode {
	case WSOpContinuation, WSOpText, WSOpBinary, WSOpClose, WSOpPing, WSOpPong:
	default:
		return f, ErrWSOpcode
	}
	if fromClient && !f.Masked {
		return f, ErrWSUnmasked
	}
	if !fromClient && f.Masked {
		return f, ErrWSMasked
	}
	n := 2
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		if len(buf) < 4 {
			return WSFrame{}, nil
		}
		length = uint64(binary.BigEndian.Uint16(buf[2:4]))
		if length < 126 {
			return f, ErrWSBadLength
		}
		n = 4
	case 127:
		if len(buf) < 10 {
			return WSFrame{}, nil
		}
		length = binary.BigEndian.Uint64(buf[2:10])
		if length < 1<<16 || length>>63 != 0 {
			return f, ErrWSBadLength
		}
		n = 10
	}
	if control && (!f.Fin || length > 125) {
		return f, ErrWSControl
	}
	if !control && length > uint64(maxPayload) {
		return f, ErrWSTooLarge
	}
	if f.Masked {
		if len(buf) < n+4 {
			return WSFrame{}, nil
		}
		copy(f.Mask[:], buf[n:n+4])
		n += 4
	}
	if uint64(len(buf)-n) < length {
		return WSFrame{}, nil
	}
	f.PayloadStart = n
	f.Total = n + int(length)
	return f, nil
}

// Unmask XORs a masked payload in place.
func Unmask(payload []byte, mask [4]byte) { ws.Cipher(payload, mask, 0) }

// AppendWSHeader appends an unmasked (server) frame header.
func AppendWSHeader(dst []byte, opcode byte, fin bool, length int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	switch {
	case length < 126:
		return append(dst, b0, byte(length))
	case length < 1<<16:
		dst = append(dst, b0, 126)
		return binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(length))
	}
}

// AppendWSFrame appends a whole unmasked (server) frame.
func AppendWSFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = AppendWSHeader(dst, opcode, true, len(payload))
	return append(dst, payload...)
}

// AppendWSClientFrame appends a whole masked (client) frame with the given mask key.
func AppendWSClientFrame(dst []byte, opcode byte, payload []byte, mask [4]byte) []byte {
	hs := len(dst)
	dst = AppendWSHeader(dst, opcode, true, len(payload))
	dst[hs+1] |= 0x80 // the MASK bit shares the byte with the 7-bit length
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	Unmask(dst[start:], mask)
	return dst
}

// AppendWSClose appends an unmasked close frame with a code and a reason (the
// reason is cut to fit the 125-byte control frame limit, at a UTF-8 character
// boundary because RFC 6455 requires the reason to be valid UTF-8).
func AppendWSClose(dst []byte, code uint16, reason string) []byte {
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	dst = AppendWSHeader(dst, WSOpClose, true, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, code)
	return append(dst, reason...)
}

// WSClosePayload splits a close frame payload into code and reason. An empty
// payload means no code (1005 by RFC 6455).
func WSClosePayload(payload []byte) (code uint16, reason []byte, err error) {
	switch len(payload) {
	case 0:
		return 1005, nil, nil
	case 1:
		return 0, nil, ErrWSCloseBadCode
	}
	return binary.BigEndian.Uint16(payload), payload[2:], nil
}
