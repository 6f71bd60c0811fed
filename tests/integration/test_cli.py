"""Command-line contract of every executable: --help, --version, and bad
flags, stray arguments or config files refused with exit status 2 before
anything starts; messages an operator can act on (the reason a file cannot be
opened, the key and flag of a port that is taken, the key or flag meant by a
typo, a worker without a router and a router without workers); the state
file's default place."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port, port_accepting, run_binary  # noqa: E402

COMMON_OPTIONS = ["--help", "--version", "--config", "--log-level"]
OPTIONS = {
    "upmesh-router": ["--frontend-bind", "--worker-bind", "--publish-bind", "--config-address", "--config-port",
                      "--state-file", "--server", "--cluster-version", "--ack-wait-ms"],
    "upmesh-frontend": ["--address", "--port", "--router", "--config-endpoint", "--max-body-bytes",
                        "--max-header-bytes"],
    "upmesh-worker": ["--router", "--config-endpoint", "--capacity", "--name"],
    "upmesh-backend": ["--address", "--port", "--name"],
}


class CliTest(mesh.MeshTestCase):

    def write_file(self, name, text):
        path = os.path.join(self._log_dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def listening_args(self, program, port):
        """Flags that would make `program` listen on `port` if it started."""
        return {
            "upmesh-router": ["--frontend-bind", "tcp://127.0.0.1:%d" % port,
                              "--worker-bind", "tcp://127.0.0.1:%d" % free_port(),
                              "--publish-bind", "tcp://127.0.0.1:%d" % free_port(),
                              "--config-address", "127.0.0.1", "--config-port", str(free_port()),
                              "--state-file", os.path.join(self._log_dir, "state.json")],
            "upmesh-frontend": ["--address", "127.0.0.1", "--port", str(port)],
            "upmesh-worker": ["--name", "cli-test-worker"],  # a worker listens on nothing
            "upmesh-backend": ["--address", "127.0.0.1", "--port", str(port)],
        }[program]

    def assertRefusedToStart(self, program, args, must_mention):
        """Runs program; expects exit 2 with one stderr line mentioning must_mention,
        and that it never listened on the port its flags name."""
        port = free_port()
        listening = self.listening_args(program, port)
        # Leave out a listening flag that the case itself gives (a flag may appear once).
        pairs = [listening[i:i + 2] for i in range(0, len(listening), 2)]
        listening = [word for pair in pairs if pair[0] not in args for word in pair]
        argv = [mesh.binary(program)] + listening + args
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        listened = False
        while process.poll() is None and time.monotonic() < deadline:
            listened = listened or port_accepting(port)
            time.sleep(0.01)
        if process.poll() is None:
            process.kill()
        stdout, stderr = process.communicate()
        stderr = stderr.decode("utf-8", "replace")
        context = "%s -> exit %s\nstdout: %r\nstderr: %r" % (argv, process.returncode, stdout, stderr)
        self.assertEqual(process.returncode, 2, context)
        self.assertFalse(listened or port_accepting(port), "it listened on its port: " + context)
        self.assertIn(must_mention, stderr, context)
        self.assertEqual(len(stderr.strip().splitlines()), 1, "expected one line: " + context)

    def test_help(self):
        for program, options in OPTIONS.items():
            with self.subTest(program=program):
                result = run_binary(program, ["--help"])
                self.assertEqual(result.returncode, 0, result)
                for option in options + COMMON_OPTIONS:
                    self.assertIn(option, result.stdout, "%s --help does not mention %s" % (program, option))

    def test_version(self):
        for program in OPTIONS:
            with self.subTest(program=program):
                result = run_binary(program, ["--version"])
                self.assertEqual(result.returncode, 0, result)
                self.assertRegex(result.stdout, r"^%s \d+\.\d+\.\d+" % re.escape(program))

    def test_config_not_json(self):
        path = self.write_file("broken.json", '{"proxy": {"port": 8080,')
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "JSON")

    def test_config_unknown_key(self):
        path = self.write_file("unknown.json", json.dumps({"proxy": {"port": 8080, "prot": 1}}))
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path],
                                          "proxy.prot: unknown key; did you mean proxy.port?")

    def test_config_unknown_key_far_from_any_gets_no_suggestion(self):
        path = self.write_file("unknown-far.json", json.dumps({"worker": {"zzzzzz": 1}}))
        self.assertRefusedToStart("upmesh-worker", ["--config", path], "worker.zzzzzz: unknown key")
        result = run_binary("upmesh-worker", ["--config", path])
        self.assertNotIn("did you mean", result.stderr)

    def test_config_unknown_top_level_key(self):
        path = self.write_file("unknown-top.json", json.dumps({"workers": {}}))
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "workers: unknown key; did you mean worker?")

    def test_config_port_out_of_range(self):
        path = self.write_file("port.json", json.dumps({"proxy": {"port": 70000}}))
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "proxy.port")

    def test_config_file_missing(self):
        path = os.path.join(self._log_dir, "does-not-exist.json")
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path],
                                          "cannot open config file %s: No such file or directory" % path)

    def test_config_file_unreadable_gives_the_reason(self):
        if os.geteuid() == 0:
            self.skipTest("root reads any file")
        path = self.write_file("secret.json", "{}")
        os.chmod(path, 0)
        self.assertRefusedToStart("upmesh-frontend", ["--config", path],
                                  "cannot open config file %s: Permission denied" % path)

    def test_unknown_flag(self):
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--no-such-flag"], "no-such-flag")

    def test_misspelt_flag_suggests_the_flag_meant(self):
        cases = [
            ("upmesh-frontend", ["--prot", "8080"], "did you mean --port?"),
            ("upmesh-router", ["--worker-bnd", "tcp://127.0.0.1:1"], "did you mean --worker-bind?"),
            ("upmesh-worker", ["--capacty", "3"], "did you mean --capacity?"),
            ("upmesh-backend", ["--nmae", "v1"], "did you mean --name?"),
        ]
        for program, args, mention in cases:
            with self.subTest(program=program, args=args):
                self.assertRefusedToStart(program, args, mention)

    def test_stray_arguments_are_refused(self):
        """`upmesh-frontend help` must not start a server that ignores the word."""
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["help"], 'unexpected argument "help"')
                self.assertRefusedToStart(program, ["help"], "did you mean --help?")
        self.assertRefusedToStart("upmesh-frontend", ["--port", "8080", "extra"], 'unexpected argument "extra"')

    def test_bad_flag_values(self):
        cases = [
            ("upmesh-frontend", ["--port", "70000"], "port"),
            ("upmesh-frontend", ["--max-body-bytes", "lots"], "max-body-bytes"),
            ("upmesh-backend", ["--port", "abc"], "port"),
            ("upmesh-worker", ["--config-endpoint", "no-endpoint-here"], "no-endpoint-here"),
            ("upmesh-frontend", ["--config-endpoint", "no-endpoint-here"], "no-endpoint-here"),
            ("upmesh-router", ["--ack-wait-ms", "0"], "ack-wait-ms"),
            ("upmesh-router", ["--server", "no-port-here"], "no-port-here"),
            ("upmesh-worker", ["--capacity", "0"], "capacity"),
            ("upmesh-worker", ["--access-log-sample", "0"], "access-log-sample"),
            ("upmesh-worker", ["--access-log-sample", "1.5"], "access-log-sample"),
            ("upmesh-router", ["--worker-bind", "not-an-endpoint"], "not-an-endpoint"),
            ("upmesh-frontend", ["--log-level", "loud"], "log-level"),
        ]
        for program, args, mention in cases:
            with self.subTest(program=program, args=args):
                self.assertRefusedToStart(program, args, mention)

    # --- ports already taken ---------------------------------------------------

    def assertPortClashNamed(self, program, args, port, mention):
        """Runs `program` while something else listens on `port`: it must exit non-zero,
        naming the endpoint, the config key and the flag, and the system's reason."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
            holder.bind(("127.0.0.1", port))
            holder.listen(1)
            result = run_binary(program, args)
        context = "%s %s -> exit %s\nstderr: %r" % (program, args, result.returncode, result.stderr)
        self.assertNotEqual(result.returncode, 0, context)
        self.assertIn(mention, result.stderr, context)
        self.assertIn("Address already in use", result.stderr, context)

    def test_port_clash_names_the_key_and_the_flag(self):
        port = free_port()
        self.assertPortClashNamed("upmesh-frontend", ["--address", "127.0.0.1", "--port", str(port)], port,
                                  "cannot listen on tcp://127.0.0.1:%d (proxy.address / proxy.port, "
                                  "--address / --port)" % port)
        self.assertPortClashNamed("upmesh-backend", ["--address", "127.0.0.1", "--port", str(port)], port,
                                  "cannot bind 127.0.0.1 port %d (--address / --port)" % port)
        router_ports = {name: free_port() for name in ("frontend", "worker", "publish", "config")}

        def router_args():
            return ["--frontend-bind", "tcp://127.0.0.1:%d" % router_ports["frontend"],
                    "--worker-bind", "tcp://127.0.0.1:%d" % router_ports["worker"],
                    "--publish-bind", "tcp://127.0.0.1:%d" % router_ports["publish"],
                    "--config-address", "127.0.0.1", "--config-port", str(router_ports["config"]),
                    "--state-file", os.path.join(self._log_dir, "clash-state.json")]
        expected = {
            "frontend": "cannot bind tcp://127.0.0.1:%d (router.frontendBind / --frontend-bind)",
            "worker": "cannot bind tcp://127.0.0.1:%d (router.workerBind / --worker-bind)",
            "publish": "cannot bind tcp://127.0.0.1:%d (router.publishBind / --publish-bind)",
            "config": "cannot bind the config API on tcp://127.0.0.1:%d (configService.address / "
                      "configService.port, --config-address / --config-port)",
        }
        for name, mention in expected.items():
            with self.subTest(router_socket=name):
                taken = router_ports[name]
                self.assertPortClashNamed("upmesh-router", router_args(), taken, mention % taken)

    # --- waiting for the other side ----------------------------------------------

    def test_router_without_workers_and_worker_without_router_warn(self):
        m = self.mesh
        router = m.router = m.start_router()
        log = router.wait_log("no worker attached for", timeout=10)
        self.assertIn("no worker attached for 5 s; workers connect to tcp://127.0.0.1:%d "
                      "(router.workerBind / --worker-bind)" % router.worker_port, log)

        nowhere = free_port()
        lonely = m._start("worker-lonely", "upmesh-worker",
                          ["--router", "tcp://127.0.0.1:%d" % nowhere,
                           "--config-endpoint", "tcp://127.0.0.1:%d" % free_port(), "--name", "lonely"])
        log = lonely.wait_log("no router reachable", timeout=10)
        self.assertIn("no router reachable at tcp://127.0.0.1:%d for 5 s (worker.routerEndpoint / --router); "
                      "still trying" % nowhere, log)

        # A worker that reaches its router says nothing of the kind, nor does the router afterwards.
        joined = m.start_worker("joined")
        m.wait_workers_joined(["joined"])
        warnings_before = router.log_text().count("no worker attached")
        time.sleep(6)
        self.assertNotIn("no router reachable", joined.log_text())
        self.assertEqual(router.log_text().count("no worker attached"), warnings_before, router.log_text())

    # --- the state file's default place -----------------------------------------

    def test_state_file_defaults_to_the_state_directory_never_the_current_one(self):
        m = self.mesh
        state_dir = os.path.join(self._log_dir, "state", "upmesh")  # created by the router
        cwd = tempfile.mkdtemp(prefix="upmesh-cwd-", dir=self._log_dir)
        env = dict(os.environ, STATE_DIRECTORY=state_dir)
        ports = [free_port() for _ in range(4)]
        router = m._start("router-default-state", "upmesh-router",
                          ["--frontend-bind", "tcp://127.0.0.1:%d" % ports[0],
                           "--worker-bind", "tcp://127.0.0.1:%d" % ports[1],
                           "--publish-bind", "tcp://127.0.0.1:%d" % ports[2],
                           "--config-address", "127.0.0.1", "--config-port", ports[3],
                           "--server", "127.0.0.1:8001"], env=env, cwd=cwd)
        router.wait_port(ports[3])
        state_file = os.path.join(state_dir, "router-state.json")
        self.assertTrue(os.path.isfile(state_file), router.log_text())
        self.assertIn("state file %s created" % state_file, router.log_text())
        self.assertEqual(os.listdir(cwd), [], "the router wrote into its current directory")
        self.assertEqual(router.stop(), 0)

    def test_state_file_of_an_ordinary_user_is_in_the_xdg_state_home(self):
        """Not root, no STATE_DIRECTORY, no writable /var/lib/upmesh: ~/.local/state/upmesh.
        As root the router is run as nobody (setpriv), in a home of its own."""
        if os.access("/var/lib/upmesh", os.W_OK) and os.geteuid() != 0:
            self.skipTest("/var/lib/upmesh is writable by this user, so the router would use it")
        home = tempfile.mkdtemp(prefix="upmesh-home-")
        self.addCleanup(subprocess.run, ["rm", "-rf", home])
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                self.skipTest("running as root and setpriv is missing")
            os.chown(home, 65534, 65534)
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {k: v for k, v in os.environ.items() if k not in ("STATE_DIRECTORY", "XDG_STATE_HOME")}
        env["HOME"] = home
        ports = [free_port() for _ in range(4)]
        argv = prefix + [mesh.binary("upmesh-router"),
                         "--frontend-bind", "tcp://127.0.0.1:%d" % ports[0],
                         "--worker-bind", "tcp://127.0.0.1:%d" % ports[1],
                         "--publish-bind", "tcp://127.0.0.1:%d" % ports[2],
                         "--config-address", "127.0.0.1", "--config-port", str(ports[3])]
        router = mesh.Process("router-user-state", argv, self._log_dir, env=env, cwd=home)
        self.mesh.processes.append(router)
        router.wait_port(ports[3])
        state_file = os.path.join(home, ".local", "state", "upmesh", "router-state.json")
        self.assertTrue(os.path.isfile(state_file), router.log_text())
        self.assertIn("state file %s created" % state_file, router.log_text())
        self.assertEqual(sorted(os.listdir(home)), [".local"], "the router wrote into its current directory")
        self.assertEqual(router.stop(), 0)

    def test_flags_override_config_file(self):
        """A valid config file is accepted, and --port wins over proxy.port."""
        config_port = free_port()
        path = self.write_file("good.json", json.dumps({"proxy": {"port": config_port, "address": "127.0.0.1"},
                                                        "logLevel": "warn"}))
        router = self.mesh.start_router()
        frontend = self.mesh.start_frontend(router=router, extra=["--config", path])
        self.assertTrue(port_accepting(frontend.port))
        self.assertFalse(port_accepting(config_port), "the config file's proxy.port was used over --port")
        self.assertEqual(frontend.stop(), 0)


if __name__ == "__main__":
    mesh.main()
