#!/usr/bin/env bash
# Sequential latency of netcalld beside the raw TCP floor, interleaved: round after round, the
# floor (peers' epoll echo of 8 bytes) then netcalld over MessagePack-RPC and JSON-RPC/TCP, all
# driven by the peers' rpcload client (one connection, one call at a time). The peers harness
# measures each system minutes apart, and this machine kind drifts by more than the 1.2x target
# between them; interleaving cancels the drift, so the ratios here are the ones to judge.
#
#   bench/latency.sh [ROUNDS [CALLS]]        default 5 rounds of 10,000 calls (500 warm-up)
#
# Needs bench/run.sh to have run once (it builds the peers into build/peers). Server on CPU 0,
# client on CPU 1 (SERVER_CPU / CLIENT_CPU override); loopback only; servers stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
calls=${2:-10000}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
peers=build/peers
for f in "$peers/build/rpcload" "$peers/build/raw_server" build/bin/netcalld; do
  [ -x "$f" ] || { echo "bench/latency.sh: $f missing: run bench/run.sh first" >&2; exit 2; }
done

floor_port=19997
netcalld_port=19998
taskset -c "$server_cpu" "$peers/build/raw_server" --mode echo --port "$floor_port" >/dev/null 2>&1 &
floor_pid=$!
taskset -c "$server_cpu" build/bin/netcalld --listen "127.0.0.1:$netcalld_port" --threads 1 \
  --log-level warn >/dev/null &
netcalld_pid=$!
trap 'kill "$floor_pid" "$netcalld_pid" 2>/dev/null; wait 2>/dev/null' EXIT
sleep 1

results=$(mktemp)
run() {  # NAME PROTO PORT
  local line
  line=$(timeout 120 taskset -c "$client_cpu" "$peers/build/rpcload" --proto "$2" --port "$3" \
    --mode seq --calls "$calls" --warmup 500)
  local p50 p99
  p50=$(grep -oE 'p50_us=[0-9.]+' <<<"$line" | cut -d= -f2)
  p99=$(grep -oE 'p99_us=[0-9.]+' <<<"$line" | cut -d= -f2)
  echo "$1 $p50 $p99" >>"$results"
  printf '  %-22s p50 %7.1f us   p99 %7.1f us\n' "$1" "$p50" "$p99"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  run floor raw8 "$floor_port"
  run netcalld-msgpack msgpack "$netcalld_port"
  run netcalld-jsonrpc-tcp jsonl "$netcalld_port"
done

echo "median over $rounds rounds (ratio to the floor):"
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
floor50=$(awk '$1=="floor"{print $2}' "$results" | median)
floor99=$(awk '$1=="floor"{print $3}' "$results" | median)
for name in floor netcalld-msgpack netcalld-jsonrpc-tcp; do
  p50=$(awk -v n="$name" '$1==n{print $2}' "$results" | median)
  p99=$(awk -v n="$name" '$1==n{print $3}' "$results" | median)
  awk -v n="$name" -v a="$p50" -v b="$p99" -v fa="$floor50" -v fb="$floor99" \
    'BEGIN {printf "  %-22s p50 %7.1f us (%.2fx)   p99 %7.1f us (%.2fx)\n", n, a, a/fa, b, b/fb}'
done
rm -f "$results"
