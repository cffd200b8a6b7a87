"""Service description (SPEC §2 `rpc.discover`, SPEC §3 `netcall list`): netcalld's OpenRPC
document on every protocol, checked against the OpenRPC 1.2 meta-schema's required fields (by
hand: Debian 12's /usr/bin/python3 has no jsonschema here) and for its content; `netcall list`
and `list --openrpc` against it, and against a server without rpc.discover (Python's
SimpleXMLRPCServer, started here as a process of its own)."""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import unittest
import xmlrpc.client

import msgpack

from harness import LineClient, Netcalld, http_post, metric, run

# JSON Schema's type words (draft-07 §6.1.1).
SCHEMA_TYPES = {"null", "boolean", "object", "array", "number", "string", "integer"}
INTEGER_OR_NUMBER = {"anyOf": [{"type": "integer"}, {"type": "number"}]}


def msgpack_call(port, method, params, timeout=5.0):
    """One MessagePack-RPC call on a connection of its own: (error, result)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(msgpack.packb([0, 1, method, params], use_bin_type=True))
        unpacker = msgpack.Unpacker(raw=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            unpacker.feed(chunk)
            for message in unpacker:
                kind, msgid, error, result = message
                assert (kind, msgid) == (1, 1), message
                return error, result
        raise TimeoutError("no MessagePack-RPC answer in time")


def discover_over(protocol, port):
    """rpc.discover's answer over one protocol, with a client nobody here wrote where there is
    one (xmlrpc.client, http.client, python3-msgpack, a raw socket)."""
    if protocol == "jsonrpc":
        with LineClient(port) as c:
            answer = c.call("rpc.discover", [])
        assert "result" in answer, answer
        return answer["result"]
    if protocol == "jsonrpc-http":
        status, _, body = http_post(port, "/", json.dumps(
            {"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}), "application/json")
        assert status == 200, status
        answer = json.loads(body)
        assert "result" in answer, answer
        return answer["result"]
    if protocol == "xmlrpc":
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % port)
        try:
            return proxy.rpc.discover()
        finally:
            proxy("close")()
    error, result = msgpack_call(port, "rpc.discover", [])
    assert error is None, error
    return result


def check_schema(test, schema, where):
    """A JSON Schema as netcall writes them: an object whose `type` is a JSON Schema type word
    and whose `anyOf` is a non-empty list of such schemas."""
    test.assertIsInstance(schema, dict, where)
    if "type" in schema:
        test.assertIn(schema["type"], SCHEMA_TYPES, where)
    if "anyOf" in schema:
        test.assertIsInstance(schema["anyOf"], list, where)
        test.assertTrue(schema["anyOf"], where)
        for i, choice in enumerate(schema["anyOf"]):
            check_schema(test, choice, "%s.anyOf[%d]" % (where, i))


def check_openrpc(test, doc):
    """The fields OpenRPC 1.2.6's meta-schema requires, and its uniqueness rules: root openrpc,
    info (title, version), methods; each method name, params, result; each content descriptor
    name and schema; method names unique, param names unique within a method."""
    test.assertIsInstance(doc, dict)
    for key in ("openrpc", "info", "methods"):
        test.assertIn(key, doc)
    test.assertRegex(doc["openrpc"], r"^1\.2\.\d+$")
    test.assertIsInstance(doc["info"], dict)
    for key in ("title", "version"):
        test.assertIsInstance(doc["info"].get(key), str, key)
    test.assertIsInstance(doc["methods"], list)
    names = []
    for m in doc["methods"]:
        test.assertIsInstance(m, dict)
        for key in ("name", "params", "result"):
            test.assertIn(key, m)
        test.assertIsInstance(m["name"], str)
        names.append(m["name"])
        if "description" in m:
            test.assertIsInstance(m["description"], str)
        test.assertIn(m.get("paramStructure", "either"), ("by-name", "by-position", "either"))
        test.assertIsInstance(m["params"], list, m["name"])
        param_names = []
        for p in m["params"]:
            test.assertIsInstance(p, dict, m["name"])
            test.assertIsInstance(p.get("name"), str, m["name"])
            test.assertIn("schema", p, m["name"])
            check_schema(test, p["schema"], "%s(%s)" % (m["name"], p["name"]))
            test.assertIsInstance(p.get("required", False), bool, m["name"])
            param_names.append(p["name"])
        test.assertEqual(len(param_names), len(set(param_names)), m["name"])
        test.assertIsInstance(m["result"], dict, m["name"])
        test.assertIsInstance(m["result"].get("name"), str, m["name"])
        test.assertIn("schema", m["result"], m["name"])
        check_schema(test, m["result"]["schema"], m["name"] + " result")
    test.assertEqual(len(names), len(set(names)), "method names are unique")


def methods_by_name(doc):
    return {m["name"]: m for m in doc["methods"]}


class RpcDiscover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.doc = discover_over("jsonrpc", cls.server.port)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_every_protocol_answers_the_same_valid_document(self):
        for protocol in ("jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"):
            with self.subTest(protocol=protocol):
                doc = discover_over(protocol, self.server.port)
                check_openrpc(self, doc)
                self.assertEqual(doc, self.doc)

    def test_header_names_openrpc_1_2_6_and_the_version_netcalld_prints(self):
        self.assertEqual(self.doc["openrpc"], "1.2.6")
        r = run(["--version"], binary=os.path.join(os.path.dirname(self.server.binary),
                                                    "netcalld"))
        self.assertEqual(r.stdout.strip(), "netcalld " + self.doc["info"]["version"])
        self.assertEqual(self.doc["info"]["title"], "netcall")

    def test_every_served_method_is_described_sorted(self):
        with LineClient(self.server.port) as c:
            listed = c.call("system.listMethods", [])["result"]
        names = [m["name"] for m in self.doc["methods"]]
        self.assertEqual(names, sorted(names))
        self.assertEqual(names, listed)
        for builtin in ("rpc.discover", "system.listMethods", "system.multicall", "sleep"):
            self.assertIn(builtin, names)

    def test_subtract_names_both_params_required_integer_or_number(self):
        m = methods_by_name(self.doc)["subtract"]
        self.assertEqual(m["params"], [
            {"name": "minuend", "schema": INTEGER_OR_NUMBER, "required": True},
            {"name": "subtrahend", "schema": INTEGER_OR_NUMBER, "required": True}])
        self.assertEqual(m["result"], {"name": "result", "schema": INTEGER_OR_NUMBER})
        self.assertEqual(m["paramStructure"], "either")
        self.assertEqual(m["description"], "Returns minuend - subtrahend.")

    def test_content_of_other_built_in_procedures(self):
        methods = methods_by_name(self.doc)
        self.assertEqual(methods["divide"]["result"]["schema"], {"type": "number"})
        self.assertEqual([p["schema"] for p in methods["divide"]["params"]],
                         [{"type": "number"}, {"type": "number"}])
        self.assertEqual(methods["echo"]["params"],
                         [{"name": "value", "schema": {}, "required": True}])
        self.assertEqual(methods["echo"]["result"]["schema"], {})
        # sleep is asynchronous (add_async): its explicit signature gives the types.
        self.assertEqual(methods["sleep"]["params"],
                         [{"name": "ms", "schema": {"type": "integer"}, "required": True}])
        self.assertEqual(methods["sleep"]["result"]["schema"], {"type": "integer"})
        self.assertEqual(methods["is_alnum"]["params"],
                         [{"name": "text", "schema": {"type": "string"}, "required": True}])
        self.assertEqual(methods["is_alnum"]["result"]["schema"], {"type": "boolean"})
        self.assertEqual(methods["system.methodHelp"]["params"],
                         [{"name": "name", "schema": {"type": "string"}, "required": True}])
        self.assertEqual(methods["system.methodHelp"]["result"]["schema"], {"type": "string"})
        # Procedures without param names take positional params only.
        for name in ("counter.get", "system.listMethods", "rpc.discover"):
            self.assertEqual(methods[name]["params"], [], name)
            self.assertEqual(methods[name]["paramStructure"], "by-position", name)
        self.assertEqual(methods["rpc.discover"]["result"]["schema"], {"type": "object"})
        self.assertEqual(methods["counter.get"]["result"]["schema"], {"type": "integer"})

    def test_help_is_the_description(self):
        with LineClient(self.server.port) as c:
            for m in self.doc["methods"]:
                help_text = c.call("system.methodHelp", [m["name"]], id=m["name"])["result"]
                self.assertEqual(m.get("description", ""), help_text, m["name"])

    def test_params_are_refused(self):
        with LineClient(self.server.port) as c:
            self.assertEqual(c.call("rpc.discover", [1])["error"]["code"], -32602)
        error, _ = msgpack_call(self.server.port, "rpc.discover", ["x"])
        self.assertEqual(error["code"], -32602)

    def test_only_the_modules_served_are_described(self):
        with Netcalld("--modules", "text") as d:
            names = [m["name"] for m in discover_over("msgpack", d.port)["methods"]]
        self.assertIn("echo", names)
        self.assertIn("rpc.discover", names)
        self.assertNotIn("subtract", names)
        self.assertNotIn("sleep", names)


class PythonXmlRpcServer:
    """Python's SimpleXMLRPCServer with introspection (no rpc.discover: it answers an unknown
    method with fault 1), as a process of its own on 127.0.0.1:0; stopped by its PID."""

    SCRIPT = r'''
import sys
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

class Quiet(SimpleXMLRPCRequestHandler):
    def log_message(self, *args):
        pass

def power(x, y):
    """Returns x to the power y.

    Second line."""
    return x ** y

def greet(name, shout=False):
    """Greets name\u009b2J."""
    return ("HELLO " if shout else "hello ") + name

def nodoc():
    return 1

SIGNATURES = {"pow": [["int", "int", "int"], ["double", "double", "double"]],
              "greet": [["string", "string"], ["string", "string", "boolean"]]}

def method_signature(name):
    return SIGNATURES.get(name, "signatures not supported")

server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Quiet, logRequests=False)
server.register_introspection_functions()
server.register_function(power, "pow")
server.register_function(greet, "greet")
server.register_function(nodoc, "nodoc")
server.register_function(method_signature, "system.methodSignature")
print("python listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
'''

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 10)
            if not ready:
                raise RuntimeError("the Python server did not start in time")
            line = self.proc.stdout.readline().decode()
            m = re.match(r"python listening on (\S+)$", line.strip())
            if not m:
                raise RuntimeError("unexpected line from the Python server: %r" % line)
            self.address = m.group(1)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def __exit__(self, *exc):
        self.stop()


class ListCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.target = cls.server.address

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def list_lines(self, *options):
        r = run(["list", *options, self.target])
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        lines = r.stdout.splitlines()
        for line in lines:
            self.assertEqual(line.count("\t"), 1, line)
        return {line.split("(")[0]: line for line in lines}

    def test_lines_show_signatures_with_param_names_and_the_help(self):
        lines = self.list_lines()
        expected = {
            "subtract": "subtract(minuend: int|double, subtrahend: int|double) -> int|double\t"
                        "Returns minuend - subtrahend.",
            "divide": "divide(dividend: double, divisor: double) -> double\t"
                      "Returns dividend / divisor as a float; a zero divisor is an error.",
            "echo": "echo(value: any) -> any\tReturns its one argument unchanged.",
            "sleep": "sleep(ms: int) -> int\t"
                     "Waits ms milliseconds (0 to 3600000) without holding a thread; returns ms.",
            "is_alnum": "is_alnum(text: string) -> boolean\tTrue when text is non-empty and every "
                        "character is an ASCII letter or digit.",
            "counter.get": "counter.get() -> int\tReturns the process-wide counter.",
            "system.methodHelp": "system.methodHelp(name: string) -> string\t"
                                 "Returns the help text of a method.",
            "system.listMethods": "system.listMethods() -> array\t"
                                  "Lists the names of every method this server serves.",
        }
        for name, line in expected.items():
            self.assertEqual(lines.get(name), line, name)
        self.assertTrue(lines["rpc.discover"].startswith("rpc.discover() -> struct\t"))
        doc = discover_over("jsonrpc", self.server.port)
        self.assertEqual(list(lines), [m["name"] for m in doc["methods"]])

    def test_every_protocol_lists_the_same(self):
        first = self.list_lines()
        for protocol in ("jsonrpc-http", "xmlrpc", "msgpack"):
            with self.subTest(protocol=protocol):
                self.assertEqual(self.list_lines("--protocol", protocol), first)

    def test_one_call_lists_every_method(self):
        with Netcalld("--modules", "math") as d:
            r = run(["list", "--protocol", "msgpack", d.address])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(metric(d.port, 'netcall_calls_total{protocol="msgpack"}'), 1)
            self.assertEqual(metric(
                d.port,
                'netcall_server_calls_total{code="0",method="rpc.discover",protocol="msgpack"}'), 1)

    def test_openrpc_prints_rpc_discovers_document_as_indented_json(self):
        doc = discover_over("jsonrpc", self.server.port)
        for protocol in ("jsonrpc", "xmlrpc", "msgpack"):
            with self.subTest(protocol=protocol):
                r = run(["list", "--openrpc", "--protocol", protocol, self.target])
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertEqual(json.loads(r.stdout), doc)
                self.assertTrue(r.stdout.startswith('{\n  "openrpc": "1.2.6",\n'), r.stdout[:40])
                self.assertTrue(r.stdout.endswith("\n}\n"))

    def test_a_server_without_rpc_discover_is_listed_by_introspection(self):
        with PythonXmlRpcServer() as py:
            r = run(["list", "--protocol", "xmlrpc", py.address])
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            lines = r.stdout.splitlines()
            self.assertEqual([l.split("(")[0] for l in lines],
                             ["greet", "nodoc", "pow", "system.listMethods", "system.methodHelp",
                              "system.methodSignature"])
            self.assertEqual(lines[0], "greet(string, [boolean]) -> string\t"
                                       "Greets name\\u009b2J.")
            self.assertEqual(lines[1], "nodoc(...) -> ?\t")
            self.assertEqual(lines[2], "pow(int|double, int|double) -> int|double\t"
                                       "Returns x to the power y.")
            self.assertTrue(lines[3].startswith("system.listMethods(...) -> ?\tsystem.listMethods"))
            # --openrpc has no document to print: the server's error, exit 1.
            r = run(["list", "--openrpc", "--protocol", "xmlrpc", py.address])
            self.assertEqual((r.returncode, r.stdout), (1, ""))
            self.assertIn("rpc.discover", r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_help_and_usage(self):
        r = run(["list", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--openrpc", r.stdout)
        self.assertIn("rpc.discover", r.stdout)
        r = run(["list", "--openrpc"])
        self.assertEqual((r.returncode, r.stdout), (2, ""))


if __name__ == "__main__":
    unittest.main()
