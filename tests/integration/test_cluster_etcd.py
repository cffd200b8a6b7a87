"""Dynamic membership through etcd (SPEC §5, docs/clusters.md "etcd"): `netcalld --registry
etcd://HOST:PORT --name N --registry-ttl T` registers `/netcall/nodes/N` bound to a lease it keeps
alive and revokes on SIGTERM; `netcall call|bench --registry URL any ...` route over the
registered nodes and follow the prefix (a node that joins is used, one that leaves is dropped,
without restarting the client); `netcall cluster status --registry URL`; `netcall cluster apply
FILE --registry URL` stores the placement under `/netcall/placement`, which nodes watch; a gateway
resolves through the registry; an etcd outage stops nothing.

Every process is real, on 127.0.0.1: a single-member etcd per test (harness.Etcd, stopped and its
directory removed at cleanup), netcalld nodes and background benches, each stopped by its PID.
Every wait polls an observable state with a bounded deadline: etcd keys (etcdctl), the
per-process `counter.increment`/`counter.get` of the demo module (where calls ran), exit codes and
bench JSON reports. Set NETCALL_ETCD_TIMINGS=1 to print the measured delays on stderr."""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

from harness import (ETCD, NETCALL, NETCALLD, Etcd, LineClient, Netcalld, cluster_yaml,
                     counter, etcd_get_prefix, etcdctl, free_port, run, wait_for_metric,
                     wait_until)

NODES = "/netcall/nodes/"
PLACEMENT = "/netcall/placement"
RTT = r"^\d+(\.\d+)?(ns|us|µs|ms|s)$"

# What each built-in module serves (system.* is never in a registry record).
MATH = ["add", "divide", "multiply", "sub", "subtract"]
TEXT = ["echo", "is_alnum"]
DEMO = ["counter.get", "counter.increment", "sleep"]
ALL = sorted(MATH + TEXT + DEMO)


def note(what, seconds):
    """Reports a measured delay on stderr when NETCALL_ETCD_TIMINGS is set."""
    if os.environ.get("NETCALL_ETCD_TIMINGS"):
        sys.stderr.write("\n  [timing] %s: %.3f s\n" % (what, seconds))


def not_found(method, *servers):
    return "method not found: %s (served by %s)" % (method, ", ".join(servers))


class BackgroundBench:
    """`netcall bench ARGS` running in the background; `finish()` waits for its JSON report."""

    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        self.proc = subprocess.Popen([NETCALL, "bench", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def running(self):
        return self.proc.poll() is None

    def finish(self, timeout=30.0):
        """(returncode, report dict or None, stderr) once the bench has ended by itself. The
        report is read from the last line of stdout; `out` keeps the whole stdout, which
        assertReportAlone holds to the report alone (SPEC §3)."""
        self.out, err = self.proc.communicate(timeout=timeout)
        lines = self.out.splitlines()
        try:
            report = json.loads(lines[-1]) if lines else None
        except ValueError:
            report = None
        return self.proc.returncode, report, err

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()  # by PID: Popen.kill signals exactly this child
        self.proc.communicate(timeout=10)


class Background:
    """Any netcall command in the background (by PID), timed from its start."""

    def __init__(self, args):
        self.started = time.monotonic()
        self.proc = subprocess.Popen([NETCALL, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.elapsed = None

    def finish(self, timeout=30.0):
        """(returncode, stdout, stderr); `elapsed` is then the time it ran (as first seen by
        poll() or by this wait)."""
        out, err = self.proc.communicate(timeout=timeout)
        if self.elapsed is None:
            self.elapsed = time.monotonic() - self.started
        return self.proc.returncode, out, err

    def poll(self):
        if self.proc.poll() is not None and self.elapsed is None:
            self.elapsed = time.monotonic() - self.started
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()  # by PID
        self.proc.communicate(timeout=10)


@unittest.skipUnless(shutil.which(ETCD), "etcd is not installed (setup.sh installs etcd-server)")
class EtcdCase(unittest.TestCase):
    CONCURRENCY = 8

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.files = 0
        self.etcd = Etcd()
        self.etcd.start()
        self.addCleanup(self.etcd.close)  # after the nodes (cleanups run last-in first-out)
        self.url = self.etcd.url

    # -- processes ---------------------------------------------------------------------------

    def node(self, name, *args, ttl="2s", port=0, registry=True):
        """A netcalld named `name` on 127.0.0.1:`port` (0: a free one), registered in this test's
        etcd with `--registry-ttl ttl`; stopped at cleanup."""
        reg = ["--registry", self.url, "--registry-ttl", ttl] if registry else []
        d = Netcalld("--listen", "127.0.0.1:%d" % port, "--name", name, *reg, *args)
        d.start()
        self.addCleanup(d.stop)
        return d

    def bench(self, args):
        b = BackgroundBench(args)
        self.addCleanup(b.stop)
        return b

    def background(self, args):
        b = Background(args)
        self.addCleanup(b.stop)
        return b

    def routed_bench(self, duration, method="counter.increment"):
        """A bench over the registry with failover allowed (--idempotent --retries 3)."""
        return self.bench(["--registry", self.url, "--idempotent", "--retries", "3", "any",
                           method, "--duration", duration, "--concurrency",
                           str(self.CONCURRENCY), "--warmup", "0ms", "--json"])

    def kill(self, d):
        d.signal(signal.SIGKILL)
        d.wait(timeout=10)

    def write(self, text):
        self.files += 1
        path = os.path.join(self.dir, "cluster%d.yaml" % self.files)
        with open(path, "w") as f:
            f.write(text)
        return path

    # -- etcd state --------------------------------------------------------------------------

    def records(self):
        """{node name: parsed JSON record} of every key under /netcall/nodes/."""
        return {k[len(NODES):]: json.loads(v) for k, v in etcd_get_prefix(self.etcd, NODES).items()}

    def leases(self):
        """{node name: lease id} of the keys under /netcall/nodes/ (0: no lease)."""
        out = json.loads(etcdctl(self.etcd, "get", "--prefix", NODES, "-w", "json"))
        return {base64.b64decode(kv["key"]).decode()[len(NODES):]: int(kv.get("lease", 0))
                for kv in out.get("kvs", [])}

    def lease_ttl(self, lease):
        """(remaining ttl, granted ttl) of a lease, in seconds; remaining -1 when it is gone."""
        out = json.loads(etcdctl(self.etcd, "lease", "timetolive", "%x" % lease, "-w", "json"))
        return out["ttl"], out.get("granted-ttl", 0)

    def wait_records(self, predicate, what, timeout=10.0):
        """Polls the records until predicate(records) holds; returns them."""
        return wait_until(lambda: (lambda r: r if predicate(r) else None)(self.records()), what,
                          timeout=timeout, interval=0.02)

    def wait_registered(self, *nodes, timeout=10.0):
        """Waits until every (name, Netcalld) in `nodes` has its key with its address."""
        return self.wait_records(
            lambda r: all(r.get(n, {}).get("address") == d.address for n, d in nodes),
            "records of %s" % ", ".join(n for n, _ in nodes), timeout=timeout)

    # -- assertions --------------------------------------------------------------------------

    def assertRecord(self, record, d, procedures):
        self.assertEqual(set(record), {"address", "procedures"}, record)
        self.assertEqual(record["address"], d.address, record)
        self.assertEqual(record["procedures"], procedures, record)

    def assertCallError(self, port, method, params, message):
        with LineClient(port, timeout=5) as c:
            answer = c.call(method, params, id="e")
        self.assertEqual(answer.get("error", {}).get("code"), -32601, answer)
        self.assertEqual(answer["error"]["message"], message)

    def assertResult(self, port, method, params, result):
        with LineClient(port, timeout=5) as c:
            answer = c.call(method, params, id="r")
        self.assertEqual(answer, {"jsonrpc": "2.0", "result": result, "id": "r"})

    def assertReportAlone(self, bench):
        """SPEC §3: `bench --json` prints its report as one JSON object on stdout; logs (if any)
        go to stderr."""
        self.assertEqual(bench.out.count("\n"), 1,
                         "stdout of bench --json holds more than the report: %r" % bench.out)
        json.loads(bench.out)

    def assertOneLine(self, r, prefix):
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith(prefix), repr(r.stderr))
        self.assertEqual(r.stderr.count("\n"), 1, repr(r.stderr))
        self.assertTrue(r.stderr.endswith("\n"), repr(r.stderr))

    def parse_status(self, out):
        """{node: (address, reachable, rtt, {procedures})} of `cluster status` output."""
        lines = out.splitlines()
        self.assertGreaterEqual(len(lines), 1, out)
        header = lines[0]
        self.assertEqual(header.split(), ["NODE", "ADDRESS", "REACHABLE", "RTT", "PROCEDURES"])
        rows = {}
        for line in lines[1:]:
            parts = line.split(None, 4)
            self.assertGreaterEqual(len(parts), 4, line)
            procs = set(p.strip() for p in parts[4].split(",")) if len(parts) == 5 else set()
            rows[parts[0]] = (parts[1], parts[2], parts[3], procs)
            self.assertEqual(line.index(parts[1]), header.index("ADDRESS"), out)
        return rows


class Registration(EtcdCase):
    def test_nodes_register_records_and_status(self):
        # Nothing registered yet: status says so and exits 1.
        r = run(["cluster", "status", "--registry", self.url], timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

        alpha = self.node("alpha")
        beta = self.node("beta", "--modules", "math")
        gamma = self.node("gamma", "--modules", "text,demo")
        expected = {"alpha": (alpha, ALL), "beta": (beta, MATH),
                    "gamma": (gamma, sorted(TEXT + DEMO))}
        records = self.wait_registered(("alpha", alpha), ("beta", beta), ("gamma", gamma))
        self.assertEqual(set(records), set(expected), records)
        for name, (d, procs) in expected.items():
            with self.subTest(node=name):
                self.assertRecord(records[name], d, procs)
                # The record lists exactly what the node serves, system.* and rpc.* aside.
                with LineClient(d.port, timeout=5) as c:
                    methods = c.call("system.listMethods", id="l")["result"]
                self.assertEqual(records[name]["procedures"], sorted(
                    m for m in methods if not m.startswith(("system.", "rpc."))))
        # Each key is bound to a lease of --registry-ttl that is kept alive.
        leases = self.leases()
        self.assertEqual(len(set(leases.values())), 3, leases)
        for name, lease in leases.items():
            with self.subTest(lease_of=name):
                self.assertNotEqual(lease, 0)
                left, granted = self.lease_ttl(lease)
                self.assertEqual(granted, 2)
                self.assertGreaterEqual(left, 0)

        r = run(["cluster", "status", "--registry", self.url], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = self.parse_status(r.stdout)
        self.assertEqual(set(rows), set(expected), r.stdout)
        for name, (d, procs) in expected.items():
            with self.subTest(status=name):
                address, reachable, rtt, listed = rows[name]
                self.assertEqual((address, reachable), (d.address, "yes"), r.stdout)
                self.assertRegex(rtt, RTT)
                self.assertEqual(listed, set(procs), r.stdout)

        # Routed by name or `any` over the registry: the call runs where the record says.
        r = run(["call", "--registry", self.url, "gamma", "counter.increment"])
        self.assertEqual((r.returncode, r.stdout), (0, "1\n"), r.stderr)
        r = run(["call", "--registry", self.url, "any", "divide", "1", "4"])
        self.assertEqual((r.returncode, r.stdout), (0, "0.25\n"), r.stderr)
        for _ in range(4):
            r = run(["call", "--registry", self.url, "any", "counter.increment"])
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(counter(alpha.port) + counter(gamma.port), 5)

    def test_sigterm_revokes_the_lease_at_once(self):
        stays = self.node("stays", ttl="10s")
        leaving = self.node("leaving", ttl="10s")
        self.wait_registered(("stays", stays), ("leaving", leaving))
        lease = self.leases()["leaving"]
        self.assertEqual(self.lease_ttl(lease)[1], 10)
        # A call in flight holds the process for 3 s after SIGTERM (--shutdown-grace 5s): the
        # lease goes first, while the node still finishes the call.
        call = self.background(["call", leaving.address, "sleep", "3000"])
        wait_for_metric(leaving.port, "netcall_calls_in_flight", lambda v: v >= 1)
        leaving.signal(signal.SIGTERM)
        t_term = time.monotonic()
        self.wait_records(lambda r: "leaving" not in r, "key of the node after SIGTERM",
                          timeout=1.0)
        gone = time.monotonic() - t_term
        note("SIGTERM to key gone (ttl 10s)", gone)
        self.assertLess(gone, 1.0)
        self.assertTrue(leaving.alive(), "the key went only when the process exited")
        self.assertEqual(self.lease_ttl(lease)[0], -1, "the lease was not revoked")
        # The other node is untouched; status lists it alone.
        self.assertEqual(set(self.records()), {"stays"})
        r = run(["cluster", "status", "--registry", self.url], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(set(self.parse_status(r.stdout)), {"stays"}, r.stdout)
        # The call in flight still finished; the node exited cleanly.
        self.assertEqual(call.finish(timeout=10), (0, "3000\n", ""))
        self.assertEqual(leaving.wait(timeout=10), 0)

    def test_lost_lease_registers_again_with_a_new_lease(self):
        # A lease that is gone (as after an outage longer than the TTL) is replaced: the node
        # grants a new one and puts its record again.
        alpha = self.node("alpha")
        self.wait_registered(("alpha", alpha))
        old = self.leases()["alpha"]
        etcdctl(self.etcd, "lease", "revoke", "%x" % old)
        t_revoke = time.monotonic()
        self.assertNotIn("alpha", self.records())
        self.wait_records(lambda r: r.get("alpha", {}).get("address") == alpha.address,
                          "alpha registered again", timeout=5.0)
        note("lease revoked to registered again (ttl 2s)", time.monotonic() - t_revoke)
        new = self.leases()["alpha"]
        self.assertNotEqual(new, old)
        self.assertEqual(self.lease_ttl(new)[1], 2)
        self.assertRecord(self.records()["alpha"], alpha, ALL)


class Membership(EtcdCase):
    def test_killed_node_leaves_within_the_ttl_and_the_bench_drops_it(self):
        nodes = {n: self.node(n) for n in ("a", "b", "c")}
        self.wait_registered(*nodes.items())
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        bench = self.routed_bench("8s")
        wait_until(lambda: all(counter(d.port) >= 20 for d in nodes.values()),
                   "traffic on every node")
        self.assertTrue(bench.running(), "the bench ended before the kill")
        b.signal(signal.SIGKILL)
        t_kill = time.monotonic()
        b.wait(timeout=10)
        self.wait_records(lambda r: "b" not in r, "key of the killed node gone", timeout=4.0)
        gone = time.monotonic() - t_kill
        note("SIGKILL to key gone (ttl 2s)", gone)
        self.assertLessEqual(gone, 2.0 + 2.0)
        self.assertEqual(set(self.records()), {"a", "c"})
        # The survivors keep getting the traffic.
        survivors = counter(a.port) + counter(c.port)
        wait_until(lambda: counter(a.port) + counter(c.port) >= survivors + 100,
                   "traffic on the survivors after the key went")
        self.assertTrue(bench.running(), "the bench ended before the check of its routing")
        # The bench dropped b from its routing: a node listening on b's address again, but not
        # registered, gets nothing from it (a replica merely in back-off would come back after a
        # health check, as in test_cluster.py's test_restarted_replica_gets_traffic_again).
        impostor = self.node("b", port=b.port, registry=False)
        survivors = counter(a.port) + counter(c.port)
        wait_until(lambda: counter(a.port) + counter(c.port) >= survivors + 100,
                   "traffic on the survivors after the impostor started")
        self.assertTrue(bench.running(), "the bench ended before the impostor was exposed to it")
        code, report, err = bench.finish(timeout=30)
        self.assertEqual(code, 0, err)
        self.assertIsNotNone(report, err)
        self.assertEqual(report["errors"], 0, report)
        self.assertGreater(report["calls"], 0, report)
        self.assertEqual(counter(impostor.port), 0,
                         "the bench still sent to the address of a node whose key is gone")
        self.assertReportAlone(bench)

    def test_node_that_joins_gets_traffic_from_a_running_bench(self):
        a, b = self.node("a"), self.node("b")
        self.wait_registered(("a", a), ("b", b))
        bench = self.routed_bench("6s")
        wait_until(lambda: counter(a.port) >= 20 and counter(b.port) >= 20, "traffic on a and b")
        joining = self.node("d")
        self.wait_registered(("d", joining), timeout=5.0)
        t_key = time.monotonic()
        self.assertTrue(bench.running(), "the bench ended before the node joined")
        wait_until(lambda: counter(joining.port) > 0, "traffic on the node that joined",
                   timeout=2.0, interval=0.01)
        note("key appeared to first call on the joining node", time.monotonic() - t_key)
        self.assertTrue(bench.running(), "the bench ended before it called the joining node")
        code, report, err = bench.finish(timeout=30)
        self.assertEqual(code, 0, err)
        self.assertEqual(report["errors"], 0, report)
        self.assertGreater(counter(joining.port), 100, "the joining node got a mere trickle")
        total = counter(a.port) + counter(b.port) + counter(joining.port)
        self.assertGreaterEqual(total, report["calls"], (total, report))
        self.assertReportAlone(bench)


class Outage(EtcdCase):
    OUTAGE = 5.0

    def test_etcd_outage_stops_nothing_and_nodes_register_again(self):
        nodes = {n: self.node(n) for n in ("a", "b", "c")}
        # A node that dies during the outage: it cannot renew, so it must be gone after etcd
        # returns (the control for "the others renew").
        doomed = self.node("doomed", "--modules", "text")
        self.wait_registered(*nodes.items(), ("doomed", doomed))
        bench = self.routed_bench("11s")
        wait_until(lambda: all(counter(d.port) >= 20 for d in nodes.values()),
                   "traffic on every node")

        self.etcd.stop()
        t_stop = time.monotonic()
        self.assertFalse(self.etcd.healthy(timeout=0.5))
        self.kill(doomed)
        # A client that starts while etcd is down waits 3 s for a first membership, then exits 3.
        late_client = self.background(["call", "--registry", self.url, "any", "add", "1", "2"])
        # A node that starts while etcd is down serves at once and registers when it returns.
        late = self.node("late")
        self.assertResult(late.port, "add", [1, 2], 3)
        # For OUTAGE seconds, every node keeps serving the bench (its counter keeps rising).
        rounds = 0
        while time.monotonic() - t_stop < self.OUTAGE:
            before = {n: counter(d.port) for n, d in nodes.items()}
            wait_until(lambda: all(counter(d.port) >= before[n] + 20 for n, d in nodes.items()),
                       "every node serving during the outage (round %d)" % rounds,
                       timeout=3.0, interval=0.05)
            late_client.poll()
            rounds += 1
        self.assertTrue(bench.running(), "the bench ended during the outage")
        self.assertGreater(rounds, 3)
        self.assertEqual(counter(late.port), 0)
        code, late_out, err = late_client.finish(timeout=10)
        note("client started with etcd down, exit after", late_client.elapsed)
        self.assertEqual(code, 3, late_out + err)
        self.assertIn("netcall: registry %s did not answer" % self.url, err)
        self.assertLessEqual(late_client.elapsed, 5.0)
        self.assertGreaterEqual(late_client.elapsed, 2.5)

        self.etcd.start()
        t_back = time.monotonic()
        note("etcd down for", t_back - t_stop)
        every = list(nodes.items()) + [("late", late)]
        self.wait_registered(*every, timeout=10.0)
        note("etcd back to every key present (late included)", time.monotonic() - t_back)
        # The running bench resynchronises with etcd and uses the node that registered meanwhile.
        wait_until(lambda: counter(late.port) > 0, "traffic on the late node after etcd returned",
                   timeout=max(0.5, bench.started + 11.0 - time.monotonic()))
        note("etcd back to the bench calling the late node", time.monotonic() - t_back)
        # The dead node's lease expires now that etcd runs; the live ones are renewed.
        self.wait_records(lambda r: "doomed" not in r, "key of the node killed during the outage",
                          timeout=8.0)
        note("etcd back to the dead node's key gone", time.monotonic() - t_back)
        t_doomed = time.monotonic()
        while time.monotonic() - t_doomed < 1.0:
            records = self.records()
            for n, d in every:
                self.assertEqual(records.get(n, {}).get("address"), d.address,
                                 "%s not renewed after the outage: %r" % (n, records))
            time.sleep(0.1)  # poll interval
        for n, lease in self.leases().items():
            self.assertGreaterEqual(self.lease_ttl(lease)[0], 0, n)

        code, report, err = bench.finish(timeout=30)
        self.assertEqual(code, 0, err)
        self.assertIsNotNone(report, err)
        self.assertEqual(report["errors"], 0, report)
        r = run(["call", "--registry", self.url, "any", "add", "1", "2"])
        self.assertEqual((r.returncode, r.stdout), (0, "3\n"), r.stderr)
        # Last, SPEC §3: stdout carries the result (or nothing after a failure) and bench's
        # report alone; what the client logs about etcd going away belongs on stderr.
        with self.subTest(stdout_of="call"):
            self.assertEqual(late_out, "")
        with self.subTest(stdout_of="bench --json"):
            self.assertReportAlone(bench)


class Placement(EtcdCase):
    def test_apply_through_the_registry_reaches_nodes_now_and_later(self):
        alpha, beta = self.node("alpha"), self.node("beta")
        bystander = self.node("delta")  # not named by the file: ignores it
        self.wait_registered(("alpha", alpha), ("beta", beta), ("delta", bystander))
        gamma_port = free_port()
        text = cluster_yaml({"alpha": alpha.address, "beta": beta.address,
                             "gamma": "127.0.0.1:%d" % gamma_port},
                            {"divide": ["beta"], "subtract": ["alpha", "gamma"],
                             "counter.increment": ["beta"]})
        f = self.write(text)
        r = run(["cluster", "apply", f, "--registry", self.url], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(PLACEMENT, r.stdout)
        self.assertEqual(etcd_get_prefix(self.etcd, PLACEMENT), {PLACEMENT: text})

        def applied(records):
            return ("divide" not in records.get("alpha", {}).get("procedures", ["divide"])
                    and "subtract" not in records.get("beta", {}).get("procedures", ["subtract"]))

        t_apply = time.monotonic()
        records = self.wait_records(applied, "placement in the records of alpha and beta",
                                    timeout=5.0)
        note("apply to records updated", time.monotonic() - t_apply)
        self.assertRecord(records["alpha"], alpha,
                          [p for p in ALL if p not in ("divide", "counter.increment")])
        self.assertRecord(records["beta"], beta, [p for p in ALL if p != "subtract"])
        self.assertRecord(records["delta"], bystander, ALL)
        self.assertCallError(alpha.port, "divide", [1, 4], not_found("divide", "beta"))
        self.assertCallError(beta.port, "subtract", [5, 3], not_found("subtract", "alpha", "gamma"))
        r = run(["call", alpha.address, "divide", "1", "4"])
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "netcall: error -32601: %s\n" % not_found("divide", "beta")))
        self.assertResult(alpha.port, "subtract", [5, 3], 2)
        self.assertResult(beta.port, "divide", [1, 4], 0.25)
        self.assertResult(bystander.port, "divide", [1, 4], 0.25)
        # Routed calls follow the records: counter.increment is beta's (and the bystander's).
        for _ in range(4):
            r = run(["call", "--registry", self.url, "any", "counter.increment"])
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(counter(alpha.port), 0)
        self.assertEqual(counter(beta.port) + counter(bystander.port), 4)

        # A node named by the stored placement that starts after the apply applies it too.
        gamma = self.node("gamma", port=gamma_port)
        t_start = time.monotonic()
        records = self.wait_records(
            lambda r: "gamma" in r and "divide" not in r["gamma"]["procedures"],
            "placement in gamma's record", timeout=5.0)
        note("gamma listening to its record with the placement", time.monotonic() - t_start)
        self.assertRecord(records["gamma"], gamma,
                          [p for p in ALL if p not in ("divide", "counter.increment")])
        self.assertCallError(gamma.port, "divide", [1, 4], not_found("divide", "beta"))
        self.assertCallError(gamma.port, "counter.increment", [],
                             not_found("counter.increment", "beta"))
        self.assertResult(gamma.port, "subtract", [5, 3], 2)

        # Applying the same file again changes nothing.
        r = run(["cluster", "apply", f, "--registry", self.url], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.records(), records)
        self.assertCallError(alpha.port, "divide", [1, 4], not_found("divide", "beta"))


class Gateway(EtcdCase):
    def test_xmlrpc_client_reaches_registered_nodes_through_the_gateway(self):
        # The gateway serves only the text module itself and starts before any other node.
        gw = self.node("gw", "--gateway", "--modules", "text")
        self.wait_registered(("gw", gw))
        self.assertRecord(self.records()["gw"], gw, TEXT)
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % gw.port)
        self.addCleanup(proxy("close"))

        def divide_fault():
            try:
                proxy.divide(7, 2)
            except xmlrpc.client.Fault as e:
                return e
            self.fail("divide answered with no node serving it")

        # No node serves divide: -32601. (Until the gateway has read the registry for the first
        # time, it answers -32002 "no node of the cluster is known" instead: polled past.)
        fault = wait_until(lambda: (lambda e: e if e.faultCode != -32002 else None)(divide_fault()),
                           "the gateway's first membership", timeout=3.0)
        self.assertEqual((fault.faultCode, fault.faultString),
                         (-32601, "method not found: divide (no node of the cluster serves it)"))

        worker = self.node("worker", "--modules", "math,demo")
        self.wait_registered(("worker", worker))

        def divides():
            try:
                return proxy.divide(7, 2) == 3.5
            except xmlrpc.client.Fault as e:
                if e.faultCode != -32601:
                    raise
                return False

        wait_until(divides, "the gateway forwarding to the node that registered", timeout=3.0)
        self.assertEqual(proxy.subtract(10, 4), 6)
        self.assertEqual(proxy.echo("own"), "own")
        self.assertEqual(proxy.counter.increment(), 1)
        self.assertEqual(counter(worker.port), 1)
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            proxy.divide(1, 0)
        self.assertEqual(fault.exception.faultCode, -32000)
        self.assertIn("division by zero", fault.exception.faultString)

        # The worker leaves (SIGTERM): the gateway drops it.
        self.assertEqual(worker.stop(), 0)

        def dropped():
            try:
                proxy.divide(7, 2)
            except xmlrpc.client.Fault as e:
                return e.faultCode == -32601
            return False

        wait_until(dropped, "the gateway dropping the node that left", timeout=3.0)
        self.assertEqual(proxy.echo("still"), "still")


class BadFlags(EtcdCase):
    def setUp(self):
        # No etcd here: the refusals must come before any connection.
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.files = 0
        self.url = "etcd://127.0.0.1:%d" % free_port()

    def netcalld(self, *args):
        try:
            return run([*args], binary=NETCALLD, timeout=5)
        except subprocess.TimeoutExpired:  # subprocess.run killed it by PID
            self.fail("netcalld kept running with %r" % (args,))

    def test_netcalld_refuses_bad_registry_flags_with_exit_2(self):
        base = ["--listen", "127.0.0.1:0", "--name", "alpha", "--registry", self.url]
        for ttl in ("0s", "500ms", "1500ms", "abc", "-1s"):
            with self.subTest(ttl=ttl):
                r = self.netcalld(*base, "--registry-ttl", ttl)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertOneLine(r, "netcalld: ")
        for url in ("http://x:1", "etcd://", "etcd://h:0", "etcd://h", "etcd://:80",
                    "etcd://h:99999", "etcd://h:1/path"):
            with self.subTest(url=url):
                r = self.netcalld("--listen", "127.0.0.1:0", "--name", "alpha", "--registry", url)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertOneLine(r, "netcalld: ")
        for args in (["--registry", self.url], ["--gateway", "--registry", self.url]):
            with self.subTest(without_name=args):
                r = self.netcalld("--listen", "127.0.0.1:0", *args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertOneLine(r, "netcalld: ")

    def test_clients_refuse_a_malformed_registry_with_exit_2(self):
        f = self.write(cluster_yaml({"alpha": "127.0.0.1:%d" % free_port()}))
        for url in ("http://x:1", "etcd://", "etcd://h:0"):
            for args in (["call", "--registry", url, "any", "add", "1", "2"],
                         ["bench", "--registry", url, "any", "add", "1", "2", "--calls", "1"],
                         ["cluster", "status", "--registry", url],
                         ["cluster", "apply", f, "--registry", url]):
                with self.subTest(args=args):
                    r = run(args, timeout=5)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertOneLine(r, "netcall: ")

    def test_clients_with_the_registry_down_exit_3(self):
        # Started together: each waits 3 s for a first membership, then exits 3.
        call = self.background(["call", "--registry", self.url, "any", "add", "1", "2"])
        bench = self.background(["bench", "--registry", self.url, "any", "add", "1", "2",
                                 "--duration", "1s", "--json"])
        r = run(["cluster", "status", "--registry", self.url], timeout=10)
        self.assertEqual((r.returncode, r.stdout), (3, ""), r.stderr)
        f = self.write(cluster_yaml({"alpha": "127.0.0.1:%d" % free_port()}))
        r = run(["cluster", "apply", f, "--registry", self.url], timeout=10)
        self.assertEqual((r.returncode, r.stdout), (3, ""), r.stderr)
        outs = {}
        for what, b in (("call", call), ("bench", bench)):
            with self.subTest(client=what):
                code, outs[what], err = b.finish(timeout=10)
                note("%s with the registry down, exit after" % what, b.elapsed)
                self.assertEqual(code, 3, outs[what] + err)
                self.assertIn("netcall: registry %s did not answer" % self.url, err)
                self.assertLessEqual(b.elapsed, 5.0)
                self.assertGreaterEqual(b.elapsed, 2.5)
        # SPEC §3: a failed call or bench prints nothing on stdout (messages go to stderr).
        for what, out in outs.items():
            with self.subTest(stdout_of=what):
                self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()
