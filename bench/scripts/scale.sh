#!/usr/bin/env bash
# Scale test: how many authenticated connections with heartbeats one box holds
# across several gateway processes sharing the client ports (SO_REUSEPORT).
#   bash bench/scripts/scale.sh [CONNS] [GATEWAYS]      (defaults 200000 and 12)
# Each process may hold 20,000 files here, so gateways hold ~17k each and the
# bench workers 14,500 each, on their own source addresses. Reports gateway RSS
# (user space) and kernel slab growth, per connection.
set -uo pipefail
CONNS=${1:-200000}
GATEWAYS=${2:-12}
BIN=${BIN:-bin/barrage}
TCP=127.0.0.1:3101
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT INT TERM

kb() { awk -v k="$1:" '$1==k {print $2}' /proc/meminfo; }
slab0=$(kb Slab); unrec0=$(kb SUnreclaim)
for i in $(seq 1 "$GATEWAYS"); do
  "$BIN" run -gateway.reuse_port=true -gateway.tcp_addr "$TCP" -gateway.ws_addr 127.0.0.1:3102 \
    -http.addr 127.0.0.1:0 -gateway.name "scale-$i" -log.level warn &
  pids+=($!)
done
sleep 2
rss() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '/VmRSS/ {print $2}' /proc/$p/status))); done; echo $t; }
rss0=$(rss)
"$BIN" bench -idle -tcp "$TCP" -http 127.0.0.1:3111 -gateway-pid "${pids[0]}" -conns "$CONNS" \
  -per-worker 14500 -heartbeat 30s -settle 15s -connect-timeout 5m 2>&1 | tee /tmp/scale-bench.txt &
bench=$!
# Sample while the clients are connected (the bench holds them for -settle).
held=0
while kill -0 "$bench" 2>/dev/null; do
  sleep 1
  if grep -q "bench: connected" /tmp/scale-bench.txt 2>/dev/null && [ "$held" = 0 ]; then
    sleep 3
    held=1
    rss1=$(rss); slab1=$(kb Slab); unrec1=$(kb SUnreclaim)
    est=$(ss -Htn state established '( sport = :3101 )' | wc -l)
  fi
done
wait "$bench"
[ "$held" = 1 ] || { echo "scale: the bench never reported connected" >&2; exit 1; }
echo
echo "gateway processes:            $GATEWAYS"
echo "established on :3101:         $est"
echo "gateway RSS total:            $(( (rss1 - rss0) / 1024 )) MiB over the idle baseline ($(( rss0 / 1024 )) MiB)"
awk -v r=$((rss1 - rss0)) -v n="$est" 'BEGIN { printf "gateway RSS per connection:   %.2f KB (user space)\n", r / n }'
awk -v s=$((slab1 - slab0)) -v n="$est" 'BEGIN { printf "kernel slab per connection:   %.2f KB (both socket ends: server and client)\n", s / n }'
awk -v s=$((unrec1 - unrec0)) -v n="$est" 'BEGIN { printf "  of which unreclaimable:     %.2f KB\n", s / n }'
