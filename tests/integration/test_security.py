"""Security (SPEC §6) seen from outside: tokens on every protocol (missing, wrong, right,
rotated by SIGHUP), `system.authenticate` on raw TCP, `/healthz` open and `/metrics` closed, 401
with both challenges, repeated failures slowed down, the cross-origin request of a web page
refused (and allowed for `--allow-origin`, preflight included), DNS rebinding (`Host`) refused,
request smuggling through Transfer-Encoding refused, and the exposure warning.

Every netcalld is a real process on 127.0.0.1:0 stopped by its PID; the demo module's counter
proves whether a refused call ran."""

import json
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import LineClient, Netcalld, counter, run, wait_until

TOKEN = "first-token-0123456789abcdef"
INCREMENT = b'{"jsonrpc":"2.0","id":1,"method":"counter.increment"}'
PROTOCOLS = ("jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack")


def raw_http(port, request, timeout=5.0):
    """Sends `request` (bytes) on a new connection and returns everything the server sent
    until it closed (the request should say `Connection: close`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionError:
                break
            if not chunk:
                break
            out += chunk
        return out


def post(port, body, content_type="application/json", path="/", headers=(), host="127.0.0.1"):
    head = "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, host)
    if content_type:
        head += "Content-Type: %s\r\n" % content_type
    for h in headers:
        head += h + "\r\n"
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return raw_http(port, head.encode() + body)


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None


def header_lines(answer):
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    return head.split("\r\n")[1:]


class Tokens(unittest.TestCase):
    # A server per test: wrong tokens of one test would slow down the next (SlowDown).
    def setUp(self):
        self.server = Netcalld("--token", TOKEN).start()

    def tearDown(self):
        self.server.stop()

    def count(self):
        with LineClient(self.server.port) as c:
            self.assertEqual(c.call("system.authenticate", [TOKEN])["result"], True)
            return c.call("counter.get", [], id=2)["result"]

    def test_every_protocol_refuses_a_missing_or_wrong_token_and_runs_nothing(self):
        for protocol in PROTOCOLS:
            # A server each: wrong tokens from one address block it after three.
            with self.subTest(protocol=protocol), Netcalld("--token", TOKEN) as d:
                missing = run(["call", "--protocol", protocol, d.address, "counter.increment"])
                self.assertEqual(missing.returncode, 1, missing.stderr)
                self.assertIn("netcall: error -32003: unauthenticated", missing.stderr)
                wrong = run(["call", "--protocol", protocol, "--token", "wrong", d.address,
                             "counter.increment"])
                self.assertEqual(wrong.returncode, 1, wrong.stderr)
                self.assertIn("error -32003", wrong.stderr)
                self.assertEqual(counter_with_token(d.port), 0)
                right = run(["call", "--protocol", protocol, "--token", TOKEN, d.address,
                             "counter.increment"])
                self.assertEqual((right.returncode, right.stdout), (0, "1\n"), right.stderr)

    def test_the_token_may_come_from_the_environment(self):
        env = dict(os.environ, NETCALL_TOKEN=TOKEN)
        import subprocess
        from harness import NETCALL
        r = subprocess.run([NETCALL, "call", "--protocol", "msgpack", self.server.address, "add",
                            "1", "2"], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual((r.returncode, r.stdout), (0, "3\n"), r.stderr)

    def test_raw_tcp_calls_are_refused_until_system_authenticate(self):
        before = self.count()
        with LineClient(self.server.port) as c:
            refused = c.call("counter.increment", [], id=1)
            self.assertEqual(refused["error"]["code"], -32003)
            self.assertIn("system.authenticate", refused["error"]["message"])
            self.assertEqual(c.call("system.authenticate", [TOKEN], id=2)["result"], True)
            self.assertEqual(c.call("counter.increment", [], id=3)["result"], before + 1)

    def test_a_wrong_token_on_raw_tcp_closes_the_connection_after_the_error(self):
        before = self.count()
        with LineClient(self.server.port) as c:
            # The wrong token and a call behind it in one write: the call never runs.
            c.send(b'{"jsonrpc":"2.0","id":1,"method":"system.authenticate","params":["nope"]}'
                   + INCREMENT)
            answer = c.read_json()
            self.assertEqual(answer["id"], 1)
            self.assertEqual(answer["error"]["code"], -32003)
            self.assertTrue(c.closed_by_server())
        self.assertEqual(self.count(), before)

    def test_a_second_wrong_system_authenticate_closes_an_authenticated_connection(self):
        with LineClient(self.server.port) as c:
            self.assertEqual(c.call("system.authenticate", [TOKEN], id=1)["result"], True)
            self.assertEqual(c.call("system.authenticate", ["nope"], id=2)["error"]["code"],
                             -32003)
            self.assertTrue(c.closed_by_server())

    def test_system_authenticate_with_malformed_params_is_invalid_params(self):
        with LineClient(self.server.port) as c:
            self.assertEqual(c.call("system.authenticate", [1])["error"]["code"], -32602)
            self.assertEqual(c.call("system.authenticate", [TOKEN], id=2)["result"], True)

    def test_http_without_a_token_is_401_with_both_challenges(self):
        answer = post(self.server.port, INCREMENT)
        self.assertEqual(status_of(answer), 401)
        lines = header_lines(answer)
        self.assertIn('WWW-Authenticate: Bearer realm="netcall"', lines)
        self.assertIn('WWW-Authenticate: Basic realm="netcall"', lines)
        self.assertEqual(json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"], -32003)

    def test_basic_authentication_with_the_token_as_password_and_bearer_both_work(self):
        import base64
        basic = base64.b64encode(b"anyone:" + TOKEN.encode()).decode()
        for auth in ("Basic " + basic, "Bearer " + TOKEN, "bearer " + TOKEN):
            with self.subTest(auth=auth.split()[0]):
                answer = post(self.server.port, b'{"jsonrpc":"2.0","id":1,"method":"add",'
                              b'"params":[1,2]}', headers=["Authorization: " + auth])
                self.assertEqual(status_of(answer), 200, answer)
                self.assertIn(b'"result":3', answer)

    def test_healthz_stays_open_and_metrics_needs_the_token(self):
        ok = raw_http(self.server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        b"Connection: close\r\n\r\n")
        self.assertEqual(status_of(ok), 200)
        closed = raw_http(self.server.port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            b"Connection: close\r\n\r\n")
        self.assertEqual(status_of(closed), 401)
        self.assertNotIn(b"netcall_", closed)
        wrong = raw_http(self.server.port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           b"Authorization: Bearer nope\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(wrong), 401)
        opened = raw_http(self.server.port, ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Authorization: Bearer %s\r\nConnection: close\r\n"
                                             "\r\n" % TOKEN).encode())
        self.assertEqual(status_of(opened), 200)
        self.assertIn(b"netcall_connections_accepted_total", opened)


class TokensWithDelay(unittest.TestCase):
    def test_calls_pipelined_behind_system_authenticate_are_authenticated_under_delay(self):
        # --delay holds answers; the connection is authenticated before the answer is held.
        with Netcalld("--token", TOKEN, "--delay", "200ms") as d:
            for protocol in ("jsonrpc", "msgpack"):
                with self.subTest(protocol=protocol):
                    r = run(["call", "--protocol", protocol, "--token", TOKEN, d.address, "add",
                             "1", "2"])
                    self.assertEqual((r.returncode, r.stdout), (0, "3\n"), r.stderr)
            refused = run(["call", "--protocol", "msgpack", d.address, "add", "1", "2"])
            self.assertEqual(refused.returncode, 1)
            self.assertIn("-32003", refused.stderr)


class Rotation(unittest.TestCase):
    def test_sighup_rereads_the_token_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "tokens")
            with open(path, "w") as f:
                f.write("# netcall tokens\nold-token-aaaaaaaaaaaa\n")
            with Netcalld("--token-file", path) as d:
                def call(token):
                    return run(["call", "--protocol", "msgpack", "--token", token, d.address,
                                "add", "1", "1"])
                self.assertEqual(call("old-token-aaaaaaaaaaaa").returncode, 0)
                self.assertEqual(call("new-token-bbbbbbbbbbbb").returncode, 1)
                # Rotation: the new token joins, then the old one leaves.
                with open(path, "w") as f:
                    f.write("new-token-bbbbbbbbbbbb\n")
                d.signal(signal.SIGHUP)
                d.wait_for_stderr("SIGHUP: reloaded tokens")
                self.assertEqual(call("new-token-bbbbbbbbbbbb").returncode, 0)
                refused = call("old-token-aaaaaaaaaaaa")
                self.assertEqual(refused.returncode, 1)
                self.assertIn("-32003", refused.stderr)
                # An unreadable file keeps the tokens in use.
                os.remove(path)
                d.signal(signal.SIGHUP)
                d.wait_for_stderr("reload failed")
                self.assertEqual(call("new-token-bbbbbbbbbbbb").returncode, 0)

    def test_a_bad_token_file_is_exit_2_with_one_line(self):
        with tempfile.TemporaryDirectory() as directory:
            empty = os.path.join(directory, "empty")
            open(empty, "w").close()
            for args in (["--token-file", os.path.join(directory, "missing")],
                         ["--token-file", empty],
                         ["--token", "has space"],
                         ["--token", "a", "--token-file", empty],
                         ["--tls-only"],
                         ["--tls-cert", empty, "--tls-key", empty]):
                with self.subTest(args=args):
                    from harness import NETCALLD
                    r = run(["--listen", "127.0.0.1:0", *args], binary=NETCALLD, timeout=10)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertEqual(r.stdout, "")
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class SlowDown(unittest.TestCase):
    def test_a_peer_that_sent_wrong_tokens_is_blocked_and_its_tokens_go_unchecked(self):
        with Netcalld("--token", TOKEN) as d:
            def attempt(token):
                answer = post(d.port, INCREMENT, headers=["Authorization: Bearer " + token])
                return status_of(answer), answer.split(b"\r\n\r\n", 1)[1]
            for _ in range(4):  # three are free; the 4th blocks the address for 250 ms
                status, body = attempt("wrong")
                self.assertEqual(status, 401)
                self.assertIn(b"wrong token", body)
            # Blocked: even the right token is refused unchecked, so guesses gain nothing.
            status, body = attempt(TOKEN)
            self.assertEqual(status, 401)
            self.assertIn(b"too many wrong tokens", body)
            self.assertEqual(counter_with_token_after_block(d.port), 0)
            wait_until(lambda: attempt(TOKEN)[0] == 200, "the block to end", timeout=5)
            self.assertEqual(counter_with_token(d.port), 1)

    def test_guesses_pipelined_on_one_connection_stop_at_the_first_wrong_token(self):
        with Netcalld("--token", TOKEN) as d:
            with LineClient(d.port) as c:
                guesses = b"".join(
                    b'{"jsonrpc":"2.0","id":%d,"method":"system.authenticate","params":["g%d"]}'
                    % (i, i) for i in range(20))
                right = (b'{"jsonrpc":"2.0","id":99,"method":"system.authenticate","params":["'
                         + TOKEN.encode() + b'"]}')
                c.send(guesses + right + INCREMENT.replace(b'"id":1', b'"id":100'))
                answers = [json.loads(line) for line in read_until_closed(c).splitlines()]
                self.assertGreaterEqual(len(answers), 1)
                for a in answers:
                    self.assertEqual(a["error"]["code"], -32003, a)
            # A batch too: nothing after the wrong token runs, and the batch is answered.
            with LineClient(d.port) as c:
                c.send(b'[{"jsonrpc":"2.0","id":1,"method":"system.authenticate","params":["x"]},'
                       + right + b"," + INCREMENT.replace(b'"id":1', b'"id":3') + b"]")
                batch = json.loads(read_until_closed(c))
                self.assertEqual([a["error"]["code"] for a in batch], [-32003] * 3)
            wait_until(lambda: try_authenticate(d.port), "the block to end", timeout=10)
            self.assertEqual(counter_with_token(d.port), 0)


def read_until_closed(client, timeout=5.0):
    """Everything the server sends on `client` (a LineClient) until it closes the connection."""
    data = client.read_until_closed(timeout)
    if data is None:
        raise AssertionError("the server kept the connection open")
    return data


def try_authenticate(port):
    with LineClient(port) as c:
        return c.call("system.authenticate", [TOKEN]).get("result") is True


def counter_with_token_after_block(port):
    """counter.get once the address is no longer blocked."""
    wait_until(lambda: try_authenticate(port), "the block to end", timeout=10)
    return counter_with_token(port)


def counter_with_token(port):
    with LineClient(port) as c:
        c.call("system.authenticate", [TOKEN])
        return c.call("counter.get", [], id=2)["result"]


class BrowserBorneCalls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld("--allow-origin", "http://ok.example", "--allow-host",
                              "rpc.internal").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_the_cross_origin_request_of_a_web_page_is_refused(self):
        before = counter(self.server.port)
        answer = post(self.server.port, INCREMENT, content_type="text/plain",
                      path="/anything", headers=["Origin: http://evil.example"])
        self.assertEqual(status_of(answer), 403)
        # Without Origin (or with it), text/plain and forms run nothing.
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x"):
            self.assertEqual(status_of(post(self.server.port, INCREMENT,
                                            content_type=content_type)), 415)
        xml = (b'<?xml version="1.0"?><methodCall><methodName>counter.increment</methodName>'
               b'</methodCall>')
        self.assertEqual(status_of(post(self.server.port, xml,
                                        content_type="application/x-www-form-urlencoded",
                                        path="/RPC2")), 415)
        self.assertEqual(counter(self.server.port), before)

    def test_an_allowed_origin_gets_its_preflight_and_its_call(self):
        preflight = raw_http(self.server.port, b"OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Origin: http://ok.example\r\n"
                             b"Access-Control-Request-Method: POST\r\n"
                             b"Access-Control-Request-Headers: content-type\r\n"
                             b"Connection: close\r\n\r\n")
        self.assertEqual(status_of(preflight), 204)
        lines = header_lines(preflight)
        self.assertIn("Access-Control-Allow-Origin: http://ok.example", lines)
        self.assertTrue(any(l.startswith("Access-Control-Allow-Methods:") and "POST" in l
                            for l in lines), lines)
        self.assertTrue(any(l.startswith("Access-Control-Allow-Headers:") and "Content-Type" in l
                            for l in lines), lines)
        before = counter(self.server.port)
        answer = post(self.server.port, INCREMENT, headers=["Origin: http://ok.example"])
        self.assertEqual(status_of(answer), 200)
        self.assertIn("Access-Control-Allow-Origin: http://ok.example", header_lines(answer))
        self.assertEqual(counter(self.server.port), before + 1)
        other = raw_http(self.server.port, b"OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Origin: http://evil.example\r\n"
                         b"Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(other), 403)

    def test_a_host_that_is_not_the_server_is_refused(self):
        before = counter(self.server.port)
        for host in ("evil.example", "evil.example:%d" % self.server.port, "127.0.0.2"):
            with self.subTest(host=host):
                self.assertEqual(status_of(post(self.server.port, INCREMENT, host=host)), 403)
        self.assertEqual(counter(self.server.port), before)
        for host in ("localhost:%d" % self.server.port, "rpc.internal", "RPC.internal:80",
                     "127.0.0.1:%d" % self.server.port):
            with self.subTest(host=host):
                self.assertEqual(status_of(post(self.server.port, INCREMENT, host=host)), 200)
        self.assertEqual(counter(self.server.port), before + 4)


class Smuggling(unittest.TestCase):
    def test_a_transfer_encoding_that_does_not_end_in_chunked_is_400_and_closes(self):
        with Netcalld() as d:
            hidden = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(INCREMENT), INCREMENT))
            for coding in (b"gzip", b"chunked, gzip", b"identity"):
                with self.subTest(coding=coding):
                    answer = raw_http(d.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Content-Type: application/json\r\n"
                                      b"Transfer-Encoding: " + coding + b"\r\n\r\n" + hidden)
                    self.assertEqual(status_of(answer), 400, answer)
                    self.assertEqual(answer.count(b"HTTP/1.1"), 1, answer)
            # Transfer-Encoding with Content-Length: refused too, and the connection closes.
            both = raw_http(d.port, b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden)
            self.assertEqual(status_of(both), 400, both)
            self.assertEqual(both.count(b"HTTP/1.1"), 1, both)
            self.assertEqual(counter(d.port), 0)


class Exposure(unittest.TestCase):
    def test_listening_beyond_loopback_without_a_token_or_tls_warns(self):
        # Bound to every address for a moment; nothing connects to it but loopback.
        with Netcalld("--listen", "0.0.0.0:0") as d:
            d.wait_for_stderr("without a token")
            self.assertIn("without TLS", d.stderr())
        with Netcalld() as d:
            self.assertEqual(counter(d.port), 0)
            self.assertNotIn("without a token", d.stderr())


if __name__ == "__main__":
    unittest.main()
