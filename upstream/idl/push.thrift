// PushAPI: served by logic (Kitex, on the same port as LogicService, default
// 3119) for business services. The same operations as goim's HTTP push and
// online API, which logic keeps serving on :3111; the two give the same
// results.
//
// Every method takes one request struct so fields can be added later without
// breaking older peers (thrift skips unknown field ids).
//
// Regenerate the Go code with `make gen` (upstream/gen.sh); never edit
// upstream/kitex_gen by hand.
namespace go pushrpc

// BadRequest is a call with bad arguments: the cases the HTTP API answers with
// code -400 (no keys, empty room type or name, limit <= 0, ...). Any other
// failure comes back as a plain error (TApplicationException) with its message,
// the HTTP API's -500.
exception BadRequest {
    1: string message
}

struct PushKeysReq {
    1: i32 op
    2: list<string> keys
    3: binary body
}

struct PushMidsReq {
    1: i32 op
    2: list<i64> mids
    3: binary body
}

struct PushRoomReq {
    1: string type  // room type, "live" of "live://1000"
    2: string room  // room name, "1000" of "live://1000"
    3: i32 op
    4: binary body
}

struct PushAllReq {
    1: i32 op
    2: i32 speed    // goim's rate hint: pushes per second, 0 = as fast as possible
    3: binary body
}

// Kicks close connections (Barrage; goim has no kick API). reason is what
// WebSocket clients see in their close frame (code 1008), at most 1024 bytes
// of UTF-8, cut to 123 bytes on the wire.
struct KickKeysReq {
    1: list<string> keys
    2: string reason
}

struct KickMidsReq {
    1: list<i64> mids
    2: string reason
}

struct OnlineTopReq {
    1: string type
    2: i32 limit
}

struct RoomCount {
    1: string room_id  // room name without the "type://" prefix
    2: i32 count
}

struct OnlineTopResp {
    1: list<RoomCount> rooms  // fullest first
}

struct OnlineRoomReq {
    1: string type
    2: list<string> rooms  // room names without the "type://" prefix
}

struct OnlineRoomResp {
    1: map<string, i32> rooms  // room name -> connections (0 when empty)
}

struct OnlineTotalResp {
    1: i64 conn_count
    2: i64 ip_count
}

service PushAPI {
    void PushKeys(1: PushKeysReq req) throws (1: BadRequest bad)
    void PushMids(1: PushMidsReq req) throws (1: BadRequest bad)
    void PushRoom(1: PushRoomReq req) throws (1: BadRequest bad)
    void PushAll(1: PushAllReq req) throws (1: BadRequest bad)
    OnlineTopResp OnlineTop(1: OnlineTopReq req) throws (1: BadRequest bad)
    OnlineRoomResp OnlineRoom(1: OnlineRoomReq req) throws (1: BadRequest bad)
    OnlineTotalResp OnlineTotal() throws (1: BadRequest bad)
    void KickKeys(1: KickKeysReq req) throws (1: BadRequest bad)
    void KickMids(1: KickMidsReq req) throws (1: BadRequest bad)
}
