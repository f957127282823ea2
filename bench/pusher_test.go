package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPusherPaths(t *testing.T) {
	parse := func(args ...string) Scenario {
		t.Helper()
		sc, err := ParseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	tests := []struct {
		name string
		sc   Scenario
		seq  int64
		want string
	}{
		{"hot room", parse(), 7, "/goim/push/room?operation=1000&type=live&room=bench"},
		{"small rooms round-robin", parse("-scenario", "small-rooms", "-rooms", "4", "-conns", "8"), 6,
			"/goim/push/room?operation=1000&type=live&room=bench-2"},
		{"mids of group 1 (mids are conn+1)", parse("-scenario", "per-user", "-conns", "10", "-users-per-push", "4"), 1,
			"/goim/push/mids?operation=1000&mids=5&mids=6&mids=7&mids=8"},
		{"the last, smaller group", parse("-scenario", "per-user", "-conns", "10", "-users-per-push", "4"), 5,
			"/goim/push/mids?operation=1000&mids=9&mids=10"},
		{"keys", parse("-scenario", "per-user", "-conns", "10", "-users-per-push", "2", "-push-to", "keys"), 1,
			"/goim/push/keys?operation=1000&keys=run-2&keys=run-3"},
	}
	for _, tt := range tests {
		p := newPusher([]string{"127.0.0.1:1"}, tt.sc, "run-")
		if got := p.path(tt.seq); got != tt.want {
			t.Errorf("%s: path(%d) = %q, want %q", tt.name, tt.seq, got, tt.want)
		}
	}
}

// With several HTTP APIs (reuseport), every message goes to each, in order,
// and a refusal anywhere counts as an error.
func TestPusherFansOutInOrder(t *testing.T) {
	type got struct {
		mu    sync.Mutex
		seqs  []int64
		paths []string
	}
	var a, b got
	handler := func(g *got, code string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			seq, _, ok := ParseBody(body)
			if !ok {
				t.Errorf("bad body %q", body)
			}
			g.mu.Lock()
			g.seqs = append(g.seqs, seq)
			g.paths = append(g.paths, r.URL.RequestURI())
			g.mu.Unlock()
			_, _ = w.Write([]byte(`{"code":` + code + `,"message":""}`))
		})
	}
	sa := httptest.NewServer(handler(&a, "0"))
	defer sa.Close()
	sb := httptest.NewServer(handler(&b, "0"))
	defer sb.Close()
	sc := DefaultScenario()
	p := newPusher([]string{strings.TrimPrefix(sa.URL, "http://"), strings.TrimPrefix(sb.URL, "http://")}, sc, "")
	res := p.run(t.Context(), 1000, 20, time.Minute)
	if res.sent != 20 || res.errors != 0 {
		t.Fatalf("run = %+v", res)
	}
	for name, g := range map[string]*got{"a": &a, "b": &b} {
		if len(g.seqs) != 20 {
			t.Fatalf("server %s got %d pushes, want 20", name, len(g.seqs))
		}
		for i, s := range g.seqs {
			if s != int64(i) {
				t.Fatalf("server %s got seqs %v, want 0..19 in order", name, g.seqs)
			}
		}
	}
	// A refused push is counted, with the reply in the error.
	bad := httptest.NewServer(handler(&got{}, "-500"))
	defer bad.Close()
	p = newPusher([]string{strings.TrimPrefix(sa.URL, "http://"), strings.TrimPrefix(bad.URL, "http://")}, sc, "")
	res = p.run(t.Context(), 1000, 3, time.Minute)
	if res.errors != 3 || !strings.Contains(res.firstErr, `"code":-500`) {
		t.Fatalf("refused pushes: %+v", res)
	}
}
