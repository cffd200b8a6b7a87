"""The netcall command line (SPEC §3) as a new user types it: options anywhere before `--`, an
unknown command, --version and the error line of a failed call."""

import os
import re
import unittest

from harness import Netcalld, metric, run

ALL_PROTOCOLS = ["jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def calls_over(port, protocol):
    """How many calls the server on `port` has served over `protocol` (its /metrics)."""
    return metric(port, 'netcall_calls_total{protocol="%s"}' % protocol)


class OptionsAnywhere(unittest.TestCase):
    """SPEC §3: options may stand anywhere before a bare `--`; every argument after it is a
    PARAM; a PARAM that starts with `-` and is not a number goes after `--`."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()
        cls.target = cls.server.address

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_retries_after_the_params_is_an_option(self):
        r = run(["call", self.target, "add", "1", "2", "--retries", "2"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "3\n", ""))

    def test_protocol_after_the_params_is_the_protocol_used(self):
        for protocol in ("xmlrpc", "msgpack"):
            for form in (["--protocol", protocol], ["--protocol=" + protocol]):
                with self.subTest(form=form):
                    before = calls_over(self.server.port, protocol)
                    r = run(["call", self.target, "add", "1", "2", *form])
                    self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "3\n", ""))
                    self.assertEqual(calls_over(self.server.port, protocol), before + 1)

    def test_options_between_target_method_and_params(self):
        r = run(["call", self.target, "--timeout", "2s", "add", "-v", "1", "--retries", "1", "2"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "3\n", ""))
        r = run(["call", self.target, "subtract", "minuend=10", "--protocol", "jsonrpc-http",
                 "subtrahend=3"])
        self.assertEqual((r.returncode, r.stdout), (0, "7\n"))

    def test_list_takes_options_after_target(self):
        r = run(["list", self.target, "--protocol", "xmlrpc"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("add", [line.split("\t")[0] for line in r.stdout.splitlines()])

    def test_bench_takes_call_options_after_the_params(self):
        before = calls_over(self.server.port, "msgpack")
        r = run(["bench", self.target, "add", "1", "2", "--calls", "20", "--warmup", "0ms",
                 "--concurrency", "2", "--connections", "1", "--protocol", "msgpack", "--json"],
                timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(calls_over(self.server.port, "msgpack"), before + 20)

    def test_an_unknown_option_after_the_params_is_a_usage_error(self):
        r = run(["call", self.target, "add", "1", "2", "--bogus"])
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (2, "", "netcall: unknown option '--bogus'\n"))
        r = run(["call", self.target, "add", "1", "2", "--protocol", "smtp"])
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertIn("'smtp'", r.stderr)

    def test_negative_numbers_are_params(self):
        for params, result in ((["-5", "-3"], "-8\n"), (["-1.5", "2"], "0.5\n"),
                               (["-1.5", "-2.5"], "-4.0\n"), (["-1e3", "1"], "-999.0\n")):
            with self.subTest(params=params):
                r = run(["call", self.target, "add", *params])
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, result, ""))

    def test_after_double_dash_every_argument_is_a_param(self):
        r = run(["call", self.target, "echo", "--", "--retries"])
        self.assertEqual((r.returncode, r.stdout), (0, '"--retries"\n'))
        r = run(["call", self.target, "add", "1", "--", "-5"])
        self.assertEqual((r.returncode, r.stdout), (0, "-4\n"))
        r = run(["call", "--protocol", "xmlrpc", self.target, "echo", "--", "-x"])
        self.assertEqual((r.returncode, r.stdout), (0, '"-x"\n'))

    def test_a_dash_word_that_is_not_a_number_before_double_dash_is_a_usage_error(self):
        r = run(["call", self.target, "echo", "-x"])
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertIn("unknown option '-x'", r.stderr)
        self.assertIn("after --", r.stderr)

    def test_params_that_look_like_lists_or_commands_are_kept_whole(self):
        for word, result in (("[1,2]", "[1,2]\n"), ("{}", "{}\n"), ("a,b", '"a,b"\n'),
                             ("list", '"list"\n'), ("call", '"call"\n')):
            with self.subTest(word=word):
                r = run(["call", self.target, "echo", word])
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, result, ""))


class UnknownCommand(unittest.TestCase):
    def test_a_typo_names_the_commands_and_exits_2(self):
        for word in ("cal", "lst"):
            with self.subTest(word=word):
                r = run([word, "127.0.0.1:1", "add", "1", "2"])
                self.assertEqual(
                    (r.returncode, r.stdout, r.stderr),
                    (2, "", "netcall: unknown command '%s' (commands: call, list, bench, "
                            "cluster)\n" % word))

    def test_a_typo_after_cluster_names_its_commands(self):
        r = run(["cluster", "aply", "cluster.yaml"])
        self.assertEqual(
            (r.returncode, r.stdout, r.stderr),
            (2, "", "netcall: unknown command 'cluster aply' (commands: apply, status)\n"))


class Version(unittest.TestCase):
    def test_version_prints_the_project_version_and_exits_0(self):
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            version = re.search(r"project\(netcall VERSION (\d+\.\d+\.\d+)", f.read()).group(1)
        r = run(["--version"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "netcall %s\n" % version, ""))


class ErrorLine(unittest.TestCase):
    """SPEC §3: exit 1 and one line on stderr naming the code the server answered with."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_the_error_line_names_the_code_on_every_protocol(self):
        for protocol in ALL_PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = run(["call", self.server.address, "nope", "--protocol", protocol])
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (1, "", "netcall: error -32601: method not found: nope\n"))
                r = run(["call", self.server.address, "divide", "1", "0",
                         "--protocol", protocol])
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (1, "", "netcall: error -32000: divide: division by zero\n"))
                r = run(["call", self.server.address, "is_alnum", "1", "--protocol", protocol])
                self.assertEqual(r.returncode, 1)
                self.assertTrue(r.stderr.startswith("netcall: error -32602: "), r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
