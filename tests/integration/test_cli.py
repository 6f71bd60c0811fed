"""Command-line contract of every executable: --help, --version, and bad
flags or config files refused with exit status 2 before anything starts."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port, port_accepting, run_binary  # noqa: E402

COMMON_OPTIONS = ["--help", "--version", "--config", "--log-level"]
OPTIONS = {
    "upmesh-router": ["--frontend-bind", "--worker-bind", "--publish-bind", "--config-address", "--config-port",
                      "--state-file", "--server", "--cluster-version"],
    "upmesh-frontend": ["--address", "--port", "--router", "--max-body-bytes", "--max-header-bytes"],
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
                self.assertRefusedToStart(program, ["--config", path], "proxy.prot")

    def test_config_unknown_top_level_key(self):
        path = self.write_file("unknown-top.json", json.dumps({"workers": {}}))
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "workers")

    def test_config_port_out_of_range(self):
        path = self.write_file("port.json", json.dumps({"proxy": {"port": 70000}}))
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "proxy.port")

    def test_config_file_missing(self):
        path = os.path.join(self._log_dir, "does-not-exist.json")
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--config", path], "does-not-exist.json")

    def test_unknown_flag(self):
        for program in OPTIONS:
            with self.subTest(program=program):
                self.assertRefusedToStart(program, ["--no-such-flag"], "no-such-flag")

    def test_bad_flag_values(self):
        cases = [
            ("upmesh-frontend", ["--port", "70000"], "port"),
            ("upmesh-frontend", ["--max-body-bytes", "lots"], "max-body-bytes"),
            ("upmesh-backend", ["--port", "abc"], "port"),
            ("upmesh-worker", ["--config-endpoint", "no-endpoint-here"], "no-endpoint-here"),
            ("upmesh-router", ["--server", "no-port-here"], "no-port-here"),
            ("upmesh-worker", ["--capacity", "0"], "capacity"),
            ("upmesh-router", ["--worker-bind", "not-an-endpoint"], "not-an-endpoint"),
            ("upmesh-frontend", ["--log-level", "loud"], "log-level"),
        ]
        for program, args, mention in cases:
            with self.subTest(program=program, args=args):
                self.assertRefusedToStart(program, args, mention)

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
