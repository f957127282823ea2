package kafkabus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func testID() ID {
	var id ID
	for i := range id {
		id[i] = byte(i + 1)
	}
	return id
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		m    Message
	}{
		{"keys", Message{ID: testID(), Kind: KindKeys, Op: 1000, Time: 1700000000123456789, Server: "gw-a", Keys: []string{"k1", "k2"}, Body: []byte("hello")}},
		{"keys one, empty body", Message{ID: testID(), Kind: KindKeys, Op: 1001, Server: "gw-b", Keys: []string{"x"}}},
		{"room", Message{ID: testID(), Kind: KindRoom, Op: 1000, Time: 42, Room: "live://1000", Seq: 7, Body: []byte{0, 1, 2}}},
		{"room negative op and seq", Message{ID: testID(), Kind: KindRoom, Op: -1, Room: "r", Seq: -5, Body: []byte("b")}},
		{"all", Message{ID: testID(), Kind: KindAll, Op: 1002, Time: -1, Speed: 50, Body: bytes.Repeat([]byte("z"), 300)}},
		{"kick", Message{ID: testID(), Kind: KindKick, Time: 9, Server: "gw-a", Keys: []string{"k1"}, Body: []byte("banned")}},
		{"kick without reason", Message{ID: testID(), Kind: KindKick, Server: "gw-a", Keys: []string{"k1", "k2"}}},
		{"long room", Message{Kind: KindRoom, Room: string(bytes.Repeat([]byte("r"), MaxStringLen)), Seq: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := AppendEncode(nil, &c.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != c.m.EncodedLen() {
				t.Fatalf("encoded %d bytes, EncodedLen says %d", len(v), c.m.EncodedLen())
			}
			var got Message
			if err := Decode(v, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := c.m
			want.Version = Version
			if len(want.Body) == 0 {
				want.Body = []byte{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestEncodeGolden pins the version-1 layout byte for byte: the example in
// docs/KAFKA.md is this value. Changing it breaks every deployed job.
func TestEncodeGolden(t *testing.T) {
	m := Message{ID: testID(), Kind: KindRoom, Op: 1000, Time: 1700000000000000000, Room: "live://1000", Seq: 7, Body: []byte("hi")}
	v, err := AppendEncode(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	want := "4201" + "02" + "0102030405060708090a0b0c0d0e0f10" + "000003e8" + "17979cfe362a0000" +
		"0b" + hex0("live://1000") + "0000000000000007" + "6869"
	if got := hex.EncodeToString(v); got != want {
		t.Fatalf("layout changed:\n got %s\nwant %s", got, want)
	}
	k := Message{ID: testID(), Kind: KindKeys, Op: 1000, Server: "gw-a", Keys: []string{"k1", "k2"}, Body: []byte("hi")}
	v, _ = AppendEncode(nil, &k)
	const wantKeys = "4201" + "01" + "0102030405060708090a0b0c0d0e0f10" + "000003e8" + "0000000000000000" +
		"04" + "67772d61" + "02" + "02" + "6b31" + "02" + "6b32" + "6869"
	if got := hex.EncodeToString(v); got != wantKeys {
		t.Fatalf("keys layout changed:\n got %s\nwant %s", got, wantKeys)
	}
	a := Message{ID: testID(), Kind: KindAll, Op: 1000, Speed: 3, Body: []byte("hi")}
	v, _ = AppendEncode(nil, &a)
	const wantAll = "4201" + "03" + "0102030405060708090a0b0c0d0e0f10" + "000003e8" + "0000000000000000" + "00000003" + "6869"
	if got := hex.EncodeToString(v); got != wantAll {
		t.Fatalf("all layout changed:\n got %s\nwant %s", got, wantAll)
	}
	kick := Message{ID: testID(), Kind: KindKick, Server: "gw-a", Keys: []string{"k1"}, Body: []byte("bye")}
	v, _ = AppendEncode(nil, &kick)
	const wantKick = "4201" + "04" + "0102030405060708090a0b0c0d0e0f10" + "00000000" + "0000000000000000" +
		"04" + "67772d61" + "01" + "02" + "6b31" + "627965"
	if got := hex.EncodeToString(v); got != wantKick {
		t.Fatalf("kick layout changed:\n got %s\nwant %s", got, wantKick)
	}
	if kick.Key() != "gw-a" {
		t.Fatalf("kick Kafka key %q, want the gateway name", kick.Key())
	}
}

func hex0(s string) string { return hex.EncodeToString([]byte(s)) }

func TestEncodeRejects(t *testing.T) {
	cases := []struct {
		name string
		m    Message
	}{
		{"no kind", Message{Op: 1}},
		{"bad kind", Message{Kind: 9}},
		{"keys without server", Message{Kind: KindKeys, Keys: []string{"k"}}},
		{"keys without keys", Message{Kind: KindKeys, Server: "s"}},
		{"empty key", Message{Kind: KindKeys, Server: "s", Keys: []string{"a", ""}}},
		{"kick without server", Message{Kind: KindKick, Keys: []string{"k"}}},
		{"kick without keys", Message{Kind: KindKick, Server: "s"}},
		{"kick with an op", Message{Kind: KindKick, Op: 1000, Server: "s", Keys: []string{"k"}}},
		{"room without room", Message{Kind: KindRoom}},
		{"room too long", Message{Kind: KindRoom, Room: string(make([]byte, MaxStringLen+1))}},
	}
	for _, c := range cases {
		if _, err := AppendEncode(nil, &c.m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", c.name, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := AppendEncode(nil, &Message{ID: testID(), Kind: KindKeys, Server: "gw", Keys: []string{"k1"}, Body: []byte("b")})
	room, _ := AppendEncode(nil, &Message{Kind: KindRoom, Room: "live://1", Seq: 1})
	all, _ := AppendEncode(nil, &Message{Kind: KindAll})
	mut := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := []struct {
		name  string
		value []byte
		want  error
	}{
		{"empty", nil, ErrMalformed},
		{"one byte", []byte{Magic}, ErrMalformed},
		{"json", []byte(`{"op":1000}`), ErrNotBarrage},
		{"version 0", mut(good, func(b []byte) []byte { b[1] = 0; return b }), ErrUnknownVersion},
		{"version 2", mut(good, func(b []byte) []byte { b[1] = 2; return b }), ErrUnknownVersion},
		{"version 2 short", []byte{Magic, 2}, ErrUnknownVersion},
		{"header truncated", good[:HeaderLen-1], ErrMalformed},
		{"kind 0", mut(good, func(b []byte) []byte { b[2] = 0; return b }), ErrMalformed},
		{"kind 5", mut(good, func(b []byte) []byte { b[2] = 5; return b }), ErrMalformed},
		{"server length past end", mut(good, func(b []byte) []byte { b[HeaderLen] = 100; return b }), ErrMalformed},
		{"server length zero", mut(good, func(b []byte) []byte { b[HeaderLen] = 0; return b }), ErrMalformed},
		{"key count huge", mut(good, func(b []byte) []byte { b[HeaderLen+3] = 0x7f; return b }), ErrMalformed},
		{"key count zero", mut(good, func(b []byte) []byte { b[HeaderLen+3] = 0; return b }), ErrMalformed},
		{"no key count", good[:HeaderLen+3], ErrMalformed},
		{"room seq truncated", room[:len(room)-1], ErrMalformed},
		{"all speed truncated", all[:len(all)-1], ErrMalformed},
		{"bad uvarint", append(bytes.Clone(good[:HeaderLen]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrMalformed},
	}
	for _, c := range cases {
		var m Message
		err := Decode(c.value, &m)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

func TestIDGenUnique(t *testing.T) {
	g1, g2 := NewIDGen(), NewIDGen()
	seen := make(map[ID]bool)
	for range 1000 {
		for _, id := range []ID{g1.Next(), g2.Next()} {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
	if len(g1.Next().String()) != 32 {
		t.Fatal("id string is not 32 hex digits")
	}
}

func TestDecodeAllocations(t *testing.T) {
	v, _ := AppendEncode(nil, &Message{Kind: KindRoom, Room: "live://1000", Seq: 1, Body: []byte("body")})
	var m Message
	allocs := testing.AllocsPerRun(100, func() {
		if err := Decode(v, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 { // the room string
		t.Fatalf("Decode of a room push allocates %.0f times, want 1", allocs)
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to the
// same bytes (the format has one encoding per message).
func FuzzDecode(f *testing.F) {
	for _, m := range []Message{
		{ID: testID(), Kind: KindKeys, Op: 1000, Server: "gw-a", Keys: []string{"k1", "k2"}, Body: []byte("hello")},
		{Kind: KindRoom, Room: "live://1000", Seq: 7, Body: []byte{0}},
		{Kind: KindAll, Speed: 5},
		{Kind: KindKick, Server: "gw-a", Keys: []string{"k1"}, Body: []byte("banned")},
	} {
		v, _ := AppendEncode(nil, &m)
		f.Add(v)
	}
	f.Add([]byte{Magic, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, value []byte) {
		var m Message
		if err := Decode(value, &m); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotBarrage) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("error %v wraps none of the sentinel errors", err)
			}
			return
		}
		again, err := AppendEncode(nil, &m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if !bytes.Equal(again, value) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", value, again)
		}
	})
}
