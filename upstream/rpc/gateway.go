package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/barrage/barrage/upstream/kitex_gen/gatewayrpc"
	"github.com/barrage/barrage/upstream/kitex_gen/gatewayrpc/gatewaypush"
	"github.com/cloudwego/kitex/server"
)

// GatewayCore is what GatewayPush serves: the push half of *gateway.Server
// (gateway/push.go, gateway/stats.go). Declared here because upstream/ never
// imports gateway/.
type GatewayCore interface {
	PushKeys(op int32, keys []string, body []byte) error
	BroadcastRoom(room string, op int32, seq int64, body []byte) error
	Broadcast(op int32, body []byte, speed int) error
	RoomCounts() map[string]int32
	Kick(keys []string, mids []int64, reason string) int
}

// NewGatewayServer serves GatewayPush for core on addr (DefaultGatewayAddr in
// production). ignore, when not nil, marks push errors that are not failures
// and answer the caller with success: pass
// func(err error) bool { return errors.Is(err, gateway.ErrNoTargets) }, as a
// push that finds no connection on this gateway is normal (job cannot know
// which keys left a moment ago). Call Start.
func NewGatewayServer(addr string, core GatewayCore, ignore func(error) bool, log *slog.Logger) (*Server, error) {
	if core == nil {
		return nil, fmt.Errorf("rpc: gateway push server: %w", errNilCore)
	}
	h := &gatewayHandler{core: core, ignore: ignore}
	return newServer("gateway push", addr, log, func(svr server.Server) error {
		return gatewaypush.RegisterService(svr, h)
	})
}

// gatewayHandler adapts GatewayCore to the generated GatewayPush interface.
type gatewayHandler struct {
	core   GatewayCore
	ignore func(error) bool
}

func (h *gatewayHandler) filter(err error) error {
	if err != nil && h.ignore != nil && h.ignore(err) {
		return nil
	}
	return remoteError(err)
}

func (h *gatewayHandler) PushKeys(_ context.Context, req *gatewayrpc.PushKeysReq) error {
	return h.filter(h.core.PushKeys(req.Op, req.Keys, req.Body))
}

func (h *gatewayHandler) BroadcastRoom(_ context.Context, req *gatewayrpc.BroadcastRoomReq) error {
	return h.filter(h.core.BroadcastRoom(req.Room, req.Op, req.Seq, req.Body))
}

func (h *gatewayHandler) Broadcast(_ context.Context, req *gatewayrpc.BroadcastReq) error {
	return h.filter(h.core.Broadcast(req.Op, req.Body, int(req.Speed)))
}

func (h *gatewayHandler) RoomOnline(context.Context) (*gatewayrpc.RoomOnlineResp, error) {
	return &gatewayrpc.RoomOnlineResp{Rooms: h.core.RoomCounts()}, nil
}

func (h *gatewayHandler) Kick(_ context.Context, req *gatewayrpc.KickReq) (*gatewayrpc.KickResp, error) {
	return &gatewayrpc.KickResp{Closed: int32(h.core.Kick(req.Keys, req.Mids, req.Reason))}, nil
}

// GatewayClient calls GatewayPush on one gateway. It reconnects by itself after
// the gateway restarts; Close it when the gateway leaves the registry. Safe for
// concurrent use.
type GatewayClient struct {
	c    kitexClient
	addr string
}

// NewGatewayClient returns a client of the gateway at addr ("host:port").
// timeout bounds each call (DefaultTimeout when zero); a sooner context
// deadline wins. It connects lazily.
func NewGatewayClient(addr string, timeout time.Duration) (*GatewayClient, error) {
	c, err := newKitexClient("gateway push", gatewaypush.NewServiceInfoForClient(), []string{addr}, timeout)
	if err != nil {
		return nil, err
	}
	return &GatewayClient{c: c, addr: addr}, nil
}

// Addr is the gateway's address as given to NewGatewayClient.
func (c *GatewayClient) Addr() string { return c.addr }

// Close releases the pooled connections. Calls after Close fail.
func (c *GatewayClient) Close() error { return c.c.Close() }

// PushKeys delivers body to the connections with these keys on the gateway.
func (c *GatewayClient) PushKeys(ctx context.Context, op int32, keys []string, body []byte) error {
	args := gatewayrpc.GatewayPushPushKeysArgs{Req: &gatewayrpc.PushKeysReq{Op: op, Keys: keys, Body: body}}
	if err := c.c.Call(ctx, "PushKeys", &args, &gatewayrpc.GatewayPushPushKeysResult{}); err != nil {
		return callError("gateway push "+c.addr, "PushKeys", err)
	}
	return nil
}

// BroadcastRoom delivers body to every member of room on the gateway, with the
// room's sequence number seq in the packet's seq field.
func (c *GatewayClient) BroadcastRoom(ctx context.Context, room string, op int32, seq int64, body []byte) error {
	args := gatewayrpc.GatewayPushBroadcastRoomArgs{Req: &gatewayrpc.BroadcastRoomReq{Room: room, Op: op, Seq: seq, Body: body}}
	if err := c.c.Call(ctx, "BroadcastRoom", &args, &gatewayrpc.GatewayPushBroadcastRoomResult{}); err != nil {
		return callError("gateway push "+c.addr, "BroadcastRoom", err)
	}
	return nil
}

// Broadcast delivers body to every connection on the gateway; speed is goim's
// rate hint (0 = as fast as possible).
func (c *GatewayClient) Broadcast(ctx context.Context, op int32, body []byte, speed int32) error {
	args := gatewayrpc.GatewayPushBroadcastArgs{Req: &gatewayrpc.BroadcastReq{Op: op, Body: body, Speed: speed}}
	if err := c.c.Call(ctx, "Broadcast", &args, &gatewayrpc.GatewayPushBroadcastResult{}); err != nil {
		return callError("gateway push "+c.addr, "Broadcast", err)
	}
	return nil
}

// RoomOnline returns the gateway's room counts (full room id -> connections),
// never nil.
func (c *GatewayClient) RoomOnline(ctx context.Context) (map[string]int32, error) {
	var res gatewayrpc.GatewayPushRoomOnlineResult
	if err := c.c.Call(ctx, "RoomOnline", &gatewayrpc.GatewayPushRoomOnlineArgs{}, &res); err != nil {
		return nil, callError("gateway push "+c.addr, "RoomOnline", err)
	}
	if res.Success == nil {
		return nil, callError("gateway push "+c.addr, "RoomOnline", errEmptyReply)
	}
	if res.Success.Rooms == nil {
		return map[string]int32{}, nil
	}
	return res.Success.Rooms, nil
}

// Kick closes the connections with these keys and every connection of these
// mids on the gateway, and returns how many it closed.
func (c *GatewayClient) Kick(ctx context.Context, keys []string, mids []int64, reason string) (int, error) {
	args := gatewayrpc.GatewayPushKickArgs{Req: &gatewayrpc.KickReq{Keys: keys, Mids: mids, Reason: reason}}
	var res gatewayrpc.GatewayPushKickResult
	if err := c.c.Call(ctx, "Kick", &args, &res); err != nil {
		return 0, callError("gateway push "+c.addr, "Kick", err)
	}
	if res.Success == nil {
		return 0, callError("gateway push "+c.addr, "Kick", errEmptyReply)
	}
	return int(res.Success.Closed), nil
}
