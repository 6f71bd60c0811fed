"""Health one level down, per backend server: a request whose server refuses
the connection goes at once to another server of the same version; an
idempotent request whose server dies after it was sent is retried once on
another server, a write never; a failing server is ejected from the rotation
for a growing back-off and probed back in, and the API shows what each worker
sees. A version with one of its two servers killed under load loses no GET.
With a cluster's healthCheck, workers probe its servers themselves."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import GetLoad, RawClient, backend_stats, http_get, wait_until  # noqa: E402


class ServerHealthTest(mesh.MeshTestCase):

    def start_two_servers(self, workers=2):
        """One version (v1) with two servers a and b; returns (a, b)."""
        m = self.mesh
        a = m.start_backend(name="v1")
        b = m.start_backend(name="v1")
        m.backends += [a, b]
        m.router = m.start_router(servers=[a, b])
        m.frontend = m.start_frontend()
        for i in range(workers):
            m.start_worker("w%d" % (i + 1))
        m.wait_workers_joined()
        m.wait_serving()
        return a, b

    def server_state(self, address):
        uuid = self.mesh.clusters()[0]["cluster"]["uuid"]
        for server in self.mesh.cluster_state(uuid)["servers"]:
            if server["address"] == address:
                return server
        raise AssertionError("no server %s in %s" % (address, self.mesh.cluster_state(uuid)))

    def test_a_killed_server_costs_no_get_and_comes_back(self):
        m = self.mesh
        a, b = self.start_two_servers(workers=2)
        address = "127.0.0.1:%d" % a.port
        with GetLoad(m.frontend.port, connections=6) as load:
            load.wait_count(300)
            a.kill()
            killed_at = time.monotonic()
            wait_until(lambda: self.server_state(address)["state"] == "ejected", 5, what="the killed server's ejection")
            ejected = self.server_state(address)
            self.assertGreater(len(ejected["workers"]), 0, ejected)
            time.sleep(2.5)
            a2 = m.start_backend(name="v1", port=a.port)
            m.backends.append(a2)
            # Probed back in within the back-off (at most a few seconds here).
            wait_until(lambda: backend_stats(a2)["requests"] > 20, 15, what="the restarted server to get traffic")
            wait_until(lambda: self.server_state(address)["state"] == "up", 5, what="the server to be up again")
            answered = [x for x in load.snapshot() if x[0] >= killed_at]
            self.assertEqual(load.failures(), [], "GETs failed while a server was down")
        self.assertGreater(len(answered), 300, "too little load to prove anything")
        router_log = m.router.log_text()
        self.assertNotIn("rolled back", router_log, "one dead server of two must not roll the version back")
        worker_logs = "".join(w.log_text() for w in m.workers)
        self.assertIn("backend %s ejected" % address, worker_logs)
        self.assertIn("backend %s is back in rotation" % address, worker_logs)

    def test_refused_connection_goes_to_another_server_even_for_a_write(self):
        m = self.mesh
        a, b = self.start_two_servers(workers=1)
        a.kill()
        time.sleep(0.2)  # the worker sees its idle connections to a close
        before = backend_stats(b)["requests"]
        with RawClient(m.frontend.port) as client:
            for i in range(6):
                response = client.request("POST", "/write-%d?echo=1" % i, body=b"x" * 10)
                self.assertEqual(response.status, 200, response)
                self.assertEqual(response.header("x-backend-port"), str(b.port), response)
        self.assertEqual(backend_stats(b)["requests"], before + 6)

    def test_a_server_dying_after_the_request_was_sent(self):
        m = self.mesh
        a, b = self.start_two_servers(workers=1)
        before = backend_stats(a)["requests"] + backend_stats(b)["requests"]
        with RawClient(m.frontend.port) as client:
            # drop=1: half the body, then a reset. A GET is tried once more, on the other server...
            response = client.request("GET", "/?drop=1&size=100000")
            self.assertEqual(response.status, 502, response)
        after_get = backend_stats(a)["requests"] + backend_stats(b)["requests"]
        self.assertEqual(after_get - before, 2, "a GET whose server died goes once to the other server")
        with RawClient(m.frontend.port) as client:
            # ...a POST never.
            response = client.request("POST", "/?drop=1&size=100000", body=b"payload")
            self.assertEqual(response.status, 502, response)
        after_post = backend_stats(a)["requests"] + backend_stats(b)["requests"]
        self.assertEqual(after_post - after_get, 1, "a POST that reached a server was sent again")

    def test_active_health_checks_eject_a_failing_server_without_traffic(self):
        m = self.mesh
        a, b = self.start_two_servers(workers=2)
        body = mesh.cluster_body([a, b], 2, {"mode": "INSTANT", "monitor": {"enabled": False}})
        body["cluster"]["healthCheck"] = {"path": "/healthz", "intervalMs": 100, "timeoutMs": 500}
        response = m.api("PUT", "/configuration/cluster", body)
        self.assertEqual(response.status, 202, response)
        uuid2 = response.body.decode().strip()
        shown = m.api("GET", "/configuration/cluster/%s" % uuid2).json()["cluster"]
        self.assertEqual(shown["healthCheck"], {"path": "/healthz", "intervalMs": 100, "timeoutMs": 500})
        address = "127.0.0.1:%d" % a.port

        def state_of_a():
            for server in m.cluster_state(uuid2)["servers"]:
                if server["address"] == address:
                    return server
        # Probes arrive with no client traffic at all.
        probes_before = backend_stats(a)["requests"]
        time.sleep(0.5)
        self.assertGreaterEqual(backend_stats(a)["requests"] - probes_before, 4, "no probes reached server a")
        # Server a starts failing its checks: both workers eject it, and clients only meet b.
        with RawClient(a.port) as client:
            self.assertEqual(client.request("PUT", "/__control?status=503").status, 200)
        def ejected_by_both():
            workers = state_of_a()["workers"]
            return len(workers) == 2 and all(w["state"] == "ejected" for w in workers.values())
        wait_until(ejected_by_both, 5, what="both workers to eject server a")
        self.assertEqual(state_of_a()["state"], "ejected")
        for i in range(10):
            status, headers, _ = http_get(m.frontend.port, "/?i=%d" % i)
            self.assertEqual((status, headers.get("x-backend-port")), (200, str(b.port)))
        # Healthy again: a probe brings it back.
        with RawClient(a.port) as client:
            self.assertEqual(client.request("PUT", "/__control?reset=1").status, 200)
        wait_until(lambda: state_of_a()["state"] == "up" and not state_of_a()["workers"], 10,
                   what="server a back in rotation")
        ports = {http_get(m.frontend.port, "/?j=%d" % i)[1].get("x-backend-port") for i in range(10)}
        self.assertEqual(ports, {str(a.port), str(b.port)})
        bad = mesh.cluster_body([a], 3)
        for check, key in (({"intervalMs": 100}, "path"), ({"path": "no-slash"}, "path"),
                           ({"path": "/x", "intervalMs": 5}, "intervalMs"), ({"path": "/x", "nope": 1}, "nope")):
            bad["cluster"]["healthCheck"] = check
            response = m.api("PUT", "/configuration/cluster", bad)
            self.assertEqual(response.status, 400, response)
            self.assertIn(("cluster.healthCheck.%s:" % key).encode(), response.body)


if __name__ == "__main__":
    mesh.main()
