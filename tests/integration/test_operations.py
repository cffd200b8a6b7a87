"""Operations (SPEC §7, docs/operations.md): /metrics by method, protocol and code, scraped by a
real Prometheus; --config FILE; --log-format; --access-log; systemd readiness (sd_notify) and
--version; serve_main in a server binary of one's own (examples/my_server.cpp).

Every process a test starts is stopped by its PID; every wait is bounded; order comes from an
answer, a metric, a log line or a notification, never from a sleep.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import (BIN, NETCALLD, LineClient, Netcalld, free_loopback_port, http_get, metric,
                     run, wait_until)

MY_SERVER = os.path.join(BIN, "my_server")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def msgpack_call(port, method, params, msgid=1):
    """One MessagePack-RPC call on a connection of its own (python3-msgpack: a client nobody
    here wrote); returns (error, result)."""
    import msgpack
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(msgpack.packb([0, msgid, method, params]))
        unpacker = msgpack.Unpacker(raw=False)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = s.recv(65536)
            if not data:
                break
            unpacker.feed(data)
            for message in unpacker:
                return message[2], message[3]
    raise AssertionError("no MessagePack answer to %s" % method)


def samples(port, name):
    """Every sample of metric `name` on GET /metrics: {labels text: value}."""
    status, _, body = http_get(port, "/metrics")
    assert status == 200, status
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


class Metrics(unittest.TestCase):
    """SPEC §7's families, and a label set no client can grow."""

    def test_calls_are_counted_by_method_protocol_and_code(self):
        with Netcalld("--threads", "2") as d:
            with LineClient(d.port) as c:
                for i in range(3):
                    self.assertEqual(c.call("add", [i, 1], id=i)["result"], i + 1)
                self.assertEqual(c.call("nope", [], id=9)["error"]["code"], -32601)
            error, result = msgpack_call(d.port, "add", [2, 2])
            self.assertEqual((error, result), (None, 4))
            calls = samples(d.port, "netcall_server_calls_total")
            self.assertEqual(calls['{code="0",method="add",protocol="jsonrpc"}'], 3)
            self.assertEqual(calls['{code="-32601",method="_unknown",protocol="jsonrpc"}'], 1)
            self.assertEqual(calls['{code="0",method="add",protocol="msgpack"}'], 1)
            count = samples(d.port, "netcall_server_call_duration_seconds_count")
            self.assertEqual(count['{method="add",protocol="jsonrpc"}'], 3)
            inf = samples(d.port, "netcall_server_call_duration_seconds_bucket")
            self.assertEqual(inf['{method="add",protocol="jsonrpc",le="+Inf"}'], 3)
            self.assertGreater(metric(d.port, "netcall_received_bytes_total"), 0)
            self.assertGreater(metric(d.port, "netcall_sent_bytes_total"), 0)
            self.assertGreaterEqual(metric(d.port, "netcall_connections_accepted_total"), 2)
            self.assertEqual(metric(d.port, 'netcall_build_info{version="0.1.0"}'), 1)
            self.assertGreater(metric(d.port, "process_resident_memory_bytes"), 1 << 20)
            self.assertGreater(metric(d.port, "process_open_fds"), 3)
            self.assertGreater(metric(d.port, "process_start_time_seconds"), time.time() - 600)

    def test_unregistered_methods_never_grow_the_label_set(self):
        with Netcalld() as d:
            with LineClient(d.port) as c:
                for i in range(200):
                    c.call("random.method.%d" % i, [], id=i)
            calls = samples(d.port, "netcall_server_calls_total")
            methods = {re.search(r'method="([^"]*)"', k).group(1) for k in calls}
            self.assertEqual(calls['{code="-32601",method="_unknown",protocol="jsonrpc"}'], 200)
            self.assertFalse([m for m in methods if m.startswith("random.")], methods)

    def test_open_connections_by_protocol_and_refusals_by_reason(self):
        with Netcalld() as d:
            with LineClient(d.port) as c:
                c.call("add", [1, 1])
                self.assertEqual(metric(d.port, 'netcall_connections_open{protocol="jsonrpc"}'), 1)
            # Bytes no protocol speaks: the connection is closed, counted as unknown_protocol.
            with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
                s.sendall(b"\x00\x01garbage that is no protocol\r\n")
                s.settimeout(5)
                self.assertEqual(s.recv(100), b"")
            self.assertEqual(
                metric(d.port, 'netcall_connections_refused_total{reason="unknown_protocol"}'), 1)

    def test_dedup_hits_counted(self):
        with Netcalld() as d:
            # A JSON-RPC id of the idempotency key's shape (docs/failures.md): the second
            # attempt gets the stored outcome.
            key = "nc1:0123456789abcdef:1"
            with LineClient(d.port) as c:
                first = c.call("counter.increment", [], id=key)
                second = c.call("counter.increment", [], id=key)
            self.assertEqual(first, second)
            self.assertEqual(metric(d.port, "netcall_dedup_hits_total"), 1)
            self.assertGreater(metric(d.port, "netcall_dedup_bytes"), 0)

    def test_no_call_metrics_flag_drops_the_families(self):
        with Netcalld("--no-call-metrics") as d:
            with LineClient(d.port) as c:
                c.call("add", [1, 1])
            self.assertEqual(samples(d.port, "netcall_server_calls_total"), {})
            self.assertEqual(metric(d.port, 'netcall_calls_total{protocol="jsonrpc"}'), 1)


class PrometheusScrape(unittest.TestCase):
    """A real Prometheus (Debian's package) scrapes netcalld; its HTTP API answers for the calls
    made and for a latency quantile from the histogram."""

    def query(self, port, promql):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            port, urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as r:
            answer = json.load(r)
        self.assertEqual(answer["status"], "success", answer)
        return answer["data"]["result"]

    def test_prometheus_reads_calls_by_method_and_code_and_a_quantile(self):
        with tempfile.TemporaryDirectory() as tmp, Netcalld() as d:
            with LineClient(d.port) as c:
                for i in range(5):
                    self.assertEqual(c.call("add", [i, i], id=i)["result"], 2 * i)
                for i in range(2):
                    self.assertEqual(c.call("divide", [1, 0], id=10 + i)["error"]["code"], -32000)
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n"
                        "scrape_configs:\n  - job_name: netcall\n"
                        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % d.port)
            for attempt in range(5):  # the port may be taken between choosing and binding
                web = free_loopback_port()
                log = open(os.path.join(tmp, "prometheus.log"), "wb")
                prom = subprocess.Popen(
                    [PROMETHEUS, "--config.file=" + config,
                     "--storage.tsdb.path=" + os.path.join(tmp, "data%d" % attempt),
                     "--web.listen-address=127.0.0.1:%d" % web],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                try:
                    def ready():
                        if prom.poll() is not None:
                            return "exited"
                        try:
                            with urllib.request.urlopen(
                                    "http://127.0.0.1:%d/-/ready" % web, timeout=1) as r:
                                return r.status == 200 and "ready"
                        except OSError:
                            return False
                    if wait_until(ready, "prometheus ready", timeout=30) == "exited":
                        continue
                    added = wait_until(
                        lambda: self.query(web, 'netcall_server_calls_total{method="add",code="0"}'),
                        "a scrape with the add calls", timeout=30)
                    self.assertEqual(len(added), 1, added)
                    self.assertEqual(added[0]["metric"]["protocol"], "jsonrpc")
                    self.assertEqual(float(added[0]["value"][1]), 5)
                    failed = self.query(web, 'netcall_server_calls_total{method="divide"}')
                    self.assertEqual([(r["metric"]["code"], float(r["value"][1])) for r in failed],
                                     [("-32000", 2.0)])
                    p99 = self.query(web, 'histogram_quantile(0.99, '
                                          'netcall_server_call_duration_seconds_bucket'
                                          '{method="add"})')
                    self.assertEqual(len(p99), 1, p99)
                    seconds = float(p99[0]["value"][1])
                    self.assertGreater(seconds, 0)
                    self.assertLessEqual(seconds, 10)
                    up = self.query(web, 'up{job="netcall"}')
                    self.assertEqual(float(up[0]["value"][1]), 1)
                    return
                finally:
                    prom.terminate()
                    try:
                        prom.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        prom.kill()
                        prom.wait(timeout=10)
                    log.close()
            self.fail("prometheus did not start: " + read_text(os.path.join(tmp, "prometheus.log")))


class ConfigFile(unittest.TestCase):
    """--config FILE: YAML keys are the long flags; flags on the command line win."""

    def write(self, tmp, text):
        path = os.path.join(tmp, "netcalld.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_keys_set_flags_and_the_command_line_wins(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.write(tmp, "listen: ['127.0.0.1:0', '127.0.0.1:0']\nmodules: math\n"
                                   "threads: 1\nname: from-file\nlog-level: debug\n"
                                   "max-batch: 3\n")
            with Netcalld("--config", path, listeners=2) as d:
                self.assertEqual(len(d.ports), 2)
                with LineClient(d.ports[1]) as c:
                    self.assertEqual(c.call("add", [1, 2])["result"], 3)
                    # modules: math only
                    self.assertEqual(c.call("echo", ["x"])["error"]["code"], -32601)
                    c.send_json([{"jsonrpc": "2.0", "method": "add", "params": [1, 1], "id": i}
                                 for i in range(4)])
                    self.assertEqual(c.read_json()["error"]["code"], -32600)
                d.wait_for_stderr("[from-file]")
            # A flag on the command line wins over the file's key.
            with Netcalld("--config", path, "--listen", "127.0.0.1:0", "--name", "cli") as d:
                self.assertEqual(len(d.ports), 1)
                d.wait_for_stderr("[cli]")

    def test_the_packaged_default_config_is_accepted(self):
        # What the systemd unit runs: netcalld --config /etc/netcall/netcalld.yaml (here with
        # its listener moved to a free port by the command line, which wins).
        default = os.path.join(os.path.dirname(__file__), "..", "..", "packaging",
                               "netcalld.yaml")
        with Netcalld("--config", default, "--listen", "127.0.0.1:0") as d:
            with LineClient(d.port) as c:
                self.assertEqual(c.call("add", [2, 3])["result"], 5)
        self.assertEqual(d.proc.returncode, 0)
        self.assertNotIn("warn", d.stderr())

    def test_flags_and_lists_in_yaml_forms(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.write(tmp, "# comment\nlisten:\n  - 127.0.0.1:0\ngateway: false\n"
                                   "idle-timeout: 30s\nallow-host: [a.example, b.example]\n"
                                   "token-file:\nmodules: [math, demo]\n")
            with Netcalld("--config", path) as d:
                with LineClient(d.port) as c:
                    self.assertEqual(c.call("add", [2, 2])["result"], 4)
                    self.assertEqual(c.call("counter.increment", [])["result"], 1)  # demo
                    self.assertEqual(c.call("echo", ["x"])["error"]["code"], -32601)  # not text

    def test_bad_files_exit_2_naming_the_problem(self):
        with tempfile.TemporaryDirectory() as tmp:
            cases = [
                ("listen: ['127.0.0.1:0']\nlisten-on: x\n", "listen-on"),
                ("listen: ['127.0.0.1:0']\nthreads: many\n", "threads"),
                ("listen: {a: b}\n", "listen"),
                ("- just\n- a list\n", "mapping"),
                ("listen: [unclosed\n", "YAML"),
                ("log-format: xml\n", "log-format"),
                ("idle-timeout: soon\n", "DURATION"),
                ("[a]: 1\n", "a key must be a flag name"),
                ("? {a: 1}\n: 2\n", "a key must be a flag name"),
                ("listen: [[127.0.0.1:0]]\n", "a list of values only"),
                ("name: a\nname: b\n", "key 'name' given twice"),
                ("token: [a, b]\n", "key 'token' takes one value"),
                ("name: a\n---\nname: b\n", "more than one YAML document"),
                # Client-chosen bytes in a message are escaped: one line, no raw ESC.
                ("log-level: \"debug\\nfoo\\e[31m\"\n", "debug\\nfoo\\u001b[31m"),
            ]
            for text, expected in cases:
                path = self.write(tmp, text)
                r = run(["--config", path], binary=NETCALLD, timeout=10)
                self.assertEqual(r.returncode, 2, (text, r.stderr))
                self.assertIn(expected, r.stderr, text)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertEqual(r.stdout, "")
            r = run(["--config", os.path.join(tmp, "missing.yaml")], binary=NETCALLD)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("missing.yaml", r.stderr)
            # Not a regular file: refused before it is read (a FIFO would block forever).
            fifo = os.path.join(tmp, "fifo")
            os.mkfifo(fifo)
            for path in (fifo, tmp, ""):
                r = run(["--config", path, "--listen", "127.0.0.1:0"], binary=NETCALLD,
                        timeout=10)
                self.assertEqual(r.returncode, 2, (path, r.stderr))
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            # An empty string never switches a flag on (like `key:` with no value).
            path = self.write(tmp, "gateway: ''\ntls-only: ''\nlisten: 127.0.0.1:0\n")
            with Netcalld("--config", path) as d:
                with LineClient(d.port) as c:
                    self.assertEqual(c.call("add", [1, 1])["result"], 2)
            r = run(["--config", "/dev/zero"], binary=NETCALLD, timeout=20)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("not a regular file", r.stderr)
            # A huge file is refused after 1 MiB, not read into memory.
            path = self.write(tmp, "# " + "x" * (2 << 20) + "\n")
            r = run(["--config", path], binary=NETCALLD, timeout=20)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("larger than", r.stderr)


class Logs(unittest.TestCase):
    def test_json_log_lines_are_objects(self):
        with Netcalld("--log-format", "json", "--log-level", "debug") as d:
            with LineClient(d.port) as c:
                c.call("add", [1, 1])
            d.wait_for_stderr("connection from 127.0.0.1:")
        lines = [json.loads(line) for line in d.stderr().splitlines() if line.strip()]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual(set(line), {"time", "level", "name", "message"}, line)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertTrue(any(l["message"].startswith("connection from 127.0.0.1:") and
                            l["level"] == "debug" for l in lines), lines)
        self.assertEqual(lines[-1]["message"], "stopped")

    def test_text_log_lines(self):
        with Netcalld("--name", "n1") as d:
            pass
        first = d.stderr().splitlines()[0]
        self.assertRegex(first, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info \[n1\] version ")

    def test_access_log_one_line_per_call(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "access.log")
            with Netcalld("--access-log", path) as d:
                with LineClient(d.port) as c:
                    c.call("add", [1, 2], id=7)
                    c.call("no\x1b]0;pwned\x07pe", [], id="s")
                    c.send_json({"jsonrpc": "2.0", "method": "add", "params": [0, 0]})
                    c.call("add", [0, 0], id=8)  # the notification was handled before this
                error, result = msgpack_call(d.port, "add", [3, 4], msgid=99)
                self.assertEqual(result, 7)
                status, _, _ = http_post_xml(d.port)
                self.assertEqual(status, 200)
                # Written at least every second: wait for the fifth call's line.
                wait_until(lambda: read_text(path).count("\n") >= 6, "access log lines",
                           timeout=10)
            lines = read_text(path).splitlines()
        self.assertEqual(len(lines), 6, lines)
        pattern = re.compile(r'^(\S+Z) (127\.0\.0\.1:\d+) (\S+) ("(?:[^"\\]|\\.)*") (-?\d+) '
                             r'(\d+)us (\d+) (\d+) (\S+)$')
        parsed = [pattern.match(line) for line in lines]
        self.assertTrue(all(parsed), lines)
        first = parsed[0].groups()
        self.assertEqual(first[2:5], ("jsonrpc", '"add"', "0"))
        self.assertEqual(first[8], "7")
        self.assertGreater(int(first[6]), 30)  # bytes in: the request text
        self.assertGreater(int(first[7]), 30)  # bytes out: the answer line
        # A method name with control characters is escaped, never written raw.
        self.assertNotIn("\x1b", "\n".join(lines))
        self.assertIn('"no\\u001b]0;pwned\\u0007pe" -32601', lines[1])
        self.assertEqual(parsed[1].group(9), '"s"')
        # The notification: logged, nothing sent.
        self.assertEqual(parsed[2].group(9), "null")
        self.assertEqual(parsed[2].group(8), "0")
        self.assertEqual(parsed[4].group(3), "msgpack")
        self.assertEqual(parsed[4].group(9), "99")
        self.assertEqual(parsed[5].group(3), "xmlrpc")
        self.assertEqual(parsed[5].group(9), "-")
        # HTTP: bytes out are the whole answer, head and body.
        self.assertGreater(int(parsed[5].group(8)), 100)

    def test_access_log_json_to_stdout(self):
        d = Netcalld("--access-log", "-", "--log-format", "json")
        d.start()
        try:
            with LineClient(d.port) as c:
                c.call("add", [1, 2], id=3)
            # stdout after the listening line: the access log's lines.
            line = read_line(d.proc.stdout, timeout=10)
        finally:
            d.stop()
        record = json.loads(line)
        self.assertEqual(record["method"], "add")
        self.assertEqual(record["code"], 0)
        self.assertEqual(record["id"], 3)
        self.assertEqual(record["protocol"], "jsonrpc")
        self.assertFalse(record["notification"])
        self.assertGreaterEqual(record["duration_us"], 0)

    def test_access_log_lines_stay_json_whatever_the_method_name(self):
        # A method name that is not UTF-8 is refused before it runs (-32600; every protocol
        # checks UTF-8), so no line has one; control characters in one are escaped.
        d = Netcalld("--access-log", "-", "--log-format", "json")
        d.start()
        try:
            with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
                s.sendall(b"\x94\x00\x01\xa4ad\xffd\x90")
                refused = s.recv(4096)
                self.assertIn(b"\xd1\x80\xa8", refused)  # code -32600
                s.sendall(b"\x94\x00\x02\xa7ad\x1b[2Jd\x90")
                s.recv(4096)
            line = read_line(d.proc.stdout, timeout=10)
        finally:
            d.stop()
        record = json.loads(line)
        self.assertEqual(record["method"], "ad\x1b[2Jd")
        self.assertEqual(record["id"], 2)
        self.assertEqual(record["code"], -32601)

    def test_listener_failure_is_a_log_line_in_the_log_format(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            r = run(["--log-format", "json", "--listen", "127.0.0.1:%d" % taken.getsockname()[1]],
                    binary=NETCALLD)
        self.assertEqual(r.returncode, 1, r.stderr)
        record = json.loads(r.stderr.strip().splitlines()[-1])
        self.assertEqual(record["level"], "error")
        self.assertIn("cannot listen", record["message"])

    def test_access_log_unwritable_path_is_exit_2(self):
        r = run(["--listen", "127.0.0.1:0", "--access-log", "/nonexistent/dir/access.log"],
                binary=NETCALLD)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("/nonexistent/dir/access.log", r.stderr)
        r = run(["--listen", "127.0.0.1:0", "--access-log", ""], binary=NETCALLD)
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_access_log_write_failures_are_logged_once(self):
        with Netcalld("--access-log", "/dev/full") as d:
            with LineClient(d.port) as c:
                for i in range(20):
                    c.call("add", [i, i], id=i)
            d.wait_for_stderr("access log: cannot write")
        self.assertEqual(d.stderr().count("access log: cannot write"), 1, d.stderr())


def metrics_with_token(port, token):
    """GET /metrics with a bearer token (a server with --token-file asks for one)."""
    request = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=5) as r:
        return r.read()


def http_post_xml(port):
    """An XML-RPC add(1, 1) over HTTP with Python's own client library."""
    import xmlrpc.client
    with xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % port) as proxy:
        assert proxy.add(1, 1) == 2
    return 200, None, None


def read_text(path):
    with open(path) as f:
        return f.read()


def read_line(pipe, timeout):
    """One line from a process's stdout pipe, waiting at most `timeout` s."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no line on stdout within %.1f s" % timeout)
        ready, _, _ = select.select([pipe], [], [], left)
        if ready:
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\n", 1)[0].decode()


class Systemd(unittest.TestCase):
    """Type=notify: READY=1 once every listener is open, STOPPING=1 when shutdown begins (the
    sd_notify protocol: datagrams on $NOTIFY_SOCKET)."""

    def test_ready_then_stopping(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notify")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(10)
            env = dict(os.environ, NOTIFY_SOCKET=path)
            proc = subprocess.Popen([NETCALLD, "--listen", "127.0.0.1:0", "--listen",
                                     "127.0.0.1:0"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
            try:
                ready = sock.recv(4096).decode()
                self.assertIn("READY=1", ready)
                # Both listeners were open before READY: both lines are already on stdout.
                first = read_line(proc.stdout, timeout=5)
                self.assertRegex(first, r"^netcalld listening on 127\.0\.0\.1:\d+$")
                proc.send_signal(signal.SIGTERM)
                self.assertIn("STOPPING=1", sock.recv(4096).decode())
                self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
                proc.stdout.close()
                sock.close()

    def test_version(self):
        r = run(["--version"], binary=NETCALLD)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "netcalld 0.1.0"))


class ServeMain(unittest.TestCase):
    """A server binary of one's own gets netcalld's flags from serve_main."""

    def test_own_binary_takes_netcalld_flags(self):
        with tempfile.TemporaryDirectory() as tmp:
            tokens = os.path.join(tmp, "tokens")
            with open(tokens, "w") as f:
                f.write("s3cret-token-0123456789\n")
            config = os.path.join(tmp, "my.yaml")
            with open(config, "w") as f:
                f.write("token-file: %s\nthreads: 1\n" % tokens)
            with Netcalld("--config", config, "--access-log", os.path.join(tmp, "a.log"),
                          binary=MY_SERVER) as d:
                r = run(["call", "--token", "s3cret-token-0123456789", d.address, "greet", "ann"])
                self.assertEqual((r.returncode, r.stdout.strip()), (0, '"hello, ann"'), r.stderr)
                r = run(["call", d.address, "greet", "ann"])
                self.assertEqual(r.returncode, 1)
                self.assertIn("-32003", r.stderr)
                self.assertIn(b'netcall_server_calls_total{code="0",method="greet",'
                              b'protocol="jsonrpc"} 1\n', metrics_with_token(
                                  d.port, "s3cret-token-0123456789"))
            self.assertEqual(d.proc.returncode, 0)
        r = run(["--help"], binary=MY_SERVER)
        self.assertEqual(r.returncode, 0)
        for flag in ("--listen", "--config", "--token-file", "--tls-cert", "--registry",
                     "--access-log", "--log-format", "--max-connections"):
            self.assertIn(flag, r.stdout)
        self.assertNotIn("--modules", r.stdout)
        r = run(["--bogus"], binary=MY_SERVER)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("my_server: "), r.stderr)


if __name__ == "__main__":
    unittest.main()
