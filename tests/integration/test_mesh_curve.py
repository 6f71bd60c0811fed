"""ZeroMQ CURVE on every mesh socket ("Ironhouse"), with real processes: a
keyed mesh serves requests end to end (and applies a change made through the
API); workers with no key, with a key the router does not allow, or with the
wrong router key cannot register and get no traffic while the keyed worker
gets all of it, and the router logs the refusal; the same intruders pointed
straight at a frontend's worker socket (--frontend) are refused by the
frontend, which logs it; a frontend with a key the router does not allow is
refused (503); half a key configuration stops a process at start (exit 2)."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port, parallel  # noqa: E402


class CurveMeshTest(mesh.MeshTestCase):

    def setUp(self):
        super().setUp()
        self.keys = os.path.join(self._log_dir, "keys")
        self.allowed = os.path.join(self.keys, "allowed")
        os.makedirs(self.allowed)
        self.public = {}
        for name in ("router", "frontend", "w1", "intruder", "rogue-frontend"):
            self.public[name] = self.keygen(name)
        for name in ("frontend", "w1"):
            shutil.copy(self.key_path(name, "pub"), self.allowed)
        # A second router key pair: a client that trusts it talks to an impostor.
        self.keygen("other-router")

    def keygen(self, name):
        result = mesh.run_binary("upmeshctl", ["keygen", self.keys, name])
        self.assertEqual(result.returncode, 0, result)
        key = result.stdout.strip()
        self.assertEqual(len(key), 40, result)
        self.assertEqual(os.stat(self.key_path(name, "key")).st_mode & 0o777, 0o600)
        return key

    def key_path(self, name, kind):
        return os.path.join(self.keys, "%s.%s" % (name, kind))

    def client_keys(self, name, server="router"):
        return ["--curve-secret-key", self.key_path(name, "key"),
                "--curve-server-key", self.key_path(server, "pub")]

    def frontend_keys(self, name):
        """A frontend's client keys, and the mesh's server key for its worker socket."""
        return self.client_keys(name) + ["--curve-worker-secret-key", self.key_path("router", "key"),
                                         "--curve-allowed-keys", self.allowed]

    def start_keyed_mesh(self):
        self.mesh.backends.append(self.mesh.start_backend(name="v1"))
        self.mesh.router = self.mesh.start_router(extra=[
            "--curve-secret-key", self.key_path("router", "key"), "--curve-allowed-keys", self.allowed])
        self.mesh.frontend = self.mesh.start_frontend(extra=self.frontend_keys("frontend"))
        self.mesh.start_worker("w1", extra=self.client_keys("w1"))
        self.mesh.wait_serving()

    def workers_answering(self, count=40):
        results = parallel(lambda i: mesh.http_get(self.mesh.frontend.port, "/?delay=30&n=%d" % i, timeout=10),
                           range(count))
        answers = {}
        for result in results:
            self.assertNotIsInstance(result, Exception)
            status, headers, _ = result
            key = (status, headers.get("x-upmesh-worker"))
            answers[key] = answers.get(key, 0) + 1
        return answers

    def wait_log(self, process, text, timeout=5.0):
        mesh.wait_until(lambda: text in process.log_text(), timeout, what="%r in the %s log" % (text, process.label))

    def test_keyed_mesh_serves_and_applies_changes(self):
        self.start_keyed_mesh()
        self.assertEqual(self.workers_answering(), {(200, "w1"): 40})
        self.assertIn("CURVE on every mesh socket; 2 client key(s) allowed", self.mesh.router.log_text())
        # The change reaches the worker over the CURVE links (snapshot and broadcast).
        v2 = self.mesh.start_backend(name="v2")
        self.mesh.put_cluster([v2], 2)
        status, headers, _ = mesh.http_get(self.mesh.frontend.port, "/")
        self.assertEqual((status, headers.get("x-backend-version")), (200, "v2"))

    def test_intruder_workers_get_no_traffic(self):
        self.start_keyed_mesh()
        # No key at all; a key the router does not allow; an allowed key but the wrong router key.
        self.mesh.start_worker("no-key")
        self.mesh.start_worker("unlisted-key", extra=self.client_keys("intruder"))
        self.mesh.start_worker("wrong-router", extra=self.client_keys("w1", server="other-router"))
        self.wait_log(self.mesh.router, "refused a peer from 127.0.0.1: its public key is not in "
                      "mesh.curve.allowedClientKeys; its key: " + self.public["intruder"])
        # A peer with no keys is reported as a mechanism mismatch, or, when it hangs
        # up first (libzmq's race), as a handshake that failed with no detail.
        refused_no_key = "refused a peer on router.workerBind (%s): " % mesh.zmq_endpoint(self.mesh.router.worker_port)
        mesh.wait_until(lambda: any(refused_no_key + reason in self.mesh.router.log_text()
                                    for reason in ("mechanism mismatch", "handshake failed")),
                        5.0, what="the router to refuse the worker without keys")
        self.wait_log(self.mesh.router, "cryptographic error")
        # Give the intruders every chance to register (they retry READY every 20 ms).
        time.sleep(1.0)
        for _ in range(3):
            self.assertEqual(self.workers_answering(), {(200, "w1"): 40})
        for name in ("no-key", "unlisted-key", "wrong-router"):
            worker = [w for w in self.mesh.workers if w.worker_name == name][0]
            self.assertTrue(worker.alive(), worker.log_text())
        self.assertNotIn("no-key", self.mesh.router.log_text())
        self.assertNotIn("worker unlisted-key", self.mesh.router.log_text())

    def test_intruders_at_the_frontend_worker_socket_get_no_traffic(self):
        self.start_keyed_mesh()
        frontend = self.mesh.frontend
        direct = ["--frontend", mesh.zmq_endpoint(frontend.worker_port)]
        self.mesh.start_worker("no-key", extra=direct)
        self.mesh.start_worker("unlisted-key", extra=direct + self.client_keys("intruder"))
        self.mesh.start_worker("wrong-router", extra=direct + self.client_keys("w1", server="other-router"))
        self.wait_log(frontend, "refused a peer from 127.0.0.1: its public key is not in "
                      "mesh.curve.allowedClientKeys; its key: " + self.public["intruder"])
        refused = "refused a peer on frontend.workerBind (%s): " % mesh.zmq_endpoint(frontend.worker_port)
        mesh.wait_until(lambda: any(refused + reason in frontend.log_text()
                                    for reason in ("mechanism mismatch", "handshake failed")),
                        5.0, what="the frontend to refuse the worker without keys")
        self.wait_log(frontend, "cryptographic error")
        time.sleep(1.0)
        for _ in range(3):
            self.assertEqual(self.workers_answering(), {(200, "w1"): 40})
        for name in ("no-key", "unlisted-key", "wrong-router"):
            self.assertNotIn("worker %s joined" % name, frontend.log_text())

    def test_frontend_with_an_unlisted_key_is_refused(self):
        self.start_keyed_mesh()
        # No worker ever learns of a frontend the router refused: 503 once the queue wait is over.
        quick = ["--queue-timeout-ms", "300"]
        rogue = self.mesh.start_frontend(extra=self.frontend_keys("rogue-frontend") + quick)
        self.wait_log(self.mesh.router, "its key: " + self.public["rogue-frontend"])
        for _ in range(5):
            status, _, _ = mesh.http_get(rogue.port, "/")
            self.assertEqual(status, 503)
        unkeyed = self.mesh.start_frontend(extra=quick)
        status, _, _ = mesh.http_get(unkeyed.port, "/")
        self.assertEqual(status, 503)
        self.assertEqual(self.workers_answering(10), {(200, "w1"): 10})

    def assertRefusedToStart(self, program, args, must_mention):
        result = mesh.run_binary(program, args)
        self.assertEqual(result.returncode, 2, result)
        self.assertIn(must_mention, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_incomplete_or_unsafe_keys_stop_a_process(self):
        state = os.path.join(self._log_dir, "state.json")
        router_args = ["--frontend-bind", mesh.zmq_endpoint(free_port()),
                       "--worker-bind", mesh.zmq_endpoint(free_port()),
                       "--publish-bind", mesh.zmq_endpoint(free_port()),
                       "--config-port", str(free_port()), "--state-file", state]
        self.assertRefusedToStart("upmesh-router", router_args + ["--curve-secret-key", self.key_path("router", "key")],
                                  "mesh.curve.allowedClientKeys is not")
        empty = os.path.join(self._log_dir, "empty-allowed")
        os.makedirs(empty)
        self.assertRefusedToStart("upmesh-router", router_args + [
            "--curve-secret-key", self.key_path("router", "key"), "--curve-allowed-keys", empty], "no public key in it")
        os.chmod(self.key_path("w1", "key"), 0o644)
        self.assertRefusedToStart("upmesh-worker", ["--name", "w1"] + self.client_keys("w1"), "chmod 600")
        self.assertRefusedToStart("upmesh-frontend", ["--port", str(free_port()),
                                                      "--curve-secret-key", self.key_path("frontend", "key")],
                                  "mesh.curve.serverPublicKeyFile is not")
        self.assertRefusedToStart("upmesh-frontend", ["--port", str(free_port())] + self.client_keys("frontend"),
                                  "the mesh's server key for its worker socket")
        self.assertRefusedToStart("upmesh-worker", ["--name", "w1", "--curve-secret-key",
                                                    self.key_path("router", "pub"),
                                                    "--curve-server-key", self.key_path("router", "pub")],
                                  "only its owner may have access")
        self.assertFalse(os.path.exists(state))

    def test_keygen_refuses_to_overwrite(self):
        result = mesh.run_binary("upmeshctl", ["keygen", self.keys, "router"])
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("exists already", result.stderr)
        with open(self.key_path("router", "pub")) as f:
            self.assertEqual(f.read().strip(), self.public["router"])


if __name__ == "__main__":
    mesh.main()
