package logic

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// RoomCount is one line of OnlineTop.
type RoomCount struct {
	RoomID string `json:"room_id"` // room name without the "type://" prefix
	Count  int32  `json:"count"`
}

// OnlineTop lists the limit fullest rooms of one type, fullest first (ties by
// room name). Room names come without the "typ://" prefix. The result is never
// nil, so it encodes as [] rather than null.
func (l *Logic) OnlineTop(ctx context.Context, typ string, limit int) ([]RoomCount, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: online top: limit %d, want > 0", ErrBadRequest, limit)
	}
	on, err := l.online.Online(ctx)
	if err != nil {
		return nil, fmt.Errorf("logic: online top: %w", err)
	}
	prefix := RoomID(typ, "")
	top := []RoomCount{}
	for id, n := range on.Rooms {
		if name, ok := strings.CutPrefix(id, prefix); ok {
			top = append(top, RoomCount{RoomID: name, Count: n})
		}
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].Count != top[j].Count {
			return top[i].Count > top[j].Count
		}
		return top[i].RoomID < top[j].RoomID
	})
	if len(top) > limit {
		top = top[:limit]
	}
	return top, nil
}

// OnlineRoom reports the count of each named room of one type, keyed by the
// room name without prefix; rooms nobody is in report 0, as in goim.
func (l *Logic) OnlineRoom(ctx context.Context, typ string, rooms []string) (map[string]int32, error) {
	on, err := l.online.Online(ctx)
	if err != nil {
		return nil, fmt.Errorf("logic: online room: %w", err)
	}
	res := make(map[string]int32, len(rooms))
	for _, r := range rooms {
		res[r] = on.Rooms[RoomID(typ, r)]
	}
	return res, nil
}

// OnlineTotal reports the number of connections and of distinct client IPs.
func (l *Logic) OnlineTotal(ctx context.Context) (conns, ips int64, err error) {
	on, err := l.online.Online(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("logic: online total: %w", err)
	}
	return on.Conns, on.IPs, nil
}

// RenewOnline records one gateway's room counts and returns the counts summed
// over every live gateway, which the gateway then reports in heartbeat replies.
// Without an OnlineStore (embedded mode) it returns nil: the one gateway's own
// counts are already global.
func (l *Logic) RenewOnline(ctx context.Context, server string, counts Online) (map[string]int32, error) {
	if l.store == nil {
		return nil, nil
	}
	global, err := l.store.RenewOnline(ctx, server, counts)
	if err != nil {
		return nil, fmt.Errorf("logic: renew online counts of %q: %w", server, err)
	}
	return global, nil
}
