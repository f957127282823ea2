// GatewayPush: served by each gateway (Kitex, default port 3109), called by job
// (and by logic in setups without Kafka) to deliver pushes to the connections
// that gateway holds.
//
// Every method takes one request struct so fields can be added later without
// breaking older peers (thrift skips unknown field ids).
//
// Regenerate the Go code with `make gen` (upstream/gen.sh); never edit
// upstream/kitex_gen by hand.
namespace go gatewayrpc

struct PushKeysReq {
    1: i32 op
    2: list<string> keys  // connection keys on this gateway; unknown keys are skipped
    3: binary body
}

struct BroadcastRoomReq {
    1: string room  // full room id ("live://1000")
    2: i32 op
    3: i64 seq      // the room's sequence number, placed in the packet's seq field
    4: binary body
}

struct BroadcastReq {
    1: i32 op
    2: binary body
    3: i32 speed    // goim's rate hint: pushes per second, 0 = as fast as possible
}

struct RoomOnlineResp {
    1: map<string, i32> rooms  // full room id -> connections on this gateway
}

struct KickReq {
    1: list<string> keys  // close these connection keys
    2: list<i64> mids     // and every connection of these users
    3: string reason      // sent to the client / logged
}

struct KickResp {
    1: i32 closed  // connections closed
}

service GatewayPush {
    void PushKeys(1: PushKeysReq req)
    void BroadcastRoom(1: BroadcastRoomReq req)
    void Broadcast(1: BroadcastReq req)
    RoomOnlineResp RoomOnline()
    KickResp Kick(1: KickReq req)
}
