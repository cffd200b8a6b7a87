#!/usr/bin/env bash
# Installs every system package netcall needs to build, test and demo (Debian 12).
# Idempotent: asks apt only for what is missing; does nothing when everything is present.
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config python3 python3-msgpack
  libboost1.81-dev libboost-json1.81-dev
  libmsgpuck-dev libpugixml-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Fuzzing (make fuzz, the fuzz preset): clang, its libFuzzer + sanitizer runtimes
  # (libclang_rt.fuzzer), and llvm-symbolizer for readable crash stacks.
  clang-14 libclang-rt-14-dev llvm-14
  # Clusters (SPEC §5): a real etcd 3.4 for the registry tests, which start their own on free
  # loopback ports (Debian's package may also start a system etcd on 2379; nothing here uses it).
  etcd-server etcd-client
  # Security (SPEC §6): the openssl tool makes the certificates of the tests and the demo, curl
  # sends the demo's cross-origin request.
  openssl curl
  # Operations (SPEC §7): prometheus-cpp's core library for /metrics, libsystemd for sd_notify;
  # a real Prometheus scrapes netcalld in the tests; dpkg-dev, lintian and systemd check the
  # .deb `make package` builds and its unit (systemd-analyze verify).
  prometheus-cpp-dev libsystemd-dev prometheus dpkg-dev lintian systemd fakeroot file
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
