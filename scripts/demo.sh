#!/usr/bin/env bash
# `make demo` (SPEC §1): starts two netcalld nodes on loopback, calls them over every protocol,
# shows a remote error, a timeout and introspection, then makes the two a cluster (SPEC §5):
# apply, routed calls by name and `any`, a gateway called from Python, and failover after one
# node is killed; then a node with TLS and a token (SPEC §6): one TLS call, one refused call, and
# a web page's cross-origin request refused; then operations (SPEC §7): a node configured from a
# YAML file, its access log and its /metrics. Stops every node it started (by PID).
set -euo pipefail
bin=${1:-build/bin}
py=/usr/bin/python3
workdir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT

# Starts a node; sets $port to the port from its "netcalld listening on HOST:PORT" line.
start_node() {
  local name=$1; shift
  "$bin/netcalld" --listen 127.0.0.1:0 --name "$name" --log-level warn "$@" \
    >"$workdir/$name.out" 2>"$workdir/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if grep -q "listening on" "$workdir/$name.out"; then break; fi
    sleep 0.05
  done
  port=$(sed -n 's/^netcalld listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$workdir/$name.out" | head -1)
  [ -n "$port" ] || { echo "demo: $name did not start:" >&2; cat "$workdir/$name.err" >&2; exit 1; }
  echo "started $name (pid ${pids[-1]}): $(cat "$workdir/$name.out")"
}

show() {  # prints a command, runs it, and shows its exit code when it is not 0
  echo "\$ $*"
  set +e
  "$@"
  local rc=$?
  set -e
  [ $rc -eq 0 ] || echo "(exit code $rc)"
}

start_node alpha
alpha=127.0.0.1:$port
start_node beta --delay 700ms
beta=127.0.0.1:$port
echo

echo "== JSON-RPC 2.0 over raw TCP (the default protocol)"
show "$bin/netcall" call "$alpha" add 2 3
show "$bin/netcall" call "$alpha" subtract minuend=42 subtrahend=23
show "$bin/netcall" call "$alpha" echo '{"list":[1,2.0,"three",null]}'
echo
echo "== JSON-RPC 2.0 over HTTP"
show "$bin/netcall" call --protocol jsonrpc-http "$alpha" multiply 6 7
echo
echo "== XML-RPC from Python's standard library (xmlrpc.client, unmodified)"
show $py -c "
import xmlrpc.client
p = xmlrpc.client.ServerProxy('http://$alpha/RPC2')
print('add(2, 3) =', p.add(2, 3), '| divide(7, 2) =', p.divide(7, 2), '| is_alnum(\"abc1\") =', p.is_alnum('abc1'))
mc = xmlrpc.client.MultiCall(p); mc.add(1, 1); mc.multiply(3, 3)
print('multicall:', list(mc()))"
echo
echo "== MessagePack-RPC (the fastest protocol; also the C++ client's default)"
show "$bin/netcall" call --protocol msgpack "$alpha" echo '{"list":[1,2.5,"x"]}'
show $py -c "
import socket, msgpack
s = socket.create_connection(('127.0.0.1', ${alpha##*:}), timeout=5)
s.sendall(msgpack.packb([0, 1, 'sleep', [200]]) + msgpack.packb([0, 2, 'add', [2, 3]]))
u = msgpack.Unpacker()
got = []
while len(got) < 2:
    u.feed(s.recv(4096)); got += list(u)
print('python3-msgpack, answers in order of completion:', got)"
echo
echo "== Positional JSON array calls, the form tutorials use: [method, params...] -> bare result"
show $py -c "
import json, socket
s = socket.create_connection(('127.0.0.1', ${alpha##*:}), timeout=5)
s.send(json.dumps(['add', 10, 10]).encode()); print('add(10, 10) =', json.loads(s.recv(1024)))
s.send(json.dumps(['sub', 10, 3]).encode()); print('sub(10, 3) =', json.loads(s.recv(1024)))"
echo
echo "== A raw socket speaking JSON-RPC (what any language can do)"
show $py -c "
import socket
s = socket.create_connection(('127.0.0.1', ${alpha##*:}), timeout=5)
s.sendall(b'[{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":1},{\"jsonrpc\":\"2.0\",\"method\":\"is_alnum\",\"params\":[\"x!\"],\"id\":2}]')
print(s.makefile().readline().strip())"
echo
echo "== A remote error (exit code 1, message on stderr)"
show "$bin/netcall" call "$alpha" divide 1 0
echo
echo "== A timeout: beta answers after 700ms, the client gives up after 300ms (exit code 3)"
show "$bin/netcall" call --timeout 300ms "$beta" add 1 1
echo
echo "== A timeout with retries, executed at most once (SPEC §2, §4)"
echo "   every attempt carries the same idempotency key: beta runs the call once, and answers"
echo "   every attempt no earlier than 700ms after the first arrived; --verbose shows the attempts"
echo "   that timed out, counter.get shows one execution"
show "$bin/netcall" call --verbose --timeout 300ms --retries 5 "$beta" counter.increment
show "$bin/netcall" call --timeout 3s "$beta" counter.get
echo
echo "== Introspection (system.listMethods, methodSignature, methodHelp)"
show "$bin/netcall" list --protocol xmlrpc "$alpha"
echo
echo "== A short benchmark (closed loop, 64 calls in flight on 8 connections, MessagePack-RPC)"
show "$bin/netcall" bench --protocol msgpack "$alpha" add 2 3 --duration 2s --warmup 500ms
echo
echo "== A two-node cluster (SPEC §5, docs/clusters.md): one file names the nodes and places procedures"
cat >"$workdir/cluster.yaml" <<YAML
nodes:
  alpha: $alpha
  beta: $beta
procedures:
  add: [alpha, beta]
  subtract: [alpha]
  divide: [beta]
YAML
echo "\$ cat cluster.yaml"
cat "$workdir/cluster.yaml"
cluster=$workdir/cluster.yaml
show "$bin/netcall" cluster apply "$cluster"
show "$bin/netcall" cluster status "$cluster"
echo "-- routed by node name, and by \`any\` (a node that serves the method, balanced)"
show "$bin/netcall" call --cluster "$cluster" alpha subtract 9 2
show "$bin/netcall" call --cluster "$cluster" any divide 1 4
echo "-- the wrong node names the right one"
show "$bin/netcall" call --cluster "$cluster" alpha divide 1 4
echo
echo "== A gateway: one address for the whole cluster, for clients in any language"
start_node gateway --gateway --cluster "$cluster" --modules text
gateway=127.0.0.1:$port
show $py -c "
import xmlrpc.client
p = xmlrpc.client.ServerProxy('http://$gateway/RPC2')
print('through the gateway: subtract(9, 2) =', p.subtract(9, 2), '(alpha) | divide(1, 4) =', p.divide(1, 4), '(beta)')"
echo
echo "== Failover: beta is killed (SIGKILL); calls of add, served by both, go to alpha"
kill -KILL "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
show "$bin/netcall" call --cluster "$cluster" any add 2 3
show "$bin/netcall" bench --cluster "$cluster" any add 2 3 --calls 2000 --concurrency 8 --warmup 0ms
show "$bin/netcall" cluster status "$cluster"
echo
echo "== Security (SPEC §6, docs/security.md): TLS and a token on one port, beside plain clients"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=demo CA" -keyout "$workdir/ca.key" -out "$workdir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$workdir/server.key" -out "$workdir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$workdir/san.ext"
openssl x509 -req -in "$workdir/server.csr" -CA "$workdir/ca.pem" -CAkey "$workdir/ca.key" \
  -CAcreateserial -days 1 -extfile "$workdir/san.ext" -out "$workdir/server.pem" 2>/dev/null
openssl rand -hex 16 >"$workdir/tokens"
token=$(cat "$workdir/tokens")
start_node secure --tls-cert "$workdir/server.pem" --tls-key "$workdir/server.key" \
  --token-file "$workdir/tokens"
secure=127.0.0.1:$port
echo "-- a TLS call with the token (verified against the demo CA)"
show "$bin/netcall" call --tls --ca "$workdir/ca.pem" --token "$token" "$secure" add 20 22
echo "-- the same port without the token: refused, not run (-32003)"
show "$bin/netcall" call "$secure" counter.increment
echo "-- a web page's cross-origin POST (text/plain, Origin): 403, whatever the token"
show curl -s -o /dev/null -w "HTTP %{http_code}\n" -H 'Content-Type: text/plain' \
  -H 'Origin: http://evil.example' -d '{"jsonrpc":"2.0","id":1,"method":"counter.increment"}' \
  "http://$secure/anything"
show "$bin/netcall" call --tls --ca "$workdir/ca.pem" --token "$token" "$secure" counter.get
echo
echo "== Operations (SPEC §7, docs/operations.md): a config file, an access log, /metrics"
cat >"$workdir/ops.yaml" <<YAML
# keys are netcalld's long flags without --; flags on the command line win
modules: [math, demo]
threads: 1
access-log: $workdir/access.log
YAML
echo "\$ cat ops.yaml"
cat "$workdir/ops.yaml"
start_node ops --config "$workdir/ops.yaml"
ops=127.0.0.1:$port
"$bin/netcall" call "$ops" add 2 3 >/dev/null
"$bin/netcall" call --protocol msgpack "$ops" add 4 5 >/dev/null
"$bin/netcall" call --protocol xmlrpc "$ops" nope >/dev/null 2>&1 || true
show "$bin/netcall" call "$ops" counter.increment
kill -TERM "${pids[-1]}"  # the access log is flushed at shutdown
wait "${pids[-1]}" 2>/dev/null || true
echo "-- the access log: time, peer, protocol, method, code, duration, bytes in/out, request id"
cat "$workdir/access.log"
start_node metrics
"$bin/netcall" call "127.0.0.1:$port" add 1 1 >/dev/null
"$bin/netcall" call "127.0.0.1:$port" nope >/dev/null 2>&1 || true
echo "-- /metrics (Prometheus text format): calls by method, protocol and code"
show bash -c "curl -s http://127.0.0.1:$port/metrics | grep '^netcall_server_calls_total'"
show "$bin/netcalld" --version
echo
echo "demo finished; stopping the nodes"
