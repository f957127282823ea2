package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/barrage/barrage/upstream/kitex_gen/pushrpc"
	"github.com/barrage/barrage/upstream/kitex_gen/pushrpc/pushapi"
	"github.com/barrage/barrage/upstream/logic"
	"github.com/cloudwego/kitex/server"
)

// PushCore is what PushAPI serves: the business-facing half of *logic.Logic
// (upstream/logic/push.go, online.go). PushClient implements it too.
type PushCore interface {
	PushKeys(ctx context.Context, op int32, keys []string, body []byte) error
	PushMids(ctx context.Context, op int32, mids []int64, body []byte) error
	PushRoom(ctx context.Context, typ, room string, op int32, body []byte) error
	PushAll(ctx context.Context, op int32, speed int32, body []byte) error
	OnlineTop(ctx context.Context, typ string, limit int) ([]logic.RoomCount, error)
	OnlineRoom(ctx context.Context, typ string, rooms []string) (map[string]int32, error)
	OnlineTotal(ctx context.Context) (conns, ips int64, err error)
	KickKeys(ctx context.Context, keys []string, reason string) error
	KickMids(ctx context.Context, mids []int64, reason string) error
}

var (
	_ PushCore = (*logic.Logic)(nil)
	_ PushCore = (*PushClient)(nil)
)

// NewPushServer serves PushAPI alone for core on addr. Logic normally serves
// it through NewLogicServer, on the LogicService port; this is for a separate
// port or a stand-alone push front. Call Start.
func NewPushServer(addr string, core PushCore, log *slog.Logger) (*Server, error) {
	if core == nil {
		return nil, fmt.Errorf("rpc: push api server: %w", errNilCore)
	}
	return newServer("push api", addr, log, func(svr server.Server) error {
		return pushapi.RegisterService(svr, &pushHandler{core: core})
	})
}

// pushHandler adapts PushCore to the generated PushAPI interface. Errors that
// wrap logic.ErrBadRequest become the BadRequest exception; the required
// arguments the HTTP API checks before calling logic (its -400 "required"
// replies) are checked here the same way, so both APIs refuse the same calls.
type pushHandler struct{ core PushCore }

// badArg is a refused argument, worded like logic's own bad requests.
func badArg(method, format string, args ...any) error {
	return &pushrpc.BadRequest{Message: fmt.Sprintf("%s: %s: %s", logic.ErrBadRequest, method, fmt.Sprintf(format, args...))}
}

func (h *pushHandler) PushKeys(ctx context.Context, req *pushrpc.PushKeysReq) error {
	return toBadRequest(h.core.PushKeys(ctx, req.Op, req.Keys, req.Body))
}

func (h *pushHandler) PushMids(ctx context.Context, req *pushrpc.PushMidsReq) error {
	return toBadRequest(h.core.PushMids(ctx, req.Op, req.Mids, req.Body))
}

func (h *pushHandler) PushRoom(ctx context.Context, req *pushrpc.PushRoomReq) error {
	if req.Op == 0 {
		return badArg("push room", "op is required (non-zero)")
	}
	return toBadRequest(h.core.PushRoom(ctx, req.Type, req.Room, req.Op, req.Body))
}

func (h *pushHandler) PushAll(ctx context.Context, req *pushrpc.PushAllReq) error {
	if req.Op == 0 {
		return badArg("push all", "op is required (non-zero)")
	}
	return toBadRequest(h.core.PushAll(ctx, req.Op, req.Speed, req.Body))
}

func (h *pushHandler) OnlineTop(ctx context.Context, req *pushrpc.OnlineTopReq) (*pushrpc.OnlineTopResp, error) {
	if req.Type == "" {
		return nil, badArg("online top", "type is required")
	}
	top, err := h.core.OnlineTop(ctx, req.Type, int(req.Limit))
	if err != nil {
		return nil, toBadRequest(err)
	}
	resp := &pushrpc.OnlineTopResp{Rooms: make([]*pushrpc.RoomCount, len(top))}
	for i, rc := range top {
		resp.Rooms[i] = &pushrpc.RoomCount{RoomId: rc.RoomID, Count: rc.Count}
	}
	return resp, nil
}

func (h *pushHandler) OnlineRoom(ctx context.Context, req *pushrpc.OnlineRoomReq) (*pushrpc.OnlineRoomResp, error) {
	if req.Type == "" {
		return nil, badArg("online room", "type is required")
	}
	if len(req.Rooms) == 0 {
		return nil, badArg("online room", "rooms is required")
	}
	counts, err := h.core.OnlineRoom(ctx, req.Type, req.Rooms)
	if err != nil {
		return nil, toBadRequest(err)
	}
	return &pushrpc.OnlineRoomResp{Rooms: counts}, nil
}

func (h *pushHandler) OnlineTotal(ctx context.Context) (*pushrpc.OnlineTotalResp, error) {
	conns, ips, err := h.core.OnlineTotal(ctx)
	if err != nil {
		return nil, toBadRequest(err)
	}
	return &pushrpc.OnlineTotalResp{ConnCount: conns, IpCount: ips}, nil
}

// PushClient calls PushAPI on one or more logic servers (round robin;
// another one when a connection cannot be made). It is the Go client for
// business services. A refused call returns *BadRequestError (errors.Is
// logic.ErrBadRequest). Safe for concurrent use.
type PushClient struct{ c kitexClient }

// NewPushClient returns a client of the logic servers at addrs ("host:port").
// timeout bounds each call (DefaultTimeout when zero); a sooner context
// deadline wins. It connects lazily.
func NewPushClient(addrs []string, timeout time.Duration) (*PushClient, error) {
	c, err := newKitexClient("push api", pushapi.NewServiceInfoForClient(), addrs, timeout)
	if err != nil {
		return nil, err
	}
	return &PushClient{c: c}, nil
}

// Close releases the pooled connections. Calls after Close fail.
func (c *PushClient) Close() error { return c.c.Close() }

// PushKeys delivers body to the connections with these keys.
func (c *PushClient) PushKeys(ctx context.Context, op int32, keys []string, body []byte) error {
	args := pushrpc.PushAPIPushKeysArgs{Req: &pushrpc.PushKeysReq{Op: op, Keys: keys, Body: body}}
	var res pushrpc.PushAPIPushKeysResult
	if err := c.c.Call(ctx, "PushKeys", &args, &res); err != nil {
		return fromPushError("PushKeys", err)
	}
	return badOrNil(res.Bad)
}

// PushMids delivers body to every connection of these users.
func (c *PushClient) PushMids(ctx context.Context, op int32, mids []int64, body []byte) error {
	args := pushrpc.PushAPIPushMidsArgs{Req: &pushrpc.PushMidsReq{Op: op, Mids: mids, Body: body}}
	var res pushrpc.PushAPIPushMidsResult
	if err := c.c.Call(ctx, "PushMids", &args, &res); err != nil {
		return fromPushError("PushMids", err)
	}
	return badOrNil(res.Bad)
}

// PushRoom delivers body to every member of room typ://room.
func (c *PushClient) PushRoom(ctx context.Context, typ, room string, op int32, body []byte) error {
	args := pushrpc.PushAPIPushRoomArgs{Req: &pushrpc.PushRoomReq{Type: typ, Room: room, Op: op, Body: body}}
	var res pushrpc.PushAPIPushRoomResult
	if err := c.c.Call(ctx, "PushRoom", &args, &res); err != nil {
		return fromPushError("PushRoom", err)
	}
	return badOrNil(res.Bad)
}

// PushAll delivers body to every connection; speed is goim's rate hint.
func (c *PushClient) PushAll(ctx context.Context, op int32, speed int32, body []byte) error {
	args := pushrpc.PushAPIPushAllArgs{Req: &pushrpc.PushAllReq{Op: op, Speed: speed, Body: body}}
	var res pushrpc.PushAPIPushAllResult
	if err := c.c.Call(ctx, "PushAll", &args, &res); err != nil {
		return fromPushError("PushAll", err)
	}
	return badOrNil(res.Bad)
}

// OnlineTop lists the limit fullest rooms of type typ, fullest first; never
// nil on success.
func (c *PushClient) OnlineTop(ctx context.Context, typ string, limit int) ([]logic.RoomCount, error) {
	if limit < -1<<31 || limit > 1<<31-1 {
		return nil, &BadRequestError{Message: fmt.Sprintf("%s: online top: limit %d out of the int32 range", logic.ErrBadRequest, limit)}
	}
	args := pushrpc.PushAPIOnlineTopArgs{Req: &pushrpc.OnlineTopReq{Type: typ, Limit: int32(limit)}}
	var res pushrpc.PushAPIOnlineTopResult
	if err := c.c.Call(ctx, "OnlineTop", &args, &res); err != nil {
		return nil, fromPushError("OnlineTop", err)
	}
	if err := badOrNil(res.Bad); err != nil {
		return nil, err
	}
	if res.Success == nil {
		return nil, callError("push api", "OnlineTop", errEmptyReply)
	}
	top := make([]logic.RoomCount, 0, len(res.Success.Rooms))
	for _, rc := range res.Success.Rooms {
		if rc != nil {
			top = append(top, logic.RoomCount{RoomID: rc.RoomId, Count: rc.Count})
		}
	}
	return top, nil
}

// OnlineRoom reports the count of each named room of type typ (0 for empty
// rooms); never nil on success.
func (c *PushClient) OnlineRoom(ctx context.Context, typ string, rooms []string) (map[string]int32, error) {
	args := pushrpc.PushAPIOnlineRoomArgs{Req: &pushrpc.OnlineRoomReq{Type: typ, Rooms: rooms}}
	var res pushrpc.PushAPIOnlineRoomResult
	if err := c.c.Call(ctx, "OnlineRoom", &args, &res); err != nil {
		return nil, fromPushError("OnlineRoom", err)
	}
	if err := badOrNil(res.Bad); err != nil {
		return nil, err
	}
	if res.Success == nil {
		return nil, callError("push api", "OnlineRoom", errEmptyReply)
	}
	if res.Success.Rooms == nil {
		return map[string]int32{}, nil
	}
	return res.Success.Rooms, nil
}

// OnlineTotal reports the number of connections and of distinct client IPs.
func (c *PushClient) OnlineTotal(ctx context.Context) (conns, ips int64, err error) {
	var res pushrpc.PushAPIOnlineTotalResult
	if err := c.c.Call(ctx, "OnlineTotal", &pushrpc.PushAPIOnlineTotalArgs{}, &res); err != nil {
		return 0, 0, fromPushError("OnlineTotal", err)
	}
	if err := badOrNil(res.Bad); err != nil {
		return 0, 0, err
	}
	if res.Success == nil {
		return 0, 0, callError("push api", "OnlineTotal", errEmptyReply)
	}
	return res.Success.ConnCount, res.Success.IpCount, nil
}

// badOrNil turns a BadRequest exception carried in a result into
// *BadRequestError.
func badOrNil(bad *pushrpc.BadRequest) error {
	if bad == nil {
		return nil
	}
	return &BadRequestError{Message: bad.Message}
}
