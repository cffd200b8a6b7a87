"""The netcall command line (SPEC §3) as a new user types it: options anywhere before `--`, an
unknown command, --version, the error line of a failed call, and `bench` when calls fail."""

import json
import os
import re
import socket
import unittest

from harness import Netcalld, metric, run

ALL_PROTOCOLS = ["jsonrpc", "jsonrpc-http", "xmlrpc", "msgpack"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def closed_port():
    """A port nothing listens on: bound to 127.0.0.1:0, read, closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        self.assertIn("add", [line.split("(")[0] for line in r.stdout.splitlines()])

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


class BenchFailures(unittest.TestCase):
    """SPEC §3: bench exits 3 when it cannot connect and 1 when every call failed, with one
    line on stderr and no report; when some calls fail, the report counts them."""

    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_unreachable_target_is_one_line_and_exit_3(self):
        port = closed_port()
        for extra in ([], ["--json"]):
            with self.subTest(extra=extra):
                # A run of 60 s: only stopping at the first refused connection ends it within
                # run()'s 30 s.
                r = run(["bench", "127.0.0.1:%d" % port, "add", "1", "2", "--duration", "60s",
                         "--warmup", "0ms", *extra], timeout=30)
                self.assertEqual((r.returncode, r.stdout), (3, ""), r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                self.assertTrue(r.stderr.startswith(
                    "netcall: bench: every call failed: cannot connect to 127.0.0.1:%d" % port),
                    r.stderr)

    def test_unreachable_target_in_the_warmup_is_exit_3(self):
        port = closed_port()
        r = run(["bench", "127.0.0.1:%d" % port, "add", "1", "2", "--calls", "10"], timeout=30)
        self.assertEqual((r.returncode, r.stdout), (3, ""), r.stderr)
        self.assertIn("cannot connect", r.stderr)

    def test_a_method_that_always_fails_is_one_line_and_exit_1(self):
        for extra in ([], ["--json"]):
            with self.subTest(extra=extra):
                r = run(["bench", self.server.address, "nope", "--calls", "50",
                         "--warmup", "0ms", *extra], timeout=60)
                self.assertEqual(
                    (r.returncode, r.stdout, r.stderr),
                    (1, "", "netcall: bench: every call failed: error -32601: method not "
                            "found: nope\n"))

    def test_every_call_timing_out_is_exit_3(self):
        r = run(["bench", self.server.address, "sleep", "1000", "--timeout", "100ms",
                 "--calls", "4", "--concurrency", "2", "--warmup", "0ms"], timeout=60)
        self.assertEqual((r.returncode, r.stdout), (3, ""), r.stderr)
        self.assertTrue(r.stderr.startswith("netcall: bench: every call failed: "), r.stderr)
        self.assertIn("100ms", r.stderr)

    def test_some_calls_failing_prints_the_report_and_the_count_and_exits_1(self):
        # One call in flight per connection: while the first sleep runs, the other slot's calls
        # are refused with -32001 (not run), so some calls succeed and the rest fail.
        with Netcalld("--max-in-flight", "1") as d:
            r = run(["bench", d.address, "sleep", "200", "--calls", "10", "--concurrency", "2",
                     "--connections", "1", "--warmup", "0ms"], timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        m = re.search(r"^calls +10 in [\d.]+ s \(errors: (\d+)\)$", r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        errors = int(m.group(1))
        self.assertTrue(1 <= errors < 10, r.stdout)
        self.assertIn("throughput", r.stdout)
        self.assertEqual(
            r.stderr.splitlines()[-1].split("; the first: ")[0],
            "netcall: bench: %d of 10 calls failed" % errors)
        self.assertIn("; the first: error -32001: ", r.stderr)

    def test_client_cpu_share_stays_within_the_machine(self):
        # A run of a few milliseconds, warm-up included, used to divide the whole process's
        # CPU time by a near-zero window (a client CPU of millions of percent); a 2 ms window
        # still read 304% on 2 cores (the kernel counts a thread's CPU time at scheduler ticks).
        limit = 100.0 * (os.cpu_count() or 1) * 1.5  # leeway for rusage rounding
        for warmup in ("0ms", "200ms"):
            with self.subTest(warmup=warmup, window="a few ms"):
                r = run(["bench", self.server.address, "add", "1", "2", "--calls", "100",
                         "--warmup", warmup, "--json"], timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                report = json.loads(r.stdout)
                if report["duration_s"] < 0.1:
                    self.assertIsNone(report["client_cpu_pct"], report)
                    self.assertIsNone(report["client_cpu_us_per_call"], report)
                elif report["client_cpu_pct"] is not None:  # a slow machine: still possible
                    self.assertLessEqual(report["client_cpu_pct"], limit, report)
            with self.subTest(warmup=warmup, window="300ms"):
                r = run(["bench", self.server.address, "add", "1", "2", "--duration", "300ms",
                         "--warmup", warmup, "--json"], timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                report = json.loads(r.stdout)
                self.assertIsNotNone(report["client_cpu_pct"], report)
                self.assertLessEqual(report["client_cpu_pct"], limit, report)
                self.assertGreater(report["client_cpu_pct"], 0, report)
                self.assertGreater(report["client_cpu_us_per_call"], 0, report)
        # The table says why there is no share (the window includes connecting: it may pass
        # 100 ms on a loaded machine, and then the table shows the share).
        r = run(["bench", self.server.address, "add", "1", "2", "--calls", "1",
                 "--warmup", "0ms"], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        measured = float(re.search(r"^calls +1 in ([\d.]+) s", r.stdout, re.M).group(1))
        if measured < 0.09:
            self.assertIn("client CPU   n/a (measured for under 100 ms)\n", r.stdout)
        elif measured > 0.11:
            self.assertRegex(r.stdout, r"client CPU   \d+% of a core")


if __name__ == "__main__":
    unittest.main()
