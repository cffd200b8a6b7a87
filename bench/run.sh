#!/usr/bin/env bash
# Builds netcall Release and runs netcalld through the peers harness (../shared/peers, see its
# README; what it is: bench/RESULTS.md) beside the peers, in one table: the speed issue's figures
# are judged from this run.
#
#   bench/run.sh                         # raw floors, Python asyncio, gRPC, Cap'n Proto, ... + netcalld
#   bench/run.sh --only raw-echo,raw-http,ext --runs 1   # any run_all.sh option passes through
#
# The server is pinned to CPU 0 and the load client to CPU 1 (run_all.sh's default). The peers'
# folder is read-only, so the harness runs on a copy in build/peers; results land in
# build/peers/results/latest/ (summary.md is the table to paste into bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
peers_src=../shared/peers
[ -d "$peers_src" ] || { echo "bench/run.sh: $peers_src not found" >&2; exit 2; }

bash scripts/setup.sh
# What the harness needs to build and drive the peers (its README's list).
peer_packages=(libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler wrk
  libxmlrpc-c++8-dev libjsonrpccpp-dev libjsoncpp-dev libmicrohttpd-dev capnproto libcapnp-dev
  libmsgpuck-dev python3-msgpack time)
missing=()
for p in "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake --preset release >/dev/null
cmake --build --preset release --target netcalld

mkdir -p build/peers
cp -r "$peers_src"/. build/peers/
chmod -R u+w build/peers
port=19999
exec bash build/peers/run_all.sh \
  --ext-name netcalld \
  --ext-cmd "$PWD/build/bin/netcalld --listen 127.0.0.1:$port --threads 1 --log-level warn" \
  --ext-port "$port" "$@"
