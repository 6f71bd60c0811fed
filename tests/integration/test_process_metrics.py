"""Each process's own metrics port (--metrics-port, off by default) against a
real mesh: the worker's and the frontend's GET /metrics count what they did
(responses served per version, upmesh's own answers by status, backend
connections, connect failures), pass `promtool check metrics`, answer other
paths 404 and other methods 405, and listen on loopback only by default."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient, free_port, http_get, wait_until  # noqa: E402
from test_metrics import parse_page  # noqa: E402


class ProcessMetricsTest(mesh.MeshTestCase):

    def page(self, port):
        status, headers, body = http_get(port, "/metrics")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool not found: bash scripts/install-deps.sh --test installs prometheus")
        result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""), text)
        return parse_page(text)

    def assertOnlyMetrics(self, port):
        status, _, _ = http_get(port, "/other")
        self.assertEqual(status, 404)
        with RawClient(port) as client:
            response = client.request("POST", "/metrics", body=b"x")
            self.assertEqual(response.status, 405, response)
            self.assertEqual(response.header("allow"), "GET, HEAD")

    def test_the_workers_metrics_port(self):
        metrics_port = free_port()
        backends = self.mesh.start_versions(names=("v1",), initial=("v1",), initial_version="1",
                                            worker_args=["--metrics-port", str(metrics_port)])
        uuid = self.mesh.uuid_of_version("1")
        before = self.page(metrics_port)[("upmesh_worker_served_total", (("uuid", uuid), ("version", "1")))]
        with RawClient(self.mesh.frontend.port) as client:
            for i in range(25):
                self.assertEqual(client.request("GET", "/%d" % i).status, 200)
        samples = self.page(metrics_port)
        self.assertEqual(samples[("upmesh_worker_served_total", (("uuid", uuid), ("version", "1")))], before + 25)
        self.assertEqual(samples[("upmesh_backend_connections", (("state", "busy"),))], 0)
        self.assertGreaterEqual(samples[("upmesh_backend_connections", (("state", "idle"),))], 1)
        self.assertEqual(samples[("upmesh_backend_connect_failures_total", ())], 0)
        self.assertEqual(samples[("upmesh_worker_requests_in_progress", ())], 0)
        self.assertGreater(samples[("upmesh_config_seq", ())], 0)

        backends["v1"].stop()
        for _ in range(3):
            with RawClient(self.mesh.frontend.port) as client:
                self.assertEqual(client.request("GET", "/gone").status, 502)
        self.assertGreaterEqual(self.page(metrics_port)[("upmesh_backend_connect_failures_total", ())], 3)
        self.assertOnlyMetrics(metrics_port)

    def test_the_frontends_metrics_port(self):
        metrics_port = free_port()
        self.mesh.start_versions(names=("v1",), initial=("v1",), initial_version="1")
        frontend = self.mesh.start_frontend(extra=["--metrics-port", str(metrics_port), "--queue-timeout-ms", "300"])
        self.mesh.wait_serving(frontend=frontend)
        before = self.page(metrics_port)
        with RawClient(frontend.port) as client:
            for i in range(10):
                self.assertEqual(client.request("GET", "/%d" % i).status, 200)
            self.assertEqual(client.request("GET", "/?status=500").status, 500)
            self.assertEqual(client.request("GET", "/?status=404").status, 404)
            connections = self.page(metrics_port)[("upmesh_frontend_connections", ())]
            self.assertGreaterEqual(connections, 1)
        with RawClient(frontend.port) as client:
            client.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")  # two Hosts: the frontend's own 400
            self.assertEqual(client.read_response("GET").status, 400)
        samples = self.page(metrics_port)

        def grew(code):
            key = ("upmesh_frontend_responses_total", (("code", code),))
            return samples.get(key, 0) - before.get(key, 0)

        self.assertEqual((grew("2xx"), grew("4xx"), grew("5xx"), grew("400")), (10, 1, 1, 1))
        self.assertEqual(samples[("upmesh_workers", ())], 1)
        self.assertEqual(samples[("upmesh_frontend_requests_queued", ())], 0)
        self.assertGreater(samples[("upmesh_config_seq", ())], 0)
        self.assertOnlyMetrics(metrics_port)

        # No worker: after the queue timeout, the frontend's own 503, counted under its status.
        for worker in self.mesh.workers:
            worker.stop()
        wait_until(lambda: self.page(metrics_port)[("upmesh_workers", ())] == 0, 10, what="the worker gone")
        status, _, _ = http_get(frontend.port, "/")
        self.assertEqual(status, 503)
        self.assertEqual(self.page(metrics_port)[("upmesh_frontend_responses_total", (("code", "503"),))], 1)

    def test_a_metrics_port_taken_is_refused_naming_it(self):
        import socket
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            port = holder.getsockname()[1]
            result = subprocess.run([mesh.binary("upmesh-worker"), "--router", mesh.zmq_endpoint(free_port()),
                                     "--config-endpoint", mesh.zmq_endpoint(free_port()), "--metrics-port", str(port)],
                                    capture_output=True, text=True, timeout=10)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("metrics port tcp://127.0.0.1:%d" % port, result.stderr)


if __name__ == "__main__":
    mesh.main()
