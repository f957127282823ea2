package codec_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/barrage/barrage/codec"
)

// Seeds are copied from shared/goim-vectors.json so the fuzz targets do not need
// shared/ to run.
var (
	seedPacketHex = []string{
		"0000006b0010000100000007000000017b226d6964223a3132332c226b6579223a226b313233222c22726f6f6d5f6964223a226c6976653a2f2f31303030222c22706c6174666f726d223a22616e64726f6964222c2261636365707473223a5b313030302c313030315d7d", // tcp_auth
		"0000001b001000010000000c000000036c6976653a2f2f32303030",                                                                           // tcp_change_room_to_2000
		"00000014001000010000000e0000000631303032",                                                                                         // tcp_sub
		"0000001000100001000000020000000a0000001000100001000000020000000b0000001000100001000000020000000c",                                 // pipelined heartbeats
		"0000002000100001000003e8000000007b22736571223a312c227473223a307d0000002000100001000003e8000000007b22736571223a322c227473223a307d", // room push, two
		"0000001400140001000000020000000200000000",                                                                                         // headerLen 20
		"00001011001000010000000200000003",                                                                                                 // packLen 4113, header only
		"00000000001000010000000200000004",                                                                                                 // packLen 0
	}
	seedWSHex = []string{
		"829037fa213d37fa212d37ea213c37fa213f37fa213f",                       // ws_heartbeat (client)
		"829b37fa213d37fa212637ea213c37fa213137fa213e5b9357580dd50e0f07ca11", // ws_change_room (client)
		"898237fa213d5f93829037fa213d37fa212d37ea213c37fa213f37fa213e",       // ping then heartbeat (client)
		"888237fa213d3412", // close (client)
		"8a02686982140000001400100001000000030000000300000002", // pong + heartbeat reply (server)
		"8250000000500010000100000009000000000000002000100001000003e8000000007b22736571223a312c227473223a307d" + // room push (server)
			"0000002000100001000003e8000000007b22736571223a322c227473223a307d",
	}
)

func seedBytes(f *testing.F, hexes []string) [][]byte {
	var out [][]byte
	for _, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			f.Fatalf("bad seed %q: %v", h, err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, b := range seedBytes(f, seedPacketHex) {
		f.Add(b, 0)
		f.Add(b, 4)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxBody int) {
		limit := maxBody
		if limit <= 0 {
			limit = codec.DefaultMaxBody
		}
		rest, count := data, 0
		for len(rest) > 0 {
			p, n, err := codec.Decode(rest, maxBody)
			if err != nil || n == 0 {
				if n != 0 {
					t.Fatalf("n = %d with error %v", n, err)
				}
				break
			}
			if n < codec.HeaderLen || n > len(rest) || uint64(len(p.Body)) > uint64(limit) || p.Len() != n {
				t.Fatalf("n %d, body %d, buffer %d, limit %d", n, len(p.Body), len(rest), limit)
			}
			if re := codec.AppendPacket(nil, p.Ver, p.Op, p.Seq, p.Body); !bytes.Equal(re, rest[:n]) {
				t.Fatalf("re-encoded %x, decoded from %x", re, rest[:n])
			}
			rest = rest[n:]
			count++
		}
		// Packets must agree with the loop: success exactly when everything decoded.
		seen := 0
		err := codec.Packets(data, maxBody, func(codec.Packet) error { seen++; return nil })
		if (err == nil) != (len(rest) == 0) || seen != count {
			t.Fatalf("Packets saw %d packets, err %v; loop decoded %d, %d bytes left", seen, err, count, len(rest))
		}
	})
}

func FuzzDecodeWSFrame(f *testing.F) {
	for _, b := range seedBytes(f, seedWSHex) {
		f.Add(b, true, 4096)
		f.Add(b, false, 4096)
	}
	f.Fuzz(func(t *testing.T, data []byte, fromClient bool, maxPayload int) {
		rest := data
		for len(rest) > 0 {
			fr, err := codec.DecodeWSFrame(rest, maxPayload, fromClient)
			if fr.Total > len(rest) || fr.Total < 0 {
				t.Fatalf("Total %d outside the %d-byte buffer", fr.Total, len(rest))
			}
			if err != nil || fr.Total == 0 {
				if err != nil && fr.Total != 0 {
					t.Fatalf("Total %d with error %v", fr.Total, err)
				}
				return
			}
			if fr.PayloadStart < 2 || fr.PayloadStart > fr.Total || fr.Masked != fromClient {
				t.Fatalf("frame %+v from client %v", fr, fromClient)
			}
			// Lengths are minimally encoded, so re-encoding the header gives its bytes.
			hdr := codec.AppendWSHeader(nil, fr.Opcode, fr.Fin, fr.PayloadLen())
			if fr.Masked {
				hdr[1] |= 0x80
				hdr = append(hdr, fr.Mask[:]...)
			}
			if !bytes.Equal(hdr, rest[:fr.PayloadStart]) {
				t.Fatalf("re-encoded header %x, decoded from %x", hdr, rest[:fr.PayloadStart])
			}
			// Every prefix of a whole frame is "need more bytes", never an error.
			if p, err := codec.DecodeWSFrame(rest[:fr.Total-1], maxPayload, fromClient); p.Total != 0 || err != nil {
				t.Fatalf("prefix of a valid frame: Total %d, err %v", p.Total, err)
			}
			payload := bytes.Clone(rest[fr.PayloadStart:fr.Total])
			codec.Unmask(payload, fr.Mask)
			if fr.Opcode == codec.WSOpClose {
				_, _, _ = codec.WSClosePayload(payload)
			}
			rest = rest[fr.Total:]
		}
	})
}

// forEachOpReference is ForEachOp written the obvious, allocating way.
func forEachOpReference(body string) (ops []int32, ok bool) {
	for _, item := range strings.Split(body, ",") {
		item = strings.Trim(item, " \t")
		if item == "" {
			continue
		}
		v, err := strconv.ParseInt(item, 10, 32)
		if err != nil {
			return ops, false
		}
		ops = append(ops, int32(v))
	}
	return ops, true
}

func FuzzForEachOp(f *testing.F) {
	for _, s := range []string{"1002", "1000,1001", " 1002 ", "1000,,abc", "-2147483648,2147483647", "2147483648", "+7", "00001000"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []int32
		err := codec.ForEachOp(body, func(op int32) { got = append(got, op) })
		want, ok := forEachOpReference(string(body))
		if !reflect.DeepEqual(got, want) || (err == nil) != ok {
			t.Fatalf("ForEachOp(%q) = %v, %v; reference %v, ok %v", body, got, err, want, ok)
		}
		if err != nil {
			return
		}
		var back []int32
		if err := codec.ForEachOp(codec.AppendOps(nil, got), func(op int32) { back = append(back, op) }); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("ForEachOp(AppendOps(%v)) = %v, %v", got, back, err)
		}
	})
}

func FuzzDecodeAuth(f *testing.F) {
	f.Add([]byte(goimAuthBody))
	f.Add([]byte(`{"mid":1,"key":"","room_id":"live://1","platform":"web","accepts":[],"token":"a.b.c"}`))
	f.Add([]byte(`{"mid":"1"}`))
	f.Add([]byte(`{"accepts":[2147483648]}`))
	f.Add([]byte(`{"key":"\u00e9\ud800"}`))
	f.Add([]byte("{\"key\":\"\xff\xfe\"}")) // raw invalid UTF-8 becomes U+FFFD
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := codec.DecodeAuth(body)
		if err != nil {
			if !errors.Is(err, codec.ErrAuthBody) {
				t.Fatalf("error %v does not wrap ErrAuthBody", err)
			}
			return
		}
		enc, err := codec.EncodeAuth(a)
		if err != nil {
			t.Fatalf("EncodeAuth(%+v): %v", a, err)
		}
		back, err := codec.DecodeAuth(enc)
		if err != nil || !authEqual(back, a) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", body, back, err, a)
		}
	})
}
