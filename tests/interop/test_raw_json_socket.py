"""Interop: a JSON-RPC 2.0 client written with nothing but socket + json, as any language would."""

import json
import socket
import time
import unittest

from harness import Netcalld


def call(sock, payload, timeout=5.0):
    """Sends one JSON text and reads one newline-terminated JSON answer (bounded by timeout)."""
    sock.sendall(json.dumps(payload).encode())
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("server closed")
        data += chunk
    return json.loads(data)


class RawSocketJsonRpc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def test_positional_and_named(self):
        s = self.connect()
        self.assertEqual(call(s, {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}),
                         {"jsonrpc": "2.0", "result": 19, "id": 1})
        self.assertEqual(
            call(s, {"jsonrpc": "2.0", "method": "subtract",
                     "params": {"subtrahend": 23, "minuend": 42}, "id": "b"}),
            {"jsonrpc": "2.0", "result": 19, "id": "b"})

    def test_remote_error(self):
        s = self.connect()
        answer = call(s, {"jsonrpc": "2.0", "method": "divide", "params": [1, 0], "id": 3})
        self.assertEqual(answer["id"], 3)
        self.assertEqual(answer["error"]["code"], -32000)
        self.assertIn("division by zero", answer["error"]["message"])
        self.assertNotIn("result", answer)

    def test_introspection_over_json(self):
        s = self.connect()
        names = call(s, {"jsonrpc": "2.0", "method": "system.listMethods", "id": 1})["result"]
        self.assertIn("divide", names)
        sig = call(s, {"jsonrpc": "2.0", "method": "system.methodSignature", "params": ["divide"],
                       "id": 2})["result"]
        self.assertEqual(sig, [["double", "double", "double"]])

    def test_integers_beyond_int64_are_refused_naming_them(self):
        # Never silently a double: an error to the request's id; the connection goes on.
        s = self.connect()
        answer = call(s, {"jsonrpc": "2.0", "method": "echo", "params": [18446744073709551615],
                          "id": 1})
        self.assertEqual(answer["id"], 1)
        self.assertEqual(answer["error"]["code"], -32602)
        self.assertIn("18446744073709551615", answer["error"]["message"])
        self.assertIn("beyond int64", answer["error"]["message"])
        answer = call(s, {"jsonrpc": "2.0", "method": "subtract",
                          "params": {"minuend": -9223372036854775809, "subtrahend": 1}, "id": 2})
        self.assertEqual(answer["error"]["code"], -32602)
        self.assertIn("-9223372036854775809", answer["error"]["message"])
        # Numbers with a fraction or an exponent stay doubles; int64's edges stay integers.
        self.assertEqual(call(s, {"jsonrpc": "2.0", "method": "echo",
                                  "params": [[1e20, 2**63 - 1, -2**63]], "id": 3}),
                         {"jsonrpc": "2.0", "result": [1e20, 2**63 - 1, -2**63], "id": 3})
        # A batch: only the entry holding one is refused.
        s.sendall(json.dumps([{"jsonrpc": "2.0", "method": "echo", "params": [2**64], "id": 4},
                              {"jsonrpc": "2.0", "method": "echo", "params": [5], "id": 5}])
                  .encode())
        answers = json.loads(s.makefile("rb").readline())
        self.assertEqual(answers[0]["error"]["code"], -32602)
        self.assertIn("18446744073709551616", answers[0]["error"]["message"])
        self.assertEqual(answers[1], {"jsonrpc": "2.0", "result": 5, "id": 5})

    def test_positional_array_call_with_an_integer_beyond_int64_is_refused(self):
        s = self.connect()
        s.sendall(b'["echo", 18446744073709551615]')
        f = s.makefile("rb")
        answer = json.loads(f.readline())
        self.assertEqual(answer["error"]["code"], -32602)
        self.assertIn("18446744073709551615", answer["error"]["message"])
        s.sendall(b'["add", 1, 2]')
        self.assertEqual(json.loads(f.readline()), 3)

    def test_date_times_are_iso8601_text_with_microseconds(self):
        # JSON has no date-time: MessagePack's echo of one is not reachable from here, but the
        # text form is what the typed binding reads (docs/protocols.md "Type mapping").
        s = self.connect()
        text = "2026-12-03T10:00:00.123456"
        self.assertEqual(call(s, {"jsonrpc": "2.0", "method": "echo", "params": [text], "id": 1}),
                         {"jsonrpc": "2.0", "result": text, "id": 1})

    def test_newline_delimited_client(self):
        # Clients that terminate each request with "\n" (most line-based libraries) work too.
        s = self.connect()
        s.sendall(b'{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}\n'
                  b'{"jsonrpc":"2.0","method":"add","params":[3,4],"id":2}\n')
        f = s.makefile("rb")
        answers = [json.loads(f.readline()) for _ in range(2)]
        self.assertEqual({a["id"]: a["result"] for a in answers}, {1: 3, 2: 7})


if __name__ == "__main__":
    unittest.main()
