// LogicService: served by logic (Kitex, default port 3119), called by every
// gateway. It is the remote form of the gateway's Logic interface
// (gateway/logic.go) and of logic's Connect/Disconnect/Heartbeat/RenewOnline/
// Receive methods (upstream/logic).
//
// Every method takes one request struct so fields can be added later without
// breaking older peers (thrift skips unknown field ids).
//
// Regenerate the Go code with `make gen` (upstream/gen.sh); never edit
// upstream/kitex_gen by hand.
namespace go logicrpc

// AuthRejected is logic refusing a connection because of what the client sent
// (bad auth body, missing or bad token, ...). It is an exception, not a plain
// error, so a gateway can tell "this client is rejected" (close it) from "logic
// is unreachable or failing" (a transport error or TApplicationException).
exception AuthRejected {
    // reason is a stable code naming the logic sentinel error:
    // "bad_auth_body", "token_required", "bad_token", "mid_mismatch",
    // "room_not_allowed". Unknown codes must be treated as a rejection too.
    1: string reason
    // detail says what exactly was wrong, for logs (the underlying cause's
    // text included).
    2: string detail
}

struct ConnectReq {
    1: string server       // the calling gateway's name
    2: string remote_addr  // client address, "ip:port"
    3: binary body         // raw op-7 auth body (JSON, see docs/PROTOCOL.md)
}

struct ConnectResp {
    1: i64 mid
    2: string key              // the client's key, or a generated one
    3: list<string> rooms      // full room ids to join ("live://1000"), may be empty
    4: list<i32> accepts       // ops the connection subscribes to
    5: i64 heartbeat_ms        // close the connection after this long without a heartbeat
    6: bool room_pinned        // the token pins the connection to rooms: the gateway refuses op 12/18 to any other room
}

struct DisconnectReq {
    1: string server
    2: i64 mid
    3: string key
}

struct HeartbeatReq {
    1: string server
    2: i64 mid
    3: string key
}

struct RenewOnlineReq {
    1: string server
    2: map<string, i32> rooms  // full room id -> connections on this gateway
    3: i64 conns               // authenticated connections on this gateway
    4: i64 ips                 // distinct client IPs on this gateway
}

struct RenewOnlineResp {
    // global is false when logic keeps no online store (embedded-style logic):
    // the gateway's own counts are then the global ones and rooms is empty.
    1: bool global
    2: map<string, i32> rooms  // full room id -> connections over all live gateways
}

struct ReceiveReq {
    1: i64 mid
    2: string key
    3: i32 op
    4: binary body
}

service LogicService {
    ConnectResp Connect(1: ConnectReq req) throws (1: AuthRejected rejected)
    void Disconnect(1: DisconnectReq req)
    void Heartbeat(1: HeartbeatReq req)
    RenewOnlineResp RenewOnline(1: RenewOnlineReq req)
    void Receive(1: ReceiveReq req)
}
