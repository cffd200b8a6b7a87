#!/usr/bin/env bash
# packaging.deb: builds the .deb of this build with CPack (what `make package` does), checks
# its files, fields and conffile, unpacks it and runs the unpacked netcalld --help, and runs
# lintian, which must report no error (warnings are printed, not fatal).
#   deb.sh CPACK BUILD_DIR SOURCE_DIR
set -euo pipefail
cpack=$1 build=$2 source=$3
work=$(mktemp -d "$build/packaging-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  exit 1
fi
debs=("$work"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "expected one .deb: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb")"

dpkg-deb -c "$deb" | awk '{print $NF}' >"$work/contents"
for f in ./usr/bin/netcalld ./usr/bin/netcall ./usr/include/netcall/server.hpp \
         ./usr/include/netcall/version.hpp ./usr/lib/cmake/netcall/netcallConfig.cmake \
         ./usr/lib/cmake/netcall/netcallConfigVersion.cmake \
         ./usr/lib/cmake/netcall/netcallTargets.cmake ./usr/lib/cmake/netcall/Findmsgpuck.cmake \
         ./usr/lib/pkgconfig/netcall.pc ./usr/lib/systemd/system/netcalld.service \
         ./etc/netcall/netcalld.yaml ./usr/share/doc/netcall/copyright \
         ./usr/share/doc/netcall/changelog.Debian.gz; do
  grep -qxF "$f" "$work/contents" || { echo "missing from the .deb: $f" >&2; exit 1; }
done
for layer in common value protocol transport client cluster server serve; do
  grep -qE "^\./usr/lib/(.*/)?libnetcall_$layer\.a$" "$work/contents" \
    || { echo "missing from the .deb: libnetcall_$layer.a" >&2; exit 1; }
done

# Control: the config is a conffile; Depends has the shared libraries (dpkg-shlibdeps) and
# the -dev packages find_package(netcall) needs.
dpkg-deb -e "$deb" "$work/control"
grep -qxF /etc/netcall/netcalld.yaml "$work/control/conffiles" \
  || { echo "netcalld.yaml is not a conffile" >&2; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for d in libc6 libstdc++6 libssl3 libmsgpuck-dev libboost-json1.81-dev libspdlog-dev \
         prometheus-cpp-dev libsystemd-dev; do
  [[ ", $depends," == *", $d"[\ ,]* ]] || { echo "Depends lacks $d: $depends" >&2; exit 1; }
done

# The unpacked tree: the /usr unit is the source file itself, and the program runs.
dpkg -x "$deb" "$work/root"
cmp "$source/packaging/netcalld.service" "$work/root/usr/lib/systemd/system/netcalld.service"
cmp "$source/packaging/netcalld.yaml" "$work/root/etc/netcall/netcalld.yaml"
timeout 10 "$work/root/usr/bin/netcalld" --help >"$work/help" 2>&1 \
  || { cat "$work/help" >&2; echo "the unpacked netcalld --help failed" >&2; exit 1; }
grep -q -- --listen "$work/help" || { echo "netcalld --help does not list --listen" >&2; exit 1; }

# lintian: errors fail the test (--fail-on error), warnings are shown. It warns when run as
# root; that line is dropped.
status=0
timeout 300 lintian --fail-on error "$deb" >"$work/lintian" 2>&1 || status=$?
grep -v '^running with root privileges' "$work/lintian" || true
if [ $status -ne 0 ] || grep -q '^E:' "$work/lintian"; then
  echo "lintian reports errors (exit $status)" >&2
  exit 1
fi
echo "lintian: no error"
