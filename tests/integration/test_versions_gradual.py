"""GRADUAL mode: every client holds a fixed position in [0, 100) in its
`transition` cookie; the new version's share grows with every request the
mesh handles (positions leased from the router by the frontends) or linearly over a
duration; a client is on the new version once the share passes its position,
and never moves back while the ramp goes on. The API shows the share.

These tests check the ramp's mechanics, so monitoring is off here: with it on,
a ramp with too little traffic to judge holds past its probe share
(test_monitoring.py tests that hold)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import CookieClient, http_get, parallel, parse_set_cookie  # noqa: E402


UNMONITORED = {"enabled": False}


def by_requests(percentage):
    return {"mode": "GRADUAL", "percentageTransitionPerRequest": percentage, "monitor": UNMONITORED}


def transition_cookie(response):
    """The position in the response's `transition` Set-Cookie, or None."""
    for value in response.headers_named("set-cookie"):
        name, position, attributes = parse_set_cookie(value)
        if name == "transition":
            return position, attributes
    return None


class GradualTest(mesh.MeshTestCase):

    def get_at(self, position, target="/"):
        """(version, worker) answering a client at `position`."""
        status, headers, body = http_get(self.mesh.frontend.port, target,
                                         headers={"Cookie": "transition=%d" % position})
        self.assertEqual(status, 200, body)
        return headers.get("x-backend-version"), headers.get("x-upmesh-worker")

    def test_transition_cookie_is_a_fixed_position(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        m.put_cluster([m.backends[1]], 2, by_requests(0.1))

        with CookieClient(m.frontend.port) as client:
            first = client.get("/")
            cookie = transition_cookie(first)
            self.assertIsNotNone(cookie, "no transition cookie: %r" % first)
            position, attributes = cookie
            self.assertTrue(position.isdigit() and 0 <= int(position) <= 99, cookie)
            self.assertEqual(attributes.get("path"), "/", attributes)
            self.assertIs(attributes.get("httponly"), True, attributes)
            self.assertGreaterEqual(int(attributes.get("max-age", "0")), 86400, "the position must outlive the ramp")
            for i in range(3):
                self.assertEqual(transition_cookie(client.get("/again/%d" % i))[0], position)

        with CookieClient(m.frontend.port, cookies={"transition": "37"}) as client:
            self.assertEqual(transition_cookie(client.get("/"))[0], "37")

        for bad in ("abc", "100", "-1", "5x", ""):
            with CookieClient(m.frontend.port, cookies={"transition": bad}) as client:
                response = client.get("/bad")
                self.assertEqual(response.status, 200, response)
                cookie = transition_cookie(response)
                self.assertIsNotNone(cookie, (bad, response))
                self.assertTrue(cookie[0].isdigit() and 0 <= int(cookie[0]) <= 99, (bad, cookie))

        # New clients are spread over the positions.
        positions = set()
        for _ in range(30):
            status, headers, _ = http_get(m.frontend.port, "/fresh")
            positions.add(parse_set_cookie(headers["set-cookie"])[1])
        self.assertGreaterEqual(len(positions), 10, "positions of 30 new clients: %s" % sorted(positions))

    def test_request_ramp_counts_requests_of_all_workers(self):
        """percentageTransitionPerRequest 1.0: after n requests through either worker the
        share is n %. Rounds of 10 concurrent requests (so both workers serve) carry
        probe clients at fixed positions, two browser-like clients with the position the
        mesh gave them, and anonymous filler requests."""
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), workers=2)
        uuid2 = m.put_cluster([m.backends[1]], 2, by_requests(1.0))
        self.assertEqual(m.cluster_state(uuid2).get("gradualShare"), 0)

        probes = [5, 30, 60, 90]
        browsers = [CookieClient(m.frontend.port) for _ in range(2)]
        for browser in browsers:
            self.addCleanup(browser.close)
        history = {("probe", p): [] for p in probes}
        history.update({("browser", i): [] for i in range(len(browsers))})
        workers_seen = set()
        per_round = 10
        rounds = 12
        share_after_round_4 = None

        def one(job):
            kind, key = job
            if kind == "probe":
                status, headers, body = http_get(m.frontend.port, "/?delay=20",
                                                 headers={"Cookie": "transition=%d" % key})
                return status, headers.get("x-backend-version"), headers.get("x-upmesh-worker")
            if kind == "browser":
                response = browsers[key].get("/?delay=20")
            else:
                with CookieClient(m.frontend.port) as filler:
                    response = filler.get("/?delay=20&filler")
            return response.status, response.header("x-backend-version"), response.header("x-upmesh-worker")

        jobs = list(history) + [("filler", i) for i in range(per_round - len(history))]
        for round_number in range(rounds):
            results = parallel(one, jobs)
            for job, result in zip(jobs, results):
                self.assertFalse(isinstance(result, Exception), "round %d %s: %r" % (round_number, job, result))
                self.assertEqual(result[0], 200, (round_number, job, result))
                workers_seen.add(result[2])
                if job in history:
                    history[job].append(result[1])
            if round_number == 3:
                share_after_round_4 = m.cluster_state(uuid2)
        browser_positions = [int(b.jar["transition"]) for b in browsers]
        report = "history per client (round by round): %s; browser positions %s" % (history, browser_positions)

        self.assertEqual(workers_seen, {"w1", "w2"}, "the ramp must be driven through both workers")
        # 40 requests after round 4: the share is 40 % (each request counted once, mesh-wide).
        self.assertAlmostEqual(share_after_round_4["gradualShare"], 40, delta=2, msg=share_after_round_4)
        if "rampRequests" in share_after_round_4:
            self.assertAlmostEqual(share_after_round_4["rampRequests"], 40, delta=2, msg=share_after_round_4)
        self.assertEqual(m.cluster_state(uuid2)["gradualShare"], 100)

        positions = {("probe", p): p for p in probes}
        positions.update({("browser", i): browser_positions[i] for i in range(len(browsers))})
        move_round = {}
        for client, versions in history.items():
            self.assertIn("v2", versions, "%s never moved; %s" % (client, report))
            first = versions.index("v2")
            self.assertEqual(set(versions[:first]), {"v1"} if first else set(), report)
            self.assertEqual(set(versions[first:]), {"v2"}, "%s moved back to v1; %s" % (client, report))
            move_round[client] = first
            position = positions[client]
            # During round r the share is between 10 r + 1 and 10 (r + 1) %: the client moves in
            # the round where the share passes its position (a per-worker count would move it
            # about twice as late).
            self.assertGreaterEqual(per_round * (first + 1), position + 1,
                                    "%s (position %d) moved too early; %s" % (client, position, report))
            self.assertLessEqual(per_round * first, position + per_round + 1,
                                 "%s (position %d) moved too late; %s" % (client, position, report))
        ordered = sorted(move_round, key=lambda c: positions[c])
        self.assertEqual([move_round[c] for c in ordered], sorted(move_round[c] for c in ordered),
                         "lower positions must move first; %s" % report)

    def test_time_ramp(self):
        """durationSeconds 4: the share grows linearly from the PUT; position p moves after
        p/100 * 4 s. Each probe request is timed (sent, received), so that a slow machine
        widens the window instead of failing the test."""
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        duration = 4.0
        tolerance = 0.3  # the router's clock starts the ramp a little before the PUT returns
        put_sent = time.monotonic()
        uuid2 = m.put_cluster([m.backends[1]], 2, {"mode": "GRADUAL", "durationSeconds": int(duration),
                                                   "monitor": UNMONITORED})
        put_returned = time.monotonic()
        probes = [10, 50, 90]
        history = {p: [] for p in probes}  # (sent, received, version), seconds since the PUT returned
        state_sample = None
        deadline = put_returned + duration + 2.0
        while time.monotonic() < deadline and not all(h and h[-1][2] == "v2" for h in history.values()):
            for p in probes:
                sent = time.monotonic() - put_returned
                version, _ = self.get_at(p)
                history[p].append((sent, time.monotonic() - put_returned, version))
            if state_sample is None and time.monotonic() - put_returned >= 2.0:
                before = time.monotonic()
                state = m.cluster_state(uuid2)
                state_sample = ((before + time.monotonic()) / 2 - put_returned, time.monotonic() - before, state)
            time.sleep(0.05)
        for p in probes:
            versions = [v for _, _, v in history[p]]
            self.assertIn("v2", versions, "position %d never moved within %.0f s: %s" % (p, duration + 2, history[p]))
            first = versions.index("v2")
            self.assertEqual(set(versions[first:]), {"v2"}, "position %d moved back: %s" % (p, history[p]))
            expected = p / 100.0 * duration
            if first > 0:
                last_old_sent = history[p][first - 1][0]
                self.assertLessEqual(last_old_sent, expected + tolerance,
                                     "position %d still on v1 for a request sent %.2f s after the PUT, "
                                     "expected the move at %.2f s: %s" % (p, last_old_sent, expected, history[p]))
            first_new_received = history[p][first][1]
            self.assertGreaterEqual(first_new_received, expected - tolerance - (put_returned - put_sent),
                                    "position %d on v2 already %.2f s after the PUT, expected the move at "
                                    "%.2f s: %s" % (p, first_new_received, expected, history[p]))
        elapsed, api_time, state = state_sample
        self.assertAlmostEqual(state["gradualShare"], elapsed / duration * 100,
                               delta=5 + (api_time + put_returned - put_sent) / duration * 100, msg=state)
        mesh.wait_until(lambda: m.cluster_state(uuid2)["gradualShare"] == 100, duration + 1.0,
                        interval=0.1, what="the time ramp to reach 100 %")

    def test_request_ramp_never_goes_back_across_router_restart(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        uuid2 = m.put_cluster([m.backends[1]], 2, by_requests(1.0))
        for i in range(30):
            self.get_at(99, "/?ramp=%d" % i)
        share_before = m.cluster_state(uuid2)["gradualShare"]
        self.assertAlmostEqual(share_before, 30, delta=1)
        self.assertEqual(self.get_at(20)[0], "v2")

        m.restart_router()
        share_after = m.cluster_state(uuid2)["gradualShare"]
        self.assertGreaterEqual(share_after, share_before, "the share went back after the restart")
        self.assertEqual(self.get_at(20)[0], "v2", "a client on the new version moved back")


if __name__ == "__main__":
    mesh.main()
