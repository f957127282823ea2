package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/barrage/barrage/upstream/logic"
	"github.com/redis/go-redis/v9"
)

// onlineRecord is one gateway's counts as stored in online:<server>. Written
// whole with one SET, so a reader never sees half an update.
type onlineRecord struct {
	Rooms map[string]int32 `json:"rooms,omitempty"`
	Conns int64            `json:"conns"`
	IPs   int64            `json:"ips"`
}

// RenewOnline records one gateway's counts for OnlineTTL and returns the room
// counts summed over every gateway whose counts have not expired, this one
// included. Two round trips: write + list the gateways, then read their
// counts. Each call reads every live gateway's record (gateways x rooms
// entries), which is what lets a gateway answer heartbeats with global counts.
func (s *Store) RenewOnline(ctx context.Context, server string, counts logic.Online) (map[string]int32, error) {
	data, err := json.Marshal(onlineRecord{Rooms: counts.Rooms, Conns: counts.Conns, IPs: counts.IPs})
	if err != nil {
		return nil, fmt.Errorf("redisstore: renew online counts of %q: encode: %w", server, err)
	}
	now := time.Now()
	ttl := s.cfg.OnlineTTL
	p := s.rdb.Pipeline()
	p.Set(ctx, s.keys.online(server), data, ttl)
	p.ZAdd(ctx, s.keys.onlineIndex(), redis.Z{Score: float64(now.Add(ttl).UnixMilli()), Member: server})
	// Index entries are pruned an extra OnlineTTL after their expiry, so a
	// logic host whose clock runs ahead cannot drop a live gateway: liveness
	// itself is the record's TTL, kept by Redis's clock.
	p.ZRemRangeByScore(ctx, s.keys.onlineIndex(), "-inf", "("+strconv.FormatInt(now.Add(-ttl).UnixMilli(), 10))
	names := p.ZRange(ctx, s.keys.onlineIndex(), 0, -1)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("redisstore: renew online counts of %q: %w", server, err)
	}
	sum, err := s.sumOnline(ctx, names.Val())
	if err != nil {
		return nil, fmt.Errorf("redisstore: renew online counts of %q: %w", server, err)
	}
	return sum.Rooms, nil
}

// Online reports the totals over the gateways whose counts have not expired:
// room counts and connections summed. IPs is summed too, so it is an upper
// bound: a client address with connections on two gateways counts twice.
func (s *Store) Online(ctx context.Context) (logic.Online, error) {
	names, err := s.rdb.ZRange(ctx, s.keys.onlineIndex(), 0, -1).Result()
	if err != nil {
		return logic.Online{}, fmt.Errorf("redisstore: online counts: list gateways: %w", err)
	}
	on, err := s.sumOnline(ctx, names)
	if err != nil {
		return logic.Online{}, fmt.Errorf("redisstore: online counts: %w", err)
	}
	return on, nil
}

// sumOnline reads the named gateways' records in one pipeline and adds them
// up. Expired records (gone from Redis) are skipped, and so are records that
// do not decode (written by an incompatible version): one bad gateway must not
// take the online API down.
func (s *Store) sumOnline(ctx context.Context, names []string) (logic.Online, error) {
	on := logic.Online{Rooms: make(map[string]int32)}
	if len(names) == 0 {
		return on, nil
	}
	p := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(names))
	for i, n := range names {
		gets[i] = p.Get(ctx, s.keys.online(n))
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return on, fmt.Errorf("read the counts of %d gateways: %w", len(names), err)
	}
	rooms := make(map[string]int64)
	for _, g := range gets {
		raw, err := g.Bytes()
		if err != nil {
			continue // expired
		}
		var rec onlineRecord
		if json.Unmarshal(raw, &rec) != nil {
			continue
		}
		for room, n := range rec.Rooms {
			rooms[room] += int64(n)
		}
		on.Conns += rec.Conns
		on.IPs += rec.IPs
	}
	for room, n := range rooms {
		if n > 0 {
			on.Rooms[room] = int32(min(n, math.MaxInt32))
		}
	}
	return on, nil
}
