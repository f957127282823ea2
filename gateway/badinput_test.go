package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/barrage/barrage/codec"
)

// Each case sends bad bytes on an otherwise healthy gateway; the offender must
// be closed (WebSocket with the right close code), the reason counted, and a
// bystander connection must keep working.
func TestBadInputClosesOnlyTheOffender(t *testing.T) {
	heartbeat := codec.AppendPacket(nil, 1, codec.OpHeartbeat, 2, nil)
	withLen := func(packLen uint32, headerLen uint16) []byte {
		b := codec.AppendPacket(nil, 1, codec.OpHeartbeat, 2, nil)
		binary.BigEndian.PutUint32(b[0:4], packLen)
		binary.BigEndian.PutUint16(b[4:6], headerLen)
		return b
	}
	big := codec.AppendPacket(nil, 1, codec.OpHeartbeat, 3, make([]byte, 4097))
	cases := []struct {
		name   string
		ws     bool
		authed bool
		send   []byte // for ws: raw bytes after the upgrade
		reason string
		code   uint16 // expected WebSocket close code
	}{
		{"tcp packLen 0", false, true, withLen(0, 16), reasonBadPackLenSmall, 0},
		{"tcp packLen 15", false, false, withLen(15, 16), reasonBadPackLenSmall, 0},
		{"tcp packLen over limit, header only", false, true, unhex(t, "00001011001000010000000200000003"), reasonBadPackLenLarge, 0},
		{"tcp body over limit", false, true, big, reasonBadPackLenLarge, 0},
		{"tcp headerLen 20 after auth", false, true, unhex(t, "0000001400140001000000020000000200000000"), reasonBadHeaderLen, 0},
		{"tcp headerLen 20 as auth", false, false, unhex(t, "0000006f001400010000000700000001000000007b226d6964223a3132337d"), reasonBadHeaderLen, 0},
		{"tcp op 4 before auth", false, false, unhex(t, "0000001500100001000000040000000168656c6c6f"), reasonBadNotAuthed, 0},
		{"tcp heartbeat before auth", false, false, heartbeat, reasonBadNotAuthed, 0},
		{"tcp plain HTTP", false, false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), reasonBadHeaderLen, 0},
		{"tcp garbage", false, false, bytes.Repeat([]byte{0xff}, 64), reasonBadHeaderLen, 0},
		{"tcp auth twice", false, true, codec.AppendPacket(nil, 1, codec.OpAuth, 9, authBody(1, "x", "")), reasonBadReauth, 0},
		{"tcp bad op list", false, true, codec.AppendPacket(nil, 1, codec.OpSub, 9, []byte("10,abc")), reasonBadOpList, 0},
		{"tcp too many ops", false, true, codec.AppendPacket(nil, 1, codec.OpSub, 9, manyOps(65)), reasonBadOpList, 0},
		{"tcp bad room", false, true, codec.AppendPacket(nil, 1, codec.OpChangeRoom, 9, []byte("live://a b")), reasonBadRoom, 0},
		{"ws unmasked frame", true, false, codec.AppendWSFrame(nil, codec.WSOpBinary, heartbeat), reasonBadWSUnmasked, codec.WSCloseProtocolError},
		{"ws oversized frame", true, true, codec.AppendWSClientFrame(nil, codec.WSOpBinary, make([]byte, 5000), testMask), reasonBadWSTooLarge, codec.WSCloseTooBig},
		{"ws unknown opcode", true, false, []byte{0x83, 0x80, 1, 2, 3, 4}, reasonBadWSOpcode, codec.WSCloseProtocolError},
		{"ws reserved bits", true, false, []byte{0xc2, 0x80, 1, 2, 3, 4}, reasonBadWSProtocol, codec.WSCloseProtocolError},
		{"ws stray continuation", true, true, codec.AppendWSClientFrame(nil, codec.WSOpContinuation, heartbeat, testMask), reasonBadWSFragmented, codec.WSCloseProtocolError},
		{"ws new message inside a fragmented one", true, true, append(clearFin(codec.AppendWSClientFrame(nil, codec.WSOpBinary, heartbeat[:8], testMask)), codec.AppendWSClientFrame(nil, codec.WSOpBinary, heartbeat, testMask)...), reasonBadWSFragmented, codec.WSCloseProtocolError},
		{"ws fragmented message over the limit", true, true, append(clearFin(codec.AppendWSClientFrame(nil, codec.WSOpBinary, make([]byte, 3000), testMask)), codec.AppendWSClientFrame(nil, codec.WSOpContinuation, make([]byte, 3000), testMask)...), reasonBadWSTooLarge, codec.WSCloseTooBig},
		{"ws packet before auth", true, false, codec.AppendWSClientFrame(nil, codec.WSOpBinary, heartbeat, testMask), reasonBadNotAuthed, codec.WSClosePolicyViolation},
		{"ws truncated packet in frame", true, true, codec.AppendWSClientFrame(nil, codec.WSOpBinary, heartbeat[:10], testMask), reasonBadWSTruncated, codec.WSCloseProtocolError},
		{"ws bad headerLen in frame", true, true, codec.AppendWSClientFrame(nil, codec.WSOpBinary, withLen(16, 20), testMask), reasonBadHeaderLen, codec.WSCloseProtocolError},
	}
	g := startGateway(t, nil, nil)
	bystander := dialRaw(t, g.tcp)
	bystander.auth(1, "bystander", "live://1000")
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(g.metrics.closes.WithLabelValues(tc.reason))
			var c *rawConn
			if tc.ws {
				c = wsUpgrade(t, g.ws)
				if tc.authed {
					c.sendWS(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(2, "ws"+string(rune('a'+i)), "")))
					if op, _ := c.wsFrame(3 * time.Second); op != codec.WSOpBinary {
						t.Fatal("no auth reply")
					}
				}
			} else {
				c = dialRaw(t, g.tcp)
				if tc.authed {
					c.auth(2, "tcp"+string(rune('a'+i)), "")
				}
			}
			c.send(tc.send)
			rest := c.expectClosed(3 * time.Second)
			if tc.ws {
				if len(rest) < 4 || rest[0] != 0x88 {
					t.Fatalf("want a close frame, got %x", rest)
				}
				if code := binary.BigEndian.Uint16(rest[2:4]); code != tc.code {
					t.Fatalf("close code %d want %d (frame %q)", code, tc.code, rest)
				}
			} else if len(rest) != 0 {
				t.Fatalf("unexpected bytes before close: %x", rest)
			}
			waitFor(t, time.Second, "close counted", func() bool {
				return testutil.ToFloat64(g.metrics.closes.WithLabelValues(tc.reason)) == before+1
			})
			// The bystander is unaffected.
			bystander.send(codec.AppendPacket(nil, 1, codec.OpHeartbeat, int32(100+i), nil))
			if p := bystander.packet(3 * time.Second); p.Op != codec.OpHeartbeatReply || p.Seq != int32(100+i) {
				t.Fatalf("bystander got op %d seq %d", p.Op, p.Seq)
			}
		})
	}
}

// A connection whose token pins a room may leave it and come back; naming any
// other room in op 12 or op 18 closes it with bad_room_not_allowed (WebSocket:
// 1008), and an unpinned connection moves freely. Each case authenticates into
// its own room R and sends its requests in order; "R" stands for that room.
func TestPinnedRoomRefusesOtherRooms(t *testing.T) {
	g := startGateway(t, nil, nil)
	type req struct {
		op   int32
		room string
	}
	cases := []struct {
		name    string
		ws      bool
		key     string
		reqs    []req
		closed  bool
		inR     int32 // members of R afterwards, when not closed
		inOther int32 // members of live://2 afterwards, when not closed
	}{
		{"tcp pinned change elsewhere", false, "pin-a", []req{{codec.OpChangeRoom, "live://2"}}, true, 0, 0},
		{"tcp pinned join elsewhere", false, "pin-b", []req{{codec.OpJoinRoom, "live://2"}}, true, 0, 0},
		{"ws pinned change elsewhere", true, "pin-c", []req{{codec.OpChangeRoom, "live://2"}}, true, 0, 0},
		{"ws pinned join elsewhere", true, "pin-d", []req{{codec.OpJoinRoom, "live://2"}}, true, 0, 0},
		{"tcp pinned leave all", false, "pin-e", []req{{codec.OpChangeRoom, ""}}, false, 0, 0},
		{"tcp pinned leave then rejoin", false, "pin-f", []req{{codec.OpChangeRoom, ""}, {codec.OpChangeRoom, "R"}}, false, 1, 0},
		{"tcp pinned leave, rejoin with op 18", false, "pin-g", []req{{codec.OpLeaveRoom, "R"}, {codec.OpJoinRoom, "R"}}, false, 1, 0},
		{"tcp pinned leave then go elsewhere", false, "pin-h", []req{{codec.OpChangeRoom, ""}, {codec.OpChangeRoom, "live://2"}}, true, 0, 0},
		{"tcp unpinned change", false, "free-a", []req{{codec.OpChangeRoom, "live://2"}}, false, 0, 1},
		{"ws unpinned join", true, "free-b", []req{{codec.OpJoinRoom, "live://2"}}, false, 1, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			room := fmt.Sprintf("live://pin-%d", i)
			before := testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonBadRoomPinned))
			var c *rawConn
			if tc.ws {
				c = wsUpgrade(t, g.ws)
				c.sendWS(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(2, tc.key, room)))
				if op, _ := c.wsFrame(3 * time.Second); op != codec.WSOpBinary {
					t.Fatal("no auth reply")
				}
			} else {
				c = dialRaw(t, g.tcp)
				c.auth(2, tc.key, room)
			}
			for j, r := range tc.reqs {
				target := r.room
				if target == "R" {
					target = room
				}
				pkt := codec.AppendPacket(nil, 1, r.op, int32(10+j), []byte(target))
				if tc.ws {
					c.sendWS(codec.WSOpBinary, pkt)
				} else {
					c.send(pkt)
				}
				if tc.closed && j == len(tc.reqs)-1 {
					break // the last request is the refused one
				}
				var p codec.Packet
				if tc.ws {
					_, payload := c.wsFrame(3 * time.Second)
					p, _, _ = codec.Decode(payload, 4096)
				} else {
					p = c.packet(3 * time.Second)
				}
				if p.Op != codec.ReplyOp(r.op) || p.Seq != int32(10+j) {
					t.Fatalf("request %d: got op %d seq %d, want the op-%d reply", j, p.Op, p.Seq, codec.ReplyOp(r.op))
				}
			}
			online := func(id string) int32 {
				if r := g.table.Room(id); r != nil {
					return r.Online()
				}
				return 0
			}
			if !tc.closed {
				if got := online(room); got != tc.inR {
					t.Fatalf("%s has %d members, want %d", room, got, tc.inR)
				}
				if got := online("live://2"); got != tc.inOther {
					t.Fatalf("live://2 has %d members, want %d", got, tc.inOther)
				}
				return
			}
			rest := c.expectClosed(3 * time.Second)
			if tc.ws {
				if len(rest) < 4 || rest[0] != 0x88 || binary.BigEndian.Uint16(rest[2:4]) != codec.WSClosePolicyViolation {
					t.Fatalf("want a 1008 close frame, got %x", rest)
				}
			}
			waitFor(t, time.Second, "close counted", func() bool {
				return testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonBadRoomPinned)) == before+1
			})
		})
	}
}

// A logic that pins a room the gateway cannot join (invalid id, or no room at
// all) must not leave the connection free to roam: the auth is refused.
func TestPinnedInvalidRoomRefusesAuth(t *testing.T) {
	g := startGateway(t, nil, nil)
	for _, room := range []string{"live://a b", ""} {
		before := testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonAuthRejected))
		c := dialRaw(t, g.tcp)
		c.send(codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(3, "pin-bad", room)))
		if rest := c.expectClosed(3 * time.Second); len(rest) != 0 {
			t.Fatalf("room %q: got %x before close, want no auth reply", room, rest)
		}
		waitFor(t, time.Second, "auth rejection counted", func() bool {
			return testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonAuthRejected)) == before+1
		})
	}
}

func clearFin(frame []byte) []byte {
	frame[0] &^= 0x80
	return frame
}

func TestWebSocketRejectsNonUpgradeRequests(t *testing.T) {
	g := startGateway(t, nil, nil)
	cases := []struct {
		name, req, status string
	}{
		{"plain GET", "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"wrong path", strings.Replace(string(unhex(t, vectorUpgrade)), "/sub", "/other", 1), "HTTP/1.1 404"},
		{"POST", strings.Replace(string(unhex(t, vectorUpgrade)), "GET", "POST", 1), "HTTP/1.1 405"},
		{"not HTTP", "\x00\x00\x00\x10\x00\x10\x00\x01\x00\x00\x00\x07\x00\x00\x00\x01\r\n\r\n", "HTTP/1.1 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.ws)
			c.send([]byte(tc.req))
			got := c.expectClosed(3 * time.Second)
			if !strings.HasPrefix(string(got), tc.status) {
				t.Fatalf("got %q, want status %q", got, tc.status)
			}
		})
	}
}

func manyOps(n int) []byte {
	ops := make([]int32, n)
	for i := range ops {
		ops[i] = int32(1000 + i)
	}
	return codec.AppendOps(nil, ops)
}

// A client that sends requests but never reads the replies is bounded like a
// slow push consumer.
func TestUnreadRepliesCloseTheConnection(t *testing.T) {
	g := startGateway(t, func(c *Config) { c.MaxPendingBytes = 64 << 10 }, nil)
	c := dialRaw(t, g.tcp)
	_ = c.Conn.(*net.TCPConn).SetReadBuffer(4096)
	c.auth(1, "greedy", "")
	burst := bytes.Repeat(codec.AppendPacket(nil, 1, codec.OpHeartbeat, 1, nil), 4096)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonSlowConsumer)) == 1 {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(burst); err != nil {
			break // the server reset the connection
		}
	}
	waitFor(t, 2*time.Second, "reply backlog counted as slow consumer", func() bool {
		return testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonSlowConsumer)) == 1
	})
}
