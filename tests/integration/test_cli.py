"""The netcall command-line client (SPEC §3) against a real netcalld: output and exit codes."""

import json
import os
import socket
import unittest

from harness import BIN, Netcalld, run

PROTOCOLS = ["jsonrpc", "jsonrpc-http", "xmlrpc"]


def free_port():
    """A port nothing listens on (bound then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NetcallCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.target = cls.server.address

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def call(self, *args, protocol=None):
        opts = ["--protocol", protocol] if protocol else []
        return run(["call", *opts, self.target, *args])

    def test_call_prints_compact_json_on_every_protocol(self):
        for p in PROTOCOLS:
            with self.subTest(protocol=p):
                r = self.call("add", "2", "3", protocol=p)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "5\n", ""))
                r = self.call("divide", "1", "4", protocol=p)
                self.assertEqual(r.stdout, "0.25\n")
                r = self.call("add", "1.5", "0.5", protocol=p)
                self.assertEqual(r.stdout, "2.0\n")
                r = self.call("echo", '{"k":[1,"x",null,true]}', protocol=p)
                self.assertEqual(json.loads(r.stdout), {"k": [1, "x", None, True]})
                self.assertEqual(r.stdout.count("\n"), 1)
                self.assertNotIn(" ", r.stdout)

    def test_param_parsing(self):
        self.assertEqual(self.call("is_alnum", "hello").stdout, "true\n")  # bare word = string
        self.assertEqual(self.call("is_alnum", '"x y"').stdout, "false\n")
        self.assertEqual(self.call("echo", "null").stdout, "null\n")
        self.assertEqual(self.call("echo", "[1,2]").stdout, "[1,2]\n")
        self.assertEqual(self.call("subtract", "minuend=10", "subtrahend=3").stdout, "7\n")
        r = run(["call", self.target, "add", "--", "-5", "-3"])
        self.assertEqual((r.returncode, r.stdout), (0, "-8\n"))

    def test_server_error_exits_1_with_message_on_stderr(self):
        for p in PROTOCOLS:
            with self.subTest(protocol=p):
                r = self.call("divide", "1", "0", protocol=p)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, "")
                self.assertIn("division by zero", r.stderr)
                r = self.call("nope", protocol=p)
                self.assertEqual(r.returncode, 1)
                self.assertIn("nope", r.stderr)

    def test_usage_errors_exit_2(self):
        cases = [
            ["call"],
            ["call", self.target],
            ["call", "--protocol", "smtp", self.target, "add", "1", "2"],
            ["call", "--timeout", "5", self.target, "add", "1", "2"],
            ["call", "--timeout", "fast", self.target, "add", "1", "2"],
            ["call", "--bogus", self.target, "add"],
            ["call", "not-an-address", "add"],
            ["list"],
            ["frobnicate"],
            [],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = run(args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.strip(), "a usage error says why")

    def test_unreachable_exits_3(self):
        r = run(["call", "--timeout", "2s", "127.0.0.1:%d" % free_port(), "add", "1", "2"])
        self.assertEqual(r.returncode, 3)
        self.assertIn("connect", r.stderr)

    def test_timeout_exits_3(self):
        with Netcalld("--delay", "2s") as slow:
            for p in PROTOCOLS:
                with self.subTest(protocol=p):
                    r = run(["call", "--protocol", p, "--timeout", "200ms", slow.address, "add",
                             "1", "2"])
                    self.assertEqual(r.returncode, 3)
                    self.assertIn("200ms", r.stderr)

    def test_list(self):
        # One method a line: SIGNATURE<TAB>HELP (more in test_discover.py).
        for p in PROTOCOLS + ["msgpack"]:
            with self.subTest(protocol=p):
                r = run(["list", "--protocol", p, self.target])
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = {l.split("(")[0]: l.split("\t") for l in r.stdout.splitlines()}
                self.assertIn("system.multicall", lines)
                self.assertEqual(lines["add"], ["add(a: int|double, b: int|double) -> int|double",
                                                "Returns a + b."])
                self.assertEqual(lines["is_alnum"][0], "is_alnum(text: string) -> boolean")

    def test_help(self):
        for args in (["--help"], ["call", "--help"], ["list", "--help"]):
            r = run(args)
            self.assertEqual(r.returncode, 0)
            self.assertIn("--", r.stdout)


class Examples(unittest.TestCase):
    def test_calculator_server_and_client(self):
        # The example takes its address as an argument and prints "calculator listening on ...".
        import re
        import select
        import subprocess

        proc = subprocess.Popen([os.path.join(BIN, "calculator_server"), "127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            self.assertTrue(ready, "calculator_server did not start")
            line = proc.stdout.readline().decode()
            m = re.match(r"calculator listening on (\S+)", line)
            self.assertIsNotNone(m, line)
            r = run([m.group(1)], binary=os.path.join(BIN, "calculator_client"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.splitlines(), [
                "7 + 5 = 12", "7 / 2 = 3.5", "1 / 0 failed: division by zero (code -32000)"])
            r = run(["call", m.group(1), "multiply", "6", "7"])
            self.assertEqual(r.stdout, "42.0\n")
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=10), 0)
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
