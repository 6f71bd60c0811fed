"""upmeshctl status against a real mesh: the versions with their shares and
health, the live worker and frontend; --watch redraws in place with each
worker's requests per second, stops after --count redraws, and ends with
exit status 0 on Ctrl-C (SIGINT)."""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import GetLoad, wait_until  # noqa: E402

CLEAR = "\x1b[H\x1b[2J"


class UpmeshctlStatusTest(mesh.MeshTestCase):

    def ctl(self, *args, timeout=10.0):
        argv = [mesh.binary("upmeshctl"), "--api", "127.0.0.1:%d" % self.mesh.router.config_port] + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def test_status_and_watch(self):
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=("v1",), initial_version=1, workers=1)
        uuid2 = m.put_cluster([m.backends[1]], 2, {"mode": "GRADUAL", "durationSeconds": 600})
        with GetLoad(m.frontend.port, connections=2, max_seconds=20) as load:
            load.wait_count(200)
            wait_until(lambda: m.api("GET", "/status").json()["workers"][0]["served"] > 0, 5, what="served counts")
            result = self.ctl("status")
            self.assertEqual(result.returncode, 0, result.stderr)
            text = result.stdout
            self.assertNotIn(CLEAR, text)
            self.assertIn("VERSION", text)
            rows = {line.split()[0]: line for line in text.splitlines() if line.split()}
            self.assertIn("GRADUAL", rows["2"])
            self.assertIn(uuid2, rows["2"])
            self.assertIn("INSTANT", rows["1"])
            self.assertIn("healthy", rows["1"])
            self.assertIn("GRADUAL   version 2 at ", text)
            self.assertIn("serving", rows["w1"])
            self.assertIn("tcp://127.0.0.1:%d" % m.frontend.worker_port, text)

            result = self.ctl("status", "--json")
            self.assertEqual(result.returncode, 0, result.stderr)
            both = json.loads(result.stdout)
            self.assertEqual([v["version"] for v in both["status"]["versions"]], [2, 1])
            self.assertEqual(len(both["clusters"]), 2)

            started = time.monotonic()
            result = self.ctl("status", "--watch", "--count", "3", "--interval", "0.3")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertLess(time.monotonic() - started, 5)
            screens = result.stdout.split(CLEAR)
            self.assertEqual(screens[0], "")
            self.assertEqual(len(screens), 4, result.stdout)
            worker_rows = [line for line in screens[3].splitlines() if line.startswith("w1 ")]
            rate = worker_rows[0].split()[3]
            self.assertGreater(float(rate), 0, screens[3])  # requests/s since the redraw before

            watch = subprocess.Popen([mesh.binary("upmeshctl"), "--api", "127.0.0.1:%d" % m.router.config_port,
                                      "status", "--watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(1.5)
                watch.send_signal(signal.SIGINT)
                out, err = watch.communicate(timeout=5)
            finally:
                if watch.poll() is None:
                    watch.kill()
            self.assertEqual(watch.returncode, 0, err)
            self.assertGreaterEqual(out.count(CLEAR), 1)

        self.assertEqual(self.ctl("status", "--count", "2").returncode, 2)  # --count needs --watch


if __name__ == "__main__":
    mesh.main()
