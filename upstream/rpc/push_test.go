package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

func newPushPair(t *testing.T, core PushCore) (*Server, *PushClient) {
	t.Helper()
	s, err := NewPushServer("127.0.0.1:0", core, quiet)
	start(t, s, err)
	c, err := NewPushClient([]string{s.Addr()}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestPushRoundTrip(t *testing.T) {
	core := &fakeCore{answers: answers{
		top:        []logic.RoomCount{{RoomID: "1000", Count: 9}, {RoomID: "7", Count: 2}},
		roomCounts: map[string]int32{"1000": 9, "8": 0},
		conns:      1 << 33, ips: 12345,
	}}
	_, c := newPushPair(t, pushFake{core})
	ctx := ctxT(t)

	check := func(name string, err error, want call) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := core.last(t); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: core got %+v, want %+v", name, got, want)
		}
	}
	check("PushKeys", c.PushKeys(ctx, 1000, []string{"a", "b"}, []byte("m1")),
		call{"PushKeys", []any{int32(1000), []string{"a", "b"}, "m1"}})
	check("PushMids", c.PushMids(ctx, 1001, []int64{1, 1 << 62}, []byte("m2")),
		call{"PushMids", []any{int32(1001), []int64{1, 1 << 62}, "m2"}})
	check("PushRoom", c.PushRoom(ctx, "live", "1000", 1002, []byte("m3")),
		call{"PushRoom", []any{"live", "1000", int32(1002), "m3"}})
	check("PushAll", c.PushAll(ctx, 1003, 50, []byte("m4")),
		call{"PushAll", []any{int32(1003), int32(50), "m4"}})
	check("KickKeys", c.KickKeys(ctx, []string{"a", "b"}, "spam"),
		call{"KickKeys", []any{[]string{"a", "b"}, "spam"}})
	check("KickMids", c.KickMids(ctx, []int64{7, 1 << 40}, "banned ✋"),
		call{"KickMids", []any{[]int64{7, 1 << 40}, "banned ✋"}})

	top, err := c.OnlineTop(ctx, "live", 2)
	check("OnlineTop", err, call{"OnlineTop", []any{"live", 2}})
	if !reflect.DeepEqual(top, core.top) {
		t.Errorf("OnlineTop = %v, want %v", top, core.top)
	}
	rooms, err := c.OnlineRoom(ctx, "live", []string{"1000", "8"})
	check("OnlineRoom", err, call{"OnlineRoom", []any{"live", []string{"1000", "8"}}})
	if !reflect.DeepEqual(rooms, core.roomCounts) {
		t.Errorf("OnlineRoom = %v, want %v", rooms, core.roomCounts)
	}
	conns, ips, err := c.OnlineTotal(ctx)
	check("OnlineTotal", err, call{"OnlineTotal", nil})
	if conns != core.conns || ips != core.ips {
		t.Errorf("OnlineTotal = %d, %d; want %d, %d", conns, ips, core.conns, core.ips)
	}

	core.set(func(a *answers) { a.top = nil })
	top, err = c.OnlineTop(ctx, "live", 2)
	if err != nil || top == nil || len(top) != 0 {
		t.Errorf("OnlineTop with no rooms = %#v, %v; want an empty non-nil slice", top, err)
	}
}

func TestPushErrors(t *testing.T) {
	core := &fakeCore{}
	s, c := newPushPair(t, pushFake{core})
	ctx := ctxT(t)

	calls := map[string]func() error{
		"PushKeys": func() error { return c.PushKeys(ctx, 1, []string{"k"}, nil) },
		"PushMids": func() error { return c.PushMids(ctx, 1, []int64{1}, nil) },
		"PushRoom": func() error { return c.PushRoom(ctx, "live", "1", 1, nil) },
		"PushAll":  func() error { return c.PushAll(ctx, 1, 0, nil) },
		"OnlineTop": func() error {
			_, err := c.OnlineTop(ctx, "live", 1)
			return err
		},
		"OnlineRoom": func() error {
			_, err := c.OnlineRoom(ctx, "live", []string{"1"})
			return err
		},
		"OnlineTotal": func() error {
			_, _, err := c.OnlineTotal(ctx)
			return err
		},
	}

	bad := fmt.Errorf("%w: push room: type %q and room %q must both be non-empty", logic.ErrBadRequest, "", "1")
	core.setErr(bad)
	for name, f := range calls {
		err := f()
		var be *BadRequestError
		if !errors.Is(err, logic.ErrBadRequest) || !errors.As(err, &be) || err.Error() != bad.Error() {
			t.Errorf("%s with a bad request = %v (%T), want logic.ErrBadRequest with message %q", name, err, err, bad)
		}
	}

	core.setErr(logic.ErrNoKeys)
	if err := c.PushKeys(ctx, 1, nil, nil); !errors.Is(err, logic.ErrNoKeys) {
		t.Errorf("PushKeys with ErrNoKeys = %v, want errors.Is logic.ErrNoKeys", err)
	}

	kafka := errors.New("kafka: write: dial tcp 127.0.0.1:9092: connection refused")
	core.setErr(kafka)
	for name, f := range calls {
		err := f()
		var re *RemoteError
		if errors.Is(err, logic.ErrBadRequest) || !errors.As(err, &re) || re.Message != kafka.Error() {
			t.Errorf("%s with a failing logic = %v (%T), want *RemoteError %q", name, err, err, kafka)
		}
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	err := c.PushRoom(ctx, "live", "1", 1, nil)
	var re *RemoteError
	if err == nil || errors.Is(err, logic.ErrBadRequest) || errors.As(err, &re) {
		t.Errorf("PushRoom to a stopped server = %v (%T), want a transport error", err, err)
	}
}

// The Kitex push API refuses exactly the calls the HTTP API answers with code
// -400, and accepts the others, against the same *logic.Logic.
func TestPushBadRequestsMatchHTTP(t *testing.T) {
	l := logic.New(logic.Config{}, nil, &recordDelivery{}, nil, nil, quiet)
	_, c := newPushPair(t, l)
	web := httptest.NewServer(logic.NewHTTPHandler(l, quiet))
	defer web.Close()
	ctx := ctxT(t)

	type tc struct {
		name  string
		query string // HTTP path and query
		kitex func() error
	}
	cases := []tc{
		{"push keys, no keys", "/goim/push/keys?operation=1000",
			func() error { return c.PushKeys(ctx, 1000, nil, []byte("x")) }},
		{"push keys", "/goim/push/keys?operation=1000&keys=nobody",
			func() error { return c.PushKeys(ctx, 1000, []string{"nobody"}, []byte("x")) }},
		{"push mids, none", "/goim/push/mids?operation=1000",
			func() error { return c.PushMids(ctx, 1000, nil, []byte("x")) }},
		{"push room, no op", "/goim/push/room?type=live&room=1",
			func() error { return c.PushRoom(ctx, "live", "1", 0, []byte("x")) }},
		{"push room, no type", "/goim/push/room?operation=1000&room=1",
			func() error { return c.PushRoom(ctx, "", "1", 1000, []byte("x")) }},
		{"push room, no room", "/goim/push/room?operation=1000&type=live",
			func() error { return c.PushRoom(ctx, "live", "", 1000, []byte("x")) }},
		{"push room", "/goim/push/room?operation=1000&type=live&room=1",
			func() error { return c.PushRoom(ctx, "live", "1", 1000, []byte("x")) }},
		{"push all, no op", "/goim/push/all?speed=1",
			func() error { return c.PushAll(ctx, 0, 1, []byte("x")) }},
		{"push all", "/goim/push/all?operation=1000",
			func() error { return c.PushAll(ctx, 1000, 0, []byte("x")) }},
		{"online top, no type", "/goim/online/top?limit=1",
			func() error { _, err := c.OnlineTop(ctx, "", 1); return err }},
		{"online top, limit 0", "/goim/online/top?type=live&limit=0",
			func() error { _, err := c.OnlineTop(ctx, "live", 0); return err }},
		{"online top, limit -1", "/goim/online/top?type=live&limit=-1",
			func() error { _, err := c.OnlineTop(ctx, "live", -1); return err }},
		{"online top", "/goim/online/top?type=live&limit=3",
			func() error { _, err := c.OnlineTop(ctx, "live", 3); return err }},
		{"online room, no type", "/goim/online/room?rooms=1",
			func() error { _, err := c.OnlineRoom(ctx, "", []string{"1"}); return err }},
		{"online room, no rooms", "/goim/online/room?type=live",
			func() error { _, err := c.OnlineRoom(ctx, "live", nil); return err }},
		{"online room", "/goim/online/room?type=live&rooms=1",
			func() error { _, err := c.OnlineRoom(ctx, "live", []string{"1"}); return err }},
		{"online total", "/goim/online/total",
			func() error { _, _, err := c.OnlineTotal(ctx); return err }},
	}
	for _, tc := range cases {
		u, _ := url.Parse(web.URL + tc.query)
		method := http.MethodPost
		if strings.HasPrefix(u.Path, "/goim/online/") {
			method = http.MethodGet
		}
		req, _ := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: HTTP: %v", tc.name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rep struct{ Code int }
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatalf("%s: HTTP reply %q: %v", tc.name, raw, err)
		}
		err = tc.kitex()
		httpBad, kitexBad := rep.Code == -400, errors.Is(err, logic.ErrBadRequest)
		if httpBad != kitexBad || (!kitexBad && (err == nil) != (rep.Code == 0)) {
			t.Errorf("%s: HTTP code %d (%s), Kitex error %v", tc.name, rep.Code, raw, err)
		}
	}
}
