package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// GatewayInfo is a gateway's registry entry: where job reaches it and how
// loaded it is.
type GatewayInfo struct {
	Name     string    `json:"name"`      // the server name it records routes under
	PushAddr string    `json:"push_addr"` // host:port of its Kitex push service
	Conns    int64     `json:"conns"`     // open connections at the last heartbeat
	Updated  time.Time `json:"updated"`   // time of the last heartbeat (set by RegisterGateway when zero)
}

// RegisterGateway is a gateway's heartbeat: RegisterGatewayRevived without
// the report.
func (s *Store) RegisterGateway(ctx context.Context, info GatewayInfo) error {
	_, err := s.RegisterGatewayRevived(ctx, info)
	return err
}

// RegisterGatewayRevived is a gateway's heartbeat: it (re)writes the registry
// entry with a lifetime of GatewayTTL, marks the name as seen (so that once
// the entry stays missing for CleanupGrace, CleanupDeadGateways removes the
// gateway's routes) and clears any missing mark a cleanup left.
//
// revived reports that the entry had expired (or was deregistered) and a
// cleanup has since removed, or is removing, the routes recorded under this
// name: pushes to its connections are dropped until each connection's next
// heartbeat (logic Touch) re-creates its route. On a later heartbeat of a
// running gateway that is worth a loud log line (and an early heartbeat of
// every connection); on a process's first registration it only says the
// previous process's routes were cleaned, which is expected. A name that was
// never registered, or whose entry lapsed within the grace, is not revived.
//
// Two round trips, in order: the second (mark, seen set, cleanup state) must
// see the entry already written, so that a cleanup racing with it either
// finds the entry or is seen by it (on a cluster one pipeline's commands to
// different nodes run in parallel, in no set order).
func (s *Store) RegisterGatewayRevived(ctx context.Context, info GatewayInfo) (revived bool, err error) {
	if info.Name == "" {
		return false, errors.New("redisstore: register gateway: empty name")
	}
	if info.Updated.IsZero() {
		info.Updated = time.Now()
	}
	data, err := json.Marshal(info)
	if err != nil {
		return false, fmt.Errorf("redisstore: register gateway %q: encode: %w", info.Name, err)
	}
	old := s.rdb.SetArgs(ctx, s.keys.gwInfo(info.Name), data, redis.SetArgs{TTL: s.cfg.GatewayTTL, Get: true})
	if err := old.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("redisstore: register gateway %q: %w", info.Name, err)
	}
	p := s.rdb.Pipeline()
	p.HDel(ctx, s.keys.gwMissing(), info.Name)
	p.SAdd(ctx, s.keys.gateways(), info.Name)
	locked := p.Exists(ctx, s.keys.gwCleanup(info.Name))
	cleaned := p.GetDel(ctx, s.keys.gwCleaned(info.Name))
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return false, fmt.Errorf("redisstore: register gateway %q: clear its missing mark: %w", info.Name, err)
	}
	wasMissing := errors.Is(old.Err(), redis.Nil)
	return wasMissing && (locked.Val() > 0 || cleaned.Err() == nil), nil
}

// DeregisterGateway removes a gateway's entry and room counts at once, for a
// graceful shutdown. The name stays in the seen set and is marked missing
// since forever (0), so the next cleanup removes whatever routes its
// connections' disconnects did not, without waiting for CleanupGrace.
func (s *Store) DeregisterGateway(ctx context.Context, name string) error {
	p := s.rdb.Pipeline()
	p.Del(ctx, s.keys.gwInfo(name))
	p.Del(ctx, s.keys.online(name))
	p.ZRem(ctx, s.keys.onlineIndex(), name)
	p.HSet(ctx, s.keys.gwMissing(), name, 0)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("redisstore: deregister gateway %q: %w", name, err)
	}
	return nil
}

// Gateways lists the live registry entries, sorted by name. Entries whose
// heartbeat stopped more than GatewayTTL ago are gone and not returned.
func (s *Store) Gateways(ctx context.Context) ([]GatewayInfo, error) {
	names, err := s.rdb.SMembers(ctx, s.keys.gateways()).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list gateways: %w", err)
	}
	out := []GatewayInfo{}
	if len(names) == 0 {
		return out, nil
	}
	p := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(names))
	for i, n := range names {
		gets[i] = p.Get(ctx, s.keys.gwInfo(n))
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("redisstore: list gateways: read %d entries: %w", len(names), err)
	}
	for i, g := range gets {
		raw, err := g.Bytes()
		if err != nil {
			continue // expired: dead or deregistered
		}
		var info GatewayInfo
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("redisstore: list gateways: entry of %q is not GatewayInfo JSON: %w", names[i], err)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
