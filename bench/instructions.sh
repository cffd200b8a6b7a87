#!/usr/bin/env bash
# Server instructions per call of two netcalld binaries, counted by valgrind's callgrind: exact
# and repeatable (the same binary and load give the same count whatever else the machine does),
# where timing on these shared VMs moves 15-40 % between runs (bench/compare.sh measures time).
# Counts user-space instructions only: the kernel's share of a call (syscalls) is not in them.
#
#   bench/instructions.sh OLD_NETCALLD NEW_NETCALLD [PROTOCOLS]
#                                     default msgpack,jsonrpc,jsonrpc-http,xmlrpc
#   OLD_ARGS / NEW_ARGS (environment): more netcalld flags for each, e.g. the same binary twice
#   with NEW_ARGS="--token-file F" and NETCALL_TOKEN set: the cost of token checks.
#
# For each protocol and binary: netcalld --threads 1 under callgrind, `netcall bench` (this
# build's) sends N1 then, on a fresh server, N2 calls of add(2,3) (one at a time on one
# connection); instructions per call = (total(N2) - total(N1)) / (N2 - N1), so start-up and
# shutdown cancel out. Loopback only; every server is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '6,7p' "$0" >&2; exit 2; }
old=$1 new=$2
protocols=${3:-msgpack,jsonrpc,jsonrpc-http,xmlrpc}
client=build/bin/netcall
for f in "$old" "$new" "$client"; do
  [ -x "$f" ] || { echo "bench/instructions.sh: $f is not an executable" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "bench/instructions.sh: valgrind is missing" >&2; exit 2; }
n1=1000 n2=6000
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

total() {  # BINARY PROTOCOL CALLS EXTRA_ARGS -> instructions of the whole server run
  local bin=$1 proto=$2 calls=$3 extra=$4 port=""
  # shellcheck disable=SC2086  # EXTRA_ARGS are words
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" --listen 127.0.0.1:0 \
    --threads 1 --log-level warn $extra >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 300); do  # valgrind starts slowly: up to 30 s for the listening line
    port=$(sed -n 's/^netcalld listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench/instructions.sh: $bin did not start" >&2; exit 1; }
  timeout 300 "$client" bench --protocol "$proto" "127.0.0.1:$port" add 2 3 --calls "$calls" \
    --warmup 0ms --concurrency 1 --connections 1 --json >/dev/null
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  sed -n 's/^summary: \([0-9]*\)$/\1/p' "$work/cg.out"
}

printf '%-14s %14s %14s %8s\n' protocol "old instr/call" "new instr/call" "new/old"
for proto in ${protocols//,/ }; do
  per_call=()
  for which in old new; do
    if [ $which = old ]; then bin=$old extra=${OLD_ARGS:-}; else bin=$new extra=${NEW_ARGS:-}; fi
    a=$(total "$bin" "$proto" "$n1" "$extra")
    b=$(total "$bin" "$proto" "$n2" "$extra")
    per_call+=($(( (b - a) / (n2 - n1) )))
  done
  awk -v p="$proto" -v o="${per_call[0]}" -v n="${per_call[1]}" \
    'BEGIN {printf "%-14s %14d %14d %8.3f\n", p, o, n, n / o}'
done
