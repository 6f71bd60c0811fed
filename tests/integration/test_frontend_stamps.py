"""Frontends stamp requests (docs/protocol.md, "Who stamps"): each keeps a
copy of the cluster table from the router's broadcast and stamps every
request with its seq and the GRADUAL share. With two frontends: the request
ramp is one mesh-wide ramp (positions leased from the router), monotonic and
persisted across a router restart; a held ramp advances through neither
frontend; the API answers a change only once both frontends stamp with it, so
the very next request through either is routed by the new table; a frontend
killed -9 delays an API answer by the bounded wait at most.

Backends are started with --name v1/v2, so X-Backend-Version tells which
version answered; a `transition=P` cookie puts a client at position P, on the
new version once the share passes P."""

import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import http_get, wait_until  # noqa: E402

UNMONITORED = {"enabled": False}


def version_at(frontend, position, target="/"):
    status, headers, body = http_get(frontend.port, target, headers={"Cookie": "transition=%d" % position})
    if status != 200:
        raise AssertionError("GET %s through frontend %d gave %d: %r" % (target, frontend.port, status, body))
    return headers.get("x-backend-version")


class FrontendStampTest(mesh.MeshTestCase):

    def start_two(self, workers=1, router_args=()):
        m = self.mesh
        backends = m.start_versions(names=("v1", "v2"), initial=("v1",), workers=workers, router_args=router_args)
        second = m.start_frontend()
        m.wait_serving(frontend=second)
        for frontend in (m.frontend, second):
            # Until its first snapshot a frontend stamps seq 0 and no share.
            frontend.wait_log("config snapshot seq")
        wait_until(lambda: m.router.log_text().count("joined the live set") >= 2, 5, what="both frontends live")
        return backends, (m.frontend, second)

    def test_two_frontends_share_one_monotonic_persisted_request_ramp(self):
        m = self.mesh
        backends, frontends = self.start_two()
        # 2 % per request: a client at position 50 moves once 26 positions are used mesh-wide.
        ramp = {"mode": "GRADUAL", "percentageTransitionPerRequest": 2, "monitor": UNMONITORED}
        uuid2 = m.put_cluster([backends["v2"]], 2, ramp)
        flipped_at = {}
        for n in range(1, 121):
            frontend = frontends[n % 2]
            version = version_at(frontend, 50, "/ramp/%d" % n)
            if frontend.port in flipped_at:
                self.assertEqual(version, "v2", "request %d through frontend %d went back to v1" % (n, frontend.port))
            elif version == "v2":
                flipped_at[frontend.port] = n
            if len(flipped_at) == 2:
                break
        self.assertEqual(len(flipped_at), 2, "both frontends should reach 50 %%: %r" % flipped_at)
        # One mesh-wide ramp: 26 positions in all (two separate ramps would need 26 each, 52).
        first = min(flipped_at.values())
        self.assertGreaterEqual(first, 20, flipped_at)
        self.assertLessEqual(first, 40, "the frontends do not share one ramp: %r" % flipped_at)
        self.assertLessEqual(abs(flipped_at[frontends[0].port] - flipped_at[frontends[1].port]), 6, flipped_at)
        before = m.cluster_state(uuid2)
        self.assertGreaterEqual(before["rampRequests"], 26, before)

        m.restart_router(stop=False)  # kill -9: only the persisted reservation survives
        for frontend in frontends:
            m.wait_serving(frontend=frontend, timeout=15)
        after = m.cluster_state(uuid2)
        self.assertGreaterEqual(after["rampRequests"], before["rampRequests"], (before, after))
        self.assertGreaterEqual(after["gradualShare"], before["gradualShare"], (before, after))
        for n in range(10):
            for frontend in frontends:
                self.assertEqual(version_at(frontend, 50, "/after/%d" % n), "v2",
                                 "the ramp went back after the router restart (frontend %d)" % frontend.port)

    def test_a_held_ramp_advances_through_neither_frontend(self):
        m = self.mesh
        backends, frontends = self.start_two()
        # The ramp holds at its 10 % probe share: 1000 requests are needed for a verdict.
        ramp = {"mode": "GRADUAL", "percentageTransitionPerRequest": 2,
                "monitor": {"minRequests": 1000, "rampProbePercent": 10}}
        uuid2 = m.put_cluster([backends["v2"]], 2, ramp)
        n = 0
        while not m.cluster_state(uuid2).get("rampHeld"):
            n += 1
            self.assertLess(n, 200, "the ramp never held: %r" % m.cluster_state(uuid2))
            version_at(frontends[n % 2], 0, "/probe/%d" % n)
            time.sleep(0.02)
        held = m.cluster_state(uuid2)
        self.assertLess(held["gradualShare"], 30, held)
        for i in range(60):
            for frontend in frontends:
                self.assertEqual(version_at(frontend, 40, "/held/%d" % i), "v1",
                                 "a held ramp advanced through frontend %d: %r" % (frontend.port, m.cluster_state(uuid2)))
        now = m.cluster_state(uuid2)
        self.assertTrue(now["rampHeld"], now)
        self.assertEqual(now["rampRequests"], held["rampRequests"], "a held ramp leased positions")

    def test_the_request_after_an_api_answer_is_routed_by_the_new_table(self):
        m = self.mesh
        backends, frontends = self.start_two(workers=2)
        names = ("v1", "v2")
        previous = m.clusters()[0]["cluster"]["uuid"]
        for change in range(50):
            name = names[(change + 1) % 2]
            uuid = m.put_cluster([backends[name]], change + 2, {"mode": "INSTANT"})
            for frontend in frontends:
                self.assertEqual(version_at(frontend, 0, "/change/%d" % change), name,
                                 "change %d: frontend %d routed by the replaced table" % (change, frontend.port))
            m.delete_cluster(previous)
            previous = uuid
            for frontend in frontends:
                self.assertEqual(version_at(frontend, 0, "/delete/%d" % change), name,
                                 "after delete %d: frontend %d" % (change, frontend.port))

    def test_the_api_answers_once_a_stalled_frontend_has_the_change(self):
        m = self.mesh
        backends, frontends = self.start_two(router_args=["--ack-wait-ms", "5000"])
        stalled = frontends[1]
        stalled.signal(signal.SIGSTOP)
        self.addCleanup(lambda: stalled.alive() and stalled.signal(signal.SIGCONT))
        answered = []
        putter = threading.Thread(target=lambda: answered.append(
            (m.put_cluster([backends["v2"]], 2, {"mode": "INSTANT"}), time.monotonic())))
        started = time.monotonic()
        putter.start()
        time.sleep(0.7)
        self.assertEqual(answered, [], "the API answered while a live frontend could not have the change")
        resumed = time.monotonic()
        stalled.signal(signal.SIGCONT)
        putter.join(5)
        self.assertEqual(len(answered), 1, "no API answer after the frontend resumed")
        self.assertGreaterEqual(answered[0][1], resumed)
        self.assertLess(answered[0][1] - started, 3, "answered by the timeout, not by the acknowledgement")
        for frontend in frontends:
            self.assertEqual(version_at(frontend, 0, "/resumed"), "v2", "frontend %d" % frontend.port)
        self.assertNotIn("did not acknowledge", m.router.log_text())

    def test_an_answer_waiting_for_acknowledgements_outlasts_the_request_timeout(self):
        """The API's request deadline (408) covers a request arriving, not its answer
        waiting for the frontends' acknowledgements."""
        m = self.mesh
        config = self.write_file("api.json", json.dumps({"configService": {"requestTimeoutMs": 500}}))
        backends, frontends = self.start_two(router_args=["--ack-wait-ms", "1200", "--config", config])
        stalled = frontends[1]
        stalled.signal(signal.SIGSTOP)
        self.addCleanup(lambda: stalled.alive() and stalled.signal(signal.SIGCONT))
        started = time.monotonic()
        # 1.2 s: longer than the request timeout, shorter than the 1.5 s in which a silent frontend leaves.
        m.put_cluster([backends["v2"]], 2, {"mode": "INSTANT"})  # 202, not 408
        waited = time.monotonic() - started
        self.assertGreaterEqual(waited, 1.0, "answered before the ack wait ran out")
        m.router.wait_log("did not acknowledge a config change", timeout=2)
        self.assertEqual(version_at(frontends[0], 0, "/after-wait"), "v2")

    def test_a_frontend_killed_does_not_hang_the_api(self):
        m = self.mesh
        backends, frontends = self.start_two(router_args=["--ack-wait-ms", "1000"])
        m.put_cluster([backends["v2"]], 2, {"mode": "INSTANT"})
        started = time.monotonic()
        m.put_cluster([backends["v1"]], 3, {"mode": "INSTANT"})
        self.assertLess(time.monotonic() - started, 0.9, "with both frontends live the API answers at once")
        frontends[1].kill()
        started = time.monotonic()
        m.put_cluster([backends["v2"]], 4, {"mode": "INSTANT"})
        waited = time.monotonic() - started
        self.assertLess(waited, 2.5, "the API waited %.2f s for a dead frontend" % waited)
        m.router.wait_log("did not acknowledge a config change", timeout=2)
        started = time.monotonic()
        m.put_cluster([backends["v1"]], 5, {"mode": "INSTANT"})
        self.assertLess(time.monotonic() - started, 0.9, "the dead frontend left the live set")
        self.assertEqual(version_at(frontends[0], 0), "v1")


if __name__ == "__main__":
    mesh.main()
