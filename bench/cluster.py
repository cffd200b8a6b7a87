#!/usr/bin/env python3
"""Client and cluster speed, side by side in one run (issue "Clusters", bench/RESULTS.md).

Against one netcalld (server on CPU 0, clients on CPU 1; SERVER_CPU / CLIENT_CPU override),
round by round with the order rotating, so that drift between minutes hits every variant alike:

  rpcload     the peers harness's minimal MessagePack-RPC load client (8 connections x 8 in
              flight): the floor a client can reach
  direct      `netcall bench --protocol msgpack ADDR add 2 3` (8 connections, 64 in flight)
  routed      the same through a channel: `--cluster one-node.yaml any` (idempotency keys on)

Measured: client CPU per call (us; rpcload's own client_cpu_pct, netcall bench's
client_cpu_us_per_call, both from getrusage) and calls/s. Then latency through a gateway:
`netcall bench --concurrency 1` direct to the node and through `netcalld --gateway` (its p50),
and failover: a replica killed under a routed load, the calls lost and the slowest call (what
the failover cost the calls that waited for it).

  bench/cluster.py [--rounds 5] [--seconds 3]      (build Release first: make build)
Loopback only; every process started here is stopped by PID.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("NETCALL_BIN", os.path.join(ROOT, "build", "bin"))
RPCLOAD = os.path.join(ROOT, "build", "peers", "build", "rpcload")
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")

procs = []


def start_node(*args, cpu=SERVER_CPU):
    p = subprocess.Popen(["taskset", "-c", cpu, os.path.join(BIN, "netcalld"), "--listen",
                          "127.0.0.1:0", "--log-level", "warn", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    line = p.stdout.readline()  # "netcalld listening on HOST:PORT" (bounded by the process)
    m = re.match(r"netcalld listening on (\S+):(\d+)", line)
    if not m:
        raise SystemExit("netcalld did not start: %r" % line)
    return p, "127.0.0.1:" + m.group(2)


def client(args, timeout=120):
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, *args], capture_output=True, text=True,
                         timeout=timeout)
    return out.stdout


def netcall_bench(*args):
    return json.loads(client([os.path.join(BIN, "netcall"), "bench", *args, "--json"]))


def rpcload(port, seconds):
    text = client([RPCLOAD, "--proto", "msgpack", "--port", str(port), "--mode", "load",
                   "--conns", "8", "--depth", "8", "--duration", str(seconds), "--warmup-s", "0"])
    fields = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
    calls = int(fields["calls"])
    secs = float(fields["secs"])
    cpu_us = float(fields["client_cpu_pct"]) / 100.0 * secs / calls * 1e6
    return calls / secs, cpu_us


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists(RPCLOAD):
        raise SystemExit("build rpcload first: bench/compare.sh builds it into build/peers/")
    work = tempfile.mkdtemp(prefix="netcall-cluster-bench-")
    try:
        _, address = start_node()
        port = int(address.rsplit(":", 1)[1])
        one = os.path.join(work, "one.yaml")
        with open(one, "w") as f:
            f.write("nodes:\n  alpha: %s\n" % address)
        common = ["--protocol", "msgpack", "--connections", "8", "--concurrency", "64",
                  "--duration", "%ds" % a.seconds, "--warmup", "500ms"]
        variants = {
            "rpcload": lambda: rpcload(port, a.seconds),
            "direct": lambda: (lambda r: (r["throughput_cps"], r["client_cpu_us_per_call"]))(
                netcall_bench(*common, address, "add", "2", "3")),
            "routed": lambda: (lambda r: (r["throughput_cps"], r["client_cpu_us_per_call"]))(
                netcall_bench(*common, "--cluster", one, "any", "add", "2", "3")),
        }
        names = list(variants)
        rows = {n: [] for n in names}
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                cps, us = variants[n]()
                rows[n].append((cps, us))
                print("round %d  %-8s %9.0f calls/s  client %.3f us/call" % (r + 1, n, cps, us),
                      flush=True)
        print("\nmedians over %d rounds (client on CPU %s, netcalld on CPU %s)"
              % (a.rounds, CLIENT_CPU, SERVER_CPU))
        med = {n: (statistics.median(c for c, _ in rows[n]),
                   statistics.median(u for _, u in rows[n])) for n in names}
        for n in names:
            print("  %-8s %9.0f calls/s  client %.3f us/call  (%.2fx rpcload's CPU per call)"
                  % (n, med[n][0], med[n][1], med[n][1] / med["rpcload"][1]))
        ratios = [rows["routed"][i][1] / rows["direct"][i][1] for i in range(a.rounds)]
        print("  routed / direct client CPU per call: median %.3f (rounds %s)"
              % (statistics.median(ratios), ", ".join("%.2f" % x for x in ratios)))

        # A call through a gateway: sequential calls, p50 direct and through the gateway.
        gw_file = os.path.join(work, "gw.yaml")
        with open(gw_file, "w") as f:
            f.write("nodes:\n  alpha: %s\nprocedures:\n  add: [alpha]\n" % address)
        _, gw = start_node("--gateway", "--cluster", gw_file, "--name", "gw", "--modules", "text")
        seq = ["--protocol", "msgpack", "--connections", "1", "--concurrency", "1",
               "--duration", "%ds" % a.seconds, "--warmup", "500ms"]
        p50 = {"direct": [], "gateway": []}
        for r in range(a.rounds):
            for n, target in (("direct", address), ("gateway", gw))[::1 if r % 2 == 0 else -1]:
                p50[n].append(netcall_bench(*seq, target, "add", "2", "3")["latency_us"]["p50"])
        d, g = statistics.median(p50["direct"]), statistics.median(p50["gateway"])
        print("\nsequential add(2,3), p50: direct %.1f us, through a gateway %.1f us (%.2fx)"
              % (d, g, g / d))

        # Failover: three replicas, a routed load of idempotent calls, one replica SIGKILLed.
        nodes = [start_node("--name", n) for n in ("a", "b", "c")]
        three = os.path.join(work, "three.yaml")
        with open(three, "w") as f:
            f.write("nodes:\n" + "".join("  %s: %s\n" % (n, addr) for n, (_, addr)
                                           in zip("abc", nodes)))
        load = subprocess.Popen(["taskset", "-c", CLIENT_CPU, os.path.join(BIN, "netcall"),
                                 "bench", "--protocol", "msgpack", "--cluster", three, "any",
                                 "counter.increment", "--duration", "4s", "--warmup", "0ms",
                                 "--concurrency", "8", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(load)
        victim, victim_addr = nodes[1]

        def count(addr):
            out = subprocess.run([os.path.join(BIN, "netcall"), "call", "--timeout", "1s", addr,
                                  "counter.get"], capture_output=True, text=True)
            return int(out.stdout) if out.returncode == 0 else None

        deadline = time.monotonic() + 5
        while (count(victim_addr) or 0) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        report = json.loads(load.communicate(timeout=30)[0])
        # A dead replica is skipped from its first failed attempt on (passive health), so the
        # time a call waits for failover is bounded by the slowest call of the run.
        print("\nfailover (3 replicas, 8 in flight, counter.increment, not idempotent, SIGKILL of"
              " one mid-run): calls lost %d of %d (those in flight on it); slowest call %.1f ms,"
              " p99 %.0f us" % (report["errors"], report["calls"],
                                 report["latency_us"]["max"] / 1e3, report["latency_us"]["p99"]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
