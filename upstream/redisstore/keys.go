package redisstore

import (
	"strconv"
	"strings"
)

// keyspace builds every Redis key the Store uses; docs/REDIS.md describes each
// one and must change with this file. Values that pack two fields put the
// numeric one first and split at the first '|', so a gateway name or a
// connection key may itself contain '|'.
type keyspace struct{ prefix string }

// route: STRING "<mid>|<server>", the gateway holding a connection key.
func (k keyspace) route(key string) string { return k.prefix + "key:" + key }

// mid: HASH key -> "<expiresUnixMs>|<server>", a user's connections.
func (k keyspace) mid(mid int64) string { return k.prefix + "mid:" + strconv.FormatInt(mid, 10) }

// gwRoutes: SET of "<mid>|<key>", the routes a gateway recorded, so a dead
// gateway's routes can be found without scanning the keyspace. The hash tag
// {gw:<server>} puts it in the same cluster slot as gwRoutesDead, which the
// cleanup RENAMEs it to; the tag starts with "gw:" so it is never empty (an
// empty tag "{}" would hash the whole key) whatever the server name holds.
func (k keyspace) gwRoutes(server string) string { return k.prefix + "{gw:" + server + "}:routes" }

// gwRoutesDead: SET, a dead gateway's routes set renamed away by the cleanup
// (its snapshot), so routes recorded afterwards under the same name go to a
// fresh gwRoutes and are not deleted with it. Keeps gwRoutes' TTL.
func (k keyspace) gwRoutesDead(server string) string {
	return k.prefix + "{gw:" + server + "}:routes:dead"
}

// gwInfo: STRING, JSON GatewayInfo, the registry entry (TTL = GatewayTTL).
func (k keyspace) gwInfo(server string) string { return k.prefix + "gw:" + server + ":info" }

// gwCleanup: STRING lock, held by the logic instance cleaning a dead gateway.
func (k keyspace) gwCleanup(server string) string { return k.prefix + "gw:" + server + ":cleanup" }

// gwCleaned: STRING, unix ms of the cleanup that removed the gateway's
// routes (TTL = RouteTTL), read and deleted by its next RegisterGateway so the
// gateway learns its routes are gone.
func (k keyspace) gwCleaned(server string) string { return k.prefix + "gw:" + server + ":cleaned" }

// gwMissing: HASH gateway name -> when a cleanup first saw its registry
// entry missing (unix ms, Redis server clock), or 0 after DeregisterGateway.
// A gateway is cleaned only once its mark is CleanupGrace old.
func (k keyspace) gwMissing() string { return k.prefix + "gateways-missing" }

// gateways: SET of gateway names ever registered and not yet cleaned up (the
// "seen" set of CleanupDeadGateways).
func (k keyspace) gateways() string { return k.prefix + "gateways" }

// online: STRING, JSON onlineRecord, one gateway's counts (TTL = OnlineTTL).
func (k keyspace) online(server string) string { return k.prefix + "online:" + server }

// onlineIndex: ZSET gateway name -> expiry of its counts (unix ms), so readers
// find the online keys without a SCAN.
func (k keyspace) onlineIndex() string { return k.prefix + "online-index" }

// seq: STRING integer, a room's last sequence number (INCR, no TTL).
func (k keyspace) seq(room string) string { return k.prefix + "seq:" + room }

// joinNum packs a number and a string as "<n>|<s>".
func joinNum(n int64, s string) string { return strconv.FormatInt(n, 10) + "|" + s }

// splitNum unpacks "<n>|<s>"; ok is false for anything else.
func splitNum(v string) (n int64, s string, ok bool) {
	head, tail, found := strings.Cut(v, "|")
	if !found {
		return 0, "", false
	}
	n, err := strconv.ParseInt(head, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, tail, true
}
