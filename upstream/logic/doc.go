// Package logic is Barrage's business entry ("logic" in goim): it authenticates
// connections, records which gateway holds which connection key, and turns push
// requests (by key, by user id, by room, to everyone) into deliveries. It also
// serves goim's HTTP push and online API unchanged (NewHTTPHandler), so existing
// goim push tools keep working.
//
// The package is the same code in both deployment modes. Everything that differs
// between them sits behind four small interfaces, the seams:
//
//   - Router records mid -> {key -> gateway}. MemoryRouter here (embedded mode);
//     a Redis router later (distributed mode).
//   - Delivery hands a push to the gateways: a direct call into the in-process
//     gateway when embedded, Kafka when distributed.
//   - OnlineSource reports connection and room counts: read live from the
//     gateway when embedded, an aggregate when distributed.
//   - MessageHandler receives what clients send with op 4 (the business
//     service). LogHandler, the default, logs at debug level and counts.
//
// A gateway calls Connect, Heartbeat, Disconnect and Receive; business services
// call the Push* and Online* methods (over HTTP here, over Kitex later).
//
// Authentication: with Config.JWTSecret set, the auth body must carry an HS256
// JWT whose "mid" claim is authoritative and whose optional "room_id" claim pins
// the connection to one room. Without a secret the auth body is trusted as goim
// trusts it (development mode, announced by a WARN log at New).
//
// Imports: codec/ of Barrage and well-kept libraries only (sonic, golang-jwt,
// log/slog). It must not import gateway/ or shard/: what it needs from a gateway
// is declared here as Delivery and OnlineSource, and cmd/barrage wires the two.
package logic
