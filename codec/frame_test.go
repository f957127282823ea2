package codec_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/barrage/barrage/codec"
)

// checkFrame verifies the invariants every sealed Frame has: TCP is the packets
// back to back; WS is exactly one FIN binary server frame holding one op-9
// packet (ver 1, seq 0) whose body is TCP.
func checkFrame(t *testing.T, f codec.Frame, wantTCP []byte, wantCount int) {
	t.Helper()
	if !bytes.Equal(f.TCP, wantTCP) {
		t.Fatalf("TCP = %x, want %x", truncate(f.TCP), truncate(wantTCP))
	}
	if f.Count != wantCount {
		t.Fatalf("Count = %d, want %d", f.Count, wantCount)
	}
	ws, err := codec.DecodeWSFrame(f.WS, len(f.WS), false)
	if err != nil || ws.Total != len(f.WS) || !ws.Fin || ws.Opcode != codec.WSOpBinary {
		t.Fatalf("WS is not one FIN binary frame: %+v, %v", ws, err)
	}
	p, n, err := codec.Decode(f.WS[ws.PayloadStart:], len(f.WS))
	if err != nil || n != ws.PayloadLen() {
		t.Fatalf("WS payload is not one packet: n %d of %d, %v", n, ws.PayloadLen(), err)
	}
	if p.Ver != codec.DefaultVer || p.Op != codec.OpRaw || p.Seq != 0 || !bytes.Equal(p.Body, f.TCP) {
		t.Fatalf("WS packet = ver %d op %d seq %d body %x; want ver 1 op 9 seq 0 body = TCP", p.Ver, p.Op, p.Seq, truncate(p.Body))
	}
	if f.Len(false) != len(f.TCP) || f.Len(true) != len(f.WS) ||
		!bytes.Equal(f.Bytes(false), f.TCP) || !bytes.Equal(f.Bytes(true), f.WS) {
		t.Fatal("Len/Bytes disagree with TCP/WS")
	}
}

func TestBatchWriter(t *testing.T) {
	tests := []struct {
		name     string
		sizeHint int
		bodies   [][]byte
	}{
		{"one", 0, [][]byte{[]byte(`{"seq":1,"ts":0}`)}},
		{"two", 64, [][]byte{[]byte(`{"seq":1,"ts":0}`), []byte(`{"seq":2,"ts":0}`)}},
		{"empty bodies", 0, [][]byte{nil, {}, nil}},
		{"twenty, exact hint", 20 * 116, slices.Repeat([][]byte{make([]byte, 100)}, 20)},
		{"grows past a small hint", 1, slices.Repeat([][]byte{[]byte("0123456789")}, 500)},
		{"negative hint", -5, [][]byte{[]byte("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b codec.BatchWriter
			b.Reset(tt.sizeHint)
			var want []byte
			for i, body := range tt.bodies {
				b.Add(codec.DefaultVer, 1000+int32(i), int32(i), body)
				want = codec.AppendPacket(want, codec.DefaultVer, 1000+int32(i), int32(i), body)
				if b.Count() != i+1 || b.Size() != len(want) {
					t.Fatalf("after %d adds: Count %d Size %d; want %d %d", i+1, b.Count(), b.Size(), i+1, len(want))
				}
			}
			checkFrame(t, b.Seal(), want, len(tt.bodies))
			if b.Count() != 0 || b.Size() != 0 {
				t.Fatalf("after Seal: Count %d Size %d, want 0 0", b.Count(), b.Size())
			}
		})
	}
}

func TestBatchWriterEmpty(t *testing.T) {
	var never codec.BatchWriter
	if f := never.Seal(); f.TCP != nil || f.WS != nil || f.Count != 0 {
		t.Fatalf("Seal of a never used writer = %+v, want the zero Frame", f)
	}
	var b codec.BatchWriter
	b.Reset(100)
	if f := b.Seal(); f.TCP != nil || f.WS != nil || f.Count != 0 || f.Len(true) != 0 || f.Len(false) != 0 {
		t.Fatalf("Seal of an empty batch = %+v, want the zero Frame (nothing to write)", f)
	}
}

func TestBatchWriterResetDiscards(t *testing.T) {
	var b codec.BatchWriter
	b.Add(1, 1000, 1, []byte("dropped"))
	b.Reset(0)
	b.Add(1, 1001, 2, []byte("kept"))
	checkFrame(t, b.Seal(), packet(1001, 2, []byte("kept")), 1)
}

// The WS header grows from 2 to 4 to 10 bytes; the reserve in front of the
// packets must fit each size exactly, so test either side of each boundary.
func TestBatchWriterWSHeaderSizes(t *testing.T) {
	// One packet of body n gives a WS payload (the op-9 packet) of 32+n bytes.
	tests := []struct {
		wsPayload int
		wantHdr   int
	}{
		{32, 2}, {125, 2}, {126, 4}, {127, 4}, {65535, 4}, {65536, 10}, {65537, 10}, {1 << 20, 10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.wsPayload), func(t *testing.T) {
			body := make([]byte, tt.wsPayload-2*codec.HeaderLen)
			for i := range body {
				body[i] = byte(i)
			}
			f := codec.SinglePacketFrame(codec.DefaultVer, 1000, 0, body)
			if got := len(f.WS) - tt.wsPayload; got != tt.wantHdr {
				t.Fatalf("WS header %d bytes, want %d", got, tt.wantHdr)
			}
			checkFrame(t, f, packet(1000, 0, body), 1)
		})
	}
}

func TestSealedFrameIsImmutable(t *testing.T) {
	var b codec.BatchWriter
	b.Reset(0)
	b.Add(1, 1000, 0, []byte("first"))
	b.Add(1, 1000, 0, []byte("second"))
	f := b.Seal()
	tcp, ws := slices.Clone(f.TCP), slices.Clone(f.WS)

	if again := b.Seal(); again.TCP != nil || again.WS != nil || again.Count != 0 {
		t.Fatalf("second Seal = %+v, want the zero Frame", again)
	}
	// Reusing the writer, with or without Reset, must not touch the sealed frame.
	b.Add(1, 1001, 9, bytes.Repeat([]byte("x"), 10))
	g := b.Seal()
	b.Reset(1 << 10)
	b.Add(1, 1002, 9, bytes.Repeat([]byte("y"), 10))
	b.Seal()
	// A reader appending to one slice must not change the other.
	_ = append(f.TCP, "garbage"...)
	_ = append(f.WS, "garbage"...)

	if !bytes.Equal(f.TCP, tcp) || !bytes.Equal(f.WS, ws) {
		t.Fatal("sealed frame changed after the writer was reused")
	}
	checkFrame(t, f, tcp, 2)
	checkFrame(t, g, packet(1001, 9, bytes.Repeat([]byte("x"), 10)), 1)
}

func TestSinglePacketFrame(t *testing.T) {
	// goim's bytes for a key push of {"seq":3,"ts":0} (shared/goim-vectors.json,
	// tcp_push_keys and ws_push_keys), kept here so the test runs without shared/.
	const (
		wantTCP = "0000002000100001000003e8000000007b22736571223a332c227473223a307d"
		wantWS  = "8230000000300010000100000009000000000000002000100001000003e8000000007b22736571223a332c227473223a307d"
	)
	f := codec.SinglePacketFrame(codec.DefaultVer, 1000, 0, []byte(`{"seq":3,"ts":0}`))
	if hex.EncodeToString(f.TCP) != wantTCP || hex.EncodeToString(f.WS) != wantWS || f.Count != 1 {
		t.Fatalf("SinglePacketFrame = TCP %x WS %x Count %d", f.TCP, f.WS, f.Count)
	}
}

// A batch must cost a constant number of allocations, not one per message.
func TestBatchWriterAllocsPerBatch(t *testing.T) {
	body := make([]byte, 100)
	var b codec.BatchWriter
	allocs := testing.AllocsPerRun(100, func() {
		b.Reset(20 * (codec.HeaderLen + len(body)))
		for range 20 {
			b.Add(codec.DefaultVer, 1000, 0, body)
		}
		_ = b.Seal()
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per 20-message batch, want 1", allocs)
	}
}
