// Package upstream holds everything that crosses the gateway box boundary: the
// business side a gateway talks to. Today that is upstream/logic (auth, routing,
// the goim HTTP push and online API, in-memory router); distributed mode adds the
// Kitex IDL and services, the Redis router and registry and the Kafka feed here.
//
// upstream imports codec/ and declares what it needs from a gateway as small
// interfaces (logic.Delivery, logic.OnlineSource); it never imports gateway/ or
// shard/. cmd/barrage wires the two together.
package upstream
