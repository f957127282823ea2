package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
	"github.com/barrage/barrage/upstream/rpc"
)

// Metrics appear and move when traffic flows, scraped over HTTP from the
// embedded stack and from each distributed role (docs/OBSERVABILITY.md).

// sample is one exposition line: a name, its labels and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads http://addr/metrics in the text format.
func scrape(t *testing.T, addr string) []sample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d, %v", addr, resp.StatusCode, err)
	}
	var out []sample
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			t.Fatalf("scrape %s: %v", addr, err)
		}
		out = append(out, s)
	}
	return out
}

// parseSample parses `name{k="v",...} value` (no timestamps: promhttp writes none).
func parseSample(line string) (sample, error) {
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return sample{}, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return sample{}, fmt.Errorf("value of %q: %w", line, err)
	}
	s := sample{value: v, labels: map[string]string{}}
	head := line[:sp]
	brace := strings.IndexByte(head, '{')
	if brace < 0 {
		s.name = head
		return s, nil
	}
	s.name = head[:brace]
	rest := strings.TrimSuffix(head[brace+1:], "}")
	for rest != "" {
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return sample{}, fmt.Errorf("bad labels in %q", line)
		}
		key := rest[:eq]
		var val strings.Builder
		i := eq + 2
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			val.WriteByte(rest[i])
		}
		s.labels[key] = val.String()
		rest = strings.TrimPrefix(rest[min(i+1, len(rest)):], ",")
	}
	return s, nil
}

// find returns the value of the series name with (at least) these labels.
func find(samples []sample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range labels {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// series names one expected series; want says how it must compare with the
// scrape before traffic.
type series struct {
	name   string
	labels map[string]string
	want   string // "moves": after > before; "exists": present (any value)
}

func lbl(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// checkSeries re-scrapes addr until every expectation holds or 10 s pass:
// counters bumped after the client saw its message (job counts a delivery
// when the gateway's answer arrives) may lag the traffic slightly.
func checkSeries(t *testing.T, what, addr string, before []sample, want []series) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := scrape(t, addr)
		var fails []string
		for _, w := range want {
			a, ok := find(after, w.name, w.labels)
			switch {
			case !ok:
				fails = append(fails, fmt.Sprintf("%s%v missing", w.name, w.labels))
			case w.want == "moves":
				if b, _ := find(before, w.name, w.labels); a <= b {
					fails = append(fails, fmt.Sprintf("%s%v did not move: %v -> %v", w.name, w.labels, b, a))
				}
			}
		}
		if len(fails) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s metrics at %s:\n  %s", what, addr, strings.Join(fails, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMetricsEmbeddedMoveWithTraffic(t *testing.T) {
	st := startStack(t, "-logic.jwt_secret", "s3cret")
	before := scrape(t, st.httpAddr)
	for _, name := range []string{"barrage_redis_errors_total", "barrage_kafka_producer_messages_total"} {
		if _, ok := find(before, name, nil); ok {
			t.Errorf("embedded mode has no Redis or Kafka but exports %s", name)
		}
	}

	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"mid": 42}).SignedString([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	c, err := client.Dial(context.Background(), client.Options{Addr: st.tcp, OnPush: rec.onPush,
		Auth: codec.AuthBody{Key: "m-1", RoomID: "live://1000", Accepts: []int32{1000}, Token: tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := client.Dial(context.Background(), client.Options{Addr: st.tcp,
		Auth: codec.AuthBody{Mid: 1, RoomID: "live://1000"}}); err == nil {
		t.Fatal("auth without a token succeeded in JWT mode")
	}
	for i := 0; i < 5; i++ {
		st.post(t, "/goim/push/room?operation=1000&type=live&room=1000", fmt.Sprintf("r%d", i))
	}
	st.post(t, "/goim/push/keys?operation=1000&keys=m-1", "k")
	st.post(t, "/goim/push/mids?operation=1000&mids=42", "m")
	st.post(t, "/goim/push/all?operation=1000", "a")
	rec.wait(t, 8)
	st.post(t, "/goim/nothing", "")
	st.post(t, "/goim/kick/keys?keys=nobody-holds-this", "")

	checkSeries(t, "embedded", st.httpAddr, before, []series{
		{"barrage_gateway_delivered_messages_total", nil, "moves"},
		{"barrage_gateway_written_bytes_total", nil, "moves"},
		{"barrage_gateway_room_frames_total", nil, "moves"},
		{"barrage_gateway_accepted_total", lbl("transport", "tcp"), "moves"},
		{"barrage_gateway_connections", lbl("transport", "tcp"), "exists"},
		{"barrage_logic_pushes_total", lbl("kind", "room", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "keys", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "mids", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "all", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "room", "result", "error"), "exists"},
		{"barrage_logic_push_seconds_count", lbl("kind", "room"), "moves"},
		{"barrage_logic_auth_total", lbl("result", "ok"), "moves"},
		{"barrage_logic_auth_total", lbl("result", "rejected"), "moves"},
		{"barrage_logic_auth_seconds_count", nil, "moves"},
		{"barrage_logic_http_requests_total", lbl("route", "/goim/push/room", "code", "200", "goim_code", "0"), "moves"},
		{"barrage_logic_http_requests_total", lbl("route", "other", "code", "404", "goim_code", "none"), "moves"},
		{"barrage_logic_http_requests_total", lbl("route", "/goim/kick/keys", "code", "200", "goim_code", "0"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "kick", "result", "ok"), "exists"},
		{"go_goroutines", nil, "exists"},
		{"process_cpu_seconds_total", nil, "exists"},
	})
	if code := getStatus(t, "http://"+st.httpAddr+"/debug/pprof/"); code != http.StatusOK {
		t.Fatalf("/debug/pprof/ answered %d", code)
	}
}

// startMeteredDist is startDist with one gateway and real admin ports for the
// gateway and job, so their /metrics can be scraped.
func startMeteredDist(t *testing.T) (d *dist, jobAdmin, gwAdmin string) {
	d = &dist{t: t, redis: startRedis(t, 0), kafkaC: startKafka(t), gws: map[string]*distGateway{}}
	d.kafka = d.kafkaC.ListenAddrs()[0]
	d.logicAddr, d.httpAddr = freeAddr(t), freeAddr(t)
	jobAdmin, gwAdmin = freeAddr(t), freeAddr(t)
	d.startLogic()
	var err error
	if d.job, err = startJob(d.config("-admin.addr", jobAdmin), quiet()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.job.stop() })
	g := &distGateway{name: "gw-m", tcp: freeAddr(t), ws: freeAddr(t)}
	push := freeAddr(t)
	g.r, err = startGateway(d.config("-gateway.name", g.name, "-gateway.tcp_addr", g.tcp, "-gateway.ws_addr", g.ws,
		"-rpc.gateway_addr", push, "-rpc.gateway_advertise", push, "-admin.addr", gwAdmin), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.r.stop() })
	d.gws[g.name] = g
	d.warmUp()
	return d, jobAdmin, gwAdmin
}

func TestMetricsDistributedMoveWithTraffic(t *testing.T) {
	d, jobAdmin, gwAdmin := startMeteredDist(t)
	logicBefore, jobBefore, gwBefore := scrape(t, d.httpAddr), scrape(t, jobAdmin), scrape(t, gwAdmin)

	_, rec := d.dial(d.gws["gw-m"], client.TCP, 7, "m-7", "live://1000")
	h := d.httpStack()
	for i := 0; i < 5; i++ {
		h.post(t, "/goim/push/room?operation=1000&type=live&room=1000", fmt.Sprintf("r%d", i))
	}
	h.post(t, "/goim/push/keys?operation=1000&keys=m-7", "k")
	h.post(t, "/goim/push/mids?operation=1000&mids=7", "m")
	rec.wait(t, 7)

	checkSeries(t, "logic", d.httpAddr, logicBefore, []series{
		{"barrage_logic_pushes_total", lbl("kind", "room", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "keys", "result", "ok"), "moves"},
		{"barrage_logic_pushes_total", lbl("kind", "mids", "result", "ok"), "moves"},
		{"barrage_logic_push_seconds_count", lbl("kind", "room"), "moves"},
		{"barrage_logic_auth_total", lbl("result", "ok"), "moves"}, // the Connect came over Kitex
		{"barrage_logic_http_requests_total", lbl("route", "/goim/push/room", "code", "200", "goim_code", "0"), "moves"},
		{"barrage_kafka_producer_messages_total", nil, "moves"},
		{"barrage_kafka_producer_writes_total", nil, "moves"},
		{"barrage_kafka_producer_errors_total", nil, "exists"},
		{"barrage_kafka_producer_batch_messages_max", nil, "exists"},
		{"barrage_kafka_producer_write_seconds_avg", nil, "exists"},
		{"barrage_redis_errors_total", lbl("op", "servers_by_keys"), "exists"},
		{"barrage_redis_errors_total", lbl("op", "add"), "exists"},
		{"go_goroutines", nil, "exists"},
	})
	checkSeries(t, "job", jobAdmin, jobBefore, []series{
		{"barrage_job_consumed_total", nil, "moves"},
		{"barrage_job_delivered_total", lbl("kind", "room"), "moves"},
		{"barrage_job_delivered_total", lbl("kind", "keys"), "moves"},
		{"barrage_job_commits_total", nil, "moves"},
		{"barrage_job_kafka_lag_messages", nil, "exists"},
		{"barrage_job_gateways", nil, "exists"},
		{"barrage_job_gateways_down", nil, "exists"},
		{"barrage_job_breaker_dropped_total", nil, "exists"},
		{"process_resident_memory_bytes", nil, "exists"},
	})
	if v, _ := find(scrape(t, jobAdmin), "barrage_job_gateways", nil); v != 1 {
		t.Errorf("barrage_job_gateways = %v, want 1", v)
	}
	checkSeries(t, "gateway", gwAdmin, gwBefore, []series{
		{"barrage_gateway_delivered_messages_total", nil, "moves"},
		{"barrage_gateway_pushes_total", lbl("kind", "room"), "moves"},
		{"barrage_gateway_auth_total", lbl("result", "ok"), "moves"},
		{"barrage_gateway_registry_heartbeat_errors_total", nil, "exists"},
		{"barrage_gateway_registry_revived_total", nil, "exists"},
	})
	for _, addr := range []string{jobAdmin, gwAdmin} {
		if code := getStatus(t, "http://"+addr+"/debug/pprof/"); code != http.StatusOK {
			t.Fatalf("%s/debug/pprof/ answered %d", addr, code)
		}
	}

	// A mid push over Kitex PushAPI is counted as mids too: the wrapper is
	// what the Kitex server serves.
	logicBefore = scrape(t, d.httpAddr)
	pc, err := rpc.NewPushClient([]string{d.logicAddr}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.PushMids(context.Background(), 1000, []int64{7}, []byte("kitex")); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 1)
	checkSeries(t, "logic after a Kitex push", d.httpAddr, logicBefore, []series{
		{"barrage_logic_pushes_total", lbl("kind", "mids", "result", "ok"), "moves"},
	})

	// Redis gone: logic's lookups and the gateway's heartbeat count errors.
	logicBefore, gwBefore = scrape(t, d.httpAddr), scrape(t, gwAdmin)
	d.redis.kill()
	h.post(t, "/goim/push/keys?operation=1000&keys=m-7", "lost")
	checkSeries(t, "logic without redis", d.httpAddr, logicBefore, []series{
		{"barrage_redis_errors_total", lbl("op", "servers_by_keys"), "moves"},
		{"barrage_logic_http_requests_total", lbl("route", "/goim/push/keys", "code", "200", "goim_code", "-500"), "moves"},
	})
	checkSeries(t, "gateway without redis", gwAdmin, gwBefore, []series{
		{"barrage_gateway_registry_heartbeat_errors_total", nil, "moves"},
	})
}
