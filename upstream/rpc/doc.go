// Package rpc carries Barrage's three Kitex services between processes in
// distributed mode. It wraps the code generated from upstream/idl into
// upstream/kitex_gen (never edit that by hand: `make gen` runs upstream/gen.sh)
// behind plain Go interfaces, so the rest of Barrage never sees thrift types:
//
//   - LogicService, served by logic (NewLogicServer, default :3119) for the
//     gateways: Connect, Disconnect, Heartbeat, RenewOnline, Receive.
//     LogicClient is the gateways' side; it implements LogicCore, the same
//     method set as *logic.Logic, so wiring can use either.
//   - GatewayPush, served by each gateway (NewGatewayServer, default :3109) for
//     job: PushKeys, BroadcastRoom, Broadcast, RoomOnline, Kick. GatewayClient
//     is job's side, one per gateway.
//   - PushAPI, served by logic for business services, on the same port as
//     LogicService (NewLogicServer registers both when its core also implements
//     PushCore, as *logic.Logic does; NewPushServer serves it alone). PushClient
//     implements PushCore.
//
// Errors keep their meaning across the wire: a refused Connect comes back from
// LogicClient as *logic.AuthError (errors.Is works for logic's reason
// sentinels), a bad push or online request as an error that errors.Is
// logic.ErrBadRequest, anything else as an error carrying the remote message or
// the transport failure. Clients reconnect by themselves: a restarted server is
// reached again by the same client.
//
// Transport: Kitex over netpoll, TTHeader framing (so one server can host
// several services), long-lived pooled connections (Kitex's default pool),
// per-call and connect timeouts, and, for clients given several addresses,
// Kitex's round-robin balancing, which dials another address when a connection
// cannot be made (never after a request was sent, so nothing runs twice).
//
// Imports: upstream/logic, upstream/kitex_gen, Kitex and netpoll only. It must not import
// gateway/ or shard/: what it needs from a gateway is GatewayCore, which
// *gateway.Server satisfies; cmd/barrage wires the two.
package rpc
