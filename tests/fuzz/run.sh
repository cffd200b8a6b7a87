#!/usr/bin/env bash
# Runs the libFuzzer targets of the fuzz preset, each for a bounded time (`make fuzz`).
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]     default: 45 s each, every target
#
# Each target starts from a working corpus in build-fuzz/fuzz/corpus/TARGET, seeded from
# tests/fuzz/corpus/TARGET (the repository corpus is only read, never written) and kept between
# runs so that repeated local runs go deeper. Targets run FUZZ_JOBS at a time (default: one per
# core). A crash, leak, timeout or broken check fails the run and leaves the input in
# build-fuzz/fuzz/artifacts/TARGET/; the summary says how to replay it.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-45}
if [ $# -gt 0 ]; then shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(jsonrpc xmlrpc msgpack http tls); fi
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
out=$build/fuzz
# Crash stacks with file:line (llvm-14 from scripts/setup.sh has only the versioned name).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/bin/llvm-symbolizer-14 ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
fi

run_one() {
  local t=$1
  local work=$out/corpus/$t
  local artifacts=$out/artifacts/$t
  mkdir -p "$work" "$artifacts"
  rm -f "$artifacts"/*
  for f in tests/fuzz/corpus/"$t"/*; do
    [ -e "$work/${f##*/}" ] || cp "$f" "$work/"
  done
  # -timeout: an input taking 10 s is a hang (the slowest seed takes milliseconds under ASan).
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -dict="tests/fuzz/dict/$t.dict" -artifact_prefix="$artifacts/" \
    "$work" >"$out/$t.log" 2>&1
}

mkdir -p "$out"
for t in "${targets[@]}"; do
  if [ ! -x "$build/bin/fuzz_$t" ]; then
    echo "fuzz: $build/bin/fuzz_$t is missing: cmake --preset fuzz && cmake --build --preset fuzz" >&2
    exit 1
  fi
done

echo "fuzz: ${targets[*]}, ${seconds} s each, ${jobs} at a time" >&2
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  (
    status=0
    run_one "$t" || status=$?
    echo "$status" >"$out/$t.status"
  ) &
  running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
  status=$(cat "$out/$t.status")
  log=$out/$t.log
  # The last status line (cov: edges, ft: features, corp: inputs) and the final stats.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  if [ "$status" = 0 ]; then
    echo "fuzz_$t: ok, ${runs:-?} runs, ${rate:-?}/s, ${last:-no status line}" >&2
  else
    failed+=("$t")
    echo "fuzz_$t: FAILED (exit $status), ${last:-no status line}; log: $log" >&2
    grep -E 'ERROR|fuzz check failed|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    for a in "$out/artifacts/$t"/*; do
      [ -e "$a" ] || continue
      echo "  replay: $build/bin/fuzz_$t $a" >&2
      echo "  keep as a regression: cp $a tests/fuzz/corpus/$t/regress-<what-it-breaks>" >&2
    done
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
