"""Automatic monitoring and rollback: workers record every response per
version, the router's judge compares the newest version with the one it
replaces and rolls it back when it misbehaves (failures in a row, error rate,
latency, body size, CONCURRENT mismatches), with the evidence in the API.
While a new version is watched, the shield retries its failed idempotent
requests on the old version, so clients see no 5xx; a write is never sent
twice. A GRADUAL ramp holds while the new version cannot be judged healthy.

Every scenario runs with the default monitor settings unless it says
otherwise, on real processes: backends v1 (old) and v2 (new), whose faults
are switched on through the backend's /__control."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import CookieClient, GetLoad, RawClient, backend_stats, http_get, wait_until  # noqa: E402

INSTANT = {"mode": "INSTANT"}


def control(backend, **settings):
    """Changes a demo backend's defaults at run time (PUT /__control)."""
    query = "&".join("%s=%s" % item for item in settings.items())
    with RawClient(backend.port) as client:
        response = client.request("PUT", "/__control?" + query)
    if response.status != 200:
        raise AssertionError("backend /__control?%s gave %d: %r" % (query, response.status, response.body))


class MonitoringTest(mesh.MeshTestCase):

    def state(self, uuid):
        return self.mesh.cluster_state(uuid)

    def wait_health(self, uuid, health, timeout=10.0):
        """Waits until the version's state.health is `health`; returns the state."""
        last = {}

        def reached():
            last["state"] = self.state(uuid)
            return last["state"] if last["state"]["health"] == health else None
        try:
            return wait_until(reached, timeout, interval=0.05, what="cluster %s to be %s" % (uuid, health))
        except TimeoutError as e:
            raise AssertionError("%s; last state: %s" % (e, json.dumps(last.get("state"), indent=1)))

    def wait_rollback_record(self, uuid, timeout=10.0):
        """The rollback record once its timeline is complete (every worker applied it)."""
        def complete():
            record = self.state(uuid).get("rollback")
            return record if record and "workersApplied" in record["timeline"] else None
        return wait_until(complete, timeout, interval=0.05, what="the rollback timeline of %s" % uuid)

    def start(self, workers=2, backend_extra=None):
        versions = self.mesh.start_versions(names=("v1", "v2"), initial=("v1",), initial_version=1,
                                            workers=workers, backend_extra=backend_extra)
        return versions["v1"], versions["v2"]

    def assertNoRequestsReach(self, backend, seconds=0.5):
        before = backend_stats(backend)["requests"]
        time.sleep(seconds)
        self.assertEqual(backend_stats(backend)["requests"], before, "%s still gets requests" % backend.label)

    # --- INSTANT: a version that starts failing --------------------------------

    def test_failing_instant_version_is_rolled_back_at_once_and_clients_see_no_5xx(self):
        m = self.mesh
        v1, v2 = self.start(workers=2)
        uuid1 = m.uuid_of_version(1)
        with GetLoad(m.frontend.port, connections=4) as load:
            load.wait_count(200)  # the old version's baseline
            uuid2 = m.put_cluster([v2], 2, INSTANT)
            load.wait_count(load.count() + 100)
            self.assertEqual(self.state(uuid2)["health"], "watching")
            failing_since = time.monotonic()
            control(v2, status=500)
            state = self.wait_health(uuid2, "rolledBack", timeout=5)
            decided = time.monotonic()
            load.wait_count(load.count() + 200)
            # Shielded: no GET reached a client as a 5xx, at any time.
            self.assertEqual(load.failures(), [], "5xx or lost answers reached clients")
        self.assertLess(decided - failing_since, 2.0, "rollback took %.2f s" % (decided - failing_since))
        self.assertAlmostEqual(self.state(uuid1)["health"], "healthy")

        record = self.wait_rollback_record(uuid2)
        # Whichever fires first: ten failures in a row, or the error rate once the window has enough requests.
        self.assertIn(record["reason"], ("consecutiveFailures", "errorRate"), record)
        self.assertEqual(record["uuid"], uuid2)
        self.assertGreater(record["window"]["new"]["serverErrors"], 0, record)
        self.assertGreater(record["window"]["new"]["shielded"], 0, record)
        self.assertEqual(record["window"]["old"]["uuid"], uuid1, record)
        self.assertGreater(len(record["samples"]), 0, record)
        self.assertEqual(record["samples"][0]["status"], 500)
        self.assertEqual(record["samples"][0]["method"], "GET")
        self.assertIn(record["samples"][0]["worker"], ("w1", "w2"))
        timeline = record["timeline"]
        self.assertLessEqual(timeline["firstFailureAtMs"], timeline["decidedAtMs"])
        self.assertEqual(sorted(w["worker"] for w in timeline["workersApplied"]), ["w1", "w2"], record)
        self.assertGreaterEqual(timeline["allWorkersAppliedAtMs"], timeline["decidedAtMs"])
        self.assertLess(timeline["decidedAtMs"] - timeline["firstFailureAtMs"], 1000, timeline)
        self.assertEqual(state["rollback"]["reason"], record["reason"])

        # It stays in the table, gets nothing, and everyone is on v1 again.
        listed = {entry["cluster"]["uuid"]: entry["state"]["health"] for entry in m.clusters()}
        self.assertEqual(listed, {uuid1: "healthy", uuid2: "rolledBack"})
        self.assertNoRequestsReach(v2)
        status, headers, _ = http_get(m.frontend.port, "/")
        self.assertEqual((status, headers.get("x-backend-version")), (200, "v1"))
        # One JSON line in the router's log carries the whole record.
        lines = [line for line in m.router.log_text().splitlines() if " rollback {" in line]
        self.assertEqual(len(lines), 1, m.router.log_text(30))
        logged = json.loads(lines[0].split(" rollback ", 1)[1])
        self.assertEqual(logged["reason"], record["reason"])
        self.assertEqual(len(logged["timeline"]["workersApplied"]), 2)

    def test_a_write_is_never_resent_to_the_old_version(self):
        m = self.mesh
        v1, v2 = self.start(workers=1, backend_extra={"v2": ["--status", "500"]})
        uuid2 = m.put_cluster([v2], 2, INSTANT)
        before_v1 = backend_stats(v1)["requests"]
        with RawClient(m.frontend.port) as client:
            for i in range(3):  # fewer than consecutiveFailures: still watched
                response = client.request("POST", "/write-%d" % i, body=b"payload")
                self.assertEqual(response.status, 500, response)
                self.assertEqual(response.header("x-backend-version"), "v2", response)
            response = client.request("GET", "/read")  # an idempotent request is shielded
            self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)
        self.assertEqual(backend_stats(v1)["requests"], before_v1 + 1, "v1 got a POST meant for v2")
        wait_until(lambda: self.state(uuid2)["window"]["requests"] == 4, 5, what="the worker's HEALTH report")
        window = self.state(uuid2)["window"]
        self.assertEqual((window["serverErrors"], window["shielded"]), (4, 1), window)

    # --- the judge's other rules ----------------------------------------------

    def test_a_version_20x_slower_is_rolled_back_on_latency(self):
        m = self.mesh
        v1, v2 = self.start(workers=2, backend_extra={"v1": ["--delay-ms", "5"], "v2": ["--delay-ms", "100"]})
        with GetLoad(m.frontend.port, connections=8) as load:
            load.wait_count(300)
            uuid2 = m.put_cluster([v2], 2, INSTANT)
            added = time.monotonic()
            self.wait_health(uuid2, "rolledBack", timeout=15)
            took = time.monotonic() - added
            self.assertEqual(load.failures(), [])
        record = self.state(uuid2)["rollback"]
        self.assertIn(record["reason"], ("latencyP50", "latencyP99"), record)
        self.assertGreater(record["window"]["new"]["p50Ms"], 50, record)
        self.assertLess(record["window"]["old"]["p50Ms"], 20, record)
        self.assertLess(took, 10, "latency rollback took %.1f s" % took)

    def test_a_version_with_ten_percent_errors_is_rolled_back_on_its_error_rate(self):
        m = self.mesh
        v1, v2 = self.start(workers=2, backend_extra={"v2": ["--error-percent", "10"]})
        with GetLoad(m.frontend.port, connections=6) as load:
            load.wait_count(300)
            uuid2 = m.put_cluster([v2], 2, INSTANT)
            self.wait_health(uuid2, "rolledBack", timeout=15)
            self.assertEqual(load.failures(), [], "the shield let a 5xx through")
        record = self.state(uuid2)["rollback"]
        self.assertEqual(record["reason"], "errorRate", record)
        self.assertGreaterEqual(record["window"]["new"]["errorRate"], 5, record)
        self.assertEqual(record["window"]["old"]["errorRate"], 0, record)

    def test_bodies_a_tenth_of_the_size_are_rolled_back(self):
        m = self.mesh
        v1, v2 = self.start(workers=1, backend_extra={"v1": ["--size", "2000"], "v2": ["--size", "200"]})
        with GetLoad(m.frontend.port, connections=4) as load:
            load.wait_count(200)
            uuid2 = m.put_cluster([v2], 2, INSTANT)
            self.wait_health(uuid2, "rolledBack", timeout=15)
        record = self.state(uuid2)["rollback"]
        self.assertEqual(record["reason"], "bodySize", record)
        self.assertEqual(record["window"]["old"]["from"] in ("window", "baseline"), True)

    def test_concurrent_mismatch_rate_rolls_back(self):
        m = self.mesh
        v1, v2 = self.start(workers=1, backend_extra={"v2": ["--status", "404"]})
        with GetLoad(m.frontend.port, connections=4) as load:
            load.wait_count(100)
            uuid2 = m.put_cluster([v2], 2, {"mode": "CONCURRENT"})
            self.wait_health(uuid2, "rolledBack", timeout=15)
            self.assertEqual([a for a in load.snapshot() if a[1] != 200], [], "clients got the new version's 404")
        record = self.state(uuid2)["rollback"]
        self.assertEqual(record["reason"], "mismatchRate", record)
        self.assertGreater(record["window"]["new"]["compared"], 0)

    def test_a_healthy_new_version_is_never_rolled_back(self):
        m = self.mesh
        v1, v2 = self.start(workers=2, backend_extra={"v1": ["--error-percent", "1"], "v2": ["--error-percent", "1"]})
        with GetLoad(m.frontend.port, connections=4) as load:
            load.wait_count(200)
            uuid2 = m.put_cluster([v2], 2, INSTANT)
            state = self.wait_health(uuid2, "healthy", timeout=10)
            time.sleep(4)
            state = self.state(uuid2)
        self.assertEqual(state["health"], "healthy", state)
        self.assertNotIn("rollback", state)
        self.assertGreater(state["window"]["requests"], 100, state)
        self.assertGreater(state["window"]["serverErrors"], 0, "the 1 %% errors should show: %s" % state)

    # --- GRADUAL ------------------------------------------------------------------

    def test_gradual_ramp_holds_until_the_new_version_is_judged_healthy(self):
        m = self.mesh
        v1, v2 = self.start(workers=2)
        ramp = {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.1, "monitor": {"minRequests": 20}}
        uuid2 = m.put_cluster([v2], 2, ramp)
        # A trickle: the ramp passes its 5 % probe share, then holds without a verdict.
        with GetLoad(m.frontend.port, connections=1, pause=0.01, max_seconds=20) as load:
            wait_until(lambda: self.state(uuid2).get("rampHeld"), 10, what="the ramp to hold")
            held = self.state(uuid2)
            self.assertIn(held["health"], ("watching", "inconclusive"), held)
            self.assertGreaterEqual(held["gradualShare"], 5)
            self.assertLess(held["gradualShare"], 6.5, held)
            share_before = held["gradualShare"]
            time.sleep(0.5)
            self.assertEqual(self.state(uuid2)["rampRequests"], held["rampRequests"], "a held ramp counted requests")
            load.stop()
        # Enough traffic to judge: healthy, and the ramp advances again.
        with GetLoad(m.frontend.port, connections=6, max_seconds=30) as load:
            state = self.wait_health(uuid2, "healthy", timeout=20)
            wait_until(lambda: self.state(uuid2)["gradualShare"] > share_before + 5, 20, what="the ramp to advance")
            self.assertFalse(self.state(uuid2)["rampHeld"])
            self.assertEqual(load.failures(), [])

    def test_a_version_that_dies_mid_ramp_is_rolled_back_with_no_client_errors(self):
        m = self.mesh
        v1, v2 = self.start(workers=2)
        ramp = {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.5, "monitor": {"minRequests": 20}}
        with GetLoad(m.frontend.port, connections=6) as load:
            uuid2 = m.put_cluster([v2], 2, ramp)
            wait_until(lambda: self.state(uuid2)["gradualShare"] >= 20, 20, what="the ramp to reach 20 %")
            v2.kill()
            self.wait_health(uuid2, "rolledBack", timeout=5)
            load.wait_count(load.count() + 200)
            self.assertEqual(load.failures(), [], "requests failed when v2 died")
        record = self.state(uuid2)["rollback"]
        self.assertIn(record["reason"], ("consecutiveFailures", "errorRate"), record)
        self.assertGreater(record["window"]["new"]["refused"], 0, record)

    # --- SESSION: clients pinned to a rolled-back version move back ------------

    def test_session_clients_pinned_to_the_new_version_move_back(self):
        m = self.mesh
        v1, v2 = self.start(workers=1)
        uuid1 = m.uuid_of_version(1)
        uuid2 = m.put_cluster([v2], 2, {"mode": "SESSION", "sessionTimeout": 600})
        with CookieClient(m.frontend.port) as pinned:
            response = pinned.get("/")
            self.assertEqual(response.header("x-backend-version"), "v2")
            self.assertEqual(pinned.jar.get("dynsoftup"), uuid2)
            control(v2, status=503)
            for i in range(12):  # consecutiveFailures is 10; the shield answers from v1 meanwhile
                response = pinned.get("/?i=%d" % i)
                self.assertEqual(response.status, 200, response)
            self.wait_health(uuid2, "rolledBack", timeout=5)
            # v1's own mode (INSTANT) reads no cookie: the stale one is never honoured again.
            for i in range(5):
                response = pinned.get("/after-%d" % i)
                self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)
                self.assertEqual(response.header("x-upmesh-cluster"), uuid1, response)

    # --- by hand, persistence, validation -----------------------------------------

    def test_operator_rollback_and_its_errors(self):
        m = self.mesh
        v1, v2 = self.start(workers=1)
        uuid1 = m.uuid_of_version(1)
        uuid2 = m.put_cluster([v2], 2, INSTANT)
        self.assertEqual(http_get(m.frontend.port, "/")[1].get("x-backend-version"), "v2")
        response = m.api("POST", "/configuration/cluster/%s/rollback" % uuid2)
        self.assertEqual(response.status, 202, response)
        self.assertEqual(http_get(m.frontend.port, "/")[1].get("x-backend-version"), "v1")
        state = self.state(uuid2)
        self.assertEqual((state["health"], state["rollback"]["reason"]), ("rolledBack", "operator"), state)
        again = m.api("POST", "/configuration/cluster/%s/rollback" % uuid2)
        self.assertEqual(again.status, 409, again)
        self.assertIn(b"already rolled back", again.body)
        last = m.api("POST", "/configuration/cluster/%s/rollback" % uuid1)
        self.assertEqual(last.status, 409, last)
        self.assertIn(b"only version that can serve", last.body)
        self.assertEqual(m.api("POST", "/configuration/cluster/nope/rollback").status, 404)
        self.assertEqual(m.api("GET", "/configuration/cluster/%s/rollback" % uuid2).status, 405)
        # Deleted like any other version.
        m.delete_cluster(uuid2)
        self.assertEqual([e["cluster"]["uuid"] for e in m.clusters()], [uuid1])

    def test_a_rollback_survives_a_router_restart(self):
        m = self.mesh
        v1, v2 = self.start(workers=1, backend_extra={"v2": ["--status", "500"]})
        uuid2 = m.put_cluster([v2], 2, INSTANT)
        with RawClient(m.frontend.port) as client:
            for i in range(12):
                self.assertEqual(client.request("GET", "/?i=%d" % i).status, 200)
        self.wait_health(uuid2, "rolledBack", timeout=5)
        record = self.wait_rollback_record(uuid2)
        m.restart_router()
        state = self.state(uuid2)
        self.assertEqual(state["health"], "rolledBack", state)
        self.assertEqual(state["rollback"], record)
        for _ in range(5):
            status, headers, _ = http_get(m.frontend.port, "/")
            self.assertEqual((status, headers.get("x-backend-version")), (200, "v1"))

    def test_monitor_settings_are_validated_and_can_turn_monitoring_off(self):
        m = self.mesh
        v1, v2 = self.start(workers=1, backend_extra={"v2": ["--status", "500"]})
        bad = {
            "minRequests": 0, "windowSeconds": "10", "latencyRatio": 0.5, "shield": "yes",
            "maxErrorRateIncrease": 101, "consecutiveFailures": 0, "nope": 1,
        }
        for key, value in bad.items():
            body = mesh.cluster_body([v2], 2, {"mode": "INSTANT", "monitor": {key: value}})
            response = m.api("PUT", "/configuration/cluster", body)
            self.assertEqual(response.status, 400, (key, response))
            self.assertIn(("cluster.upgradeTransition.monitor.%s:" % key).encode(), response.body)
        response = m.api("PUT", "/configuration/cluster",
                          mesh.cluster_body([v2], 2, {"mode": "INSTANT", "monitor": {"enabled": "no"}}))
        self.assertEqual(response.status, 400)
        uuid2 = m.put_cluster([v2], 2, {"mode": "INSTANT", "monitor": {"enabled": False}})
        shown = m.api("GET", "/configuration/cluster/%s" % uuid2).json()
        self.assertEqual(shown["cluster"]["upgradeTransition"]["monitor"]["enabled"], False)
        self.assertEqual(shown["cluster"]["upgradeTransition"]["monitor"]["minRequests"], 50)
        # Off: nobody watches, nothing is shielded, nothing is rolled back.
        statuses = [http_get(m.frontend.port, "/?i=%d" % i)[0] for i in range(15)]
        self.assertEqual(statuses, [500] * 15)
        time.sleep(0.6)
        state = self.state(uuid2)
        self.assertEqual(state["health"], "healthy", state)
        self.assertIn("monitoring is disabled", state["healthDetail"])


if __name__ == "__main__":
    mesh.main()
