package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
	"github.com/barrage/barrage/upstream/redisstore"
)

func TestRedisUnreachableAtStartIsAClearError(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, err := loadConfig("t", []string{"-redis.addrs", dead, "-http.addr", "127.0.0.1:0", "-rpc.logic_addr", "127.0.0.1:0",
		"-gateway.tcp_addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-gateway.ws_addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for name, start := range map[string]func(*Config, *slog.Logger) (*role, error){
		"logic": startLogic, "job": startJob, "gateway": startGateway} {
		_, err := start(cfg, quiet())
		if err == nil || !strings.Contains(err.Error(), "redis") || !strings.Contains(err.Error(), dead) {
			t.Fatalf("%s with Redis down: %v", name, err)
		}
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("took %v to report Redis down", time.Since(start))
	}
}

// Redis lost while running: connected clients keep receiving room pushes
// (unsequenced), new auths fail with a reason, and service resumes with Redis.
func TestRedisLostWhileRunning(t *testing.T) {
	d := startDist(t)
	_, rec := d.dial(d.gws["gw-a"], client.TCP, 1, "survivor", "live://r")
	h := d.httpStack()
	d.redis.kill()
	if got := h.post(t, "/goim/push/room?operation=1000&type=live&room=r", "still-here"); got != `{"code":0,"message":""}` {
		t.Fatalf("room push with Redis down: %s", got)
	}
	got := rec.wait(t, 1)
	if got[0] != "1000:still-here" || rec.seqs(1)[0] != 0 {
		t.Fatalf("got %v seq %v, want the push unsequenced (seq 0)", got, rec.seqs(1))
	}
	_, err := client.Dial(context.Background(), client.Options{Addr: d.gws["gw-b"].tcp, DialTimeout: 5 * time.Second,
		Auth: codec.AuthBody{Mid: 2, Key: "newcomer", RoomID: "live://r"}})
	if err == nil {
		t.Fatal("auth succeeded with Redis down")
	}
	// Redis back on the same port: new clients get in again.
	port, _ := strconv.Atoi(d.redis.addr[strings.LastIndex(d.redis.addr, ":")+1:])
	d.redis = startRedis(t, port)
	waitFor(t, 10*time.Second, "auth after Redis restart", func() bool {
		c, err := client.Dial(context.Background(), client.Options{Addr: d.gws["gw-b"].tcp,
			Auth: codec.AuthBody{Mid: 2, Key: "newcomer", RoomID: "live://r"}})
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func TestKafkaUnreachableMakesThePushAPIFail(t *testing.T) {
	d := startDist(t)
	d.kafkaC.Close()
	got := d.httpStack().post(t, "/goim/push/room?operation=1000&type=live&room=1", "lost?")
	if !strings.Contains(got, `"code":-500`) {
		t.Fatalf("push with Kafka down answered %s", got)
	}
}

// A killed gateway leaves the registry when its entry expires, job stops
// routing to it, and logic removes its routes.
func TestKilledGatewayIsForgotten(t *testing.T) {
	d := startDist(t)
	victim := d.gws["gw-b"]
	d.dial(victim, client.TCP, 5, "on-victim", "live://k")
	store, err := redisstore.New(redisstore.Config{Addrs: []string{d.redis.addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if m, _ := store.ServersByKeys(ctx, []string{"on-victim"}); len(m["gw-b"]) != 1 {
		t.Fatalf("route before the kill: %v", m)
	}
	if err := victim.r.crash(); err != nil {
		t.Logf("crash: %v", err)
	}
	waitFor(t, 15*time.Second, "registry entry expired", func() bool {
		list, err := store.Gateways(ctx)
		if err != nil {
			return false
		}
		for _, g := range list {
			if g.Name == "gw-b" {
				return false
			}
		}
		return true
	})
	waitFor(t, 15*time.Second, "routes of the dead gateway removed", func() bool {
		m, err := store.ServersByKeys(ctx, []string{"on-victim"})
		return err == nil && len(m) == 0
	})
	// The survivor still gets room pushes.
	_, rec := d.dial(d.gws["gw-a"], client.TCP, 6, "on-survivor", "live://k")
	d.httpStack().post(t, "/goim/push/room?operation=1000&type=live&room=k", "after")
	if got := rec.wait(t, 1); got[0] != "1000:after" {
		t.Fatalf("got %v", got)
	}
}

// Logic restarted on the same address: gateways reconnect by themselves.
func TestLogicRestartNeedsNoManualStep(t *testing.T) {
	d := startDist(t)
	if err := d.logic.stop(); err != nil {
		t.Logf("stop logic: %v", err)
	}
	d.startLogic()
	var rec *recorder
	waitFor(t, 10*time.Second, "auth through the restarted logic", func() bool {
		r := newRecorder()
		c, err := client.Dial(context.Background(), client.Options{Addr: d.gws["gw-a"].tcp, OnPush: r.onPush,
			Auth: codec.AuthBody{Mid: 3, Key: "after-restart", RoomID: "live://x", Accepts: []int32{1000}}})
		if err != nil {
			return false
		}
		t.Cleanup(func() { c.Close() })
		rec = r
		return true
	})
	d.httpStack().post(t, "/goim/push/keys?operation=1000&keys=after-restart", "hello again")
	if got := rec.wait(t, 1); got[0] != "1000:hello again" {
		t.Fatalf("got %v", got)
	}
}
