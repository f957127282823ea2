package logic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/barrage/barrage/codec"
	"github.com/golang-jwt/jwt/v5"
)

// Connect authenticates a new connection from its op-7 auth body, records its
// route (mid, key -> server) and tells the gateway what to do with it. Client
// mistakes come back as *AuthError (errors.Is one of ErrBadAuthBody,
// ErrTokenRequired, ErrBadToken, ErrMidMismatch, ErrRoomNotAllowed); any other
// error means logic itself failed.
func (l *Logic) Connect(ctx context.Context, server, remoteAddr string, body []byte) (ConnectReply, error) {
	if server == "" {
		return ConnectReply{}, errors.New("logic: connect: gateway passed an empty server name")
	}
	auth, err := codec.DecodeAuth(body)
	if err != nil {
		return ConnectReply{}, reject(ErrBadAuthBody, "", err)
	}
	mid, lockedRoom := auth.Mid, ""
	if l.jwt != nil {
		if mid, lockedRoom, err = l.verifyToken(auth); err != nil {
			return ConnectReply{}, err
		}
	}
	key := auth.Key
	if key == "" {
		if key, err = newKey(); err != nil {
			return ConnectReply{}, err
		}
	}
	var rooms []string
	switch {
	case lockedRoom != "":
		rooms = []string{lockedRoom}
	case auth.RoomID != "":
		rooms = []string{auth.RoomID}
	}
	if err := l.router.Add(ctx, mid, key, server); err != nil {
		return ConnectReply{}, fmt.Errorf("logic: connect mid %d key %q on %q: record route: %w", mid, key, server, err)
	}
	l.log.DebugContext(ctx, "connect", "mid", mid, "key", key, "server", server, "remote", remoteAddr, "rooms", rooms, "platform", auth.Platform)
	return ConnectReply{Mid: mid, Key: key, Rooms: rooms, Accepts: auth.Accepts, Heartbeat: l.cfg.Heartbeat, RoomPinned: lockedRoom != ""}, nil
}

// verifyToken checks the auth body's JWT and returns the authoritative mid and
// the room the token pins the connection to ("" = any room).
func (l *Logic) verifyToken(auth codec.AuthBody) (mid int64, room string, err error) {
	if auth.Token == "" {
		return 0, "", reject(ErrTokenRequired, "auth body has no \"token\" field", nil)
	}
	claims := jwt.MapClaims{}
	if _, err := l.jwt.ParseWithClaims(auth.Token, claims, func(*jwt.Token) (any, error) { return l.secret, nil }); err != nil {
		return 0, "", reject(ErrBadToken, "", err)
	}
	raw, ok := claims["mid"]
	if !ok {
		return 0, "", reject(ErrBadToken, "token has no \"mid\" claim", nil)
	}
	num, ok := raw.(json.Number)
	if !ok {
		return 0, "", reject(ErrBadToken, fmt.Sprintf("\"mid\" claim is %T, want a number", raw), nil)
	}
	if mid, err = num.Int64(); err != nil {
		return 0, "", reject(ErrBadToken, fmt.Sprintf("\"mid\" claim %s is not a 64-bit integer", num), nil)
	}
	if auth.Mid != 0 && auth.Mid != mid {
		return 0, "", reject(ErrMidMismatch, fmt.Sprintf("body mid %d, token mid %d", auth.Mid, mid), nil)
	}
	if raw, ok := claims["room_id"]; ok {
		if room, ok = raw.(string); !ok {
			return 0, "", reject(ErrBadToken, fmt.Sprintf("\"room_id\" claim is %T, want a string", raw), nil)
		}
	}
	if room != "" && auth.RoomID != "" && auth.RoomID != room {
		return 0, "", reject(ErrRoomNotAllowed, fmt.Sprintf("body asks for room %q, token allows %q", auth.RoomID, room), nil)
	}
	return mid, room, nil
}

// Disconnect forgets a closed connection's route.
func (l *Logic) Disconnect(ctx context.Context, mid int64, key, server string) error {
	if err := l.router.Remove(ctx, mid, key, server); err != nil {
		return fmt.Errorf("logic: disconnect mid %d key %q on %q: %w", mid, key, server, err)
	}
	l.log.DebugContext(ctx, "disconnect", "mid", mid, "key", key, "server", server)
	return nil
}

// Heartbeat keeps a live connection's route from expiring. Gateways call it
// periodically per connection, well within the router's route lifetime.
func (l *Logic) Heartbeat(ctx context.Context, mid int64, key, server string) error {
	if err := l.router.Touch(ctx, mid, key, server); err != nil {
		return fmt.Errorf("logic: heartbeat mid %d key %q on %q: %w", mid, key, server, err)
	}
	return nil
}

// newKey makes a connection key for a client that sent none (goim uses a UUID;
// 16 random bytes in hex are as unique and cheaper to build).
func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("logic: generate connection key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
