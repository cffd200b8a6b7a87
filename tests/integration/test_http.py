"""HTTP/1.1 against a real netcalld (SPEC §2): JSON-RPC and XML-RPC POSTs, status codes,
/healthz, /metrics, keep-alive, the body size limit and `Expect: 100-continue`."""

import http.client
import json
import re
import socket
import time
import unittest
import xml.etree.ElementTree as ET

from harness import Netcalld, http_get, http_post

JSON = "application/json"

ADD_XML = (
    '<?xml version="1.0"?>\n'
    "<methodCall><methodName>add</methodName><params>"
    "<param><value><int>2</int></value></param>"
    "<param><value><i4>3</i4></value></param>"
    "</params></methodCall>"
)


def rpc(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        r["params"] = params
    if id is not None:
        r["id"] = id
    return r


def read_http_response(sock, timeout=5.0):
    """Reads one HTTP response (status line, headers, Content-Length body) from a raw socket.
    Returns (status, headers dict with lower-case names, body bytes, leftover bytes)."""
    return read_http_response_from(sock, b"", timeout)


def read_http_response_from(sock, data, timeout=5.0):
    """read_http_response, starting with bytes already received (`data`)."""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no HTTP response head in time: %r" % data)
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("server closed before the response head: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no HTTP response body in time")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("server closed before the response body ended")
        rest += chunk
    return status, headers, rest[:length], rest[length:]


def xml_fault(body):
    """(faultCode, faultString) of an XML-RPC fault response, else None."""
    root = ET.fromstring(body)
    fault = root.find("fault")
    if fault is None:
        return None
    members = {}
    for m in fault.iter("member"):
        name = m.findtext("name")
        v = m.find("value")
        typed = list(v)
        text = typed[0].text if typed else v.text
        members[name] = text
    return int(members["faultCode"]), members["faultString"]


def metric_value(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertTrue(self.server.alive(), "netcalld died during an earlier test")

    def post_json(self, body, path="/"):
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return http_post(self.port, path, body, JSON)

    # ---- JSON-RPC ----------------------------------------------------------------------------

    def test_jsonrpc_post_on_root_and_jsonrpc_path(self):
        for path in ["/", "/jsonrpc", "/anything/else?x=1"]:
            with self.subTest(path=path):
                status, headers, body = self.post_json(rpc("add", [2, 3], id=7), path)
                self.assertEqual(status, 200)
                ctype = {k.lower(): v for k, v in headers.items()}["content-type"]
                self.assertTrue(ctype.startswith("application/json"), ctype)
                self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "result": 5, "id": 7})

    def test_jsonrpc_errors_are_200_with_error_body(self):
        status, _, body = self.post_json(rpc("divide", [1, 0], id="d"))
        self.assertEqual(status, 200)
        answer = json.loads(body)
        self.assertEqual(answer["id"], "d")
        self.assertEqual(answer["error"]["code"], -32000)
        self.assertIn("division by zero", answer["error"]["message"])
        status, _, body = self.post_json(rpc("nope", id=2))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["error"]["code"], -32601)
        status, _, body = self.post_json(b'{"jsonrpc": "2.0", "method": "foobar, "params"')
        self.assertEqual(status, 200)
        answer = json.loads(body)
        self.assertEqual(answer["error"]["code"], -32700)
        self.assertIsNone(answer["id"])

    def test_float_written_as_float_over_http(self):
        status, _, body = self.post_json(rpc("add", [1.5, 0.5]))
        self.assertEqual(status, 200)
        self.assertRegex(body.decode(), r'"result"\s*:\s*2\.0\s*[,}]')

    def test_notification_only_is_204_empty(self):
        status, _, body = self.post_json(rpc("counter.increment", id=None))
        self.assertEqual((status, body), (204, b""))
        status, _, body = self.post_json([rpc("add", [1, 2], id=None), rpc("nope", id=None)])
        self.assertEqual((status, body), (204, b""))

    def test_batch_over_http(self):
        status, _, body = self.post_json([
            rpc("add", [1, 2], id=1),
            rpc("add", [5, 5], id=None),
            rpc("sleep", [50], id=2),
            {"foo": "boo"},
            rpc("nope", id=3),
        ])
        self.assertEqual(status, 200)
        answer = json.loads(body)
        self.assertIsInstance(answer, list)
        self.assertEqual(len(answer), 4, answer)
        by_id = {a["id"]: a for a in answer}
        self.assertEqual(by_id[1]["result"], 3)
        self.assertEqual(by_id[2]["result"], 50)
        self.assertEqual(by_id[3]["error"]["code"], -32601)
        self.assertEqual(by_id[None]["error"]["code"], -32600)
        status, _, body = self.post_json(b"[]")
        self.assertEqual(status, 200)
        answer = json.loads(body)
        self.assertIsInstance(answer, dict)
        self.assertEqual(answer["error"]["code"], -32600)

    # ---- XML-RPC -----------------------------------------------------------------------------

    def test_xmlrpc_post(self):
        status, headers, body = http_post(self.port, "/RPC2", ADD_XML, "text/xml")
        self.assertEqual(status, 200)
        ctype = {k.lower(): v for k, v in headers.items()}["content-type"]
        self.assertTrue(ctype.startswith("text/xml"), ctype)
        self.assertIn(b"<int>5</int>", body)
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "methodResponse")
        self.assertIsNone(root.find("fault"))
        # Any text/xml POST is XML-RPC, whatever the path.
        status, _, body = http_post(self.port, "/", ADD_XML, "text/xml; charset=utf-8")
        self.assertEqual(status, 200)
        self.assertIn(b"<int>5</int>", body)

    def test_xmlrpc_fault(self):
        body = ('<?xml version="1.0"?><methodCall><methodName>divide</methodName><params>'
                "<param><value><int>1</int></value></param>"
                "<param><value><int>0</int></value></param></params></methodCall>")
        status, _, body = http_post(self.port, "/RPC2", body, "text/xml")
        self.assertEqual(status, 200)
        code, message = xml_fault(body)
        self.assertEqual(code, -32000)
        self.assertIn("division by zero", message)

    def test_xmlrpc_malformed_xml_is_a_parse_fault(self):
        for bad in ["<methodCall><methodName>add</methodName><params>",
                    "<?xml version='1.0'?><methodCall><methodName>add</methodName><<<",
                    "<not xml at all"]:
            with self.subTest(bad=bad):
                status, _, body = http_post(self.port, "/RPC2", bad, "text/xml")
                self.assertEqual(status, 200)
                fault = xml_fault(body)
                self.assertIsNotNone(fault, body)
                self.assertEqual(fault[0], -32700, body)

    # ---- GET endpoints and refusals ----------------------------------------------------------

    def test_healthz(self):
        status, _, _ = http_get(self.port, "/healthz")
        self.assertEqual(status, 200)

    def test_metrics_and_calls_counter_grows(self):
        status, headers, body = http_get(self.port, "/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        names = re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? [0-9.eE+-]+$", text, re.M)
        self.assertTrue(names, text)
        # netcall's own metrics, and the process_* ones of the Prometheus client conventions.
        for name in names:
            self.assertTrue(name.startswith(("netcall_", "process_")), name)
        before = metric_value(text, "netcall_calls_total", '{protocol="jsonrpc"}')
        self.assertIsNotNone(before, text)
        for i in range(3):
            self.assertEqual(self.post_json(rpc("add", [i, 1]))[0], 200)
        after = metric_value(http_get(self.port, "/metrics")[2].decode(),
                             "netcall_calls_total", '{protocol="jsonrpc"}')
        self.assertGreaterEqual(after, before + 3)
        x_before = metric_value(text, "netcall_calls_total", '{protocol="xmlrpc"}')
        http_post(self.port, "/RPC2", ADD_XML, "text/xml")
        x_after = metric_value(http_get(self.port, "/metrics")[2].decode(),
                               "netcall_calls_total", '{protocol="xmlrpc"}')
        self.assertGreaterEqual(x_after, x_before + 1)

    def test_unknown_path_is_404(self):
        self.assertEqual(http_get(self.port, "/nope")[0], 404)

    def test_put_is_405(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("PUT", "/", body=json.dumps(rpc("add", [1, 2])),
                         headers={"Content-Type": JSON})
            res = conn.getresponse()
            res.read()
            self.assertEqual(res.status, 405)
        finally:
            conn.close()

    def test_text_plain_is_415(self):
        status, _, _ = http_post(self.port, "/", "hello", "text/plain")
        self.assertEqual(status, 415)

    def test_keep_alive_20_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            first_sock = None
            for i in range(20):
                if i % 5 == 4:
                    conn.request("GET", "/healthz")
                else:
                    conn.request("POST", "/", body=json.dumps(rpc("add", [i, i], id=i)),
                                 headers={"Content-Type": JSON})
                res = conn.getresponse()
                body = res.read()
                self.assertEqual(res.status, 200)
                if i % 5 != 4:
                    self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "result": 2 * i, "id": i})
                if first_sock is None:
                    first_sock = conn.sock
                self.assertIsNotNone(conn.sock, "server closed the keep-alive connection")
                self.assertIs(conn.sock, first_sock, "connection was re-opened")
        finally:
            conn.close()

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        body = json.dumps(rpc("add", [40, 2], id="c")).encode()
        s.sendall(b"POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\n"
                  b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        status, _, interim, rest = read_http_response(s)
        self.assertEqual(status, 100)
        self.assertEqual(interim, b"")
        self.assertEqual(rest, b"")
        s.sendall(body)
        status, headers, answer, _ = read_http_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer), {"jsonrpc": "2.0", "result": 42, "id": "c"})

    def test_http_1_0_request_is_answered_and_closed(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        status, _, _, _ = read_http_response(s)
        self.assertEqual(status, 200)
        s.settimeout(3)
        self.assertEqual(s.recv(1), b"")

    def test_http_1_0_keep_alive_is_answered_as_1_0_and_kept(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        body = json.dumps(rpc("add", [2, 3])).encode()
        request = (b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                   + body)
        rest = b""
        for _ in range(3):
            s.sendall(request)
            status, headers, answer, rest = read_http_response_from(s, rest)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("connection", "").lower(), "keep-alive", headers)
            self.assertEqual(json.loads(answer)["result"], 5)
        self.assertEqual(rest, b"")

    def test_answer_heads_are_exact(self):
        # The status line and headers netcalld writes itself (no HTTP library on that path).
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while not data.endswith(b"ok\n") and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertEqual(data, b"HTTP/1.1 200 OK\r\nServer: netcall\r\nContent-Type: text/plain\r\n"
                               b"Content-Length: 3\r\n\r\nok\n")
        body = json.dumps(rpc("add", [1, 1], id=None)).encode()
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, headers, answer, rest = read_http_response(s)
        self.assertEqual(status, 204)
        self.assertNotIn("content-length", headers)  # RFC 9110 §8.6: none on 204
        self.assertNotIn("content-type", headers)
        self.assertEqual((answer, rest), (b"", b""))

    def test_connection_close_is_honoured(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        body = json.dumps(rpc("add", [1, 2])).encode()
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        status, _, answer, rest = read_http_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer)["result"], 3)
        self.assertEqual(rest, b"")
        s.settimeout(3)
        self.assertEqual(s.recv(1), b"")

    def test_pipelined_http_requests_answered_in_order(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        blob = b""
        for i, ms in enumerate([200, 0, 50]):
            body = json.dumps(rpc("sleep", [ms], id=i)).encode()
            blob += (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        blob += b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        s.sendall(blob)
        rest = b""
        for i, ms in enumerate([200, 0, 50]):
            status, _, answer, rest = read_http_response_from(s, rest)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(answer), {"jsonrpc": "2.0", "result": ms, "id": i})
        status, _, _, rest = read_http_response_from(s, rest)
        self.assertEqual(status, 200)
        self.assertEqual(rest, b"")

    def test_chunked_request_body(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        body = json.dumps(rpc("add", [20, 22], id="chunked")).encode()
        s.sendall(b"POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n"
                  b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
        status, _, answer, _ = read_http_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer), {"jsonrpc": "2.0", "result": 42, "id": "chunked"})

    def test_endless_chunk_line_or_trailer_is_refused(self):
        # Found by review: Beast limits neither a chunk-size line (with extensions) nor the
        # trailer; the server held every byte of one that never ended.
        for start in (b"1;", b"0\r\nX-Trailer: "):
            with self.subTest(start=start):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                self.addCleanup(s.close)
                s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n" + start)
                try:
                    s.sendall(b"a" * (200 << 10))  # refused once over 64 KiB
                except (BrokenPipeError, ConnectionResetError):
                    pass
                status, _, body, rest = read_http_response(s)
                self.assertEqual(status, 400)
                self.assertIn(b"64 KiB", body)
                self.assertEqual(rest, b"")
        self.assertEqual(http_get(self.port, "/healthz")[0], 200)

    def test_head_has_no_body_and_keeps_the_connection_usable(self):
        # RFC 9110 9.3.2: a HEAD response carries no content (Content-Length may be given).
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in head:
            self.assertLess(time.monotonic(), deadline)
            chunk = s.recv(65536)
            self.assertTrue(chunk)
            head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        s.settimeout(0.3)
        try:
            extra = s.recv(65536)
        except socket.timeout:
            extra = b""
        after = head.split(b"\r\n\r\n", 1)[1] + extra
        self.assertEqual(after, b"", "HEAD response carries a body")
        # And with http.client: HEAD then GET on one connection.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("HEAD", "/healthz")
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertEqual(res.read(), b"")
            conn.request("POST", "/", body=json.dumps(rpc("add", [1, 1])),
                         headers={"Content-Type": JSON})
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertEqual(json.loads(res.read())["result"], 2)
        finally:
            conn.close()

    def test_expect_100_continue_is_case_insensitive(self):
        # RFC 9110 10.1.1: "The Expect field value is case-insensitive."
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        body = json.dumps(rpc("add", [1, 2], id=1)).encode()
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-Continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            status, _, _, rest = read_http_response(s, timeout=2)
        except TimeoutError:
            self.fail("no '100 Continue' for 'Expect: 100-Continue' within 2 s")
        self.assertEqual(status, 100)
        s.sendall(body)
        status, _, answer, _ = read_http_response_from(s, rest)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer)["result"], 3)


def send_in_pieces(sock, data, sizes):
    """Sends `data` in writes of the sizes `sizes` cycles through (TCP_NODELAY: each write its
    own segment), until all is sent or the server stops taking it (it refused and closed)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    at, i = 0, 0
    try:
        while at < len(data):
            n = sizes[i % len(sizes)]
            sock.sendall(data[at:at + n])
            at += n
            i += 1
    except (BrokenPipeError, ConnectionResetError):
        pass


def request_head(total, target_bytes=0):
    """A GET /healthz whose request line and headers take exactly `total` bytes, its target
    `target_bytes` long or more (a query)."""
    target = b"/healthz" + (b"?" + b"q" * target_bytes if target_bytes else b"")
    head = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    n = 0
    while total - len(head) - 2 > 1100:
        head += b"X-Filler-%d: %s\r\n" % (n, b"f" * 1000)
        n += 1
    pad = total - len(head) - 2 - len(b"X-Pad: \r\n")
    assert pad >= 1, total
    head += b"X-Pad: " + b"p" * pad + b"\r\n\r\n"
    assert len(head) == total
    return head


def closed_after(test, sock, rest, timeout=5.0):
    """Asserts the server sends nothing after `rest` and closes the connection."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        test.assertGreater(left, 0, "the connection stayed open")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        rest += chunk
    test.assertEqual(rest, b"")


class HttpHeadLimit(unittest.TestCase):
    """The request line and headers together may take 64 KiB (RFC 6585 431 beyond), however
    the bytes arrive: Beast counted only what one read gave it, so 75-87 KiB got through."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def exchange(self, head, sizes):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(s.close)
        send_in_pieces(s, head, sizes)
        status, _, body, rest = read_http_response(s, timeout=20)
        return s, status, body, rest

    def test_a_head_over_64_kib_is_431_and_closes_however_it_arrives(self):
        for name, head, sizes in (
                ("one write", request_head(80 << 10), [1 << 20]),
                ("a 20 KiB request line", request_head(80 << 10, 20 << 10), [1 << 20]),
                ("reads of 1 byte", request_head(70 << 10), [1]),
                ("odd reads", request_head(75 << 10), [1, 7, 13, 997, 4099, 65537]),
                ("just over", request_head((64 << 10) + 1), [1000])):
            with self.subTest(name):
                self.assertGreater(len(head), 64 << 10)
                s, status, body, rest = self.exchange(head, sizes)
                self.assertEqual(status, 431, body)
                self.assertIn(b"64 KiB", body)
                closed_after(self, s, rest)
        self.assertTrue(self.server.alive())

    def test_a_head_of_64_kib_is_served_however_it_arrives(self):
        for head in (request_head(64 << 10), request_head(64 << 10, 20 << 10)):
            for sizes in ([1 << 20], [1], [3, 1021, 4093]):
                with self.subTest(target=len(head.split(b" ")[1]), sizes=sizes):
                    _, status, body, _ = self.exchange(head, sizes)
                    self.assertEqual((status, body), (200, b"ok\n"))


def raw_exchange(port, request, timeout=5.0):
    """Sends `request` bytes on a new connection; (status, headers, body) of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request)
        status, headers, body, _ = read_http_response(s, timeout)
        return status, headers, body
    finally:
        s.close()


class HttpAbsoluteForm(unittest.TestCase):
    """RFC 9112 §3.2.2: a server MUST accept a target in absolute form, and then takes the host
    from it instead of from Host (checked the same way: docs/security.md)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.port = cls.server.port
        cls.named = Netcalld("--allow-host", "rpc.internal").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.named.stop()

    def get(self, target, host=b"127.0.0.1", port=None):
        return raw_exchange(port or self.port, b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                            % (target, host))

    def test_absolute_targets_are_served_by_their_path(self):
        me = b"127.0.0.1:%d" % self.port
        for target in (b"http://" + me + b"/healthz", b"http://localhost/healthz",
                       b"HTTP://" + me + b"/healthz?x=1", b"https://127.0.0.1/healthz#f"):
            with self.subTest(target=target):
                self.assertEqual(self.get(target)[::2], (200, b"ok\n"))
        status, _, body = self.get(b"http://" + me + b"/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"netcall_", body)
        self.assertEqual(self.get(b"http://" + me)[0], 404)  # the path is "/"
        self.assertEqual(self.get(b"http://" + me + b"/nope")[0], 404)

    def test_absolute_post_picks_the_codec_by_its_path(self):
        me = b"127.0.0.1:%d" % self.port
        xml = ADD_XML.encode()
        # An XML body without a content type is XML-RPC at /RPC2 only: the path must be read.
        status, _, body = raw_exchange(self.port, b"POST http://%s/RPC2 HTTP/1.1\r\nHost: %s\r\n"
                                       b"Content-Length: %d\r\n\r\n%s" % (me, me, len(xml), xml))
        self.assertEqual(status, 200, body)
        self.assertIn(b"<int>5</int>", body)
        call = json.dumps(rpc("add", [2, 2], id=4)).encode()
        status, _, body = raw_exchange(self.port, b"POST http://%s/jsonrpc HTTP/1.1\r\nHost: %s\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: %d"
                                       b"\r\n\r\n%s" % (me, me, len(call), call))
        self.assertEqual((status, json.loads(body)["result"]), (200, 4))

    def test_the_authority_of_an_absolute_target_is_checked_as_host_is(self):
        # A name the server does not know is refused, whatever Host says (DNS rebinding).
        status, _, body = self.get(b"http://evil.example/healthz")
        self.assertEqual(status, 403, body)
        self.assertIn(b"host not allowed", body)
        status, _, _ = self.get(b"http://rpc.internal:8000/healthz")
        self.assertEqual(status, 403)
        # --allow-host names it: served, and its Host header is not what is checked.
        status, _, body = self.get(b"http://rpc.internal:8000/healthz", host=b"evil.example",
                                   port=self.named.port)
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_malformed_absolute_targets_are_400(self):
        for target in (b"http:///healthz", b"http://user:pw@127.0.0.1/healthz",
                       b"ftp://127.0.0.1/healthz"):
            with self.subTest(target=target):
                status, _, body = self.get(target)
                self.assertEqual(status, 400, body)
                self.assertIn(b"absolute form", body)
        # An HTTP/1.1 request still needs its one Host header (RFC 9112 §3.2).
        status, _, _ = raw_exchange(self.port, b"GET http://127.0.0.1/healthz HTTP/1.1\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertTrue(self.server.alive())


class HttpLeadingEmptyLines(unittest.TestCase):
    """RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request line.
    netcalld skips up to 4096 bytes of them (before each request); beyond, 400 saying why,
    then the connection is closed. JSON texts keep their leading whitespace (SPEC §2)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def test_empty_lines_before_a_request_are_ignored(self):
        for name, before, sizes in (("one CRLF", b"\r\n", [1 << 20]),
                                    ("LFs", b"\n\n\n", [1 << 20]),
                                    ("4 KiB of them", b"\r\n" * 2048, [1 << 20]),
                                    ("a byte at a time", b"\r\n" * 100, [1])):
            with self.subTest(name):
                s = self.connect()
                send_in_pieces(s, before + self.GET, sizes)
                status, _, body, _ = read_http_response(s)
                self.assertEqual((status, body), (200, b"ok\n"))
        # Between pipelined requests too (older clients send a CRLF after a POST body).
        s = self.connect()
        call = json.dumps(rpc("add", [1, 2], id=1)).encode()
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s\r\n" % (len(call), call) + self.GET)
        status, _, body, rest = read_http_response(s)
        self.assertEqual((status, json.loads(body)["result"]), (200, 3))
        status, _, body, _ = read_http_response_from(s, rest)
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_more_empty_lines_than_the_bound_are_400_saying_why_then_closed(self):
        for name, data in (("before the first request", b"\r\n" * 2049 + self.GET),
                           ("and nothing else", b"\n" * 6000),
                           ("before the second request", self.GET + b"\r\n" * 2049),
                           ("whitespace", b" " * 5000)):
            with self.subTest(name):
                s = self.connect()
                send_in_pieces(s, data, [1000])
                if name == "before the second request":
                    status, _, body, rest = read_http_response(s)
                    self.assertEqual(status, 200)
                    status, _, body, rest = read_http_response_from(s, rest)
                else:
                    status, _, body, rest = read_http_response(s)
                self.assertEqual(status, 400, body)
                self.assertIn(b"empty lines" if name != "whitespace" else b"whitespace", body)
                closed_after(self, s, rest)
        self.assertTrue(self.server.alive())

    def test_json_texts_may_still_begin_with_whitespace(self):
        from harness import LineClient
        for before in (b"\n\n", b" \t\r\n", b" " * 4000, b"\r\n" * 2000):
            with self.subTest(before=before[:8]), LineClient(self.port) as c:
                c.send(before + json.dumps(rpc("add", [2, 3], id=9)).encode())
                self.assertEqual(c.read_json(), {"jsonrpc": "2.0", "result": 5, "id": 9})
            with self.subTest(positional=before[:8]), LineClient(self.port) as c:
                c.send(before + b'["add", 2, 3]')
                self.assertEqual(c.read_json(), 5)


class HttpBodyLimit(unittest.TestCase):
    def test_body_over_limit_is_413_and_server_keeps_serving(self):
        with Netcalld("--max-message-bytes", "4096") as d:
            body = json.dumps(rpc("echo", ["x" * 5000])).encode()
            status, _, _ = http_post(d.port, "/", body, JSON)
            self.assertEqual(status, 413)
            # Just under the limit is fine.
            small = json.dumps(rpc("echo", ["y" * 3000])).encode()
            status, _, answer = http_post(d.port, "/", small, JSON)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(answer)["result"], "y" * 3000)
            status, _, answer = http_post(d.port, "/RPC2", ADD_XML, "text/xml")
            self.assertEqual(status, 200)
            self.assertIn(b"<int>5</int>", answer)
            self.assertTrue(d.alive())


if __name__ == "__main__":
    unittest.main()
