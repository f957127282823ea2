package main

import (
	"context"
	"errors"

	"github.com/barrage/barrage/gateway"
	"github.com/barrage/barrage/upstream/kafkabus"
	"github.com/barrage/barrage/upstream/logic"
	"github.com/barrage/barrage/upstream/rpc"
)

// gatewayLogic adapts what a gateway needs from logic to gateway.Logic: the
// in-process *logic.Logic (embedded mode) or the Kitex client (distributed
// mode), which share the rpc.LogicCore method set.
type gatewayLogic struct {
	l      rpc.LogicCore
	server string
}

func (g gatewayLogic) Connect(ctx context.Context, req gateway.AuthRequest) (gateway.AuthResult, error) {
	r, err := g.l.Connect(ctx, req.Server, req.RemoteAddr, req.Body)
	if err != nil {
		return gateway.AuthResult{}, err
	}
	return gateway.AuthResult{Mid: r.Mid, Key: r.Key, Rooms: r.Rooms, Accepts: r.Accepts, Heartbeat: r.Heartbeat, RoomPinned: r.RoomPinned}, nil
}

func (g gatewayLogic) Disconnect(ctx context.Context, mid int64, key string) error {
	return g.l.Disconnect(ctx, mid, key, g.server)
}

func (g gatewayLogic) Heartbeat(ctx context.Context, mid int64, key string) error {
	return g.l.Heartbeat(ctx, mid, key, g.server)
}

func (g gatewayLogic) RenewOnline(ctx context.Context, server string, counts gateway.OnlineCounts) (map[string]int32, error) {
	return g.l.RenewOnline(ctx, server, logic.Online{Rooms: counts.Rooms, Conns: counts.Conns, IPs: counts.IPs})
}

func (g gatewayLogic) Receive(ctx context.Context, mid int64, key string, op int32, body []byte) error {
	return g.l.Receive(ctx, mid, key, op, body)
}

// localDelivery hands logic's pushes straight to the in-process gateway.
type localDelivery struct{ gw *gateway.Server }

func (d localDelivery) PushKeys(_ context.Context, _ string, op int32, keys []string, body []byte) error {
	return ignoreNoTargets(d.gw.PushKeys(op, keys, body))
}

func (d localDelivery) BroadcastRooms(_ context.Context, pushes []logic.RoomPush) error {
	for _, p := range pushes {
		if err := d.gw.BroadcastRoom(p.Room, p.Op, p.Seq, p.Body); err != nil {
			return err
		}
	}
	return nil
}

func (d localDelivery) Broadcast(_ context.Context, op int32, body []byte, speed int32) error {
	return d.gw.Broadcast(op, body, int(speed))
}

func (d localDelivery) KickKeys(_ context.Context, _ string, keys []string, reason string) error {
	d.gw.Kick(keys, nil, reason)
	return nil
}

func ignoreNoTargets(err error) error {
	if errors.Is(err, gateway.ErrNoTargets) {
		return nil
	}
	return err
}

// localOnline reads counts live from the in-process gateway.
type localOnline struct{ gw *gateway.Server }

func (o localOnline) Online(context.Context) (logic.Online, error) {
	rooms, conns, ips := o.gw.Online()
	return logic.Online{Rooms: rooms, Conns: conns, IPs: ips}, nil
}

// kafkaDelivery is logic's Delivery in distributed mode: every push becomes a
// Kafka message; a batch of room pushes is one produce call, in order.
type kafkaDelivery struct{ *kafkabus.Producer }

func (d kafkaDelivery) BroadcastRooms(ctx context.Context, pushes []logic.RoomPush) error {
	msgs := make([]*kafkabus.Message, len(pushes))
	for i, p := range pushes {
		msgs[i] = &kafkabus.Message{Kind: kafkabus.KindRoom, Room: p.Room, Op: p.Op, Seq: p.Seq, Body: p.Body}
	}
	return d.WriteBatch(ctx, msgs)
}

// jobGateway is a gateway's Kitex push client as job sees it: job kicks by
// key only (logic resolved mids to keys and gateways before Kafka).
type jobGateway struct{ *rpc.GatewayClient }

func (g jobGateway) Kick(ctx context.Context, keys []string, reason string) error {
	_, err := g.GatewayClient.Kick(ctx, keys, nil, reason)
	return err
}
