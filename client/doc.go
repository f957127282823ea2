// Package client is the Go client SDK for Barrage (and for goim, whose wire
// protocol Barrage speaks). It dials the gateway over raw TCP or WebSocket,
// authenticates with op 7, sends the client requests (heartbeat, change/join/leave
// room, sub/unsub, send message, or any op through Request) and hands every pushed
// packet to a callback, with op-9 batches already unpacked.
//
// It serves two users with different needs: the gateway's integration tests, which
// want strict decoding so that a gateway bug surfaces as an error, and the load
// harness, which runs thousands of connections per process and so wants each one
// cheap. Hence: one reader goroutine per connection and nothing else (the periodic
// heartbeat is a timer, not a goroutine), a read buffer that starts small and grows
// only when a single frame needs it, pooled write buffers, and no allocation per
// push unless the callback makes one.
//
// Concurrency: all methods of Conn are safe for concurrent use. OnPush and OnClose
// run on the connection's reader goroutine, so they see packets in wire order; a
// slow OnPush stalls that connection's reads (and nothing else). They may call
// Close; they must not wait for a reply to a request on the same connection,
// because that reply can only be read after they return.
//
// Imports: the standard library, codec (the wire format) and gobwas/ws (the client
// side of the WebSocket opening handshake). Nothing else of Barrage's.
package client
