package main

import (
	"errors"
	"github.com/barrage/barrage/internal/freeport"
	"github.com/barrage/barrage/upstream/logic"

	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
	"github.com/barrage/barrage/upstream/rpc"
)

// redisServer is a throwaway redis-server on a free port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (make test installs it)")
	}
	if port == 0 {
		port = freePort(t)
	}
	r := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	waitListening(t, r.addr)
	return r
}

func (r *redisServer) kill() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	port := freePort(t)
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(4, "barrage-push"), kfake.DefaultNumPartitions(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// dist is a distributed stack in one test process: logic, job and two gateways
// talking over real sockets to redis-server and a Kafka-protocol broker.
type dist struct {
	t          *testing.T
	redis      *redisServer
	kafkaC     *kfake.Cluster
	kafka      string
	logicAddr  string
	httpAddr   string
	logic, job *role
	gws        map[string]*distGateway
}

type distGateway struct {
	name, tcp, ws string
	r             *role
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (d *dist) baseArgs() []string {
	return []string{"-redis.addrs", d.redis.addr, "-kafka.brokers", d.kafka, "-rpc.logic_addrs", d.logicAddr,
		"-redis.gateway_ttl", "2s", "-redis.online_ttl", "3s", "-log.level", "error"}
}

func (d *dist) config(extra ...string) *Config {
	d.t.Helper()
	cfg, err := loadConfig("test", append(d.baseArgs(), extra...), func(string) string { return "" })
	if err != nil {
		d.t.Fatal(err)
	}
	return cfg
}

func startDist(t *testing.T) *dist {
	t.Helper()
	d := &dist{t: t, redis: startRedis(t, 0), kafkaC: startKafka(t), gws: map[string]*distGateway{}}
	d.kafka = d.kafkaC.ListenAddrs()[0]
	d.logicAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.httpAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.startLogic()
	var err error
	d.job, err = startJob(d.config("-admin.addr", "-"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.job.stop() })
	d.startGateway("gw-a")
	d.startGateway("gw-b")
	d.warmUp()
	return d
}

// warmUp pushes into a probe room until a client on every gateway receives it:
// job has then joined its consumer group and found both gateways in the registry.
func (d *dist) warmUp() {
	d.t.Helper()
	var recs []*recorder
	var conns []*client.Conn
	for _, g := range d.gws {
		c, rec := d.dial(g, client.TCP, 999999, "warmup-"+g.name, "live://warmup")
		conns = append(conns, c)
		recs = append(recs, rec)
	}
	h := d.httpStack()
	deadline := time.Now().Add(30 * time.Second)
	for _, rec := range recs {
		for {
			h.post(d.t, "/goim/push/room?operation=1000&type=live&room=warmup", "probe")
			rec.mu.Lock()
			n := len(rec.got)
			rec.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				d.t.Fatal("distributed stack did not deliver a probe push within 30 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func (d *dist) startLogic() {
	d.t.Helper()
	r, err := startLogic(d.config("-rpc.logic_addr", d.logicAddr, "-http.addr", d.httpAddr), quiet())
	if err != nil {
		d.t.Fatal(err)
	}
	d.logic = r
	d.t.Cleanup(func() { _ = r.stop() })
}

func (d *dist) startGateway(name string) *distGateway {
	d.t.Helper()
	g := &distGateway{name: name, tcp: fmt.Sprintf("127.0.0.1:%d", freePort(d.t)), ws: fmt.Sprintf("127.0.0.1:%d", freePort(d.t))}
	push := fmt.Sprintf("127.0.0.1:%d", freePort(d.t))
	r, err := startGateway(d.config("-gateway.name", name, "-gateway.tcp_addr", g.tcp, "-gateway.ws_addr", g.ws,
		"-rpc.gateway_addr", push, "-rpc.gateway_advertise", push, "-admin.addr", "-", "-gateway.online_renew", "200ms"), quiet())
	if err != nil {
		d.t.Fatal(err)
	}
	g.r = r
	d.gws[name] = g
	d.t.Cleanup(func() { _ = r.stop() })
	return g
}

// dial connects a client to a gateway and records its pushes.
func (d *dist) dial(g *distGateway, tr client.Transport, mid int64, key, room string) (*client.Conn, *recorder) {
	d.t.Helper()
	rec := newRecorder()
	addr := g.tcp
	if tr == client.WebSocket {
		addr = g.ws
	}
	c, err := client.Dial(context.Background(), client.Options{Transport: tr, Addr: addr, OnPush: rec.onPush,
		Auth: codec.AuthBody{Mid: mid, Key: key, RoomID: room, Accepts: []int32{1000}}})
	if err != nil {
		d.t.Fatalf("dial %s: %v", g.name, err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c, rec
}

func (d *dist) httpStack() *stack { return &stack{httpAddr: d.httpAddr} }

func TestDistributedPushesAcrossTwoGateways(t *testing.T) {
	d := startDist(t)
	a, b := d.gws["gw-a"], d.gws["gw-b"]
	_, recA := d.dial(a, client.TCP, 7, "k-a", "live://1000")
	_, recB := d.dial(b, client.WebSocket, 7, "k-b", "live://1000")
	_, recC := d.dial(b, client.TCP, 8, "k-c", "live://1000")
	h := d.httpStack()
	const ok = `{"code":0,"message":""}`

	// A mid with connections on both gateways gets the push on both.
	if got := h.post(t, "/goim/push/mids?operation=1000&mids=7", "to-7"); got != ok {
		t.Fatalf("push mids: %s", got)
	}
	for _, rec := range []*recorder{recA, recB} {
		if got := rec.wait(t, 1); got[0] != "1000:to-7" {
			t.Fatalf("mid push got %v", got)
		}
	}
	// A key push reaches only its gateway's connection.
	h.post(t, "/goim/push/keys?operation=1000&keys=k-c", "to-c")
	if got := recC.wait(t, 1); got[0] != "1000:to-c" {
		t.Fatalf("key push got %v", got)
	}
	// Room pushes: every member once, in order, contiguous seqs.
	for i := 0; i < 30; i++ {
		h.post(t, "/goim/push/room?operation=1000&type=live&room=1000", fmt.Sprintf("r%02d", i))
	}
	for name, rec := range map[string]*recorder{"a": recA, "b": recB, "c": recC} {
		got := rec.wait(t, 30)
		seqs := rec.seqs(30)
		for i := range got {
			if got[i] != fmt.Sprintf("1000:r%02d", i) || seqs[i] != seqs[0]+int32(i) {
				t.Fatalf("%s: message %d = %s seq %d (all %v, seqs %v)", name, i, got[i], seqs[i], got, seqs)
			}
		}
	}
	// Nothing extra arrived (no duplicates through Kafka redelivery or double fan-out).
	time.Sleep(300 * time.Millisecond)
	for name, rec := range map[string]*recorder{"a": recA, "b": recB, "c": recC} {
		rec.mu.Lock()
		n := len(rec.got)
		rec.mu.Unlock()
		if n != 0 {
			t.Fatalf("%s got %d extra pushes", name, n)
		}
	}
	// The Kitex push API gives the same results as HTTP.
	pc, err := rpc.NewPushClient([]string{d.logicAddr}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.PushMids(context.Background(), 1000, []int64{8}, []byte("kitex")); err != nil {
		t.Fatal(err)
	}
	if got := recC.wait(t, 1); got[0] != "1000:kitex" {
		t.Fatalf("kitex mid push got %v", got)
	}
	if err := pc.PushRoom(context.Background(), "live", "1000", 1000, []byte("kitex-room")); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []*recorder{recA, recB, recC} {
		if got := rec.wait(t, 1); got[0] != "1000:kitex-room" {
			t.Fatalf("kitex room push got %v", got)
		}
	}
	// Online counts are aggregated over both gateways.
	waitFor(t, 5*time.Second, "aggregated online room count", func() bool {
		return h.get(t, "/goim/online/room?type=live&rooms=1000") == `{"code":0,"message":"","data":{"1000":3}}`
	})
	rooms, err := pc.OnlineRoom(context.Background(), "live", []string{"1000"})
	if err != nil || rooms["1000"] != 3 {
		t.Fatalf("kitex online room %v %v", rooms, err)
	}
	// Distinct client IPs are counted per gateway and summed, as goim does: the
	// one loopback address holds connections on both gateways, so it counts twice.
	if got := h.get(t, "/goim/online/total"); got != `{"code":0,"message":"","data":{"conn_count":3,"ip_count":2}}` {
		t.Fatalf("online total = %s", got)
	}
	if conns, ips, err := pc.OnlineTotal(context.Background()); err != nil || conns != 3 || ips != 2 {
		t.Fatalf("kitex online total = %d conns %d ips, %v", conns, ips, err)
	}
}

// A kick goes logic -> Kafka -> job -> each gateway holding a target: a mid
// with connections on both gateways loses both, a key kick through the Kitex
// PushAPI closes that key only.
func TestDistributedKick(t *testing.T) {
	d := startDist(t)
	a, b := d.gws["gw-a"], d.gws["gw-b"]
	onA, _ := d.dial(a, client.TCP, 7, "k7-a", "live://1")
	onB, _ := d.dial(b, client.WebSocket, 7, "k7-b", "live://1")
	keyed, _ := d.dial(b, client.TCP, 8, "k8", "live://1")
	bystander, _ := d.dial(a, client.TCP, 9, "k9", "live://1")
	h := d.httpStack()
	if got := h.post(t, "/goim/kick/mids?mids=7", "banned"); got != `{"code":0,"message":""}` {
		t.Fatalf("kick mids: %s", got)
	}
	pc, err := rpc.NewPushClient([]string{d.logicAddr}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.KickKeys(context.Background(), []string{"k8"}, "bye"); err != nil {
		t.Fatal(err)
	}
	expectKicked(t, map[string]*client.Conn{"mid 7 on gw-a": onA, "mid 7 on gw-b": onB, "key k8": keyed}, onB, "banned", bystander)
	if err := pc.KickMids(context.Background(), nil, "x"); !errors.Is(err, logic.ErrBadRequest) {
		t.Fatalf("kick with no mids = %v, want a bad request", err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
