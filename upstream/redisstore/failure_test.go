package redisstore

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
	"github.com/redis/go-redis/v9"
)

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort()) // nothing listens there
	start := time.Now()
	s, err := New(Config{Addrs: []string{addr}})
	took := time.Since(start)
	if err == nil {
		_ = s.Close()
		t.Fatal("New against a closed port succeeded")
	}
	if took > 3*time.Second {
		t.Fatalf("New took %v to fail, want < 3s", took)
	}
	if msg := err.Error(); !strings.Contains(msg, addr) || !strings.Contains(msg, "not answering") {
		t.Fatalf("error %q does not name the address and the problem", msg)
	}
	t.Logf("New failed in %v: %v", took, err)

	if _, err := New(Config{Addrs: []string{addr, addr}, DB: 3}); err == nil || !strings.Contains(err.Error(), "db 3") {
		t.Fatalf("New with a cluster and db 3: %v, want a db error", err)
	}
}

// Redis dies under a running Store: every call fails with an error (no panic,
// no hang), and once Redis is back on the same address the same Store works
// again, re-creating routes on Touch and resending its scripts.
func TestRedisDiesAndComesBack(t *testing.T) {
	t.Parallel()
	needRedis(t)
	srv, err := startRedis(freePort(), t.TempDir())
	mustNil(t, err)
	t.Cleanup(srv.stop)
	s, err := New(Config{Addrs: []string{srv.addr()}, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	mustNil(t, err)
	t.Cleanup(func() { _ = s.Close() })
	mustNil(t, s.Add(ctx, 1, "a", "g1"))
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g1"}))

	srv.stop()
	calls := map[string]func(context.Context) error{
		"Add":    func(c context.Context) error { return s.Add(c, 1, "b", "g1") },
		"Remove": func(c context.Context) error { return s.Remove(c, 1, "a", "g1") },
		"Touch":  func(c context.Context) error { return s.Touch(c, 1, "a", "g1") },
		"ServersByKeys": func(c context.Context) error {
			_, err := s.ServersByKeys(c, []string{"a"})
			return err
		},
		"KeysByMids": func(c context.Context) error {
			_, err := s.KeysByMids(c, []int64{1})
			return err
		},
		"NextRoomSeq": func(c context.Context) error {
			_, err := s.NextRoomSeq(c, "live://1")
			return err
		},
		"RenewOnline": func(c context.Context) error {
			_, err := s.RenewOnline(c, "g1", logic.Online{Conns: 1})
			return err
		},
		"Online": func(c context.Context) error {
			_, err := s.Online(c)
			return err
		},
		"RegisterGateway":   func(c context.Context) error { return s.RegisterGateway(c, GatewayInfo{Name: "g1"}) },
		"DeregisterGateway": func(c context.Context) error { return s.DeregisterGateway(c, "g1") },
		"Gateways": func(c context.Context) error {
			_, err := s.Gateways(c)
			return err
		},
		"CleanupDeadGateways": func(c context.Context) error {
			_, err := s.CleanupDeadGateways(c)
			return err
		},
	}
	for name, call := range calls {
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		if err == nil {
			t.Errorf("%s with Redis down succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), "redisstore: ") {
			t.Errorf("%s error %q does not say where it came from", name, err)
		}
		if took > 3*time.Second {
			t.Errorf("%s took %v to fail", name, took)
		}
		t.Logf("%s failed in %v: %v", name, took.Round(time.Millisecond), err)
	}

	// Back on the same port, empty (no persistence): the Store recovers.
	// go-redis keeps refusing to dial for up to a second after a run of dial
	// failures (it probes once a second), separately for single commands and
	// for pipelines, so wait for one of each.
	mustNil(t, srv.start())
	back := time.Now()
	eventually(t, 10*time.Second, "the Store did not recover after Redis came back", func() bool {
		_, err := s.Online(ctx) // one single command
		return err == nil && s.Touch(ctx, 1, "a", "g1") == nil
	})
	t.Logf("working again %v after Redis came back", time.Since(back).Round(time.Millisecond))
	wantServers(t, s, []string{"a"}, map[string][]string{"g1": {"a"}})
	mustNil(t, s.Add(ctx, 2, "b", "g1"))
	wantMids(t, s, []int64{1, 2}, map[string][]string{"g1": {"a", "b"}})
	mustNil(t, s.Remove(ctx, 1, "a", "g1"))
	wantServers(t, s, []string{"a", "b"}, map[string][]string{"g1": {"b"}})
	if n, err := s.NextRoomSeq(ctx, "live://1"); err != nil || n != 1 {
		t.Fatalf("NextRoomSeq after the restart = %d, %v; want 1 (counters were lost with the data)", n, err)
	}
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g1"}))
	if names := gatewayNames(t, s); len(names) != 1 {
		t.Fatalf("Gateways after the restart = %q", names)
	}
}

// hungServer accepts connections and never answers, like a Redis stuck in a
// long command or a host whose process is frozen.
func hungServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// A Redis that accepts but does not answer: New gives up after DialTimeout +
// ReadTimeout; a call gives up after its context's deadline, or after about
// two ReadTimeouts (one retry) without one.
func TestRedisHangs(t *testing.T) {
	t.Parallel()
	addr := hungServer(t)
	cfg := Config{Addrs: []string{addr}, DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond}
	start := time.Now()
	if _, err := New(cfg); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("New against a hung server: %v after %v, want an error within 2s", err, time.Since(start))
	}
	t.Logf("New gave up after %v", time.Since(start).Round(time.Millisecond))

	// The client New would make, without New's PING.
	rdb := redis.NewUniversalClient(clientOptions(cfg.withDefaults()))
	t.Cleanup(func() { _ = rdb.Close() })
	s := NewFromClient(rdb, cfg)
	start = time.Now()
	if err := s.Touch(ctx, 1, "a", "g1"); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Touch against a hung server: %v after %v, want an error within 2s", err, time.Since(start))
	}
	t.Logf("Touch gave up after %v", time.Since(start).Round(time.Millisecond))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.NextRoomSeq(short, "live://1"); err == nil || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("NextRoomSeq with a 100ms deadline: %v after %v", err, time.Since(start))
	}
}
