"""The config API stays reachable for the operator while it is abused.

As many slow connections as configService.maxConnections (64 here, and 1,024
at the default) each send a request head one byte a second and never finish
it; whenever the router closes one, it comes back at once. Meanwhile
`upmeshctl list` and curl GET, PUT and DELETE must answer within 2 s, round
after round, and the router's RSS must stay bounded. Also: a head that never
completes gets 408 after configService.requestTimeoutMs, so does a body that
trickles; a keep-alive connection is closed after configService.idleTimeoutMs
but a busy one lives on; a client that pipelines requests and reads no answer
is dropped (its output bounded, the operator served meanwhile); a TLS handshake that never finishes is closed after
the request timeout, and https works under the same attack; bad values of the
new keys stop the router (exit 2). Latencies and RSS are printed."""

import json
import os
import resource
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port  # noqa: E402
from test_api_tls import make_ca, make_server_cert  # noqa: E402

CLUSTERS = "/configuration/cluster"
SLOW_PREFIX = b"GET /configuration/cluster HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class SlowAttack:
    """`count` connections to `port`, each sending a request head one byte a second that never
    ends; a connection the router closes (or answers) is opened again at once. Runs in a thread."""

    def __init__(self, port, count):
        self.port = port
        self.count = count
        self.opened = 0
        self.closed_by_router = 0
        self.errors = 0
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()  # epoll: more than FD_SETSIZE descriptors
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        for _ in range(self.count):
            self._open()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _open(self):
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            sock.setblocking(False)
            sock.send(SLOW_PREFIX[:1])
        except OSError:
            self.errors += 1
            return
        self.opened += 1
        self._selector.register(sock, selectors.EVENT_READ, data=[1])  # data: bytes of the head sent

    def _drop(self, sock):
        self._selector.unregister(sock)
        sock.close()
        self.closed_by_router += 1
        self._open()

    def _run(self):
        next_tick = time.monotonic() + 1.0
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                try:
                    key.fileobj.recv(65536)  # a 408 or the close: either way it is gone
                except OSError:
                    pass
                self._drop(key.fileobj)
            if time.monotonic() < next_tick:
                continue
            next_tick += 1.0
            for key in list(self._selector.get_map().values()):
                sent = key.data
                piece = SLOW_PREFIX[sent[0]:sent[0] + 1] if sent[0] < len(SLOW_PREFIX) else b"a"
                try:
                    key.fileobj.send(piece)
                    sent[0] += 1
                except OSError:
                    self._drop(key.fileobj)


class ApiReachableTest(mesh.MeshTestCase):

    def start_router(self, service=None, extra=()):
        # The initial cluster names a backend that is never started: the API alone is tested.
        never_started = types.SimpleNamespace(port=free_port())
        args = list(extra)
        if service is not None:
            args += ["--config", self.write_file("mesh.json", json.dumps({"configService": service}))]
        self.mesh.router = self.mesh.start_router(servers=[never_started], version="1", extra=args)
        self.api = "127.0.0.1:%d" % self.mesh.router.config_port
        return self.mesh.router

    def timed(self, argv):
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return time.monotonic() - started, result

    def operator_round(self, scheme="http", curl_args=()):
        """upmeshctl list, curl GET, PUT and DELETE; returns their latencies (s) and checks each answer."""
        base = "%s://%s" % (scheme, self.api)
        latencies = []
        if scheme == "http":
            took, result = self.timed([mesh.binary("upmeshctl"), "--api", self.api, "list"])
            self.assertEqual(result.returncode, 0, result)
            self.assertIn("VERSION", result.stdout)
            latencies.append(took)
        curl = ["curl", "-sS", "--max-time", "10", "-o", "/dev/stdout", "-w", "\n%{http_code}"] + list(curl_args)
        took, result = self.timed(curl + [base + CLUSTERS])
        self.assertTrue(result.stdout.endswith("\n200"), result)
        latencies.append(took)
        body = json.dumps(mesh.cluster_body([free_port()], "reach"))
        took, result = self.timed(curl + ["-X", "PUT", "-H", "Content-Type: application/json", "--data-binary",
                                          body, base + CLUSTERS])
        self.assertTrue(result.stdout.endswith("\n202"), result)
        latencies.append(took)
        uuid = result.stdout.rsplit("\n", 1)[0].strip()
        took, result = self.timed(curl + ["-X", "DELETE", base + CLUSTERS + "/" + uuid])
        self.assertTrue(result.stdout.endswith("\n202"), result)
        latencies.append(took)
        return latencies

    def check_reachable_under_attack(self, count, rounds, scheme="http", curl_args=()):
        router = self.mesh.router
        quiet = [t for _ in range(3) for t in self.operator_round(scheme, curl_args)]
        rss_before = rss_kib(router.pid)
        with SlowAttack(router.config_port, count) as attack:
            # Until the cap is surely reached and every slow head has begun.
            mesh.wait_until(lambda: attack.opened >= count, 30, what="%d slow connections" % count)
            time.sleep(2.5)
            attacked, rss = [], [rss_kib(router.pid)]
            for _ in range(rounds):
                attacked += self.operator_round(scheme, curl_args)
                rss.append(rss_kib(router.pid))
                time.sleep(0.3)
            self.assertGreaterEqual(attack.closed_by_router, 1, "the router never closed a slow connection")
            opened, closed = attack.opened, attack.closed_by_router
        self.assertTrue(router.alive(), router.describe())
        sys.stderr.write("\n%s, %d slow connections (%d opened, %d closed by the router): operator requests "
                         "median %.0f ms, max %.0f ms (without the attack: median %.0f ms, max %.0f ms); "
                         "router RSS %d KiB before, at most %d KiB during\n"
                         % (scheme, count, opened, closed, 1000 * statistics.median(attacked), 1000 * max(attacked),
                            1000 * statistics.median(quiet), 1000 * max(quiet), rss_before, max(rss)))
        self.assertLess(max(attacked), 2.0, "an operator request took %.2f s" % max(attacked))
        self.assertLess(max(rss), rss_before + 64 * 1024, "the router's RSS grew by more than 64 MiB")
        self.assertIn("configService.maxConnections", router.log_text())
        return attacked

    def test_slow_connections_at_a_small_cap_do_not_lock_out_the_operator(self):
        self.start_router({"maxConnections": 64, "requestTimeoutMs": 3000})
        self.check_reachable_under_attack(count=64, rounds=8)

    def test_1024_slow_connections_at_the_default_cap_do_not_lock_out_the_operator(self):
        if raise_open_file_limit() < 2048:
            self.skipTest("needs 2048 open files")
        self.start_router()
        self.check_reachable_under_attack(count=1024, rounds=5)

    def test_a_head_that_never_completes_gets_408(self):
        self.start_router({"requestTimeoutMs": 1000})
        with mesh.RawClient(self.mesh.router.config_port) as client:
            started = time.monotonic()
            client.send(SLOW_PREFIX)
            client.send_slowly(b"aaaaaaaa", pause=0.1)
            response = client.read_response()
            took = time.monotonic() - started
            self.assertEqual(response.status, 408)
            self.assertEqual(response.header("connection"), "close")
            self.assertGreaterEqual(took, 0.9)
            self.assertLess(took, 2.5)
            self.assertClosed(client, timeout=3)
        self.assertIn("configService.requestTimeoutMs", self.mesh.router.log_text())

    def test_a_body_that_trickles_gets_408(self):
        self.start_router({"requestTimeoutMs": 1000})
        with mesh.RawClient(self.mesh.router.config_port) as client:
            client.send(b"PUT /configuration/cluster HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            started = time.monotonic()
            response = client.read_response()
            self.assertEqual(response.status, 408)
            self.assertLess(time.monotonic() - started, 2.5)

    def test_a_connection_that_sends_nothing_is_closed_without_an_answer(self):
        self.start_router({"requestTimeoutMs": 1000})
        with mesh.RawClient(self.mesh.router.config_port) as client:
            self.assertFalse(client.wait_closed(0.7), "closed before the request timeout")
            self.assertClosed(client, timeout=2.5)

    def test_an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not(self):
        self.start_router({"requestTimeoutMs": 1000, "idleTimeoutMs": 1500})
        with mesh.RawClient(self.mesh.router.config_port) as idle, \
                mesh.RawClient(self.mesh.router.config_port) as busy:
            self.assertEqual(idle.request("GET", CLUSTERS).status, 200)
            # Busy: a request every 0.5 s for longer than both timeouts, each one answered.
            started = time.monotonic()
            while time.monotonic() - started < 3.5:
                self.assertEqual(busy.request("GET", CLUSTERS).status, 200)
                time.sleep(0.5)
            self.assertClosed(idle, timeout=0.5, what="the keep-alive connection idle for 3.5 s")
        with mesh.RawClient(self.mesh.router.config_port) as client:
            self.assertEqual(client.request("GET", CLUSTERS).status, 200)
            self.assertFalse(client.wait_closed(1.0), "an idle connection closed before the idle timeout")
            self.assertClosed(client, timeout=2.0, what="an idle keep-alive connection")

    def test_a_client_that_pipelines_and_reads_no_answer_is_dropped(self):
        self.start_router({"requestTimeoutMs": 2000})
        router = self.mesh.router
        rss_before = rss_kib(router.pid)
        request = b"GET /configuration/cluster HTTP/1.1\r\nHost: x\r\n\r\n"
        sock = socket.create_connection(("127.0.0.1", router.config_port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        started, dropped_after, rss, sent = time.monotonic(), None, [], 0
        try:
            while time.monotonic() - started < 30:
                try:
                    sent += sock.send(request * 100)
                except BlockingIOError:
                    time.sleep(0.05)
                except OSError:
                    dropped_after = time.monotonic() - started
                    break
                rss.append(rss_kib(router.pid))
                took, result = self.timed(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                           "http://%s%s" % (self.api, CLUSTERS)])
                self.assertEqual(result.stdout, "200", result)
                self.assertLess(took, 2.0)
        finally:
            sock.close()
        sys.stderr.write("\na client pipelining %d bytes of GETs without reading: dropped after %s s; router RSS "
                         "%d KiB before, at most %d KiB\n" % (sent, dropped_after and "%.1f" % dropped_after,
                                                               rss_before, max(rss)))
        self.assertIsNotNone(dropped_after, "a client that reads nothing was never dropped")
        self.assertLess(max(rss), rss_before + 32 * 1024)

    def test_tls_handshake_is_bounded_and_https_is_reachable_under_attack(self):
        certs = self._log_dir
        ca = make_ca(certs, "ca")
        cert, key = make_server_cert(certs, "ca", "server", "IP:127.0.0.1")
        self.start_router({"maxConnections": 64, "requestTimeoutMs": 2000}, extra=["--tls-cert", cert, "--tls-key", key])
        port = self.mesh.router.config_port
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.send(b"\x16\x03\x01")  # the start of a ClientHello, never finished
            started = time.monotonic()
            raw.settimeout(5)
            self.assertEqual(raw.recv(100), b"")
            self.assertGreaterEqual(time.monotonic() - started, 1.4)
        with mesh.RawClient(port) as client:
            context = ssl.create_default_context(cafile=ca)
            client.start_tls(context, server_hostname="127.0.0.1")
            client.send(SLOW_PREFIX)
            self.assertEqual(client.read_response().status, 408)
        self.check_reachable_under_attack(count=64, rounds=5, scheme="https", curl_args=["--cacert", ca])

    def test_bad_values_stop_the_router(self):
        for key, value, mention in [("requestTimeoutMs", 0, "configService.requestTimeoutMs"),
                                    ("idleTimeoutMs", "5s", "configService.idleTimeoutMs"),
                                    ("maxConnections", 0, "configService.maxConnections"),
                                    ("maxConnections", 10 ** 7, "configService.maxConnections")]:
            config = self.write_file("bad-%s.json" % key, json.dumps({"configService": {key: value}}))
            self.assertRouterRefuses(["--config", config], mention)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 900000:
            config = self.write_file("too-many.json", json.dumps({"configService": {"maxConnections": hard}}))
            self.assertRouterRefuses(["--config", config], ["configService.maxConnections", "open files"])


if __name__ == "__main__":
    mesh.main()
