#!/usr/bin/env python3
"""The cost of security (SPEC §6, bench/RESULTS.md), side by side in one run.

Two netcalld on CPU 0 (SERVER_CPU), clients on CPU 1 (CLIENT_CPU), round by round with the
order rotating, so that drift between minutes hits every variant alike:

  open       netcalld --tls-cert --tls-key              plain and TLS clients on one port
  guarded    netcalld --tls-cert --tls-key --token-file  the same with a token required

Variants (`netcall bench --json`, 8 connections x 8 in flight, long-lived connections):
  msgpack plain / msgpack TLS              on `open`
  jsonrpc-http plain / jsonrpc-http TLS    on `open`
  msgpack token / jsonrpc-http token       plain TCP on `guarded` (a token in every HTTP request;
                                           system.authenticate once per connection for msgpack)

Measured: calls/s, and server CPU per call (us, from /proc/PID/stat utime+stime around the run).
Then TLS handshakes per second: `openssl s_time -new` (a new TLS 1.3 session per connection,
client on CPU 1) against `open`, with the server's CPU per handshake.

  bench/security.py [--rounds 5] [--seconds 3]      (build Release first: make build)
Loopback only; every process started here is stopped by PID.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("NETCALL_BIN", os.path.join(ROOT, "build", "bin"))
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from harness import make_pki  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123"
procs = []


def start_node(*args):
    p = subprocess.Popen(["taskset", "-c", SERVER_CPU, os.path.join(BIN, "netcalld"), "--listen",
                          "127.0.0.1:0", "--log-level", "warn", "--threads", "1", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    line = p.stdout.readline()  # "netcalld listening on HOST:PORT" (bounded by the process)
    m = re.match(r"netcalld listening on (\S+):(\d+)", line)
    if not m:
        raise SystemExit("netcalld did not start: %r" % line)
    return p, "127.0.0.1:" + m.group(2)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(node, address, protocol, seconds, *extra, connections=8, concurrency=64):
    before = cpu_seconds(node.pid)
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, os.path.join(BIN, "netcall"), "bench",
                          "--protocol", protocol, *extra, address, "add", "2", "3",
                          "--duration", "%ds" % seconds, "--connections", str(connections),
                          "--concurrency", str(concurrency), "--warmup", "200ms", "--json"],
                         capture_output=True, text=True, timeout=seconds + 60)
    server_cpu = cpu_seconds(node.pid) - before
    r = json.loads(out.stdout)
    if r["errors"]:
        raise SystemExit("%s: %d errors: %s" % (protocol, r["errors"], out.stderr))
    return r["throughput_cps"], server_cpu / max(r["calls"], 1) * 1e6


def handshakes(node, address, seconds, ca):
    before = cpu_seconds(node.pid)
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, "openssl", "s_time", "-connect", address,
                          "-new", "-time", str(seconds), "-CAfile", ca],
                         capture_output=True, text=True, timeout=seconds + 60)
    server_cpu = cpu_seconds(node.pid) - before
    m = re.search(r"(\d+) connections in ([\d.]+)s", out.stdout)
    if not m:
        raise SystemExit("openssl s_time: %s %s" % (out.stdout, out.stderr))
    count, secs = int(m.group(1)), float(m.group(2))
    return count / secs, server_cpu / max(count, 1) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    a = ap.parse_args()
    directory = tempfile.mkdtemp(prefix="netcall-bench-tls-")
    try:
        pki = make_pki(directory)
        tokens = os.path.join(directory, "tokens")
        with open(tokens, "w") as f:
            f.write(TOKEN + "\n")
        tls = ["--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"]]
        open_node, open_addr = start_node(*tls)
        guarded_node, guarded_addr = start_node(*tls, "--token-file", tokens)
        secure = ["--tls", "--ca", pki["ca.pem"]]
        variants = {
            "msgpack plain": (open_node, open_addr, "msgpack", []),
            "msgpack TLS": (open_node, open_addr, "msgpack", secure),
            "msgpack token": (guarded_node, guarded_addr, "msgpack", ["--token", TOKEN]),
            "jsonrpc-http plain": (open_node, open_addr, "jsonrpc-http", []),
            "jsonrpc-http TLS": (open_node, open_addr, "jsonrpc-http", secure),
            "jsonrpc-http token": (guarded_node, guarded_addr, "jsonrpc-http",
                                   ["--token", TOKEN]),
        }
        names = list(variants)
        results = {n: [] for n in names}
        shakes = []
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                node, address, protocol, extra = variants[n]
                results[n].append(bench(node, address, protocol, a.seconds, *extra))
            shakes.append(handshakes(open_node, open_addr, a.seconds, pki["ca.pem"]))
            print("round %d done" % (r + 1), file=sys.stderr)

        def med(n, i):
            return statistics.median(x[i] for x in results[n])

        print("| variant | calls/s (median of %d) | server CPU us/call | vs plain (calls/s) |"
              % a.rounds)
        print("|---|---|---|---|")
        for n in names:
            plain = n.split()[0] + " plain"
            print("| %s | %.0f | %.2f | %.3fx |" % (n, med(n, 0), med(n, 1),
                                                   med(n, 0) / med(plain, 0)))
        print()
        print("TLS handshakes (openssl s_time -new, TLS 1.3): %.0f/s median, server CPU %.0f us "
              "per handshake" % (statistics.median(s[0] for s in shakes),
                                 statistics.median(s[1] for s in shakes)))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
