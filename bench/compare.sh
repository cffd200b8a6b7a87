#!/usr/bin/env bash
# A/B speed comparison of two netcalld binaries (say the commit before a refactor and after it),
# interleaved run by run like bench/latency.sh: this VM kind drifts by 15-40 % between runs minutes
# apart, far more than the 3 % a refactor is allowed to lose, so measuring A then B separately
# proves nothing. Here every round starts both servers, then for each protocol runs the same load
# against A and against B back to back (who goes first alternates from round to round and from
# protocol to protocol, so neither always gets the warmer or the quieter slot), and the summary
# compares medians and gives the spread of the per-round B/A ratios.
#
#   bench/compare.sh OLD_NETCALLD NEW_NETCALLD [ROUNDS [SECONDS]]   default 8 rounds of 4 s
#   bench/compare.sh --summary build/compare/<time>-<pid>.tsv    the tables again from a run's rows
#
# A = OLD, B = NEW. Protocols (PROTOS=msgpack,jsonl,jsonrpc-http,xmlrpc-http to choose):
#   msgpack, jsonl   MessagePack-RPC and JSON-RPC over raw TCP: the peers' rpcload, --mode load,
#                    8 connections x 8 pipelined add(2,3) (what bench/run.sh measures)
#   jsonrpc-http,    JSON-RPC over HTTP POST / and XML-RPC over HTTP POST /RPC2: wrk -t2 -c64 with
#   xmlrpc-http      the peers' wrk_post.lua and bodies/add.json, bodies/add.xml (as run_all.sh)
# Measured per run: calls/s as the client reports it, and the server's CPU per call: utime+stime
# of the netcalld process (all its threads) from /proc/PID/stat just before and just after the
# client, divided by the calls the client counted. The kernel keeps utime+stime equal to the
# exact runtime (only the printout is in 1/CLK_TCK s), so this is not sampled.
#
# Default run: 8 rounds x 4 protocols x 2 binaries x 4 s = 256 s of load, about 5 minutes on a
# quiet machine (waits and re-measurements below add at most 120 s + 10 pairs). Eight rounds
# rather than fewer, longer ones: the per-round ratios are what shows the noise, the median of
# eight survives two bad rounds, and an even count gives each binary the first slot equally.
# Server on CPU 0, client on CPU 1 (SERVER_CPU / CLIENT_CPU override); loopback only; every
# server started here is stopped by PID. Raw rows: build/compare/<time>-<pid>.tsv. TOLERANCE
# (default 3) is the % the verdict column allows B to lose. Waits for a quiet machine and
# re-measures disturbed pairs (QUIET_BUDGET, OTHER_MAX, RETRIES: see wait_quiet below).
set -euo pipefail
usage() { sed -n '10,11p' "$0" >&2; exit 2; }
summary_of=""
if [ "${1:-}" = --summary ]; then  # the table again from a finished run's TSV
  [ $# -eq 2 ] && [ -f "$2" ] || usage
  summary_of=$(realpath "$2")
else
  [ $# -ge 2 ] && [ $# -le 4 ] || usage
  # Resolve the binaries before the cd below: they are usually given relative to the caller.
  bin_a=$(realpath -e "$1") || usage
  bin_b=$(realpath -e "$2") || usage
  rounds=${3:-8}
  secs=${4:-4}
  [[ $rounds =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || usage
  for b in "$bin_a" "$bin_b"; do
    [ -x "$b" ] || { echo "bench/compare.sh: $b is not executable" >&2; exit 2; }
  done
fi
cd "$(dirname "$0")/.."
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
protos=${PROTOS:-msgpack,jsonl,jsonrpc-http,xmlrpc-http}
tolerance=${TOLERANCE:-3}

# summarize TSV: the table per protocol. Two rows each, throughput and server CPU per call:
# median of A, median of B, their ratio, then the B/A of each round's two runs (seconds apart, so
# the drift cancels): their median, min-max and a rough 95 % half-width of that median
# (1.96 x 1.25 x sd / sqrt(rounds)). The bar is judged on the per-round median; "?" marks a verdict
# the noise could flip (half-width at least the tolerance): add rounds.
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
summarize() {
  local t=$1 p m a b rr n
  n=$(awk -F'\t' 'NR > 1 {r[$1]} END {print length(r)}' "$t")
  echo
  echo "A/B over $n rounds (B/A < 1: B is faster in us/call, slower in calls/s)"
  printf '%-13s %-11s %10s %10s %6s  | %-29s| %s\n' "" "" "" "" "" "B/A of each round's two runs" \
    "bar ${tolerance} %"
  printf '%-13s %-11s %10s %10s %6s  | %6s  %-11s %7s  |\n' protocol metric "median A" "median B" \
    "B/A" median min-max "95% +-"
  for p in $(awk -F'\t' 'NR > 1 && !s[$4]++ {print $4}' "$t"); do
    for m in 6 8; do  # column 6 calls/s (higher is better), column 8 server us per call (lower)
      a=$(awk -F'\t' -v p="$p" -v c="$m" 'NR > 1 && $4 == p && $3 == "A" {print $c}' "$t" | median)
      b=$(awk -F'\t' -v p="$p" -v c="$m" 'NR > 1 && $4 == p && $3 == "B" {print $c}' "$t" | median)
      rr=$(awk -F'\t' -v p="$p" -v c="$m" 'NR > 1 && $4 == p {v[$1 "," $3] = $c; r[$1]}
             END {for (k in r) if (v[k ",A"] > 0 && (k ",B") in v) printf "%.5f\n", v[k ",B"] / v[k ",A"]}' "$t" |
           sort -g)
      awk -v p="$p" -v m="$m" -v a="$a" -v b="$b" -v tol="$tolerance" -v rmed="$(median <<<"$rr")" \
          -v rr="$rr" 'BEGIN {
        n = split(rr, v, "\n"); s = 0; for (i = 1; i <= n; i++) s += v[i]; mean = s / n
        ss = 0; for (i = 1; i <= n; i++) ss += (v[i] - mean) ^ 2
        hw = (n > 1) ? 1.96 * 1.2533 * sqrt(ss / (n - 1)) / sqrt(n) : 1
        if (m == 6) { name = "calls/s"; fa = sprintf("%10.0f", a); fb = sprintf("%10.0f", b)
                      ok = (rmed >= 1 - tol / 100) }
        else { name = "srv us/call"; fa = sprintf("%10.3f", a); fb = sprintf("%10.3f", b)
               ok = (rmed <= 1 + tol / 100) }
        printf "%-13s %-11s %s %s %6.3f  | %6.3f  %.3f-%.3f %6.1f%%  | %s%s\n", (m == 6 ? p : ""),
               name, fa, fb, b / a, rmed, v[1], v[n], 100 * hw, (ok ? "ok" : "MISSED"),
               (100 * hw >= tol ? "?" : "") }'
    done
  done
  echo "(?: the noise (95% +-) is as large as the bar, so the verdict is not established: add rounds)"
}
if [ -n "$summary_of" ]; then summarize "$summary_of"; exit 0; fi
peers_src=../shared/peers
peers=build/peers

# What the load clients need: g++/make for rpcload, msgpuck for its MessagePack codec, wrk for
# HTTP. Installed the way bench/run.sh installs the peers' packages, only when missing.
missing=()
for p in g++ make wrk libmsgpuck-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The peers' folder is read-only: build rpcload on the same copy bench/run.sh uses.
if [ ! -x "$peers/build/rpcload" ]; then
  [ -d "$peers_src" ] || { echo "bench/compare.sh: $peers_src not found" >&2; exit 2; }
  mkdir -p "$peers"
  cp -r "$peers_src"/. "$peers"/
  chmod -R u+w "$peers"
  make -C "$peers" core >/dev/null
fi

hz=$(getconf CLK_TCK)
out=build/compare/$(date +%Y%m%d-%H%M%S)-$$  # the PID: two runs in one second stay apart
mkdir -p "$out"
tsv=$out.tsv
header='round\tfirst\tbin\tproto\tcalls\tcps\tsrv_ticks\tsrv_us_per_call\tsrv_pct\tcli_pct'
header+='\tother_pct\tsteal_pct\terrors\n'
# shellcheck disable=SC2059  # the header is the format
printf "$header" >"$tsv"
# shellcheck disable=SC2059
printf "$header" >"$out/discarded.tsv"

pids=()
cleanup() {  # every server this script started, by PID; SIGKILL for what SIGTERM did not end
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 70); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server A|B BINARY ROUND: starts it on a port the kernel picks (port 0, so a run of this
# beside another benchmark cannot collide), waits for its "netcalld listening on" line, sets
# srv_pid and srv_port.
start_server() {
  local log=$out/server-$1.round$3
  : >"$log.out"  # exists before the first grep below, whenever the child gets to open it
  taskset -c "$server_cpu" "$2" --listen 127.0.0.1:0 --threads 1 --log-level warn \
    >"$log.out" 2>"$log.err" &
  srv_pid=$!  # taskset execs the binary: this is netcalld's own PID
  pids+=("$srv_pid")
  local line=""
  for _ in $(seq 1 500); do  # at most 10 s; netcalld prints the line once it accepts
    line=$(grep -m1 '^netcalld listening on ' "$log.out" || true)
    [ -n "$line" ] && break
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.02
  done
  [ -n "$line" ] || { echo "bench/compare.sh: $2 did not start (see $log.err)" >&2; exit 1; }
  srv_port=${line##*:}
}
stop_server() {  # PID; netcalld ends on SIGTERM after its shutdown grace (nothing is in flight)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 70); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# A wrong answer must stop the comparison, not show up as a fast binary: wrk does not look at the
# responses, so each fresh server first answers 200 sequential calls of every protocol checked by
# rpcload (which also warms its code paths before the first measured run).
check_server() {  # PORT
  local p args
  for p in ${protos//,/ }; do
    case "$p" in
      msgpack|jsonl) args=(--proto "$p") ;;
      jsonrpc-http) args=(--proto http --path / --body-file "$peers/bodies/add.json"
                          --content-type application/json --expect '"result":5') ;;
      xmlrpc-http) args=(--proto http --path /RPC2 --body-file "$peers/bodies/add.xml"
                         --content-type text/xml --expect '<int>5</int>|<i4>5</i4>') ;;
      *) echo "bench/compare.sh: unknown protocol $p in PROTOS" >&2; exit 2 ;;
    esac
    timeout 60 taskset -c "$client_cpu" "$peers/build/rpcload" "${args[@]}" --port "$1" \
      --mode seq --calls 200 --warmup 0 >"$out/check.out" 2>&1 ||
      { echo "bench/compare.sh: server on port $1 answered $p wrongly:" >&2; cat "$out/check.out" >&2; exit 1; }
  done
}

srv_ticks() {  # utime+stime of the whole process (all threads, live and ended), in clock ticks
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
sum() { awk '{s += $1} END {print s + 0}'; }
busy_ticks() {  # "BUSY STEAL": user+nice+system+irq+softirq of all CPUs, and the time the
  # hypervisor gave to other VMs. Busy minus server minus client is "other": this kernel counts
  # the loopback softirq work done inside the server's and the client's system calls as softirq in
  # /proc/stat but as their own runtime in /proc/PID/stat, so softirq belongs in busy.
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat
}

# A compiler or test run in another session on this 2-vCPU VM takes the cores the two binaries
# share and buries a 3 % difference. Before each pair wait (bounded by QUIET_BUDGET seconds in
# all, default 120) until other processes use under 15 % of a core; a pair during which they and
# the hypervisor's steal (other VMs on the host: up to 68 % seen here) took more than OTHER_MAX %
# of a core (default 10) is discarded (kept in discarded.tsv) and measured again, at most RETRIES
# times in all (default 10). Past those bounds it measures anyway and says so at the end.
quiet_budget=${QUIET_BUDGET:-120}
other_max=${OTHER_MAX:-10}
retries_left=${RETRIES:-10}
quiet_spent=0
wait_quiet() {
  local b0 b1 busy said=""
  while :; do
    read -r b0 _ < <(busy_ticks); sleep 0.5; read -r b1 _ < <(busy_ticks)
    busy=$(( (b1 - b0) * 100 * 2 / hz ))  # % of one core over the 0.5 s
    [ "$busy" -lt 15 ] && return 0
    if [ "$quiet_spent" -ge $((quiet_budget * 2)) ]; then
      [ -n "$said" ] && echo "  quiet budget spent: measuring anyway"
      return 0
    fi
    [ -n "$said" ] || echo "  other processes use ${busy}% of a core: waiting" \
      "(budget left $((quiet_budget - quiet_spent / 2)) s)"
    said=1; quiet_spent=$((quiet_spent + 1))
  done
}

# measure ROUND FIRST A|B PID PORT PROTO: one load run, one TSV row, one printed line.
measure() {
  local round=$1 first=$2 ab=$3 pid=$4 port=$5 proto=$6
  local tag=$out/$proto.$ab.round$round client
  case "$proto" in
    msgpack|jsonl)
      client=("$peers/build/rpcload" --proto "$proto" --port "$port" --mode load --conns 8
              --depth 8 --duration "$secs" --warmup-s 0) ;;
    jsonrpc-http)
      client=(wrk -t2 -c64 -d"${secs}s" -s "$peers/src/wrk_post.lua" "http://127.0.0.1:$port/"
              -- "$peers/bodies/add.json" application/json) ;;
    xmlrpc-http)
      client=(wrk -t2 -c64 -d"${secs}s" -s "$peers/src/wrk_post.lua" "http://127.0.0.1:$port/RPC2"
              -- "$peers/bodies/add.xml" text/xml) ;;
  esac
  local s0 s1 b0 b1 w0 w1 t0 t1 cu cs rc=0
  # Counters read right around the client: --warmup-s 0 makes rpcload count every call the server
  # answered in that window (wrk leaves at most its 64 in-flight requests uncounted).
  s0=$(srv_ticks "$pid"); read -r b0 w0 < <(busy_ticks); t0=$(date +%s%N)
  # bash's `time` gives the client's own CPU (user, sys) without the `time` package.
  { TIMEFORMAT='%U %S'; time timeout -k 5 $((secs + 60)) taskset -c "$client_cpu" "${client[@]}" \
      >"$tag.out" 2>"$tag.err" || rc=$?; } 2>"$tag.time"
  t1=$(date +%s%N); read -r b1 w1 < <(busy_ticks)
  kill -0 "$pid" 2>/dev/null || { echo "bench/compare.sh: server $ab died (round $round, $proto)" >&2; exit 1; }
  s1=$(srv_ticks "$pid")
  local calls cps errors
  if [[ $proto == msgpack || $proto == jsonl ]]; then
    local res
    res=$(grep -m1 '^RESULT ' "$tag.out" || true)
    [ -n "$res" ] || { echo "bench/compare.sh: rpcload gave no result (rc $rc, see $tag.err)" >&2; exit 1; }
    calls=$(grep -oE ' calls=[0-9]+' <<<"$res" | cut -d= -f2)
    cps=$(grep -oE ' cps=[0-9.]+' <<<"$res" | cut -d= -f2)
    errors=$(grep -oE '(errors|conn_errors|reconnects)=[0-9]+' <<<"$res" | cut -d= -f2 | sum)
  else
    calls=$(grep -oE '[0-9]+ requests in' "$tag.out" | cut -d' ' -f1 || true)
    cps=$(grep -oE 'Requests/sec: +[0-9.]+' "$tag.out" | grep -oE '[0-9.]+$' || true)
    [ -n "$calls" ] && [ -n "$cps" ] || { echo "bench/compare.sh: wrk gave no result (rc $rc, see $tag.out)" >&2; exit 1; }
    # Socket errors and non-2xx answers would make a broken server look fast: count them.
    errors=$( (grep -oE 'Socket errors: connect [0-9]+, read [0-9]+, write [0-9]+, timeout [0-9]+' "$tag.out" |
               grep -oE '[0-9]+'; grep -oE 'Non-2xx or 3xx responses: [0-9]+' "$tag.out" | grep -oE '[0-9]+$';
               echo 0) | sum)
  fi
  [ "$calls" -gt 0 ] || { echo "bench/compare.sh: no calls completed (see $tag.out)" >&2; exit 1; }
  read -r cu cs <"$tag.time"
  awk -v r="$round" -v f="$first" -v ab="$ab" -v p="$proto" -v n="$calls" -v cps="$cps" \
      -v st=$((s1 - s0)) -v bt=$((b1 - b0)) -v wt=$((w1 - w0)) -v hz="$hz" -v wall_ns=$((t1 - t0)) -v cu="$cu" -v cs="$cs" \
      -v e="$errors" 'BEGIN {
        wall = wall_ns / 1e9; srv = st / hz; cli = cu + cs
        other = 100 * (bt / hz - srv - cli) / wall; if (other < 0) other = 0
        printf "%s\t%s\t%s\t%s\t%d\t%.0f\t%d\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\n", r, f, ab, p, n, cps,
               st, 1e6 * srv / n, 100 * srv / wall, 100 * cli / wall, other, 100 * wt / hz / wall, e }' >>"$pair"
  tail -1 "$pair" | awk -F'\t' '{
    printf "  %-12s %s %8.0f calls/s  server %6.3f us/call, %3d%% of its core  client %3d%%  other %2d%%  steal %d%%%s\n",
           $4, $3, $6, $8, $9, $10, $11, $12, ($13 > 0 ? "  ERRORS " $13 : "") }'
}

# measure_pair ROUND FIRST PROTO: the A and B runs of one protocol, FIRST (A or B) first, again if
# other processes disturbed either of them.
pair=$out/pair.tsv
measure_pair() {
  local ab worst second=B
  [ "$2" = A ] || second=A
  while :; do
    wait_quiet
    : >"$pair"
    for ab in "$2" "$second"; do
      if [ "$ab" = A ]; then measure "$1" "$2" A "$pid_a" "$port_a" "$3"
      else measure "$1" "$2" B "$pid_b" "$port_b" "$3"; fi
    done
    worst=$(awk -F'\t' '$11 + $12 > m {m = $11 + $12} END {print m + 0}' "$pair")
    if [ "$worst" -le "$other_max" ] || [ "$retries_left" -le 0 ]; then
      cat "$pair" >>"$tsv"
      return 0
    fi
    cat "$pair" >>"$out/discarded.tsv"
    retries_left=$((retries_left - 1))
    echo "  -> other processes and steal took ${worst}% of a core: pair discarded, measuring it again"
  done
}

echo "A = $bin_a"
echo "B = $bin_b"
echo "$rounds rounds x ${secs} s per run; protocols $protos; server CPU $server_cpu, client CPU $client_cpu"
echo "(server, client: their CPU time in % of one core; a client near 100 % was the bottleneck and"
echo " the throughput ratio says little, judge by server us/call; other: CPU used by other"
echo " processes; steal: taken by the hypervisor for other VMs)"
for r in $(seq 1 "$rounds"); do
  # Both servers live through the round (the idle one sleeps in epoll_wait), so the two runs of a
  # protocol are seconds apart. A fresh pair per round: one process can stay 10-30 % slower than
  # another of the same binary for its whole life here (seen in same-binary runs), so that luck
  # must be drawn again every round, and who starts first alternates too.
  if [ $((r % 2)) -eq 1 ]; then
    start_server A "$bin_a" "$r"; pid_a=$srv_pid; port_a=$srv_port
    start_server B "$bin_b" "$r"; pid_b=$srv_pid; port_b=$srv_port
  else
    start_server B "$bin_b" "$r"; pid_b=$srv_pid; port_b=$srv_port
    start_server A "$bin_a" "$r"; pid_a=$srv_pid; port_a=$srv_port
  fi
  check_server "$port_a"
  check_server "$port_b"
  echo "round $r"
  i=0
  for p in ${protos//,/ }; do
    # Who goes first alternates from round to round for each protocol, and from protocol to
    # protocol within a round, so neither binary always gets the first (or the warmer) slot.
    if [ $(((r + i) % 2)) -eq 1 ]; then first=A; else first=B; fi
    measure_pair "$r" "$first" "$p"
    i=$((i + 1))
  done
  stop_server "$pid_a"
  stop_server "$pid_b"
  pids=()
done

summarize "$tsv"
errs=$(awk -F'\t' 'NR > 1 {s += $13} END {print s + 0}' "$tsv")
[ "$errs" -eq 0 ] || echo "WARNING: $errs errors in the runs above (column errors of $tsv)"
busy=$(awk -F'\t' -v m="$other_max" 'NR > 1 && $11 + $12 > m {n++} END {print n + 0}' "$tsv")
[ "$busy" -eq 0 ] || echo "WARNING: $busy runs kept although other processes and steal took" \
  "more than $other_max% of a core (waiting and re-measuring budgets used up)"
discarded=$(( $(wc -l <"$out/discarded.tsv") - 1 ))
[ "$discarded" -eq 0 ] || echo "$discarded runs discarded for other processes' load or steal" \
  "and measured again ($out/discarded.tsv)"
echo "raw rows: $tsv; client and server outputs: $out/"
