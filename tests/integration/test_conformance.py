"""HTTP/1.1 conformance of the mesh (RFC 9110 / 9112, docs/http-conformance.md),
with real processes: pipelining order after unsafe methods, the request
grammar refused whole or byte by byte, absolute-form targets, forwarding
fields, HTTP/1.0 clients, Expect, and what the worker does with odd backend
responses (a scripted raw backend)."""

import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import Mesh, RawClient, backend_stats  # noqa: E402

DELAY_MS = 700


def echo_headers(response):
    """The headers the backend received, as {lower-case name: [values]}."""
    headers = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def now_ms():
    return int(time.time() * 1000)


class ConformanceTest(mesh.MeshTestCase):

    @classmethod
    def setUpClass(cls):
        cls.start_class_mesh(backends=1, workers=1)

    @property
    def port(self):
        return self.class_mesh.frontend.port

    @property
    def backend(self):
        return self.class_mesh.backends[0]

    def pipeline(self, requests):
        """Sends `requests` (bytes) in one write; returns (send time in ms, responses)."""
        with RawClient(self.port) as client:
            sent_at = now_ms()
            client.send(b"".join(requests))
            responses = [client.read_response() for _ in requests]
        return sent_at, responses

    def last_received_after(self, sent_at):
        """How long after `sent_at` the backend received its last request, in ms."""
        return backend_stats(self.backend)["lastRequestAtMs"] - sent_at

    # --- pipelining (RFC 9112 9.3.2) ----------------------------------------

    def test_request_after_unsafe_waits_for_its_response(self):
        sent_at, responses = self.pipeline([
            RawClient.build_request("POST", "/slow?delay=%d" % DELAY_MS, body=b"first"),
            RawClient.build_request("GET", "/after-post")])
        self.assertEqual([r.status for r in responses], [200, 200], responses)
        # The GET reached the backend only once the POST had been answered.
        self.assertGreaterEqual(self.last_received_after(sent_at), DELAY_MS - 50)

    def test_unsafe_request_waits_for_earlier_safe_ones(self):
        sent_at, responses = self.pipeline([
            RawClient.build_request("GET", "/slow?delay=%d" % DELAY_MS),
            RawClient.build_request("DELETE", "/after-get")])
        self.assertEqual([r.status for r in responses], [200, 200], responses)
        self.assertGreaterEqual(self.last_received_after(sent_at), DELAY_MS - 50)

    def test_safe_requests_go_in_parallel(self):
        sent_at, responses = self.pipeline([
            RawClient.build_request("GET", "/slow?delay=%d" % DELAY_MS),
            RawClient.build_request("GET", "/beside")])
        self.assertEqual([r.status for r in responses], [200, 200], responses)
        self.assertLess(self.last_received_after(sent_at), DELAY_MS / 2)

    # --- the request grammar, refused whatever the split --------------------

    def assertRefusedEitherWay(self, data, status=400):
        """`data` sent in one write and one byte at a time: `status` both ways, the
        connection closed, and nothing forwarded."""
        for byte_by_byte in (False, True):
            requests_before = backend_stats(self.backend)["requests"]
            with RawClient(self.port) as client:
                try:
                    if byte_by_byte:
                        client.send_slowly(data, piece=1, pause=0.001)
                    else:
                        client.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # refused before the last byte; read the answer
                response = client.read_response()
                self.assertEqual(response.status, status, "sent %r (byte by byte: %s)" % (data, byte_by_byte))
                self.assertClosed(client, what="connection after a %d refusal" % status)
            self.assertEqual(backend_stats(self.backend)["requests"], requests_before,
                             "a refused request reached the backend: %r" % data)

    def test_bare_cr_in_the_head(self):
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\r\nHost:\r\r\n\r\n")
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\r\nHost: a\r\nX: one\rtwo\r\n\r\n")

    def test_lone_lf_line_ends(self):
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\nHost: a\n\n")

    def test_nul_in_a_field_value(self):
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n")

    def test_request_line_whitespace(self):
        self.assertRefusedEitherWay(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertRefusedEitherWay(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n")

    def test_chunk_size_grammar(self):
        head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        self.assertRefusedEitherWay(head + b"3 \r\nabc\r\n0\r\n\r\n")
        self.assertRefusedEitherWay(head + b"3;a\nabc\r\n0\r\n\r\n")
        self.assertRefusedEitherWay(head + b"3\r\nabcXY0\r\n\r\n")

    def test_content_length_syntax(self):
        self.assertRefusedEitherWay(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc")
        self.assertRefusedEitherWay(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nabc")

    def test_invalid_host_and_targets(self):
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
        self.assertRefusedEitherWay(b"GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertRefusedEitherWay(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n")

    def test_transfer_coding_other_than_chunked(self):
        self.assertRefusedEitherWay(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                    b"0\r\n\r\n", 501)

    def test_unknown_expectation(self):
        self.assertRefusedEitherWay(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417)

    # --- what is forwarded ------------------------------------------------

    def test_absolute_form_target_rewritten(self):
        with RawClient(self.port) as client:
            client.send(b"GET http://good.example:8080/abs?echo=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
            response = client.read_response()
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json()["target"], "/abs?echo=1")
        self.assertEqual(echo_headers(response)["host"], ["good.example:8080"])

    def test_forwarding_fields_extended(self):
        with RawClient(self.port) as client:
            response = client.request("GET", "/fwd?echo=1", headers=[
                ("Via", "1.0 fred"), ("X-Forwarded-For", "203.0.113.9"), ("Forwarded", "for=203.0.113.9")])
        self.assertEqual(response.status, 200, response)
        headers = echo_headers(response)
        self.assertEqual(headers["via"], ["1.0 fred, 1.1 upmesh"])
        self.assertEqual(headers["x-forwarded-for"], ["203.0.113.9, 127.0.0.1"])
        self.assertEqual(headers["forwarded"], ["for=203.0.113.9, for=127.0.0.1"])
        # The response passed one more proxy.
        self.assertEqual(response.headers_named("Via"), ["1.1 upmesh"])

    def test_request_trailers_dropped(self):
        with RawClient(self.port) as client:
            client.send(b"POST /trailers?echo=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"3;ext=1\r\nabc\r\n0\r\nX-Trailer: smuggled\r\nHost: evil\r\n\r\n")
            response = client.read_response()
        self.assertEqual(response.status, 200, response)
        headers = echo_headers(response)
        self.assertNotIn("x-trailer", headers)
        self.assertEqual(headers["host"], ["a"])
        self.assertEqual(response.json()["bodyLength"], 3)

    def test_http10_client(self):
        # No keep-alive asked: the response is framed by Content-Length (never
        # chunked, even when the backend chunks) and the connection closes.
        with RawClient(self.port) as client:
            client.send(b"GET /old?chunked=1&size=300 HTTP/1.0\r\n\r\n")
            response = client.read_response()
            self.assertEqual(response.status, 200, response)
            self.assertIsNone(response.header("Transfer-Encoding"))
            self.assertEqual(response.header("Content-Length"), "300")
            self.assertEqual(len(response.body), 300)
            self.assertClosed(client)
        with RawClient(self.port) as client:
            client.send(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            first = client.read_response()
            self.assertEqual(first.header("Connection"), "keep-alive")
            client.send(b"GET /old-again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            self.assertEqual(client.read_response().status, 200)

    def test_expect_100_continue(self):
        with RawClient(self.port) as client:
            client.send(b"POST /expect?echo=1 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                        b"Content-Length: 4\r\n\r\n")
            interim = client._read_line()
            self.assertEqual(interim, b"HTTP/1.1 100 Continue")
            self.assertEqual(client._read_line(), b"")
            client.send(b"body")
            response = client.read_response()
        self.assertEqual(response.status, 200, response)
        self.assertNotIn("expect", echo_headers(response))
        self.assertEqual(response.json()["bodyLength"], 4)


class ScriptedBackend:
    """A TCP server on loopback answering each request with canned bytes chosen
    by the request's path (the first line's target), then closing."""

    def __init__(self, answers, default):
        self.answers = answers
        self.default = default
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    data += piece
                target = data.split(b" ", 2)[1].decode("latin-1")
                conn.sendall(self.answers.get(target.split("?")[0], self.default))
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.listener.close()


class BackendResponsesTest(mesh.MeshTestCase):
    """The worker reading odd responses from a backend that speaks raw bytes."""

    ANSWERS = {
        "/status003": b"HTTP/1.1 003 Odd\r\nContent-Length: 2\r\n\r\nok",
        "/status600": b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok",
        "/bare-cr": b"HTTP/1.1 200 OK\r\nX-A: one\rtwo\r\nContent-Length: 2\r\n\r\nok",
        "/chunk-space": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n",
        "/interim": b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "/via": b"HTTP/1.0 200 OK\r\nVia: 1.1 cache\r\nContent-Length: 2\r\n\r\nok",
        "/trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                     b"2;e=1\r\nok\r\n0\r\nX-T: dropped\r\n\r\n",
    }
    DEFAULT = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    @classmethod
    def setUpClass(cls):
        cls.scripted = ScriptedBackend(cls.ANSWERS, cls.DEFAULT)
        cls._class_log_dir = tempfile.mkdtemp(prefix="upmesh-itest-%s-" % cls.__name__)
        cls.class_mesh = Mesh(cls._class_log_dir)
        m = cls.class_mesh
        try:
            m.router = m.start_router(servers=[cls.scripted])
            m.frontend = m.start_frontend()
            m.start_worker("w1")
            m.wait_serving()
        except BaseException:
            sys.stderr.write("\nmesh for %s did not start; logs:\n%s\n" % (cls.__name__, m.dump_logs()))
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.scripted.stop()

    def get(self, path):
        with RawClient(self.class_mesh.frontend.port) as client:
            return client.request("GET", path)

    def test_status_outside_100_599_is_502(self):
        for path in ("/status003", "/status600"):
            response = self.get(path)
            self.assertEqual(response.status, 502, "%s: %r" % (path, response))
            self.assertIn(b"outside 100..599", response.body)

    def test_invalid_response_grammar_is_502(self):
        for path in ("/bare-cr", "/chunk-space"):
            response = self.get(path)
            self.assertEqual(response.status, 502, "%s: %r" % (path, response))

    def test_interim_responses_skipped(self):
        with RawClient(self.class_mesh.frontend.port) as client:
            client.send(RawClient.build_request("GET", "/interim"))
            first_line = client._read_line()
            self.assertEqual(first_line, b"HTTP/1.1 200 OK")  # the 103 never reaches the client
            client.buffer = first_line + b"\r\n" + client.buffer
            response = client.read_response()
        self.assertEqual(response.body, b"ok")

    def test_via_appended_with_the_backend_version(self):
        response = self.get("/via")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.headers_named("Via"), ["1.1 cache, 1.0 upmesh"])

    def test_response_trailers_dropped(self):
        response = self.get("/trailers")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body, b"ok")
        self.assertIsNone(response.header("X-T"))
        self.assertIsNone(response.header("Trailer"))


if __name__ == "__main__":
    mesh.main()
