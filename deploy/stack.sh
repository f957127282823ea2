#!/usr/bin/env bash
# make stack: the distributed stack on one machine, in the foreground.
#   redis-server (throwaway, :6390)  dev-kafka (:9092)  logic (HTTP :3111, Kitex :3119)  job (admin :3112)
#   gateway-a (TCP :3101, WS :3102, push :3109, admin :3110)  gateway-b (TCP :3201, WS :3202, push :3209, admin :3210)
# Ctrl-C or SIGTERM stops every process. Logs go to the terminal, prefixed by role.
set -uo pipefail
BIN=${BIN:-bin/barrage}
REDIS_PORT=${REDIS_PORT:-6390}
KAFKA_PORT=${KAFKA_PORT:-9092}
DIR=$(mktemp -d -t barrage-stack.XXXXXX)
pids=()
declare -A byname

stopping=
# Stop in dependency order: gateways leave the registry while Redis and Kafka are
# still up, then job, logic, and the stores last.
stop_all() {
  stopping=1
  trap - INT TERM EXIT
  echo "stack: stopping"
  for name in gateway-a gateway-b job logic kafka redis; do
    p=${byname[$name]:-}
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$DIR"
  echo "stack: stopped"
}
trap stop_all INT TERM EXIT

# start NAME CMD...: run CMD in the background with its output prefixed. setsid
# keeps it out of the terminal's process group: Ctrl-C reaches this script only,
# and stop_all stops the processes in order (Redis must outlive the gateways).
start() {
  local name=$1; shift
  setsid "$@" > >(tee -a "$DIR/$name.log" | sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
  byname[$name]=$!
}

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "stack: nothing listens on :$1 after 10 s" >&2
  exit 1
}

command -v redis-server >/dev/null || { echo "stack: redis-server not found (make stack installs it)" >&2; exit 1; }
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR"
start kafka "$BIN" dev-kafka -port "$KAFKA_PORT"
wait_port "$REDIS_PORT"; wait_port "$KAFKA_PORT"

COMMON=(-redis.addrs "127.0.0.1:$REDIS_PORT" -kafka.brokers "127.0.0.1:$KAFKA_PORT")
start logic "$BIN" logic "${COMMON[@]}"
wait_port 3119
start job "$BIN" job "${COMMON[@]}"
start gateway-a "$BIN" gateway "${COMMON[@]}" -gateway.name gateway-a
start gateway-b "$BIN" gateway "${COMMON[@]}" -gateway.name gateway-b \
  -gateway.tcp_addr :3201 -gateway.ws_addr :3202 -rpc.gateway_addr :3209 -admin.addr :3210
wait_port 3101; wait_port 3201
# Ready when job has found both gateways in the registry.
for _ in $(seq 1 100); do
  [ "$(grep -c 'gateway joined' "$DIR/job.log" 2>/dev/null)" -ge 2 ] && break
  sleep 0.1
done
echo "stack: up. Push: curl -XPOST 'http://127.0.0.1:3111/goim/push/room?operation=1000&type=live&room=1000' -d hi"

# Stay in the foreground until a signal, or until any process dies.
wait -n "${pids[@]}"
[ -n "$stopping" ] || echo "stack: a process exited; stopping the rest" >&2
