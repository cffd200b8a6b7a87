"""Interop: Python's standard xmlrpc.client.ServerProxy, unmodified, against a real netcalld."""

import datetime
import unittest
import xmlrpc.client

from harness import Netcalld


class PythonXmlRpcClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.url = "http://%s/RPC2" % cls.server.address

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def proxy(self, **kw):
        return xmlrpc.client.ServerProxy(self.url, **kw)

    def test_four_arithmetic_calls(self):
        p = self.proxy()
        self.assertEqual(p.add(2, 3), 5)
        self.assertIsInstance(p.add(2, 3), int)
        self.assertEqual(p.subtract(42, 23), 19)
        self.assertEqual(p.multiply(6, 7), 42)
        self.assertEqual(p.divide(7, 2), 3.5)
        self.assertIsInstance(p.divide(6, 3), float)
        self.assertEqual(p.add(1.5, 0.5), 2.0)
        self.assertIsInstance(p.add(1.5, 0.5), float)

    def test_large_integer_results_travel_as_i8(self):
        # xmlrpc.client only sends 32-bit ints, but reads <i8> answers.
        p = self.proxy()
        self.assertEqual(p.add(2**31 - 1, 1), 2**31)
        self.assertEqual(p.multiply(2**30, 2**30), 2**60)
        self.assertEqual(p.multiply(-(2**31), 2**30), -(2**61))

    def test_remote_error_is_a_fault(self):
        p = self.proxy()
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            p.divide(1, 0)
        self.assertEqual(ctx.exception.faultCode, -32000)
        self.assertIn("division by zero", ctx.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            p.no_such_method()
        self.assertEqual(ctx.exception.faultCode, -32601)
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            p.add("x", 1)
        self.assertEqual(ctx.exception.faultCode, -32602)

    def test_a_struct_for_named_params_is_refused_saying_why(self):
        # XML-RPC params are positional: a dict is one struct param, not named params.
        p = self.proxy()
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            p.subtract({"minuend": 5, "subtrahend": 3})
        self.assertEqual(ctx.exception.faultCode, -32602)
        self.assertEqual(ctx.exception.faultString,
                         "invalid params: expected 2 params (minuend, subtrahend), got 1 struct: "
                         "XML-RPC has no named params; pass them positionally")
        # A one-param procedure takes a struct as that param, as always.
        self.assertEqual(p.echo({"minuend": 5}), {"minuend": 5})

    def test_multicall(self):
        mc = xmlrpc.client.MultiCall(self.proxy())
        mc.add(1, 2)
        mc.divide(1, 0)
        mc.is_alnum("abc123")
        results = mc()
        self.assertEqual(results[0], 3)
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            results[1]
        self.assertEqual(ctx.exception.faultCode, -32000)
        self.assertIs(results[2], True)

    def test_allow_none(self):
        p = self.proxy(allow_none=True)
        self.assertIsNone(p.echo(None))
        self.assertEqual(p.echo([1, None, "x"]), [1, None, "x"])

    def test_binary(self):
        p = self.proxy()
        data = bytes(range(256)) * 4
        out = p.echo(xmlrpc.client.Binary(data))
        self.assertIsInstance(out, xmlrpc.client.Binary)
        self.assertEqual(out.data, data)
        out = self.proxy(use_builtin_types=True).echo(b"\x00\xff")
        self.assertEqual(out, b"\x00\xff")

    def test_datetime(self):
        when = datetime.datetime(2026, 11, 21, 13, 45, 7)
        out = self.proxy(use_builtin_types=True).echo(when)
        self.assertEqual(out, when)
        out = self.proxy().echo(xmlrpc.client.DateTime(when))
        self.assertEqual(out.value, "20261121T13:45:07")

    def test_datetime_microseconds_are_not_sent_by_python(self):
        # XML-RPC has no sub-second dateTime: xmlrpc.client writes "%Y%m%dT%H:%M:%S" and drops
        # the microseconds before anything is sent, so they never reach the server.
        when = datetime.datetime(2026, 12, 3, 10, 0, 0, 123456)
        self.assertEqual(xmlrpc.client.DateTime(when).value, "20261203T10:00:00")
        out = self.proxy(use_builtin_types=True).echo(when)
        self.assertEqual(out, when.replace(microsecond=0))

    def test_a_fraction_of_a_second_in_a_datetime_is_refused(self):
        # What another client might send: refused, not silently cut.
        body = ("<?xml version='1.0'?><methodCall><methodName>echo</methodName><params>"
                "<param><value><dateTime.iso8601>2026-12-03T10:00:00.123456</dateTime.iso8601>"
                "</value></param></params></methodCall>")
        transport = xmlrpc.client.Transport()
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            transport.request(self.server.address, "/RPC2", body.encode(), verbose=False)
        self.assertEqual(ctx.exception.faultCode, -32600)
        self.assertIn("dateTime.iso8601", ctx.exception.faultString)

    def test_integers_beyond_int64_are_refused(self):
        body = ("<?xml version='1.0'?><methodCall><methodName>echo</methodName><params>"
                "<param><value><i8>18446744073709551615</i8></value></param></params>"
                "</methodCall>")
        transport = xmlrpc.client.Transport()
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            transport.request(self.server.address, "/RPC2", body.encode(), verbose=False)
        self.assertEqual(ctx.exception.faultCode, -32600)
        self.assertIn("18446744073709551615", ctx.exception.faultString)
        # xmlrpc.client itself refuses to send one (it writes ints of 32 bits only).
        with self.assertRaises(OverflowError):
            self.proxy().echo(2**64 - 1)

    def test_named_params_do_not_exist_a_struct_is_one_param(self):
        # XML-RPC params are positional: a struct sent for subtract(minuend, subtrahend) is
        # one param, refused as invalid params.
        with self.assertRaises(xmlrpc.client.Fault) as ctx:
            self.proxy().subtract({"minuend": 10, "subtrahend": 3})
        self.assertEqual(ctx.exception.faultCode, -32602)

    def test_nested_structs(self):
        value = {
            "name": "netcall",
            "tags": ["rpc", "c++", "ünïcödé <&>"],
            "inner": {"depth": 2, "deeper": {"pi": 3.25, "ok": True, "list": [[1, 2], {"a": []}]}},
            "empty": {},
        }
        self.assertEqual(self.proxy().echo(value), value)

    def test_introspection(self):
        p = self.proxy()
        methods = p.system.listMethods()
        for name in ("add", "subtract", "multiply", "divide", "echo", "is_alnum", "sleep",
                     "counter.increment", "counter.get", "system.listMethods",
                     "system.methodHelp", "system.methodSignature", "system.multicall"):
            self.assertIn(name, methods)
        self.assertIn("a + b", p.system.methodHelp("add"))
        self.assertEqual(p.system.methodSignature("add"),
                         [["int", "int", "int"], ["double", "double", "double"]])
        self.assertEqual(p.system.methodSignature("is_alnum"), [["boolean", "string"]])

    def test_keepalive_transport_many_calls(self):
        p = self.proxy()
        for i in range(50):
            self.assertEqual(p.add(i, i), 2 * i)


if __name__ == "__main__":
    unittest.main()
