"""The worker's access log (--access-log, worker.accessLog) against a real
mesh: one JSON line per request naming the client, method, target, status,
version, worker, upstream server, duration and sizes; a generated 502 marked
as such; sampling; and a path it cannot open refused with the path named."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient, free_port, wait_until  # noqa: E402


class AccessLogTest(mesh.MeshTestCase):

    def read_lines(self, path, at_least, timeout=10.0):
        def lines():
            if not os.path.exists(path):
                return None
            with open(path) as f:
                found = [json.loads(line) for line in f if line.strip()]
            return found if len(found) >= at_least else None
        return wait_until(lines, timeout, interval=0.05, what="%d access log line(s) in %s" % (at_least, path))

    def test_one_line_per_request_with_what_an_operator_needs(self):
        path = os.path.join(self._log_dir, "access.log")
        backends = self.mesh.start_versions(names=("v1",), initial=("v1",), initial_version="1.10",
                                            worker_args=["--access-log", path])
        uuid = self.mesh.uuid_of_version("1.10")
        time.sleep(0.2)  # the requests that waited for the mesh to come up are logged by now
        with open(path) as f:
            already = len(f.readlines())
        with RawClient(self.mesh.frontend.port) as client:
            self.assertEqual(client.request("GET", "/a?b=\"c\"").status, 200)
            self.assertEqual(client.request("POST", "/upload", body=b"x" * 1000).status, 200)
            self.assertEqual(client.request("GET", "/?status=503").status, 503)
        lines = self.read_lines(path, already + 3)[already:]
        self.assertEqual(len(lines), 3, lines)
        get, post, failed = lines
        backend = "127.0.0.1:%d" % backends["v1"].port
        for line in lines:
            self.assertEqual(line["client"], "127.0.0.1", line)
            self.assertEqual((line["version"], line["uuid"], line["worker"]), ("1.10", uuid, "w1"), line)
            self.assertEqual(line["upstream"], backend, line)
            self.assertFalse(line["shielded"] or line["retried"] or line["generated"], line)
            self.assertGreater(line["durationMs"], 0, line)
            self.assertLess(line["durationMs"], 10000, line)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual((get["method"], get["target"], get["status"], get["bytesIn"]), ("GET", '/a?b="c"', 200, 0))
        self.assertGreater(get["bytesOut"], 0)
        self.assertEqual((post["method"], post["target"], post["bytesIn"]), ("POST", "/upload", 1000))
        self.assertEqual(failed["status"], 503)

        # The backend gone: the worker's own 502, marked generated, naming the server it tried.
        backends["v1"].stop()
        with RawClient(self.mesh.frontend.port) as client:
            self.assertEqual(client.request("GET", "/gone").status, 502)
        gone = self.read_lines(path, already + 4)[-1]
        self.assertEqual((gone["target"], gone["status"], gone["generated"]), ("/gone", 502, True), gone)
        self.assertEqual(gone["upstream"], backend, gone)

    def test_sampling_logs_about_the_fraction_asked_for(self):
        path = os.path.join(self._log_dir, "sampled.log")
        self.mesh.start_versions(names=("v1",), initial=("v1",),
                                 worker_args=["--access-log", path, "--access-log-sample", "0.25"])
        time.sleep(0.2)
        with open(path) as f:
            already = len(f.readlines())
        with RawClient(self.mesh.frontend.port) as client:
            for i in range(400):
                self.assertEqual(client.request("GET", "/s%d" % i).status, 200)
        time.sleep(0.3)  # the writer thread has written what it was given
        with open(path) as f:
            sampled = [json.loads(line) for line in f.readlines()[already:]]
        self.assertGreater(len(sampled), 50, len(sampled))   # expected 100; 50 and 150 are > 5 sigma away
        self.assertLess(len(sampled), 150, len(sampled))
        self.assertTrue(all(line["target"].startswith("/s") for line in sampled))

    def test_a_path_it_cannot_open_is_refused_naming_it(self):
        path = os.path.join(self._log_dir, "no-such-dir", "access.log")
        result = subprocess.run([mesh.binary("upmesh-worker"), "--router", mesh.zmq_endpoint(free_port()),
                                 "--config-endpoint", mesh.zmq_endpoint(free_port()), "--access-log", path],
                                capture_output=True, text=True, timeout=10)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn(path, result.stderr)
        self.assertIn("No such file or directory", result.stderr)


if __name__ == "__main__":
    mesh.main()
