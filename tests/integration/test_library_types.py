"""The library's C++ types on the wire, through examples/inventory_server.cpp (netcall/codec.hpp,
netcall/task.hpp, registry::bind and bind_blocking in netcall/server.hpp):

- a struct described with BOOST_DESCRIBE_STRUCT (string, int, vector<string>, optional<double>,
  a described enum, an optional nested described struct) round-trips over JSON-RPC (TCP and
  HTTP), XML-RPC and MessagePack-RPC; the enum travels by name; a missing member, an unknown
  member, a wrong enum name and an int out of range are -32602 saying which;
- netcall::bytes and netcall::date_time params take base64 and ISO 8601 text over JSON-RPC;
- a coroutine procedure (sleep_for) and a blocking one (bind_blocking) do not hold up a fast call
  on a server with one event loop; a full blocking pool refuses a call with -32001, unrun.
"""

import datetime
import json
import os
import select
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import xmlrpc.client

import msgpack

from harness import BIN, LISTENING, LineClient, Netcalld, http_post, wait_for_metric

INVENTORY = os.path.join(BIN, "inventory_server")

ANCHOR = {
    "sku": "A-1",
    "name": "anchor",
    "quantity": 3,
    "tags": ["marine", "heavy"],
    "price": 129.5,
    "status": "backordered",
    "bin": {"aisle": "C", "shelf": 2},
}


def item(sku, **changes):
    """ANCHOR with another sku and `changes` (a value of None removes the member)."""
    out = dict(ANCHOR, sku=sku)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class Inventory(Netcalld):
    """The example server: `inventory_server 127.0.0.1:0 THREADS BLOCKING_THREADS QUEUE`, its
    "inventory listening on HOST:PORT" line read with a bounded wait, stopped by its PID."""

    def __init__(self, threads=0, blocking_threads=4, max_blocking_queue=256):
        super().__init__(binary=INVENTORY)
        self.argv = ["127.0.0.1:0", str(threads), str(blocking_threads), str(max_blocking_queue)]

    def start(self):
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([self.binary, *self.argv], stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], self.start_timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        m = LISTENING.match(line.rstrip("\n"))
        if not line.startswith("inventory listening on ") or not m:
            self.stop()
            raise RuntimeError("inventory_server did not start: %r %s" % (line, self.stderr()))
        self.ports.append(int(m.group(2)))
        return self


class MsgpackClient:
    """MessagePack-RPC over TCP with python3-msgpack: [0, id, method, params] -> [1, id, error,
    result]."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.unpacker = msgpack.Unpacker(raw=False, timestamp=3)
        self.timeout = timeout
        self.next_id = 0

    def call(self, method, params):
        """(error, result) of one call."""
        self.next_id += 1
        self.sock.sendall(msgpack.packb([0, self.next_id, method, params], use_bin_type=True,
                                        datetime=True))
        deadline = time.monotonic() + self.timeout
        while True:
            for answer in self.unpacker:
                self.assert_shape(answer)
                return answer[2], answer[3]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no MessagePack answer in time")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.unpacker.feed(chunk)

    def assert_shape(self, answer):
        if not (isinstance(answer, list) and len(answer) == 4 and answer[:2] == [1, self.next_id]):
            raise AssertionError("unexpected MessagePack answer %r" % (answer,))

    def close(self):
        self.sock.close()


class ServerTest(unittest.TestCase):
    """One inventory_server for the class; clients of every protocol."""

    server_args = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Inventory(**cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def jsonrpc(self):
        c = LineClient(self.server.port)
        self.addCleanup(c.sock.close)
        return c

    def http(self, method, params):
        """The JSON-RPC answer object of one HTTP POST."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        status, _, answer = http_post(self.server.port, "/", body, "application/json")
        self.assertEqual(status, 200)
        return json.loads(answer)

    def xmlrpc(self):
        # allow_none: an empty std::optional member is written as <nil/> (the extension netcall
        # speaks, docs/protocols.md).
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % self.server.port,
                                          allow_none=True)
        self.addCleanup(proxy("close"))
        return proxy

    def msgpack(self):
        c = MsgpackClient(self.server.port)
        self.addCleanup(c.close)
        return c

    def assert_jsonrpc_error(self, answer, code, *fragments):
        self.assertIn("error", answer, answer)
        self.assertEqual(answer["error"]["code"], code, answer)
        for fragment in fragments:
            self.assertIn(fragment, answer["error"]["message"])


class DescribedStructs(ServerTest):
    def test_round_trip_over_jsonrpc_tcp(self):
        c = self.jsonrpc()
        sent = item("TCP-1")
        self.assertEqual(c.call("item.put", [sent]), {"jsonrpc": "2.0", "result": True, "id": 1})
        self.assertEqual(c.call("item.put", {"item": sent})["result"], False)  # replaced
        self.assertEqual(c.call("item.get", ["TCP-1"])["result"], sent)
        self.assertEqual(c.call("item.get", {"sku": "TCP-1"})["result"], sent)

    def test_round_trip_over_jsonrpc_http(self):
        sent = item("HTTP-1", tags=[], price=0.25, status="discontinued")
        self.assertEqual(self.http("item.put", [sent])["result"], True)
        self.assertEqual(self.http("item.get", ["HTTP-1"])["result"], sent)
        self.assertIn(sent, self.http("item.find", ["discontinued"])["result"])

    def test_round_trip_over_xmlrpc_as_a_dict(self):
        proxy = self.xmlrpc()
        sent = item("XML-1", tags=["a", "b", "c"], status="in_stock")
        self.assertIs(proxy.item.put(sent), True)
        got = proxy.item.get("XML-1")
        self.assertIsInstance(got, dict)
        self.assertEqual(got, sent)
        self.assertIn(sent, proxy.item.find("in_stock"))

    def test_round_trip_over_msgpack_as_a_map(self):
        c = self.msgpack()
        sent = item("MP-1", quantity=0, price=-1.5)
        self.assertEqual(c.call("item.put", [sent]), (None, True))
        error, got = c.call("item.get", ["MP-1"])
        self.assertIsNone(error)
        self.assertIsInstance(got, dict)
        self.assertEqual(got, sent)

    def test_optional_members_may_be_omitted_and_come_back_as_nil(self):
        sent = item("OPT-1", price=None, bin=None)
        c = self.jsonrpc()
        self.assertEqual(c.call("item.put", [sent])["result"], True)
        self.assertEqual(c.call("item.get", ["OPT-1"])["result"],
                         dict(sent, price=None, bin=None))
        # Given as null, they are empty too.
        self.assertEqual(c.call("item.put", [dict(sent, price=None, bin=None)])["result"], False)
        self.assertEqual(self.xmlrpc().item.get("OPT-1"), dict(sent, price=None, bin=None))
        self.assertEqual(self.msgpack().call("item.get", ["OPT-1"]),
                         (None, dict(sent, price=None, bin=None)))

    def test_the_enum_travels_by_name(self):
        c = self.jsonrpc()
        for status in ("in_stock", "backordered", "discontinued"):
            c.call("item.put", [item("ENUM-" + status, status=status)])
        for status in ("in_stock", "backordered", "discontinued"):
            with self.subTest(status=status):
                found = c.call("item.find", [status])["result"]
                self.assertIn(item("ENUM-" + status, status=status), found)
                self.assertEqual({i["status"] for i in found}, {status})
        # The number behind the name is not its wire form.
        self.assert_jsonrpc_error(c.call("item.find", [1]), -32602, "expected string")

    def test_a_wrong_enum_name_lists_the_allowed_names(self):
        c = self.jsonrpc()
        answer = c.call("item.put", [item("BAD-ENUM", status="sold_out")])
        self.assert_jsonrpc_error(answer, -32602, "member 'status'", "sold_out",
                                  "in_stock, backordered, discontinued")
        answer = c.call("item.find", ["lost"])
        self.assert_jsonrpc_error(answer, -32602, "status", "lost",
                                  "in_stock, backordered, discontinued")

    def test_a_missing_member_is_invalid_params_naming_it(self):
        sent = item("MISSING", quantity=None)
        self.assert_jsonrpc_error(self.jsonrpc().call("item.put", [sent]), -32602,
                                  "missing member 'quantity'")
        self.assert_jsonrpc_error(self.http("item.put", [sent]), -32602,
                                  "missing member 'quantity'")
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            self.xmlrpc().item.put(sent)
        self.assertEqual(fault.exception.faultCode, -32602)
        self.assertIn("missing member 'quantity'", fault.exception.faultString)
        error, result = self.msgpack().call("item.put", [sent])
        self.assertIsNone(result)
        self.assertEqual(error["code"], -32602)
        self.assertIn("missing member 'quantity'", error["message"])
        # Inside the nested struct, the path is named.
        answer = self.jsonrpc().call("item.put", [item("MISSING", bin={"aisle": "C"})])
        self.assert_jsonrpc_error(answer, -32602, "member 'bin'", "missing member 'shelf'")
        # Nothing was stored.
        self.assert_jsonrpc_error(self.jsonrpc().call("item.get", ["MISSING"]), -32000,
                                  "no item 'MISSING'")

    def test_an_unknown_member_is_invalid_params_naming_it(self):
        sent = dict(item("UNKNOWN"), colour="red")
        self.assert_jsonrpc_error(self.jsonrpc().call("item.put", [sent]), -32602,
                                  "unknown member 'colour'")
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            self.xmlrpc().item.put(sent)
        self.assertEqual(fault.exception.faultCode, -32602)
        self.assertIn("unknown member 'colour'", fault.exception.faultString)
        error, _ = self.msgpack().call("item.put", [sent])
        self.assertEqual(error["code"], -32602)
        self.assertIn("unknown member 'colour'", error["message"])

    def test_an_int_out_of_int32_range_is_invalid_params_never_wrapped(self):
        c = self.jsonrpc()
        for quantity in (2**31, 2**32 + 3, -2**31 - 1, 2**63 - 1):
            with self.subTest(quantity=quantity):
                answer = c.call("item.put", [item("RANGE", quantity=quantity)])
                self.assert_jsonrpc_error(answer, -32602, "member 'quantity'",
                                          "integer %d out of range" % quantity,
                                          "-2147483648..2147483647")
        error, _ = self.msgpack().call("item.put", [item("RANGE", quantity=2**32 + 3)])
        self.assertEqual(error["code"], -32602)
        self.assert_jsonrpc_error(c.call("item.get", ["RANGE"]), -32000, "no item 'RANGE'")
        # The largest int32 is taken as it is.
        self.assertEqual(c.call("item.put", [item("RANGE", quantity=2**31 - 1)])["result"], True)
        self.assertEqual(c.call("item.get", ["RANGE"])["result"]["quantity"], 2**31 - 1)

    def test_a_member_of_the_wrong_type_names_its_path(self):
        c = self.jsonrpc()
        answer = c.call("item.put", [item("TYPE", tags=["ok", 7])])
        self.assert_jsonrpc_error(answer, -32602, "param 1 (item)", "member 'tags'", "element 1",
                                  "expected string")
        answer = c.call("item.put", [item("TYPE", quantity="3")])
        self.assert_jsonrpc_error(answer, -32602, "member 'quantity'", "expected int")
        answer = c.call("item.put", [[ANCHOR]])
        self.assert_jsonrpc_error(answer, -32602, "expected struct")


class BytesAndDateTime(ServerTest):
    def test_bytes_params_take_base64_text_over_jsonrpc(self):
        c = self.jsonrpc()
        self.assertEqual(c.call("blob.size", ["aGVsbG8gd29ybGQ="])["result"], 11)  # hello world
        self.assertEqual(c.call("blob.size", {"data": ""})["result"], 0)
        self.assertEqual(c.call("blob.size", ["AAEC/w=="])["result"], 4)  # 00 01 02 ff
        for bad in ("not base64!", "aGVsbG8", "=abc"):
            with self.subTest(text=bad):
                self.assert_jsonrpc_error(c.call("blob.size", [bad]), -32602, "param 1 (data)",
                                          "not base64")
        self.assert_jsonrpc_error(c.call("blob.size", [12]), -32602, "expected base64, got int")

    def test_date_time_params_take_iso_8601_text_over_jsonrpc(self):
        c = self.jsonrpc()
        cases = [
            (["2026-12-31T23:59:30", 45], "2027-01-01T00:00:15"),
            (["2024-02-28T12:00:00", 86400], "2024-02-29T12:00:00"),  # a leap year
            (["2023-03-01T00:00:00", -1], "2023-02-28T23:59:59"),
            (["20261203T10:15:00", 0], "2026-12-03T10:15:00"),  # the XML-RPC form
            ({"t": "2026-06-01T08:00:00Z", "seconds": 3600}, "2026-06-01T09:00:00"),
        ]
        for params, expected in cases:
            with self.subTest(params=params):
                self.assertEqual(c.call("clock.add_seconds", params).get("result"), expected)
        for bad in ("yesterday", "2026-13-01T00:00:00", "2026-12-03", "2026-12-03T25:00:00"):
            with self.subTest(text=bad):
                self.assert_jsonrpc_error(c.call("clock.add_seconds", [bad, 1]), -32602,
                                          "param 1 (t)", "not an ISO 8601 date-time")
        # No such day; results beyond the years a date-time holds (the procedure's own checks).
        self.assertEqual(c.call("clock.add_seconds", ["2026-02-30T00:00:00", 1])["error"]["code"],
                         -32602)
        for params in (["9999-12-31T23:59:59", 1], ["0000-01-01T00:00:00", -1],
                       ["2026-01-01T00:00:00", 2**62], ["2026-01-01T00:00:00", -2**63]):
            with self.subTest(params=params):
                self.assert_jsonrpc_error(c.call("clock.add_seconds", params), -32602,
                                          "outside years 0..9999")

    def test_the_typed_forms_of_xmlrpc_and_msgpack(self):
        proxy = self.xmlrpc()
        self.assertEqual(proxy.blob.size(xmlrpc.client.Binary(b"\x00\x01\xff")), 3)
        got = proxy.clock.add_seconds(xmlrpc.client.DateTime("20261231T23:59:30"), 45)
        self.assertIsInstance(got, xmlrpc.client.DateTime)
        self.assertEqual(got.value, "20270101T00:00:15")
        c = self.msgpack()
        self.assertEqual(c.call("blob.size", [b"\x00" * 300]), (None, 300))
        t = datetime.datetime(2026, 12, 31, 23, 59, 30, tzinfo=datetime.timezone.utc)
        error, got = c.call("clock.add_seconds", [t, 45])
        self.assertIsNone(error)
        self.assertEqual(got, datetime.datetime(2027, 1, 1, 0, 0, 15,
                                                tzinfo=datetime.timezone.utc))


class AnswerCollector:
    """Reads JSON-RPC answers from one connection on a thread, noting when each arrived."""

    def __init__(self, client, expected, timeout):
        self.client = client
        self.expected = expected
        self.timeout = timeout
        self.answers = {}  # id -> (monotonic arrival time, answer)
        self.failure = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + self.timeout
        try:
            for _ in range(self.expected):
                answer = self.client.read_json(timeout=max(0.01, deadline - time.monotonic()))
                self.answers[answer["id"]] = (time.monotonic(), answer)
        except Exception as e:  # reported by join()
            self.failure = e

    def join(self):
        self.thread.join(self.timeout + 5)
        if self.thread.is_alive():
            raise TimeoutError("the answer reader did not finish")
        if self.failure:
            raise AssertionError("reading answers: %r (got %d of %d)" %
                                 (self.failure, len(self.answers), self.expected))
        return self.answers


class CoroutineAndBlockingUnderLoad(ServerTest):
    # One event loop; the default blocking pool (4 threads, 256 queued).
    server_args = {"threads": 1}

    BLOCKING_CALLS = 8     # more than the pool's 4 threads: 4 of them queue
    BLOCKING_MS = 2000
    COROUTINE_CALLS = 8
    COROUTINE_MS = 1000
    FAST_CALLS = 20
    FAST_CALL_GAP = 0.05   # spreads the fast calls over the first second (pacing, not ordering)
    FAST_BOUND = 0.5

    def test_a_fast_call_is_answered_while_blocking_and_coroutine_calls_wait(self):
        c = self.jsonrpc()
        stock = item("LOAD-1", quantity=100)
        self.assertEqual(c.call("item.put", [stock])["result"], True)

        # Every slow call on one connection, in one write; answers are read on a thread.
        slow = self.jsonrpc()
        requests = []
        for i in range(self.BLOCKING_CALLS):
            requests.append({"jsonrpc": "2.0", "id": 100 + i, "method": "report.stock",
                             "params": [self.BLOCKING_MS]})
        for i in range(self.COROUTINE_CALLS):
            requests.append({"jsonrpc": "2.0", "id": 200 + i, "method": "item.reserve",
                             "params": {"sku": "LOAD-1", "quantity": 1,
                                        "hold_ms": self.COROUTINE_MS}})
        collector = AnswerCollector(slow, len(requests), timeout=30)
        started = time.monotonic()
        slow.send("".join(json.dumps(r) + "\n" for r in requests))

        latencies = []
        for i in range(self.FAST_CALLS):
            t0 = time.monotonic()
            answer = c.call("item.get", ["LOAD-1"], id=i)
            latencies.append(time.monotonic() - t0)
            self.assertEqual(answer["result"]["sku"], "LOAD-1")
            time.sleep(self.FAST_CALL_GAP)
        fast_done = time.monotonic()
        answers = collector.join()

        print("\nitem.get under load: worst %.1f ms, median %.1f ms over %d calls"
              % (max(latencies) * 1000, sorted(latencies)[len(latencies) // 2] * 1000,
                 len(latencies)))
        self.assertLess(max(latencies), self.FAST_BOUND, latencies)

        blocking = [answers[100 + i] for i in range(self.BLOCKING_CALLS)]
        coroutine = [answers[200 + i] for i in range(self.COROUTINE_CALLS)]
        # The fast calls were answered while every blocking call was still running or queued.
        self.assertLess(fast_done, min(t for t, _ in blocking))

        # Each blocking call ran once, numbered 1..8; the pool's 4 threads took two rounds.
        for _, answer in blocking:
            self.assertNotIn("error", answer)
            self.assertEqual(answer["result"]["items"], 1)
        self.assertEqual(sorted(a["result"]["number"] for _, a in blocking),
                         list(range(1, self.BLOCKING_CALLS + 1)))
        self.assertGreaterEqual(max(t for t, _ in blocking) - started,
                                2 * self.BLOCKING_MS / 1000 - 0.05)

        # Each coroutine held one unit for 1 s, all at once (99, 98, ... 92 left), and answered
        # without waiting for the blocking pool.
        peer = "127.0.0.1:%d" % slow.sock.getsockname()[1]
        for _, answer in coroutine:
            self.assertNotIn("error", answer)
            self.assertEqual(answer["result"]["sku"], "LOAD-1")
            self.assertEqual(answer["result"]["quantity"], 1)
            self.assertEqual(answer["result"]["held_for"], peer)
        self.assertEqual(sorted(a["result"]["left"] for _, a in coroutine),
                         list(range(100 - self.COROUTINE_CALLS, 100)))
        self.assertGreaterEqual(min(t for t, _ in coroutine) - started,
                                self.COROUTINE_MS / 1000 - 0.05)
        self.assertLess(max(t for t, _ in coroutine), min(t for t, _ in blocking))
        # The units came back after each hold.
        self.assertEqual(c.call("item.get", ["LOAD-1"])["result"]["quantity"], 100)


class FullBlockingPool(ServerTest):
    # One event loop, a pool of one thread and a queue of one: the third blocking call at once
    # finds the pool full.
    server_args = {"threads": 1, "blocking_threads": 1, "max_blocking_queue": 1}

    def test_past_threads_plus_queue_a_blocking_call_is_refused_unrun(self):
        c = self.jsonrpc()
        self.assertEqual(c.call("report.count")["result"], 0)
        slow = self.jsonrpc()
        collector = AnswerCollector(slow, 3, timeout=20)
        # One write: the server reads the three in order on one connection.
        slow.send("".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "report.stock",
                                      "params": [2000]}) + "\n" for i in (1, 2, 3)))
        # The pool holds two calls (one running, one queued) from when the third is refused
        # until the first ends 2 s later; the gauge says so, and drops to 0 after them.
        wait_for_metric(self.server.port, "netcall_blocking_calls", lambda v: v == 2,
                        timeout=20)
        answers = collector.join()
        self.assertEqual(wait_for_metric(self.server.port, "netcall_blocking_calls",
                                         lambda v: v == 0, timeout=20), 0)
        self.assertEqual(answers[3][1]["error"]["code"], -32001, answers[3])
        self.assertIn("blocking pool is full", answers[3][1]["error"]["message"])
        self.assertLess(answers[3][0], min(answers[1][0], answers[2][0]))  # refused at once
        self.assertEqual(sorted(answers[i][1]["result"]["number"] for i in (1, 2)), [1, 2])
        # The refused call never ran: two reports were made, not three.
        self.assertEqual(c.call("report.count")["result"], 2)
        # The pool takes calls again once it has room.
        self.assertEqual(c.call("report.stock", [0])["result"]["number"], 3)



class Lifecycle(unittest.TestCase):
    def test_sigterm_ends_the_example_with_status_0(self):
        server = Inventory(threads=1).start()
        try:
            c = LineClient(server.port)
            self.addCleanup(c.sock.close)
            self.assertEqual(c.call("report.count")["result"], 0)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr())

    def test_a_malformed_count_is_a_usage_error(self):
        r = subprocess.run([INVENTORY, "127.0.0.1:0", "one"], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertIn("usage: inventory_server", r.stderr)


if __name__ == "__main__":
    unittest.main()
