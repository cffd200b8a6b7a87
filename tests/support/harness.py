"""Test harness for integration and interop tests (Python 3 standard library only).

Starts real `netcalld` processes on 127.0.0.1:0, reads the `netcalld listening on HOST:PORT`
line (SPEC §2), and stops every process it started by its PID. Every wait is bounded in time.
The binaries come from $NETCALL_BIN (set by CTest to build/bin).
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("NETCALL_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
NETCALLD = os.path.join(BIN, "netcalld")
NETCALL = os.path.join(BIN, "netcall")

# "PROGRAM listening on HOST:PORT": netcalld, or a server binary of its own made with serve_main.
LISTENING = re.compile(r"^\S+ listening on (\S+):(\d+)$")


class Netcalld:
    """A netcalld process: `with Netcalld("--delay", "300ms") as d: d.port`."""

    def __init__(self, *args, listeners=1, binary=NETCALLD, start_timeout=10.0):
        self.args = list(args)
        self.listeners = listeners
        self.binary = binary
        self.start_timeout = start_timeout
        self.proc = None
        self.ports = []
        self.stderr_file = None

    def start(self):
        # --listen 127.0.0.1:0 unless the test gives listeners (or a config file that may).
        given = any(a in ("--listen", "--config") for a in self.args)
        listen = [] if given else ["--listen", "127.0.0.1:0"]
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [self.binary, *listen, *self.args],
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        while len(self.ports) < self.listeners:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise RuntimeError("netcalld did not print its listening line in time")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise RuntimeError("netcalld exited before listening: " + self.stderr())
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = LISTENING.match(line.decode())
                if not m:
                    self.stop()
                    raise RuntimeError("unexpected stdout line: %r" % line)
                self.ports.append(int(m.group(2)))
        return self

    @property
    def port(self):
        return self.ports[0]

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        """Resident set size of the process in KiB (from /proc)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, signo):
        os.kill(self.proc.pid, signo)

    def wait(self, timeout=10.0):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.stderr_file:
            self._stderr_text = self.stderr()
            self.stderr_file.close()
            self.stderr_file = None
        return self.proc.returncode

    def stderr(self):
        """Everything the process wrote to stderr so far (also after stop)."""
        if not self.stderr_file:
            return getattr(self, "_stderr_text", "")
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")

    def wait_for_stderr(self, text, timeout=10.0, interval=0.01):
        """Polls what the process wrote to stderr until it contains `text` (a log line the test
        waits for, e.g. "shutting down" after a signal). Bounded in time and count; raises
        TimeoutError."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / interval) + 1):
            if text in self.stderr():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(interval, left))  # poll interval
        raise TimeoutError("%r not on netcalld's stderr within %.1f s" % (text, timeout))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run(args, timeout=30.0, binary=None, input=None):
    """Runs a program (default: netcall) and returns CompletedProcess with text stdout/stderr."""
    cmd = [binary or NETCALL, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)


class LineClient:
    """A raw-socket JSON-RPC over TCP client: send bytes, read newline-terminated answers."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_json(self, obj):
        self.send(json.dumps(obj))

    def read_line(self, timeout=None):
        """The next answer line as bytes; raises TimeoutError, or EOFError if the server closed."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer line in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no answer line in time")
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_json(self, timeout=None):
        return json.loads(self.read_line(timeout))

    def call(self, method, params=None, id=1):
        req = {"jsonrpc": "2.0", "method": method, "id": id}
        if params is not None:
            req["params"] = params
        self.send_json(req)
        return self.read_json()

    def closed_by_server(self, timeout=5.0):
        """True when the server closes the connection within `timeout` s (reads and drops data)."""
        return self.read_until_closed(timeout) is not None

    def read_until_closed(self, timeout=5.0):
        """Everything the server sends (after what was read already) until it closes the
        connection, or None when it keeps it open for `timeout` s."""
        data = self.buf
        self.buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
        return None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_post(port, path, body, content_type, timeout=5.0):
    """One HTTP/1.1 POST with http.client; returns (status, headers dict, body bytes)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request("POST", path, body=body, headers=headers)
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def http_get(port, path, timeout=5.0):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def metric(port, name, timeout=5.0):
    """The value of one sample of `GET /metrics` (on a connection of its own, which itself counts
    in netcall_connections_active while the GET runs). `name` is the whole sample name, labels
    included when it has any: `netcall_calls_in_flight`, `netcall_calls_total{protocol="jsonrpc"}`.
    Returns an int when the value is integral, else a float; AssertionError when the sample is
    missing."""
    status, _, body = http_get(port, "/metrics", timeout=timeout)
    if status != 200:
        raise AssertionError("GET /metrics answered %d" % status)
    m = re.search(r"^%s (\S+)$" % re.escape(name), body.decode(), re.M)
    if not m:
        raise AssertionError("no sample %s in /metrics" % name)
    value = float(m.group(1))
    return int(value) if value.is_integer() else value


def wait_for_metric(port, name, predicate, timeout=10.0, interval=0.02):
    """Polls `GET /metrics` until predicate(value of `name`) holds and returns that value: how a
    test learns that the server reached a state (a call is running: `netcall_calls_in_flight`
    >= 1; connections went away: `netcall_connections_active` <= 1) instead of sleeping.
    Bounded in time and in count; raises TimeoutError naming the last value seen."""
    deadline = time.monotonic() + timeout
    value = None
    for _ in range(int(timeout / interval) + 1):
        value = metric(port, name)
        if predicate(value):
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))  # poll interval
    raise TimeoutError("%s never met the condition within %.1f s (last value %r)"
                       % (name, timeout, value))


SHUTTING_DOWN = -32002


def wait_until_refusing_calls(client, timeout=5.0, interval=0.01):
    """After SIGTERM: sends harmless `add(0, 0)` probes on `client` (an open LineClient with
    nothing else in flight) until one is answered with -32002 "shutting down", so the test knows
    the server now refuses new calls. Bounded in time and count; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    for n in range(int(timeout / interval) + 1):
        answer = client.call("add", [0, 0], id="probe-%d" % n)
        if answer.get("error", {}).get("code") == SHUTTING_DOWN:
            return
        if answer != {"jsonrpc": "2.0", "result": 0, "id": "probe-%d" % n}:
            raise AssertionError("unexpected answer to a probe: %r" % answer)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))  # poll interval
    raise TimeoutError("the server still ran calls %.1f s after the signal" % timeout)


# etcd for cluster tests (SPEC §5). Appended: the imports the etcd helpers need beyond the above.
import base64  # noqa: E402
import shutil  # noqa: E402


def free_loopback_port():
    """A free TCP port on 127.0.0.1 (bound to port 0, read, closed; callers retry when another
    process takes it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ETCD = os.environ.get("NETCALL_ETCD", "etcd")
ETCDCTL = os.environ.get("NETCALL_ETCDCTL", "etcdctl")


class Etcd:
    """A single-member etcd 3.4 for tests (SPEC §5): `with Etcd() as e: e.url`.

    Starts on two free 127.0.0.1 ports (client, peer) with a temporary data directory, trying new
    ports when etcd cannot bind them, and waits until `GET /health` answers true (bounded).
    `stop()` (SIGTERM, then SIGKILL, by PID) and `start()` again restart it on the same ports and
    data directory: an outage. `kill9()` is a crash. The directory is removed on `close()` (and
    when the context ends)."""

    def __init__(self, binary=ETCD, start_timeout=30.0, attempts=5):
        self.binary = binary
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.proc = None
        self.dir = None
        self.client_port = None
        self.peer_port = None

    @property
    def host_port(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def url(self):
        """etcd://127.0.0.1:PORT, as netcalld's --registry takes it."""
        return "etcd://" + self.host_port

    @property
    def endpoint(self):
        """http://127.0.0.1:PORT, for etcdctl --endpoints."""
        return "http://" + self.host_port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def log_path(self):
        return os.path.join(self.dir, "etcd.log")

    def log(self):
        """What etcd wrote to stdout and stderr so far (all its starts)."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """The first call picks the ports and the directory; later ones restart on the same."""
        if self.alive():
            return self
        if self.dir is not None:
            self._run()
            return self
        self.dir = tempfile.mkdtemp(prefix="netcall-etcd-")
        for attempt in range(1, self.attempts + 1):
            self.client_port = free_loopback_port()
            self.peer_port = free_loopback_port()
            if self.client_port == self.peer_port:
                continue
            try:
                self._run()
                return self
            except _EtcdPortTaken:
                shutil.rmtree(os.path.join(self.dir, "data"), ignore_errors=True)
                if attempt == self.attempts:
                    self.close()
                    raise RuntimeError("etcd could not bind its ports in %d attempts"
                                       % self.attempts)
            except BaseException:
                self.close()
                raise
        return self

    def _run(self):
        client_url = "http://127.0.0.1:%d" % self.client_port
        peer_url = "http://127.0.0.1:%d" % self.peer_port
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--name", "netcall-test",
                 "--data-dir", os.path.join(self.dir, "data"),
                 "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", "netcall-test=" + peer_url, "--log-level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                if "address already in use" in self.log():
                    raise _EtcdPortTaken()
                raise RuntimeError("etcd exited at start: " + self.log())
            if self.healthy(timeout=1.0):
                return
            time.sleep(0.02)  # poll interval
        self.stop()
        raise RuntimeError("etcd did not answer /health within %.0f s: %s"
                           % (self.start_timeout, self.log()))

    def healthy(self, timeout=1.0):
        """True when `GET /health` answers {"health":"true"}."""
        try:
            status, _, body = http_get(self.client_port, "/health", timeout=timeout)
        except (OSError, ValueError):
            return False
        if status != 200:
            return False
        try:
            return json.loads(body).get("health") == "true"
        except ValueError:
            return False

    def stop(self, timeout=10.0):
        """SIGTERM by PID, SIGKILL after `timeout` s; the ports and data stay for start()."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill9(self):
        """SIGKILL by PID, as a crash; waits for the process to go."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10.0)
        self.proc = None

    def close(self):
        """Stops etcd and removes its directory."""
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class _EtcdPortTaken(Exception):
    pass


def etcdctl(etcd, *args, timeout=10.0):
    """Runs `etcdctl --endpoints=http://127.0.0.1:PORT ARGS...` (API v3) against an `Etcd`;
    returns its stdout; raises RuntimeError when it fails."""
    env = dict(os.environ, ETCDCTL_API="3")
    res = subprocess.run(
        [ETCDCTL, "--endpoints=" + etcd.endpoint, "--dial-timeout=2s", "--command-timeout=5s",
         *args], capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        raise RuntimeError("etcdctl %s failed: %s" % (" ".join(args), res.stderr.strip()))
    return res.stdout


def etcd_get_prefix(etcd, prefix):
    """Every key under `prefix` in `etcd` (an `Etcd`) and its value, as {key: value} (str; keys
    and values are read as UTF-8, e.g. the JSON node records of /netcall/nodes/)."""
    out = json.loads(etcdctl(etcd, "get", "--prefix", prefix, "-w", "json"))
    result = {}
    for kv in out.get("kvs", []):
        key = base64.b64decode(kv["key"]).decode("utf-8", errors="replace")
        value = base64.b64decode(kv.get("value", "")).decode("utf-8", errors="replace")
        result[key] = value
    return result


# Cluster tests (test_cluster.py, test_cluster_etcd.py).
free_port = free_loopback_port


def counter(port):
    """counter.get of the node on `port`, over a raw JSON-RPC connection of its own."""
    with LineClient(port, timeout=5) as c:
        answer = c.call("counter.get", id="get")
    if "result" not in answer:
        raise AssertionError("counter.get on port %d answered %r" % (port, answer))
    return answer["result"]


def wait_until(predicate, what, timeout=10.0, interval=0.02):
    """Polls `predicate()` until it returns a true value and returns it. Bounded in time and in
    count; raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))  # poll interval
    raise TimeoutError("%s: not within %.1f s" % (what, timeout))


def cluster_yaml(nodes, procedures=None):
    """The text of a cluster file: `nodes` {name: "HOST:PORT"}, `procedures` {proc: [names]}."""
    lines = ["nodes:"] + ["  %s: %s" % (n, a) for n, a in nodes.items()]
    if procedures:
        lines.append("procedures:")
        lines += ["  %s: [%s]" % (p, ", ".join(ns)) for p, ns in procedures.items()]
    return "\n".join(lines) + "\n"


def openssl(*args, cwd):
    """Runs the `openssl` command line tool in `cwd`; raises with its stderr when it fails."""
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr))


def make_pki(directory):
    """Makes certificates with the `openssl` tool in `directory` (valid for 2 days, P-256 keys)
    and returns their paths: a CA (`ca.pem`), a server certificate for 127.0.0.1 and localhost
    signed by it (`server.pem`/`server.key`, CN "netcall server 1") and a second one (`server2`,
    CN "netcall server 2", for reloads), a client certificate signed by the CA (`client.pem`/
    `client.key`, CN "netcall client"), and another CA with a server certificate signed by it
    (`other_ca.pem`, `other_server.pem`/`.key`), which clients trusting `ca.pem` refuse."""
    def key_and_csr(name, cn):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=directory)

    def ca(name, cn):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
                "-subj", "/CN=" + cn, cwd=directory)

    def sign(name, ca_name, ext):
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem", "-CAkey",
                ca_name + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                "-extfile", name + ".ext", cwd=directory)

    server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    ca("ca", "netcall test CA")
    ca("other_ca", "another CA")
    for name, cn, ca_name in [("server", "netcall server 1", "ca"),
                              ("server2", "netcall server 2", "ca"),
                              ("other_server", "netcall server 1", "other_ca")]:
        key_and_csr(name, cn)
        sign(name, ca_name, server_ext)
    key_and_csr("client", "netcall client")
    sign("client", "ca", "extendedKeyUsage=clientAuth\n")
    return {name: os.path.join(directory, name) for name in [
        "ca.pem", "server.pem", "server.key", "server2.pem", "server2.key", "client.pem",
        "client.key", "other_ca.pem", "other_server.pem", "other_server.key"]}
