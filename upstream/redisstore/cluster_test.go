package redisstore

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
	"github.com/redis/go-redis/v9"
)

// clusterPort returns a free port whose cluster bus port (port + 10000) is
// free too.
func clusterPort(tb testing.TB) int {
	for range 50 {
		p := freePort()
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p
	}
	tb.Skip("no free port pair (port, port+10000) for a cluster node")
	return 0
}

// startCluster starts three masters and joins them with redis-cli --cluster
// create, skipping the test if that is not possible here.
func startCluster(t *testing.T) []string {
	needRedis(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not on PATH: cannot create a Redis Cluster")
	}
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := clusterPort(t)
		srv, err := startRedis(port, dir, "--cluster-enabled", "yes",
			"--cluster-config-file", fmt.Sprintf("%s/nodes-%d.conf", dir, i), "--cluster-node-timeout", "5000")
		if err != nil {
			t.Skipf("cannot start a cluster node: %v", err)
		}
		t.Cleanup(srv.stop)
		addrs = append(addrs, srv.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Skipf("redis-cli --cluster create failed (%v): %s", err, out)
	}
	// Wait until every node agrees the cluster is up.
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for {
			info, _ := c.ClusterInfo(context.Background()).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				t.Skipf("cluster at %v did not reach cluster_state:ok: %s", addrs, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = c.Close()
	}
	return addrs
}

func TestCluster(t *testing.T) {
	t.Parallel()
	addrs := startCluster(t)
	s, err := New(Config{Addrs: addrs, GatewayTTL: 300 * time.Millisecond, CleanupGrace: time.Millisecond})
	mustNil(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if _, ok := s.rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("three addresses gave a %T, want *redis.ClusterClient", s.rdb)
	}

	// Routes, spread over every slot range.
	const n = 300
	keys := make([]string, n)
	mids := make([]int64, n)
	for i := range n {
		keys[i], mids[i] = "key-"+strconv.Itoa(i), int64(i+1)
		mustNil(t, s.Add(ctx, mids[i], keys[i], fmt.Sprintf("g%d", i%2)))
	}
	byKeys, err := s.ServersByKeys(ctx, append(keys, "unknown"))
	mustNil(t, err)
	byMids, err := s.KeysByMids(ctx, append(mids, 100000))
	mustNil(t, err)
	for _, got := range []map[string][]string{byKeys, byMids} {
		if len(got["g0"])+len(got["g1"]) != n || len(got) != 2 {
			t.Fatalf("lookup found %d+%d keys on %d servers, want %d on 2", len(got["g0"]), len(got["g1"]), len(got), n)
		}
	}
	cc := s.rdb.(*redis.ClusterClient)
	var mu sync.Mutex
	var sizes []int64
	mustNil(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
		return err
	}))
	if len(sizes) != 3 || slices.Contains(sizes, 0) {
		t.Fatalf("keys per master %v: want keys on all 3 masters", sizes)
	}

	// A moved key survives the old server's late Remove and Touch.
	mustNil(t, s.Add(ctx, 1, "key-0", "g1"))
	mustNil(t, s.Touch(ctx, 1, "key-0", "g0"))
	mustNil(t, s.Remove(ctx, 1, "key-0", "g0"))
	wantServers(t, s, []string{"key-0"}, map[string][]string{"g1": {"key-0"}})
	wantMids(t, s, []int64{1}, map[string][]string{"g1": {"key-0"}})
	mustNil(t, s.Remove(ctx, 1, "key-0", "g1"))
	wantServers(t, s, []string{"key-0"}, map[string][]string{})

	// Sequencer.
	var wg sync.WaitGroup
	got := make([]int64, 0, 100)
	for range 10 {
		wg.Go(func() {
			for range 10 {
				v, err := s.NextRoomSeq(ctx, "live://c")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("cluster sequence numbers not contiguous at %d: %d", i, v)
		}
	}

	// Online counts across gateways.
	_, err = s.RenewOnline(ctx, "g0", logic.Online{Rooms: map[string]int32{"live://1": 2}, Conns: 2, IPs: 1})
	mustNil(t, err)
	sum, err := s.RenewOnline(ctx, "g1", logic.Online{Rooms: map[string]int32{"live://1": 1}, Conns: 1, IPs: 1})
	mustNil(t, err)
	if !reflect.DeepEqual(sum, map[string]int32{"live://1": 3}) {
		t.Fatalf("cluster RenewOnline = %v", sum)
	}

	// Registry and cleanup of a dead gateway.
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g0", PushAddr: "a:1"}))
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g1", PushAddr: "b:1"}))
	if names := gatewayNames(t, s); !reflect.DeepEqual(names, []string{"g0", "g1"}) {
		t.Fatalf("cluster Gateways = %q", names)
	}
	time.Sleep(350 * time.Millisecond)
	mustNil(t, s.RegisterGateway(ctx, GatewayInfo{Name: "g1", PushAddr: "b:1"}))
	removed, err := s.CleanupDeadGateways(ctx) // marks g0 missing
	mustNil(t, err)
	if len(removed) != 0 {
		t.Fatalf("cluster cleanup removed %q on first finding g0 missing", removed)
	}
	time.Sleep(5 * time.Millisecond)
	// The RENAME of g0's routes set to its dead copy runs here: two keys, one slot.
	removed, err = s.CleanupDeadGateways(ctx)
	mustNil(t, err)
	if !reflect.DeepEqual(removed, []string{"g0"}) {
		t.Fatalf("cluster cleanup removed %q, want [g0]", removed)
	}
	byKeys, err = s.ServersByKeys(ctx, keys)
	mustNil(t, err)
	if len(byKeys["g0"]) != 0 || len(byKeys["g1"]) != n/2 {
		t.Fatalf("after cleanup: %d keys on g0, %d on g1; want 0 and %d", len(byKeys["g0"]), len(byKeys["g1"]), n/2)
	}
	byMids, err = s.KeysByMids(ctx, mids)
	mustNil(t, err)
	if len(byMids["g0"]) != 0 || len(byMids["g1"]) != n/2 {
		t.Fatalf("after cleanup: mids reach %d keys on g0, %d on g1", len(byMids["g0"]), len(byMids["g1"]))
	}
}
