package codec_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/barrage/barrage/codec"
)

// The goim captures live in shared/, beside the repository (../../shared from this
// directory) or at /work/shared on the development box.
var vectorPaths = []string{
	filepath.Join("..", "..", "shared", "goim-vectors.json"),
	"/work/shared/goim-vectors.json",
}

type vectorFile struct {
	Source string       `json:"source"`
	Cases  []vectorCase `json:"cases"`
}

type vectorCase struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	ClientHex string `json:"client_hex"`
	ServerHex string `json:"server_hex"`
	Notes     string `json:"notes"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	for _, p := range vectorPaths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		var v vectorFile
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("parsing %s: %v", p, err)
		}
		if len(v.Cases) == 0 {
			t.Fatalf("%s holds no cases", p)
		}
		return v
	}
	t.Skipf("goim-vectors.json not found (looked in %s): shared/ must sit beside the repository", strings.Join(vectorPaths, ", "))
	return vectorFile{}
}

func mustHex(t *testing.T, what, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s is not hex: %v", what, err)
	}
	return b
}

// wantPacket is a header (and body) a client packet in a capture must decode to.
type wantPacket struct {
	op, seq int32
	body    string
}

const goimAuthBody = `{"mid":123,"key":"k123","room_id":"live://1000","platform":"android","accepts":[1000,1001]}`

func heartbeats(firstSeq, n int32) []wantPacket {
	ps := make([]wantPacket, n)
	for i := range ps {
		ps[i] = wantPacket{op: codec.OpHeartbeat, seq: firstSeq + int32(i)}
	}
	return ps
}

// tcpExpect says what each TCP request capture must decode to. Every TCP case with
// client bytes needs an entry, so a new capture cannot pass unexamined.
type tcpExpect struct {
	packets []wantPacket
	// err is the decoding error Barrage returns for the capture's first packet.
	err error
	// online is the room count the capture's heartbeat replies carry.
	online int32
	// notAuthed: the capture starts before auth; goim answers nothing but op 7 then.
	notAuthed bool
	// extraClientInNotes: more client bytes were sent later and are quoted in the notes.
	extraClientInNotes bool
	// goimClosedEarly: goim closed the connection after a prefix of the replies
	// (its ring-buffer bug), so server_hex need only be a prefix of the replies.
	goimClosedEarly bool
}

var tcpExpects = map[string]tcpExpect{
	"tcp_auth":                     {packets: []wantPacket{{codec.OpAuth, 1, goimAuthBody}}},
	"tcp_heartbeat":                {packets: heartbeats(2, 1), online: 1},
	"tcp_change_room_to_2000":      {packets: []wantPacket{{codec.OpChangeRoom, 3, "live://2000"}}},
	"tcp_heartbeat_in_room_2000":   {packets: heartbeats(4, 1), online: 1},
	"tcp_change_room_back_to_1000": {packets: []wantPacket{{codec.OpChangeRoom, 5, "live://1000"}}},
	"tcp_sub":                      {packets: []wantPacket{{codec.OpSub, 6, "1002"}}},
	"tcp_unsub":                    {packets: []wantPacket{{codec.OpUnsub, 7, "1002"}}},
	"tcp_send_msg_op4":             {packets: []wantPacket{{codec.OpSendMsg, 8, "hello"}}},
	"tcp_heartbeat_later":          {packets: heartbeats(9, 1), online: 1},
	"tcp_headerlen20_after_auth":   {err: codec.ErrHeaderLen},
	"tcp_headerlen20_as_auth":      {err: codec.ErrHeaderLen},
	"tcp_packlen_4112_heartbeat": {
		packets: []wantPacket{{codec.OpHeartbeat, 2, strings.Repeat("\x00", codec.DefaultMaxBody)}},
		online:  1,
	},
	"tcp_packlen_4113_heartbeat":   {err: codec.ErrPackLenTooLarge},
	"tcp_packlen_4113_header_only": {err: codec.ErrPackLenTooLarge},
	// goim answers packLen 0 as a bodyless packet; Barrage rejects it on purpose.
	"tcp_packlen_0_heartbeat": {err: codec.ErrPackLenTooSmall},
	"tcp_op4_before_auth": {
		packets:            []wantPacket{{codec.OpSendMsg, 1, "hello"}, {codec.OpAuth, 2, goimAuthBody}},
		notAuthed:          true,
		extraClientInNotes: true,
	},
	"tcp_pipelined_4_heartbeats":  {packets: heartbeats(10, 4), online: 1},
	"tcp_pipelined_7_heartbeats":  {packets: heartbeats(10, 7), online: 1},
	"tcp_pipelined_8_heartbeats":  {packets: heartbeats(10, 8), online: 1, goimClosedEarly: true},
	"tcp_pipelined_9_heartbeats":  {packets: heartbeats(10, 9), online: 1, goimClosedEarly: true},
	"tcp_pipelined_16_heartbeats": {packets: heartbeats(10, 16), online: 1, goimClosedEarly: true},
	"tcp_auth_plus_8_heartbeats_one_write": {
		packets:         append([]wantPacket{{codec.OpAuth, 1, goimAuthBody}}, heartbeats(10, 8)...),
		online:          1,
		goimClosedEarly: true,
	},
}

// pushExpect describes a capture of a push: the messages pushed (op, bodies in order)
// and whether the gateway batches it (room pushes) or frames it alone.
type pushExpect struct {
	op      int32
	bodies  []string
	batched bool
}

var pushExpects = map[string]pushExpect{
	"tcp_room_push_single":          {1000, []string{`{"seq":1,"ts":0}`}, true},
	"tcp_room_push_two_batched":     {1000, []string{`{"seq":1,"ts":0}`, `{"seq":2,"ts":0}`}, true},
	"tcp_push_keys":                 {1000, []string{`{"seq":3,"ts":0}`}, false},
	"tcp_push_mids":                 {1000, []string{`{"seq":4,"ts":0}`}, false},
	"tcp_push_all":                  {1000, []string{`{"seq":5,"ts":0}`}, false},
	"tcp_room_push_op_not_accepted": {1005, []string{`{"seq":7,"ts":0}`}, true},
	"ws_room_push_single":           {1000, []string{`{"seq":1,"ts":0}`}, true},
	"ws_room_push_two_batched":      {1000, []string{`{"seq":1,"ts":0}`, `{"seq":2,"ts":0}`}, true},
	"ws_push_keys":                  {1000, []string{`{"seq":3,"ts":0}`}, false},
	"ws_push_mids":                  {1000, []string{`{"seq":4,"ts":0}`}, false},
	"ws_push_all":                   {1000, []string{`{"seq":5,"ts":0}`}, false},
}

// wsFrameWant is one client frame of a WebSocket capture.
type wsFrameWant struct {
	opcode  byte
	payload string // hex of the unmasked payload; "" means take it from the notes
	packet  *wantPacket
}

type wsExpect struct {
	frames []wsFrameWant
	online int32
	// closeCode is checked when a frame is a close frame.
	closeCode uint16
}

var wsExpects = map[string]wsExpect{
	"ws_auth": {frames: []wsFrameWant{{opcode: codec.WSOpBinary, packet: &wantPacket{codec.OpAuth, 1, goimAuthBody}}}},
	"ws_heartbeat": {
		frames: []wsFrameWant{{opcode: codec.WSOpBinary, packet: &wantPacket{op: codec.OpHeartbeat, seq: 2}}},
		online: 1,
	},
	"ws_change_room": {frames: []wsFrameWant{{opcode: codec.WSOpBinary, packet: &wantPacket{codec.OpChangeRoom, 3, "live://2000"}}}},
	"ws_ping_then_heartbeat": {
		frames: []wsFrameWant{
			{opcode: codec.WSOpPing, payload: hex.EncodeToString([]byte("hi"))},
			{opcode: codec.WSOpBinary, payload: "00000010001000010000000200000003", packet: &wantPacket{op: codec.OpHeartbeat, seq: 3}},
		},
		online: 2, // goim's aggregated count was stale in this capture
	},
	"ws_close_frame": {frames: []wsFrameWant{{opcode: codec.WSOpClose, payload: "03e8"}}, closeCode: codec.WSCloseNormal},
}

// Cases with nothing for the codec to check, and why.
var skippedVectors = map[string]string{
	"tcp_push_keys_op_not_accepted": "nothing was delivered: accepts filtering is the gateway's job",
	"tcp_silent_before_auth":        "timing only (handshake timeout)",
	"tcp_silent_after_auth":         "timing only (heartbeat timeout)",
	"ws_silent_before_upgrade":      "timing only (handshake timeout)",
	"ws_upgrade":                    "HTTP upgrade handshake, tested by the gateway",
}

func TestGoimVectors(t *testing.T) {
	v := loadVectors(t)
	seen := map[string]bool{}
	for _, c := range v.Cases {
		seen[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			if c.Transport == "http" {
				t.Skip("HTTP push API cases are tested by the push API package")
			}
			if why, ok := skippedVectors[c.Name]; ok {
				t.Skip(why)
			}
			if pe, ok := pushExpects[c.Name]; ok {
				checkPushVector(t, c, pe)
				return
			}
			switch c.Transport {
			case "tcp":
				if c.ClientHex == "" {
					checkServerOnlyVector(t, c)
					return
				}
				te, ok := tcpExpects[c.Name]
				if !ok {
					t.Fatalf("no expectation for TCP case %q: add it to tcpExpects", c.Name)
				}
				checkTCPVector(t, c, te)
			case "ws":
				we, ok := wsExpects[c.Name]
				if !ok {
					t.Fatalf("no expectation for WebSocket case %q: add it to wsExpects", c.Name)
				}
				checkWSVector(t, c, we)
			default:
				t.Fatalf("unknown transport %q", c.Transport)
			}
		})
	}
	// A renamed capture must not silently drop its checks.
	for _, m := range []map[string]bool{keysOf(tcpExpects), keysOf(pushExpects), keysOf(wsExpects)} {
		for name := range m {
			if !seen[name] {
				t.Errorf("expectation for %q matches no case in the vector file", name)
			}
		}
	}
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

var notesClientBytes = regexp.MustCompile(`client bytes ([0-9a-f]+)`)

func checkTCPVector(t *testing.T, c vectorCase, te tcpExpect) {
	client := mustHex(t, "client_hex", c.ClientHex)
	if te.extraClientInNotes {
		m := notesClientBytes.FindStringSubmatch(c.Notes)
		if m == nil {
			t.Fatal("notes quote no further client bytes")
		}
		client = append(client, mustHex(t, "client bytes in notes", m[1])...)
	}

	if te.err != nil {
		_, n, err := codec.Decode(client, codec.DefaultMaxBody)
		if !errors.Is(err, te.err) || n != 0 {
			t.Fatalf("Decode = n %d, err %v; want n 0, err %v", n, err, te.err)
		}
		// The limits are checked on the header alone: the header by itself must
		// already be rejected.
		if _, _, err := codec.Decode(client[:codec.HeaderLen], codec.DefaultMaxBody); !errors.Is(err, te.err) {
			t.Fatalf("Decode of the header alone: err %v, want %v", err, te.err)
		}
		return
	}

	var replies []byte
	authed := !te.notAuthed
	i := 0
	for rest := client; len(rest) > 0; i++ {
		p, n, err := codec.Decode(rest, codec.DefaultMaxBody)
		if err != nil || n == 0 {
			t.Fatalf("packet %d: Decode = n %d, err %v", i, n, err)
		}
		if i >= len(te.packets) {
			t.Fatalf("more than the %d expected packets", len(te.packets))
		}
		checkPacket(t, i, p, te.packets[i])
		if !bytes.Equal(codec.AppendPacket(nil, p.Ver, p.Op, p.Seq, p.Body), rest[:n]) {
			t.Fatalf("packet %d does not re-encode to its bytes", i)
		}
		checkRequestBody(t, p)
		replies = appendReply(replies, p, te.online, &authed)
		rest = rest[n:]
	}
	if i != len(te.packets) {
		t.Fatalf("decoded %d packets, want %d", i, len(te.packets))
	}

	server := mustHex(t, "server_hex", c.ServerHex)
	if te.goimClosedEarly {
		if !bytes.HasPrefix(replies, server) || !packetAligned(t, server) {
			t.Fatalf("goim's replies are not a prefix of ours\n got %x\ngoim %x", replies, server)
		}
		if len(server) < len(replies) {
			t.Logf("goim sent %d of %d reply bytes before closing (its ring-buffer limit)", len(server), len(replies))
		}
		return
	}
	if !bytes.Equal(replies, server) {
		t.Fatalf("replies differ from goim's\n got %x\nwant %x", replies, server)
	}
}

func checkPacket(t *testing.T, i int, p codec.Packet, w wantPacket) {
	t.Helper()
	if p.Ver != codec.DefaultVer || p.Op != w.op || p.Seq != w.seq || string(p.Body) != w.body {
		t.Fatalf("packet %d = ver %d op %d seq %d body %q; want ver %d op %d seq %d body %q",
			i, p.Ver, p.Op, p.Seq, truncate(p.Body), codec.DefaultVer, w.op, w.seq, truncate([]byte(w.body)))
	}
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// checkRequestBody parses the bodies the gateway parses, so the captured goim
// bodies are known to be understood.
func checkRequestBody(t *testing.T, p codec.Packet) {
	t.Helper()
	switch p.Op {
	case codec.OpAuth:
		a, err := codec.DecodeAuth(p.Body)
		if err != nil {
			t.Fatalf("DecodeAuth: %v", err)
		}
		want := codec.AuthBody{Mid: 123, Key: "k123", RoomID: "live://1000", Platform: "android", Accepts: []int32{1000, 1001}}
		if a.Mid != want.Mid || a.Key != want.Key || a.RoomID != want.RoomID || a.Platform != want.Platform ||
			!slices.Equal(a.Accepts, want.Accepts) || a.Token != "" {
			t.Fatalf("DecodeAuth = %+v, want %+v", a, want)
		}
	case codec.OpSub, codec.OpUnsub:
		var ops []int32
		if err := codec.ForEachOp(p.Body, func(op int32) { ops = append(ops, op) }); err != nil {
			t.Fatalf("ForEachOp: %v", err)
		}
		if !slices.Equal(ops, []int32{1002}) {
			t.Fatalf("ForEachOp gave %v, want [1002]", ops)
		}
	}
}

// appendReply appends what the gateway answers to p, following goim: auth gets an
// empty op 8; before auth nothing else is answered; heartbeats get the online
// count; ops 12/14/16 echo the body under the reply op; op 4 and unknown ops are
// answered with the same op and an empty body.
func appendReply(dst []byte, p codec.Packet, online int32, authed *bool) []byte {
	switch {
	case p.Op == codec.OpAuth:
		*authed = true
		return codec.AppendPacket(dst, p.Ver, codec.ReplyOp(p.Op), p.Seq, nil)
	case !*authed:
		return dst
	case p.Op == codec.OpHeartbeat:
		return codec.AppendHeartbeatReply(dst, p.Ver, p.Seq, online)
	case p.Op == codec.OpChangeRoom, p.Op == codec.OpSub, p.Op == codec.OpUnsub:
		return codec.AppendPacket(dst, p.Ver, codec.ReplyOp(p.Op), p.Seq, p.Body)
	default:
		return codec.AppendPacket(dst, p.Ver, codec.ReplyOp(p.Op), p.Seq, nil)
	}
}

func packetAligned(t *testing.T, b []byte) bool {
	t.Helper()
	return codec.Packets(b, codec.DefaultMaxBody, func(codec.Packet) error { return nil }) == nil
}

// checkServerOnlyVector covers captures of server bytes alone: every packet must
// decode and re-encode byte for byte.
func checkServerOnlyVector(t *testing.T, c vectorCase) {
	server := mustHex(t, "server_hex", c.ServerHex)
	if len(server) == 0 {
		t.Skip("no bytes captured")
	}
	var out []byte
	err := codec.Packets(server, codec.DefaultMaxBody, func(p codec.Packet) error {
		if p.Op == codec.OpHeartbeatReply {
			online, err := codec.HeartbeatOnline(p.Body)
			if err != nil {
				return err
			}
			out = codec.AppendHeartbeatReply(out, p.Ver, p.Seq, online)
			return nil
		}
		out = codec.AppendPacket(out, p.Ver, p.Op, p.Seq, p.Body)
		return nil
	})
	if err != nil {
		t.Fatalf("Packets: %v", err)
	}
	if !bytes.Equal(out, server) {
		t.Fatalf("re-encoded\n got %x\nwant %x", out, server)
	}
}

func checkPushVector(t *testing.T, c vectorCase, pe pushExpect) {
	var f codec.Frame
	if pe.batched {
		var b codec.BatchWriter
		b.Reset(0)
		for _, body := range pe.bodies {
			b.Add(codec.DefaultVer, pe.op, 0, []byte(body))
		}
		f = b.Seal()
	} else {
		if len(pe.bodies) != 1 {
			t.Fatalf("an unbatched push has one body, not %d", len(pe.bodies))
		}
		f = codec.SinglePacketFrame(codec.DefaultVer, pe.op, 0, []byte(pe.bodies[0]))
	}
	if f.Count != len(pe.bodies) {
		t.Fatalf("Frame.Count = %d, want %d", f.Count, len(pe.bodies))
	}
	want := mustHex(t, "server_hex", c.ServerHex)
	ws := c.Transport == "ws"
	if got := f.Bytes(ws); !bytes.Equal(got, want) {
		t.Fatalf("Frame.Bytes(ws=%v) differs from goim's\n got %x\nwant %x", ws, got, want)
	}
	if f.Len(ws) != len(want) {
		t.Fatalf("Frame.Len(ws=%v) = %d, want %d", ws, f.Len(ws), len(want))
	}
}

var notesUnmasked = regexp.MustCompile(`unmasked payload (?:hex )?([0-9a-f]+)`)

func checkWSVector(t *testing.T, c vectorCase, we wsExpect) {
	client := mustHex(t, "client_hex", c.ClientHex)
	var replies []byte
	authed := true // WebSocket captures were all taken on authenticated connections, or are the auth
	i := 0
	for rest := client; len(rest) > 0; i++ {
		f, err := codec.DecodeWSFrame(rest, codec.HeaderLen+codec.DefaultMaxBody, true)
		if err != nil || f.Total == 0 {
			t.Fatalf("frame %d: DecodeWSFrame = %+v, %v", i, f, err)
		}
		if i >= len(we.frames) {
			t.Fatalf("more than the %d expected frames", len(we.frames))
		}
		w := we.frames[i]
		if !f.Fin || !f.Masked || f.Opcode != w.opcode {
			t.Fatalf("frame %d: fin %v masked %v opcode %#x; want fin, masked, opcode %#x", i, f.Fin, f.Masked, f.Opcode, w.opcode)
		}
		payload := slices.Clone(rest[f.PayloadStart:f.Total])
		codec.Unmask(payload, f.Mask)
		wantHex := w.payload
		if wantHex == "" {
			m := notesUnmasked.FindStringSubmatch(c.Notes)
			if m == nil {
				t.Fatal("notes quote no unmasked payload")
			}
			wantHex = m[1]
		}
		if got := hex.EncodeToString(payload); got != wantHex {
			t.Fatalf("frame %d: unmasked payload\n got %s\nwant %s", i, got, wantHex)
		}
		// Our client encoder must produce the same bytes with the same mask.
		if re := codec.AppendWSClientFrame(nil, f.Opcode, payload, f.Mask); !bytes.Equal(re, rest[:f.Total]) {
			t.Fatalf("frame %d: AppendWSClientFrame = %x, want %x", i, re, rest[:f.Total])
		}

		switch f.Opcode {
		case codec.WSOpPing:
			replies = codec.AppendWSFrame(replies, codec.WSOpPong, payload)
		case codec.WSOpClose:
			code, reason, err := codec.WSClosePayload(payload)
			if err != nil || code != we.closeCode || len(reason) != 0 {
				t.Fatalf("WSClosePayload = %d %q %v; want %d, no reason", code, reason, err, we.closeCode)
			}
		case codec.WSOpBinary:
			p, n, err := codec.Decode(payload, codec.DefaultMaxBody)
			if err != nil || n != len(payload) {
				t.Fatalf("frame %d: payload is not one packet: n %d of %d, err %v", i, n, len(payload), err)
			}
			if w.packet == nil {
				t.Fatalf("frame %d: no expected packet", i)
			}
			checkPacket(t, i, p, *w.packet)
			checkRequestBody(t, p)
			// One reply packet per frame.
			reply := appendReply(nil, p, we.online, &authed)
			replies = codec.AppendWSFrame(replies, codec.WSOpBinary, reply)
		}
		rest = rest[f.Total:]
	}
	if i != len(we.frames) {
		t.Fatalf("decoded %d frames, want %d", i, len(we.frames))
	}
	if server := mustHex(t, "server_hex", c.ServerHex); !bytes.Equal(replies, server) {
		t.Fatalf("server frames differ from goim's\n got %x\nwant %x", replies, server)
	}
}
