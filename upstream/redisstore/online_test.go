package redisstore

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

func TestNextRoomSeqContiguous(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	const workers, each = 20, 50
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			mine := make([]int64, 0, each)
			for range each {
				n, err := s.NextRoomSeq(ctx, "live://1000")
				if err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, n)
			}
			mu.Lock()
			got = append(got, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(got)
	if len(got) != workers*each {
		t.Fatalf("got %d numbers, want %d", len(got), workers*each)
	}
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("sorted numbers[%d] = %d, want %d (gap or duplicate)", i, n, i+1)
		}
	}
	// Rooms count independently, and the counter has no TTL.
	if n, err := s.NextRoomSeq(ctx, "live://2000"); err != nil || n != 1 {
		t.Fatalf("first number of another room = %d, %v; want 1", n, err)
	}
	if ttl := s.rdb.PTTL(ctx, s.keys.seq("live://1000")).Val(); ttl != -1 {
		t.Fatalf("sequence counter has TTL %v, want none", ttl)
	}
}

func TestRenewOnlineSumsAndForgets(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	s := newStore(t, Config{OnlineTTL: ttl})
	g1 := logic.Online{Rooms: map[string]int32{"live://1": 3, "live://2": 1}, Conns: 4, IPs: 2}
	g2 := logic.Online{Rooms: map[string]int32{"live://1": 2}, Conns: 2, IPs: 2}
	if _, err := s.RenewOnline(ctx, "g1", g1); err != nil {
		t.Fatal(err)
	}
	sum, err := s.RenewOnline(ctx, "g2", g2)
	mustNil(t, err)
	if want := map[string]int32{"live://1": 5, "live://2": 1}; !reflect.DeepEqual(sum, want) {
		t.Fatalf("RenewOnline = %v, want %v", sum, want)
	}
	on, err := s.Online(ctx)
	mustNil(t, err)
	want := logic.Online{Rooms: map[string]int32{"live://1": 5, "live://2": 1}, Conns: 6, IPs: 4}
	if !reflect.DeepEqual(on, want) {
		t.Fatalf("Online = %+v, want %+v", on, want)
	}

	// g2 keeps renewing, g1 stops: once OnlineTTL has passed g1 is forgotten.
	time.Sleep(ttl * 6 / 10)
	_, err = s.RenewOnline(ctx, "g2", g2)
	mustNil(t, err)
	time.Sleep(ttl*6/10 + 50*time.Millisecond)
	sum, err = s.RenewOnline(ctx, "g2", g2)
	mustNil(t, err)
	if want := map[string]int32{"live://1": 2}; !reflect.DeepEqual(sum, want) {
		t.Fatalf("RenewOnline after g1 expired = %v, want %v", sum, want)
	}
	on, err = s.Online(ctx)
	mustNil(t, err)
	if on.Conns != 2 || on.IPs != 2 {
		t.Fatalf("Online after g1 expired = %+v, want Conns 2, IPs 2", on)
	}

	// A deregistered gateway's counts go at once.
	mustNil(t, s.DeregisterGateway(ctx, "g2"))
	on, err = s.Online(ctx)
	mustNil(t, err)
	if len(on.Rooms) != 0 || on.Conns != 0 {
		t.Fatalf("Online after g2 deregistered = %+v, want zero", on)
	}
}

func TestOnlineEmpty(t *testing.T) {
	t.Parallel()
	s := newStore(t, Config{})
	on, err := s.Online(ctx)
	mustNil(t, err)
	if on.Rooms == nil || len(on.Rooms) != 0 || on.Conns != 0 || on.IPs != 0 {
		t.Fatalf("Online with no gateways = %+v, want zero counts and an empty map", on)
	}
	sum, err := s.RenewOnline(ctx, "g1", logic.Online{})
	mustNil(t, err)
	if len(sum) != 0 {
		t.Fatalf("RenewOnline with no rooms = %v, want empty", sum)
	}
}
