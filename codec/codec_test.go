package codec_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/barrage/barrage/codec"
)

// rawHeader builds a header with free packLen and headerLen, for malformed input.
func rawHeader(packLen uint32, headerLen uint16, ver uint16, op, seq int32) []byte {
	b := binary.BigEndian.AppendUint32(nil, packLen)
	b = binary.BigEndian.AppendUint16(b, headerLen)
	b = binary.BigEndian.AppendUint16(b, ver)
	b = binary.BigEndian.AppendUint32(b, uint32(op))
	return binary.BigEndian.AppendUint32(b, uint32(seq))
}

func packet(op, seq int32, body []byte) []byte {
	return codec.AppendPacket(nil, codec.DefaultVer, op, seq, body)
}

func TestDecode(t *testing.T) {
	hello := packet(codec.OpSendMsg, 8, []byte("hello"))
	max := packet(codec.OpHeartbeat, 1, make([]byte, codec.DefaultMaxBody))
	over := packet(codec.OpHeartbeat, 1, make([]byte, codec.DefaultMaxBody+1))
	tests := []struct {
		name    string
		buf     []byte
		maxBody int
		wantN   int
		wantErr error
		want    codec.Packet // checked when wantN > 0
	}{
		{name: "empty", buf: nil},
		{name: "15 header bytes", buf: hello[:15]},
		{name: "header without body", buf: hello[:16]},
		{name: "body one byte short", buf: hello[:len(hello)-1]},
		{name: "whole packet", buf: hello, wantN: 21, want: codec.Packet{Ver: 1, Op: 4, Seq: 8, Body: []byte("hello")}},
		{name: "trailing bytes are left", buf: append(slices.Clone(hello), 0, 0, 0), wantN: 21,
			want: codec.Packet{Ver: 1, Op: 4, Seq: 8, Body: []byte("hello")}},
		{name: "empty body", buf: packet(codec.OpHeartbeat, 2, nil), wantN: 16, want: codec.Packet{Ver: 1, Op: 2, Seq: 2, Body: []byte{}}},
		{name: "ver op seq are echoed as sent", buf: codec.AppendPacket(nil, 0xfffe, -1, math.MinInt32, nil), wantN: 16,
			want: codec.Packet{Ver: 0xfffe, Op: -1, Seq: math.MinInt32, Body: []byte{}}},
		{name: "headerLen 20", buf: rawHeader(20, 20, 1, 2, 2), wantErr: codec.ErrHeaderLen},
		{name: "headerLen 0", buf: rawHeader(16, 0, 1, 2, 2), wantErr: codec.ErrHeaderLen},
		{name: "packLen 0", buf: rawHeader(0, 16, 1, 2, 4), wantErr: codec.ErrPackLenTooSmall},
		{name: "packLen 15", buf: rawHeader(15, 16, 1, 2, 4), wantErr: codec.ErrPackLenTooSmall},
		{name: "body 4096 (default limit)", buf: max, wantN: 4112,
			want: codec.Packet{Ver: 1, Op: 2, Seq: 1, Body: make([]byte, 4096)}},
		{name: "body 4097", buf: over, wantErr: codec.ErrPackLenTooLarge},
		{name: "body 4097, header alone", buf: over[:16], wantErr: codec.ErrPackLenTooLarge},
		{name: "negative limit means default", buf: over[:16], maxBody: -1, wantErr: codec.ErrPackLenTooLarge},
		{name: "packLen 0xffffffff", buf: rawHeader(math.MaxUint32, 16, 1, 2, 2), wantErr: codec.ErrPackLenTooLarge},
		{name: "custom limit, body at limit", buf: hello, maxBody: 5, wantN: 21,
			want: codec.Packet{Ver: 1, Op: 4, Seq: 8, Body: []byte("hello")}},
		{name: "custom limit, body over limit", buf: hello[:16], maxBody: 4, wantErr: codec.ErrPackLenTooLarge},
		{name: "custom limit above default", buf: over, maxBody: 8192, wantN: 4113,
			want: codec.Packet{Ver: 1, Op: 2, Seq: 1, Body: make([]byte, 4097)}},
		{name: "huge limit does not wrap", buf: hello, maxBody: math.MaxInt, wantN: 21,
			want: codec.Packet{Ver: 1, Op: 4, Seq: 8, Body: []byte("hello")}},
		{name: "limit 1<<32 does not wrap", buf: hello, maxBody: 1 << 32, wantN: 21,
			want: codec.Packet{Ver: 1, Op: 4, Seq: 8, Body: []byte("hello")}},
		// Bad headers are reported whatever follows them.
		{name: "headerLen checked before packLen", buf: rawHeader(0, 20, 1, 2, 2), wantErr: codec.ErrHeaderLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n, err := codec.Decode(tt.buf, tt.maxBody)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n != tt.wantN {
				t.Fatalf("n = %d, want %d", n, tt.wantN)
			}
			if n == 0 {
				return
			}
			if p.Ver != tt.want.Ver || p.Op != tt.want.Op || p.Seq != tt.want.Seq || !bytes.Equal(p.Body, tt.want.Body) {
				t.Fatalf("packet = %+v, want %+v", p, tt.want)
			}
			if p.Len() != n {
				t.Fatalf("Len() = %d, want %d", p.Len(), n)
			}
			// The body is capped so appending to it cannot clobber the next packet.
			if cap(p.Body) != len(p.Body) {
				t.Fatalf("cap(Body) = %d, want %d", cap(p.Body), len(p.Body))
			}
		})
	}
}

func TestDecodeEverySplitPoint(t *testing.T) {
	for _, body := range [][]byte{nil, []byte("x"), []byte(goimAuthBody), make([]byte, codec.DefaultMaxBody)} {
		pkt := packet(codec.OpAuth, 1, body)
		for k := range len(pkt) {
			if _, n, err := codec.Decode(pkt[:k], 0); n != 0 || err != nil {
				t.Fatalf("body %d, first %d bytes: n %d, err %v; want 0, nil", len(body), k, n, err)
			}
		}
		if _, n, err := codec.Decode(pkt, 0); n != len(pkt) || err != nil {
			t.Fatalf("body %d, whole: n %d, err %v", len(body), n, err)
		}
	}
}

func TestAppendPacketBytes(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		// The examples of DESIGN.md.
		{"heartbeat", packet(codec.OpHeartbeat, 2, nil), "00000010001000010000000200000002"},
		{"heartbeat reply", codec.AppendHeartbeatReply(nil, 1, 2, 1), "0000001400100001000000030000000200000001"},
		{"heartbeat reply, negative count", codec.AppendHeartbeatReply(nil, 1, 2, -1), "00000014001000010000000300000002ffffffff"},
		{"header only", codec.AppendHeader(nil, 5, 1, codec.OpSendMsg, 8), "00000015001000010000000400000008"},
		{"appends to dst", codec.AppendPacket([]byte{0xaa}, 2, 1000, -1, []byte{1}), "aa" + "00000011" + "0010" + "0002" + "000003e8" + "ffffffff" + "01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.got); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHeartbeatOnline(t *testing.T) {
	tests := []struct {
		body    []byte
		want    int32
		wantErr bool
	}{
		{[]byte{0, 0, 0, 1}, 1, false},
		{[]byte{0x7f, 0xff, 0xff, 0xff}, math.MaxInt32, false},
		{[]byte{0xff, 0xff, 0xff, 0xff}, -1, false},
		{nil, 0, true},
		{[]byte{0, 0, 1}, 0, true},
		{[]byte{0, 0, 0, 0, 1}, 0, true},
	}
	for _, tt := range tests {
		got, err := codec.HeartbeatOnline(tt.body)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("HeartbeatOnline(%x) = %d, %v; want %d, err %v", tt.body, got, err, tt.want, tt.wantErr)
		}
	}
	// Round trip through the encoder.
	p, _, _ := codec.Decode(codec.AppendHeartbeatReply(nil, 1, 9, 123456), 0)
	if got, err := codec.HeartbeatOnline(p.Body); got != 123456 || err != nil {
		t.Fatalf("round trip: %d, %v", got, err)
	}
}

func TestReplyOp(t *testing.T) {
	tests := map[int32]int32{
		codec.OpHeartbeat:  codec.OpHeartbeatReply,
		codec.OpAuth:       codec.OpAuthReply,
		codec.OpChangeRoom: codec.OpChangeRoomReply,
		codec.OpSub:        codec.OpSubReply,
		codec.OpUnsub:      codec.OpUnsubReply,
		codec.OpJoinRoom:   codec.OpJoinRoomReply,
		codec.OpLeaveRoom:  codec.OpLeaveRoomReply,
		// goim answers op 4 and unknown ops with the op itself.
		codec.OpSendMsg: codec.OpSendMsg,
		1000:            1000,
		-5:              -5,
	}
	for op, want := range tests {
		if got := codec.ReplyOp(op); got != want {
			t.Errorf("ReplyOp(%d) = %d, want %d", op, got, want)
		}
	}
}

func TestPackets(t *testing.T) {
	three := slices.Concat(packet(2, 1, nil), packet(1000, 0, []byte("a")), packet(4, 3, []byte("bc")))
	errStop := errors.New("stop")
	tests := []struct {
		name      string
		buf       []byte
		stopAt    int // fn returns errStop on this call (1-based); 0 never
		wantOps   []int32
		wantErr   error
		wantErrIn string
	}{
		{name: "empty", buf: nil},
		{name: "three", buf: three, wantOps: []int32{2, 1000, 4}},
		{name: "trailing partial", buf: three[:len(three)-1], wantOps: []int32{2, 1000}, wantErrIn: "truncated"},
		{name: "trailing partial header", buf: append(slices.Clone(three), 0, 0), wantOps: []int32{2, 1000, 4}, wantErrIn: "2 trailing bytes"},
		{name: "bad second header", buf: slices.Concat(packet(2, 1, nil), rawHeader(16, 20, 1, 2, 2)), wantOps: []int32{2}, wantErr: codec.ErrHeaderLen},
		{name: "too large", buf: rawHeader(5000, 16, 1, 2, 2), wantErr: codec.ErrPackLenTooLarge},
		{name: "fn error stops", buf: three, stopAt: 2, wantOps: []int32{2, 1000}, wantErr: errStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ops []int32
			err := codec.Packets(tt.buf, 0, func(p codec.Packet) error {
				ops = append(ops, p.Op)
				if len(ops) == tt.stopAt {
					return errStop
				}
				return nil
			})
			if !slices.Equal(ops, tt.wantOps) {
				t.Fatalf("ops = %v, want %v", ops, tt.wantOps)
			}
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.wantErrIn != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErrIn) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErrIn)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestForEachOp(t *testing.T) {
	tests := []struct {
		body    string
		want    []int32
		wantErr string // substring of the error; "" means no error
	}{
		{body: "1000,1001", want: []int32{1000, 1001}},
		{body: " 1002 ", want: []int32{1002}},
		{body: "\t1000\t, 1001 ,1002", want: []int32{1000, 1001, 1002}},
		{body: "", want: nil},
		{body: ",, ,", want: nil},
		{body: "1000,", want: []int32{1000}},
		{body: ",1000", want: []int32{1000}},
		{body: "1000,,1001", want: []int32{1000, 1001}},
		{body: "+5,-7,0", want: []int32{5, -7, 0}},
		{body: "00000000001000", want: []int32{1000}},
		{body: "2147483647", want: []int32{math.MaxInt32}},
		{body: "-2147483648", want: []int32{math.MinInt32}},
		{body: "2147483648", wantErr: `"2147483648"`},
		{body: "-2147483649", wantErr: `"-2147483649"`},
		{body: "99999999999999999999999", wantErr: "bad op"},
		{body: "abc", wantErr: `"abc"`},
		{body: "1000,abc,1001", want: []int32{1000}, wantErr: `"abc"`},
		{body: "10 00", wantErr: `"10 00"`},
		{body: "-", wantErr: "bad op"},
		{body: "+", wantErr: "bad op"},
		{body: "--1", wantErr: "bad op"},
		{body: "1e3", wantErr: "bad op"},
		{body: "0x10", wantErr: "bad op"},
		{body: "1000\n", wantErr: "bad op"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var got []int32
			err := codec.ForEachOp([]byte(tt.body), func(op int32) { got = append(got, op) })
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ops = %v, want %v", got, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %s", err, tt.wantErr)
			}
		})
	}
}

func TestAppendOps(t *testing.T) {
	tests := []struct {
		ops  []int32
		want string
	}{
		{nil, ""},
		{[]int32{1000}, "1000"},
		{[]int32{1000, 1001, -1, math.MinInt32}, "1000,1001,-1,-2147483648"},
	}
	for _, tt := range tests {
		got := codec.AppendOps([]byte("x:"), tt.ops)
		if string(got) != "x:"+tt.want {
			t.Errorf("AppendOps(%v) = %q, want %q", tt.ops, got, "x:"+tt.want)
		}
		var back []int32
		if err := codec.ForEachOp(got[2:], func(op int32) { back = append(back, op) }); err != nil || !slices.Equal(back, tt.ops) {
			t.Errorf("ForEachOp(AppendOps(%v)) = %v, %v", tt.ops, back, err)
		}
	}
}

func TestDecodeAuth(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    codec.AuthBody
		wantErr string // substring; "" means success
	}{
		{name: "goim body", body: goimAuthBody,
			want: codec.AuthBody{Mid: 123, Key: "k123", RoomID: "live://1000", Platform: "android", Accepts: []int32{1000, 1001}}},
		{name: "with token", body: `{"mid":1,"key":"","room_id":"live://1","platform":"web","accepts":[],"token":"a.b.c"}`,
			want: codec.AuthBody{Mid: 1, RoomID: "live://1", Platform: "web", Accepts: []int32{}, Token: "a.b.c"}},
		{name: "unknown fields ignored", body: `{"mid":7,"extra":{"x":[1,2]},"room_id":"live://9"}`,
			want: codec.AuthBody{Mid: 7, RoomID: "live://9"}},
		{name: "empty", body: "", wantErr: "empty"},
		{name: "garbage", body: "not json", wantErr: "bad auth body"},
		{name: "truncated", body: `{"mid":123,"key":"k`, wantErr: "bad auth body"},
		{name: "wrong type", body: `{"mid":"123"}`, wantErr: "bad auth body"},
		{name: "accept out of int32", body: `{"accepts":[2147483648]}`, wantErr: "bad auth body"},
		{name: "array", body: `[1,2]`, wantErr: "bad auth body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codec.DecodeAuth([]byte(tt.body))
			if tt.wantErr != "" {
				if !errors.Is(err, codec.ErrAuthBody) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrAuthBody containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !authEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func authEqual(a, b codec.AuthBody) bool {
	return a.Mid == b.Mid && a.Key == b.Key && a.RoomID == b.RoomID && a.Platform == b.Platform &&
		a.Token == b.Token && slices.Equal(a.Accepts, b.Accepts)
}

func TestEncodeAuth(t *testing.T) {
	for _, a := range []codec.AuthBody{
		{Mid: 123, Key: "k123", RoomID: "live://1000", Platform: "android", Accepts: []int32{1000, 1001}},
		{Mid: -1, Key: "ключ \"q\" <>&", RoomID: "", Accepts: nil, Token: "t"},
	} {
		body, err := codec.EncodeAuth(a)
		if err != nil {
			t.Fatalf("EncodeAuth(%+v): %v", a, err)
		}
		if a.Token == "" && bytes.Contains(body, []byte("token")) {
			t.Errorf("empty token rendered: %s (goim clients omit it)", body)
		}
		back, err := codec.DecodeAuth(body)
		if err != nil || !authEqual(back, a) {
			t.Errorf("DecodeAuth(EncodeAuth(%+v)) = %+v, %v", a, back, err)
		}
	}
}

// The hot paths promise not to allocate; enforce it here rather than only show it
// in benchmarks.
func TestZeroAllocs(t *testing.T) {
	pkt := packet(1000, 7, make([]byte, 100))
	clientFrame := codec.AppendWSClientFrame(nil, codec.WSOpBinary, pkt, [4]byte{1, 2, 3, 4})
	payload := slices.Clone(pkt)
	ops := []byte("1000, 1001,1002")
	buf := make([]byte, 0, 256)
	var sink int
	tests := []struct {
		name string
		fn   func()
	}{
		{"Decode", func() {
			p, n, _ := codec.Decode(pkt, 0)
			sink += n + len(p.Body)
		}},
		{"Packets", func() {
			_ = codec.Packets(pkt, 0, func(p codec.Packet) error { sink += int(p.Op); return nil })
		}},
		{"AppendPacket", func() { buf = codec.AppendPacket(buf[:0], 1, 1000, 7, pkt[16:]) }},
		{"AppendHeartbeatReply", func() { buf = codec.AppendHeartbeatReply(buf[:0], 1, 2, 100) }},
		{"DecodeWSFrame", func() {
			f, _ := codec.DecodeWSFrame(clientFrame, 8192, true)
			sink += f.Total
		}},
		{"Unmask", func() { codec.Unmask(payload, [4]byte{1, 2, 3, 4}) }},
		{"ForEachOp", func() { _ = codec.ForEachOp(ops, func(op int32) { sink += int(op) }) }},
		{"AppendWSFrame", func() { buf = codec.AppendWSFrame(buf[:0], codec.WSOpBinary, pkt[:100]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := testing.AllocsPerRun(100, tt.fn); a != 0 {
				t.Fatalf("%v allocations per call, want 0", a)
			}
		})
	}
	_ = sink
}
