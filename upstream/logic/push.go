package logic

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Receive passes a client's op-4 message to the business service.
func (l *Logic) Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error {
	if err := l.handler.Receive(ctx, mid, key, op, body); err != nil {
		return fmt.Errorf("logic: receive op %d from mid %d key %q: %w", op, mid, key, err)
	}
	return nil
}

// PushKeys delivers body to the connections with these keys. Keys nobody holds
// are skipped silently (goim does the same); an empty list is ErrNoKeys. body is
// handed over to Delivery and must not be modified afterwards.
func (l *Logic) PushKeys(ctx context.Context, op int32, keys []string, body []byte) error {
	if len(keys) == 0 {
		return ErrNoKeys
	}
	servers, err := l.router.ServersByKeys(ctx, keys)
	if err != nil {
		return fmt.Errorf("logic: push keys: look up servers: %w", err)
	}
	return l.pushServers(ctx, op, servers, body)
}

// PushMids delivers body to every connection of these users. Users with no
// connection are skipped; an empty list does nothing. body is handed over to
// Delivery and must not be modified afterwards.
func (l *Logic) PushMids(ctx context.Context, op int32, mids []int64, body []byte) error {
	if len(mids) == 0 {
		return nil
	}
	servers, err := l.router.KeysByMids(ctx, mids)
	if err != nil {
		return fmt.Errorf("logic: push mids: look up keys: %w", err)
	}
	return l.pushServers(ctx, op, servers, body)
}

// pushServers calls Delivery once per server.
func (l *Logic) pushServers(ctx context.Context, op int32, servers map[string][]string, body []byte) error {
	return eachServer(servers, func(s string, keys []string) error {
		if err := l.delivery.PushKeys(ctx, s, op, keys, body); err != nil {
			return fmt.Errorf("logic: push op %d to %d keys on server %q: %w", op, len(keys), s, err)
		}
		return nil
	})
}

// eachServer calls fn for every server in name order (a stable order makes
// logs and errors reproducible). A failing server does not stop the others;
// the failures come back joined.
func eachServer(servers map[string][]string, fn func(server string, keys []string) error) error {
	names := make([]string, 0, len(servers))
	for s := range servers {
		names = append(names, s)
	}
	sort.Strings(names)
	var errs []error
	for _, s := range names {
		if err := fn(s, servers[s]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PushRoom delivers body to every member of room typ://room ("live" and "1000"
// make "live://1000"). body is handed over to Delivery.
func (l *Logic) PushRoom(ctx context.Context, typ, room string, op int32, body []byte) error {
	if typ == "" || room == "" {
		return fmt.Errorf("%w: push room: type %q and room %q must both be non-empty", ErrBadRequest, typ, room)
	}
	id := RoomID(typ, room)
	if err := l.pipe.push(ctx, l, RoomPush{Room: id, Op: op, Body: body}); err != nil {
		return fmt.Errorf("logic: push op %d to room %q: %w", op, id, err)
	}
	return nil
}

// PushAll delivers body to every connection; speed is goim's rate hint, passed
// through. body is handed over to Delivery.
func (l *Logic) PushAll(ctx context.Context, op int32, speed int32, body []byte) error {
	if err := l.delivery.Broadcast(ctx, op, body, speed); err != nil {
		return fmt.Errorf("logic: broadcast op %d: %w", op, err)
	}
	return nil
}

// RoomID builds a full room id from its type and name, as goim does:
// RoomID("live", "1000") == "live://1000".
func RoomID(typ, room string) string { return typ + "://" + room }
