"""`netcall bench` (SPEC §3): a smoke run of a few hundred calls on every protocol."""

import json
import unittest

from harness import Netcalld, run

KEYS = {"calls", "errors", "duration_s", "throughput_cps", "latency_us"}
LATENCY_KEYS = {"mean", "p50", "p90", "p99", "p999", "max"}


class Bench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Netcalld().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_json_report_on_every_protocol(self):
        for p in ("msgpack", "jsonrpc", "jsonrpc-http", "xmlrpc"):
            with self.subTest(protocol=p):
                r = run(["bench", "--protocol", p, self.server.address, "add", "2", "3",
                         "--calls", "300", "--concurrency", "8", "--connections", "2",
                         "--warmup", "0ms", "--json"], timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                report = json.loads(r.stdout)
                self.assertTrue(KEYS <= set(report), report)
                self.assertEqual(set(report["latency_us"]) & LATENCY_KEYS, LATENCY_KEYS)
                self.assertEqual(report["calls"], 300)
                self.assertEqual(report["errors"], 0)
                self.assertGreater(report["throughput_cps"], 0)
                lat = report["latency_us"]
                self.assertLessEqual(lat["p50"], lat["p90"])
                self.assertLessEqual(lat["p90"], lat["p99"])
                self.assertLessEqual(lat["p99"], lat["max"] * 1.01)

    def test_table_report_and_flags_after_params(self):
        r = run(["bench", self.server.address, "echo", '"x"', "--duration", "300ms",
                 "--warmup", "100ms", "--concurrency", "4"], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("throughput", r.stdout)
        self.assertIn("p99.9", r.stdout)
        self.assertIn("client CPU", r.stdout)

    def test_calls_n_runs_exactly_n_calls(self):
        # --calls N starts exactly N measured calls, however many are in flight: a counter
        # moved by the bench moves by N (with no warm-up, every call is measured).
        with Netcalld() as d:
            r = run(["bench", d.address, "counter.increment", "--calls", "100",
                     "--concurrency", "64", "--warmup", "0ms", "--json"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["calls"], 100)
            got = run(["call", d.address, "counter.get"])
            self.assertEqual(got.stdout, "100\n")

    def test_every_call_failing_is_one_line_and_exit_1(self):
        # No report of a run that measured nothing but failures (test_cli_options.py has the
        # run where only some calls fail: the report, with the count).
        r = run(["bench", self.server.address, "divide", "1", "0", "--calls", "50",
                 "--warmup", "0ms", "--json"], timeout=60)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "netcall: bench: every call failed: error -32000: divide: "
                                 "division by zero\n"))

    def test_unreachable_exits_3(self):
        with Netcalld() as gone:
            address = gone.address
        r = run(["bench", address, "add", "1", "2", "--calls", "10", "--warmup", "0ms"],
                timeout=60)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["bench", self.server.address],
                     ["bench", self.server.address, "add", "--duration", "5"],
                     ["bench", self.server.address, "add", "--calls", "0"],
                     ["bench", self.server.address, "add", "--concurrency", "x"],
                     ["bench", self.server.address, "add", "--calls", "5", "--duration", "1s"],
                     ["bench", self.server.address, "add", "--bogus"]):
            with self.subTest(args=args):
                r = run(args, timeout=30)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
