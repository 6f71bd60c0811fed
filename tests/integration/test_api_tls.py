"""The config API over TLS against a real router: a CA and a server
certificate (for IP:127.0.0.1 and DNS:localhost) are made with the openssl
CLI; curl --cacert lists and adds clusters over https, the token is still
checked; plain HTTP and garbage on the TLS port get no answer and the router
serves the next TLS request; a request sent a byte per TLS record works;
upmeshctl talks https with --tls-ca / UPMESH_TLS_CA and fails clearly with a
wrong CA or a certificate for another host; unusable certificate or key files stop the router at start (exit 2)
naming the file."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port  # noqa: E402

CLUSTERS = "/configuration/cluster"
TOKEN = "dGxzLXVwbWVzaC10b2tlbi0wMTIzNDU2Nzg5"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=upmesh test " + name,
            cwd=directory)
    return os.path.join(directory, name + ".pem")


def make_server_cert(directory, ca, name, san):
    """A certificate signed by `ca` for the subjectAltName `san`; its key is mode 0600."""
    with open(os.path.join(directory, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", "/CN=" + name, cwd=directory)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
            "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=directory)
    key = os.path.join(directory, name + ".key")
    os.chmod(key, 0o600)
    return os.path.join(directory, name + ".pem"), key


class ApiTlsTest(mesh.MeshTestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="upmesh-itest-tls-")
        cls.ca = make_ca(cls.certs, "ca")
        cls.other_ca = make_ca(cls.certs, "other-ca")
        cls.cert, cls.key = make_server_cert(cls.certs, "ca", "server", "IP:127.0.0.1,DNS:localhost")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)
        super().tearDownClass()

    def tls_args(self):
        return ["--tls-cert", self.cert, "--tls-key", self.key]

    def start_router(self, extra=()):
        # The initial cluster names a backend that is never started: the API alone is tested.
        never_started = types.SimpleNamespace(port=free_port())
        self.mesh.router = self.mesh.start_router(servers=[never_started], version="1",
                                                  extra=self.tls_args() + list(extra))
        return self.mesh.router

    def url(self, path=CLUSTERS, host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.mesh.router.config_port, path)

    def curl(self, *args):
        """curl's exit status, HTTP status and body (the status is the last line)."""
        argv = ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"] + list(args)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        body, _, status = result.stdout.rpartition("\n")
        return result.returncode, int(status or 0), body, result.stderr

    def context(self, ca=None):
        return ssl.create_default_context(cafile=ca or self.ca)

    def tls_client(self, ca=None, server_hostname="localhost"):
        client = mesh.RawClient(self.mesh.router.config_port)
        client.start_tls(self.context(ca), server_hostname)
        return client

    def ctl(self, *args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("UPMESH_")}
        full_env.update(env or {})
        return subprocess.run([mesh.binary("upmeshctl")] + list(args), capture_output=True, text=True,
                              timeout=20, env=full_env)

    def assertServesTls(self):
        with self.tls_client() as client:
            response = client.request("GET", CLUSTERS)
            self.assertEqual(response.status, 200, response)

    # --- curl -----------------------------------------------------------------

    def test_curl_lists_and_adds_over_tls_and_the_mesh_applies_it(self):
        self.mesh.start_standard(router_args=self.tls_args())
        code, status, body, stderr = self.curl("--cacert", self.ca, self.url())
        self.assertEqual((code, status), (0, 200), stderr)
        self.assertEqual(len(json.loads(body)), 1)

        v2 = self.mesh.start_backend(name="v2")
        cluster = json.dumps(mesh.cluster_body([v2], 2))
        code, status, uuid, stderr = self.curl("--cacert", self.ca, "-X", "PUT", "-H",
                                               "Content-Type: application/json", "--data", cluster,
                                               self.url(host="localhost"))
        self.assertEqual((code, status), (0, 202), stderr + uuid)
        code, status, body, stderr = self.curl("--cacert", self.ca, self.url(CLUSTERS + "/" + uuid.strip()))
        self.assertEqual((code, status), (0, 200), stderr)
        self.assertEqual(json.loads(body)["cluster"]["version"], 2)
        # The change reached the workers: the frontend now answers from v2.
        mesh.wait_until(lambda: b"v2" in mesh.http_get(self.mesh.frontend.port, "/")[2], 10,
                        what="traffic to move to v2")

        # Not trusted without the right CA; nothing over plain HTTP.
        code, _, _, stderr = self.curl("--cacert", self.other_ca, self.url())
        self.assertEqual(code, 60, stderr)  # peer certificate cannot be authenticated
        code, _, _, stderr = self.curl("http://127.0.0.1:%d%s" % (self.mesh.router.config_port, CLUSTERS))
        self.assertNotEqual(code, 0, "plain HTTP to the TLS port got an answer")
        self.assertServesTls()

    def test_the_token_is_checked_over_tls(self):
        token_file = os.path.join(self._log_dir, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN)
        os.chmod(token_file, 0o600)
        self.start_router(["--token-file", token_file])
        code, status, body, stderr = self.curl("--cacert", self.ca, self.url())
        self.assertEqual((code, status), (0, 401), stderr + body)
        code, status, body, stderr = self.curl("--cacert", self.ca, "-H", "Authorization: Bearer wrong-token-x",
                                               self.url())
        self.assertEqual((code, status), (0, 401), stderr + body)
        code, status, body, stderr = self.curl("--cacert", self.ca, "-H", "Authorization: Bearer " + TOKEN,
                                               self.url())
        self.assertEqual((code, status), (0, 200), stderr + body)
        result = self.ctl("--api", "https://127.0.0.1:%d" % self.mesh.router.config_port, "--tls-ca", self.ca,
                          "list", env={"UPMESH_API_TOKEN": TOKEN})
        self.assertEqual(result.returncode, 0, result)

    # --- garbage and slow clients ---------------------------------------------

    def read_until_closed(self, sock, timeout=5.0):
        """Everything the router sends until it closes the connection."""
        sock.settimeout(timeout)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                return received
            if not data:
                return received
            received += data
        self.fail("the router kept the connection open for %.0f s; got %r" % (timeout, received[:100]))

    def test_plain_http_and_garbage_are_closed_and_the_router_stays_up(self):
        router = self.start_router()
        port = router.config_port
        with mesh.RawClient(port) as client:
            client.send(client.build_request("GET", CLUSTERS))
            answer = self.read_until_closed(client.sock)
            self.assertFalse(answer.startswith(b"HTTP/"), answer)
        self.assertServesTls()
        router.wait_log("plain HTTP sent to the TLS port")

        # Garbage of all sorts, on many connections at once; none of them wedges the loop.
        garbage = [b"\x16\x03\x01\x02\x00" + os.urandom(600), os.urandom(3000), b"\x16\x03\x03\xff\xff" + b"A" * 70000,
                   b"\x00" * 100, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]
        sockets = []
        for i in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                sock.sendall(garbage[i % len(garbage)])
            except (BrokenPipeError, ConnectionResetError):
                pass
            sockets.append(sock)
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # connects, never speaks
        self.assertServesTls()
        for sock in sockets:
            self.read_until_closed(sock)
            sock.close()
        idle.close()
        self.assertTrue(router.alive())
        self.assertServesTls()

    def test_a_request_sent_a_byte_per_tls_record_works(self):
        self.start_router()
        v2 = types.SimpleNamespace(port=free_port())
        body = json.dumps(mesh.cluster_body([v2], 2)).encode()
        with self.tls_client() as client:
            request = client.build_request("PUT", CLUSTERS, headers=[("Content-Type", "application/json")],
                                           body=body)
            client.send_slowly(request, piece=1, pause=0)  # one TLS record per byte
            response = client.read_response("PUT")
            self.assertEqual(response.status, 202, response)
            # The same connection stays usable (keep-alive).
            response = client.request("GET", CLUSTERS)
            self.assertEqual(response.status, 200, response)
            self.assertEqual(len(response.json()), 2)
            client.send(client.build_request("GET", CLUSTERS, headers=[("Connection", "close")]))
            self.assertEqual(client.read_response("GET").status, 200)
            # close_notify, not a bare TCP close (which raises SSLEOFError here).
            self.assertClosed(client)

    # --- upmeshctl ------------------------------------------------------------

    def test_upmeshctl_over_tls(self):
        router = self.start_router()
        api = "https://127.0.0.1:%d" % router.config_port
        result = self.ctl("--api", api, "--tls-ca", self.ca, "list")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("INSTANT", result.stdout)
        result = self.ctl("--api", "https://localhost:%d" % router.config_port, "add", "--version", "2",
                          "--server", "127.0.0.1:%d" % free_port(), env={"UPMESH_TLS_CA": self.ca})
        self.assertEqual(result.returncode, 0, result)
        result = self.ctl("list", env={"UPMESH_API": api, "UPMESH_TLS_CA": self.ca})
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(len(result.stdout.strip().splitlines()), 3, result.stdout)

        # A config file with configService.tls: upmeshctl speaks https to it.
        config = os.path.join(self._log_dir, "mesh.json")
        with open(config, "w") as f:
            json.dump({"configService": {"port": router.config_port,
                                         "tls": {"certFile": self.cert, "keyFile": self.key}}}, f)
        result = self.ctl("--config", config, "--tls-ca", self.ca, "list")
        self.assertEqual(result.returncode, 0, result)

        result = self.ctl("--api", api, "--tls-ca", self.other_ca, "list")
        self.assertEqual(result.returncode, 3, result)
        self.assertIn("the router's certificate did not verify against the CA of --tls-ca " + self.other_ca,
                      result.stderr)
        # An empty system trust store and no CA: said before connecting.
        result = self.ctl("--api", api, "list", env={"SSL_CERT_FILE": "/nonexistent", "SSL_CERT_DIR": "/nonexistent"})
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("needs a CA", result.stderr)
        self.assertIn("--tls-ca FILE or $UPMESH_TLS_CA", result.stderr)
        result = self.ctl("--api", api, "--tls-ca", os.path.join(self._log_dir, "missing.pem"), "list")
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("missing.pem: cannot open", result.stderr)
        result = self.ctl("--api", api, "--tls-ca", config, "list")
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("no PEM CA certificate", result.stderr)
        result = self.ctl("--api", "127.0.0.1:%d" % router.config_port, "--tls-ca", self.ca, "list")
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("plain HTTP", result.stderr)
        # Plain HTTP to the TLS port: no answer.
        result = self.ctl("--api", "127.0.0.1:%d" % router.config_port, "list")
        self.assertEqual(result.returncode, 3, result)
        self.assertIn("connection closed without an answer (if the API speaks TLS: --api https://HOST:PORT)",
                      result.stderr)
        self.assertTrue(router.alive())

    def test_upmeshctl_checks_that_the_certificate_names_the_host(self):
        cert, key = make_server_cert(self.certs, "ca", "elsewhere", "DNS:elsewhere.example")
        never_started = types.SimpleNamespace(port=free_port())
        router = self.mesh.start_router(servers=[never_started], version="1",
                                        extra=["--tls-cert", cert, "--tls-key", key])
        for host, reason in (("127.0.0.1", "IP address mismatch"), ("localhost", "hostname mismatch")):
            result = self.ctl("--api", "https://%s:%d" % (host, router.config_port), "--tls-ca", self.ca, "list")
            self.assertEqual(result.returncode, 3, result)
            self.assertIn("the router's certificate did not verify against the CA of --tls-ca %s: %s"
                          % (self.ca, reason), result.stderr)

    def test_upmeshctl_https_to_a_plain_api_fails_clearly(self):
        never_started = types.SimpleNamespace(port=free_port())
        router = self.mesh.start_router(servers=[never_started], version="1")
        result = self.ctl("--api", "https://127.0.0.1:%d" % router.config_port, "--tls-ca", self.ca, "list")
        self.assertEqual(result.returncode, 3, result)
        self.assertIn("does the API at this address speak https?", result.stderr)

    # --- start-up errors ------------------------------------------------------

    def test_unusable_certificates_and_keys_stop_the_router(self):
        missing = os.path.join(self._log_dir, "missing.pem")
        self.assertRouterRefuses(["--tls-cert", missing, "--tls-key", self.key],
                                 ["--tls-cert " + missing, "No such file"])
        junk = self.write_file("junk.pem", "hello\n", 0o644)
        self.assertRouterRefuses(["--tls-cert", junk, "--tls-key", self.key],
                                 ["--tls-cert " + junk, "no PEM certificate"])
        junk_key = self.write_file("junk.key", "hello\n")
        self.assertRouterRefuses(["--tls-cert", self.cert, "--tls-key", junk_key],
                                 ["--tls-key " + junk_key, "no unencrypted PEM private key"])
        with open(self.key) as f:
            key_text = f.read()
        readable = self.write_file("readable.key", key_text, 0o644)
        self.assertRouterRefuses(["--tls-cert", self.cert, "--tls-key", readable],
                                 ["--tls-key " + readable, "mode 0644", "chmod 600"])
        _, other_key = make_server_cert(self.certs, "ca", "other", "DNS:localhost")
        self.assertRouterRefuses(["--tls-cert", self.cert, "--tls-key", other_key],
                                 ["--tls-key " + other_key, "does not belong to the certificate"])
        self.assertRouterRefuses(["--tls-cert", self.cert], ["--tls-cert needs its private key too", "--tls-key FILE"])
        self.assertRouterRefuses(["--tls-key", self.key], ["--tls-key needs its certificate too"])
        config = self.write_file("mesh.json", json.dumps({"configService": {"tls": {"certFile": self.cert}}}))
        self.assertRouterRefuses(["--config", config], ["configService.tls.keyFile: missing"])
        config = self.write_file("mesh-typo.json", json.dumps({"configService": {"tls": {"cert": self.cert,
                                                                                         "keyFile": self.key}}}))
        self.assertRouterRefuses(["--config", config], ["configService.tls.cert"])
        config = self.write_file("mesh2.json", json.dumps({"configService": {"tls": {"certFile": junk,
                                                                                     "keyFile": self.key}}}))
        self.assertRouterRefuses(["--config", config], ["configService.tls.certFile " + junk])


if __name__ == "__main__":
    mesh.main()
