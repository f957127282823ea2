package main

import (
	"errors"
	"github.com/barrage/barrage/internal/freeport"

	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type stack struct {
	e                 *embedded
	tcp, ws, httpAddr string
}

func startStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	var st *stack
	var e *embedded
	for attempt := 1; ; attempt++ {
		st = &stack{tcp: freeAddr(t), ws: freeAddr(t), httpAddr: freeAddr(t)}
		args := append([]string{"-gateway.tcp_addr", st.tcp, "-gateway.ws_addr", st.ws, "-http.addr", st.httpAddr}, extra...)
		cfg, err := loadConfig("test", args, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		e, err = startEmbedded(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			break
		}
		// Another test process may bind a picked port between the pick and
		// the bind (internal/freeport); pick again rather than fail.
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.stop(ctx)
	})
	st.e = e
	return st
}

func (st *stack) post(t *testing.T, path, body string) string {
	t.Helper()
	resp, err := http.Post("http://"+st.httpAddr+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (st *stack) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + st.httpAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// recorder collects pushed packets.
type recorder struct {
	mu  sync.Mutex
	got []string
	seq []int32 // packet seq of every push, in arrival order
	ch  chan struct{}
}

// seqs returns the packet seqs of the last n pushes.
func (r *recorder) seqs(n int) []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int32(nil), r.seq[len(r.seq)-n:]...)
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1024)} }

func (r *recorder) onPush(p codec.Packet) {
	r.mu.Lock()
	r.got = append(r.got, fmt.Sprintf("%d:%s", p.Op, p.Body))
	r.seq = append(r.seq, p.Seq)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]string(nil), r.got...)
			r.got = r.got[:0]
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d pushes, have %v", n, r.got)
		}
	}
}

func TestEmbeddedPushesOverHTTPReachTCPAndWebSocket(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	type peer struct {
		c   *client.Conn
		rec *recorder
	}
	dial := func(tr client.Transport, addr string, mid int64, key string) peer {
		rec := newRecorder()
		c, err := client.Dial(ctx, client.Options{Transport: tr, Addr: addr, OnPush: rec.onPush,
			Auth: codec.AuthBody{Mid: mid, Key: key, RoomID: "live://1000", Platform: "test", Accepts: []int32{1000, 1001}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return peer{c, rec}
	}
	tcp := dial(client.TCP, st.tcp, 1, "tcp-key")
	ws := dial(client.WebSocket, st.ws, 1, "ws-key")
	other := dial(client.TCP, st.tcp, 2, "other")

	const ok = `{"code":0,"message":""}`
	if got := st.post(t, "/goim/push/room?operation=1000&type=live&room=1000", "room-1"); got != ok {
		t.Fatalf("push room: %s", got)
	}
	for _, p := range []peer{tcp, ws, other} {
		if got := p.rec.wait(t, 1); got[0] != "1000:room-1" {
			t.Fatalf("room push got %v", got)
		}
	}
	if got := st.post(t, "/goim/push/mids?operation=1000&mids=1", "mid-1"); got != ok {
		t.Fatalf("push mids: %s", got)
	}
	for _, p := range []peer{tcp, ws} {
		if got := p.rec.wait(t, 1); got[0] != "1000:mid-1" {
			t.Fatalf("mid push got %v", got)
		}
	}
	if got := st.post(t, "/goim/push/keys?operation=1001&keys=ws-key&keys=other", "keys"); got != ok {
		t.Fatalf("push keys: %s", got)
	}
	for _, p := range []peer{ws, other} {
		if got := p.rec.wait(t, 1); got[0] != "1001:keys" {
			t.Fatalf("key push got %v", got)
		}
	}
	if got := st.post(t, "/goim/push/all?operation=1000&speed=0", "all"); got != ok {
		t.Fatalf("push all: %s", got)
	}
	for _, p := range []peer{tcp, ws, other} {
		if got := p.rec.wait(t, 1); got[0] != "1000:all" {
			t.Fatalf("broadcast got %v", got)
		}
	}
	// Room changes and counts: two move to room 2000.
	if err := tcp.c.ChangeRoom(ctx, "live://2000"); err != nil {
		t.Fatal(err)
	}
	if err := ws.c.ChangeRoom(ctx, "live://2000"); err != nil {
		t.Fatal(err)
	}
	if n, err := tcp.c.Heartbeat(ctx); err != nil || n != 2 {
		t.Fatalf("heartbeat count %d %v", n, err)
	}
	if got := st.get(t, "/goim/online/room?type=live&rooms=1000&rooms=2000"); got != `{"code":0,"message":"","data":{"1000":1,"2000":2}}` {
		t.Fatalf("online room: %s", got)
	}
	if got := st.get(t, "/goim/online/total"); got != `{"code":0,"message":"","data":{"conn_count":3,"ip_count":1}}` {
		t.Fatalf("online total: %s", got)
	}
	if got := st.get(t, "/goim/online/top?type=live&limit=1"); got != `{"code":0,"message":"","data":[{"room_id":"2000","count":2}]}` {
		t.Fatalf("online top: %s", got)
	}
	// A batch of room messages arrives complete and in order on both transports.
	for i := 0; i < 20; i++ {
		st.post(t, "/goim/push/room?operation=1000&type=live&room=2000", fmt.Sprintf("m%02d", i))
	}
	for _, p := range []peer{tcp, ws} {
		got := p.rec.wait(t, 20)
		for i, g := range got {
			if g != fmt.Sprintf("1000:m%02d", i) {
				t.Fatalf("message %d = %s (all: %v)", i, g, got)
			}
		}
		// Room 2000's pushes are numbered 1..20 in the packet seq field.
		seqs := p.rec.seqs(20)
		for i, s := range seqs {
			if s != int32(i+1) {
				t.Fatalf("room seqs %v", seqs)
			}
		}
	}
	// op 4 goes to logic and is answered.
	if err := other.c.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedJWTMode(t *testing.T) {
	st := startStack(t, "-logic.jwt_secret", "s3cret")
	_, err := client.Dial(context.Background(), client.Options{Addr: st.tcp,
		Auth: codec.AuthBody{Mid: 1, RoomID: "live://1"}})
	if err == nil {
		t.Fatal("auth without a token succeeded in JWT mode")
	}
}

func TestEmbeddedJWTModeAcceptsSignedToken(t *testing.T) {
	st := startStack(t, "-logic.jwt_secret", "s3cret")
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"mid": 42, "exp": time.Now().Add(time.Minute).Unix()}).
		SignedString([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	c, err := client.Dial(context.Background(), client.Options{Addr: st.tcp, OnPush: rec.onPush,
		Auth: codec.AuthBody{Key: "jwt", RoomID: "live://1", Accepts: []int32{1000}, Token: tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st.post(t, "/goim/push/mids?operation=1000&mids=42", "to-42")
	if got := rec.wait(t, 1); got[0] != "1000:to-42" {
		t.Fatalf("got %v", got)
	}
}

// A token's room_id claim pins the connection: it may leave and come back,
// but a change of room (op 12) or a join (op 18) elsewhere closes it, and
// room pushes elsewhere never reach it.
func TestEmbeddedJWTRoomPin(t *testing.T) {
	st := startStack(t, "-logic.jwt_secret", "s3cret")
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"mid": 7, "room_id": "live://7"}).
		SignedString([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dial := func(rec *recorder) *client.Conn {
		c, err := client.Dial(ctx, client.Options{Addr: st.tcp, OnPush: rec.onPush, Auth: codec.AuthBody{Token: tok}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	rec := newRecorder()
	c := dial(rec)
	for _, room := range []string{"", "live://7"} { // leave, then return: allowed
		if err := c.ChangeRoom(ctx, room); err != nil {
			t.Fatalf("ChangeRoom(%q): %v", room, err)
		}
	}
	st.post(t, "/goim/push/room?operation=1000&type=live&room=7", "in-7")
	if got := rec.wait(t, 1); got[0] != "1000:in-7" {
		t.Fatalf("pinned room push: got %v", got)
	}
	for _, move := range []func(*client.Conn) error{
		func(c *client.Conn) error { return c.ChangeRoom(ctx, "live://8") },
		func(c *client.Conn) error { return c.JoinRoom(ctx, "live://8") },
	} {
		c := dial(newRecorder())
		_ = move(c) // the gateway closes instead of answering
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a pinned connection was allowed into another room")
		}
	}
	if got := st.get(t, "/goim/online/room?type=live&rooms=8"); got != `{"code":0,"message":"","data":{"8":0}}` {
		t.Fatalf("room 8 online = %s, want 0", got)
	}
}

// Kicks through the HTTP API close the named connections and nothing else:
// WebSocket clients get close 1008 with the reason, TCP clients are cut.
func TestEmbeddedKick(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	dial := func(tr client.Transport, addr string, mid int64, key string) *client.Conn {
		c, err := client.Dial(ctx, client.Options{Transport: tr, Addr: addr, Auth: codec.AuthBody{Mid: mid, Key: key, RoomID: "live://1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	wsUser := dial(client.WebSocket, st.ws, 5, "u5-ws")
	tcpUser := dial(client.TCP, st.tcp, 5, "u5-tcp")
	byKey := dial(client.TCP, st.tcp, 6, "u6-a")
	bystander := dial(client.WebSocket, st.ws, 6, "u6-b")
	const ok = `{"code":0,"message":""}`
	if got := st.post(t, "/goim/kick/mids?mids=5", "banned ✋"); got != ok {
		t.Fatalf("kick mids: %s", got)
	}
	if got := st.post(t, "/goim/kick/keys?keys=u6-a", ""); got != ok {
		t.Fatalf("kick keys: %s", got)
	}
	expectKicked(t, map[string]*client.Conn{"ws": wsUser, "tcp": tcpUser, "by key": byKey}, wsUser, "banned ✋", bystander)
	for path, want := range map[string]string{
		"/goim/kick/mids":          `{"code":-400,"message":"Key: 'Mids' Error:Field validation for 'Mids' failed on the 'required' tag"}`,
		"/goim/kick/keys?keys=x":   ok, // nobody holds x: nothing to do, like a push
		"/goim/kick/mids?mids=abc": "",
	} {
		got := st.post(t, path, "")
		if want != "" && got != want {
			t.Errorf("POST %s = %s, want %s", path, got, want)
		}
		if want == "" && !strings.Contains(got, `"code":-400`) {
			t.Errorf("POST %s = %s, want code -400", path, got)
		}
	}
	if got := st.post(t, "/goim/kick/keys?keys=u6-b", strings.Repeat("x", 1025)); !strings.Contains(got, `"code":-400`) || !strings.Contains(got, "1024") {
		t.Errorf("over-long reason: %s", got)
	}
}

// expectKicked waits for every conn in kicked to end, checks that ws (one of
// them, a WebSocket) got close 1008 with reason, and that bystander still
// answers a heartbeat.
func expectKicked(t *testing.T, kicked map[string]*client.Conn, ws *client.Conn, reason string, bystander *client.Conn) {
	t.Helper()
	for name, c := range kicked {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not kicked", name)
		}
	}
	var ce *client.CloseError
	if !errors.As(ws.Err(), &ce) || ce.Code != codec.WSClosePolicyViolation || ce.Reason != reason {
		t.Fatalf("WebSocket kick: %v, want close 1008 %q", ws.Err(), reason)
	}
	if _, err := bystander.Request(context.Background(), codec.OpHeartbeat, nil); err != nil {
		t.Fatalf("bystander affected: %v", err)
	}
}

// Routes refreshed by heartbeats keep the gateway's real name, so key and mid
// pushes still arrive after a refresh, and a replaced connection's close does
// not delete its successor's route.
func TestEmbeddedRoutesSurviveRefreshAndDuplicateKeys(t *testing.T) {
	st := startStack(t, "-gateway.route_refresh", "100ms", "-gateway.tick_interval", "20ms")
	ctx := context.Background()
	dial := func(rec *recorder) *client.Conn {
		c, err := client.Dial(ctx, client.Options{Addr: st.tcp, OnPush: rec.onPush,
			Auth: codec.AuthBody{Mid: 9, Key: "dup", RoomID: "live://9", Accepts: []int32{1000}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := dial(newRecorder())
	rec := newRecorder()
	second := dial(rec)
	<-first.Done() // the newer connection with the key wins
	time.Sleep(300 * time.Millisecond)
	if _, err := second.Heartbeat(ctx); err != nil { // refreshes the route
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	st.post(t, "/goim/push/keys?operation=1000&keys=dup", "k")
	st.post(t, "/goim/push/mids?operation=1000&mids=9", "m")
	if got := rec.wait(t, 2); got[0] != "1000:k" || got[1] != "1000:m" {
		t.Fatalf("got %v", got)
	}
}
