"""The netcalld daemon itself (SPEC §2): listening lines, signals and shutdown grace, flag
validation (exit 2, one line on stderr), --modules, --delay (a timer, not a blocked thread) and
--threads."""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import NETCALLD, LineClient, Netcalld, wait_for_metric


def rpc(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        r["params"] = params
    return r


def start_raw(args, lines_wanted=1, timeout=10.0):
    """Starts netcalld with exactly `args`; returns (proc, the first `lines_wanted` stdout lines
    as str). The caller stops it by PID (see stop_raw)."""
    proc = subprocess.Popen([NETCALLD, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while buf.count(b"\n") < lines_wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no listening line in time: %r" % buf)
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("netcalld exited early: %r" % buf)
            buf += chunk
    except BaseException:
        stop_raw(proc)
        raise
    return proc, buf.decode().split("\n")[:lines_wanted], buf


def stop_raw(proc, timeout=10.0):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    rest = b""
    if proc.stdout:
        rest = proc.stdout.read()
        proc.stdout.close()
    return proc.returncode, rest


def stops_accepting(port, timeout=2.0, interval=0.01):
    """After SIGTERM: True once a new connection is refused, or accepted and closed without an
    answer (a connect that raced the listener's close); False if every attempt for `timeout` s
    was still served (answered: before the signal took effect, or -32002 during shutdown).
    Bounded in time and count."""
    deadline = time.monotonic() + timeout
    for n in range(int(timeout / interval) + 1):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return True
        try:
            s.sendall(json.dumps(rpc("add", [1, 2], id=n)).encode())
            s.settimeout(2)
            if not s.recv(100):
                return True
        except OSError:
            return True
        finally:
            s.close()
        if time.monotonic() > deadline:
            break
        time.sleep(interval)  # poll interval
    return False


class ListeningLine(unittest.TestCase):
    def test_exact_listening_line(self):
        proc, lines, buf = start_raw(["--listen", "127.0.0.1:0"])
        try:
            line = lines[0]
            prefix = "netcalld listening on 127.0.0.1:"
            self.assertTrue(line.startswith(prefix), repr(line))
            port = line[len(prefix):]
            self.assertTrue(port.isdigit(), repr(line))
            self.assertTrue(0 < int(port) < 65536)
            self.assertEqual(line, prefix + str(int(port)))  # no padding, nothing after
            with LineClient(int(port)) as c:
                self.assertEqual(c.call("add", [2, 3])["result"], 5)
        finally:
            code, rest = stop_raw(proc)
        self.assertEqual(code, 0)
        # Exactly one line on stdout over the whole life of the process: logs go to stderr.
        self.assertEqual(buf + rest, (line + "\n").encode())

    def test_two_listeners_two_lines(self):
        proc, lines, buf = start_raw(["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"],
                                     lines_wanted=2)
        try:
            ports = []
            for line in lines:
                self.assertRegex(line, r"^netcalld listening on 127\.0\.0\.1:[1-9][0-9]*$")
                ports.append(int(line.rsplit(":", 1)[1]))
            self.assertNotEqual(ports[0], ports[1])
            for i, port in enumerate(ports):
                with LineClient(port) as c:
                    self.assertEqual(c.call("add", [i, 10], id=i)["result"], 10 + i)
        finally:
            code, rest = stop_raw(proc)
        self.assertEqual(code, 0)
        self.assertEqual(rest, b"")

    def test_harness_with_two_listeners(self):
        with Netcalld("--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", listeners=2) as d:
            self.assertEqual(len(d.ports), 2)
            for port in d.ports:
                self.assertNotEqual(port, 0)
                with LineClient(port) as c:
                    self.assertEqual(c.call("multiply", [3, 4])["result"], 12)


class Signals(unittest.TestCase):
    def _exits_zero_promptly(self, signo):
        d = Netcalld().start()
        try:
            with LineClient(d.port) as c:
                self.assertEqual(c.call("add", [1, 1])["result"], 2)
            t0 = time.monotonic()
            d.signal(signo)
            code = d.wait(timeout=5)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(code, 0)
        finally:
            d.stop()

    def test_sigterm_exits_0(self):
        self._exits_zero_promptly(signal.SIGTERM)

    def test_sigint_exits_0(self):
        self._exits_zero_promptly(signal.SIGINT)

    def test_sigterm_with_idle_connection_open_exits_promptly(self):
        with Netcalld() as d:
            with LineClient(d.port) as c:
                self.assertEqual(c.call("add", [1, 1])["result"], 2)
                t0 = time.monotonic()
                d.signal(signal.SIGTERM)
                self.assertEqual(d.wait(timeout=5), 0)
                self.assertLess(time.monotonic() - t0, 2.0)

    def test_sigterm_lets_call_in_flight_finish(self):
        with Netcalld() as d:
            with LineClient(d.port, timeout=5) as c:
                t0 = time.monotonic()
                c.send_json(rpc("sleep", [500], id="grace"))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                d.signal(signal.SIGTERM)
                # It stops accepting ...
                self.assertTrue(stops_accepting(d.port), "still accepting 2 s after SIGTERM")
                # ... but the call in flight is still answered.
                answer = c.read_json(timeout=3)
                self.assertEqual(answer, {"jsonrpc": "2.0", "result": 500, "id": "grace"})
                self.assertGreaterEqual(time.monotonic() - t0, 0.45)
            self.assertEqual(d.wait(timeout=5), 0)
            self.assertLess(time.monotonic() - t0, 3.0)

    def test_sigterm_lets_a_large_answer_leave_whole(self):
        # Found by review: encoding an 8 MiB answer takes milliseconds, during which the call
        # had stopped counting as in flight and its write had not started, so shutdown stopped
        # the loop after the first 64 KiB. Over raw TCP and over HTTP.
        size = 8 << 20
        call = json.dumps(rpc("echo", ["x" * size], id=7)).encode()
        http = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(call) + call)
        for name, request in (("tcp", call), ("http", http)):
            with self.subTest(name):
                with Netcalld("--delay", "300ms", "--max-message-bytes", str(64 << 20)) as d:
                    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
                    try:
                        s.sendall(request)
                        # The whole request arrived and the call is waiting out --delay.
                        wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                        d.signal(signal.SIGTERM)
                        data = b""
                        deadline = time.monotonic() + 15
                        while time.monotonic() < deadline:
                            s.settimeout(max(0.1, deadline - time.monotonic()))
                            try:
                                chunk = s.recv(1 << 20)
                            except (socket.timeout, ConnectionResetError):
                                break
                            if not chunk:
                                break
                            data += chunk
                    finally:
                        s.close()
                    self.assertEqual(d.wait(timeout=10), 0)
                body = data.split(b"\r\n\r\n", 1)[1] if name == "http" else data
                self.assertGreater(len(body), size, "answer cut at %d bytes" % len(data))
                self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "result": "x" * size,
                                                    "id": 7})

    def test_shutdown_grace_bounds_the_wait(self):
        with Netcalld("--shutdown-grace", "300ms") as d:
            with LineClient(d.port, timeout=5) as c:
                c.send_json(rpc("sleep", [10000], id=1))
                wait_for_metric(d.port, "netcall_calls_in_flight", lambda v: v >= 1)
                t0 = time.monotonic()
                d.signal(signal.SIGTERM)
                self.assertEqual(d.wait(timeout=5), 0)
                self.assertLess(time.monotonic() - t0, 2.0)


class BadFlags(unittest.TestCase):
    def run_netcalld(self, args):
        return subprocess.run([NETCALLD, *args], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)

    def test_bad_flags_exit_2_with_one_line(self):
        cases = [
            ["--bogus"],
            ["--listen", "127.0.0.1:0", "--frobnicate", "1"],
            ["--listen", "127.0.0.1:0", "--delay", "5"],
            ["--listen", "127.0.0.1:0", "--delay", "abc"],
            ["--listen", "127.0.0.1:0", "--delay", "-5ms"],
            ["--listen", "127.0.0.1:0", "--idle-timeout", "10"],
            ["--listen", "127.0.0.1:0", "--shutdown-grace", "soon"],
            ["--listen", "127.0.0.1:0", "--threads", "-1"],
            ["--listen", "127.0.0.1:0", "--threads", "many"],
            ["--listen", "127.0.0.1:0", "--modules", "nope"],
            ["--listen", "127.0.0.1:0", "--modules", "math,nope"],
            ["--listen", "nohostport"],
            ["--listen", "127.0.0.1:99999"],
            ["--listen", "127.0.0.1:abc"],
            ["--listen", "127.0.0.1:0", "--log-level", "loud"],
            ["--listen", "127.0.0.1:0", "--max-connections", "0"],
            ["--listen", "127.0.0.1:0", "--max-message-bytes", "lots"],
            ["--listen", "127.0.0.1:0", "extra-positional"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.run_netcalld(args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.strip(), "no message on stderr")
                self.assertTrue(r.stderr.endswith("\n"), repr(r.stderr))
                self.assertEqual(r.stderr.count("\n"), 1, repr(r.stderr))

    def test_help_exits_0(self):
        r = self.run_netcalld(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--listen", r.stdout)
        self.assertIn("--delay", r.stdout)

    def test_port_in_use_is_an_error(self):
        with Netcalld() as d:
            r = self.run_netcalld(["--listen", d.address])
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, "")
            self.assertIn(str(d.port), r.stderr)


class Modules(unittest.TestCase):
    def test_math_only(self):
        with Netcalld("--modules", "math") as d, LineClient(d.port) as c:
            self.assertEqual(c.call("add", [2, 3]), {"jsonrpc": "2.0", "result": 5, "id": 1})
            for method, params in [("echo", ["x"]), ("is_alnum", ["x"]), ("sleep", [1]),
                                   ("counter.get", [])]:
                with self.subTest(method=method):
                    answer = c.call(method, params, id=2)
                    self.assertEqual(answer["error"]["code"], -32601, answer)
            names = c.call("system.listMethods", [], id=3)["result"]
            self.assertIn("divide", names)
            self.assertIn("system.multicall", names)
            self.assertNotIn("echo", names)
            self.assertNotIn("sleep", names)

    def test_two_modules(self):
        with Netcalld("--modules", "text,demo") as d, LineClient(d.port) as c:
            self.assertEqual(c.call("echo", ["hi"])["result"], "hi")
            self.assertEqual(c.call("sleep", [1])["result"], 1)
            self.assertEqual(c.call("add", [1, 2])["error"]["code"], -32601)


def timed_call(port, method, params, results, key):
    t0 = time.monotonic()
    try:
        with LineClient(port, timeout=5) as c:
            results[key] = (c.call(method, params, id=key), time.monotonic() - t0)
    except Exception as e:  # reported by the test thread
        results[key] = (e, time.monotonic() - t0)


class DelayAndThreads(unittest.TestCase):
    def test_delay_delays_each_answer(self):
        with Netcalld("--delay", "300ms") as d, LineClient(d.port) as c:
            t0 = time.monotonic()
            self.assertEqual(c.call("add", [2, 3])["result"], 5)
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 0.28)
            self.assertLess(elapsed, 2.0)

    def test_delay_is_a_timer_not_a_blocked_thread(self):
        # One event-loop thread and four calls on four connections at once: were the delay a
        # sleeping thread they would take 4 x 300 ms; as timers they all finish in ~300 ms.
        with Netcalld("--delay", "300ms", "--threads", "1") as d:
            clients = [LineClient(d.port, timeout=5) for _ in range(4)]
            try:
                t0 = time.monotonic()
                for i, c in enumerate(clients):
                    c.send_json(rpc("add", [i, 1], id=i))
                for i, c in enumerate(clients):
                    self.assertEqual(c.read_json(), {"jsonrpc": "2.0", "result": i + 1, "id": i})
                elapsed = time.monotonic() - t0
            finally:
                for c in clients:
                    c.close()
            self.assertGreaterEqual(elapsed, 0.28)
            self.assertLess(elapsed, 0.9)

    def test_two_connections_at_once_with_delay(self):
        with Netcalld("--delay", "300ms", "--threads", "1") as d:
            results = {}
            threads = [threading.Thread(target=timed_call, args=(d.port, "add", [k, k], results, k))
                       for k in (1, 2)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=5)
            total = time.monotonic() - t0
            for k in (1, 2):
                answer, elapsed = results[k]
                self.assertIsInstance(answer, dict, answer)
                self.assertEqual(answer["result"], 2 * k)
                self.assertGreaterEqual(elapsed, 0.28)
            self.assertLess(total, 0.9)

    def test_one_thread_serves_20_concurrent_connections(self):
        with Netcalld("--threads", "1") as d:
            clients = [LineClient(d.port, timeout=5) for _ in range(20)]
            try:
                t0 = time.monotonic()
                for i, c in enumerate(clients):
                    c.send_json(rpc("sleep", [200], id=i))
                # While all 20 sleeps are pending, a new connection is answered at once.
                with LineClient(d.port, timeout=5) as extra:
                    t1 = time.monotonic()
                    self.assertEqual(extra.call("add", [1, 1])["result"], 2)
                    self.assertLess(time.monotonic() - t1, 0.15)
                for i, c in enumerate(clients):
                    self.assertEqual(c.read_json(), {"jsonrpc": "2.0", "result": 200, "id": i})
                elapsed = time.monotonic() - t0
                self.assertLess(elapsed, 1.5)  # concurrent, not 20 x 200 ms
                for i, c in enumerate(clients):
                    self.assertEqual(c.call("add", [i, 1], id=i)["result"], i + 1)
            finally:
                for c in clients:
                    c.close()


class WritesToClosedPipes(unittest.TestCase):
    """SIGPIPE is ignored process-wide (serve_main): a write to a pipe whose reader left, or to
    a client that reset its connection in the middle of an answer, fails that write only; the
    server keeps serving everyone (docs/failures.md)."""

    def assert_survives(self, d, log_line=None):
        """Calls until `log_line` shows the failed write was seen (or, without one, one call
        whose handling wrote), then checks that the server is alive and still answers. Ordered
        by what the server says or does, bounded in time and count."""
        deadline = time.monotonic() + 10
        for n in range(1000):
            try:
                with LineClient(d.port, timeout=5) as c:
                    self.assertEqual(c.call("add", [n, 1], id=n)["result"], n + 1)
            except (OSError, EOFError) as e:
                self.fail("the server went away: %r (exit %r)" % (e, d.proc.poll()))
            if log_line is None or log_line in d.stderr():
                break
            self.assertTrue(d.alive(), "netcalld died: exit %r" % d.proc.poll())
            self.assertLess(time.monotonic(), deadline, "no %r on stderr" % log_line)
            time.sleep(0.05)  # poll interval: the access log is written out every second
        self.assertTrue(d.alive(), "netcalld died: exit %r" % d.proc.poll())
        with LineClient(d.port, timeout=5) as c:
            self.assertEqual(c.call("add", [2, 2])["result"], 4)

    def test_access_log_on_stdout_whose_reader_left(self):
        d = Netcalld("--access-log", "-").start()
        try:
            d.proc.stdout.close()  # the only reader of its stdout
            self.assert_survives(d, "access log: cannot write")
        finally:
            self.assertEqual(d.stop(), 0)

    def test_access_log_on_a_fifo_whose_reader_left(self):
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "access.fifo")
            os.mkfifo(fifo)
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that netcalld can open it
            d = Netcalld("--access-log", fifo)
            try:
                d.start()
            finally:
                os.close(reader)
            try:
                self.assert_survives(d, "access log: cannot write")
            finally:
                self.assertEqual(d.stop(), 0)

    def test_stderr_closed(self):
        # Every connection logs a line at debug level, written to stderr before its call runs.
        proc, lines, _ = start_raw_with_stderr(["--listen", "127.0.0.1:0", "--log-level",
                                                "debug"])
        try:
            port = int(lines[0].rsplit(":", 1)[1])
            proc.stderr.close()  # the only reader of its stderr
            for n in range(3):
                try:
                    with LineClient(port, timeout=5) as c:
                        self.assertEqual(c.call("add", [n, 1], id=n)["result"], n + 1)
                except (OSError, EOFError) as e:
                    self.fail("the server went away: %r (exit %r)" % (e, proc.poll()))
            self.assertIsNone(proc.poll())
        finally:
            self.assertEqual(stop_raw(proc)[0], 0)

    def test_client_that_resets_in_the_middle_of_a_large_answer(self):
        big = "y" * (8 << 20)
        with Netcalld() as d:
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(json.dumps(rpc("echo", [big])).encode())
                self.assertTrue(s.recv(1024))  # the answer is on its way
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()  # a reset, with most of the answer unsent
            self.assert_survives(d)

    def test_tls_client_that_resets_in_the_middle_of_a_large_answer(self):
        import ssl
        from harness import make_pki
        big = "z" * (8 << 20)
        with tempfile.TemporaryDirectory() as tmp:
            pki = make_pki(tmp)
            ctx = ssl.create_default_context(cafile=pki["ca.pem"])
            with Netcalld("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"]) as d:
                for _ in range(3):
                    raw = socket.create_connection(("127.0.0.1", d.port), timeout=5)
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                    s.sendall(json.dumps(rpc("echo", [big])).encode())
                    self.assertTrue(s.recv(1024))  # the answer is on its way
                    # (The TLS socket took over the descriptor.)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                self.assert_survives(d)


def start_raw_with_stderr(args, timeout=10.0):
    """Like start_raw, with stderr a pipe of ours (the caller may close it); returns (proc, the
    listening line, what was read)."""
    proc = subprocess.Popen([NETCALLD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no listening line in time: %r" % buf)
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("netcalld exited early: %r" % buf)
            buf += chunk
    except BaseException:
        stop_raw(proc)
        raise
    return proc, buf.decode().split("\n")[:1], buf


if __name__ == "__main__":
    unittest.main()
