"""upmeshctl against a real upmesh-router: list / add (file, stdin, flags) /
show / delete round trips, --json output equal to the API's, and the exit
statuses a deploy script relies on (0 done, 1 the API refused, 2 usage
error, 3 the API unreachable)."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port, http_get  # noqa: E402

UUID_LINE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$")


class UpmeshctlTest(mesh.MeshTestCase):

    def setUp(self):
        super().setUp()
        # The router alone is enough: upmeshctl only talks to its config API.
        # Its initial cluster (version 1) names a backend that is never started.
        never_started = types.SimpleNamespace(port=free_port())
        self.router = self.mesh.start_router(servers=[never_started], version="1")
        self.api = "127.0.0.1:%d" % self.router.config_port

    # --- helpers --------------------------------------------------------------

    def ctl(self, *args, api=True, stdin=None, env=None, timeout=10.0):
        """Runs upmeshctl (with --api pointing at the router unless api=False)."""
        argv = [mesh.binary("upmeshctl")] + (["--api", self.api] if api else []) + list(args)
        full_env = dict(os.environ)
        full_env.pop("UPMESH_API", None)
        full_env.update(env or {})
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env)

    def assertExit(self, result, code, stderr_mentions=()):
        self.assertEqual(result.returncode, code,
                         "exit %d, wanted %d\nstdout: %s\nstderr: %s"
                         % (result.returncode, code, result.stdout, result.stderr))
        for text in stderr_mentions:
            self.assertIn(text, result.stderr)
        if code != 0:
            self.assertEqual(result.stdout, "", "nothing on stdout when failing")
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, "one line on stderr: %r" % result.stderr)

    def api_json(self, path):
        status, _, body = http_get(self.router.config_port, path)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def api_clusters(self):
        return self.api_json("/configuration/cluster")

    def write_file(self, name, content):
        path = os.path.join(self._log_dir, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def add(self, *args, stdin=None):
        """upmeshctl add ...; checks that stdout is the uuid alone and returns it."""
        result = self.ctl("add", *args, stdin=stdin)
        self.assertExit(result, 0)
        self.assertEqual(result.stderr, "")
        self.assertEqual(len(result.stdout.splitlines()), 1, result.stdout)
        return result.stdout.strip()

    # --- list / show / add / delete -------------------------------------------

    def test_list_shows_the_initial_cluster_and_json_is_the_apis(self):
        result = self.ctl("list")
        self.assertExit(result, 0)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["UUID", "VERSION", "MODE", "SERVERS", "SERVED", "HEALTH", "STATE"])
        self.assertEqual(len(lines), 2)
        uuid = self.api_clusters()[0]["cluster"]["uuid"]
        self.assertEqual(lines[1].split()[:3], [uuid, "1", "INSTANT"])
        self.assertIn("newest", lines[1])

        result = self.ctl("list", "--json")
        self.assertExit(result, 0)
        self.assertEqual(json.loads(result.stdout), self.api_clusters())
        self.assertIn("\n  ", result.stdout, "pretty-printed")

    def test_add_from_flags_then_show_then_delete(self):
        initial = self.api_clusters()[0]["cluster"]["uuid"]
        uuid = self.add("--version", "2", "--server", "127.0.0.1:8002", "--server", "localhost:8003",
                        "--mode", "gradual", "--percentage", "0.5")
        self.assertRegex(uuid + "\n", UUID_LINE)

        stored = self.api_json("/configuration/cluster/" + uuid)["cluster"]
        self.assertEqual(stored["version"], 2)
        self.assertEqual(stored["servers"], [{"ip": "127.0.0.1", "port": 8002}, {"hostname": "localhost", "port": 8003}])
        self.assertEqual(stored["upgradeTransition"], {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.5})

        rows = self.ctl("list").stdout.splitlines()[1:]
        self.assertEqual([row.split()[0] for row in rows], [uuid, initial], "newest first")
        self.assertEqual(rows[0].split()[1:4], ["2", "GRADUAL", "127.0.0.1:8002,localhost:8003"])
        self.assertIn("newest, share", rows[0])

        result = self.ctl("show", uuid)
        self.assertExit(result, 0)
        for text in ("uuid:", uuid, "2 (newest)", "127.0.0.1:8002", "localhost:8003",
                     "GRADUAL (ramp by requests, +0.5 % per request)", "requests served:", "gradual share:"):
            self.assertIn(text, result.stdout)
        result = self.ctl("--json", "show", uuid)
        self.assertExit(result, 0)
        self.assertEqual(json.loads(result.stdout), self.api_json("/configuration/cluster/" + uuid))

        result = self.ctl("delete", uuid)
        self.assertExit(result, 0)
        self.assertEqual(result.stdout, "deleted %s\n" % uuid)
        self.assertEqual([c["cluster"]["uuid"] for c in self.api_clusters()], [initial])
        self.assertIn("newest", self.ctl("list").stdout.splitlines()[1], "the rollback made v1 the newest again")
        self.assertExit(self.ctl("show", uuid), 1, [uuid, "404"])

    def test_add_every_mode_from_flags(self):
        cases = [
            (["--mode", "INSTANT"], {"mode": "INSTANT"}),
            (["--mode", "SESSION", "--session-timeout", "600"], {"mode": "SESSION", "sessionTimeout": 600}),
            (["--mode", "GRADUAL", "--duration-seconds", "86400"], {"mode": "GRADUAL", "durationSeconds": 86400}),
            (["--mode", "CONCURRENT", "--delay-tolerance-ms", "500", "--unsafe-methods", "both"],
             {"mode": "CONCURRENT", "delayToleranceMs": 500, "unsafeMethods": "both"}),
        ]
        for i, (flags, transition) in enumerate(cases):
            with self.subTest(flags=flags):
                uuid = self.add("--version", "1.%d" % (i + 1), "--server", "127.0.0.1:%d" % (8100 + i), *flags)
                cluster = self.api_json("/configuration/cluster/" + uuid)["cluster"]
                self.assertEqual(cluster["upgradeTransition"], transition)
                self.assertEqual(cluster["version"], "1.%d" % (i + 1), "a dotted version stays a string")
        result = self.ctl("show", uuid)
        self.assertIn("CONCURRENT (delay tolerance 500 ms, unsafe methods to both versions)", result.stdout)
        self.assertIn("mismatches:", result.stdout)
        uuid = self.add("--version", "9", "--server", "127.0.0.1:8200", "--uuid", "release-9")
        self.assertEqual(uuid, "release-9")
        self.assertNotIn("upgradeTransition", self.api_json("/configuration/cluster/release-9")["cluster"])

    def test_a_large_listing_arrives_whole(self):
        """upmeshctl asks with Connection: close; the router must not cut the
        answer short when it closes the connection (libzmq drops a STREAM
        peer's unsent bytes on close)."""
        servers = [{"ip": "127.0.0.1", "port": 10000 + i} for i in range(60)]
        for version in range(2, 62):
            answer = mesh.api_request(self.router.config_port, "PUT", "/configuration/cluster",
                                      {"cluster": {"version": version, "servers": servers}})
            self.assertEqual(answer.status, 202, answer)
        expected = self.api_clusters()
        self.assertGreater(len(json.dumps(expected)), 100000, "the listing should be large")
        for _ in range(5):
            result = self.ctl("list", "--json")
            self.assertExit(result, 0)
            self.assertEqual(json.loads(result.stdout), expected)

    def test_add_from_file_wrapped_bare_and_stdin(self):
        wrapped = self.write_file("wrapped.json", {"cluster": {
            "uuid": "from-file", "version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}]}})
        self.assertEqual(self.add("--file", wrapped), "from-file")

        bare = self.write_file("bare.json", {
            "version": "1.10", "servers": [{"hostname": "localhost", "port": 8010}],
            "upgradeTransition": {"mode": "SESSION", "sessionTimeout": 60}})
        bare_uuid = self.add("-f", bare)
        self.assertRegex(bare_uuid + "\n", UUID_LINE)

        from_stdin = json.dumps({"version": 3, "servers": [{"ip": "127.0.0.1", "port": 8003}],
                                 "upgradeTransition": {"mode": "CONCURRENT"}})
        stdin_uuid = self.add("--file", "-", stdin=from_stdin)

        # The API orders by version: 3, 2, "1.10", 1 (the initial cluster).
        listed = [c["cluster"]["uuid"] for c in self.api_clusters()]
        self.assertEqual(listed[:3], [stdin_uuid, "from-file", bare_uuid])
        rows = self.ctl("list").stdout.splitlines()[1:]
        self.assertEqual([row.split()[0] for row in rows], listed, "the table keeps the API's order")
        self.assertEqual(rows[0].split()[2], "CONCURRENT")
        self.assertIn("newest, 0 mismatches", rows[0])
        self.assertEqual(rows[2].split()[1:4], ["1.10", "SESSION", "localhost:8010"])

    def test_global_options_work_after_the_command_and_from_the_environment(self):
        result = self.ctl("list", "--json", "--api", self.api, api=False)
        self.assertExit(result, 0)
        self.assertEqual(json.loads(result.stdout), self.api_clusters())

        result = self.ctl("list", api=False, env={"UPMESH_API": self.api})
        self.assertExit(result, 0)
        self.assertIn("INSTANT", result.stdout)

        dead = "127.0.0.1:%d" % free_port()
        result = self.ctl("--timeout", "5", "list", api=False, env={"UPMESH_API": dead})
        self.assertExit(result, 3, [dead])
        self.assertExit(self.ctl("list", "--api", self.api, api=False, env={"UPMESH_API": dead}), 0)

    # --- exit statuses ----------------------------------------------------------

    def test_usage_errors_exit_2_and_change_nothing(self):
        missing = os.path.join(self._log_dir, "no-such-file.json")
        not_json = self.write_file("not.json", "{version: 2")
        cases = [
            ([], "no command"),
            (["frobnicate"], "frobnicate"),
            (["list", "--bogus"], "--bogus"),
            (["show"], "ID"),
            (["delete", "a", "b"], "delete"),
            (["--timeout", "0", "list"], "--timeout"),
            (["add"], "--version"),
            (["add", "--version", "2"], "--server"),
            (["add", "--version", "2", "--server", "127.0.0.1"], "--server"),
            (["add", "--version", "2", "--server", "127.0.0.1:70000"], "--server"),
            (["add", "--version", "2", "--server", "127.0.0.1:8002", "--mode", "FAST"], "--mode"),
            (["add", "--version", "2", "--server", "127.0.0.1:8002", "--percentage", "5"], "--percentage"),
            (["add", "--version", "2", "--server", "127.0.0.1:8002", "--mode", "SESSION", "--percentage", "5"],
             "--percentage"),
            (["add", "--version", "2", "--server", "127.0.0.1:8002", "--mode", "SESSION", "--session-timeout", "x"],
             "--session-timeout"),
            (["add", "--file", missing], missing),
            (["add", "--file", not_json], "not valid JSON"),
            (["add", "--file", not_json, "--version", "3"], "--version"),
        ]
        for args, mention in cases:
            with self.subTest(args=args):
                self.assertExit(self.ctl(*args), 2, [mention])
        self.assertExit(self.ctl("list", api=False, env={"UPMESH_API": "nonsense"}), 2, ["UPMESH_API"])
        self.assertExit(self.ctl("--api", "localhost", "list", api=False), 2, ["--api"])
        self.assertExit(self.ctl("add", "--file", "-", stdin="[1, 2]"), 2, ["JSON object"])
        self.assertEqual(len(self.api_clusters()), 1, "nothing was added")

    def test_invalid_cluster_exits_1_naming_the_field(self):
        cases = [
            (["--version", "2", "--server", "127.0.0.1:8002", "--mode", "GRADUAL", "--percentage", "150"],
             "percentageTransitionPerRequest"),
            (["--version", "2", "--server", "127.0.0.1:8002", "--mode", "SESSION"], "sessionTimeout"),
            (["--version", "2", "--server", "127.0.0.1:8002", "--mode", "GRADUAL"], "GRADUAL"),
            (["--version", "2", "--server", "127.0.0.1:8002", "--mode", "CONCURRENT", "--unsafe-methods", "twice"],
             "unsafeMethods"),
            (["--version", "2", "--server", "127.0.0.1:8002", "--uuid", "not/a/uuid"], "uuid"),
            (["--file", self.write_file("no-servers.json", {"version": 2, "servers": []})], "cluster.servers"),
            (["--file", self.write_file("typo.json", {"cluster": {"version": 2, "server": []}})], "cluster."),
        ]
        for args, field in cases:
            with self.subTest(args=args):
                self.assertExit(self.ctl("add", *args), 1, [field, "400"])
        self.assertEqual(len(self.api_clusters()), 1, "nothing was added")

    def test_unknown_id_exits_1(self):
        self.assertExit(self.ctl("show", "no-such-cluster"), 1, ["no-such-cluster", "404"])
        self.assertExit(self.ctl("delete", "no-such-cluster"), 1, ["no-such-cluster", "404"])
        self.add("--version", "2", "--server", "127.0.0.1:8002", "--uuid", "taken")
        self.assertExit(self.ctl("add", "--version", "3", "--server", "127.0.0.1:8003", "--uuid", "taken"), 1,
                        ["taken"])

    def test_rollback_by_hand_and_explain(self):
        uuid2 = self.add("--version", "2", "--server", "127.0.0.1:%d" % free_port())
        result = self.ctl("explain", uuid2)
        self.assertExit(result, 0)
        self.assertRegex(result.stdout, r"rolled back: +no")
        result = self.ctl("rollback", uuid2)
        self.assertExit(result, 0)
        self.assertIn(uuid2, result.stdout)
        state = self.api_json("/configuration/cluster/%s" % uuid2)["state"]
        self.assertEqual((state["health"], state["rollback"]["reason"]), ("rolledBack", "operator"))
        result = self.ctl("explain", uuid2)
        self.assertExit(result, 0)
        self.assertRegex(result.stdout, r"health: +rolledBack")
        self.assertRegex(result.stdout, r"reason: +operator")
        explained = json.loads(self.ctl("explain", uuid2, "--json").stdout)
        self.assertEqual(explained["rollback"]["reason"], "operator")
        list_line = [line for line in self.ctl("list").stdout.splitlines() if line.startswith(uuid2)][0]
        self.assertIn("rolledBack", list_line)
        # Again: 409, and the last version that can serve cannot be rolled back.
        self.assertExit(self.ctl("rollback", uuid2), 1, ["already rolled back"])
        uuid1 = self.api_clusters()[-1]["cluster"]["uuid"]
        self.assertExit(self.ctl("rollback", uuid1), 1, ["only version that can serve"])
        self.assertExit(self.ctl("rollback", "no-such-uuid"), 1, ["404"])
        self.assertExit(self.ctl("rollback"), 2)

    def test_api_down_exits_3_naming_the_address(self):
        dead = "127.0.0.1:%d" % free_port()
        for args in (["list"], ["show", "x"], ["delete", "x"],
                     ["add", "--version", "2", "--server", "127.0.0.1:8002"]):
            with self.subTest(args=args):
                self.assertExit(self.ctl("--api", dead, *args, api=False), 3, [dead])
        self.router.stop()
        self.assertExit(self.ctl("list"), 3, [self.api])

    def test_silent_api_times_out_with_exit_3(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", free_port()))
            listener.listen(1)  # accepts (in the kernel) but never answers
            address = "127.0.0.1:%d" % listener.getsockname()[1]
            start = time.monotonic()
            result = self.ctl("--api", address, "--timeout", "0.5", "list", api=False)
            elapsed = time.monotonic() - start
        self.assertExit(result, 3, [address, "500 ms"])
        self.assertLess(elapsed, 5.0)

    # --- help ---------------------------------------------------------------------

    def test_help_and_version(self):
        result = self.ctl("--help", api=False)
        self.assertExit(result, 0)
        for text in ("list", "show ID", "add --file", "delete ID", "--api", "--json", "--timeout", "Exit status"):
            self.assertIn(text, result.stdout)
        result = self.ctl("add", "--help", api=False)
        self.assertExit(result, 0)
        for text in ("--file", "--version", "--server", "--mode", "--session-timeout", "--percentage",
                     "--duration-seconds", "--delay-tolerance-ms", "--unsafe-methods", "--uuid"):
            self.assertIn(text, result.stdout)
        result = self.ctl("--version", api=False)
        self.assertExit(result, 0)
        self.assertRegex(result.stdout, r"^upmeshctl \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    mesh.main()
