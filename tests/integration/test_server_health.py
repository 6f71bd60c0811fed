"""Health one level down, per backend server: a request whose server refuses
the connection goes at once to another server of the same version; an
idempotent request whose server dies after it was sent is retried once on
another server, a write never; a failing server is ejected from the rotation
for a growing back-off and probed back in, and the API shows what each worker
sees. A version with one of its two servers killed under load loses no GET."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import GetLoad, RawClient, backend_stats, wait_until  # noqa: E402


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


if __name__ == "__main__":
    mesh.main()
