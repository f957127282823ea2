package logic

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"sync"
)

// call is one recorded Delivery call.
type call struct {
	Kind   string // "keys", "room" or "all"
	Server string
	Room   string
	Op     int32
	Keys   []string
	Body   string
	Speed  int32
	Seq    int64 // room pushes; not part of String
}

func (c call) String() string {
	body := fmt.Sprintf("%q", c.Body)
	if len(c.Body) > 100 { // big bodies are compared by checksum; quoting 1 MiB under -race is slow
		body = fmt.Sprintf("<%d bytes, crc32 %08x>", len(c.Body), crc32.ChecksumIEEE([]byte(c.Body)))
	}
	return fmt.Sprintf("%s server=%q room=%q op=%d keys=%v speed=%d body=%s", c.Kind, c.Server, c.Room, c.Op, c.Keys, c.Speed, body)
}

// fakeDelivery records every call; servers listed in failServers and any
// broadcast when failAll is set return an error.
type fakeDelivery struct {
	mu          sync.Mutex
	calls       []call
	failServers map[string]bool
	failAll     bool
}

type roomSeq struct {
	room string
	seq  int64
}

func (d *fakeDelivery) roomSeqs() []roomSeq {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []roomSeq
	for _, c := range d.calls {
		if c.Kind == "room" {
			out = append(out, roomSeq{c.Room, c.Seq})
		}
	}
	return out
}

var errDeliveryDown = errors.New("gateway unreachable")

func (d *fakeDelivery) record(c call) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
}

func (d *fakeDelivery) PushKeys(_ context.Context, server string, op int32, keys []string, body []byte) error {
	d.record(call{Kind: "keys", Server: server, Op: op, Keys: slices.Clone(keys), Body: string(body)})
	if d.failAll || d.failServers[server] {
		return errDeliveryDown
	}
	return nil
}

func (d *fakeDelivery) BroadcastRooms(_ context.Context, pushes []RoomPush) error {
	for _, p := range pushes {
		d.record(call{Kind: "room", Room: p.Room, Op: p.Op, Body: string(p.Body), Seq: p.Seq})
	}
	if d.failAll {
		return errDeliveryDown
	}
	return nil
}

func (d *fakeDelivery) Broadcast(_ context.Context, op int32, body []byte, speed int32) error {
	d.record(call{Kind: "all", Op: op, Body: string(body), Speed: speed})
	if d.failAll {
		return errDeliveryDown
	}
	return nil
}

func (d *fakeDelivery) KickKeys(_ context.Context, server string, keys []string, reason string) error {
	d.record(call{Kind: "kick", Server: server, Keys: slices.Clone(keys), Body: reason})
	if d.failAll || d.failServers[server] {
		return errDeliveryDown
	}
	return nil
}

// take returns the calls so far, sorted by server for deterministic
// comparison, and forgets them.
func (d *fakeDelivery) take() []call {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.calls
	d.calls = nil
	slices.SortStableFunc(out, func(a, b call) int { return strings.Compare(a.Server, b.Server) })
	return out
}

type fakeOnline struct {
	on  Online
	err error
}

func (f *fakeOnline) Online(context.Context) (Online, error) { return f.on, f.err }

func callsString(cs []call) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
