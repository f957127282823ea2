package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/barrage/barrage/codec"
)

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d} // the mask of the goim captures

// wsRaw builds a frame header by hand so that malformed headers can be written:
// lenForm picks the length encoding (7, 16 or 64) independently of length.
func wsRaw(b0 byte, masked bool, lenForm int, length uint64) []byte {
	var m byte
	if masked {
		m = 0x80
	}
	var h []byte
	switch lenForm {
	case 7:
		h = []byte{b0, m | byte(length)}
	case 16:
		h = binary.BigEndian.AppendUint16([]byte{b0, m | 126}, uint16(length))
	case 64:
		h = binary.BigEndian.AppendUint64([]byte{b0, m | 127}, length)
	}
	if masked {
		h = append(h, testMask[:]...)
	}
	return h
}

// wsWhole is wsRaw followed by the payload bytes (zeros).
func wsWhole(b0 byte, masked bool, lenForm int, length int) []byte {
	return append(wsRaw(b0, masked, lenForm, uint64(length)), make([]byte, length)...)
}

const (
	finBinary = 0x80 | 0x2
	finPing   = 0x80 | 0x9
	finClose  = 0x80 | 0x8
)

type wsDecodeCase struct {
	name       string
	buf        []byte
	max        int // 0 means 1<<17
	fromClient bool
	wantErr    error
	wantStart  int // PayloadStart; Total is checked as wantStart+wantLen
	wantLen    int
	wantOp     byte
	wantFin    bool
}

func TestDecodeWSFrame(t *testing.T) {
	tests := []wsDecodeCase{
		{name: "server 7-bit", buf: wsWhole(finBinary, false, 7, 5), wantStart: 2, wantLen: 5, wantOp: 2, wantFin: true},
		{name: "server empty", buf: wsWhole(finBinary, false, 7, 0), wantStart: 2, wantOp: 2, wantFin: true},
		{name: "server 125", buf: wsWhole(finBinary, false, 7, 125), wantStart: 2, wantLen: 125, wantOp: 2, wantFin: true},
		{name: "server 16-bit 126", buf: wsWhole(finBinary, false, 16, 126), wantStart: 4, wantLen: 126, wantOp: 2, wantFin: true},
		{name: "server 16-bit 65535", buf: wsWhole(finBinary, false, 16, 65535), wantStart: 4, wantLen: 65535, wantOp: 2, wantFin: true},
		{name: "server 64-bit 65536", buf: wsWhole(finBinary, false, 64, 65536), wantStart: 10, wantLen: 65536, wantOp: 2, wantFin: true},
		{name: "client 7-bit", buf: wsWhole(finBinary, true, 7, 5), fromClient: true, wantStart: 6, wantLen: 5, wantOp: 2, wantFin: true},
		{name: "client 16-bit", buf: wsWhole(finBinary, true, 16, 300), fromClient: true, wantStart: 8, wantLen: 300, wantOp: 2, wantFin: true},
		{name: "client 64-bit", buf: wsWhole(finBinary, true, 64, 70000), fromClient: true, wantStart: 14, wantLen: 70000, wantOp: 2, wantFin: true},
		{name: "text", buf: wsWhole(0x81, true, 7, 3), fromClient: true, wantStart: 6, wantLen: 3, wantOp: 1, wantFin: true},
		{name: "first fragment is decoded", buf: wsWhole(0x02, true, 7, 3), fromClient: true, wantStart: 6, wantLen: 3, wantOp: 2},
		{name: "continuation is decoded", buf: wsWhole(0x80, true, 7, 3), fromClient: true, wantStart: 6, wantLen: 3, wantOp: 0, wantFin: true},
		{name: "ping 125", buf: wsWhole(finPing, true, 7, 125), fromClient: true, wantStart: 6, wantLen: 125, wantOp: 9, wantFin: true},
		{name: "pong", buf: wsWhole(0x8a, false, 7, 2), wantStart: 2, wantLen: 2, wantOp: 0xa, wantFin: true},
		{name: "close", buf: wsWhole(finClose, true, 7, 2), fromClient: true, wantStart: 6, wantLen: 2, wantOp: 8, wantFin: true},
		{name: "control frames ignore the data limit", buf: wsWhole(finPing, true, 7, 100), max: 10, fromClient: true,
			wantStart: 6, wantLen: 100, wantOp: 9, wantFin: true},
		{name: "payload at limit", buf: wsWhole(finBinary, true, 7, 100), max: 100, fromClient: true, wantStart: 6, wantLen: 100, wantOp: 2, wantFin: true},

		{name: "payload over limit", buf: wsWhole(finBinary, true, 7, 101), max: 100, fromClient: true, wantErr: codec.ErrWSTooLarge},
		{name: "over limit on header alone", buf: wsRaw(finBinary, true, 64, 1<<40), fromClient: true, wantErr: codec.ErrWSTooLarge},
		{name: "over limit before mask arrives", buf: wsRaw(finBinary, true, 16, 5000)[:4], max: 4096, fromClient: true, wantErr: codec.ErrWSTooLarge},
		{name: "16-bit form for 125", buf: wsWhole(finBinary, false, 16, 125), wantErr: codec.ErrWSBadLength},
		{name: "16-bit form for 0", buf: wsWhole(finBinary, false, 16, 0), wantErr: codec.ErrWSBadLength},
		{name: "64-bit form for 65535", buf: wsWhole(finBinary, false, 64, 65535), wantErr: codec.ErrWSBadLength},
		{name: "64-bit form for 126", buf: wsRaw(finBinary, false, 64, 126), wantErr: codec.ErrWSBadLength},
		{name: "64-bit length with top bit", buf: wsRaw(finBinary, false, 64, 1<<63|1<<20), wantErr: codec.ErrWSBadLength},
		{name: "RSV1", buf: wsWhole(finBinary|0x40, true, 7, 1), fromClient: true, wantErr: codec.ErrWSReserved},
		{name: "RSV2", buf: wsWhole(finBinary|0x20, true, 7, 1), fromClient: true, wantErr: codec.ErrWSReserved},
		{name: "RSV3", buf: wsWhole(finBinary|0x10, true, 7, 1), fromClient: true, wantErr: codec.ErrWSReserved},
		{name: "unmasked client frame", buf: wsWhole(finBinary, false, 7, 1), fromClient: true, wantErr: codec.ErrWSUnmasked},
		{name: "masked server frame", buf: wsWhole(finBinary, true, 7, 1), wantErr: codec.ErrWSMasked},
		{name: "ping 126", buf: wsWhole(finPing, true, 16, 126), fromClient: true, wantErr: codec.ErrWSControl},
		{name: "close not FIN", buf: wsWhole(0x08, true, 7, 2), fromClient: true, wantErr: codec.ErrWSControl},
		{name: "ping not FIN", buf: wsWhole(0x09, true, 7, 0), fromClient: true, wantErr: codec.ErrWSControl},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		tests = append(tests, wsDecodeCase{name: fmt.Sprintf("opcode %#x", op), buf: wsWhole(0x80|op, true, 7, 0), fromClient: true, wantErr: codec.ErrWSOpcode})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = 1 << 17
			}
			// Trailing bytes of a next frame must not count.
			buf := append(slices.Clone(tt.buf), 0x82, 0x00)
			f, err := codec.DecodeWSFrame(buf, max, tt.fromClient)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if f.PayloadStart != tt.wantStart || f.Total != tt.wantStart+tt.wantLen || f.PayloadLen() != tt.wantLen {
				t.Fatalf("PayloadStart %d Total %d PayloadLen %d; want %d %d %d",
					f.PayloadStart, f.Total, f.PayloadLen(), tt.wantStart, tt.wantStart+tt.wantLen, tt.wantLen)
			}
			if f.Opcode != tt.wantOp || f.Fin != tt.wantFin || f.Masked != tt.fromClient {
				t.Fatalf("opcode %#x fin %v masked %v; want %#x %v %v", f.Opcode, f.Fin, f.Masked, tt.wantOp, tt.wantFin, tt.fromClient)
			}
			if tt.fromClient && f.Mask != testMask {
				t.Fatalf("mask %x, want %x", f.Mask, testMask)
			}
		})
	}
}

func TestDecodeWSFrameEverySplitPoint(t *testing.T) {
	frames := map[string]struct {
		buf        []byte
		fromClient bool
	}{
		"server 7-bit":  {wsWhole(finBinary, false, 7, 20), false},
		"server 16-bit": {wsWhole(finBinary, false, 16, 300), false},
		"server 64-bit": {wsWhole(finBinary, false, 64, 65536), false},
		"server empty":  {wsWhole(finBinary, false, 7, 0), false},
		"client 7-bit":  {wsWhole(finBinary, true, 7, 20), true},
		"client 16-bit": {wsWhole(finBinary, true, 16, 300), true},
		"client 64-bit": {wsWhole(finBinary, true, 64, 65536), true},
		"client ping":   {wsWhole(finPing, true, 7, 2), true},
		"client close":  {wsWhole(finClose, true, 7, 0), true},
	}
	for name, fr := range frames {
		t.Run(name, func(t *testing.T) {
			for k := range len(fr.buf) {
				f, err := codec.DecodeWSFrame(fr.buf[:k], 1<<20, fr.fromClient)
				if f.Total != 0 || err != nil {
					t.Fatalf("first %d of %d bytes: Total %d, err %v; want 0, nil", k, len(fr.buf), f.Total, err)
				}
			}
			if f, err := codec.DecodeWSFrame(fr.buf, 1<<20, fr.fromClient); f.Total != len(fr.buf) || err != nil {
				t.Fatalf("whole: Total %d, err %v; want %d", f.Total, err, len(fr.buf))
			}
		})
	}
}

func TestAppendWSHeader(t *testing.T) {
	tests := []struct {
		op     byte
		fin    bool
		length int
		want   []byte
	}{
		{codec.WSOpBinary, true, 0, []byte{0x82, 0}},
		{codec.WSOpBinary, true, 125, []byte{0x82, 125}},
		{codec.WSOpBinary, true, 126, []byte{0x82, 126, 0, 126}},
		{codec.WSOpBinary, true, 65535, []byte{0x82, 126, 0xff, 0xff}},
		{codec.WSOpBinary, true, 65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{codec.WSOpText, false, 1, []byte{0x01, 1}},
		{codec.WSOpPong, true, 2, []byte{0x8a, 2}},
	}
	for _, tt := range tests {
		if got := codec.AppendWSHeader(nil, tt.op, tt.fin, tt.length); !bytes.Equal(got, tt.want) {
			t.Errorf("AppendWSHeader(%#x, %v, %d) = %x, want %x", tt.op, tt.fin, tt.length, got, tt.want)
		}
	}
}

func TestWSFrameRoundTrip(t *testing.T) {
	masks := [][4]byte{{0, 0, 0, 0}, testMask, {0xff, 0xff, 0xff, 0xff}}
	for _, n := range []int{0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 70001} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i*7 + 1)
		}
		for _, mask := range masks {
			t.Run(fmt.Sprintf("client %d mask %x", n, mask), func(t *testing.T) {
				prefix := []byte("prefix")
				buf := codec.AppendWSClientFrame(slices.Clone(prefix), codec.WSOpBinary, payload, mask)
				if !bytes.HasPrefix(buf, prefix) {
					t.Fatal("dst prefix overwritten")
				}
				frame := buf[len(prefix):]
				f, err := codec.DecodeWSFrame(frame, 1<<20, true)
				if err != nil || f.Total != len(frame) || !f.Fin || f.Opcode != codec.WSOpBinary || f.Mask != mask {
					t.Fatalf("DecodeWSFrame = %+v, %v", f, err)
				}
				got := frame[f.PayloadStart:f.Total]
				if mask != [4]byte{} && n > 0 && bytes.Equal(got, payload) {
					t.Fatal("payload was sent unmasked")
				}
				codec.Unmask(got, f.Mask)
				if !bytes.Equal(got, payload) {
					t.Fatal("unmasked payload differs")
				}
			})
		}
		t.Run(fmt.Sprintf("server %d", n), func(t *testing.T) {
			frame := codec.AppendWSFrame(nil, codec.WSOpBinary, payload)
			f, err := codec.DecodeWSFrame(frame, 1<<20, false)
			if err != nil || f.Total != len(frame) || !bytes.Equal(frame[f.PayloadStart:], payload) {
				t.Fatalf("DecodeWSFrame = %+v, %v", f, err)
			}
		})
	}
}

func TestUnmask(t *testing.T) {
	// Compare with a byte-at-a-time XOR over lengths and offsets that exercise
	// word-wise paths and their tails.
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i * 13)
	}
	for off := range 8 {
		for n := 0; n+off <= len(data); n += 1 + n/4 {
			got := slices.Clone(data[off : off+n])
			codec.Unmask(got, testMask)
			for i := range got {
				if got[i] != data[off+i]^testMask[i%4] {
					t.Fatalf("offset %d length %d: byte %d = %#x, want %#x", off, n, i, got[i], data[off+i]^testMask[i%4])
				}
			}
			codec.Unmask(got, testMask)
			if !bytes.Equal(got, data[off:off+n]) {
				t.Fatalf("offset %d length %d: unmasking twice does not restore", off, n)
			}
		}
	}
}

func TestAppendWSClose(t *testing.T) {
	long := strings.Repeat("r", 200)
	accents := strings.Repeat("é", 70) // 140 bytes; byte 123 is inside a character
	tests := []struct {
		name       string
		code       uint16
		reason     string
		wantReason string
	}{
		{"no reason", codec.WSCloseNormal, "", ""},
		{"reason", codec.WSCloseTooBig, "packet too large", "packet too large"},
		{"123 bytes kept", codec.WSCloseProtocolError, long[:123], long[:123]},
		{"cut to 123", codec.WSCloseProtocolError, long, long[:123]},
		{"cut at a character boundary", codec.WSClosePolicyViolation, accents, accents[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := codec.AppendWSClose([]byte{0xaa}, tt.code, tt.reason)[1:]
			f, err := codec.DecodeWSFrame(frame, 0, false)
			if err != nil || f.Total != len(frame) || f.Opcode != codec.WSOpClose || !f.Fin {
				t.Fatalf("DecodeWSFrame = %+v, %v", f, err)
			}
			if f.PayloadLen() > 125 {
				t.Fatalf("payload %d bytes, over the control frame limit", f.PayloadLen())
			}
			code, reason, err := codec.WSClosePayload(frame[f.PayloadStart:f.Total])
			if err != nil || code != tt.code || string(reason) != tt.wantReason {
				t.Fatalf("WSClosePayload = %d %q %v; want %d %q", code, reason, err, tt.code, tt.wantReason)
			}
			if !utf8.Valid(reason) {
				t.Fatal("reason is not valid UTF-8")
			}
		})
	}
}

func TestWSClosePayload(t *testing.T) {
	tests := []struct {
		payload    []byte
		wantCode   uint16
		wantReason string
		wantErr    error
	}{
		{nil, 1005, "", nil},
		{[]byte{0x03}, 0, "", codec.ErrWSCloseBadCode},
		{[]byte{0x03, 0xe8}, 1000, "", nil},
		{[]byte{0x03, 0xf1, 'b', 'y', 'e'}, 1009, "bye", nil},
	}
	for _, tt := range tests {
		code, reason, err := codec.WSClosePayload(tt.payload)
		if code != tt.wantCode || string(reason) != tt.wantReason || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("WSClosePayload(%x) = %d %q %v; want %d %q %v", tt.payload, code, reason, err, tt.wantCode, tt.wantReason, tt.wantErr)
		}
	}
}

func TestWSCloseCode(t *testing.T) {
	tests := []struct {
		err  error
		want uint16
	}{
		{codec.ErrWSTooLarge, codec.WSCloseTooBig},
		{codec.ErrPackLenTooLarge, codec.WSCloseTooBig},
		{fmt.Errorf("conn 7: %w", codec.ErrWSTooLarge), codec.WSCloseTooBig},
		{codec.ErrWSFragmented, codec.WSCloseProtocolError},
		{codec.ErrWSUnmasked, codec.WSCloseProtocolError},
		{codec.ErrWSMasked, codec.WSCloseProtocolError},
		{codec.ErrWSReserved, codec.WSCloseProtocolError},
		{codec.ErrWSOpcode, codec.WSCloseProtocolError},
		{codec.ErrWSControl, codec.WSCloseProtocolError},
		{codec.ErrWSBadLength, codec.WSCloseProtocolError},
		{codec.ErrWSCloseBadCode, codec.WSCloseProtocolError},
		{codec.ErrHeaderLen, codec.WSCloseProtocolError},
		{codec.ErrPackLenTooSmall, codec.WSCloseProtocolError},
	}
	for _, tt := range tests {
		if got := codec.WSCloseCode(tt.err); got != tt.want {
			t.Errorf("WSCloseCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
