"""The netcall command-line client (SPEC §3) against hostile servers: small socket servers
started here (a thread on 127.0.0.1:0) that answer with crafted bytes, and PARAMs the client
must refuse before sending anything."""

import json
import os
import re
import select
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import msgpack

from harness import NETCALL, Netcalld

# What a hostile server puts in its text: set the terminal's title, clear the screen, go back
# to the start of the line and forge a prompt, a C1 CSI (U+009B) and DEL.
NASTY = "x\x1b]0;pwned\x07\x1b[2J\r$ sudo rm -rf /\n\u009b31m\x7f!"
# Its escaped form (netcall/text.hpp), as the user must see it.
NASTY_SHOWN = "x\\u001b]0;pwned\\u0007\\u001b[2J\\r$ sudo rm -rf /\\n\\u009b31m\\u007f!"


def run_netcall(args, timeout=30):
    """Runs netcall with `args` (str or bytes); (exit code, stdout bytes, stderr bytes)."""
    p = subprocess.run([NETCALL, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def assert_inert(test, text):
    """`text` (bytes a terminal would show) holds no control character: no C0 but the final
    newline, no DEL, no C1 (raw or UTF-8 encoded), and is valid UTF-8."""
    decoded = text.decode("utf-8")  # raises on bytes that are not UTF-8
    for line in decoded.split("\n")[:-1] if decoded.endswith("\n") else decoded.split("\n"):
        for ch in line:
            test.assertFalse(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F,
                             "control character %r in %r" % (ch, decoded))


class HostileServer:
    """A server that answers each request with crafted bytes: `respond(request, index)` gets
    the request (a dict for JSON-RPC over TCP, the raw request bytes for HTTP, the decoded list
    for MessagePack-RPC) and its number on the server (0, 1, ...) and returns the bytes to send,
    or None to close the connection (`close_after_answer`: close it after each answer).
    `framing` says how requests are cut: "line", "http" or "msgpack". Every request received is
    kept in `requests`; `connections` counts the connections accepted, those still waiting in
    the backlog when stopped included."""

    def __init__(self, respond, framing="line", close_after_answer=False):
        self.respond = respond
        self.framing = framing
        self.close_after_answer = close_after_answer
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.threads = []

    def __enter__(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in list(self.threads):
            t.join(timeout=5)
        # A connection the client made before it exited is in the backlog if not accepted yet.
        self.listener.setblocking(False)
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                break
            self.connections += 1
            c.close()
        self.listener.close()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c):
        deadline = time.monotonic() + 20  # bounded, whatever the client does
        buf = b""
        unpacker = msgpack.Unpacker(raw=False) if self.framing == "msgpack" else None
        try:
            while time.monotonic() < deadline and not self.stopping.is_set():
                request = self._take_request(buf, unpacker)
                if request is None:
                    ready, _, _ = select.select([c], [], [], 0.05)
                    if not ready:
                        continue
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    if unpacker is not None:
                        unpacker.feed(chunk)
                    else:
                        buf += chunk
                    continue
                request, buf = request
                with self.lock:
                    index = len(self.requests)
                    self.requests.append(request)
                answer = self.respond(request, index)
                if answer is None:
                    return
                c.sendall(answer)
                if self.close_after_answer:
                    return
        except OSError:
            pass
        finally:
            c.close()

    def _take_request(self, buf, unpacker):
        """(request, rest of buf), or None when no whole request is there yet."""
        if self.framing == "line":
            if b"\n" not in buf:
                return None
            line, rest = buf.split(b"\n", 1)
            try:
                return json.loads(line), rest
            except ValueError:
                return line, rest  # what the client sent as is, for the test to see
        if self.framing == "http":
            if b"\r\n\r\n" not in buf:
                return None
            head, body = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            if len(body) < length:
                return None
            return head + b"\r\n\r\n" + body[:length], body[length:]
        try:
            return next(unpacker), b""
        except StopIteration:
            return None


def jsonrpc_error(request, code, message):
    """A JSON-RPC over TCP answer line with an error (the request's id)."""
    return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message},
                       "id": request["id"]}).encode() + b"\n"


def http_answer(body, status="200 OK", content_type="application/json", extra=b""):
    if isinstance(body, str):
        body = body.encode()
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
            % (status.encode(), content_type.encode(), len(body), extra)) + body


def http_json_body(raw_request):
    return json.loads(raw_request.split(b"\r\n\r\n", 1)[1])


def msgpack_str(raw):
    """A MessagePack str holding `raw` bytes as they are (well-formed UTF-8 or not)."""
    assert len(raw) < 256
    return b"\xd9" + bytes([len(raw)]) + raw


def msgpack_error_answer(msgid, code, raw_message):
    """[1, msgid, {"code": code, "message": raw_message}, nil], the message's bytes as given."""
    return (b"\x94\x01" + msgpack.packb(msgid) + b"\x82" + msgpack.packb("code") +
            msgpack.packb(code) + msgpack.packb("message") + msgpack_str(raw_message) + b"\xc0")


def xmlrpc_fault(code, text):
    """An XML-RPC fault answer; `text` goes in as XML character references, so C1 controls,
    DEL and CR survive (XML 1.0 cannot carry most C0 controls, pugixml reads them anyway)."""
    refs = "".join(ch if ch.isalnum() or ch in " $/-!" else "&#x%x;" % ord(ch) for ch in text)
    return ('<?xml version="1.0"?><methodResponse><fault><value><struct>'
            "<member><name>faultCode</name><value><int>%d</int></value></member>"
            "<member><name>faultString</name><value><string>%s</string></value></member>"
            "</struct></value></fault></methodResponse>" % (code, refs))


class EscapedServerText(unittest.TestCase):
    """SPEC §3: text from the server is printed with control characters escaped."""

    def test_error_messages_of_every_protocol_are_escaped(self):
        cases = {
            "jsonrpc": ("line", lambda req, i: jsonrpc_error(req, -32000, NASTY)),
            "jsonrpc-http": ("http", lambda req, i: http_answer(json.dumps(
                {"jsonrpc": "2.0", "error": {"code": -32000, "message": NASTY},
                 "id": http_json_body(req)["id"]}))),
            "xmlrpc": ("http", lambda req, i: http_answer(xmlrpc_fault(-32000, NASTY),
                                                          content_type="text/xml")),
            "msgpack": ("msgpack", lambda req, i: msgpack_error_answer(
                req[1], -32000, NASTY.encode())),
        }
        for protocol, (framing, respond) in cases.items():
            with self.subTest(protocol=protocol), HostileServer(respond, framing) as s:
                code, out, err = run_netcall(["call", "--protocol", protocol, s.address,
                                                 "add", "1", "2"])
                self.assertEqual(out, b"")
                assert_inert(self, err)
                self.assertEqual(err.count(b"\n"), 1, err)
                if protocol == "xmlrpc":
                    # XML 1.0 cannot carry ESC or BEL, even as character references: the
                    # answer is not XML-RPC, and is refused as such (its text never shown).
                    self.assertNotEqual(code, 0, err)
                    self.assertIn(b"unreadable answer", err)
                    self.assertIn(b"which is not an XML 1.0 character", err)
                    continue
                self.assertEqual(code, 1, err)
                self.assertEqual(err.decode(), "netcall: error -32000: %s\n" % NASTY_SHOWN)

    def test_a_msgpack_str_that_is_not_utf8_is_refused_unshown(self):
        # MessagePack's str is UTF-8 (its spec): a lone C1 byte (0x9b is CSI on 8-bit
        # terminals) and bytes that begin no UTF-8 sequence make the answer unreadable, refused
        # as the server refuses such a request; none of its bytes reach the terminal.
        raw = b"bad \x9b\xff\xc3( end"
        with HostileServer(lambda req, i: msgpack_error_answer(req[1], -32000, raw),
                           "msgpack") as s:
            code, _, err = run_netcall(["call", "--protocol", "msgpack", s.address, "add"])
        self.assertNotEqual(code, 0, err)
        assert_inert(self, err)
        self.assertEqual(err.count(b"\n"), 1, err)
        self.assertIn(b"unreadable answer", err)
        self.assertIn(b"is not valid UTF-8", err)
        self.assertNotIn(b"bad", err)

    def test_http_bodies_quoted_in_errors_are_escaped(self):
        body = NASTY.encode() + b" \x9b\xff"
        for status, code in (("500 Internal Server Error", 1), ("401 Unauthorized", 1)):
            with self.subTest(status=status), HostileServer(
                    lambda req, i: http_answer(body, status=status, content_type="text/plain"),
                    "http") as s:
                rc, out, err = run_netcall(["call", "--protocol", "xmlrpc", s.address, "add"])
                self.assertEqual(rc, code, err)
                assert_inert(self, err)
                self.assertEqual(err.count(b"\n"), 1, err)
                self.assertIn(("HTTP %s from %s: %s \\x9b\\xff" % (status.split()[0], s.address,
                                                                   NASTY_SHOWN)).encode(), err)

    def test_retried_attempts_shown_with_verbose_are_escaped(self):
        # -32002 (the server is shutting down) is retried; -v prints the server's message.
        with HostileServer(lambda req, i: jsonrpc_error(req, -32002, NASTY)) as s:
            code, _, err = run_netcall(["call", "-v", "--retries", "2", s.address, "add"])
        self.assertEqual(code, 3, err)
        assert_inert(self, err)
        lines = err.decode().splitlines()
        self.assertEqual(len(lines), 3, err)
        self.assertTrue(lines[0].startswith("netcall: attempt 1 failed: " + NASTY_SHOWN), lines)
        self.assertEqual(len(s.requests), 3)

    def test_list_escapes_method_names_signatures_and_help(self):
        # A server without rpc.discover (-32601): list falls back to XML-RPC introspection.
        evil = "evil\x1b]0;x\x07\t\u009b"
        answers = {
            "system.listMethods": ["ok", evil],
            "system.methodSignature": [["int\x1b[2J", "int"]],
            "system.methodHelp": "Help\x1b[31m red\r$ forged\nsecond line",
        }

        def respond(req, i):
            if req["method"] not in answers:
                return jsonrpc_error(req, -32601, "method not found: " + req["method"])
            return json.dumps({"jsonrpc": "2.0", "result": answers[req["method"]],
                               "id": req["id"]}).encode() + b"\n"

        with HostileServer(respond) as s:
            code, out, err = run_netcall(["list", s.address])
        self.assertEqual((code, err), (0, b""))
        self.assertEqual(s.requests[0]["method"], "rpc.discover")
        assert_inert(self, out.replace(b"\t", b" "))
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 2, out)
        for line in lines:
            self.assertEqual(line.count("\t"), 1, line)
        self.assertEqual(lines[1], "evil\\u001b]0;x\\u0007\\t\\u009b(int) -> int\\u001b[2J\t"
                                   "Help\\u001b[31m red\\r$ forged")

    def test_list_escapes_the_openrpc_document_text(self):
        evil = "evil\x1b]0;x\x07\t\u009b"
        doc = {"openrpc": "1.2.6", "info": {"title": NASTY, "version": "1"}, "methods": [
            {"name": evil, "description": "Help\x1b[31m red\r$ forged\nsecond line",
             "params": [{"name": "a\nb", "schema": {"type": "integer\x1b[2J"},
                         "required": True}],
             "result": {"name": "r", "schema": {"$ref": "#/x/\u009bT"}}},
            {"name": "plain", "summary": "Sum\x07mary", "params": [], "result": {
                "name": "r", "schema": {}}}]}

        def respond(req, i):
            return json.dumps({"jsonrpc": "2.0", "result": doc, "id": req["id"]}).encode() + b"\n"

        with HostileServer(respond) as s:
            code, out, err = run_netcall(["list", s.address])
            self.assertEqual((code, err), (0, b""))
            self.assertEqual([r["method"] for r in s.requests], ["rpc.discover"])
            assert_inert(self, out.replace(b"\t", b" "))
            self.assertEqual(out.decode().splitlines(), [
                "evil\\u001b]0;x\\u0007\\t\\u009b(a\\nb: integer\\u001b[2J) -> \\u009bT\t"
                "Help\\u001b[31m red\\r$ forged",
                "plain() -> any\tSum\\u0007mary"])
            # --openrpc: one JSON document meaning the same, with nothing a terminal acts on.
            code, out, err = run_netcall(["list", "--openrpc", s.address])
            self.assertEqual((code, err), (0, b""))
            assert_inert(self, out)
            self.assertEqual(json.loads(out), doc)

    def test_results_on_stdout_are_compact_json_with_controls_escaped(self):
        # A real server echoes what it is given: C0 controls come back escaped by JSON itself,
        # DEL and C1 controls are escaped by netcall.
        text = "a\x1b[2J\u009b\x7f\u00e9\t\n"
        with Netcalld() as d:
            for protocol in ("jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"):
                with self.subTest(protocol=protocol):
                    code, out, err = run_netcall(["call", "--protocol", protocol, d.address,
                                                     "echo", json.dumps(text)])
                    self.assertEqual((code, err), (0, b""))
                    assert_inert(self, out)
                    self.assertEqual(out.count(b"\n"), 1)
                    # XML 1.0 cannot carry ESC: the client writes it as U+FFFD (docs/protocols.md).
                    expected = text.replace("\x1b", "\ufffd") if protocol == "xmlrpc" else text
                    self.assertEqual(json.loads(out), expected)
                    self.assertIn(b"\\u009b\\u007f", out)
        # Bytes that are not UTF-8 in a MessagePack str result: the answer is refused, unshown.
        with HostileServer(lambda req, i: b"\x94\x01" + msgpack.packb(req[1]) + b"\xc0" +
                           msgpack_str(b"ok \xff\x9b"), "msgpack") as s:
            code, out, err = run_netcall(["call", "--protocol", "msgpack", s.address, "x"])
        self.assertNotEqual(code, 0, err)
        self.assertEqual(out, b"")
        assert_inert(self, err)
        self.assertIn(b"is not valid UTF-8", err)



class InterimAnswers(unittest.TestCase):
    """RFC 9110 §15.2: a client skips interim (1xx) answers and reads the final one."""

    @staticmethod
    def final_answer(request, protocol):
        if protocol == "xmlrpc":
            return http_answer('<?xml version="1.0"?><methodResponse><params><param><value>'
                               "<int>3</int></value></param></params></methodResponse>",
                               content_type="text/xml")
        return http_answer(json.dumps({"jsonrpc": "2.0", "result": 3,
                                       "id": http_json_body(request)["id"]}))

    def test_100_continue_and_103_early_hints_before_the_answer_are_skipped(self):
        interim = (b"HTTP/1.1 100 Continue\r\n\r\n"
                   b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        for protocol in ("jsonrpc-http", "xmlrpc"):
            with self.subTest(protocol=protocol), HostileServer(
                    lambda req, i: interim + self.final_answer(req, protocol), "http") as s:
                code, out, err = run_netcall(["call", "--protocol", protocol, s.address,
                                                 "add", "1", "2"])
                self.assertEqual((code, out, err), (0, b"3\n", b""))

    def test_101_switching_protocols_is_an_error(self):
        with HostileServer(lambda req, i: b"HTTP/1.1 101 Switching Protocols\r\n"
                           b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                           "http") as s:
            code, out, err = run_netcall(["call", "--protocol", "jsonrpc-http", "--retries",
                                             "2", s.address, "add", "1", "2"])
        self.assertEqual(code, 1, err)
        self.assertIn(b"HTTP 101 Switching Protocols", err)
        self.assertEqual(len(s.requests), 1, "an answer that cannot be read is not retried")

    def test_endless_interim_answers_are_cut_off_before_the_timeout(self):
        # 100 KB of "100 Continue" and nothing else: refused once over 64 KiB, well before
        # the 30 s timeout would end the call (exit 3).
        endless = b"HTTP/1.1 100 Continue\r\n\r\n" * 4000
        with HostileServer(lambda req, i: endless, "http") as s:
            code, out, err = run_netcall(["call", "--protocol", "jsonrpc-http", "--timeout",
                                             "30s", s.address, "add", "1", "2"])
        self.assertEqual(code, 1, err)
        self.assertIn(b"interim (1xx) answers", err)


class LocalRefusals(unittest.TestCase):
    """What netcall cannot send as the user meant it is refused before anything is sent: one
    line on stderr, exit 2, no connection (docs/cli.md)."""

    def assert_refused(self, args, words):
        with HostileServer(lambda req, i: None) as s:
            for command in ("call", "bench"):
                extra = ["--calls", "1", "--warmup", "0ms"] if command == "bench" else []
                code, out, err = run_netcall([command, "--retries", "3", *extra, s.address,
                                                 *args])
                self.assertEqual(code, 2, (command, args, err))
                self.assertEqual(out, b"")
                self.assertEqual(err.count(b"\n"), 1, err)
                assert_inert(self, err)
                self.assertIn(words, err, args)
        self.assertEqual((s.connections, s.requests), (0, []), "%r was sent" % (args,))

    def test_params_and_methods_that_are_not_utf8_are_refused(self):
        for args in ([b"echo", b"\xff"], [b"echo", b'"caf\xe9"'], [b"echo", b"[\"\xc3(\"]"],
                     [b"add", b"1", b"\xed\xa0\x80"],  # an encoded surrogate
                     [b"subtract", b"minuend=\xff", b"subtrahend=1"],
                     [b"subtract", b"min\xffuend=1"],
                     [b"ad\xffd", b"1"]):
            with self.subTest(args=args):
                self.assert_refused(args, b"is not valid UTF-8")

    def test_json_no_server_can_take_is_refused(self):
        deep = b"[" * 129 + b"]" * 129
        for args, words in (([b"echo", deep], b"nests deeper than 128"),
                            ([b"echo", b'{"a":' * 129 + b"1" + b"}" * 129], b"deeper than 128"),
                            ([b"echo", b"k=" + deep], b"deeper than 128"),
                            ([b"echo", b"1e999"], b"beyond the range of a double"),
                            ([b"add", b"-1e999", b"1"], b"beyond the range of a double"),
                            ([b"echo", b"[1, 2e400]"], b"beyond the range of a double"),
                            ([b"subtract", b"minuend=1e999", b"subtrahend=1"],
                             b"'minuend=1e999' holds a number beyond"),
                            ([b"echo", b"18446744073709551615"], b"beyond the 64-bit signed"),
                            ([b"add", b"-9223372036854775809", b"1"], b"beyond the 64-bit"),
                            ([b"echo", b"[1, 99999999999999999999]"], b"beyond the 64-bit")):
            with self.subTest(args=args[1][:20]):
                self.assert_refused(args, words)

    def test_named_params_over_xmlrpc_are_refused(self):
        # XML-RPC params are positional only: a struct would arrive as one param.
        self.assert_refused([b"--protocol", b"xmlrpc", b"subtract", b"minuend=5",
                             b"subtrahend=3"], b"cannot go over XML-RPC")

    def test_words_that_are_not_json_stay_strings(self):
        # SPEC §3: a word that is not JSON is a string, even when it begins like JSON that
        # would be refused.
        with Netcalld() as d:
            # The last: deep JSON that netcalld takes (its 128 levels count the request's own
            # object and params array).
            for word in ("1e999x", "[" * 129 + "x", "[1e999", "hello", "[" * 126 + "]" * 126):
                with self.subTest(word=word[:20]):
                    code, out, err = run_netcall(["call", d.address, "echo", word])
                    self.assertEqual(code, 0, err)
                    expected = json.loads(word) if word.endswith("]") else word
                    self.assertEqual(json.loads(out), expected)

    def test_an_error_with_id_null_is_the_servers_answer_and_never_retried(self):
        # JSON-RPC 2.0 §5: a request whose id the server could not read is answered with id
        # null; netcall took that for nothing and reported the close that follows as a lost
        # connection (exit 3), and --retries sent the request again.
        for code, message, close in ((-32700, "Parse error", True),
                                     (-32600, "Invalid Request", False)):
            answer = json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message},
                                 "id": None}).encode() + b"\n"
            with self.subTest(code=code), HostileServer(lambda req, i: answer,
                                                        close_after_answer=close) as s:
                rc, out, err = run_netcall(["call", "--retries", "3", "--timeout", "10s",
                                               s.address, "add", "1", "2"])
                self.assertEqual(rc, 1, err)
                self.assertEqual(err.decode(), "netcall: error %d: %s\n" % (code, message))
                self.assertEqual(len(s.requests), 1, "retried: %r" % (s.requests,))

    def test_a_param_deeper_than_the_servers_limit_is_its_error_not_a_lost_connection(self):
        # netcalld answers nesting deeper than --max-depth with -32700, id null, and closes.
        with Netcalld("--max-depth", "8") as d:
            code, out, err = run_netcall(["call", "--retries", "2", d.address, "echo",
                                             "[" * 10 + "]" * 10])
        self.assertEqual(code, 1, err)
        self.assertIn(b"error -32700", err)
        self.assertIn(b"nesting deeper than 8", err)


class HostileNodes(unittest.TestCase):
    """Routed calls (SPEC §5) through nodes that read a request and drop the connection."""

    def test_a_request_sent_on_a_new_connection_is_never_moved_to_another_replica(self):
        # The first request on a new connection was never marked as sent, so losing the
        # connection after it counted as "certainly did not run" and the call moved to the
        # other replica at once, though it may have run: without --idempotent it must stay on
        # its node (SPEC §5), retried there with the same idempotency key.
        with HostileServer(lambda req, i: None) as alpha, \
                HostileServer(lambda req, i: None) as beta, \
                tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cluster.yaml")
            with open(path, "w") as f:
                f.write("nodes:\n  alpha: %s\n  beta: %s\nprocedures:\n"
                        "  counter.increment: [alpha, beta]\n" % (alpha.address, beta.address))
            for retries in (0, 2):
                with self.subTest(retries=retries):
                    seen = len(alpha.requests), len(beta.requests)
                    code, _, err = run_netcall(["call", "--cluster", path, "--retries",
                                                str(retries), "any", "counter.increment"])
                    self.assertEqual(code, 3, err)
                    # Every attempt went to one node, with one idempotency key.
                    attempts = alpha.requests[seen[0]:] + beta.requests[seen[1]:]
                    self.assertEqual(len(attempts), retries + 1, err)
                    self.assertEqual(len({r["id"] for r in attempts}), 1, attempts)
                    on_both = ({r["id"] for r in alpha.requests} &
                               {r["id"] for r in beta.requests})
                    self.assertEqual(on_both, set(), "one call reached both replicas")


if __name__ == "__main__":
    unittest.main()
