"""Interop: MessagePack-RPC with Debian's python3-msgpack as the client (bytes on a socket)."""

import datetime
import socket
import time
import unittest

import msgpack

from harness import Netcalld


class MsgpackClient:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.unpacker = msgpack.Unpacker(raw=False, timestamp=3)
        self.timeout = timeout

    def send(self, *messages):
        self.sock.sendall(b"".join(
            msgpack.packb(m, use_bin_type=True, datetime=True) for m in messages))

    def receive(self, count):
        """The next `count` messages, bounded by the timeout."""
        out = []
        deadline = time.monotonic() + self.timeout
        while len(out) < count:
            for m in self.unpacker:
                out.append(m)
            if len(out) >= count:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("expected %d messages, got %d" % (count, len(out)))
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.unpacker.feed(chunk)
        return out

    def call(self, msgid, method, params):
        self.send([0, msgid, method, params])
        return self.receive(1)[0]

    def close(self):
        self.sock.close()


class PythonMsgpackRpc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def client(self):
        c = MsgpackClient(self.server.port)
        self.addCleanup(c.close)
        return c

    def test_request_and_response_shape(self):
        c = self.client()
        self.assertEqual(c.call(1, "add", [2, 3]), [1, 1, None, 5])
        self.assertEqual(c.call(2, "divide", [7, 2]), [1, 2, None, 3.5])
        self.assertEqual(c.call(4294967295, "add", [1.5, 0.5]), [1, 4294967295, None, 2.0])

    def test_errors_use_the_spec_shape(self):
        c = self.client()
        msg_type, msgid, error, result = c.call(3, "divide", [1, 0])
        self.assertEqual((msg_type, msgid, result), (1, 3, None))
        self.assertEqual(error["code"], -32000)
        self.assertIn("division by zero", error["message"])
        self.assertEqual(c.call(4, "nope", [])[2]["code"], -32601)
        self.assertEqual(c.call(5, "add", ["x", 1])[2]["code"], -32602)
        self.assertEqual(c.call(6, 42, [])[2]["code"], -32600)

    def test_bytes_travel_as_bin(self):
        c = self.client()
        data = bytes(range(256))
        self.assertEqual(c.call(1, "echo", [data]), [1, 1, None, data])

    def test_nested_values_and_timestamps(self):
        c = self.client()
        value = {"k": [1, -2, 2.5, None, True, "ünï", {"deep": [[[]]]}]}
        self.assertEqual(c.call(1, "echo", [value])[3], value)
        when = datetime.datetime(2026, 11, 21, 13, 45, 7, tzinfo=datetime.timezone.utc)
        self.assertEqual(c.call(2, "echo", [when])[3], when)

    def test_timestamps_keep_their_microseconds(self):
        # msgpack.Timestamp(seconds, nanoseconds) with whole microseconds comes back exactly,
        # as the 64-bit form (1970 to 2514) or the 96-bit one (before 1970).
        c = self.client()
        c.unpacker = msgpack.Unpacker(raw=False)  # timestamps as msgpack.Timestamp
        for i, (seconds, nanoseconds) in enumerate([(1795268707, 123456000), (0, 1000),
                                                    (1795268707, 999999000),
                                                    (-2208988800, 500000000),
                                                    (253402300799, 999999000)]):
            sent = msgpack.Timestamp(seconds, nanoseconds)
            self.assertEqual(c.call(i, "echo", [sent]), [1, i, None, sent], sent)
        # Nanoseconds below a microsecond are not kept (date-times hold microseconds).
        got = c.call(9, "echo", [msgpack.Timestamp(1795268707, 123456789)])[3]
        self.assertEqual(got, msgpack.Timestamp(1795268707, 123456000))
        # A datetime with microseconds (packb(datetime=True)) comes back as the same datetime.
        d = self.client()
        when = datetime.datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=datetime.timezone.utc)
        self.assertEqual(d.call(1, "echo", [when])[3], when)

    def test_integers_beyond_int64_are_refused_naming_them(self):
        c = self.client()
        msg_type, msgid, error, result = c.call(1, "echo", [2**64 - 1])
        self.assertEqual((msg_type, msgid, result), (1, 1, None))
        self.assertEqual(error["code"], -32602)
        self.assertIn("18446744073709551615", error["message"])
        self.assertIn("beyond int64", error["message"])
        _, _, error, _ = c.call(2, "subtract", {"minuend": 2**63, "subtrahend": 1})
        self.assertEqual(error["code"], -32602)
        self.assertIn("9223372036854775808", error["message"])
        # A notification holding one is not answered; the connection goes on.
        c.send([2, "echo", [2**64 - 1]])
        self.assertEqual(c.call(3, "echo", [2**63 - 1]), [1, 3, None, 2**63 - 1])

    def test_notifications_get_no_answer(self):
        c = self.client()
        before = c.call(1, "counter.get", [])[3]
        c.send([2, "counter.increment", []], [2, "counter.increment", []])
        self.assertEqual(c.call(2, "counter.get", []), [1, 2, None, before + 2])

    def test_out_of_order_replies(self):
        # SPEC / issue: a sleep(300) sent first is answered after an add sent second.
        c = self.client()
        c.send([0, 10, "sleep", [300]], [0, 11, "add", [1, 2]])
        first, second = c.receive(2)
        self.assertEqual(first, [1, 11, None, 3])
        self.assertEqual(second, [1, 10, None, 300])

    def test_pipelined_in_one_write(self):
        c = self.client()
        c.send(*[[0, i, "add", [i, i]] for i in range(200)])
        answers = c.receive(200)
        self.assertEqual(sorted(a[1] for a in answers), list(range(200)))
        self.assertTrue(all(a[3] == 2 * a[1] for a in answers))

    def test_message_split_byte_by_byte(self):
        c = self.client()
        packed = msgpack.packb([0, 7, "echo", ["split"]])
        for i in range(len(packed)):
            c.sock.sendall(packed[i:i + 1])
            time.sleep(0.001)  # pacing a byte-at-a-time sender (the scenario), not ordering
        self.assertEqual(c.receive(1)[0], [1, 7, None, "split"])

    def test_named_params_as_a_map(self):
        c = self.client()
        self.assertEqual(c.call(1, "subtract", {"minuend": 10, "subtrahend": 4})[3], 6)

    def test_invalid_bytes_close_only_that_connection(self):
        bad = self.client()
        bad.sock.sendall(b"\x94\xc1\xc1\xc1\xc1")
        bad.sock.settimeout(5)
        self.assertEqual(bad.sock.recv(100), b"")
        self.assertEqual(self.client().call(1, "add", [1, 1])[3], 2)

    def test_idempotency_key_in_a_fifth_element_runs_once(self):
        a, b = self.client(), self.client()
        key = "nc1:00000000000000cc:1"
        a.send([0, 1, "counter.increment", [], key])
        b.send([0, 2, "counter.increment", [], key])
        ra, rb = a.receive(1)[0], b.receive(1)[0]
        self.assertEqual(ra[3], rb[3])
        self.assertEqual((ra[1], rb[1]), (1, 2))


if __name__ == "__main__":
    unittest.main()
