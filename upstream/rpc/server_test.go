package rpc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServerLifecycle(t *testing.T) {
	core := &fakeCore{}
	s, err := NewLogicServer("127.0.0.1:0", core, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "127.0.0.1:0" {
		t.Errorf("Addr before Start = %q, want the configured address", s.Addr())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if _, port, _ := net.SplitHostPort(s.Addr()); port == "0" || port == "" {
		t.Errorf("Addr after Start = %q, want the bound port", s.Addr())
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}

	// The port is taken: a second server on it fails at Start, not later.
	s2, err := NewGatewayServer(s.Addr(), gatewayFake{core}, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(); err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("Start on a taken port = %v, want an error naming %s", err, s.Addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(began))
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Stop succeeded")
	}
	if err := s2.Stop(ctx); err != nil {
		t.Errorf("Stop of a server that never started = %v", err)
	}
}

func TestConstructorErrors(t *testing.T) {
	core := &fakeCore{}
	for name, f := range map[string]func() error{
		"logic nil core":   func() error { _, err := NewLogicServer(":0", nil, nil); return err },
		"push nil core":    func() error { _, err := NewPushServer(":0", nil, nil); return err },
		"gateway nil core": func() error { _, err := NewGatewayServer(":0", nil, nil, nil); return err },
		"empty addr":       func() error { _, err := NewLogicServer("", core, nil); return err },
		"bad addr":         func() error { _, err := NewLogicServer("localhost", core, nil); return err },
		"no client addrs":  func() error { _, err := NewLogicClient(nil, 0); return err },
		"bad client addr":  func() error { _, err := NewPushClient([]string{"127.0.0.1:1", "nohost"}, 0); return err },
		"bad gateway addr": func() error { _, err := NewGatewayClient("", 0); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "rpc: ") {
			t.Errorf("%s: error %q does not say where it comes from", name, err)
		}
	}
	if _, err := NewLogicServer(":0", nil, nil); !errors.Is(err, errNilCore) {
		t.Errorf("nil core error = %v", err)
	}
}

// A context deadline shorter than the client's timeout bounds the call.
func TestContextDeadlineWins(t *testing.T) {
	core := &slowGateway{delay: 600 * time.Millisecond} // within Stop's grace period
	s, err := NewGatewayServer("127.0.0.1:0", core, nil, quiet)
	start(t, s, err)
	c, err := NewGatewayClient(s.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = c.Broadcast(ctx, 1, nil, 0)
	if err == nil {
		t.Fatal("slow call succeeded")
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("call returned after %v, want about the 100ms context deadline", d)
	}
}

type slowGateway struct {
	nopGateway
	delay time.Duration
}

func (s *slowGateway) Broadcast(int32, []byte, int) error { time.Sleep(s.delay); return nil }

// A panicking core fails the call, not the process, and the server goes on.
func TestHandlerPanic(t *testing.T) {
	core := &panicGateway{}
	s, err := NewGatewayServer("127.0.0.1:0", core, nil, quiet)
	start(t, s, err)
	c, err := NewGatewayClient(s.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	if err := c.Broadcast(ctx, 1, nil, 0); err == nil {
		t.Fatal("call into a panicking core succeeded")
	}
	if n, err := c.Kick(ctx, []string{"a"}, nil, ""); err != nil || n != 1 {
		t.Errorf("next call = %d, %v; want 1, nil", n, err)
	}
}

type panicGateway struct{ nopGateway }

func (panicGateway) Broadcast(int32, []byte, int) error { panic("boom") }
func (panicGateway) Kick(keys []string, _ []int64, _ string) int {
	return len(keys)
}
