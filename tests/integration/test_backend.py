"""The demo backend reads requests with the mesh's shared request reader
(shared/http_request_reader.h): the frontend's rules, each refusal with its
status and Connection: close; bodies of any framing are counted and hashed."""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient  # noqa: E402


class BackendTest(mesh.MeshTestCase):

    def setUp(self):
        super().setUp()
        self.backend = self.mesh.start_backend()

    def answer(self, raw):
        with RawClient(self.backend.port) as client:
            client.send(raw)
            return client.read_response()

    def test_refusals_carry_the_readers_status_and_close(self):
        cases = [
            (b"GET / HTTP/1.1\r\n\r\n", 400),                                  # no Host
            (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),                 # bare LF
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"x" * (81 * 1024) + b"\r\n\r\n", 431),
        ]
        for raw, status in cases:
            response = self.answer(raw)
            self.assertEqual(response.status, status, (raw[:60], response))
            self.assertEqual(response.header("Connection"), "close", raw[:60])
            self.assertEqual(response.header("X-Backend-Version"), "v1")

    def test_chunked_body_is_hashed_and_absolute_target_becomes_origin_form(self):
        body = b"hello, backend"
        raw = (b"POST http://b.example/p?echo=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n9;ext=1\r\n, backend\r\n0\r\nX-Trailer: t\r\n\r\n")
        echo = self.answer(raw).json()
        self.assertEqual(echo["target"], "/p?echo=1")
        self.assertEqual(echo["bodyLength"], len(body))
        self.assertEqual(echo["bodySha256"], hashlib.sha256(body).hexdigest())
        self.assertIn(["Host", "b.example"], echo["headers"])


if __name__ == "__main__":
    mesh.main()
