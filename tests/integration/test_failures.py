"""Calls that fail (SPEC §4, docs/failures.md): timeouts and retries against real netcalld
processes, at-most-once execution through idempotency keys (JSON-RPC id, HTTP Idempotency-Key
header), a fault-injecting TCP proxy between the `netcall` CLI and the server, graceful shutdown
(-32002 "not run") and the per-connection limits flags.

Every process is stopped by its PID, every socket has a timeout, every loop is bounded in count
and in time, and only 127.0.0.1 is used."""

import collections
import http.client
import json
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import xmlrpc.client

from harness import (NETCALL, NETCALLD, LineClient, Netcalld, run, wait_for_metric,
                     wait_until_refusing_calls)

PROTOCOLS = ["jsonrpc", "jsonrpc-http", "xmlrpc"]
# MessagePack-RPC carries the key as an optional fifth request element (SPEC §4 applies too).
DEMO_PROTOCOLS = PROTOCOLS + ["msgpack"]
NOT_RUN_MESSAGE = "server is shutting down; the call was not run"


def rpc(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        r["params"] = params
    return r


def free_port():
    """A port nothing listens on (bound then released)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def counter(port, protocol="jsonrpc"):
    """counter.get through the CLI (3 s timeout, enough for any --delay used here)."""
    r = run(["call", "--protocol", protocol, "--timeout", "3s", "127.0.0.1:%d" % port,
             "counter.get"], timeout=15)
    if r.returncode != 0:
        raise AssertionError("counter.get failed: exit %d, %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def xml_call(method, *params):
    return xmlrpc.client.dumps(tuple(params), methodname=method).encode()


def http_request(port, method, path, body=None, headers=None, timeout=5.0, conn=None):
    """One HTTP/1.1 request (optionally on an open http.client connection);
    returns (status, headers dict, body bytes)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        if own:
            conn.close()


def xmlrpc_post(port, body, key=None, conn=None):
    """POST /RPC2; returns the decoded result, or the xmlrpc.client.Fault that was answered."""
    headers = {"Content-Type": "text/xml"}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, _, data = http_request(port, "POST", "/RPC2", body, headers, conn=conn)
    if status != 200:
        raise AssertionError("HTTP status %d: %r" % (status, data[:200]))
    try:
        return xmlrpc.client.loads(data)[0][0]
    except xmlrpc.client.Fault as f:
        return f


def read_until_close(sock, timeout=5.0):
    """Reads until EOF/reset, bounded in time; returns (data, closed)."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def run_many(argv_list, parallel, deadline_s):
    """Runs the `netcall` invocations in `argv_list`, at most `parallel` at once, each its own
    process (stopped by PID if the overall deadline passes). Returns a list of
    (returncode, stdout, stderr, elapsed_s) in the order of `argv_list`."""
    results = [None] * len(argv_list)
    pending = collections.deque(enumerate(argv_list))
    running = {}
    deadline = time.monotonic() + deadline_s
    try:
        while pending or running:
            if time.monotonic() > deadline:
                raise AssertionError("%d netcall processes still running after %.0f s"
                                     % (len(running) + len(pending), deadline_s))
            while pending and len(running) < parallel:
                i, argv = pending.popleft()
                p = subprocess.Popen([NETCALL, *argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
                running[i] = (p, time.monotonic())
            for i, (p, t0) in list(running.items()):
                if p.poll() is not None:
                    out, err = p.communicate(timeout=5)
                    results[i] = (p.returncode, out, err, time.monotonic() - t0)
                    del running[i]
            time.sleep(0.01)  # poll interval of this bounded wait for the processes, not ordering
    finally:
        for p, _ in running.values():
            if p.poll() is None:
                p.kill()  # by PID: Popen.kill signals exactly this child
            p.communicate(timeout=5)
    return results


class AtMostOnceWithDelay(unittest.TestCase):
    """SPEC §4: `netcalld --delay 700ms` + `netcall --timeout 300ms --retries 5` succeeds and the
    call ran exactly once."""

    def test_spec_demonstration_each_protocol(self):
        for p in DEMO_PROTOCOLS:
            with self.subTest(protocol=p), Netcalld("--delay", "700ms") as d:
                t0 = time.monotonic()
                r = run(["call", "--protocol", p, "--timeout", "300ms", "--retries", "5",
                         d.address, "counter.increment"], timeout=20)
                elapsed = time.monotonic() - t0
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, "1\n")
                # SPEC §2: no answer leaves before the call's first arrival + the delay, retries
                # included. Attempts 1 and 2 time out (300 ms each); a later one gets the stored
                # outcome once 700 ms have passed since the first arrival, with no second delay
                # (which would make every 300 ms attempt time out): about 0.7 s in all.
                self.assertGreaterEqual(elapsed, 0.65)
                self.assertLess(elapsed, 1.5)
                self.assertEqual(counter(d.port, p), 1)

    def test_ten_concurrent_clients_each_protocol(self):
        for p in DEMO_PROTOCOLS:
            with self.subTest(protocol=p), Netcalld("--delay", "700ms") as d:
                argv = ["call", "--protocol", p, "--timeout", "300ms", "--retries", "5",
                        d.address, "counter.increment"]
                results = run_many([argv] * 10, parallel=10, deadline_s=30)
                for code, out, err, _ in results:
                    self.assertEqual(code, 0, err)
                values = sorted(json.loads(out) for _, out, _, _ in results)
                self.assertEqual(values, list(range(1, 11)))
                self.assertEqual(counter(d.port, p), 10)

    def test_retry_waits_for_a_first_attempt_still_running(self):
        # The first attempt runs sleep(1000) + counter.increment in one multicall; its retries
        # (300 ms timeouts) arrive while it still runs: they must wait for its outcome, not run
        # the multicall again (which, taking 1 s each time, could never answer within 300 ms).
        calls = json.dumps([{"methodName": "sleep", "params": [1000]},
                            {"methodName": "counter.increment", "params": []}])
        for p in PROTOCOLS:
            with self.subTest(protocol=p), Netcalld() as d:
                t0 = time.monotonic()
                r = run(["call", "--protocol", p, "--timeout", "300ms", "--retries", "10",
                         d.address, "system.multicall", calls], timeout=30)
                elapsed = time.monotonic() - t0
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout), [[1000], [1]])
                self.assertGreaterEqual(elapsed, 0.95)
                self.assertLess(elapsed, 2.5)
                self.assertEqual(counter(d.port, p), 1)

    def test_without_retries_times_out_but_ran_once(self):
        # At most once, not exactly once: the timed-out call did run on the server.
        for p in PROTOCOLS:
            with self.subTest(protocol=p), Netcalld("--delay", "700ms") as d:
                t0 = time.monotonic()
                r = run(["call", "--protocol", p, "--timeout", "300ms", d.address,
                         "counter.increment"], timeout=20)
                elapsed = time.monotonic() - t0
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn("300ms", r.stderr)
                self.assertRegex(r.stderr, r"no answer|timed out|timeout")
                self.assertGreaterEqual(elapsed, 0.3)
                self.assertLess(elapsed, 1.5)
                self.assertEqual(counter(d.port, p), 1)


class RetriesGiveUp(unittest.TestCase):
    def test_unreachable_port_reports_attempts_and_backoff_is_capped(self):
        # --retries N makes N + 1 attempts; the backoff before attempt n+1 is at most
        # min(2 s, 50 ms * 2^(n-1)), so the whole run is bounded by the sum of those caps.
        port = free_port()
        cases = [1, 3, 5, 8]

        def cap_sum(retries):
            return sum(min(2.0, 0.05 * 2 ** i) for i in range(retries))

        argv = [["call", "--timeout", "1s", "--retries", str(n), "127.0.0.1:%d" % port, "add",
                 "1", "2"] for n in cases]
        results = run_many(argv, parallel=len(argv), deadline_s=30)
        for n, (code, out, err, elapsed) in zip(cases, results):
            with self.subTest(retries=n):
                self.assertEqual(code, 3, err)
                self.assertEqual(out, "")
                self.assertIn("connect", err)
                self.assertIn("after %d attempts" % (n + 1), err)
                self.assertLess(elapsed, cap_sum(n) + 1.5,
                                "%d retries took %.2f s" % (n, elapsed))

    def test_bad_retry_options_exit_2(self):
        for args in [["--retries", "-1"], ["--retries", "101"], ["--retries", "some"],
                     ["--timeout", "0ms"]]:
            with self.subTest(args=args):
                r = run(["call", *args, "127.0.0.1:%d" % free_port(), "add", "1", "2"])
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.strip())

    def test_silent_server_every_attempt_times_out(self):
        # A listener that accepts (kernel backlog) but never answers: each attempt times out.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        silent.settimeout(1)
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        for p in ["jsonrpc", "xmlrpc"]:
            with self.subTest(protocol=p):
                t0 = time.monotonic()
                r = run(["call", "--protocol", p, "--timeout", "200ms", "--retries", "2",
                         "127.0.0.1:%d" % port, "counter.increment"], timeout=20)
                elapsed = time.monotonic() - t0
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn("after 3 attempts", r.stderr)
                self.assertIn("200ms", r.stderr)
                self.assertGreaterEqual(elapsed, 0.6)
                self.assertLess(elapsed, 0.6 + 0.15 + 1.5)


class IdempotencyKeysOnTheWire(unittest.TestCase):
    """The key travels as the JSON-RPC id (`nc1:<16 hex>:<seq>`) or the HTTP Idempotency-Key
    header; only that exact shape is deduplicated."""

    def test_same_key_on_two_connections_runs_once(self):
        with Netcalld() as d:
            key1 = "nc1:00000000000000aa:1"
            with LineClient(d.port) as a, LineClient(d.port) as b:
                self.assertEqual(a.call("counter.increment", id=key1),
                                 {"jsonrpc": "2.0", "result": 1, "id": key1})
                self.assertEqual(b.call("counter.increment", id=key1),
                                 {"jsonrpc": "2.0", "result": 1, "id": key1})
            with LineClient(d.port) as c:
                key2 = "nc1:00000000000000aa:2"
                self.assertEqual(c.call("counter.increment", id=key2),
                                 {"jsonrpc": "2.0", "result": 2, "id": key2})
                self.assertEqual(c.call("counter.increment", id=key1)["result"], 1)
                self.assertEqual(c.call("counter.get", id=3)["result"], 2)
            # The same key over JSON-RPC on HTTP (another transport, same server memory).
            status, _, body = http_request(d.port, "POST", "/", json.dumps(
                rpc("counter.increment", id=key2)).encode(), {"Content-Type": "application/json"})
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "result": 2, "id": key2})
            with LineClient(d.port) as c:
                self.assertEqual(c.call("counter.get")["result"], 2)

    def test_retry_is_answered_at_first_arrival_plus_delay_without_a_second_delay(self):
        # SPEC §2: --delay 1500ms holds the first attempt's answer until 1.5 s after its
        # arrival. A retry arriving 1 s in gets the stored outcome at that same moment: not
        # earlier (at once, as before SPEC §2 said so), and not after a second delay of its own
        # (2.5 s after the first arrival).
        key = "nc1:00000000000000ab:1"
        with Netcalld("--delay", "1500ms") as d:
            with LineClient(d.port, timeout=5) as a, LineClient(d.port, timeout=5) as b:
                self.assertEqual(b.call("add", [1, 1], id="warm")["result"], 2)
                t0 = time.monotonic()
                a.send_json(rpc("counter.increment", id=key))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                # The scenario, not ordering (the first arrival is known from the metric): the
                # retry comes 1 s in, like a client whose 1 s timeout just expired.
                time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
                t1 = time.monotonic()
                b.send_json(rpc("counter.increment", id=key))
                self.assertEqual(b.read_json(timeout=4),
                                 {"jsonrpc": "2.0", "result": 1, "id": key})
                t_retry = time.monotonic()
                self.assertGreaterEqual(t_retry - t0, 1.45, "the retry was answered before the "
                                        "first arrival + the delay")
                self.assertLess(t_retry - t1, 1.1, "the retry started a second delay")
                self.assertEqual(a.read_json(timeout=3),
                                 {"jsonrpc": "2.0", "result": 1, "id": key})
                self.assertGreaterEqual(time.monotonic() - t0, 1.45)
            self.assertEqual(counter(d.port), 1)

    def test_retry_after_the_first_connection_died_mid_call(self):
        # The first attempt's connection goes away while its call runs; the retry, on another
        # connection, waits for that same execution and gets its outcome.
        key = "nc1:00000000000000ac:1"
        calls = [[{"methodName": "sleep", "params": [500]},
                  {"methodName": "counter.increment", "params": []}]]
        with Netcalld() as d:
            a = LineClient(d.port)
            a.send_json(rpc("system.multicall", calls, id=key))
            # The call runs on the server before its connection goes away.
            wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
            a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            a.close()
            with LineClient(d.port, timeout=5) as b:
                # A second execution would answer [[500], [2]].
                self.assertEqual(b.call("system.multicall", calls, id=key),
                                 {"jsonrpc": "2.0", "result": [[500], [1]], "id": key})
                self.assertEqual(b.call("counter.get")["result"], 1)

    def test_batch_retried_whole(self):
        keys = ["nc1:00000000000000ad:%d" % i for i in (1, 2, 3)]
        batch = [rpc("counter.increment", id=k) for k in keys]
        with Netcalld() as d, LineClient(d.port) as c:
            for _ in range(2):
                c.send_json(batch)
                answers = {a["id"]: a["result"] for a in c.read_json(timeout=3)}
                self.assertEqual(answers, {keys[0]: 1, keys[1]: 2, keys[2]: 3})
            self.assertEqual(c.call("counter.get")["result"], 3)

    def test_ids_not_of_the_key_shape_are_not_deduplicated(self):
        ids = ["nc1:00000000000000AA:1",   # upper-case hex
               "nc1:00000000000000a:1",    # 15 hex digits
               "nc1:00000000000000aaa:1",  # 17 hex digits
               "nc1:00000000000000aa:",    # no sequence number
               "nc1:00000000000000aa:1x",  # not a number
               "nc2:00000000000000aa:1",   # another version
               "nc1:00000000000000aa:" + "1" * 21,  # sequence over 20 digits
               " nc1:00000000000000aa:1",  # leading space
               "abc", 7]
        with Netcalld() as d, LineClient(d.port) as c:
            expected = 0
            for i in ids:
                with self.subTest(id=i):
                    for _ in range(2):
                        expected += 1
                        self.assertEqual(c.call("counter.increment", id=i),
                                         {"jsonrpc": "2.0", "result": expected, "id": i})
            self.assertEqual(c.call("counter.get")["result"], 2 * len(ids))

    def test_error_outcome_is_stored_too(self):
        # An answer, even an error, is final: a retry of a failed call gets the same error and
        # the procedure does not run again (the multicall's increment would move the counter).
        key = "nc1:00000000000000cc:9"
        bad = [{"methodName": "counter.increment", "params": []},
               {"methodName": "divide", "params": [1, 0]}]
        with Netcalld() as d, LineClient(d.port) as c:
            first = c.call("system.multicall", [bad], id=key)
            second = c.call("system.multicall", [bad], id=key)
            self.assertEqual(first, second)
            self.assertEqual(first["result"][0], [1])
            self.assertIn("division by zero", first["result"][1]["faultString"])
            self.assertEqual(c.call("counter.get")["result"], 1)
            k2 = "nc1:00000000000000cc:10"
            e1 = c.call("divide", [1, 0], id=k2)
            self.assertEqual(e1["error"]["code"], -32000)
            self.assertEqual(c.call("divide", [1, 0], id=k2), e1)

    def test_xmlrpc_idempotency_key_header(self):
        with Netcalld() as d:
            key = "nc1:00000000000000bb:1"
            # Two POSTs with one key, on two different connections: one execution.
            self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment"), key), 1)
            self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment"), key), 1)
            self.assertEqual(xmlrpc_post(d.port, xml_call("counter.get")), 1)
            # ... and on one keep-alive connection.
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
            try:
                k2 = "nc1:00000000000000bb:2"
                self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment"), k2, conn), 2)
                self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment"), k2, conn), 2)
            finally:
                conn.close()
            # Header names are case-insensitive; surrounding blanks are not part of the value.
            k3 = "nc1:00000000000000bb:3"
            for header in ["idempotency-key", "IDEMPOTENCY-KEY"]:
                status, _, data = http_request(
                    d.port, "POST", "/RPC2", xml_call("counter.increment"),
                    {"Content-Type": "text/xml", header: "  " + k3 + " "})
                self.assertEqual(status, 200)
                self.assertEqual(xmlrpc.client.loads(data)[0][0], 3)
            self.assertEqual(xmlrpc_post(d.port, xml_call("counter.get")), 3)
            # A malformed key header is simply not a key: each POST runs.
            expected = 3
            for bad in ["abc", "nc1:00000000000000BB:1", "nc1:00000000000000bb"]:
                for _ in range(2):
                    expected += 1
                    self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment"), bad),
                                     expected, bad)
            # No header: no deduplication.
            for _ in range(2):
                expected += 1
                self.assertEqual(xmlrpc_post(d.port, xml_call("counter.increment")), expected)
            self.assertEqual(xmlrpc_post(d.port, xml_call("counter.get")), expected)


KEY = re.compile(rb"nc1:[0-9a-f]{16}:[0-9]+(?=[\"\r])")


class FaultProxy:
    """A TCP proxy between the `netcall` CLI and netcalld that, per connection and chosen by a
    seeded random draw, passes everything through or injects one fault:

    - cut-request: forwards only the first k request bytes, then closes both sides;
    - cut-response: forwards the whole request, then only the first m (0 = none) bytes of the
      answer (in its headers or its body), then closes both sides (the call ran on the
      server; its answer is lost);
    - stall: holds the first answer for `stall_s` (more than the client's timeout) before
      passing it and everything after it on.

    Half of the cuts are a reset (SO_LINGER 0), half an orderly close. The proxy reads the
    idempotency key of each connection's first request before it draws, and injects at most
    `max_faults_per_call` faults into one logical call, so a client that retries correctly
    always gets through (no flaky test) while about `fault_ratio` of all connections still
    fail. Bounded: at most `max_connections` connections, each served at most
    `conn_lifetime_s`."""

    PASS, CUT_REQUEST, CUT_RESPONSE, STALL = "pass", "cut-request", "cut-response", "stall"
    # Forwards the request, then drops every answer byte and keeps the connection open (a
    # stalled peer or a black-holed route): only used through `script`.
    BLACKHOLE = "blackhole"

    def __init__(self, upstream_port, seed=0, fault_ratio=0.5, max_request_cut=80,
                 max_response_cut=50, stall_s=0.7,
                 max_faults_per_call=6, max_connections=600, conn_lifetime_s=20.0,
                 script=()):
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.fault_ratio = fault_ratio
        self.max_request_cut = max_request_cut
        self.max_response_cut = max_response_cut
        self.stall_s = stall_s
        self.max_faults_per_call = max_faults_per_call
        self.max_connections = max_connections
        self.conn_lifetime_s = conn_lifetime_s
        self.lock = threading.Lock()
        self.injected = collections.Counter()
        self.faults_per_key = collections.Counter()
        self.connections = 0
        self.script = collections.deque(script)  # modes of the first connections, in order
        self.stopping = threading.Event()
        self.threads = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        self.listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _draw(self, key):
        with self.lock:
            if self.script:
                return self.script.popleft(), 0, False
            reset = self.rng.random() < 0.5
            faulty = self.rng.random() < self.fault_ratio
            kind = self.rng.choice([self.CUT_REQUEST, self.CUT_RESPONSE, self.STALL])
            cut = self.rng.randint(1, self.max_request_cut)
            keep = self.rng.randint(0, self.max_response_cut)
            if not faulty or self.faults_per_key[key] >= self.max_faults_per_call:
                return self.PASS, 0, reset
            self.faults_per_key[key] += 1
            return kind, cut if kind == self.CUT_REQUEST else keep, reset

    def _count(self, kind):
        with self.lock:
            self.injected[kind] += 1

    def _accept_loop(self):
        while not self.stopping.is_set() and self.connections < self.max_connections:
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _first_request_bytes(self, c, deadline):
        """Reads from the client until its idempotency key has been seen; (bytes, key)."""
        data = b""
        while time.monotonic() < deadline and not self.stopping.is_set():
            m = KEY.search(data)
            if m:
                return data, m.group(0)
            if len(data) > 65536:
                return data, b""
            readable, _, _ = select.select([c], [], [], 0.05)
            if c in readable:
                chunk = c.recv(65536)
                if not chunk:
                    return data, None
                data += chunk
        return data, None

    def _serve(self, c):
        c.settimeout(5)
        deadline = time.monotonic() + self.conn_lifetime_s
        s = None
        abort = False
        try:
            first, key = self._first_request_bytes(c, deadline)
            if key is None:
                return
            mode, n, reset = self._draw(key)
            s = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            up = down = 0
            held = b""
            hold_until = None
            while time.monotonic() < deadline and not self.stopping.is_set():
                if hold_until is not None and held and time.monotonic() >= hold_until:
                    c.sendall(held)
                    held = b""
                wait = 0.05
                if hold_until is not None and held:
                    wait = max(0.0, min(wait, hold_until - time.monotonic()))
                if first:
                    readable, data, first = [c], first, b""
                else:
                    readable, _, _ = select.select([c, s], [], [], wait)
                    data = c.recv(65536) if c in readable else None
                if c in readable:
                    if not data:
                        return  # the client is done (or gave up): close both
                    if mode == self.CUT_REQUEST and up + len(data) > n:
                        s.sendall(data[:n - up])
                        self._count(mode)
                        abort = reset
                        return
                    s.sendall(data)
                    up += len(data)
                if s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if mode == self.CUT_RESPONSE and down + len(data) > n:
                        if n > down:
                            c.sendall(data[:n - down])
                        self._count(mode)
                        abort = reset
                        return
                    if mode == self.BLACKHOLE:
                        if down == 0:
                            self._count(mode)
                        down += len(data)
                        continue
                    if mode == self.STALL and hold_until is None:
                        hold_until = time.monotonic() + self.stall_s
                        self._count(mode)
                    if hold_until is not None and (held or time.monotonic() < hold_until):
                        held += data
                    else:
                        c.sendall(data)
                    down += len(data)
        except OSError:
            pass
        finally:
            if abort:
                try:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            c.close()
            if s is not None:
                s.close()


class FaultInjection(unittest.TestCase):
    """40 logical counter.increment calls through a proxy that breaks ~half its connections:
    every call succeeds and each ran exactly once."""

    CALLS = 40

    def through_faulty_proxy(self, protocol, seed, max_request_cut, max_response_cut):
        with Netcalld() as d, FaultProxy(d.port, seed, max_request_cut=max_request_cut,
                                         max_response_cut=max_response_cut) as proxy:
            argv = ["call", "--protocol", protocol, "--timeout", "400ms", "--retries", "15",
                    "127.0.0.1:%d" % proxy.port, "counter.increment"]
            results = run_many([argv] * self.CALLS, parallel=4, deadline_s=45)
            for code, out, err, _ in results:
                self.assertEqual(code, 0, "a logical call failed through the proxy: " + err)
            values = sorted(json.loads(out) for _, out, _, _ in results)
            injected = dict(proxy.injected)
            self.assertEqual(values, list(range(1, self.CALLS + 1)),
                             "some logical call ran twice or not at all (faults: %s)" % injected)
            self.assertEqual(counter(d.port), self.CALLS)
            self.assertTrue(d.alive())
            self.assertGreater(sum(injected.values()), 10, injected)
            for kind in (FaultProxy.CUT_REQUEST, FaultProxy.CUT_RESPONSE, FaultProxy.STALL):
                self.assertGreater(injected.get(kind, 0), 0, "no %s fault injected: %s"
                                   % (kind, injected))
            return injected, proxy.connections

    def test_jsonrpc_through_faulty_proxy(self):
        # The request is 89 bytes and the answer about 60: the cuts land inside them.
        self.through_faulty_proxy("jsonrpc", 20240611, max_request_cut=80, max_response_cut=55)

    def test_xmlrpc_through_faulty_proxy(self):
        # The request (headers and body) is about 250 bytes, the answer about 190.
        self.through_faulty_proxy("xmlrpc", 20240612, max_request_cut=230, max_response_cut=185)

    def test_jsonrpc_http_through_faulty_proxy(self):
        # About 245 bytes of request, 145 of answer.
        self.through_faulty_proxy("jsonrpc-http", 20240613, max_request_cut=230,
                                  max_response_cut=140)


    def test_retry_leaves_a_black_holed_connection(self):
        # The first connection takes the request (the call runs on the server), swallows the
        # answer and stays open, like a hung peer or a black-holed route; a new connection
        # works. `--retries` must then get through, and the call ran once.
        for p in PROTOCOLS:
            with self.subTest(protocol=p), Netcalld() as d, \
                    FaultProxy(d.port, script=[FaultProxy.BLACKHOLE]) as proxy:
                r = run(["call", "--protocol", p, "--timeout", "300ms", "--retries", "5",
                         "127.0.0.1:%d" % proxy.port, "counter.increment"], timeout=30)
                self.assertEqual(proxy.injected[FaultProxy.BLACKHOLE], 1)
                self.assertEqual(r.returncode, 0,
                                 "every retry went to the stalled connection (%d connection(s)"
                                 " made): %s" % (proxy.connections, r.stderr.strip()))
                self.assertEqual(r.stdout, "1\n")
                self.assertEqual(counter(d.port), 1)


class ScriptedServer:
    """A fake JSON-RPC over TCP server: the n-th request it receives gets answers[n] (the last
    one repeats) merged into {"jsonrpc", "id"}; records (connection number, id) per request."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.threads = []

    def __enter__(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        self.listener.close()

    def _accept_loop(self):
        n = 0
        while not self.stopping.is_set() and n < 50:
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            n += 1
            t = threading.Thread(target=self._serve, args=(c, n), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c, number):
        c.settimeout(0.1)
        buf = b""
        deadline = time.monotonic() + 20
        try:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                try:
                    chunk = c.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    req = json.loads(line)
                    self.requests.append((number, req["id"]))
                    answer = {"jsonrpc": "2.0", "id": req["id"]}
                    answer.update(self.answers[min(len(self.requests), len(self.answers)) - 1])
                    c.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            pass
        finally:
            c.close()


class ClientRetryRules(unittest.TestCase):
    """What `netcall --retries` retries (docs/failures.md): -32002 ("not run") is retried with
    the same idempotency key; any other answer, errors included, is final."""

    def call(self, port, retries=3):
        return run(["call", "--timeout", "2s", "--retries", str(retries), "127.0.0.1:%d" % port,
                    "counter.increment"], timeout=30)

    def test_not_run_answer_is_retried_with_the_same_key(self):
        not_run = {"error": {"code": -32002, "message": NOT_RUN_MESSAGE}}
        with ScriptedServer([not_run, not_run, {"result": 42}]) as s:
            r = self.call(s.port)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "42\n")
            ids = [i for _, i in s.requests]
            self.assertEqual(len(ids), 3)
            self.assertEqual(len(set(ids)), 1, "the attempts carried different keys: %s" % ids)
            self.assertRegex(ids[0], r"^nc1:[0-9a-f]{16}:[0-9]{1,20}$")

    def test_not_run_every_time_gives_up(self):
        with ScriptedServer([{"error": {"code": -32002, "message": NOT_RUN_MESSAGE}}]) as s:
            r = self.call(s.port, retries=2)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("after 3 attempts", r.stderr)
            self.assertEqual(len(s.requests), 3)

    def test_other_errors_are_final(self):
        for code, exit_code in [(-32001, 1), (-32000, 1), (-32601, 1), (-32603, 1)]:
            with self.subTest(code=code), \
                    ScriptedServer([{"error": {"code": code, "message": "nope %d" % code}},
                                    {"result": 42}]) as s:
                r = self.call(s.port)
                self.assertEqual(r.returncode, exit_code, r.stderr)
                self.assertIn("nope %d" % code, r.stderr)
                self.assertEqual(len(s.requests), 1, "an error answer was retried")


class GracefulShutdown(unittest.TestCase):
    def test_call_in_flight_answered_new_calls_refused_with_32002(self):
        with Netcalld() as d:
            a = LineClient(d.port, timeout=5)
            b = LineClient(d.port, timeout=5)
            h = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
            try:
                # b and h are open, and their protocol is known, before the signal.
                self.assertEqual(b.call("add", [1, 2], id="warm")["result"], 3)
                self.assertEqual(xmlrpc_post(d.port, xml_call("add", 2, 2), conn=h), 4)
                t0 = time.monotonic()
                a.send_json(rpc("sleep", [800], id="long"))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                t_term = time.monotonic()
                d.signal(signal.SIGTERM)
                wait_until_refusing_calls(b)
                # A call arriving during shutdown is refused and not run.
                b.send_json(rpc("counter.increment", id="late"))
                late = b.read_json(timeout=2)
                self.assertEqual(late["id"], "late")
                self.assertNotIn("result", late)
                self.assertEqual(late["error"]["code"], -32002, late)
                self.assertEqual(late["error"]["message"], NOT_RUN_MESSAGE)
                fault = xmlrpc_post(d.port, xml_call("counter.increment"), conn=h)
                self.assertIsInstance(fault, xmlrpc.client.Fault)
                self.assertEqual(fault.faultCode, -32002)
                # The call in flight still gets its answer.
                self.assertEqual(a.read_json(timeout=3),
                                 {"jsonrpc": "2.0", "result": 800, "id": "long"})
                self.assertGreaterEqual(time.monotonic() - t0, 0.75)
                self.assertEqual(d.wait(timeout=5), 0)
                # It waited for the call (about 0.7 s), well within the 5 s default grace.
                self.assertLess(time.monotonic() - t_term, 2.5)
            finally:
                a.close()
                b.close()
                h.close()

    def test_retry_of_a_call_that_ran_is_not_told_not_run(self):
        # -32002 promises "the call was not run", so a client may safely send it elsewhere. A
        # retry whose key the server already holds (finished or still running) did run: during
        # shutdown it must get that call's outcome, never -32002.
        finished = "nc1:00000000000000f1:1"
        running = "nc1:00000000000000f1:2"
        with Netcalld("--delay", "600ms") as d:
            a = LineClient(d.port, timeout=5)
            b = LineClient(d.port, timeout=5)
            try:
                b.send_json(rpc("add", [1, 1], id="warm"))  # b is open before the signal
                self.assertEqual(a.call("counter.increment", id=finished)["result"], 1)
                self.assertEqual(b.read_json(timeout=3)["result"], 2)
                a.send_json(rpc("counter.increment", id=running))  # runs; answer held 600 ms
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                d.signal(signal.SIGTERM)
                # The retries below arrive during shutdown. Not probed with calls: --delay holds
                # a probe sent before the signal took effect, and the server may then finish
                # shutting down before the retries are sent. The log line comes just before the
                # server starts refusing; a retry that beat it would get the same outcome, so
                # that order can only make this test weaker, never flaky.
                d.wait_for_stderr("shutting down")
                b.send_json(rpc("counter.increment", id=finished))
                b.send_json(rpc("counter.increment", id=running))
                answers = {}
                for _ in range(2):
                    got = b.read_json(timeout=3)
                    answers[got["id"]] = got
                self.assertEqual(a.read_json(timeout=3),
                                 {"jsonrpc": "2.0", "result": 2, "id": running})
                for key, result in [(finished, 1), (running, 2)]:
                    with self.subTest(key=key):
                        self.assertEqual(answers[key],
                                         {"jsonrpc": "2.0", "result": result, "id": key})
                self.assertEqual(d.wait(timeout=5), 0)
            finally:
                a.close()
                b.close()

    def test_shutdown_grace_cuts_a_long_call(self):
        with Netcalld("--shutdown-grace", "300ms") as d:
            with LineClient(d.port, timeout=5) as c:
                c.send_json(rpc("sleep", [5000], id="long"))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                t0 = time.monotonic()
                d.signal(signal.SIGTERM)
                self.assertEqual(d.wait(timeout=5), 0)
                self.assertLess(time.monotonic() - t0, 1.5)
                # The connection ends; the abandoned call never produced a result.
                data, closed = read_until_close(c.sock, timeout=2)
                self.assertTrue(closed)
                self.assertNotIn(b'"result"', data)


class Limits(unittest.TestCase):
    def test_max_in_flight(self):
        with Netcalld("--max-in-flight", "2") as d, LineClient(d.port) as c:
            t0 = time.monotonic()
            c.send(json.dumps(rpc("sleep", [300], id=1)) + json.dumps(rpc("sleep", [300], id=2))
                   + json.dumps(rpc("counter.increment", id=3)))
            first = c.read_json(timeout=2)
            self.assertLess(time.monotonic() - t0, 0.25, "the refusal was not immediate")
            self.assertEqual(first["id"], 3)
            self.assertEqual(first["error"]["code"], -32001, first)
            self.assertIn("not run", first["error"]["message"])
            rest = sorted([c.read_json(timeout=2), c.read_json(timeout=2)], key=lambda a: a["id"])
            self.assertEqual(rest, [{"jsonrpc": "2.0", "result": 300, "id": 1},
                                    {"jsonrpc": "2.0", "result": 300, "id": 2}])
            # The refused call did not run, and the connection is usable once calls finish.
            self.assertEqual(c.call("counter.get", id=4)["result"], 0)
            # Within a batch the extra entry is refused the same way.
            c.send(json.dumps([rpc("sleep", [200], id=1), rpc("sleep", [200], id=2),
                               rpc("counter.increment", id=3)]))
            batch = {a["id"]: a for a in c.read_json(timeout=3)}
            self.assertEqual(batch[1]["result"], 200)
            self.assertEqual(batch[2]["result"], 200)
            self.assertEqual(batch[3]["error"]["code"], -32001)
            self.assertEqual(c.call("counter.get", id=5)["result"], 0)
            # The limit is per connection: another connection is not affected.
            c.send_json(rpc("sleep", [300], id=6))
            c.send_json(rpc("sleep", [300], id=7))
            with LineClient(d.port) as other:
                self.assertEqual(other.call("counter.increment", id=8)["result"], 1)

    def test_max_batch(self):
        with Netcalld("--max-batch", "3") as d:
            with LineClient(d.port) as c:
                c.send(json.dumps([rpc("counter.increment", id=i) for i in range(4)]))
                answer = c.read_json(timeout=3)
                self.assertIsInstance(answer, dict, "a too long batch gets one answer object")
                self.assertEqual(answer["error"]["code"], -32600)
                self.assertIsNone(answer["id"])
                self.assertEqual(c.call("counter.get", id="g")["result"], 0, "nothing ran")
                c.send(json.dumps([rpc("counter.increment", id=i) for i in range(3)]))
                answers = c.read_json(timeout=3)
                self.assertEqual(sorted(a["result"] for a in answers), [1, 2, 3])
            status, _, body = http_request(
                d.port, "POST", "/", json.dumps([rpc("counter.increment", id=i)
                                                 for i in range(4)]).encode(),
                {"Content-Type": "application/json"})
            self.assertEqual(status, 200)
            answer = json.loads(body)
            self.assertIsInstance(answer, dict)
            self.assertEqual(answer["error"]["code"], -32600)
            with LineClient(d.port) as c:
                self.assertEqual(c.call("counter.get")["result"], 3)

    def test_max_depth(self):
        def nest(n):
            v = 1
            for _ in range(n):
                v = [v]
            return v

        with Netcalld("--max-depth", "5") as d:
            # The whole message counts: the request object (1) and its params array (2).
            with LineClient(d.port) as c:
                self.assertEqual(c.call("echo", [nest(3)])["result"], nest(3))  # depth 5
                c.send_json(rpc("echo", [nest(4)], id=2))  # depth 6
                answer = c.read_json(timeout=3)
                self.assertEqual(answer["error"]["code"], -32700, answer)
                self.assertTrue(c.closed_by_server(timeout=3), "stream left open")
            status, _, body = http_request(d.port, "POST", "/", json.dumps(
                rpc("echo", [nest(4)])).encode(), {"Content-Type": "application/json"})
            self.assertEqual(json.loads(body)["error"]["code"], -32700)
            # XML-RPC: <params> is no array; the value's own nesting counts.
            self.assertEqual(xmlrpc_post(d.port, xml_call("echo", nest(5))), nest(5))
            fault = xmlrpc_post(d.port, xml_call("echo", nest(6)))
            self.assertIsInstance(fault, xmlrpc.client.Fault)
            self.assertEqual(fault.faultCode, -32700)
            with LineClient(d.port) as c:
                self.assertEqual(c.call("add", [1, 1])["result"], 2)

    def test_dedup_ttl(self):
        with Netcalld("--dedup-ttl", "200ms") as d, LineClient(d.port) as c:
            key = "nc1:00000000000000dd:1"
            self.assertEqual(c.call("counter.increment", id=key)["result"], 1)
            self.assertEqual(c.call("counter.increment", id=key)["result"], 1)  # stored
            time.sleep(0.4)  # the scenario, not ordering: the retry comes after the 200 ms TTL
            self.assertEqual(c.call("counter.increment", id=key)["result"], 2)  # forgotten
            self.assertEqual(c.call("counter.get")["result"], 2)

    def test_dedup_max_bytes_drops_the_oldest(self):
        # Each kept outcome costs a few hundred bytes: 2000 bytes hold a handful.
        with Netcalld("--dedup-max-bytes", "2000") as d, LineClient(d.port) as c:
            keys = ["nc1:00000000000000ee:%d" % i for i in range(1, 31)]
            for i, k in enumerate(keys, 1):
                self.assertEqual(c.call("counter.increment", id=k)["result"], i)
            # The newest is still known; the oldest was dropped and runs again.
            self.assertEqual(c.call("counter.increment", id=keys[-1])["result"], 30)
            self.assertEqual(c.call("counter.increment", id=keys[0])["result"], 31)
            self.assertEqual(c.call("counter.get")["result"], 31)

    def test_bad_limit_values_exit_2(self):
        cases = [["--max-in-flight", "0"], ["--max-in-flight", "many"],
                 ["--dedup-ttl", "5"], ["--dedup-ttl", "-1s"], ["--dedup-ttl", "soon"],
                 ["--max-depth", "0"], ["--max-depth", "1001"],
                 ["--max-batch", "0"], ["--dedup-max-bytes", "-1"]]
        for args in cases:
            with self.subTest(args=args):
                r = subprocess.run([NETCALLD, "--listen", "127.0.0.1:0", *args],
                                   capture_output=True, text=True, timeout=10,
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr.count("\n"), 1, repr(r.stderr))


# ---- a key names one call; each peer's share of the outcome memory -----------------------------

def msgpack_keyed(sock, unpacker, msgid, method, params, key):
    """One MessagePack-RPC call with the idempotency key as the fifth element; returns
    (error, result)."""
    import msgpack
    sock.sendall(msgpack.packb([0, msgid, method, params, key], use_bin_type=True))
    deadline = time.monotonic() + 5
    while True:
        for message in unpacker:
            assert message[0] == 1 and message[1] == msgid, message
            return message[2], message[3]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no MessagePack answer in time")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        unpacker.feed(chunk)


def increments(n):
    """system.multicall entries: `n` counter.increment calls (what a retry must not run again)."""
    return [[{"methodName": "counter.increment", "params": []} for _ in range(n)]]


class KeyNamesOneCall(unittest.TestCase):
    """A key names one call, params included (docs/failures.md): a retry with the same key and
    other params is refused with -32600 and runs nothing, on every protocol and wherever the key
    travels; the same params still get the stored outcome."""

    def check(self, call, key):
        """`call(params, key)` returns ("result", value) or ("error", code, message)."""
        self.assertEqual(call(increments(1), key), ("result", [[1]]))
        # Other params, same key: refused (before: answered [[1]], the first call's result).
        refused = call(increments(2), key)
        self.assertEqual(refused[:2], ("error", -32600), refused)
        self.assertIn("idempotency key reused with other params", refused[2])
        # The same params: the stored outcome, not a second run.
        self.assertEqual(call(increments(1), key), ("result", [[1]]))

    def test_jsonrpc_tcp_id(self):
        with Netcalld() as d, LineClient(d.port) as c:
            def call(params, key):
                a = c.call("system.multicall", params, id=key)
                if "error" in a:
                    return ("error", a["error"]["code"], a["error"]["message"])
                return ("result", a["result"])
            self.check(call, "nc1:00000000000001a1:1")
            self.assertEqual(c.call("counter.get")["result"], 1)

    def test_jsonrpc_http_id(self):
        with Netcalld() as d:
            def call(params, key):
                status, _, body = http_request(
                    d.port, "POST", "/", json.dumps(rpc("system.multicall", params, id=key)),
                    {"Content-Type": "application/json"})
                self.assertEqual(status, 200)
                a = json.loads(body)
                if "error" in a:
                    return ("error", a["error"]["code"], a["error"]["message"])
                return ("result", a["result"])
            self.check(call, "nc1:00000000000001a2:1")
            self.assertEqual(counter(d.port), 1)

    def test_xmlrpc_idempotency_key_header(self):
        with Netcalld() as d:
            def call(params, key):
                got = xmlrpc_post(d.port, xml_call("system.multicall", *params), key)
                if isinstance(got, xmlrpc.client.Fault):
                    return ("error", got.faultCode, got.faultString)
                return ("result", got)
            self.check(call, "nc1:00000000000001a3:1")
            self.assertEqual(counter(d.port), 1)

    def test_msgpack_fifth_element(self):
        import msgpack
        with Netcalld() as d:
            sock = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            unpacker = msgpack.Unpacker(raw=False)
            ids = iter(range(1, 100))
            try:
                def call(params, key):
                    error, result = msgpack_keyed(sock, unpacker, next(ids), "system.multicall",
                                                  params, key)
                    if error is not None:
                        return ("error", error["code"], error["message"])
                    return ("result", result)
                self.check(call, "nc1:00000000000001a4:1")
            finally:
                sock.close()
            self.assertEqual(counter(d.port), 1)

    def test_a_retry_with_other_params_while_the_first_attempt_runs(self):
        # The first attempt still runs (its answer held by --delay) when the retries arrive:
        # the one with other params is refused at once, the one with the same params waits and
        # gets the first attempt's outcome.
        key = "nc1:00000000000001a5:1"
        with Netcalld("--delay", "500ms") as d:
            with LineClient(d.port, timeout=5) as a, LineClient(d.port, timeout=5) as b:
                a.send_json(rpc("system.multicall", increments(1), id=key))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                b.send_json(rpc("system.multicall", increments(2), id=key))
                refused = b.read_json(timeout=3)
                self.assertEqual(refused["error"]["code"], -32600, refused)
                b.send_json(rpc("system.multicall", increments(1), id=key))
                self.assertEqual(b.read_json(timeout=3)["result"], [[1]])
                self.assertEqual(a.read_json(timeout=3)["result"], [[1]])
            self.assertEqual(counter(d.port), 1)

    def test_named_params_in_another_order_are_the_same_call(self):
        key = "nc1:00000000000001a6:1"
        with Netcalld() as d, LineClient(d.port) as c:
            first = c.call("subtract", {"minuend": 9, "subtrahend": 2}, id=key)
            self.assertEqual(first["result"], 7)
            c.send(json.dumps(rpc("subtract", {"subtrahend": 2, "minuend": 9}, id=key)))
            self.assertEqual(c.read_json()["result"], 7)
            self.assertEqual(c.call("subtract", {"minuend": 9, "subtrahend": 3},
                                    id=key)["error"]["code"], -32600)


class OutcomeCacheShares(unittest.TestCase):
    """Each peer (client address) holds at most its share of the outcome memory
    (docs/failures.md): one client flooding large keyed answers drops its own oldest outcomes,
    never another client's, whose retries are still answered from the cache."""

    def test_a_flooding_peer_does_not_evict_another_peers_outcomes(self):
        budget = 1 << 20  # 1 MiB: a share of 128 KiB
        big = "x" * (100 * 1024)
        with tempfile.TemporaryDirectory() as tmp:
            access_log = os.path.join(tmp, "access.log")
            with Netcalld("--dedup-max-bytes", str(budget), "--access-log", access_log) as d:
                keys_a = ["nc1:00000000000002a1:%d" % i for i in range(1, 6)]
                with LineClient(d.port) as a:
                    for i, k in enumerate(keys_a, 1):
                        self.assertEqual(a.call("counter.increment", id=k)["result"], i)
                # Client B, from another source address, stores 3 MiB of keyed answers: three
                # times the whole budget.
                b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                b.settimeout(5)
                b.bind(("127.0.0.2", 0))
                b.connect(("127.0.0.1", d.port))
                self.assertEqual(b.getsockname()[0], "127.0.0.2")
                buf = b""
                try:
                    for i in range(30):
                        key = "nc1:00000000000002b2:%d" % i
                        b.sendall(json.dumps(rpc("echo", [big], id=key)).encode())
                        while b"\n" not in buf:
                            chunk = b.recv(1 << 20)
                            self.assertTrue(chunk, "server closed B's connection")
                            buf += chunk
                        line, buf = buf.split(b"\n", 1)
                        self.assertEqual(json.loads(line)["result"], big)
                finally:
                    b.close()
                # A's retries are answered from the cache: nothing ran twice.
                with LineClient(d.port) as a:
                    for i, k in enumerate(keys_a, 1):
                        self.assertEqual(a.call("counter.increment", id=k)["result"], i, k)
                    self.assertEqual(a.call("counter.get")["result"], 5)
                self.assertLessEqual(wait_for_metric(d.port, "netcall_dedup_bytes",
                                                     lambda v: True), budget)
            # The server saw B as another peer (the access log is written out at exit).
            with open(access_log) as f:
                peers = {line.split(" ")[1].rsplit(":", 1)[0] for line in f if line.strip()}
            self.assertEqual(peers, {"127.0.0.1", "127.0.0.2"})


# ---- shutdown answers what clients already sent -------------------------------------------------

def shutdown_request(protocol, n, method="counter.increment"):
    """The bytes of one call of `method` without params, id `n`, in `protocol` (jsonrpc,
    msgpack, http)."""
    if protocol == "msgpack":
        import msgpack
        return msgpack.packb([0, n, method, []], use_bin_type=True)
    body = json.dumps(rpc(method, id=n)).encode()
    if protocol == "jsonrpc":
        return body
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def read_one_answer(sock, protocol, timeout=5.0):
    """The first answer on `sock` as (result, error code) (one of them None), or None when the
    connection ended without a whole answer (EOF or reset). Bounded in time."""
    import msgpack
    unpacker = msgpack.Unpacker(raw=False)
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        if protocol == "msgpack":
            for m in unpacker:
                return m[3], (m[2] or {}).get("code")
        elif protocol == "jsonrpc" and b"\n" in buf:
            a = json.loads(buf.split(b"\n", 1)[0])
            return a.get("result"), a.get("error", {}).get("code")
        elif protocol == "http" and b"\r\n\r\n" in buf:
            head, body = buf.split(b"\r\n\r\n", 1)
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            if len(body) >= length:
                a = json.loads(body[:length])
                return a.get("result"), a.get("error", {}).get("code")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer and no close within %.1f s" % timeout)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
        unpacker.feed(chunk)


class ShutdownAnswersWhatWasSent(unittest.TestCase):
    """SPEC §2, §4: at SIGTERM, a request a client already sent is answered (run, or refused with
    -32002 and not run), never met by a reset or a close without an answer. That holds for
    connections the server serves (JSON-RPC over TCP, MessagePack, HTTP keep-alive), for new
    ones it has not accepted yet (waiting in the listener's backlog), and for requests it has
    not read yet.

    The server is stopped (SIGSTOP) while the requests and the SIGTERM are sent, so that they
    all wait, unread, for it: the order is the kernel's, not a timing guess."""

    PROTOCOLS = ["jsonrpc", "msgpack", "http"]

    def round(self, warm_per_protocol=4, cold_per_protocol=10):
        with Netcalld("--threads", "2") as d:
            socks = []
            try:
                for p in self.PROTOCOLS:  # connected and serving: a first call answered
                    for i in range(warm_per_protocol):
                        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
                        socks.append((p, s))
                        s.sendall(shutdown_request(p, 0, "counter.get"))
                        self.assertEqual(read_one_answer(s, p), (0, None))
                os.kill(d.pid, signal.SIGSTOP)
                try:
                    for p in self.PROTOCOLS:  # completed by the kernel, not accepted yet
                        for i in range(cold_per_protocol):
                            socks.append((p, socket.create_connection(("127.0.0.1", d.port),
                                                                      timeout=5)))
                    for n, (p, s) in enumerate(socks, 1):
                        s.sendall(shutdown_request(p, n))
                    d.signal(signal.SIGTERM)
                finally:
                    os.kill(d.pid, signal.SIGCONT)
                outcomes = [(p, read_one_answer(s, p)) for p, s in socks]
            finally:
                for _, s in socks:
                    s.close()
            self.assertEqual(d.wait(timeout=10), 0)
        lost = [p for p, o in outcomes if o is None]
        self.assertEqual(lost, [], "requests met by a reset or a close without an answer")
        results = sorted(r for _, (r, code) in outcomes if code is None)
        refused = [code for _, (r, code) in outcomes if code is not None]
        self.assertEqual(set(refused) - {-32002}, set(), refused)
        # Every increment that ran was answered with its result: 1..R without a gap, so no
        # refused call ran.
        self.assertEqual(results, list(range(1, len(results) + 1)))
        return len(results), len(refused)

    def test_pipelined_requests_behind_a_call_in_flight_are_answered(self):
        # Read but not decoded: HTTP and positional arrays answer in order, so the requests
        # behind a running call wait, read, until it is answered; the shutdown comes meanwhile.
        with Netcalld("--threads", "1") as d:
            h = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            a = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            try:
                body = json.dumps(rpc("sleep", [300], id="long")).encode()
                first = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                h.sendall(first + shutdown_request("http", 2) + shutdown_request("http", 3))
                a.sendall(b'["sleep", 300]' + b'["counter.increment"]')
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 2)
                d.signal(signal.SIGTERM)
                data, closed = read_until_close(h)
                self.assertTrue(closed)
                bodies = [json.loads(b.split(b"\r\n\r\n", 1)[1]) for b in
                          re.split(rb"(?=HTTP/1\.1 )", data) if b]
                self.assertEqual(bodies[0]["result"], 300)
                # Each pipelined request: answered, refused, not run.
                self.assertEqual([b["error"]["code"] for b in bodies[1:]], [-32002, -32002])
                data, closed = read_until_close(a)
                self.assertTrue(closed)
                lines = data.splitlines()
                self.assertEqual(json.loads(lines[0]), 300)
                self.assertEqual(json.loads(lines[1])["error"]["code"], -32002)
            finally:
                h.close()
                a.close()
            self.assertEqual(d.wait(timeout=10), 0)

    def test_requests_sent_before_sigterm_are_answered(self):
        seen_refused = 0
        for _ in range(5):
            ran, refused = self.round()
            seen_refused += refused
        # The shutdown refused some of them (not only answers that raced ahead of the signal).
        self.assertGreater(seen_refused, 0)


if __name__ == "__main__":
    unittest.main()
