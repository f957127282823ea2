package rpc

import (
	"context"

	"github.com/barrage/barrage/upstream/kitex_gen/pushrpc"
)

// Kicks on the PushAPI (Barrage's; goim has none): logic resolves keys or
// mids to gateways and sends each gateway's share through its Delivery
// (Kafka and job in distributed mode).

func (h *pushHandler) KickKeys(ctx context.Context, req *pushrpc.KickKeysReq) error {
	return toBadRequest(h.core.KickKeys(ctx, req.Keys, req.Reason))
}

func (h *pushHandler) KickMids(ctx context.Context, req *pushrpc.KickMidsReq) error {
	return toBadRequest(h.core.KickMids(ctx, req.Mids, req.Reason))
}

// KickKeys closes the connections with these keys, wherever they are;
// WebSocket clients see reason in their close frame.
func (c *PushClient) KickKeys(ctx context.Context, keys []string, reason string) error {
	args := pushrpc.PushAPIKickKeysArgs{Req: &pushrpc.KickKeysReq{Keys: keys, Reason: reason}}
	var res pushrpc.PushAPIKickKeysResult
	if err := c.c.Call(ctx, "KickKeys", &args, &res); err != nil {
		return fromPushError("KickKeys", err)
	}
	return badOrNil(res.Bad)
}

// KickMids closes every connection of these users.
func (c *PushClient) KickMids(ctx context.Context, mids []int64, reason string) error {
	args := pushrpc.PushAPIKickMidsArgs{Req: &pushrpc.KickMidsReq{Mids: mids, Reason: reason}}
	var res pushrpc.PushAPIKickMidsResult
	if err := c.c.Call(ctx, "KickMids", &args, &res); err != nil {
		return fromPushError("KickMids", err)
	}
	return badOrNil(res.Bad)
}
