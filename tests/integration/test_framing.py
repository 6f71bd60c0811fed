"""Request framing at the frontend: ambiguous or oversized requests are refused
with the right status and the connection is closed (request smuggling
defence); accepted requests reach the backend re-framed and without
hop-by-hop fields."""

import os
import select
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient, backend_stats, chunked_encode, sha256_hex  # noqa: E402

MAX_HEADER_BYTES = 4096
MAX_BODY_BYTES = 65536


def echo_headers(response):
    """The headers the backend received, as {lower-case name: [values]}."""
    headers = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


class FramingTest(mesh.MeshTestCase):

    @classmethod
    def setUpClass(cls):
        m = cls.start_class_mesh(backends=1, workers=1,
                                 frontend_args=["--max-header-bytes", MAX_HEADER_BYTES,
                                                "--max-body-bytes", MAX_BODY_BYTES])
        # A second frontend with the default limits (16 KiB of headers, 8 KiB of target).
        try:
            cls.default_frontend = m.start_frontend()
            m.wait_serving(frontend=cls.default_frontend)
        except BaseException:
            cls.tearDownClass()
            raise
        first = backend_stats(m.backends[0])
        second = backend_stats(m.backends[0])
        cls.stats_self_count = second["requests"] - first["requests"]

    @property
    def port(self):
        return self.class_mesh.frontend.port

    def backend_requests(self):
        return backend_stats(self.class_mesh.backends[0])["requests"]

    def assertRefused(self, data, status, port=None, pieces=None):
        """Sends `data` (or `pieces` one after another, stopping once an answer is
        readable), expects `status`, the connection closed, and nothing forwarded."""
        requests_before = self.backend_requests()
        with RawClient(port or self.port) as client:
            try:
                for piece in pieces or [data]:
                    readable, _, _ = select.select([client.sock], [], [], 0)
                    if readable:
                        break
                    client.send(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the frontend refused before we finished sending; read its answer
            response = client.read_response()
            self.assertEqual(response.status, status, "sent %r...\ngot %r" % (data[:300], response))
            self.assertEqual(response.header("Content-Length"), str(len(response.body)))
            self.assertClosed(client, what="connection after a %d refusal" % status)
        forwarded = self.backend_requests() - requests_before - self.stats_self_count
        self.assertEqual(forwarded, 0, "a refused request reached the backend")
        return response

    # --- refusals -------------------------------------------------------------

    def test_content_length_with_transfer_encoding(self):
        self.assertRefused(b"POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)

    def test_transfer_encoding_with_content_length_after(self):
        self.assertRefused(b"POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)

    def test_differing_duplicate_content_length(self):
        self.assertRefused(b"POST /dup HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                           b"Content-Length: 6\r\n\r\nhello!", 400)

    def test_transfer_encoding_not_ending_in_chunked(self):
        self.assertRefused(b"POST /gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello", 400)

    def test_obs_fold_header(self):
        self.assertRefused(b"GET /fold HTTP/1.1\r\nHost: x\r\nX-Folded: first\r\n second\r\n\r\n", 400)

    def test_whitespace_before_colon(self):
        self.assertRefused(b"GET /space HTTP/1.1\r\nHost: x\r\nX-Test : value\r\n\r\n", 400)

    def test_whitespace_before_colon_on_framing_field(self):
        self.assertRefused(b"POST /space-te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
                           b"5\r\nhello\r\n0\r\n\r\n", 400)

    def test_missing_host_on_http11(self):
        self.assertRefused(b"GET /nohost HTTP/1.1\r\nX-Test: value\r\n\r\n", 400)

    def test_garbage_request_line(self):
        self.assertRefused(b"THIS IS NOT HTTP\r\n\r\n", 400)

    def test_header_section_over_limit(self):
        fill = "".join("X-Fill-%d: %s\r\n" % (i, "x" * 1024) for i in range(8))
        data = ("GET /big-headers HTTP/1.1\r\nHost: x\r\n" + fill + "\r\n").encode()
        self.assertGreater(len(data), 8192)
        self.assertRefused(data, 431)

    def test_body_over_limit_with_content_length(self):
        size = 2 * MAX_BODY_BYTES
        head = b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
        body = b"b" * size
        pieces = [head] + [body[i:i + 8192] for i in range(0, size, 8192)]
        self.assertRefused(head + body, 413, pieces=pieces)

    def test_chunked_body_over_limit(self):
        head = b"POST /big-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"2000\r\n" + b"c" * 0x2000 + b"\r\n"
        pieces = [head] + [chunk] * (2 * MAX_BODY_BYTES // 0x2000) + [b"0\r\n\r\n"]
        self.assertRefused(b"".join(pieces), 413, pieces=pieces)

    def test_request_target_over_limit(self):
        target = "/" + "t" * 9000  # default limit 8 KiB, header limit 16 KiB
        data = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode()
        self.assertRefused(data, 414, port=self.default_frontend.port)

    # --- what an accepted request looks like at the backend ------------------

    def test_body_just_under_limit_accepted(self):
        body = os.urandom(MAX_BODY_BYTES)
        with RawClient(self.port) as client:
            response = client.request("POST", "/at-limit?echo=1", body=body)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json()["bodySha256"], sha256_hex(body))

    def test_headers_under_limit_accepted(self):
        fill = [("X-Fill-%d" % i, "y" * 500) for i in range(5)]
        with RawClient(self.port) as client:
            response = client.request("GET", "/fill?echo=1", headers=fill)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(echo_headers(response)["x-fill-4"], ["y" * 500])

    def test_chunked_request_reaches_backend_with_content_length(self):
        body = os.urandom(3000)
        data = RawClient.build_request("POST", "/dechunk?echo=1", headers=[("Transfer-Encoding", "chunked")]) \
            + chunked_encode(body, [1000, 7, 993])
        with RawClient(self.port) as client:
            client.send(data)
            response = client.read_response()
        self.assertEqual(response.status, 200, response)
        headers = echo_headers(response)
        self.assertNotIn("transfer-encoding", headers, headers)
        self.assertEqual(headers.get("content-length"), [str(len(body))], headers)
        self.assertEqual(response.json()["bodyLength"], len(body))
        self.assertEqual(response.json()["bodySha256"], sha256_hex(body))

    def test_hop_by_hop_headers_not_forwarded(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/hop?echo=1", headers=[
                ("Connection", "keep-alive, X-Secret"),
                ("X-Secret", "must-not-pass"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "keep-alive"),
                ("TE", "trailers"),
                ("X-Normal", "yes"),
            ])
        self.assertEqual(response.status, 200, response)
        headers = echo_headers(response)
        for name in ("x-secret", "keep-alive", "proxy-connection", "te"):
            self.assertNotIn(name, headers, "hop-by-hop %s was forwarded: %s" % (name, headers))
        for value in headers.get("connection", []):
            self.assertNotIn("x-secret", value.lower(), headers)
        self.assertEqual(headers.get("x-normal"), ["yes"], headers)

    def test_via_and_x_forwarded_for_added(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/fwd?echo=1")
        self.assertEqual(response.status, 200, response)
        headers = echo_headers(response)
        self.assertIn("via", headers, headers)
        self.assertTrue(headers["via"][0].strip(), headers)
        forwarded_for = ", ".join(headers.get("x-forwarded-for", []))
        self.assertIn("127.0.0.1", forwarded_for, headers)

    def test_mesh_still_serves_after_refusals(self):
        with RawClient(self.port) as client:
            refused = client.request("GET", "/x", headers=[("Content-Length", "1"), ("Content-Length", "2")],
                                     body=None)
        self.assertEqual(refused.status, 400)
        with RawClient(self.port) as client:
            response = client.request("GET", "/after?echo=1")
        self.assertEqual(response.status, 200, response)


if __name__ == "__main__":
    mesh.main()
