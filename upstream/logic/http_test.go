package logic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
)

const vectorsPath = "../../../shared/goim-vectors.json"

type vectorHTTP struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type vectorCase struct {
	Name      string      `json:"name"`
	Transport string      `json:"transport"`
	ClientHex string      `json:"client_hex"`
	ServerHex string      `json:"server_hex"`
	HTTP      *vectorHTTP `json:"http"`
	Notes     string      `json:"notes"`
}

func loadVectors(t *testing.T) []vectorCase {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("goim vectors not found at %s; skipping the replay", vectorsPath)
	}
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var file struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	return file.Cases
}

// The world the goim captures were taken in: mid 123 holds key k123 on one
// gateway, two connections from one IP, one of them in live://1000.
const (
	vecServer = "gw-1"
	vecMid    = 123
	vecKey    = "k123"
)

type apiFixture struct {
	srv      *httptest.Server
	delivery *fakeDelivery
	online   *fakeOnline
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	router := NewMemoryRouter()
	if err := router.Add(context.Background(), vecMid, vecKey, vecServer); err != nil {
		t.Fatal(err)
	}
	f := &apiFixture{
		delivery: &fakeDelivery{},
		online: &fakeOnline{on: Online{
			Rooms: map[string]int32{"live://1000": 1, "game://1000": 4}, // the other type must not leak into live's answers
			Conns: 2, IPs: 1,
		}},
	}
	l := New(Config{}, router, f.delivery, f.online, nil, quietLog())
	f.srv = httptest.NewServer(NewHTTPHandler(l, quietLog()))
	t.Cleanup(f.srv.Close)
	return f
}

// expectedCalls is what the push API must hand to Delivery for a request in
// the vectors' world.
func expectedCalls(t *testing.T, method, path string, body []byte) []call {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatalf("bad vector path %q: %v", path, err)
	}
	q := u.Query()
	op64, _ := strconv.ParseInt(q.Get("operation"), 10, 32)
	op := int32(op64)
	if method != http.MethodPost {
		return nil
	}
	switch u.Path {
	case "/goim/push/keys":
		if slicesContain(q["keys"], vecKey) {
			return []call{{Kind: "keys", Server: vecServer, Op: op, Keys: []string{vecKey}, Body: string(body)}}
		}
	case "/goim/push/mids":
		if slicesContain(q["mids"], strconv.Itoa(vecMid)) {
			return []call{{Kind: "keys", Server: vecServer, Op: op, Keys: []string{vecKey}, Body: string(body)}}
		}
	case "/goim/push/room":
		if op != 0 && q.Get("type") != "" && q.Get("room") != "" {
			return []call{{Kind: "room", Room: q.Get("type") + "://" + q.Get("room"), Op: op, Body: string(body)}}
		}
	case "/goim/push/all":
		if op != 0 {
			speed, _ := strconv.ParseInt(q.Get("speed"), 10, 32)
			return []call{{Kind: "all", Op: op, Body: string(body), Speed: int32(speed)}}
		}
	}
	return nil
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// pushedBodies digs the bodies goim delivered out of a captured client stream:
// bare packets on TCP, op-9 packets inside binary frames on WebSocket. They are
// the bodies that were POSTed.
func pushedBodies(t *testing.T, c vectorCase) [][]byte {
	t.Helper()
	stream, err := hex.DecodeString(c.ServerHex)
	if err != nil {
		t.Fatalf("%s: server_hex: %v", c.Name, err)
	}
	var bodies [][]byte
	collect := func(p codec.Packet) error {
		if p.Op >= codec.OpMinApplication {
			bodies = append(bodies, append([]byte(nil), p.Body...))
		}
		return nil
	}
	if c.Transport == "tcp" {
		if err := codec.Packets(stream, 1<<20, collect); err != nil {
			t.Fatalf("%s: decode packets: %v", c.Name, err)
		}
		return bodies
	}
	for len(stream) > 0 {
		f, err := codec.DecodeWSFrame(stream, 1<<20, false)
		if err != nil || f.Total == 0 {
			t.Fatalf("%s: decode ws frame: %v (total %d)", c.Name, err, f.Total)
		}
		err = codec.Packets(stream[f.PayloadStart:f.Total], 1<<20, func(p codec.Packet) error {
			if p.Op != codec.OpRaw {
				return collect(p)
			}
			return codec.Packets(p.Body, 1<<20, collect)
		})
		if err != nil {
			t.Fatalf("%s: decode ws payload: %v", c.Name, err)
		}
		stream = stream[f.Total:]
	}
	return bodies
}

// contentTypeFor is goim's Content-Type for each status it answers with.
func contentTypeFor(status int) string {
	switch status {
	case http.StatusOK:
		return "application/json; charset=utf-8"
	case http.StatusNotFound:
		return "text/plain"
	}
	return "text/plain; charset=utf-8"
}

// TestHTTPVectorsRaw replays the raw HTTP exchanges captured from goim over a
// loopback socket and compares the whole response: status line, every header
// but Date, and the body byte for byte.
func TestHTTPVectorsRaw(t *testing.T) {
	cases := loadVectors(t)
	f := newAPIFixture(t)
	n := 0
	for _, c := range cases {
		if c.Transport != "http" {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			reqBytes, err := hex.DecodeString(c.ClientHex)
			if err != nil {
				t.Fatal(err)
			}
			wantBytes, err := hex.DecodeString(c.ServerHex)
			if err != nil {
				t.Fatal(err)
			}
			gotBytes := rawExchange(t, f.srv.Listener.Addr().String(), reqBytes)
			want, wantBody := parseResponse(t, wantBytes)
			got, gotBody := parseResponse(t, gotBytes)
			if got.Status != want.Status {
				t.Errorf("status %q, want %q", got.Status, want.Status)
			}
			want.Header.Del("Date")
			if got.Header.Get("Date") == "" {
				t.Errorf("no Date header")
			}
			got.Header.Del("Date")
			if !headersEqual(got.Header, want.Header) {
				t.Errorf("headers %v, want %v", got.Header, want.Header)
			}
			if !bytes.Equal(gotBody, wantBody) {
				t.Errorf("body\n%s\nwant\n%s", gotBody, wantBody)
			}
			// The vector's summary must agree with its raw capture.
			if c.HTTP == nil || c.HTTP.Status != want.StatusCode || c.HTTP.Body != string(wantBody) {
				t.Fatalf("vector's http summary %+v disagrees with its raw response", c.HTTP)
			}
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(reqBytes)))
			if err != nil {
				t.Fatal(err)
			}
			reqBody, _ := io.ReadAll(req.Body)
			wantCalls := expectedCalls(t, req.Method, req.RequestURI, reqBody)
			if gotCalls := f.delivery.take(); callsString(gotCalls) != callsString(wantCalls) {
				t.Errorf("delivery calls:\n%swant:\n%s", callsString(gotCalls), callsString(wantCalls))
			}
		})
	}
	if n == 0 {
		t.Fatal("no http cases in the vectors")
	}
}

func rawExchange(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(conn) // the requests say Connection: close
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func parseResponse(t *testing.T, raw []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("parse response %q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// TestHTTPVectorsPush replays the HTTP side of the tcp_push_* / ws_push_* and
// room push cases: every body goim delivered is POSTed again, and both the HTTP
// reply and what reaches Delivery are checked.
func TestHTTPVectorsPush(t *testing.T) {
	cases := loadVectors(t)
	f := newAPIFixture(t)
	n := 0
	for _, c := range cases {
		if c.Transport == "http" || c.HTTP == nil {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			bodies := pushedBodies(t, c)
			if len(bodies) == 0 { // nothing was delivered (an op the client did not accept)
				bodies = [][]byte{[]byte(`{"seq":1,"ts":0}`)}
			}
			for _, body := range bodies {
				status, ctype, got := do(t, f.srv, c.HTTP.Method, c.HTTP.Path, body)
				if status != c.HTTP.Status || ctype != contentTypeFor(c.HTTP.Status) || got != c.HTTP.Body {
					t.Errorf("%s %s: %d %q %s; want %d %q %s", c.HTTP.Method, c.HTTP.Path, status, ctype, got,
						c.HTTP.Status, contentTypeFor(c.HTTP.Status), c.HTTP.Body)
				}
				want := expectedCalls(t, c.HTTP.Method, c.HTTP.Path, body)
				if len(want) == 0 {
					t.Fatalf("vector %s should have produced a delivery", c.Name)
				}
				if gotCalls := f.delivery.take(); callsString(gotCalls) != callsString(want) {
					t.Errorf("delivery calls:\n%swant:\n%s", callsString(gotCalls), callsString(want))
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no push cases with an http part in the vectors")
	}
}

func do(t *testing.T, srv *httptest.Server, method, path string, body []byte) (status int, contentType, reply string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(out)
}

const (
	jsonOK  = "application/json; charset=utf-8"
	textBad = "text/plain; charset=utf-8"
)

// TestHTTPBeyondVectors covers what the captures do not: combined validation
// errors, other parse errors, multiple rooms, wrong methods, server errors and
// the body limit.
func TestHTTPBeyondVectors(t *testing.T) {
	msg := `{"seq":1,"ts":0}`
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		setup      func(f *apiFixture)
		wantStatus int
		wantType   string
		wantBody   string
		wantCalls  []call
	}{
		{name: "room push without operation and type", method: "POST", path: "/goim/push/room?room=1000", body: msg,
			wantStatus: 400, wantType: textBad,
			wantBody: `{"code":-400,"message":"Key: 'Op' Error:Field validation for 'Op' failed on the 'required' tag\nKey: 'Type' Error:Field validation for 'Type' failed on the 'required' tag"}`},
		{name: "parse error wins over missing fields", method: "POST", path: "/goim/push/room?operation=x", body: msg,
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"strconv.ParseInt: parsing \"x\": invalid syntax"}`},
		{name: "operation out of int32 range", method: "POST", path: "/goim/push/all?operation=3000000000", body: msg,
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"strconv.ParseInt: parsing \"3000000000\": value out of range"}`},
		{name: "html in a message is escaped like encoding/json", method: "POST", path: "/goim/push/all?operation=%3Cb%3E", body: msg,
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"strconv.ParseInt: parsing \"\u003cb\u003e\": invalid syntax"}`},
		{name: "operation 0 is missing", method: "POST", path: "/goim/push/all?operation=0&speed=2", body: msg,
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"Key: 'Op' Error:Field validation for 'Op' failed on the 'required' tag"}`},
		{name: "bad mid", method: "POST", path: "/goim/push/mids?operation=1000&mids=123&mids=abc", body: msg,
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"strconv.ParseInt: parsing \"abc\": invalid syntax"}`},
		{name: "push all passes speed", method: "POST", path: "/goim/push/all?operation=1001&speed=7", body: "raw bytes",
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":0,"message":""}`,
			wantCalls: []call{{Kind: "all", Op: 1001, Body: "raw bytes", Speed: 7}}},
		{name: "keys push with one known key among unknown", method: "POST", path: "/goim/push/keys?operation=1000&keys=zz&keys=k123", body: msg,
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":0,"message":""}`,
			wantCalls: []call{{Kind: "keys", Server: vecServer, Op: 1000, Keys: []string{"k123"}, Body: msg}}},
		{name: "online room, several rooms", method: "GET", path: "/goim/online/room?type=live&rooms=1001&rooms=1000",
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":0,"message":"","data":{"1000":1,"1001":0}}`},
		{name: "online room without rooms", method: "GET", path: "/goim/online/room?type=live",
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"Key: 'Rooms' Error:Field validation for 'Rooms' failed on the 'required' tag"}`},
		{name: "online top of an empty type", method: "GET", path: "/goim/online/top?type=none&limit=3",
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":0,"message":"","data":[]}`},
		{name: "online top negative limit", method: "GET", path: "/goim/online/top?type=live&limit=-1",
			wantStatus: 400, wantType: textBad, wantBody: `{"code":-400,"message":"limit must be positive, got -1"}`},
		{name: "POST on a GET route", method: "POST", path: "/goim/online/total", body: msg,
			wantStatus: 404, wantType: "text/plain", wantBody: "404 page not found"},
		{name: "HEAD on a GET route", method: "HEAD", path: "/goim/online/total",
			wantStatus: 404, wantType: "text/plain", wantBody: ""},
		{name: "trailing slash", method: "POST", path: "/goim/push/keys/?operation=1000&keys=k123", body: msg,
			wantStatus: 404, wantType: "text/plain", wantBody: "404 page not found"},
		{name: "unclean path is not redirected", method: "POST", path: "/goim//push/keys?operation=1000&keys=k123", body: msg,
			wantStatus: 404, wantType: "text/plain", wantBody: "404 page not found"},
		{name: "delivery failure on a room push", method: "POST", path: "/goim/push/room?operation=1000&type=live&room=1000", body: msg,
			setup:      func(f *apiFixture) { f.delivery.failAll = true },
			wantStatus: 200, wantType: jsonOK,
			wantBody:  `{"code":-500,"message":"logic: push op 1000 to room \"live://1000\": gateway unreachable"}`,
			wantCalls: []call{{Kind: "room", Room: "live://1000", Op: 1000, Body: msg}}},
		{name: "delivery failure on a key push", method: "POST", path: "/goim/push/keys?operation=1000&keys=k123", body: msg,
			setup:      func(f *apiFixture) { f.delivery.failAll = true },
			wantStatus: 200, wantType: jsonOK,
			wantBody:  `{"code":-500,"message":"logic: push op 1000 to 1 keys on server \"gw-1\": gateway unreachable"}`,
			wantCalls: []call{{Kind: "keys", Server: vecServer, Op: 1000, Keys: []string{"k123"}, Body: msg}}},
		{name: "online source failure", method: "GET", path: "/goim/online/total",
			setup:      func(f *apiFixture) { f.online.err = errors.New("gateway gone") },
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":-500,"message":"logic: online total: gateway gone"}`},
		{name: "body over the limit", method: "POST", path: "/goim/push/all?operation=1000", body: strings.Repeat("x", DefaultMaxPushBody+1),
			wantStatus: 413, wantType: jsonOK, wantBody: `{"code":-400,"message":"request body larger than the 1048576-byte limit"}`},
		{name: "body at the limit", method: "POST", path: "/goim/push/all?operation=1000", body: strings.Repeat("x", DefaultMaxPushBody),
			wantStatus: 200, wantType: jsonOK, wantBody: `{"code":0,"message":""}`,
			wantCalls: []call{{Kind: "all", Op: 1000, Body: strings.Repeat("x", DefaultMaxPushBody)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			var body []byte
			if tc.method == "POST" {
				body = []byte(tc.body)
			}
			status, ctype, got := do(t, f.srv, tc.method, tc.path, body)
			if status != tc.wantStatus || ctype != tc.wantType || got != tc.wantBody {
				if len(got) > 200 {
					got = got[:200] + "..."
				}
				t.Errorf("got %d %q %s\nwant %d %q %s", status, ctype, got, tc.wantStatus, tc.wantType, tc.wantBody)
			}
			if gotCalls := f.delivery.take(); callsString(gotCalls) != callsString(tc.wantCalls) {
				t.Errorf("delivery calls:\n%swant:\n%s", callsString(gotCalls), callsString(tc.wantCalls))
			}
		})
	}
}
