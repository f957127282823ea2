// Package gateway is the connection side of Barrage (goim's "comet"): gnet event
// loops serving goim TCP and WebSocket clients in one engine, the connection
// lifecycle (handshake deadline, auth, heartbeats on a timer wheel, rooms, op
// subscriptions), and delivery: room broadcasts batched per room and sealed into
// one immutable frame that every member's event loop writes by reference.
//
// Threading model. Each connection belongs to one event loop and all of its state
// is touched only on that loop, so it needs no lock. Everything that reaches a loop
// from outside (pushes, auth results, timer ticks) goes through the loop's inbox
// (a mutex-guarded slice drained on the loop), which keeps per-room order and lets
// one drain coalesce every write a connection receives into one writev. Calls that
// may block (the Logic interface: auth, disconnect, forwarded messages) run on a
// small worker pool, never on a loop. No goroutine per connection.
//
// gateway imports codec/ and shard/ and declares Logic, the small interface it
// needs from the business side; cmd/barrage supplies it (in-process logic in
// embedded mode, Kitex in distributed mode).
package gateway
