"""CONCURRENT mode: a safe request goes to both of the two newest versions;
their responses are compared (status, framing, body size, delay within
delayToleranceMs). Match: the client gets the new version's response;
mismatch: the old version's, and the mismatch is counted and kept (with its
differences) in the API's state. Unsafe methods reach one version only unless
unsafeMethods says "both" (default "old"), so a write is never done twice by
default. X-Upmesh-Concurrent tells match or mismatch.

Monitoring is off here (these versions differ on purpose); test_monitoring.py
tests the rollback on a high mismatch rate."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient, backend_stats  # noqa: E402


def concurrent(**parameters):
    transition = {"mode": "CONCURRENT", "monitor": {"enabled": False}}
    transition.update(parameters)
    return transition


class ConcurrentTest(mesh.MeshTestCase):

    def counts(self):
        return {b.version: backend_stats(b)["requests"] for b in self.mesh.backends if b.alive()}

    def assertReceived(self, before, expected, settle=0.3):
        """Each backend received expected[name] requests since `before`; waits for the
        expected counts, then `settle` seconds more so that a late duplicate shows too."""
        def delta():
            now = self.counts()
            return {name: now[name] - before[name] for name in now}
        try:
            mesh.wait_until(lambda: delta() == expected, 3.0, what="backend counts %s" % expected)
        except TimeoutError:
            pass
        time.sleep(settle)
        self.assertEqual(delta(), expected, "requests received by each backend")

    def request(self, method, target, body=None):
        with RawClient(self.mesh.frontend.port) as client:
            return client.request(method, target, body=body)

    def mismatch_state(self, uuid, count):
        """The cluster's state once the router has `count` mismatches for it (reports travel
        from the worker to the router asynchronously)."""
        try:
            mesh.wait_until(lambda: self.mesh.cluster_state(uuid).get("mismatches", 0) >= count, 3.0,
                            interval=0.05, what="%d mismatches in the API state" % count)
        except TimeoutError:
            pass
        return self.mesh.cluster_state(uuid)

    def test_matching_responses_give_the_new_versions_answer(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",))
        m.put_cluster([m.backends[1]], 2, {"mode": "INSTANT"})
        uuid3 = m.put_cluster([m.backends[2]], 3, concurrent())
        before = self.counts()
        targets = ["/", "/?size=1000", "/?chunked=1&size=5000", "/?status=404", "/?delay=50"]
        for target in targets:
            response = self.request("GET", target)
            self.assertEqual(response.header("x-backend-version"), "v3", (target, response))
            self.assertEqual(response.header("x-upmesh-concurrent"), "match", (target, response))
            self.assertEqual(response.header("x-upmesh-cluster"), uuid3, (target, response))
        head = self.request("HEAD", "/?size=10")
        self.assertEqual((head.status, head.header("x-backend-version")), (200, "v3"), head)
        # Both of the two newest versions saw every request; the oldest none.
        self.assertReceived(before, {"v1": 0, "v2": len(targets) + 1, "v3": len(targets) + 1})
        state = m.cluster_state(uuid3)
        self.assertEqual(state.get("mismatches"), 0, state)

    def test_status_mismatch_gives_the_old_versions_answer_and_is_reported(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), backend_extra={"v2": ["--status", "500"]})
        uuid2 = m.put_cluster([m.backends[1]], 2, concurrent())
        before = self.counts()
        total = 12
        for i in range(total):
            response = self.request("GET", "/?mismatch=%d" % i)
            self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)
            self.assertEqual(response.header("x-upmesh-concurrent"), "mismatch", response)
        self.assertReceived(before, {"v1": total, "v2": total})

        state = self.mismatch_state(uuid2, total)
        self.assertEqual(state.get("mismatches"), total, state)
        recent = state.get("recentMismatches")
        self.assertIsInstance(recent, list, state)
        self.assertEqual(len(recent), 10, "the last 10 mismatches are kept: %s" % state)
        text = json.dumps(recent[-1]).lower()
        self.assertIn("status", text, recent[-1])
        self.assertIn("500", text, recent[-1])
        self.assertIn("200", text, recent[-1])

    def test_delay_beyond_tolerance_is_a_mismatch(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), backend_extra={"v2": ["--delay-ms", "700"]})
        uuid2 = m.put_cluster([m.backends[1]], 2, concurrent(delayToleranceMs=100))
        started = time.monotonic()
        response = self.request("GET", "/?slow-new")
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)
        self.assertEqual(response.header("x-upmesh-concurrent"), "mismatch", response)
        state = self.mismatch_state(uuid2, 1)
        self.assertEqual(state.get("mismatches"), 1, state)
        self.assertIn("delay", json.dumps(state["recentMismatches"]).lower(), state)

        # Within a larger tolerance the same delay matches.
        m.delete_cluster(uuid2)
        uuid2 = m.put_cluster([m.backends[1]], 2, concurrent(delayToleranceMs=2000))
        response = self.request("GET", "/?slow-new-tolerated")
        self.assertEqual(response.header("x-backend-version"), "v2", response)
        self.assertEqual(response.header("x-upmesh-concurrent"), "match", response)

    def test_unsafe_methods_reach_one_version_unless_asked(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        body = b'{"order": 1}'

        uuid2 = m.put_cluster([m.backends[1]], 2, concurrent())  # default: unsafeMethods "old"
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(policy="default", method=method):
                before = self.counts()
                response = self.request(method, "/?echo=1&write", body=body)
                self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)
                self.assertEqual(response.json()["method"], method)
                self.assertReceived(before, {"v1": 1, "v2": 0})

        m.delete_cluster(uuid2)
        uuid2 = m.put_cluster([m.backends[1]], 2, concurrent(unsafeMethods="new"))
        before = self.counts()
        response = self.request("POST", "/?echo=1&write-new", body=body)
        self.assertEqual((response.status, response.header("x-backend-version")), (200, "v2"), response)
        self.assertReceived(before, {"v1": 0, "v2": 1})

        m.delete_cluster(uuid2)
        m.put_cluster([m.backends[1]], 2, concurrent(unsafeMethods="both"))
        before = self.counts()
        response = self.request("POST", "/?write-both", body=body)
        self.assertEqual(response.status, 200, response)
        self.assertReceived(before, {"v1": 1, "v2": 1})

    def test_new_version_down_old_version_answers(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        m.put_cluster([m.backends[1]], 2, concurrent())
        self.assertEqual(self.request("GET", "/").header("x-backend-version"), "v2")
        m.backends[1].kill()
        for method in ("GET", "POST"):
            response = self.request(method, "/?new-down", body=b"x" if method == "POST" else None)
            self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"),
                             (method, response))


if __name__ == "__main__":
    mesh.main()
