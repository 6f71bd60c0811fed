"""No input may crash or wedge the mesh: the config API against what an
attacker would send (a body of 100,000 nested arrays, a flood of huge
clusters, ids and versions with control characters, backend addresses in
link-local networks), a router restarted on a state file over today's
limits, and a worker refusing a hostname that resolves to a denied network.
Every test checks that the mesh keeps serving normal traffic."""

import glob
import json
import os
import time

import mesh
from mesh import api_request, http_get, wait_until

COLLECTION = "/configuration/cluster"


def write_config(directory, name, config):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def huge_cluster(servers):
    """A cluster of `servers` servers, like the issue's 27,000-server bodies of ~1 MB."""
    return {"cluster": {"version": 99, "servers": [{"ip": "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255),
                                                    "port": 1 + i % 65535} for i in range(servers)]}}


class HardeningTest(mesh.MeshTestCase):

    def api(self, method, path, body=None, timeout=10.0):
        return api_request(self.mesh.router.config_port, method, path, body, timeout=timeout)

    def assertServing(self):
        status, _, _ = http_get(self.mesh.frontend.port, "/", timeout=5.0)
        self.assertEqual(status, 200)
        self.assertTrue(self.mesh.router.alive(), self.mesh.router.log_text(30))

    def test_deeply_nested_body_is_a_short_400_and_the_router_stays_up(self):
        self.mesh.start_standard()
        for body in ["[" * 100000, '{"cluster": ' + "[" * 100000, '{"cluster": {"servers": ' + "{" * 100000]:
            response = self.api("PUT", COLLECTION, body)
            self.assertEqual(response.status, 400, response)
            text = response.body.decode()
            self.assertIn("nesting deeper than 64 levels", text)
            self.assertLess(len(text), 200, text)
        self.assertServing()
        self.assertEqual(self.api("GET", COLLECTION).status, 200)

    def test_a_json_error_names_line_and_column(self):
        self.mesh.start_standard()
        response = self.api("PUT", COLLECTION, '{"cluster": {\n  "version": 1,\n}}')
        self.assertEqual(response.status, 400)
        self.assertIn("line 3, column 1: unexpected '}'", response.body.decode())

    def test_flood_of_huge_clusters_is_refused_and_the_mesh_keeps_serving(self):
        # The issue: 31 PUTs of ~1 MB clusters with 27,000 servers each took the mesh down.
        self.mesh.start_standard()
        under_body_limit = json.dumps(huge_cluster(24000))
        self.assertLess(len(under_body_limit), 1024 * 1024)
        over_body_limit = json.dumps(huge_cluster(32000))
        self.assertGreater(len(over_body_limit), 1024 * 1024)
        with mesh.GetLoad(self.mesh.frontend.port, connections=2) as load:
            for i in range(6):
                response = self.api("PUT", COLLECTION, under_body_limit if i % 2 == 0 else over_body_limit)
                if i % 2 == 0:
                    self.assertEqual(response.status, 400, response)
                    self.assertIn("configService.maxServersPerCluster", response.body.decode())
                else:
                    self.assertEqual(response.status, 413, response)
                    self.assertIn("configService.maxBodyBytes", response.body.decode())
                start = time.monotonic()
                listed = self.api("GET", COLLECTION)
                self.assertEqual(listed.status, 200)
                self.assertLess(time.monotonic() - start, 1.0)
                self.assertEqual(len(listed.json()), 1)
        answers = load.snapshot()
        self.assertGreater(len(answers), 0)
        self.assertEqual(set(status for _, status, _ in answers), {200})
        self.assertServing()

    def test_full_table_is_a_409_and_limits_come_from_the_config_file(self):
        config = write_config(self.mesh.log_dir, "router.json", {"configService": {"maxClusters": 3, "maxServersPerCluster": 2}})
        self.mesh.start_standard(router_args=["--config", config])
        port = self.mesh.backends[0].port
        for version in (2, 3):
            self.assertEqual(self.api("PUT", COLLECTION, mesh.cluster_body([port], version)).status, 202)
        full = self.api("PUT", COLLECTION, mesh.cluster_body([port], 4))
        self.assertEqual(full.status, 409)
        self.assertIn("configService.maxClusters", full.body.decode())
        too_many = self.api("PUT", COLLECTION, mesh.cluster_body([port, port, port], 5))
        self.assertEqual(too_many.status, 400)
        self.assertIn("more than the limit of 2", too_many.body.decode())
        self.assertServing()

    def test_bad_ids_versions_and_hostnames_are_400_naming_the_field(self):
        self.mesh.start_standard()
        port = self.mesh.backends[0].port
        cases = [
            ({"uuid": "..", "servers": [{"ip": "127.0.0.1", "port": port}]}, "cluster.uuid:"),
            ({"uuid": "a/b", "servers": [{"ip": "127.0.0.1", "port": port}]}, "cluster.uuid:"),
            ({"version": "1\r\nX-Injected: 1", "servers": [{"ip": "127.0.0.1", "port": port}]}, "cluster.version:"),
            ({"version": "1\u0000", "servers": [{"ip": "127.0.0.1", "port": port}]}, "cluster.version:"),
            ({"servers": [{"hostname": "evil\r\nhost", "port": port}]}, "cluster.servers[0].hostname:"),
            ({"servers": [{"ip": "localhost", "port": port}]}, "cluster.servers[0].ip:"),
        ]
        for cluster, field in cases:
            response = self.api("PUT", COLLECTION, {"cluster": cluster})
            self.assertEqual(response.status, 400, (cluster, response))
            self.assertTrue(response.body.decode().startswith(field), response.body)
        self.assertEqual(self.api("GET", COLLECTION + "/..").status, 400)
        self.assertServing()

    def test_link_local_backend_is_refused_naming_the_rule(self):
        self.mesh.start_standard()
        for ip in ("169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::169.254.169.254", "fe80::1"):
            response = self.api("PUT", COLLECTION, {"cluster": {"servers": [{"ip": ip, "port": 80}]}})
            self.assertEqual(response.status, 400, response)
            self.assertIn("denied network", response.body.decode())
            self.assertIn("(backendNetworks.deny)", response.body.decode())
        self.assertEqual(len(self.api("GET", COLLECTION).json()), 1)
        self.assertServing()

    def test_router_refuses_an_initial_cluster_in_a_denied_network(self):
        result = mesh.run_binary("upmesh-router", ["--server", "169.254.169.254:80",
                                                   "--state-file", os.path.join(self._log_dir, "state.json")])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("cluster.servers[0].ip: 169.254.169.254 is in denied network 169.254.0.0/16", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self._log_dir, "state.json")))

    def test_worker_refuses_a_hostname_that_resolves_to_a_denied_network(self):
        # The router allows loopback (its default); this worker's policy denies it,
        # so "localhost" passes the API and is refused where it is resolved.
        deny_loopback = write_config(self.mesh.log_dir, "worker.json",
                                     {"backendNetworks": {"deny": ["127.0.0.0/8", "::1/128"]}})
        backend = self.mesh.start_backend(name="v1")
        self.mesh.router = self.mesh.start_router(servers=[])
        self.mesh.frontend = self.mesh.start_frontend()
        worker = self.mesh.start_worker("w1", extra=["--config", deny_loopback])
        response = self.api("PUT", COLLECTION, {"cluster": {"servers": [{"hostname": "localhost", "port": backend.port}]}})
        self.assertEqual(response.status, 202, response)
        wait_until(lambda: "is in denied network 127.0.0.0/8 (backendNetworks.deny)" in worker.log_text(), 10,
                   what="the worker to refuse localhost")
        status, _, _ = http_get(self.mesh.frontend.port, "/", timeout=5.0)
        self.assertNotEqual(status, 200)
        self.assertEqual(mesh.backend_stats(backend)["requests"], 0)

    def test_router_starts_from_a_state_file_over_the_limits(self):
        # A state file as an older build could have left it: one version of 27,000
        # servers and 70 small ones. The router loads what fits, newest first,
        # keeps the file as found, and serves.
        backend = self.mesh.start_backend(name="v1")
        state_file = os.path.join(self.mesh.log_dir, "old-state.json")
        clusters = [{"uuid": "huge", "version": 1000, "addedOrder": 1000, "addedAtMs": 1,
                     "servers": huge_cluster(27000)["cluster"]["servers"]}]
        for i in range(70):
            clusters.append({"uuid": "v%d" % i, "version": i, "addedOrder": i + 1, "addedAtMs": 1,
                             "servers": [{"ip": "127.0.0.1", "port": backend.port}]})
        with open(state_file, "w") as f:
            json.dump({"seq": 5, "clusters": clusters}, f)
        self.mesh.router = self.mesh.start_router(servers=[], state_file=state_file)
        self.mesh.frontend = self.mesh.start_frontend()
        self.mesh.start_worker("w1")
        self.mesh.wait_serving()
        listed = self.api("GET", COLLECTION).json()
        self.assertEqual(len(listed), 64)
        self.assertEqual(listed[0]["cluster"]["uuid"], "v69")
        self.assertNotIn("huge", [entry["cluster"]["uuid"] for entry in listed])
        log = self.mesh.router.log_text()
        self.assertIn(state_file + ": version refused, not loaded", log)
        self.assertIn("cluster huge: 27000 servers, over configService.maxServersPerCluster (256)", log)
        refused = glob.glob(state_file + ".refused-*")
        self.assertEqual(len(refused), 1)
        with open(refused[0]) as f:
            self.assertEqual(len(json.load(f)["clusters"]), 71)


if __name__ == "__main__":
    mesh.main()
