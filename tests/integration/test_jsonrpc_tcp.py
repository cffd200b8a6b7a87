"""JSON-RPC 2.0 over raw TCP against a real netcalld (SPEC §2): framing, pipelining, ids,
notifications, batches (JSON-RPC 2.0 §6), the built-in procedures and their errors."""

import json
import math
import random
import socket
import time
import unittest

from harness import LineClient, Netcalld, http_post

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
APPLICATION_ERROR = -32000

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def req(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        r["params"] = params
    return r


def note(method, params=None):
    r = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        r["params"] = params
    return r


class JsonRpcTcp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertTrue(self.server.alive(), "netcalld died during an earlier test")

    def client(self):
        c = LineClient(self.server.port, timeout=5.0)
        self.addCleanup(c.close)
        return c

    def call(self, method, params=None, id=1):
        c = self.client()
        return c.call(method, params, id)

    def result_of(self, method, params=None):
        answer = self.call(method, params, id=1)
        self.assertEqual(answer.get("jsonrpc"), "2.0", answer)
        self.assertEqual(answer.get("id"), 1, answer)
        self.assertNotIn("error", answer)
        self.assertIn("result", answer)
        return answer["result"]

    def error_of(self, method, params=None, id=1):
        answer = self.call(method, params, id=id)
        self.assertEqual(answer.get("jsonrpc"), "2.0", answer)
        self.assertEqual(answer.get("id"), id, answer)
        self.assertNotIn("result", answer)
        err = answer["error"]
        self.assertIsInstance(err["code"], int)
        self.assertIsInstance(err["message"], str)
        return err

    def assert_no_more_data(self, c, wait=0.3):
        """Nothing further arrives on `c` within `wait` s (and the connection stays open)."""
        self.assertEqual(c.buf, b"", "unexpected extra data: %r" % c.buf)
        c.sock.settimeout(wait)
        try:
            extra = c.sock.recv(65536)
        except socket.timeout:
            return
        self.fail("unexpected extra data or close: %r" % extra)

    # ---- math --------------------------------------------------------------------------------

    def test_add_integers_stay_integers(self):
        r = self.result_of("add", [2, 3])
        self.assertEqual(r, 5)
        self.assertIs(type(r), int)
        r = self.result_of("add", [-7, 4])
        self.assertEqual(r, -3)
        self.assertIs(type(r), int)
        r = self.result_of("add", [INT64_MAX - 1, 1])
        self.assertEqual(r, INT64_MAX)
        self.assertIs(type(r), int)

    def test_any_float_makes_a_float(self):
        r = self.result_of("add", [2, 3.5])
        self.assertEqual(r, 5.5)
        self.assertIs(type(r), float)
        r = self.result_of("multiply", [2, 0.25])
        self.assertEqual(r, 0.5)
        self.assertIs(type(r), float)

    def test_whole_float_is_written_as_float(self):
        c = self.client()
        c.send_json(req("add", [1.5, 0.5], id=1))
        line = c.read_line().decode()
        self.assertRegex(line, r'"result"\s*:\s*2\.0\s*[,}]', line)
        self.assertIs(type(json.loads(line)["result"]), float)
        c.send_json(req("subtract", [3.0, 1], id=2))
        line = c.read_line().decode()
        self.assertRegex(line, r'"result"\s*:\s*2\.0\s*[,}]', line)

    def test_subtract_and_multiply(self):
        self.assertEqual(self.result_of("subtract", [42, 23]), 19)
        self.assertEqual(self.result_of("subtract", [23, 42]), -19)
        r = self.result_of("multiply", [6, 7])
        self.assertEqual(r, 42)
        self.assertIs(type(r), int)
        self.assertEqual(self.result_of("multiply", [-3, 5]), -15)
        self.assertEqual(self.result_of("subtract", [5.5, 0.5]), 5.0)

    def test_integer_overflow_is_an_error_never_wraps(self):
        cases = [
            ("add", [INT64_MAX, 1]),
            ("add", [INT64_MIN, -1]),
            ("multiply", [2**62, 4]),
            ("multiply", [INT64_MIN, -1]),
            ("subtract", [INT64_MIN, 1]),
            ("subtract", [INT64_MAX, -1]),
        ]
        for method, params in cases:
            with self.subTest(method=method, params=params):
                err = self.error_of(method, params)
                self.assertEqual(err["code"], APPLICATION_ERROR, err)

    def test_divide(self):
        r = self.result_of("divide", [6, 3])
        self.assertEqual(r, 2.0)
        self.assertIs(type(r), float)
        self.assertEqual(self.result_of("divide", [1, 4]), 0.25)
        for params in ([1, 0], [1, 0.0], [0, 0]):
            with self.subTest(params=params):
                err = self.error_of("divide", params)
                self.assertEqual(err["code"], APPLICATION_ERROR, err)
                self.assertIn("division by zero", err["message"])

    def test_named_params(self):
        c = self.client()
        self.assertEqual(c.call("subtract", {"minuend": 42, "subtrahend": 23}, id=1),
                         {"jsonrpc": "2.0", "result": 19, "id": 1})
        self.assertEqual(c.call("subtract", {"subtrahend": 23, "minuend": 42}, id=2),
                         {"jsonrpc": "2.0", "result": 19, "id": 2})
        self.assertEqual(c.call("divide", {"dividend": 1, "divisor": 2}, id=3)["result"], 0.5)
        self.assertEqual(c.call("echo", {"value": [1, "x"]}, id=4)["result"], [1, "x"])
        err = self.error_of("subtract", {"minuend": 42, "nope": 23})
        self.assertEqual(err["code"], INVALID_PARAMS, err)
        err = self.error_of("subtract", {"minuend": 42})
        self.assertEqual(err["code"], INVALID_PARAMS, err)

    def test_wrong_count_or_type_is_invalid_params(self):
        cases = [
            ("add", []),
            ("add", [1]),
            ("add", [1, 2, 3]),
            ("add", ["x", 1]),
            ("add", [1, None]),
            ("add", [[1], 2]),
            ("divide", [True, 1]),
            ("is_alnum", [5]),
            ("is_alnum", [None]),
            ("is_alnum", []),
            ("is_alnum", ["a", "b"]),
            ("echo", []),
            ("echo", [1, 2]),
            ("sleep", ["x"]),
            ("counter.get", [1]),
        ]
        for method, params in cases:
            with self.subTest(method=method, params=params):
                err = self.error_of(method, params)
                self.assertEqual(err["code"], INVALID_PARAMS, err)

    def test_params_neither_array_nor_object_is_invalid(self):
        # JSON-RPC 2.0 §4.2: params MUST be an Array or an Object.
        c = self.client()
        c.send(b'{"jsonrpc":"2.0","method":"add","params":5,"id":9}')
        answer = c.read_json()
        self.assertEqual(answer["id"], 9)
        self.assertIn(answer["error"]["code"], (INVALID_REQUEST, INVALID_PARAMS), answer)

    def test_unknown_method(self):
        err = self.error_of("nope", [1])
        self.assertEqual(err["code"], METHOD_NOT_FOUND, err)
        err = self.error_of("system.nope", [])
        self.assertEqual(err["code"], METHOD_NOT_FOUND, err)

    # ---- text --------------------------------------------------------------------------------

    def test_is_alnum(self):
        cases = [("abc123", True), ("ABCxyz09", True), ("", False), ("a b", False),
                 ("é", False), ("abc!", False), ("a\u0000", False), ("٣", False)]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertIs(self.result_of("is_alnum", [text]), expected)

    def test_echo_any_value(self):
        deep_array = "leaf"
        for _ in range(50):
            deep_array = [deep_array]
        deep_object = 1
        for i in range(50):
            deep_object = {"k%d" % i: deep_object, "n": None}
        values = [
            None, True, False, 0, -1, INT64_MAX, INT64_MIN, 1.25, -0.5, "",
            "héllo wörld ✓ 😀 \u4e2d\u6587 \"quoted\" \\ \n\t", [], {},
            [1, "two", 3.5, None, True, {"a": [False, {}]}],
            {"nested": {"list": [1, [2, [3, [4]]]], "unicode": "ß∂ƒ", "null": None}},
            deep_array, deep_object,
        ]
        c = self.client()
        for i, v in enumerate(values):
            with self.subTest(i=i):
                answer = c.call("echo", [v], id=i)
                self.assertEqual(answer, {"jsonrpc": "2.0", "result": v, "id": i})
                self.assertIs(type(answer["result"]), type(v))

    def test_echo_floats_round_trip(self):
        c = self.client()
        values = [0.1, 1e300, 5e-324, -0.0, 1e21, 1e-7, 123456789.123456789, 2.0**53 + 2]
        answer = c.call("echo", [values], id=1)
        self.assertEqual(answer["result"], values)
        for got in answer["result"]:
            self.assertIs(type(got), float)
        self.assertEqual(math.copysign(1.0, answer["result"][3]), -1.0)
        # Any double survives: the server must parse numbers correctly rounded and write them
        # with enough digits (shortest round-trip), or echo changes its argument.
        rng = random.Random(7)
        values = [rng.uniform(-1e6, 1e6) for _ in range(150)]
        values += [rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(150)]
        result = c.call("echo", [values], id=2)["result"]
        changed = [(a, b) for a, b in zip(values, result) if a != b]
        self.assertEqual(len(result), len(values))
        self.assertEqual(changed, [], "%d of %d floats changed, e.g. %r" %
                         (len(changed), len(values), changed[:3]))

    def test_echo_control_characters_are_escaped(self):
        c = self.client()
        text = "".join(chr(i) for i in range(32)) + "\u007f\u2028\u2029\"\\/"
        c.send_json(req("echo", [text], id=1))
        line = c.read_line()
        for i in range(32):
            self.assertNotIn(bytes([i]), line)  # raw control characters are not valid JSON
        self.assertEqual(json.loads(line)["result"], text)

    # ---- demo --------------------------------------------------------------------------------

    def test_counter(self):
        c = self.client()
        start = c.call("counter.get", [], id=1)["result"]
        self.assertIsInstance(start, int)
        self.assertEqual(c.call("counter.increment", [], id=2)["result"], start + 1)
        self.assertEqual(c.call("counter.increment", id=3)["result"], start + 2)
        self.assertEqual(c.call("counter.get", id=4)["result"], start + 2)
        # Process-wide: another connection sees the same counter.
        other = self.client()
        self.assertEqual(other.call("counter.get", [], id=5)["result"], start + 2)

    def test_sleep_returns_ms(self):
        t0 = time.monotonic()
        self.assertEqual(self.result_of("sleep", [100]), 100)
        self.assertGreaterEqual(time.monotonic() - t0, 0.09)

    # ---- ids and framing ---------------------------------------------------------------------

    def test_id_echoed_with_its_type(self):
        c = self.client()
        for id in ["7", 7, None, 1.5, "", "é✓", -3, 0]:
            with self.subTest(id=id):
                answer = c.call("add", [1, 1], id=id)
                self.assertIn("id", answer)
                self.assertEqual(answer["id"], id)
                self.assertIs(type(answer["id"]), type(id))
                self.assertEqual(answer["result"], 2)

    def test_number_ids_come_back_exactly_as_sent(self):
        # JSON-RPC 2.0 §5: the response id is the same value as the request's. Ids outside int64
        # used to come back as doubles (12345678901234567891 as 12345678901234567168.0) or be
        # refused (1e400): a client could not match its answer. Over TCP, HTTP, and in batches.
        ids = [b"12345678901234567891", b"-9223372036854775809", b"1.5", b"1.50", b"1e400",
               b"1E+2", b"-0.0", b"0e99999999999999999999"]
        c = self.client()
        for id in ids:
            with self.subTest(id=id):
                c.send(b'{"jsonrpc":"2.0","method":"add","params":[1,2],"id":' + id + b"}")
                self.assertEqual(c.read_line(), b'{"jsonrpc":"2.0","result":3,"id":' + id + b"}")
        batch = b"[" + b",".join(b'{"jsonrpc":"2.0","method":"add","params":[1,2],"id":' + id +
                                 b"}" for id in ids) + b"]"
        c.send(batch)
        self.assertEqual(c.read_line(), b"[" + b",".join(
            b'{"jsonrpc":"2.0","result":3,"id":' + id + b"}" for id in ids) + b"]")
        # An invalid request echoes its readable id the same way.
        c.send(b'{"jsonrpc":"1.0","method":"add","id":12345678901234567891}')
        line = c.read_line()
        self.assertTrue(line.endswith(b',"id":12345678901234567891}'), line)
        status, _, body = http_post(self.server.port, "/", b'{"jsonrpc":"2.0","method":"add",'
                                    b'"params":[1,2],"id":12345678901234567891}',
                                    "application/json")
        self.assertEqual((status, body),
                         (200, b'{"jsonrpc":"2.0","result":3,"id":12345678901234567891}'))
        # Python's json module reads the answer's id back as the very number it sent.
        c.send(json.dumps({"jsonrpc": "2.0", "method": "add", "params": [1, 2],
                           "id": 12345678901234567891}))
        self.assertEqual(c.read_json()["id"], 12345678901234567891)

    def test_every_answer_is_one_json_text_ending_with_newline(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        self.addCleanup(s.close)
        payloads = [
            req("echo", [{"a": [1, 2, {"b": "x\ny"}], "c": "multi\nline"}], id=1),
            [req("add", [1, 2], id=2), req("nope", id=3)],
            req("divide", [1, 0], id=4),
        ]
        for p in payloads:
            s.sendall(json.dumps(p, indent=2).encode())  # pretty-printed input is fine too
            data = b""
            deadline = time.monotonic() + 5
            while not data.endswith(b"\n"):
                self.assertLess(time.monotonic(), deadline, "no full answer in time")
                s.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = s.recv(65536)
                self.assertTrue(chunk, "server closed")
                data += chunk
            self.assertEqual(data.count(b"\n"), 1, data)
            json.loads(data[:-1].decode())
        s.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            s.recv(1)

    def test_back_to_back_requests_in_one_send(self):
        c = self.client()
        blob = b"".join(json.dumps(req("add", [i, i], id=i), separators=(",", ":")).encode()
                        for i in range(1, 11))
        blob += b'[{"jsonrpc":"2.0","method":"add","params":[11,11],"id":11}]'
        blob += b'\r\n\t {"jsonrpc":"2.0","method":"add","params":[12,12],"id":12}  \n'
        c.send(blob)
        answers = {}
        for _ in range(12):
            a = c.read_json()
            if isinstance(a, list):
                self.assertEqual(len(a), 1)
                a = a[0]
            answers[a["id"]] = a["result"]
        self.assertEqual(answers, {i: 2 * i for i in range(1, 13)})
        self.assert_no_more_data(c)

    def test_request_split_byte_by_byte(self):
        c = self.client()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = json.dumps(req("echo", ["split é across sends"], id="split")).encode()
        self.assertLess(len(data), 120)
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(0.002)  # pacing a byte-at-a-time sender (the scenario), not ordering
        self.assertEqual(c.read_json(),
                         {"jsonrpc": "2.0", "result": "split é across sends", "id": "split"})

    def test_pipelined_answers_in_completion_order(self):
        c = self.client()
        t0 = time.monotonic()
        c.send(json.dumps(req("sleep", [300], id=1)) + json.dumps(req("add", [2, 2], id=2)))
        first = c.read_json()
        t_first = time.monotonic() - t0
        second = c.read_json()
        self.assertEqual(first, {"jsonrpc": "2.0", "result": 4, "id": 2})
        self.assertLess(t_first, 0.25, "add waited for the sleep before it")
        self.assertEqual(second, {"jsonrpc": "2.0", "result": 300, "id": 1})

    def test_notification_gets_no_answer(self):
        c = self.client()
        before = c.call("counter.get", id=1)["result"]
        c.send_json(note("counter.increment"))
        c.send_json(note("add", [1, 2]))
        c.send_json(note("nope"))  # errors of notifications are not answered either
        c.send_json(req("counter.get", id=2))
        answer = c.read_json()
        self.assertEqual(answer["id"], 2)
        self.assertEqual(answer["result"], before + 1)  # the notification did run
        self.assert_no_more_data(c)

    # ---- batches (JSON-RPC 2.0 §6) -----------------------------------------------------------

    def test_batch_mixed(self):
        c = self.client()
        c.send(b'[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"1"},'
               b'{"jsonrpc":"2.0","method":"add","params":[7,7]},'
               b'{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"2"},'
               b'{"foo":"boo"},'
               b'{"jsonrpc":"2.0","method":"nope","params":{"name":"myself"},"id":"5"},'
               b'{"jsonrpc":"2.0","method":"divide","params":[1,0],"id":"6"}]')
        answer = c.read_json()
        self.assertIsInstance(answer, list)
        self.assertEqual(len(answer), 5, answer)
        by_id = {}
        for a in answer:
            self.assertEqual(a["jsonrpc"], "2.0")
            by_id.setdefault(a["id"], []).append(a)
        self.assertEqual(by_id["1"][0]["result"], 3)
        self.assertEqual(by_id["2"][0]["result"], 19)
        self.assertEqual(by_id["5"][0]["error"]["code"], METHOD_NOT_FOUND)
        self.assertEqual(by_id["6"][0]["error"]["code"], APPLICATION_ERROR)
        self.assertEqual([a["error"]["code"] for a in by_id[None]], [INVALID_REQUEST])
        self.assert_no_more_data(c)

    def test_batch_of_invalid_entries(self):
        c = self.client()
        c.send(b"[1,2,3]")
        answer = c.read_json()
        self.assertIsInstance(answer, list)
        self.assertEqual(len(answer), 3)
        for a in answer:
            self.assertEqual(a["error"]["code"], INVALID_REQUEST)
            self.assertIsNone(a["id"])
        c.send(b"[1]")
        answer = c.read_json()
        self.assertIsInstance(answer, list)
        self.assertEqual(len(answer), 1)
        self.assertEqual(answer[0]["error"]["code"], INVALID_REQUEST)

    def test_batch_of_notifications_gets_no_reply(self):
        c = self.client()
        c.send(json.dumps([note("add", [1, 2]), note("counter.get")]))
        c.send_json(req("add", [20, 22], id="after"))
        self.assertEqual(c.read_json(), {"jsonrpc": "2.0", "result": 42, "id": "after"})
        self.assert_no_more_data(c)

    def test_empty_batch_is_one_invalid_request_object(self):
        c = self.client()
        c.send(b"[]")
        answer = c.read_json()
        self.assertIsInstance(answer, dict, answer)
        self.assertEqual(answer["error"]["code"], INVALID_REQUEST)
        self.assertIsNone(answer["id"])
        # The stream stays usable.
        self.assertEqual(c.call("add", [1, 1], id=3)["result"], 2)

    def test_invalid_request_objects(self):
        c = self.client()
        c.send(b'{"jsonrpc":"2.0","method":1,"params":"bar"}')
        answer = c.read_json()
        self.assertEqual(answer["error"]["code"], INVALID_REQUEST)
        self.assertIsNone(answer["id"])
        c.send(b'{"jsonrpc":"1.0","method":"add","params":[1,2],"id":3}')
        answer = c.read_json()
        self.assertEqual(answer["error"]["code"], INVALID_REQUEST)
        self.assertIn(answer["id"], (3, None))
        c.send(b'"just a string"')  # not an object: this sniffs as nothing only at the start
        answer = c.read_json()
        self.assertEqual(answer["error"]["code"], INVALID_REQUEST)
        self.assertEqual(c.call("add", [2, 2], id=4)["result"], 4)

    # ---- system.* ----------------------------------------------------------------------------

    def test_list_methods(self):
        names = self.result_of("system.listMethods", [])
        for name in ["add", "subtract", "multiply", "divide", "echo", "is_alnum", "sleep",
                     "counter.increment", "counter.get", "system.listMethods",
                     "system.methodHelp", "system.methodSignature", "system.multicall"]:
            self.assertIn(name, names)
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(self.result_of("system.listMethods"), names)  # params may be omitted

    def test_method_signature_and_help(self):
        sigs = self.result_of("system.methodSignature", ["add"])
        self.assertIsInstance(sigs, list)
        self.assertGreaterEqual(len(sigs), 1)
        for sig in sigs:
            self.assertIsInstance(sig, list)
            self.assertEqual(len(sig), 3, sig)  # result type, then a and b
            for t in sig:
                self.assertIsInstance(t, str)
        self.assertIn(["int", "int", "int"], sigs)
        help_text = self.result_of("system.methodHelp", ["add"])
        self.assertIsInstance(help_text, str)
        self.assertTrue(help_text.strip())
        err = self.error_of("system.methodHelp", ["nope"])
        self.assertIn(err["code"], (INVALID_PARAMS, METHOD_NOT_FOUND))

    def test_multicall(self):
        r = self.result_of("system.multicall", [[{"methodName": "add", "params": [1, 2]},
                                                 {"methodName": "nope", "params": []}]])
        self.assertIsInstance(r, list)
        self.assertEqual(len(r), 2)
        self.assertEqual(r[0], [3])
        self.assertEqual(set(r[1]), {"faultCode", "faultString"})
        self.assertEqual(r[1]["faultCode"], METHOD_NOT_FOUND)
        self.assertIsInstance(r[1]["faultString"], str)
        r = self.result_of("system.multicall", [[
            {"methodName": "divide", "params": [1, 0]},
            {"methodName": "sleep", "params": [50]},
            {"methodName": "echo", "params": [{"x": [None]}]},
        ]])
        self.assertEqual(r[0]["faultCode"], APPLICATION_ERROR)
        self.assertIn("division by zero", r[0]["faultString"])
        self.assertEqual(r[1:], [[50], [{"x": [None]}]])
        self.assertEqual(self.result_of("system.multicall", [[]]), [])
        err = self.error_of("system.multicall", [5])
        self.assertEqual(err["code"], INVALID_PARAMS)


if __name__ == "__main__":
    unittest.main()
