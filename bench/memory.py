#!/usr/bin/python3
"""netcalld's memory (issue 4 targets): RSS idle, and RSS with N idle connections open.

    bench/memory.py [--netcalld build/bin/netcalld] [--connections 10000] [--cpu 0]

Starts `netcalld --threads 1` (pinned to --cpu with taskset when available), waits until it
is settled and reads its RSS (VmRSS of /proc/PID/status); then opens --connections
connections, each making one JSON-RPC call over raw TCP (`add`, answer checked) and then
staying open and silent, as keep-alive clients do; reads the RSS again, closes them all and
reads it once more. Prints one line per figure, and the growth per connection. Loopback only;
the server is stopped by its PID.
"""
import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def settle(pid, seconds=1.0):
    """The RSS once it has stopped moving (bounded wait)."""
    deadline = time.monotonic() + 10
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        time.sleep(seconds)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def open_idle(port, count):
    """`count` connections, each after one answered call; returns the sockets."""
    socks = []
    batch = 500
    deadline = time.monotonic() + 120
    for start in range(0, count, batch):
        group = []
        for i in range(start, min(count, start + batch)):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(json.dumps({"jsonrpc": "2.0", "method": "add", "params": [i, 1],
                                  "id": i}).encode() + b"\n")
            group.append((s, i))
        for s, i in group:
            data = b""
            while b"\n" not in data and not data.rstrip().endswith(b"}"):
                if time.monotonic() > deadline:
                    raise RuntimeError("no answer within 120 s")
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("connection %d closed by the server" % i)
                data += chunk
            answer = json.loads(data)
            if answer.get("result") != i + 1:
                raise RuntimeError("bad answer %r" % answer)
            socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netcalld", default="build/bin/netcalld")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--cpu", default="0")
    args = ap.parse_args()
    need = args.connections + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard < need:
            sys.exit("memory.py: open-files limit %d < %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    cmd = [args.netcalld, "--listen", "127.0.0.1:0", "--threads", "1", "--log-level", "warn",
           "--max-connections", str(args.connections + 10)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", args.cpu] + cmd
    # The server inherits the raised open-files limit.
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        port = int(line.rsplit(":", 1)[1])
        idle = settle(server.pid)
        print("idle RSS: %.1f MiB" % (idle / 1024))
        t0 = time.monotonic()
        socks = open_idle(port, args.connections)
        held = settle(server.pid)
        print("with %d idle connections (%.1f s to open): %.1f MiB, +%.1f MiB, %.2f KiB each"
              % (len(socks), time.monotonic() - t0, held / 1024, (held - idle) / 1024,
                 (held - idle) / len(socks)))
        for s in socks:
            s.close()
        time.sleep(4)  # netcalld hands freed memory back every 3 s (apps/netcalld memory_returner)
        after = settle(server.pid)
        print("after closing them: %.1f MiB" % (after / 1024))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
