"""The router is the control plane only: requests go straight from a frontend
to a worker. With real processes: the router killed -9 under GET load through
two frontends and two workers fails no request and traffic goes on with the
last table (requests/s during the outage vs before is reported); the router
started again finds the frontends and workers again and a change through the
API reaches both frontends' traffic; a change tried while the router is down
is refused outright (curl: connection refused, upmeshctl: non-zero exit with
a clear message) and nothing of it is applied; a frontend started later is
found by the running workers through the router (no list edited), and one
advertising a wildcard host is listed with its real address; a worker
started later is used by both frontends; a worker killed -9 under load
through a frontend: GETs retried, POSTs 502, nothing hangs."""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import GetLoad, RawClient, backend_stats, http_get, wait_backend_requests  # noqa: E402


class DirectPathTest(mesh.MeshTestCase):

    def start_two_by_two(self):
        m = self.mesh
        m.backends.append(m.start_backend(name="v1"))
        m.router = m.start_router()
        m.frontend = m.start_frontend()
        self.second = m.start_frontend()
        m.start_worker("w1")
        m.start_worker("w2")
        m.wait_workers_joined()
        for frontend in (m.frontend, self.second):
            m.wait_serving(frontend=frontend)
        return m

    def versions_through(self, frontend, count=10):
        versions = set()
        for i in range(count):
            status, headers, _ = http_get(frontend.port, "/?n=%d" % i)
            self.assertEqual(status, 200)
            versions.add(headers.get("x-backend-version"))
        return versions

    def test_router_killed_under_load_then_restarted(self):
        m = self.start_two_by_two()
        loads = [GetLoad(frontend.port, connections=3, target="/?delay=5") for frontend in (m.frontend, self.second)]
        for load in loads:
            load.__enter__()
        try:
            time.sleep(2.0)
            killed_at = time.monotonic()
            m.router.kill()
            time.sleep(3.0)
            outage_end = time.monotonic()
        finally:
            for load in loads:
                load.stop()
        answers = [a for load in loads for a in load.snapshot()]
        failures = [a for load in loads for a in load.failures()]
        self.assertEqual(failures, [], "requests failed with the router down: %s" % failures[:5])
        before = [a for a in answers if killed_at - 2.0 <= a[0] < killed_at]
        during = [a for a in answers if killed_at + 0.5 <= a[0] < outage_end]
        self.assertTrue(before and during, (len(before), len(during)))
        self.assertEqual({a[2] for a in during}, {"v1"}, "traffic goes on with the last table")
        rate_before = len(before) / 2.0
        rate_during = len(during) / (outage_end - killed_at - 0.5)
        sys.stderr.write("\nrequests/s through 2 frontends before the router was killed: %.0f, "
                         "with the router down: %.0f (%.0f %%)\n"
                         % (rate_before, rate_during, 100.0 * rate_during / rate_before))
        self.assertGreater(rate_during, 0.5 * rate_before)

        # The router comes back (same ports, same state file): everybody registers again.
        old = m.router
        m.router = m.start_router(frontend_port=old.frontend_port, worker_port=old.worker_port,
                                  publish_port=old.publish_port, config_port=old.config_port,
                                  state_file=old.state_file)
        m.wait_workers_joined(frontends=[])
        mesh.wait_until(lambda: m.router.log_text().count("joined the live set") >= 2, 10,
                        what="both frontends to rejoin the router")
        v2 = m.start_backend(name="v2")
        m.put_cluster([v2], 2)
        for frontend in (m.frontend, self.second):
            self.assertEqual(self.versions_through(frontend), {"v2"}, frontend.label)

    def test_config_change_while_the_router_is_down_is_refused(self):
        m = self.start_two_by_two()
        api = "http://127.0.0.1:%d" % m.router.config_port
        table_before = m.clusters()
        m.router.kill()
        body = json.dumps(mesh.cluster_body([m.start_backend(name="v2")], 2))
        curl = subprocess.run(["curl", "-sS", "-X", "PUT", "--data-binary", body, "-H",
                               "Content-Type: application/json", api + "/configuration/cluster"],
                              capture_output=True, text=True, timeout=10)
        self.assertEqual(curl.returncode, 7, curl)  # curl: failed to connect
        self.assertIn("onnect", curl.stderr)
        ctl = subprocess.run([mesh.binary("upmeshctl"), "--api", api, "add", "--version", "3",
                              "--server", "127.0.0.1:%d" % m.backends[0].port],
                             capture_output=True, text=True, timeout=10)
        self.assertNotEqual(ctl.returncode, 0, ctl)
        self.assertIn("127.0.0.1:%d" % m.router.config_port, ctl.stderr)
        self.assertEqual(ctl.stdout, "")
        # Traffic goes on with the old table, and the restarted router has nothing of the change.
        for frontend in (m.frontend, self.second):
            self.assertEqual(self.versions_through(frontend, 5), {"v1"})
        old = m.router
        m.router = m.start_router(frontend_port=old.frontend_port, worker_port=old.worker_port,
                                  publish_port=old.publish_port, config_port=old.config_port,
                                  state_file=old.state_file)
        self.assertEqual(m.clusters(), table_before)

    def test_frontend_started_later_is_found_through_the_router(self):
        m = self.mesh.start_standard(backends=1, workers=2)
        late = m.start_frontend()
        m.wait_workers_joined(frontends=[late])
        m.wait_serving(frontend=late)
        for worker in m.workers:
            self.assertIn("frontend tcp://127.0.0.1:%d: link opened" % late.worker_port, worker.log_text())
        seen = set()
        for _ in range(5):
            results = mesh.parallel(lambda i: http_get(late.port, "/?delay=50&n=%d" % i), range(8))
            seen |= {headers.get("x-upmesh-worker") for status, headers, _ in results if status == 200}
        self.assertEqual(seen, {"w1", "w2"})

    def test_wildcard_advertised_endpoint_becomes_the_frontends_address(self):
        """A frontend advertising tcp://*:PORT (as a container replica binding every interface
        would) is listed with the address its control connection comes from."""
        m = self.mesh
        m.backends.append(m.start_backend(name="v1"))
        m.router = m.start_router()
        worker_port = mesh.free_port()
        m.frontend = m.start_frontend(worker_port=worker_port,
                                      extra=["--worker-advertise", "tcp://*:%d" % worker_port])
        m.start_worker("w1")
        m.wait_workers_joined()
        m.wait_serving()
        self.assertIn("workers reach it at tcp://127.0.0.1:%d" % worker_port, m.router.log_text())
        self.assertIn("frontend tcp://127.0.0.1:%d: link opened" % worker_port, m.workers[0].log_text())

    def test_worker_started_later_is_used_by_both_frontends(self):
        m = self.start_two_by_two()
        m.start_worker("w3")
        m.wait_workers_joined(["w3"])
        for frontend in (m.frontend, self.second):
            seen = set()
            deadline = time.monotonic() + 10
            while "w3" not in seen and time.monotonic() < deadline:
                results = mesh.parallel(lambda i: http_get(frontend.port, "/?delay=50&n=%d" % i), range(9))
                seen |= {headers.get("x-upmesh-worker") for status, headers, _ in results if status == 200}
            self.assertIn("w3", seen, frontend.label)

    def test_worker_killed_under_load_retries_gets_and_fails_posts(self):
        m = self.start_two_by_two()
        received = backend_stats(m.backends[0])["requests"]
        results = {}

        def send(name, method):
            try:
                with RawClient(m.frontend.port, timeout=30) as client:
                    response = client.request(method, "/%s?delay=1500" % name, body=b"x" if method == "POST" else None)
                    results[name] = (response.status, response.header("x-upmesh-worker"))
            except Exception as e:  # noqa: BLE001 - recorded as the request's outcome
                results[name] = (repr(e), None)

        requests = [("get-%d" % i, "GET") for i in range(6)] + [("post-%d" % i, "POST") for i in range(4)]
        threads = [threading.Thread(target=send, args=r, daemon=True) for r in requests]
        for t in threads:
            t.start()
        wait_backend_requests(m.backends[0], received + len(requests))
        killed_at = time.monotonic()
        m.workers[0].kill()
        for t in threads:
            t.join(timeout=20)
        self.assertFalse(any(t.is_alive() for t in threads), "requests hung")
        self.assertLess(time.monotonic() - killed_at, 10.0)
        for name, method in requests:
            status, worker = results[name]
            if method == "GET":
                self.assertEqual((status, worker), (200, "w2"), name)
            else:
                # A POST on the killed worker is never sent again: 502; one on w2 is answered.
                self.assertIn((status, worker), {(502, None), (200, "w2")}, "%s: %s" % (name, results[name]))
        self.assertTrue(any(results[n][0] == 502 for n, method in requests if method == "POST"), results)
        self.assertRegex(m.frontend.log_text(), r"worker w1 lost \(")


if __name__ == "__main__":
    mesh.main()
