"""The config API's bearer token against a real router: with a token
configured every request needs "Authorization: Bearer TOKEN" (401 with
WWW-Authenticate otherwise); upmeshctl finds the token the same way
(--token-file, UPMESH_API_TOKEN, configService.tokenFile) and says what to do
on a 401; a token file others may read, a missing or an empty one stops the
router at start (exit 2). Without --config-address the API listens on
loopback only."""

import os
import socket
import subprocess
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port  # noqa: E402

TOKEN = "Zm9vYmFyLXVwbWVzaC10b2tlbi0xMjM0NTY3ODkw"
CLUSTERS = "/configuration/cluster"


class ApiTokenTest(mesh.MeshTestCase):

    def start_router(self, extra=(), env=None):
        # The initial cluster names a backend that is never started: the API alone is tested.
        never_started = types.SimpleNamespace(port=free_port())
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            return self.mesh.start_router(servers=[never_started], version="1", extra=list(extra))
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def ctl(self, *args, env=None):
        argv = [mesh.binary("upmeshctl"), "--api", "127.0.0.1:%d" % self.mesh.router.config_port] + list(args)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("UPMESH_API")}
        full_env.update(env or {})
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, env=full_env)

    def assertUnauthorized(self, response, error=None):
        self.assertEqual(response.status, 401, response)
        challenge = response.header("www-authenticate") or ""
        self.assertTrue(challenge.startswith("Bearer "), response)
        if error:
            self.assertIn('error="%s"' % error, challenge)
        # The API itself was not reached: nothing about clusters in the answer.
        self.assertNotIn(b"uuid", response.body)

    def test_no_100_continue_without_the_token(self):
        """A client without the token gets its 401 before it is invited to send a body."""
        self.mesh.router = self.start_router(["--token-file", self.write_file("token", TOKEN + "\n")])
        port = self.mesh.router.config_port
        head = ("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"
                % CLUSTERS).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(head)
            first = b""
            while b"\r\n" not in first:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                first += chunk
        self.assertTrue(first.startswith(b"HTTP/1.1 401 "), first[:80])
        # With the token, the body is invited as before.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(head.replace(b"\r\n\r\n", b"\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n"))
            self.assertTrue(raw.recv(4096).startswith(b"HTTP/1.1 100 Continue"))

    def test_requests_need_the_token(self):
        self.mesh.router = self.start_router(["--token-file", self.write_file("token", TOKEN + "\n")])
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS))
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "Bearer wrong-token")]),
                                "invalid_token")
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "Bearer " + TOKEN + "x")]),
                                "invalid_token")
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "Basic " + TOKEN)]),
                                "invalid_token")
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "Bearer " + TOKEN),
                                                                         ("Authorization", "Bearer " + TOKEN)]))
        # A PUT without the token changes nothing.
        body = mesh.cluster_body([free_port()], 2)
        self.assertUnauthorized(self.mesh.api("PUT", CLUSTERS, body))

        right = [("Authorization", "Bearer " + TOKEN)]
        response = self.mesh.api("GET", CLUSTERS, headers=right)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(len(response.json()), 1, "the refused PUT added nothing")
        response = self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "bEaReR    %s  " % TOKEN)])
        self.assertEqual(response.status, 200, response)
        response = self.mesh.api("PUT", CLUSTERS, body, headers=right)
        self.assertEqual(response.status, 202, response)

        # One keep-alive connection: a 401 leaves it open, the next request with the token passes.
        with mesh.RawClient(self.mesh.router.config_port) as client:
            self.assertUnauthorized(client.request("GET", CLUSTERS))
            self.assertEqual(client.request("GET", CLUSTERS, headers=right).status, 200)

    def test_token_from_the_environment(self):
        self.mesh.router = self.start_router(env={"UPMESH_API_TOKEN": TOKEN})
        self.assertUnauthorized(self.mesh.api("GET", CLUSTERS))
        self.assertEqual(self.mesh.api("GET", CLUSTERS, headers=[("Authorization", "Bearer " + TOKEN)]).status, 200)

    def test_upmeshctl_with_and_without_the_token(self):
        token_file = self.write_file("token", TOKEN)
        self.mesh.router = self.start_router(["--token-file", token_file])
        result = self.ctl("list")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("401", result.stderr)
        self.assertIn("--token-file FILE", result.stderr)
        self.assertIn("UPMESH_API_TOKEN", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

        wrong = self.write_file("wrong", "not-the-router-token-0123")
        result = self.ctl("--token-file", wrong, "list")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("the token from --token-file %s is not the router's" % wrong, result.stderr)

        result = self.ctl("--token-file", token_file, "list")
        self.assertEqual(result.returncode, 0, result)
        result = self.ctl("list", "--token-file", token_file)
        self.assertEqual(result.returncode, 0, result)
        result = self.ctl("list", env={"UPMESH_API_TOKEN": TOKEN})
        self.assertEqual(result.returncode, 0, result)
        result = self.ctl("add", "--version", "2", "--server", "127.0.0.1:%d" % free_port(),
                          env={"UPMESH_API_TOKEN": TOKEN})
        self.assertEqual(result.returncode, 0, result)

        readable = self.write_file("readable", TOKEN, mode=0o644)
        result = self.ctl("--token-file", readable, "list")
        self.assertEqual(result.returncode, 2, result)
        self.assertIn("chmod 600", result.stderr)

    def test_unusable_token_files_stop_the_router(self):
        readable = self.write_file("readable", TOKEN, mode=0o640)
        self.assertRouterRefuses(["--token-file", readable], "readable or writable by group or others (mode 0640)")
        self.assertRouterRefuses(["--token-file", os.path.join(self._log_dir, "missing")],
                                 "cannot open: No such file or directory")
        self.assertRouterRefuses(["--token-file", self.write_file("empty", "\n")], "the file is empty")
        config = self.write_file("mesh.json", '{"configService": {"tokenFile": "%s"}}' % readable)
        self.assertRouterRefuses(["--config", config], "configService.tokenFile")

    def test_config_api_listens_on_loopback_by_default(self):
        # Not Mesh.start_router: it passes --config-address 127.0.0.1.
        port = free_port()
        state = os.path.join(self._log_dir, "state-default.json")
        process = self.mesh._start("router-default", "upmesh-router", [
            "--frontend-bind", mesh.zmq_endpoint(free_port()), "--worker-bind", mesh.zmq_endpoint(free_port()),
            "--publish-bind", mesh.zmq_endpoint(free_port()), "--config-port", port, "--state-file", state])
        process.wait_port(port)
        listening = set()
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].split(":")
                if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                    listening.add(address)
        self.assertEqual(listening, {"0100007F"}, "the config API should listen on 127.0.0.1 only")


if __name__ == "__main__":
    mesh.main()
