"""The router's REST config API over real HTTP, with only the router running:
PUT / GET / GET id / DELETE, 404 and 405, validation (400 naming the field),
version ordering, keep-alive and whole-message parsing, persistence across
a router restart (clean stop and SIGKILL), a corrupt state file, the initial
cluster from --server, and the router's flags."""

import json
import os
import random
import types

import mesh
from mesh import RawClient, api_request, cluster_body

COLLECTION = "/configuration/cluster"


def read_state(path):
    with open(path) as f:
        return json.load(f)


def fake_server(port):
    """Something with a .port, as start_router(servers=...) wants; nothing listens there
    (the API never connects to servers)."""
    return types.SimpleNamespace(port=port)


class ConfigApiTest(mesh.MeshTestCase):

    def start_router(self, **kwargs):
        kwargs.setdefault("servers", [fake_server(8001)])
        self.router = self.mesh.start_router(**kwargs)
        self.mesh.router = self.router
        return self.router

    def api(self, method, path, body=None, headers=None):
        return api_request(self.router.config_port, method, path, body, headers)

    def listed(self):
        response = self.api("GET", COLLECTION)
        self.assertEqual(response.status, 200, response)
        return response.json()

    def put(self, servers, version, transition=None, uuid=None):
        response = self.api("PUT", COLLECTION, cluster_body(servers, version, transition, uuid))
        self.assertEqual(response.status, 202, response)
        return response.body.decode()

    # --- the endpoints -------------------------------------------------------

    def test_initial_cluster_from_server_flags_appears(self):
        self.start_router(servers=[fake_server(8001), fake_server(8002)], version="1.9")
        clusters = self.listed()
        self.assertEqual(len(clusters), 1, clusters)
        cluster = clusters[0]["cluster"]
        self.assertEqual(cluster["version"], "1.9")
        self.assertEqual(cluster["servers"], [{"ip": "127.0.0.1", "port": 8001}, {"ip": "127.0.0.1", "port": 8002}])
        self.assertEqual(len(cluster["uuid"]), 36)
        self.assertTrue(clusters[0]["state"]["newest"])
        self.assertEqual(clusters[0]["state"]["requestsServed"], 0)

    def test_no_initial_cluster_is_allowed(self):
        self.start_router(servers=[])
        self.assertEqual(self.listed(), [])

    def test_put_get_delete(self):
        self.start_router()
        response = self.api("PUT", COLLECTION, cluster_body([8003], 2, {"mode": "SESSION", "sessionTimeout": 30}))
        self.assertEqual(response.status, 202, response)
        self.assertTrue(response.header("content-type").startswith("text/plain"))
        uuid = response.body.decode()
        self.assertRegex(uuid, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

        got = self.api("GET", COLLECTION + "/" + uuid)
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.header("content-type"), "application/json")
        self.assertEqual(got.json()["cluster"], {"uuid": uuid, "version": 2,
                                                 "servers": [{"ip": "127.0.0.1", "port": 8003}],
                                                 "upgradeTransition": {"mode": "SESSION", "sessionTimeout": 30}})
        self.assertTrue(got.json()["state"]["newest"])
        self.assertEqual([c["cluster"]["uuid"] for c in self.listed()][0], uuid)

        deleted = self.api("DELETE", COLLECTION + "/" + uuid)
        self.assertEqual(deleted.status, 202, deleted)
        self.assertEqual(deleted.body, b"")
        self.assertEqual(self.api("GET", COLLECTION + "/" + uuid).status, 404)
        self.assertEqual(self.api("DELETE", COLLECTION + "/" + uuid).status, 404)
        self.assertEqual(len(self.listed()), 1)

    def test_client_uuid_is_kept_and_a_duplicate_is_a_conflict(self):
        self.start_router()
        self.assertEqual(self.put([8002], 2, uuid="blue-2"), "blue-2")
        again = self.api("PUT", COLLECTION, cluster_body([8003], 3, uuid="blue-2"))
        self.assertEqual(again.status, 409, again)
        self.assertIn(b"blue-2 already exists", again.body)
        self.assertEqual(self.api("GET", COLLECTION + "/blue-2").json()["cluster"]["version"], 2)

    def test_trailing_slash_and_head(self):
        self.start_router()
        with_slash = self.api("GET", COLLECTION + "/")
        self.assertEqual(with_slash.status, 200)
        self.assertEqual(with_slash.json(), self.listed())
        with RawClient(self.router.config_port) as client:
            head = client.request("HEAD", COLLECTION)
            self.assertEqual(head.status, 200)
            self.assertEqual(head.body, b"")
            self.assertGreater(int(head.header("content-length")), 2)
            self.assertEqual(client.request("GET", COLLECTION).status, 200)  # the connection is still in sync

    def test_versions_order_numerically_and_later_added_wins_ties(self):
        self.start_router(servers=[fake_server(8001)], version="1")
        v19 = self.put([8002], "1.9")
        v110 = self.put([8003], "1.10")
        v13 = self.put([8004], 13)
        v3 = self.put([8005], "3")
        v110_again = self.put([8006], "1.10")
        v2 = self.put([8007], 2)
        initial = self.listed()[-1]["cluster"]["uuid"]
        order = [c["cluster"]["uuid"] for c in self.listed()]
        self.assertEqual(order, [v13, v3, v2, v110_again, v110, v19, initial])
        newest = [c["state"]["newest"] for c in self.listed()]
        self.assertEqual(newest, [True] + [False] * 6)
        # Deleting the newest makes the next one newest.
        self.assertEqual(self.api("DELETE", COLLECTION + "/" + v13).status, 202)
        self.assertEqual(self.listed()[0]["cluster"]["uuid"], v3)

    def test_unknown_paths_404_and_other_methods_405(self):
        self.start_router()
        for path in ["/", "/configuration", "/configuration/clusters", COLLECTION + "/a/b", "/favicon.ico"]:
            self.assertEqual(self.api("GET", path).status, 404, path)
        post = self.api("POST", COLLECTION, {"cluster": {}})
        self.assertEqual(post.status, 405)
        self.assertEqual(post.header("allow"), "GET, HEAD, PUT")
        put_item = self.api("PUT", COLLECTION + "/x", cluster_body([1], 1))
        self.assertEqual(put_item.status, 405)
        self.assertEqual(put_item.header("allow"), "GET, HEAD, DELETE")
        self.assertEqual(self.api("DELETE", COLLECTION).status, 405)
        self.assertEqual(len(self.listed()), 1)

    # --- bad input -----------------------------------------------------------

    def test_invalid_clusters_are_400_naming_the_field_and_change_nothing(self):
        self.start_router()
        before = self.listed()
        servers = [{"ip": "127.0.0.1", "port": 8002}]
        cases = [
            (b"this is not json", "body: not valid JSON"),
            (b"[]", "body: must be a JSON object"),
            ({"clusters": {}}, "cluster: missing"),
            ({"cluster": {"version": 2}}, "cluster.servers: must be a non-empty array"),
            ({"cluster": {"servers": []}}, "cluster.servers: must be a non-empty array"),
            ({"cluster": {"servers": [{"ip": "127.0.0.1", "port": 99999}]}},
             "cluster.servers[0].port: must be an integer in 1..65535"),
            ({"cluster": {"servers": servers, "upgradeTransition": {"mode": "BLUE_GREEN"}}},
             "cluster.upgradeTransition.mode: must be one of INSTANT, SESSION, GRADUAL, CONCURRENT"),
            ({"cluster": {"servers": servers, "upgradeTransition": {"mode": "SESSION"}}},
             "cluster.upgradeTransition.sessionTimeout: required for SESSION"),
            ({"cluster": {"servers": servers, "upgradeTransition": {"mode": "GRADUAL",
                                                                    "percentageTransitionPerRequest": 0}}},
             "cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100]"),
            ({"cluster": {"servers": servers, "upgradeTransition": {"mode": "GRADUAL",
                                                                    "percentageTransitionPerRequest": 150}}},
             "cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100]"),
            ({"cluster": {"servers": servers, "upgradeTransition": {"mode": "GRADUAL"}}},
             "cluster.upgradeTransition: GRADUAL needs exactly one of"),
            ({"cluster": {"servers": servers, "versoin": 3}}, "cluster.versoin: unknown key"),
        ]
        for body, message in cases:
            response = self.api("PUT", COLLECTION, body)
            self.assertEqual(response.status, 400, (body, response))
            self.assertTrue(response.body.decode().startswith(message), (body, response.body))
        self.assertEqual(self.listed(), before)

    def test_body_over_the_limit_is_413_and_the_client_reads_it(self):
        self.start_router()
        big = b'{"cluster": {"servers": [], "pad": "' + b"x" * (1024 * 1024) + b'"}}'
        with RawClient(self.router.config_port) as client:
            response = client.request("PUT", COLLECTION, body=big)
            self.assertEqual(response.status, 413, response)
            self.assertIn(b"body: larger than the limit of 1048576 bytes", response.body)
            self.assertEqual(response.header("connection"), "close")
            self.assertClosed(client)
        self.assertEqual(len(self.listed()), 1)

    def test_malformed_http_and_random_bodies_never_hurt_the_router(self):
        self.start_router()
        with RawClient(self.router.config_port) as client:
            client.send(b"GARBAGE\r\n\r\n")
            self.assertEqual(client.read_response().status, 400)
            self.assertClosed(client)
        rng = random.Random(7)
        valid = json.dumps(cluster_body([8002], "2.0", {"mode": "GRADUAL", "percentageTransitionPerRequest": 5}))
        statuses = set()
        with RawClient(self.router.config_port) as client:
            for _ in range(300):
                body = bytearray(valid.encode())
                for _ in range(rng.randint(1, 4)):
                    at = rng.randrange(len(body))
                    if rng.random() < 0.5:
                        body[at] = rng.randrange(256)
                    else:
                        del body[at:at + rng.randint(1, 8)]
                response = client.request("PUT", COLLECTION, body=bytes(body))
                statuses.add(response.status)
                self.assertIn(response.status, (202, 400, 409), (bytes(body), response))
        self.assertIn(400, statuses)
        json.dumps(self.listed())  # still a valid listing
        self.assertTrue(self.router.alive())

    # --- HTTP handling -------------------------------------------------------

    def test_keep_alive_pipelining_split_requests_and_connection_close(self):
        self.start_router()
        body = json.dumps(cluster_body([8002], 2, uuid="v2")).encode()
        with RawClient(self.router.config_port) as client:
            # One byte per TCP segment: the request is reassembled, never taken frame by frame.
            client.send_slowly(RawClient.build_request("PUT", COLLECTION, body=body), piece=7, pause=0.001)
            self.assertEqual(client.read_response().status, 202)
            # Two pipelined requests in one write: two answers, in order.
            client.send(RawClient.build_request("GET", COLLECTION + "/v2") +
                        RawClient.build_request("GET", COLLECTION + "/nope"))
            first, second = client.read_response(), client.read_response()
            self.assertEqual((first.status, second.status), (200, 404))
            self.assertEqual(first.json()["cluster"]["uuid"], "v2")
            self.assertIsNone(first.header("connection"))  # kept alive
            last = client.request("GET", COLLECTION, headers=[("Connection", "close")])
            self.assertEqual(last.status, 200)
            self.assertEqual(last.header("connection"), "close")
            self.assertClosed(client)

    def test_expect_100_continue(self):
        self.start_router()
        body = json.dumps(cluster_body([8002], 2)).encode()
        with RawClient(self.router.config_port) as client:
            client.send(RawClient.build_request("PUT", COLLECTION, headers=[("Expect", "100-continue"),
                                                                           ("Content-Length", str(len(body)))]))
            self.assertEqual(client._read_line(), b"HTTP/1.1 100 Continue")
            self.assertEqual(client._read_line(), b"")
            client.send(body)
            self.assertEqual(client.read_response("PUT").status, 202)

    # --- persistence -----------------------------------------------------------

    def test_changes_survive_a_restart_with_the_same_state_file(self):
        router = self.start_router(version="1")
        first_seq = read_state(router.state_file)["seq"]  # a fresh table starts at the wall clock (ms)
        v2 = self.put([8002], 2, {"mode": "GRADUAL", "durationSeconds": 3600})
        v3 = self.put([8003], 3)
        self.assertEqual(self.api("DELETE", COLLECTION + "/" + v3).status, 202)
        before = [c["cluster"] for c in self.listed()]
        state = read_state(router.state_file)
        self.assertEqual(state["seq"], first_seq + 3)
        self.assertFalse(os.path.exists(router.state_file + ".tmp"))
        self.assertEqual(router.stop(), 0)

        # Restarted with other --server flags: the state file wins.
        self.start_router(servers=[fake_server(9999)], version="7", state_file=router.state_file,
                          config_port=router.config_port)
        after = self.listed()
        self.assertEqual([c["cluster"] for c in after], before)
        self.assertEqual(after[0]["cluster"]["uuid"], v2)
        self.assertGreater(after[0]["state"]["gradualShare"], 0)  # the time ramp kept its start

    def test_an_applied_change_survives_sigkill(self):
        router = self.start_router()
        uuid = self.put([8002], 2)
        seq_before_kill = read_state(router.state_file)["seq"]
        router.kill()
        self.start_router(state_file=router.state_file, config_port=router.config_port)
        self.assertEqual(self.listed()[0]["cluster"]["uuid"], uuid)
        # seq went on from the file: the next change is the one after.
        self.put([8003], 3)
        self.assertEqual(read_state(router.state_file)["seq"], seq_before_kill + 1)

    def router_args(self, state_file, *extra):
        return ["--frontend-bind", mesh.zmq_endpoint(mesh.free_port()),
                "--worker-bind", mesh.zmq_endpoint(mesh.free_port()),
                "--publish-bind", mesh.zmq_endpoint(mesh.free_port()),
                "--config-address", "127.0.0.1", "--config-port", str(mesh.free_port()),
                "--state-file", state_file] + list(extra)

    def test_a_corrupt_state_file_stops_the_router_and_is_left_alone(self):
        state_file = os.path.join(self._log_dir, "corrupt.json")
        with open(state_file, "w") as f:
            f.write('{"seq": 1, "clusters": [{"servers": ')
        result = mesh.run_binary("upmesh-router", self.router_args(state_file, "--server", "127.0.0.1:8001"))
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(state_file + ": corrupt state file", result.stderr)
        with open(state_file) as f:
            self.assertEqual(f.read(), '{"seq": 1, "clusters": [{"servers": ')

    def test_flags_are_validated(self):
        state_file = os.path.join(self._log_dir, "never.json")
        cases = [
            (["--config-port", "0"], "--config-port"),
            (["--config-port", "70000"], "--config-port"),
            (["--publish-bind", "nowhere"], "--publish-bind"),
            (["--server", "no-port"], "--server"),
            (["--server", "127.0.0.1:0"], "--server"),
            (["--cluster-version", "2"], "--cluster-version"),
            (["--server", "127.0.0.1:8001", "--cluster-version", "x" * 100], "cluster.version"),
            (["--state-file", ""], "--state-file"),
        ]
        for extra, flag in cases:
            args = self.router_args(state_file) + extra
            result = mesh.run_binary("upmesh-router", args)
            self.assertEqual(result.returncode, 2, (extra, result))
            self.assertIn(flag, result.stderr, extra)
        self.assertFalse(os.path.exists(state_file))
        help_text = mesh.run_binary("upmesh-router", ["--help"]).stdout
        for flag in ["--config-address", "--config-port", "--state-file", "--publish-bind", "--server",
                     "--cluster-version"]:
            self.assertIn(flag, help_text)


if __name__ == "__main__":
    mesh.main()
