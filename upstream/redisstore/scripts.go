package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Lua scripts, each touching exactly one key (KEYS[1]) so they run unchanged
// on a Redis Cluster. They make "change it only if it is still mine" atomic:
// a late Remove or Touch from a gateway that lost a connection key to another
// gateway must not delete or steal the newer route.
//
// Route values are "<mid>|<server>" and mid hash fields "<expiresUnixMs>|<server>";
// the server is everything after the first '|'.

// scriptRouteTouch refreshes a key route, or creates it when absent, unless
// another server holds it. ARGV: value, server, ttl ms. Returns 1 if written.
var scriptRouteTouch = newScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local i = string.find(v, '|', 1, true)
  if i and string.sub(v, i + 1) ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// scriptRouteDelIf deletes a key route if the server still holds it.
// ARGV: server. Returns 1 if deleted.
var scriptRouteDelIf = newScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local i = string.find(v, '|', 1, true)
if i and string.sub(v, i + 1) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// scriptMidPut records one connection of a mid, prunes the mid's fields that
// have expired (a hash has one TTL for all its fields, so per-connection
// expiry is kept in the value) and extends the hash's TTL. Pruning reads the
// whole hash, only when it has more than one field: a user has a handful of
// connections. ARGV: field (key), value, ttl ms, now ms.
var scriptMidPut = newScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > 1 then
  local now = tonumber(ARGV[4])
  local all = redis.call('HGETALL', KEYS[1])
  for j = 1, #all, 2 do
    local v = all[j + 1]
    local i = string.find(v, '|', 1, true)
    local exp = i and tonumber(string.sub(v, 1, i - 1))
    if not exp or exp <= now then redis.call('HDEL', KEYS[1], all[j]) end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// scriptMidTouch refreshes one connection of a mid, or records it when absent
// or expired, unless another server holds it live. ARGV: field (key), value,
// server, ttl ms, now ms. Returns 1 if written.
var scriptMidTouch = newScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  local i = string.find(v, '|', 1, true)
  if i and string.sub(v, i + 1) ~= ARGV[3] and (tonumber(string.sub(v, 1, i - 1)) or 0) > tonumber(ARGV[5]) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// scriptMidDelIf deletes one connection of a mid if the server still holds
// it. ARGV: field (key), server. Returns 1 if deleted.
var scriptMidDelIf = newScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local i = string.find(v, '|', 1, true)
if i and string.sub(v, i + 1) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`)

// The missing-gateway marks (KEYS[1] = the gateways-missing hash) are timed
// by the Redis server's clock (TIME), the one clock every logic instance
// reading the hash shares, so skew between logic hosts cannot shorten the
// grace. Redis >= 5 replicates scripts by effects, so TIME before a write is
// allowed.

// scriptGwMark records that the gateways in ARGV are missing and drops every
// other mark (gateways found alive, or no longer in the seen set). It returns,
// per ARGV name, how long ago (ms) it was first marked, or -1 when this call
// marked it.
var scriptGwMark = newScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep, ages = {}, {}
for i = 1, #ARGV do
  keep[ARGV[i]] = true
  local at = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '')
  if at then
    ages[i] = now - at
  else
    redis.call('HSET', KEYS[1], ARGV[i], now)
    ages[i] = -1
  end
end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not keep[f] then redis.call('HDEL', KEYS[1], f) end
end
return ages`)

// scriptGwMarkAge returns how long ago (ms) gateway ARGV[1] was marked
// missing, or -1 if it is not marked.
var scriptGwMarkAge = newScript(`
local at = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '')
if not at then return -1 end
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - at`)

// script is a Lua source and its SHA-1, the name EVALSHA runs it by.
type script struct{ src, sha string }

// scriptsBySHA lets execPipe find the source of a script Redis forgot.
var scriptsBySHA = map[string]*script{}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	s := &script{src: src, sha: hex.EncodeToString(sum[:])}
	scriptsBySHA[s.sha] = s
	return s
}

// run queues the script on a pipeline by its SHA-1. Sending only the hash
// keeps pipelines small; execPipe resends the source if Redis does not know
// the script (first use, restart, SCRIPT FLUSH, failover to a fresh replica).
func (sc *script) run(ctx context.Context, p redis.Pipeliner, key string, args ...any) *redis.Cmd {
	return p.EvalSha(ctx, sc.sha, []string{key}, args...)
}

// execPipe runs a pipeline, re-running with EVAL any script command Redis
// answered with NOSCRIPT, and returns the first error other than redis.Nil (a
// missing key is an answer, not a failure). Per-command results stay on the
// commands, as with Pipeliner.Exec.
func execPipe(ctx context.Context, rdb redis.UniversalClient, p redis.Pipeliner) ([]redis.Cmder, error) {
	cmds, _ := p.Exec(ctx)
	var retry []*redis.Cmd
	for _, c := range cmds {
		if rc, ok := c.(*redis.Cmd); ok && redis.HasErrorPrefix(rc.Err(), "NOSCRIPT") {
			retry = append(retry, rc)
		}
	}
	if len(retry) > 0 {
		p2 := rdb.Pipeline()
		redo := make([]*redis.Cmd, len(retry))
		for i, rc := range retry {
			// Args: "evalsha", sha, numkeys (always 1 here), key, args...
			args := rc.Args()
			sc := scriptsBySHA[args[1].(string)]
			redo[i] = p2.Eval(ctx, sc.src, []string{args[3].(string)}, args[4:]...)
		}
		_, _ = p2.Exec(ctx)
		for i, rc := range retry {
			rc.SetVal(redo[i].Val())
			rc.SetErr(redo[i].Err())
		}
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return cmds, err
		}
	}
	return cmds, nil
}
