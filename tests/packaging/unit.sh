#!/usr/bin/env bash
# packaging.unit: `systemd-analyze verify` of netcalld.service, failing on any complaint
# (verify exits 0 on unknown keys and only prints them, so any output fails this test).
#
# verify checks that ExecStart's binary exists and is executable, so the source file, which
# names /usr/bin/netcalld, fails on a machine where the .deb is not installed. The unit checked
# here is the one `cmake --install` put under PREFIX (fixture netcall_installed): the same file
# with ExecStart naming PREFIX/bin/netcalld, which exists (packaging.deb checks that the .deb's
# unit is the source file byte for byte). verify works without systemd running (containers);
# it does not run ExecStart.
#   unit.sh PREFIX
set -euo pipefail
prefix=$1
unit=$prefix/lib/systemd/system/netcalld.service
[ -f "$unit" ] || { echo "no unit at $unit" >&2; exit 1; }
out=$(timeout 60 systemd-analyze verify "$unit" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
  echo "$out" >&2
  exit 1
fi
echo "systemd-analyze verify: $unit passes"
