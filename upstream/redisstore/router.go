package redisstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Routes: three keys per connection, written together in one pipeline (one
// round trip; on a cluster one per node involved, in parallel):
//
//	key:<key>            "<mid>|<server>"                 PX RouteTTL
//	mid:<mid>            field <key> = "<expMs>|<server>" PX RouteTTL (mid 0 is not indexed)
//	gw:<server>:routes   member "<mid>|<key>"             PX RouteTTL
//
// They are separate single-key commands, not one transaction, so a reader may
// briefly see one without the others; each is correct on its own and the
// next Touch repairs any that a failure left behind.

// Add records that server holds key of mid. A key already recorded elsewhere
// moves (the newest connection wins); if it belonged to another mid or
// server, the old mid's field and the old server's set member are removed so
// a push to the old mid cannot reach the new owner of the key.
func (s *Store) Add(ctx context.Context, mid int64, key, server string) error {
	now := time.Now()
	ttl := s.cfg.RouteTTL
	p := s.rdb.Pipeline()
	old := p.SetArgs(ctx, s.keys.route(key), joinNum(mid, server), redis.SetArgs{TTL: ttl, Get: true})
	if mid != 0 {
		scriptMidPut.run(ctx, p, s.keys.mid(mid), key, joinNum(now.Add(ttl).UnixMilli(), server), ttl.Milliseconds(), now.UnixMilli())
	}
	s.queueGwRoute(ctx, p, server, mid, key)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("redisstore: add route mid %d key %q on %q: %w", mid, key, server, err)
	}
	oldMid, oldServer, ok := splitNum(old.Val())
	if !ok || (oldMid == mid && oldServer == server) {
		return nil
	}
	p = s.rdb.Pipeline()
	if oldMid != mid && oldMid != 0 {
		scriptMidDelIf.run(ctx, p, s.keys.mid(oldMid), key, oldServer)
	}
	p.SRem(ctx, s.keys.gwRoutes(oldServer), joinNum(oldMid, key))
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("redisstore: add route mid %d key %q on %q: forget its old route (mid %d on %q): %w",
			mid, key, server, oldMid, oldServer, err)
	}
	return nil
}

// Remove forgets key if server still holds it. A Remove from a server that no
// longer holds the key (a late disconnect after the client reconnected
// elsewhere with the same key) leaves the newer route alone.
func (s *Store) Remove(ctx context.Context, mid int64, key, server string) error {
	p := s.rdb.Pipeline()
	scriptRouteDelIf.run(ctx, p, s.keys.route(key), server)
	if mid != 0 {
		scriptMidDelIf.run(ctx, p, s.keys.mid(mid), key, server)
	}
	p.SRem(ctx, s.keys.gwRoutes(server), joinNum(mid, key))
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("redisstore: remove route mid %d key %q on %q: %w", mid, key, server, err)
	}
	return nil
}

// Touch extends the route's life by RouteTTL, re-creating it if it expired or
// was never recorded (lost with a Redis restart, say). It does not take a key
// over from another server that holds it: that server's connection is newer,
// and a heartbeat from the old one must not pull pushes back to it.
func (s *Store) Touch(ctx context.Context, mid int64, key, server string) error {
	now := time.Now()
	ttl := s.cfg.RouteTTL
	p := s.rdb.Pipeline()
	scriptRouteTouch.run(ctx, p, s.keys.route(key), joinNum(mid, server), server, ttl.Milliseconds())
	if mid != 0 {
		scriptMidTouch.run(ctx, p, s.keys.mid(mid), key, joinNum(now.Add(ttl).UnixMilli(), server), server,
			ttl.Milliseconds(), now.UnixMilli())
	}
	s.queueGwRoute(ctx, p, server, mid, key)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("redisstore: touch route mid %d key %q on %q: %w", mid, key, server, err)
	}
	return nil
}

// queueGwRoute adds the route to the server's set, which lives as long as the
// server keeps recording or refreshing routes.
func (s *Store) queueGwRoute(ctx context.Context, p redis.Pipeliner, server string, mid int64, key string) {
	set := s.keys.gwRoutes(server)
	p.SAdd(ctx, set, joinNum(mid, key))
	p.PExpire(ctx, set, s.cfg.RouteTTL)
}

// ServersByKeys groups the live keys among keys by the server holding them, in
// the order given, without duplicates; unknown and expired keys are dropped.
// One pipelined GET per key: one round trip (per node on a cluster, where a
// multi-key MGET across slots is not allowed).
func (s *Store) ServersByKeys(ctx context.Context, keys []string) (map[string][]string, error) {
	out := make(map[string][]string)
	if len(keys) == 0 {
		return out, nil
	}
	uniq := make([]string, 0, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			uniq = append(uniq, k)
		}
	}
	p := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(uniq))
	for i, k := range uniq {
		gets[i] = p.Get(ctx, s.keys.route(k))
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("redisstore: look up servers of %d keys: %w", len(uniq), err)
	}
	for i, g := range gets {
		if _, server, ok := splitNum(g.Val()); ok {
			out[server] = append(out[server], uniq[i])
		}
	}
	return out, nil
}

// KeysByMids returns server -> live keys of those mids, each server's keys
// sorted so results are reproducible. Connections whose field expired (no
// Touch within RouteTTL) are left out even while the mid's hash lives on
// because of its other connections. mid 0 is not indexed and yields nothing.
func (s *Store) KeysByMids(ctx context.Context, mids []int64) (map[string][]string, error) {
	out := make(map[string][]string)
	uniq := make([]int64, 0, len(mids))
	seen := make(map[int64]struct{}, len(mids))
	for _, m := range mids {
		if _, dup := seen[m]; !dup && m != 0 {
			seen[m] = struct{}{}
			uniq = append(uniq, m)
		}
	}
	if len(uniq) == 0 {
		return out, nil
	}
	p := s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(uniq))
	for i, m := range uniq {
		gets[i] = p.HGetAll(ctx, s.keys.mid(m))
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("redisstore: look up keys of %d mids: %w", len(uniq), err)
	}
	nowMs := time.Now().UnixMilli()
	for _, g := range gets {
		for key, v := range g.Val() {
			if exp, server, ok := splitNum(v); ok && exp > nowMs {
				out[server] = append(out[server], key)
			}
		}
	}
	for _, ks := range out {
		sort.Strings(ks)
	}
	return out, nil
}
