#!/usr/bin/env python3
"""The cost of operations (SPEC §7, bench/RESULTS.md), side by side in one run: server CPU per
MessagePack call with and without the call metrics interceptor, and with an access log.

Three netcalld on CPU 0 (SERVER_CPU), clients on CPU 1 (CLIENT_CPU), round by round with the
order rotating, so that drift between minutes hits every variant alike:

  no-metrics   netcalld --no-call-metrics            no netcall_server_calls_total, no histogram
  metrics      netcalld                               the default: counter + histogram per call
  access-log   netcalld --access-log FILE             metrics and one access-log line per call

Loads (`netcall bench --json`): pipelined (8 connections x 64 in flight) and sequential (one
connection, one call at a time). Measured: calls/s, and server CPU per call (us, from
/proc/PID/stat utime+stime around the run).

  bench/operations.py [--rounds 5] [--seconds 3]      (build Release first: make build)
Loopback only; every process started here is stopped by PID (bench/security.py's helpers).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import security  # noqa: E402  (start_node, cpu_seconds, the process list)


def bench(node, address, seconds, connections, concurrency):
    return security.bench(node, address, "msgpack", seconds, connections=connections,
                          concurrency=concurrency)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    a = ap.parse_args()
    directory = tempfile.mkdtemp(prefix="netcall-bench-ops-")
    try:
        nodes = {
            "no-metrics": security.start_node("--no-call-metrics"),
            "metrics": security.start_node(),
            "access-log": security.start_node("--access-log",
                                              os.path.join(directory, "access.log")),
        }
        loads = {"pipelined 8x64": (8, 64), "sequential 1x1": (1, 1)}
        results = {(n, l): [] for n in nodes for l in loads}
        names = list(nodes)
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for load, (conns, conc) in loads.items():
                for n in order:
                    node, address = nodes[n]
                    results[(n, load)].append(bench(node, address, a.seconds, conns, conc))
            print("round %d done" % (r + 1), file=sys.stderr)

        def med(key, i):
            return statistics.median(x[i] for x in results[key])

        print("| load | variant | calls/s (median of %d) | server CPU us/call | CPU vs "
              "no-metrics |" % a.rounds)
        print("|---|---|---|---|---|")
        for load in loads:
            base = med(("no-metrics", load), 1)
            for n in names:
                print("| %s | %s | %.0f | %.3f | %.3fx |" % (
                    load, n, med((n, load), 0), med((n, load), 1), med((n, load), 1) / base))
    finally:
        for p in security.procs:
            p.terminate()
        for p in security.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
