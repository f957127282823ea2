package gateway

import (
	"context"
	"time"
)

// AuthRequest is what the gateway knows when a client authenticates.
type AuthRequest struct {
	Server     string // this gateway's name
	RemoteAddr string // client address, "ip:port"
	Body       []byte // raw op-7 JSON body (codec.AuthBody)
}

// AuthResult is logic's verdict on an accepted client.
type AuthResult struct {
	Mid       int64
	Key       string
	Rooms     []string // rooms to join; the first is the primary room (heartbeat counts, op 12)
	Accepts   []int32  // push ops the client subscribes to
	Heartbeat time.Duration
	// RoomPinned limits the connection to Rooms[0]: op 12 or 18 naming any
	// other room closes it (reason bad_room_not_allowed). Leaving is allowed.
	RoomPinned bool
}

// Logic is what the gateway needs from the business side. Calls may block (they
// are RPCs in distributed mode); the gateway makes them on worker goroutines.
type Logic interface {
	// Connect authenticates a client. An error rejects it: the error is logged at
	// debug level and the connection closed (WebSocket: close 1008 "auth_rejected").
	Connect(ctx context.Context, req AuthRequest) (AuthResult, error)
	// Disconnect reports that an authenticated connection ended.
	Disconnect(ctx context.Context, mid int64, key string) error
	// Heartbeat keeps an authenticated connection's route alive. The gateway calls
	// it at most once per Config.RouteRefresh per connection.
	Heartbeat(ctx context.Context, mid int64, key string) error
	// Receive forwards a client's op-4 message to the business service.
	Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error
	// RenewOnline reports this gateway's counts every Config.OnlineRenew and
	// returns the room counts over all gateways, which heartbeat replies then
	// carry. A nil map means this gateway's own counts are the global ones.
	RenewOnline(ctx context.Context, server string, counts OnlineCounts) (map[string]int32, error)
}

// OnlineCounts is what a gateway reports about itself in RenewOnline.
type OnlineCounts struct {
	Rooms map[string]int32 // members per room on this gateway
	Conns int64            // authenticated connections
	IPs   int64            // distinct client IPs among them
}
