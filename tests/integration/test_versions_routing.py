"""Cluster versions, INSTANT mode and what holds for every mode: the newest
version answers, DELETE moves traffic back, versions order numerically,
fallback to older versions when the newest one's servers are down, the
configuration survives a router restart, a late worker learns it from a
snapshot, no worker routes by a stale configuration after a PUT returns, and
bad API input is refused with a message naming the field.

Backends are started with --name v1/v2/v3, so X-Backend-Version tells which
version answered."""

import json
import os
import sys
import time
import uuid as uuid_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import CookieClient, RawClient, burst, describe_answers, http_get  # noqa: E402

INSTANT = {"mode": "INSTANT"}


class VersionRoutingTest(mesh.MeshTestCase):

    def version_answering(self, target="/"):
        status, headers, body = http_get(self.mesh.frontend.port, target)
        self.assertEqual(status, 200, body)
        return headers.get("x-backend-version")

    def assertAllServedBy(self, responses, version, workers=None, what=""):
        answers = describe_answers(responses)
        wrong = {k: n for k, n in answers.items() if isinstance(k, str) or k[:2] != (200, version)}
        self.assertEqual(wrong, {}, "%s: expected every answer from %s, got %s" % (what, version, answers))
        if workers is not None:
            seen = {k[2] for k in answers}
            self.assertEqual(seen, set(workers), "%s: workers that answered: %s" % (what, answers))

    # --- INSTANT and DELETE ---------------------------------------------------

    def test_instant_newest_version_answers_and_delete_moves_back(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), initial_version=1)
        uuid1 = m.uuid_of_version(1)
        status, headers, _ = http_get(m.frontend.port, "/")
        self.assertEqual((status, headers.get("x-backend-version")), (200, "v1"))
        self.assertEqual(headers.get("x-upmesh-cluster"), uuid1)

        uuid2 = m.put_cluster([m.backends[1]], 2, INSTANT)
        with RawClient(m.frontend.port) as client:  # a kept-alive connection switches too
            for i in range(5):
                response = client.request("GET", "/?i=%d" % i)
                self.assertEqual(response.header("x-backend-version"), "v2", response)
                self.assertEqual(response.header("x-upmesh-cluster"), uuid2, response)
                self.assertIsNone(response.header("set-cookie"), "INSTANT sets no cookie: %r" % response)

            m.delete_cluster(uuid2)
            response = client.request("GET", "/after-delete")
            self.assertEqual(response.header("x-backend-version"), "v1", response)
            self.assertEqual(response.header("x-upmesh-cluster"), uuid1, response)

        self.assertEqual(m.api("DELETE", "/configuration/cluster/%s" % uuid2).status, 404)
        # Without any cluster the workers answer 503 (design: "no cluster configured").
        m.delete_cluster(uuid1)
        status, _, body = http_get(m.frontend.port, "/no-cluster")
        self.assertEqual(status, 503, body)

    def test_transition_without_mode_is_session(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",))
        m.put_cluster([m.backends[1]], 2, {"sessionTimeout": 60})
        listed = m.clusters()[0]["cluster"]
        self.assertEqual(listed["upgradeTransition"].get("mode"), "SESSION", listed)
        with CookieClient(m.frontend.port) as client:
            response = client.get("/")
        self.assertEqual(response.header("x-backend-version"), "v2")
        self.assertIn("dynsoftup", client.jar, response)

    # --- version order --------------------------------------------------------

    def test_versions_order_numerically_and_later_added_wins_ties(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",), initial_version="1.9")
        v1, v2, v3 = m.backends
        self.assertEqual(self.version_answering(), "v1")

        uuid_110 = m.put_cluster([v2], "1.10", INSTANT)
        self.assertEqual(self.version_answering(), "v2", '"1.10" must be newer than "1.9"')

        m.put_cluster([v3], "1.2", INSTANT)
        self.assertEqual(self.version_answering(), "v2", '"1.2" must be older than "1.10"')
        listed = m.clusters()
        self.assertEqual([str(e["cluster"]["version"]) for e in listed], ["1.10", "1.9", "1.2"])
        self.assertEqual([e["state"]["newest"] for e in listed], [True, False, False])

        tie = m.put_cluster([v3], "1.10", INSTANT)
        self.assertEqual(self.version_answering(), "v3", "of two equal versions the later added is newer")
        listed = m.clusters()
        self.assertEqual([e["cluster"]["uuid"] for e in listed[:2]], [tie, uuid_110])

        # Numbers too, and numbers against strings: 3 > "1.10"; 13 > 3 (the original
        # proxy compared strings and put "13" before "3").
        m.put_cluster([v1], 3, INSTANT)
        self.assertEqual(self.version_answering(), "v1")
        m.put_cluster([v2], 13, INSTANT)
        self.assertEqual(self.version_answering(), "v2", "13 must be newer than 3")
        self.assertEqual([str(e["cluster"]["version"]) for e in m.clusters()],
                         ["13", "3", "1.10", "1.10", "1.9", "1.2"])

    # --- fallback -------------------------------------------------------------

    def test_fallback_to_older_versions_then_502(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",), initial_version=1)
        v1, v2, v3 = m.backends
        m.put_cluster([v2], 2, INSTANT)
        m.put_cluster([v3], 3, INSTANT)
        self.assertEqual(self.version_answering(), "v3")
        v3_port = v3.port

        v3.kill()
        with RawClient(m.frontend.port) as client:
            for i in range(3):
                started = time.monotonic()
                response = client.request("GET", "/?v3-down=%d" % i)
                self.assertEqual((response.status, response.header("x-backend-version")), (200, "v2"), response)
                self.assertLess(time.monotonic() - started, 2.0, "fallback took too long")
        v2.kill()
        self.assertEqual(self.version_answering("/?v2-v3-down"), "v1")
        v1.kill()
        for i in range(2):
            started = time.monotonic()
            status, _, body = http_get(m.frontend.port, "/?all-down=%d" % i)
            self.assertEqual(status, 502, body)
            self.assertLess(time.monotonic() - started, 3.0, "502 took too long")

        # The newest version back: it answers again.
        m.backends[2] = m.start_backend(name="v3", port=v3_port)
        mesh.wait_until(lambda: http_get(m.frontend.port, "/?v3-back")[1].get("x-backend-version") == "v3",
                        5, interval=0.05, what="v3 to answer again after its restart")

    # --- configuration reaching every worker -----------------------------------

    def test_no_stale_routing_right_after_a_change(self):
        """After PUT (or DELETE) returns, the very next requests through every
        worker route by the new configuration."""
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), workers=2)
        for cycle in range(4):
            uuid2 = m.put_cluster([m.backends[1]], 2, INSTANT)
            after_put = burst(m.frontend.port, 50, connections=10, target="/?delay=5&put=%d-{i}" % cycle)
            self.assertAllServedBy(after_put, "v2", {"w1", "w2"}, "cycle %d after PUT" % cycle)
            m.delete_cluster(uuid2)
            after_delete = burst(m.frontend.port, 50, connections=10, target="/?delay=5&delete=%d-{i}" % cycle)
            self.assertAllServedBy(after_delete, "v1", {"w1", "w2"}, "cycle %d after DELETE" % cycle)

    def test_worker_started_after_changes_routes_by_snapshot(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",))
        m.put_cluster([m.backends[1]], 2, INSTANT)
        uuid3 = m.put_cluster([m.backends[2]], 3, INSTANT)
        m.delete_cluster(uuid3)
        self.assertEqual(m.workers[0].stop(), 0)

        m.start_worker("late")
        # The very first answer of the late worker must already be by the current table.
        first = mesh.wait_until(lambda: self._ok_or_none("/?late-first"), 10, interval=0.05,
                                what="the late worker to serve")
        self.assertEqual((first.header("x-upmesh-worker"), first.header("x-backend-version")), ("late", "v2"), first)
        answers = burst(m.frontend.port, 20, connections=4)
        self.assertAllServedBy(answers, "v2", {"late"}, "late worker")
        # And it follows later changes by broadcast.
        m.put_cluster([m.backends[2]], 3, INSTANT)
        self.assertAllServedBy(burst(m.frontend.port, 10, connections=2), "v3", {"late"}, "late worker after PUT")

    def _ok_or_none(self, target):
        try:
            with RawClient(self.mesh.frontend.port, timeout=3) as client:
                response = client.request("GET", target)
        except OSError:
            return None
        return response if response.status == 200 else None

    # --- persistence ------------------------------------------------------------

    def test_configuration_survives_router_restart(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",), initial_version=1)
        uuid1 = m.uuid_of_version(1)
        uuid2 = m.put_cluster([m.backends[1]], 2, {"mode": "SESSION", "sessionTimeout": 300})
        before = [e["cluster"] for e in m.clusters()]

        # SIGKILL: the change must have been on disk when the PUT returned. The new router is
        # given v3 as --server: a state file that exists wins over the seed.
        m.restart_router(servers=[m.backends[2]], stop=False)
        after = [e["cluster"] for e in m.clusters()]
        self.assertEqual(after, before)
        with CookieClient(m.frontend.port) as client:
            response = client.get("/after-restart")
            self.assertEqual(response.header("x-backend-version"), "v2", response)
            self.assertEqual(client.jar.get("dynsoftup"), uuid2, response)

        # The reloaded table is live: changes apply and persist again.
        m.delete_cluster(uuid2)
        self.assertEqual(self.version_answering("/after-delete"), "v1")
        m.restart_router(servers=[m.backends[2]], stop=True)
        self.assertEqual([e["cluster"]["uuid"] for e in m.clusters()], [uuid1])
        self.assertEqual(self.version_answering("/after-second-restart"), "v1")

    def test_router_restarted_without_its_state_workers_follow_the_new_table(self):
        """An operator removes the state file and restarts the router: its sequence numbers
        start again from the seed. Workers that held a later table must not keep routing by
        it (the frontend gets the new router's table and stamps its seq, which differs from
        the workers': they fetch a snapshot)."""
        m = self.mesh
        m.start_versions(names=("v1", "v2", "v3"), initial=("v1",), workers=2)
        m.put_cluster([m.backends[1]], 2, INSTANT)
        m.put_cluster([m.backends[2]], 3, INSTANT)
        self.assertAllServedBy(burst(m.frontend.port, 20, connections=4, target="/?delay=5"), "v3",
                               what="before the restart")
        m.router.stop()
        os.remove(m.router.state_file)
        m.restart_router(servers=[m.backends[0]], stop=False)
        # The frontend stamps by its own copy of the table: the new router sends it a
        # snapshot when it first hears from it with another seq.
        m.frontend.wait_log("config snapshot seq %d" % json.loads(open(m.router.state_file).read())["seq"])
        self.assertAllServedBy(burst(m.frontend.port, 40, connections=8, target="/?delay=5&fresh={i}"), "v1",
                               {"w1", "w2"}, "after the restart with a fresh state")

    # --- bad input ----------------------------------------------------------------

    def test_bad_api_input_is_refused_naming_the_field(self):
        m = self.mesh
        m.start_versions(names=("v1",), initial=("v1",))
        # The table, not its live figures: the readiness request's HEALTH report
        # may reach the router's window after this listing.
        listed_before = [e["cluster"] for e in m.clusters()]
        server = [{"ip": "127.0.0.1", "port": m.backends[0].port}]
        cases = [
            ("no servers", {"cluster": {"version": 2, "servers": []}}, "servers"),
            ("servers missing", {"cluster": {"version": 2}}, "servers"),
            ("bad port", {"cluster": {"version": 2, "servers": [{"ip": "127.0.0.1", "port": 70000}]}}, "port"),
            ("port not a number", {"cluster": {"version": 2, "servers": [{"ip": "127.0.0.1", "port": "x"}]}},
             "port"),
            ("unknown mode", {"cluster": {"version": 2, "servers": server,
                                          "upgradeTransition": {"mode": "FAST"}}}, "mode"),
            ("SESSION without sessionTimeout", {"cluster": {"version": 2, "servers": server,
                                                            "upgradeTransition": {"mode": "SESSION"}}},
             "sessionTimeout"),
            ("percentage 0", {"cluster": {"version": 2, "servers": server, "upgradeTransition": {
                "mode": "GRADUAL", "percentageTransitionPerRequest": 0}}}, "percentageTransitionPerRequest"),
            ("percentage 150", {"cluster": {"version": 2, "servers": server, "upgradeTransition": {
                "mode": "GRADUAL", "percentageTransitionPerRequest": 150}}}, "percentageTransitionPerRequest"),
            ("no cluster key", {"servers": server, "version": 2}, "cluster"),
            ("not JSON", "{\"cluster\": {\"version\": 2, ", None),
        ]
        # Each invalid cluster carries a uuid that must not exist afterwards.
        refused_uuids = [str(uuid_module.uuid4()) for _ in range(len(cases) + 1)]
        for index, (what, body, field) in enumerate(cases):
            with self.subTest(what):
                if isinstance(body, dict) and "cluster" in body:
                    body["cluster"]["uuid"] = refused_uuids[index]
                response = m.api("PUT", "/configuration/cluster", body)
                self.assertEqual(response.status, 400, response)
                if field is not None:
                    self.assertIn(field, response.body.decode("utf-8", "replace"), response)

        with self.subTest("body over 1 MiB"):
            # Valid but for its size: 1.1 MB of servers.
            big = {"cluster": {"version": 2, "servers": server * 32000, "uuid": refused_uuids[-1]}}
            response = self._send_big(m, big)
            self.assertEqual(response.status, 413, response)

        # Nothing was half-applied.
        self.assertEqual([e["cluster"] for e in m.clusters()], listed_before)
        for refused in refused_uuids:
            self.assertEqual(m.api("GET", "/configuration/cluster/%s" % refused).status, 404)
        self.assertEqual(self.version_answering("/after-bad-input"), "v1")

    def _send_big(self, m, body):
        """PUT a body larger than the API's limit; the router may answer before reading it all."""
        data = json.dumps(body).encode()
        client = RawClient(m.router.config_port, timeout=10)
        try:
            try:
                client.send(RawClient.build_request("PUT", "/configuration/cluster", [], data))
            except OSError:
                pass  # answered and closed early; the answer is still in our receive buffer
            return client.read_response("PUT")
        finally:
            client.close()


if __name__ == "__main__":
    mesh.main()
