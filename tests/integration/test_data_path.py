"""The data path: requests of every shape go through frontend -> router ->
worker -> backend and come back intact, in order, with correct framing."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient, backend_stats, chunked_encode, sha256_hex, size_pattern  # noqa: E402


class DataPathTest(mesh.MeshTestCase):

    @classmethod
    def setUpClass(cls):
        cls.start_class_mesh(backends=1, workers=1)

    @property
    def port(self):
        return self.class_mesh.frontend.port

    @property
    def backend(self):
        return self.class_mesh.backends[0]

    def test_basic_get(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, b"upmesh-backend v1 port %d\n" % self.backend.port)
        self.assertEqual(response.header("X-Backend-Version"), "v1")
        self.assertEqual(response.header("X-Backend-Port"), str(self.backend.port))
        self.assertEqual(response.header("X-Upmesh-Worker"), "w1")
        self.assertEqual(response.header("Content-Length"), str(len(response.body)))

    def test_chunked_post_written_one_byte_at_a_time(self):
        body = bytes((i * 7 + 3) % 256 for i in range(150))
        request = RawClient.build_request("POST", "/slow-upload?echo=1",
                                          headers=[("Transfer-Encoding", "chunked")]) \
            + chunked_encode(body, [1, 17, 40, 5])
        stats_1 = backend_stats(self.backend)
        stats_2 = backend_stats(self.backend)
        stats_self_count = stats_2["requests"] - stats_1["requests"]  # 0 or 1: does /__stats count itself?
        with RawClient(self.port) as client:
            started = time.monotonic()
            client.send_slowly(request, piece=1, pause=0.002)
            response = client.read_response()
            elapsed = time.monotonic() - started
        stats_3 = backend_stats(self.backend)
        self.assertEqual(response.status, 200, response)
        echo = response.json()
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["target"], "/slow-upload?echo=1")
        self.assertEqual(echo["bodyLength"], len(body))
        self.assertEqual(echo["bodySha256"], sha256_hex(body))
        self.assertEqual(stats_3["requests"] - stats_2["requests"] - stats_self_count, 1,
                         "the backend should see exactly one request for the slow upload "
                         "(stats before %s, after %s)" % (stats_2, stats_3))
        self.assertLess(elapsed, 20)

    def test_one_mebibyte_request_body(self):
        body = os.urandom(1 << 20)
        with RawClient(self.port, timeout=20) as client:
            response = client.request("PUT", "/big-upload?echo=1", body=body,
                                      headers=[("Content-Type", "application/octet-stream")])
        self.assertEqual(response.status, 200, response)
        echo = response.json()
        self.assertEqual(echo["method"], "PUT")
        self.assertEqual(echo["bodyLength"], 1 << 20)
        self.assertEqual(echo["bodySha256"], sha256_hex(body))

    def test_one_mebibyte_response_body(self):
        with RawClient(self.port, timeout=20) as client:
            response = client.request("GET", "/?size=1048576")
        self.assertEqual(response.status, 200, response.head_bytes)
        self.assertEqual(response.header("Content-Length"), "1048576")
        self.assertEqual(len(response.body), 1048576)
        self.assertTrue(response.body == size_pattern(1048576), "1 MiB body differs from the pattern")

    def test_chunked_backend_response_arrives_whole_with_content_length(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/?chunked=1&size=100000")
            # The same connection must still work: framing was exact.
            second = client.request("GET", "/?size=10")
        self.assertEqual(response.status, 200, response.head_bytes)
        self.assertIsNone(response.header("Transfer-Encoding"), response.head_bytes)
        self.assertEqual(response.header("Content-Length"), "100000", response.head_bytes)
        self.assertTrue(response.body == size_pattern(100000), "chunked body was not reassembled exactly")
        self.assertEqual(second.status, 200)
        self.assertEqual(second.body, size_pattern(10))

    def test_chunked_backend_response_with_default_body(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/?chunked=1")
        self.assertEqual(response.status, 200, response)
        self.assertIsNone(response.header("Transfer-Encoding"))
        self.assertEqual(response.header("Content-Length"), str(len(response.body)))
        self.assertIn(b"upmesh-backend v1", response.body)

    def test_three_pipelined_requests_answered_in_order(self):
        targets = ["/first?echo=1&delay=300", "/second?echo=1", "/third?echo=1"]
        data = b"".join(RawClient.build_request("GET", t) for t in targets)
        with RawClient(self.port) as client:
            started = time.monotonic()
            client.send(data)  # all three in one write
            responses = [client.read_response() for _ in targets]
            elapsed = time.monotonic() - started
            self.assertEqual(client.pending_bytes(0.1), b"", "bytes after the third response")
        for target, response in zip(targets, responses):
            self.assertEqual(response.status, 200, response)
            self.assertEqual(response.json()["target"], target)
        self.assertGreaterEqual(elapsed, 0.3, "the delayed first response came too early")

    def test_http10_without_keep_alive_closes(self):
        with RawClient(self.port) as client:
            client.send(b"GET /?echo=1 HTTP/1.0\r\n\r\n")
            response = client.read_response()
            self.assertEqual(response.status, 200, response)
            self.assertEqual(response.json()["target"], "/?echo=1")
            self.assertClosed(client, what="HTTP/1.0 connection without keep-alive")

    def test_http10_with_host_gets_response(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/?size=5", version="HTTP/1.0")
            self.assertEqual(response.status, 200, response)
            self.assertEqual(response.body, b"abcde")
            self.assertClosed(client, what="HTTP/1.0 connection")

    def test_head_has_no_body(self):
        with RawClient(self.port) as client:
            head = client.request("HEAD", "/?size=5000")
            self.assertEqual(head.status, 200, head)
            self.assertEqual(client.pending_bytes(0.3), b"", "HEAD response carried a body")
            self.assertEqual(head.header("X-Backend-Version"), "v1")
            # The connection is still usable and in sync.
            get = client.request("GET", "/?size=7")
        self.assertEqual(get.status, 200, get)
        self.assertEqual(get.body, b"abcdefg")

    def test_connection_close_honoured(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/?echo=1", headers=[("Connection", "close")])
            self.assertEqual(response.status, 200, response)
            self.assertEqual((response.header("Connection") or "").lower(), "close", response.head_bytes)
            self.assertClosed(client, what="connection after Connection: close")

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with RawClient(self.port) as client:
            for i in range(10):
                response = client.request("GET", "/ka/%d?echo=1" % i)
                self.assertEqual(response.status, 200, response)
                self.assertEqual(response.json()["target"], "/ka/%d?echo=1" % i)

    def test_backend_connections_are_reused(self):
        before = backend_stats(self.backend)
        with RawClient(self.port) as client:
            for i in range(50):
                response = client.request("GET", "/reuse/%d" % i)
                self.assertEqual(response.status, 200, response)
        after = backend_stats(self.backend)
        self.assertGreaterEqual(after["requests"] - before["requests"], 50)
        new_connections = after["connections"] - before["connections"]
        self.assertLessEqual(new_connections, 5,
                             "50 sequential requests opened %d backend connections (before %s, after %s)"
                             % (new_connections, before, after))

    def test_status_codes_pass_through(self):
        with RawClient(self.port) as client:
            not_found = client.request("GET", "/?status=404")
            no_content = client.request("GET", "/?status=204")
            after = client.request("GET", "/?size=3")
        self.assertEqual(not_found.status, 404, not_found)
        self.assertEqual(not_found.header("X-Upmesh-Worker"), "w1")
        self.assertEqual(no_content.status, 204, no_content)
        self.assertEqual(after.body, b"abc")

    def test_curl_chunked_upload_and_keep_alive(self):
        body = os.urandom(100000)
        with tempfile.TemporaryDirectory() as scratch:
            upload = os.path.join(scratch, "upload")
            first_out = os.path.join(scratch, "first.json")
            second_out = os.path.join(scratch, "second.json")
            with open(upload, "wb") as f:
                f.write(body)
            url = "http://127.0.0.1:%d" % self.port
            result = subprocess.run(
                ["curl", "-sS", "--http1.1", "--max-time", "20", "-H", "Transfer-Encoding: chunked",
                 "--data-binary", "@" + upload, "-o", first_out, url + "/curl-upload?echo=1",
                 "--next", "-sS", "--max-time", "20", "-o", second_out, "-w", "%{num_connects}",
                 url + "/curl-second?echo=1"],
                capture_output=True, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(first_out) as f:
                first = json.load(f)
            with open(second_out) as f:
                second = json.load(f)
        self.assertEqual(first["method"], "POST")
        self.assertEqual(first["bodyLength"], len(body))
        self.assertEqual(first["bodySha256"], sha256_hex(body))
        self.assertEqual(second["target"], "/curl-second?echo=1")
        self.assertEqual(result.stdout.strip(), b"0", "curl did not reuse the keep-alive connection")


if __name__ == "__main__":
    mesh.main()
