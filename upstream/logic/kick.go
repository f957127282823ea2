package logic

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// MaxKickReason bounds a kick's reason text. WebSocket clients see at most 123
// bytes of it (a close frame's limit); the rest still reaches the gateway log.
const MaxKickReason = 1024

// KickKeys closes the connections with these keys, wherever they are. Keys
// nobody holds are skipped. WebSocket clients get close code 1008 with reason
// as its text; TCP clients are disconnected.
func (l *Logic) KickKeys(ctx context.Context, keys []string, reason string) error {
	if len(keys) == 0 {
		return ErrNoKickTargets
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	servers, err := l.router.ServersByKeys(ctx, keys)
	if err != nil {
		return fmt.Errorf("logic: kick keys: look up servers: %w", err)
	}
	return l.kickServers(ctx, servers, reason)
}

// KickMids closes every connection of these users, on every gateway.
func (l *Logic) KickMids(ctx context.Context, mids []int64, reason string) error {
	if len(mids) == 0 {
		return ErrNoKickTargets
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	servers, err := l.router.KeysByMids(ctx, mids)
	if err != nil {
		return fmt.Errorf("logic: kick mids: look up keys: %w", err)
	}
	return l.kickServers(ctx, servers, reason)
}

func checkReason(reason string) error {
	if len(reason) > MaxKickReason {
		return fmt.Errorf("%w: kick reason is %d bytes, the limit is %d", ErrBadRequest, len(reason), MaxKickReason)
	}
	if !utf8.ValidString(reason) {
		return fmt.Errorf("%w: kick reason is not valid UTF-8 (WebSocket close frames require it)", ErrBadRequest)
	}
	return nil
}

// kickServers calls Delivery once per server.
func (l *Logic) kickServers(ctx context.Context, servers map[string][]string, reason string) error {
	return eachServer(servers, func(s string, keys []string) error {
		if err := l.delivery.KickKeys(ctx, s, keys, reason); err != nil {
			return fmt.Errorf("logic: kick %d keys on server %q: %w", len(keys), s, err)
		}
		return nil
	})
}
