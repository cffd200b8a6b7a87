"""TLS and tokens (SPEC §6) with clients nobody here wrote: Python's `ssl` under
`xmlrpc.client` over HTTPS, `http.client` JSON-RPC over HTTPS, raw `ssl`-wrapped sockets speaking
JSON-RPC and MessagePack-RPC (`python3-msgpack`), plain and TLS clients on one port at once, a
certificate from another CA refused by the client, client certificates (`--tls-client-ca`), and
SIGHUP swapping the certificate while a connection stays open.

Certificates are made with the `openssl` tool (harness.make_pki) in a temporary directory. Every
netcalld is a real process on 127.0.0.1:0 stopped by its PID; waits poll an observable state (an
answer, a log line) with a bounded deadline."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import tempfile
import unittest
import xmlrpc.client

import msgpack

from harness import Netcalld, counter, make_pki, run, wait_until

TOKEN = "tls-test-token-0123456789"


def client_context(cafile, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def tls_socket(port, ctx, server_hostname="127.0.0.1", timeout=5.0):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=server_hostname)


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before a whole line: %r" % buf)
        buf += chunk
    return json.loads(buf)


def jsonrpc_over(sock, method, params, id=1):
    sock.sendall(json.dumps({"jsonrpc": "2.0", "id": id, "method": method,
                             "params": params}).encode())
    return read_line(sock)


def msgpack_over(sock, method, params, msgid=1):
    sock.sendall(msgpack.packb([0, msgid, method, params]))
    unpacker = msgpack.Unpacker(raw=False)
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before an answer")
        unpacker.feed(chunk)
        for message in unpacker:
            return message


class TlsWithPythonClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="netcall-tls-")
        cls.pki = make_pki(cls.dir)
        cls.ctx = client_context(cls.pki["ca.pem"])
        cls.server = Netcalld("--tls-cert", cls.pki["server.pem"], "--tls-key",
                              cls.pki["server.key"], "--token", TOKEN).start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_xmlrpc_client_over_https_with_the_token_in_the_url(self):
        with xmlrpc.client.ServerProxy("https://any:%s@127.0.0.1:%d/RPC2" % (TOKEN, self.port),
                                       context=self.ctx) as proxy:
            self.assertEqual(proxy.add(2, 3), 5)
            multi = xmlrpc.client.MultiCall(proxy)
            multi.add(1, 1)
            multi.echo("tls")
            self.assertEqual(list(multi()), [2, "tls"])

    def test_xmlrpc_client_over_https_without_the_token_gets_401_and_runs_nothing(self):
        before = self.counter_over_tls()
        with xmlrpc.client.ServerProxy("https://127.0.0.1:%d/RPC2" % self.port,
                                       context=self.ctx) as proxy:
            with self.assertRaises(xmlrpc.client.ProtocolError) as caught:
                proxy.counter.increment()
        self.assertEqual(caught.exception.errcode, 401)
        # xmlrpc.client keeps one header of a name (the last): both challenges are checked by
        # integration/test_security.py.
        self.assertIn('realm="netcall"', caught.exception.headers.get("WWW-Authenticate", ""))
        self.assertEqual(self.counter_over_tls(), before)

    def test_http_client_jsonrpc_over_https_with_bearer(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=5)
        try:
            conn.request("POST", "/", body=json.dumps(
                {"jsonrpc": "2.0", "id": 7, "method": "subtract", "params": [10, 4]}),
                headers={"Content-Type": "application/json",
                         "Authorization": "Bearer " + TOKEN})
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertEqual(json.loads(res.read()), {"jsonrpc": "2.0", "result": 6, "id": 7})
        finally:
            conn.close()

    def test_alpn_http_1_1_is_chosen_when_offered(self):
        ctx = client_context(self.pki["ca.pem"])
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with tls_socket(self.port, ctx) as s:
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
            self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))

    def test_raw_tls_socket_speaks_jsonrpc_after_system_authenticate(self):
        with tls_socket(self.port, self.ctx) as s:
            refused = jsonrpc_over(s, "add", [1, 2], id=1)
            self.assertEqual(refused["error"]["code"], -32003)
            self.assertEqual(jsonrpc_over(s, "system.authenticate", [TOKEN], id=2)["result"], True)
            self.assertEqual(jsonrpc_over(s, "add", [1, 2], id=3)["result"], 3)

    def test_raw_tls_socket_speaks_msgpack_rpc_after_system_authenticate(self):
        with tls_socket(self.port, self.ctx) as s:
            self.assertEqual(msgpack_over(s, "system.authenticate", [TOKEN], 1), [1, 1, None, True])
            self.assertEqual(msgpack_over(s, "multiply", [6, 7], 2), [1, 2, None, 42])

    def test_a_wrong_token_over_tls_closes_the_connection_and_runs_nothing(self):
        before = self.counter_over_tls()
        with tls_socket(self.port, self.ctx) as s:
            answer = jsonrpc_over(s, "system.authenticate", ["wrong"], id=1)
            self.assertEqual(answer["error"]["code"], -32003)
            s.sendall(b'{"jsonrpc":"2.0","id":2,"method":"counter.increment"}')
            try:
                rest = s.recv(4096)
            except (ConnectionError, ssl.SSLError):
                rest = b""
            self.assertEqual(rest, b"")
        self.assertEqual(self.counter_over_tls(), before)

    def test_plain_and_tls_clients_share_the_port_at_once(self):
        plain = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        secure = tls_socket(self.port, self.ctx)
        try:
            for s in (plain, secure):
                self.assertEqual(jsonrpc_over(s, "system.authenticate", [TOKEN])["result"], True)
            for i in range(3):
                self.assertEqual(jsonrpc_over(plain, "add", [i, 1], id=i)["result"], i + 1)
                self.assertEqual(jsonrpc_over(secure, "add", [i, 2], id=i)["result"], i + 2)
        finally:
            plain.close()
            secure.close()

    def test_netcall_cli_with_tls_and_ca_on_every_protocol(self):
        for protocol in ("jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"):
            with self.subTest(protocol=protocol):
                r = run(["call", "--protocol", protocol, "--tls", "--ca", self.pki["ca.pem"],
                         "--token", TOKEN, self.server.address, "add", "20", "22"])
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "42\n", ""))

    def test_a_certificate_from_another_ca_is_refused_by_the_clients(self):
        with Netcalld("--tls-cert", self.pki["other_server.pem"], "--tls-key",
                      self.pki["other_server.key"]) as other:
            with self.assertRaises(ssl.SSLCertVerificationError):
                tls_socket(other.port, self.ctx)
            r = run(["call", "--ca", self.pki["ca.pem"], other.address, "add", "1", "1"])
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("certificate verify failed", r.stderr)
            self.assertEqual(counter(other.port), 0)

    def counter_over_tls(self):
        with tls_socket(self.port, self.ctx) as s:
            jsonrpc_over(s, "system.authenticate", [TOKEN])
            return jsonrpc_over(s, "counter.get", [])["result"]


class ClientCertificates(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="netcall-mtls-")
        self.pki = make_pki(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_tls_client_ca_refuses_a_client_without_a_certificate(self):
        # --tls-client-ca implies --tls-only: a plain connection has no certificate either.
        with Netcalld("--tls-cert", self.pki["server.pem"], "--tls-key", self.pki["server.key"],
                      "--tls-client-ca", self.pki["ca.pem"]) as d:
            self.assertEqual(plain_answer(d.port), b"")
            anonymous = client_context(self.pki["ca.pem"])
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with tls_socket(d.port, anonymous) as s:
                    # TLS 1.3: the refusal may come with the first read, after the handshake.
                    jsonrpc_over(s, "counter.increment", [])
            known = client_context(self.pki["ca.pem"], self.pki["client.pem"],
                                   self.pki["client.key"])
            with tls_socket(d.port, known) as s:
                self.assertEqual(jsonrpc_over(s, "counter.increment", [])["result"], 1)

    def test_tls_only_refuses_plain_connections(self):
        with Netcalld("--tls-cert", self.pki["server.pem"], "--tls-key", self.pki["server.key"],
                      "--tls-only") as d:
            self.assertEqual(plain_answer(d.port), b"")
            with tls_socket(d.port, client_context(self.pki["ca.pem"])) as s:
                self.assertEqual(jsonrpc_over(s, "counter.get", [])["result"], 0)


class CertificateReload(unittest.TestCase):
    def test_sighup_swaps_the_certificate_and_keeps_open_connections(self):
        directory = tempfile.mkdtemp(prefix="netcall-reload-")
        try:
            pki = make_pki(directory)
            cert = os.path.join(directory, "live.pem")
            key = os.path.join(directory, "live.key")
            shutil.copy(pki["server.pem"], cert)
            shutil.copy(pki["server.key"], key)
            ctx = client_context(pki["ca.pem"])
            with Netcalld("--tls-cert", cert, "--tls-key", key) as d:
                first = tls_socket(d.port, ctx)
                try:
                    self.assertEqual(subject_cn(first), "netcall server 1")
                    self.assertEqual(jsonrpc_over(first, "add", [1, 1])["result"], 2)
                    shutil.copy(pki["server2.pem"], cert)
                    shutil.copy(pki["server2.key"], key)
                    d.signal(signal.SIGHUP)
                    d.wait_for_stderr("SIGHUP: reloaded")
                    with tls_socket(d.port, ctx) as second:
                        self.assertEqual(subject_cn(second), "netcall server 2")
                        self.assertEqual(jsonrpc_over(second, "add", [2, 2])["result"], 4)
                    # The connection opened before the reload goes on.
                    self.assertEqual(jsonrpc_over(first, "add", [3, 3], id=2)["result"], 6)
                finally:
                    first.close()
                # A reload that fails keeps what was loaded.
                with open(key, "w") as f:
                    f.write("not a key\n")
                d.signal(signal.SIGHUP)
                d.wait_for_stderr("reload failed")
                with tls_socket(d.port, ctx) as third:
                    self.assertEqual(subject_cn(third), "netcall server 2")
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def plain_answer(port):
    """What a server answers a plain (not TLS) JSON-RPC call: b"" when it closes instead."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(b'{"jsonrpc":"2.0","id":1,"method":"counter.increment"}')
        try:
            return plain.recv(4096)
        except ConnectionError:
            return b""


def subject_cn(sock):
    for rdn in sock.getpeercert()["subject"]:
        for name, value in rdn:
            if name == "commonName":
                return value
    return None


if __name__ == "__main__":
    unittest.main()
