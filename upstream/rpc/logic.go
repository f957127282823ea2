package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/barrage/barrage/upstream/kitex_gen/logicrpc"
	"github.com/barrage/barrage/upstream/kitex_gen/logicrpc/logicservice"
	"github.com/barrage/barrage/upstream/kitex_gen/pushrpc/pushapi"
	"github.com/barrage/barrage/upstream/logic"
	"github.com/cloudwego/kitex/server"
)

// LogicCore is what LogicService serves: the gateway-facing half of
// *logic.Logic. LogicClient implements it too, so a gateway's wiring can hold
// either a local Logic (embedded mode) or a remote one.
type LogicCore interface {
	// Connect authenticates a client; a refusal is a *logic.AuthError.
	Connect(ctx context.Context, server, remoteAddr string, body []byte) (logic.ConnectReply, error)
	Disconnect(ctx context.Context, mid int64, key, server string) error
	Heartbeat(ctx context.Context, mid int64, key, server string) error
	// RenewOnline records a gateway's counts and returns the global ones; nil
	// means logic keeps no aggregate (the gateway's own counts are global).
	RenewOnline(ctx context.Context, server string, counts logic.Online) (map[string]int32, error)
	Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error
}

var (
	_ LogicCore = (*logic.Logic)(nil)
	_ LogicCore = (*LogicClient)(nil)
)

// NewLogicServer serves LogicService for core on addr (DefaultLogicAddr in
// production). When core also implements PushCore, as *logic.Logic does, the
// same server serves PushAPI too, so logic needs one Kitex port. Call Start.
func NewLogicServer(addr string, core LogicCore, log *slog.Logger) (*Server, error) {
	if core == nil {
		return nil, fmt.Errorf("rpc: logic server: %w", errNilCore)
	}
	push, _ := core.(PushCore)
	return newServer("logic", addr, log, func(svr server.Server) error {
		if err := logicservice.RegisterService(svr, &logicHandler{core: core}); err != nil {
			return fmt.Errorf("LogicService: %w", err)
		}
		if push != nil {
			if err := pushapi.RegisterService(svr, &pushHandler{core: push}); err != nil {
				return fmt.Errorf("PushAPI: %w", err)
			}
		}
		return nil
	})
}

// logicHandler adapts LogicCore to the generated LogicService interface.
type logicHandler struct{ core LogicCore }

func (h *logicHandler) Connect(ctx context.Context, req *logicrpc.ConnectReq) (*logicrpc.ConnectResp, error) {
	rep, err := h.core.Connect(ctx, req.Server, req.RemoteAddr, req.Body)
	if err != nil {
		var ae *logic.AuthError
		if errors.As(err, &ae) {
			return nil, toAuthRejected(ae)
		}
		return nil, remoteError(err)
	}
	return &logicrpc.ConnectResp{
		Mid:         rep.Mid,
		Key:         rep.Key,
		Rooms:       rep.Rooms,
		Accepts:     rep.Accepts,
		HeartbeatMs: rep.Heartbeat.Milliseconds(),
		RoomPinned:  rep.RoomPinned,
	}, nil
}

func (h *logicHandler) Disconnect(ctx context.Context, req *logicrpc.DisconnectReq) error {
	return remoteError(h.core.Disconnect(ctx, req.Mid, req.Key, req.Server))
}

func (h *logicHandler) Heartbeat(ctx context.Context, req *logicrpc.HeartbeatReq) error {
	return remoteError(h.core.Heartbeat(ctx, req.Mid, req.Key, req.Server))
}

func (h *logicHandler) RenewOnline(ctx context.Context, req *logicrpc.RenewOnlineReq) (*logicrpc.RenewOnlineResp, error) {
	global, err := h.core.RenewOnline(ctx, req.Server, logic.Online{Rooms: req.Rooms, Conns: req.Conns, IPs: req.Ips})
	if err != nil {
		return nil, remoteError(err)
	}
	return &logicrpc.RenewOnlineResp{Global: global != nil, Rooms: global}, nil
}

func (h *logicHandler) Receive(ctx context.Context, req *logicrpc.ReceiveReq) error {
	return remoteError(h.core.Receive(ctx, req.Mid, req.Key, req.Op, req.Body))
}

// LogicClient calls LogicService on one or more logic servers (round robin;
// another one when a connection cannot be made). It reconnects by
// itself after a logic restart. Safe for concurrent use.
type LogicClient struct{ c kitexClient }

// NewLogicClient returns a client of the logic servers at addrs ("host:port").
// timeout bounds each call (DefaultTimeout when zero); a sooner context
// deadline wins. It connects lazily: no server needs to be up yet.
func NewLogicClient(addrs []string, timeout time.Duration) (*LogicClient, error) {
	c, err := newKitexClient("logic", logicservice.NewServiceInfoForClient(), addrs, timeout)
	if err != nil {
		return nil, err
	}
	return &LogicClient{c: c}, nil
}

// Close releases the pooled connections. Calls after Close fail.
func (c *LogicClient) Close() error { return c.c.Close() }

// Connect authenticates a client. Logic's refusal comes back as
// *logic.AuthError whose Reason is logic's sentinel (errors.Is works);
// anything else (logic unreachable or failing) is a plain error.
func (c *LogicClient) Connect(ctx context.Context, server, remoteAddr string, body []byte) (logic.ConnectReply, error) {
	args := logicrpc.LogicServiceConnectArgs{Req: &logicrpc.ConnectReq{Server: server, RemoteAddr: remoteAddr, Body: body}}
	var res logicrpc.LogicServiceConnectResult
	if err := c.c.Call(ctx, "Connect", &args, &res); err != nil {
		return logic.ConnectReply{}, callError("logic", "Connect", err)
	}
	if res.Rejected != nil {
		return logic.ConnectReply{}, fromAuthRejected(res.Rejected)
	}
	r := res.Success
	if r == nil {
		return logic.ConnectReply{}, callError("logic", "Connect", errEmptyReply)
	}
	return logic.ConnectReply{
		Mid:        r.Mid,
		Key:        r.Key,
		Rooms:      nilIfEmpty(r.Rooms),
		Accepts:    nilIfEmpty(r.Accepts),
		Heartbeat:  time.Duration(r.HeartbeatMs) * time.Millisecond,
		RoomPinned: r.RoomPinned,
	}, nil
}

// Disconnect reports that an authenticated connection ended.
func (c *LogicClient) Disconnect(ctx context.Context, mid int64, key, server string) error {
	args := logicrpc.LogicServiceDisconnectArgs{Req: &logicrpc.DisconnectReq{Server: server, Mid: mid, Key: key}}
	if err := c.c.Call(ctx, "Disconnect", &args, &logicrpc.LogicServiceDisconnectResult{}); err != nil {
		return callError("logic", "Disconnect", err)
	}
	return nil
}

// Heartbeat keeps a connection's route alive.
func (c *LogicClient) Heartbeat(ctx context.Context, mid int64, key, server string) error {
	args := logicrpc.LogicServiceHeartbeatArgs{Req: &logicrpc.HeartbeatReq{Server: server, Mid: mid, Key: key}}
	if err := c.c.Call(ctx, "Heartbeat", &args, &logicrpc.LogicServiceHeartbeatResult{}); err != nil {
		return callError("logic", "Heartbeat", err)
	}
	return nil
}

// RenewOnline reports this gateway's counts and returns the global room
// counts: nil when logic keeps no aggregate, a non-nil (maybe empty) map when
// it does.
func (c *LogicClient) RenewOnline(ctx context.Context, server string, counts logic.Online) (map[string]int32, error) {
	args := logicrpc.LogicServiceRenewOnlineArgs{Req: &logicrpc.RenewOnlineReq{
		Server: server, Rooms: counts.Rooms, Conns: counts.Conns, Ips: counts.IPs}}
	var res logicrpc.LogicServiceRenewOnlineResult
	if err := c.c.Call(ctx, "RenewOnline", &args, &res); err != nil {
		return nil, callError("logic", "RenewOnline", err)
	}
	r := res.Success
	if r == nil {
		return nil, callError("logic", "RenewOnline", errEmptyReply)
	}
	if !r.Global {
		return nil, nil
	}
	if r.Rooms == nil {
		return map[string]int32{}, nil
	}
	return r.Rooms, nil
}

// Receive forwards a client's op-4 message to the business service.
func (c *LogicClient) Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error {
	args := logicrpc.LogicServiceReceiveArgs{Req: &logicrpc.ReceiveReq{Mid: mid, Key: key, Op: op, Body: body}}
	if err := c.c.Call(ctx, "Receive", &args, &logicrpc.LogicServiceReceiveResult{}); err != nil {
		return callError("logic", "Receive", err)
	}
	return nil
}

// errEmptyReply is a reply with neither a result nor an exception: a peer
// built from a different IDL.
var errEmptyReply = errors.New("server sent an empty reply (IDL mismatch?)")

// nilIfEmpty keeps "none" as nil on both sides of the wire: thrift decodes an
// absent list as an empty one.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
