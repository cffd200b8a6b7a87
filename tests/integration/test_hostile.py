"""Hostile clients against a real netcalld (SPEC §2 limits, docs/failures.md): random bytes on
many connections at once, 500 simultaneous callers, hundreds of idle and half-sent connections
next to a normal client, disconnect storms (mid-request, mid-call, unread answers) and the memory
afterwards, and --max-connections at scale. (test_bad_input.py covers single malformed, oversized,
truncated and slow messages; nothing here repeats it.)

Every process is stopped by its PID, every socket has a timeout, every loop is bounded in count
and in time, and only 127.0.0.1 is used."""

import http.client
import json
import os
import random
import resource
import selectors
import socket
import struct
import sys
import threading
import time
import unittest
import xmlrpc.client

from harness import LineClient, Netcalld, http_post, metric, wait_for_metric

HOST = "127.0.0.1"


def rpc(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        r["params"] = params
    return r


def connect(port, timeout=5.0):
    return socket.create_connection((HOST, port), timeout=timeout)


def send_quietly(sock, data):
    """sendall that tolerates the server closing first."""
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def raise_fd_limit(wanted):
    """Raises the soft RLIMIT_NOFILE of this process (inherited by the netcalld it starts) to
    at least `wanted` when the hard limit allows; returns a function restoring it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def wait_all_closed(socks, timeout):
    """Reads every socket until the server closes it (data is kept), all at once with a
    selector, bounded in time. Returns (closed indexes set, {index: bytes received})."""
    sel = selectors.DefaultSelector()
    received = {i: b"" for i in range(len(socks))}
    closed = set()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    deadline = time.monotonic() + timeout
    try:
        while len(closed) < len(socks):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 0.2)):
                i = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    received[i] += chunk
                else:
                    closed.add(i)
                    sel.unregister(key.fileobj)
    finally:
        sel.close()
    return closed, received


def assert_serving(test, port):
    with LineClient(port, timeout=5) as c:
        test.assertEqual(c.call("add", [20, 22], id="alive"),
                         {"jsonrpc": "2.0", "result": 42, "id": "alive"})


class RandomBytes(unittest.TestCase):
    def test_50_connections_of_seeded_random_bytes(self):
        # Pure random bytes, and random bytes after a valid start of each protocol, 1 B to
        # 64 KiB, all 50 connections open at once. Each is closed by the server (an error
        # first where a protocol applies; the idle timeout for a prefix that still waits for
        # more), and the server keeps answering throughout and afterwards.
        rng = random.Random(0x5EED)
        prefixes = [
            b"",
            b'{"jsonrpc":"2.0","method":"echo","id":1,"params":["',
            b"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            b"POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
            b"\x94\x00\x01\xa4echo",  # MessagePack-RPC [0, 1, "echo", ...
        ]
        payloads = []
        for i in range(50):
            size = rng.randint(1, 64 * 1024) if i % 5 else rng.choice([1, 2, 3, 17, 65536])
            payloads.append(prefixes[i % len(prefixes)] + rng.randbytes(size))
        with Netcalld("--idle-timeout", "2s") as d:
            socks = []
            try:
                for _ in payloads:
                    socks.append(connect(d.port))
                threads = [threading.Thread(target=send_quietly, args=(s, p), daemon=True)
                           for s, p in zip(socks, payloads)]
                for t in threads:
                    t.start()
                with LineClient(d.port) as c:  # served while the garbage arrives
                    for i in range(5):
                        self.assertEqual(c.call("add", [i, i], id=i)["result"], 2 * i)
                for t in threads:
                    t.join(timeout=10)
                closed, received = wait_all_closed(socks, timeout=6)
                self.assertEqual(sorted(set(range(len(socks))) - closed), [],
                                 "garbage connections left open past the idle timeout")
                for i, data in received.items():
                    # Whatever came back is an error, never a result.
                    self.assertNotIn(b'"result"', data, (i, data[:200]))
            finally:
                for s in socks:
                    s.close()
            self.assertTrue(d.alive(), "netcalld died")
            assert_serving(self, d.port)
            self.assertEqual(wait_for_metric(d.port, "netcall_connections_active",
                                             lambda v: v <= 1), 1)


class ManyClients(unittest.TestCase):
    def test_500_simultaneous_connections_each_one_call(self):
        restore = raise_fd_limit(4096)
        self.addCleanup(restore)
        n = 500
        with Netcalld() as d:
            socks = []
            sel = selectors.DefaultSelector()
            try:
                for i in range(n):
                    socks.append(connect(d.port, timeout=10))
                # Every connection is open; now all of them call at once: even ones raw TCP,
                # odd ones HTTP (Connection: close, so the answer ends at EOF).
                for i, s in enumerate(socks):
                    req = json.dumps(rpc("add", [i, 1000], id=i)).encode()
                    if i % 2:
                        req = (b"POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                               % len(req)) + req
                    s.sendall(req)
                for i, s in enumerate(socks):
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ, i)
                bufs = {i: b"" for i in range(n)}
                done = {}
                deadline = time.monotonic() + 30
                while len(done) < n and time.monotonic() < deadline:
                    for key, _ in sel.select(timeout=0.2):
                        i = key.data
                        try:
                            chunk = key.fileobj.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            chunk = b""
                        bufs[i] += chunk
                        if i % 2 == 0 and b"\n" in bufs[i]:
                            done[i] = json.loads(bufs[i].split(b"\n", 1)[0])
                        elif i % 2 and not chunk:
                            head, _, body = bufs[i].partition(b"\r\n\r\n")
                            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:100])
                            done[i] = json.loads(body)
                        else:
                            continue
                        sel.unregister(key.fileobj)
                self.assertEqual(len(done), n, "%d of %d calls answered in time" % (len(done), n))
                for i, answer in done.items():
                    self.assertEqual(answer, {"jsonrpc": "2.0", "result": i + 1000, "id": i})
                self.assertGreaterEqual(metric(d.port, "netcall_connections_accepted_total"), n)
            finally:
                sel.close()
                for s in socks:
                    s.close()
            assert_serving(self, d.port)

    def test_idle_and_half_sent_connections_do_not_slow_a_normal_client(self):
        restore = raise_fd_limit(4096)
        self.addCleanup(restore)
        with Netcalld() as d:
            held = []
            try:
                for _ in range(300):  # connected, never a byte
                    held.append(connect(d.port))
                for i in range(100):  # HTTP headers cut off mid-way, held open
                    s = connect(d.port)
                    held.append(s)
                    s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: te"[:20 + i % 30])
                # All 400 are open on the server (plus the /metrics GET) before the timing starts.
                wait_for_metric(d.port, "netcall_connections_active", lambda v: v >= 401)
                worst = 0.0
                for i in range(20):
                    t0 = time.monotonic()
                    if i % 2 == 0:
                        with LineClient(d.port, timeout=2) as c:
                            self.assertEqual(c.call("add", [i, 1], id=i)["result"], i + 1)
                    else:
                        status, _, body = http_post(
                            d.port, "/RPC2", xmlrpc.client.dumps((i, 1), methodname="add"),
                            "text/xml", timeout=2)
                        self.assertEqual(status, 200)
                        self.assertEqual(xmlrpc.client.loads(body)[0][0], i + 1)
                    elapsed = time.monotonic() - t0
                    worst = max(worst, elapsed)
                    self.assertLess(elapsed, 1.0, "call %d took %.3f s" % (i, elapsed))
                # The 400 are still open (held, not dropped to make room).
                self.assertGreaterEqual(metric(d.port, "netcall_connections_active"), 401)
            finally:
                for s in held:
                    s.close()
            assert_serving(self, d.port)


class EnvForChild:
    """Sets environment variables for the processes started inside the block (restored
    after)."""

    def __init__(self, **env):
        self.env = env
        self.saved = {}

    def __enter__(self):
        for k, v in self.env.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


BIG_ECHO = json.dumps(rpc("echo", ["b" * (256 * 1024)], id=1)).encode()
HALF_BIG_HTTP = (b"POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 409600"
                 b"\r\n\r\n" + b'{"jsonrpc":"2.0","method":"echo","params":["' + b"h" * 200000)

# Mid-request disconnects (and mid-call ones): 200 connections each.
SMALL_STORMS = {
    "half-json": lambda i: b'{"jsonrpc":"2.0","method":"echo","params":["' + b"h" * (i * 37 % 3000),
    "half-http-body": lambda i: (b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 8000\r\n\r\n"
                                 b'{"jsonrpc":"2.0","method":"echo","params":["'
                                 + b"h" * (i * 31 % 4000)),
    "half-xmlrpc-body": lambda i: (b"POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml\r\n"
                                   b"Content-Length: 9000\r\n\r\n<?xml version='1.0'?>"
                                   b"<methodCall><methodName>echo</methodName><params><param>"
                                   b"<value><string>" + b"x" * (i * 29 % 5000)),
    # A whole call, then close while it runs (its answer has nowhere to go).
    "call-in-flight": lambda i: json.dumps(rpc("sleep", [200], id=i)).encode(),
}
# The same with large messages: a 256 KiB answer never read; half of a 400 KiB body.
LARGE_STORMS = {
    "unread-256k-answer": lambda i: BIG_ECHO,
    "half-400k-http-body": lambda i: HALF_BIG_HTTP,
}


@unittest.skipIf(os.environ.get("NETCALL_SANITIZED") == "1",
                 "sanitizer allocators keep freed memory in quarantine: RSS means nothing there")
class MemoryAfterStorms(unittest.TestCase):
    """Server RSS at baseline (after a warm-up of a few hundred calls), after disconnect
    storms, and after everything is closed and settled: back within baseline + 10 MiB."""

    def warm_up(self, port):
        with LineClient(port) as c:
            for i in range(200):
                self.assertEqual(c.call("echo", ["w" * 1000], id=i)["result"], "w" * 1000)
        for i in range(50):
            status, _, body = http_post(port, "/RPC2",
                                        xmlrpc.client.dumps(("x" * 1000,), methodname="echo"),
                                        "text/xml")
            self.assertEqual(status, 200)
            status, _, body = http_post(port, "/", json.dumps(rpc("add", [i, 1])),
                                        "application/json")
            self.assertEqual(json.loads(body)["result"], i + 1)
        # The warm-up's connections and calls are gone before the baseline is measured.
        wait_for_metric(port, "netcall_connections_active", lambda v: v <= 1)
        wait_for_metric(port, "netcall_calls_in_flight", lambda v: v == 0)

    def storm(self, d, name, make, count=200):
        socks = []
        try:
            for i in range(count):
                s = connect(d.port)
                socks.append(s)
                send_quietly(s, make(i))
            # The peak is taken once the whole storm is open on the server (each storm
            # connection stays open until closed below; the /metrics GET is one more). Closed
            # connections of the storm before may still count: the peak is printed, not asserted.
            wait_for_metric(d.port, "netcall_connections_active", lambda v: v >= count + 1)
            return d.rss_kib()
        finally:
            for i, s in enumerate(socks):
                if i % 2:  # half reset, half orderly close
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            self.assertTrue(d.alive(), "netcalld died in the %s storm" % name)

    def settle(self, d, baseline):
        """Waits (bounded) until every connection and call is gone and RSS is back within
        baseline + 10 MiB; returns the last RSS."""
        assert_serving(self, d.port)
        try:
            wait_for_metric(d.port, "netcall_connections_active", lambda v: v <= 1)
            wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v == 0)
        except TimeoutError as e:
            self.fail("connections or calls leaked: %s" % e)
        deadline = time.monotonic() + 3
        final = d.rss_kib()
        while final > baseline + 10 * 1024 and time.monotonic() < deadline:
            time.sleep(0.25)  # poll interval of this bounded wait for RSS, not ordering
            final = d.rss_kib()
        return final

    def run_storms(self, storms, rounds, label):
        with Netcalld() as d:
            self.warm_up(d.port)
            baseline = d.rss_kib()
            peak = baseline
            after_rounds = []
            for _ in range(rounds):
                for name, make in storms.items():
                    peak = max(peak, self.storm(d, name, make))
                after_rounds.append(self.settle(d, baseline))
            final = after_rounds[-1]
            sys.stderr.write("\n[netcalld RSS, %s] baseline %d KiB, peak %d KiB, after each "
                             "round %s KiB, final +%.1f MiB\n"
                             % (label, baseline, peak, after_rounds, (final - baseline) / 1024))
            self.assertLessEqual(final, baseline + 10 * 1024,
                                 "%s: RSS %d KiB at baseline, %d KiB after the storms and "
                                 "settling (+%.1f MiB)" % (label, baseline, final,
                                                           (final - baseline) / 1024))

    def test_rss_returns_to_baseline_after_mid_request_disconnects(self):
        restore = raise_fd_limit(4096)
        self.addCleanup(restore)
        self.run_storms(SMALL_STORMS, rounds=2, label="mid-request disconnects")

    def test_no_leak_after_large_message_storms(self):
        # With a small fixed mmap threshold (and trim threshold), glibc gives freed buffers
        # back to the system at once: what remains is what the server still holds. Three
        # rounds of 400 large-message disconnects: nothing accumulates.
        with EnvForChild(MALLOC_MMAP_THRESHOLD_="16384", MALLOC_TRIM_THRESHOLD_="65536"):
            self.run_storms(LARGE_STORMS, rounds=3, label="large messages, fixed mmap threshold")

    def test_rss_returned_after_large_message_storms(self):
        # The same storms with the default allocator settings: the memory of 200 large
        # messages must not stay with the process once they are gone. (The test above shows
        # it is not a leak: with default glibc settings the freed buffers stay resident, as
        # the dynamic mmap threshold moves up and per-thread arenas keep freed chunks.)
        self.run_storms(LARGE_STORMS, rounds=1, label="large messages")


def last_words(d):
    """The end of a dead server's stderr (waits briefly for it to be written)."""
    try:
        d.wait(timeout=2)
    except Exception:
        pass
    return " | ".join(d.stderr().strip().splitlines()[-2:])


def vm_size_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    return 0


class DeclaredSizes(unittest.TestCase):
    def test_declared_content_length_is_not_reserved_up_front(self):
        # 100 clients each announce a 16 MB body (under the default 16 MiB limit) and send
        # 64 KiB of it. The server must hold what arrived (about 6 MiB), not what was announced
        # (1.6 GB): under a 512 MiB address-space limit it keeps serving everyone.
        with Netcalld() as d:
            limit = (vm_size_kib(d.pid) + 512 * 1024) * 1024
            try:
                resource.prlimit(d.pid, resource.RLIMIT_AS, (limit, limit))
            except (PermissionError, OSError) as e:
                self.skipTest("cannot limit the server's address space: %s" % e)
            head = (b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 16000000\r\n\r\n")
            body = b'{"jsonrpc":"2.0","method":"echo","params":["' + b"a" * 65536
            socks = []
            try:
                for _ in range(100):
                    s = connect(d.port)
                    socks.append(s)
                    send_quietly(s, head + body)
                # All 100 are open on the server (plus the /metrics GET) with their bodies
                # arriving before the server is checked.
                wait_for_metric(d.port, "netcall_connections_active", lambda v: v >= 101)
                self.assertTrue(d.alive(), "netcalld died: %s" % last_words(d))
                assert_serving(self, d.port)
            finally:
                for s in socks:
                    s.close()
            self.assertTrue(d.alive(), "netcalld died: %s" % last_words(d))
            assert_serving(self, d.port)


class MaxConnections(unittest.TestCase):
    def try_call(self, port, id, timeout=2.0):
        """A fresh connection and one call on it: (LineClient, answer) or (None, None) when the
        server closed the connection without an answer (refused)."""
        c = LineClient(port, timeout=timeout)
        try:
            send_quietly(c.sock, json.dumps(rpc("add", [id, 1], id=id)).encode())
            answer = c.read_json(timeout=timeout)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            c.close()
            return None, None
        except BaseException:
            c.close()
            raise
        return c, answer

    def test_max_connections_50_with_60_clients(self):
        with Netcalld("--max-connections", "50") as d:
            clients = []
            extra = []
            try:
                for i in range(50):
                    c, answer = self.try_call(d.port, i)
                    self.assertIsNotNone(c, "connection %d of 50 refused" % i)
                    clients.append(c)
                    self.assertEqual(answer["result"], i + 1)
                # Ten more at once: each is closed at once, with no answer.
                t0 = time.monotonic()
                for i in range(10):
                    s = connect(d.port)
                    extra.append(s)
                    send_quietly(s, json.dumps(rpc("add", [1, 1], id=i)).encode())
                closed, received = wait_all_closed(extra, timeout=3)
                self.assertEqual(len(closed), 10, "some of the 10 extra connections were kept")
                self.assertLess(time.monotonic() - t0, 1.5)
                self.assertEqual(set(received.values()), {b""})
                # The 50 keep working, all at once.
                for i, c in enumerate(clients):
                    c.send_json(rpc("multiply", [i, 3], id=i))
                for i, c in enumerate(clients):
                    self.assertEqual(c.read_json(timeout=3),
                                     {"jsonrpc": "2.0", "result": 3 * i, "id": i})
            finally:
                for c in clients:
                    c.close()
                for s in extra:
                    s.close()
            # Once they are gone, 50 new connections are accepted again (the server notices
            # the closes asynchronously: each new one is retried a few times, bounded).
            clients = []
            try:
                for i in range(50):
                    for _ in range(40):
                        c, answer = self.try_call(d.port, 100 + i)
                        if c is not None:
                            break
                        time.sleep(0.05)  # poll interval of this bounded retry, not ordering
                    self.assertIsNotNone(c, "slot %d never freed" % i)
                    clients.append(c)
                    self.assertEqual(answer["result"], 101 + i)
                # And the limit still holds.
                c, _ = self.try_call(d.port, 999)
                self.assertIsNone(c, "a 51st connection was served")
            finally:
                for c in clients:
                    c.close()
            # Refusals counted: the 10, the 51st, plus any retried reconnects above.
            refused = None
            for _ in range(40):
                try:
                    refused = metric(d.port, 'netcall_connections_refused_total{reason="max_connections"}')
                    break
                except (OSError, http.client.HTTPException):
                    time.sleep(0.05)  # poll interval of this bounded retry, not ordering
            self.assertIsNotNone(refused)
            self.assertGreaterEqual(refused, 11)
            self.assertTrue(d.alive())


if __name__ == "__main__":
    unittest.main()
