"""GET /metrics on the router's config API against a real mesh: per-version
request counts that match the requests sent (20 to v1, then after an INSTANT
switch 20 to v2), a backend's 5xx under code="5xx", a page promtool accepts,
the API's token guarding it, and a real Prometheus server scraping it and
evaluating every query of the Grafana dashboard (packaging/grafana)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import types
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import free_port, http_get, wait_until  # noqa: E402

# Watched (workers record outcomes only for a monitored table), but never
# judged and never shielded: v2 is not rolled back while it answers 5xx, and
# each request is exactly one trip to one version.
INSTANT_UNJUDGED = {"mode": "INSTANT", "monitor": {"shield": False, "minRequests": 1000000000}}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
TOKEN = "metrics-test-token-0123456789abcdef"
DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "grafana",
                         "upmesh-rollout.json")
# What Grafana puts in for its variables when it sends a dashboard's query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1m", "$old": "1", "$new": "2"}


def parse_page(text):
    """{(name, ((label, value), ...sorted)): float} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if not match:
            raise AssertionError("not a sample line: %r" % line)
        labels = tuple(sorted(LABEL.findall(match.group(2) or "")))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


class MetricsTest(mesh.MeshTestCase):

    def metrics_text(self, headers=None):
        response = self.mesh.api("GET", "/metrics", headers=headers)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return response.body.decode()

    def requests(self, version, code):
        """upmesh_requests_total of the version (by its version string) and code."""
        total = 0
        for (name, labels), value in parse_page(self.metrics_text()).items():
            found = dict(labels)
            if name == "upmesh_requests_total" and found["version"] == version and found["code"] == code:
                total += value
        return total

    def send(self, count, target="/", expect_status=200, expect_backend=None):
        for _ in range(count):
            status, headers, _ = http_get(self.mesh.frontend.port, target)
            self.assertEqual(status, expect_status)
            if expect_backend:
                self.assertEqual(headers.get("x-backend-version"), expect_backend)

    def wait_requests(self, version, code, expected, timeout=10.0):
        """Waits until the HEALTH reports have brought the count to `expected` (and not past it)."""
        wait_until(lambda: self.requests(version, code) >= expected, timeout,
                   what="upmesh_requests_total{version=%s,code=%s} >= %d" % (version, code, expected))
        time.sleep(0.3)  # a few more report periods: nothing else may arrive
        self.assertEqual(self.requests(version, code), expected)

    def test_counts_per_version_and_code_match_the_requests_sent(self):
        self.mesh.start_versions(names=("v1", "v2"), initial=("v1",), initial_version="1")
        time.sleep(0.3)  # the reports of the requests that waited for the mesh are in
        v1_before = self.requests("1", "2xx")
        self.send(20, expect_backend="v1")
        self.wait_requests("1", "2xx", v1_before + 20)

        self.mesh.put_cluster([self.mesh.backends[1]], "2", INSTANT_UNJUDGED)
        wait_until(lambda: http_get(self.mesh.frontend.port, "/")[1].get("x-backend-version") == "v2", 10,
                   what="v2 serving")
        time.sleep(0.3)  # the reports of the requests that probed the switch are in
        v1_after_switch = self.requests("1", "2xx")
        v2_before = self.requests("2", "2xx")
        self.send(20, expect_backend="v2")
        self.wait_requests("2", "2xx", v2_before + 20)
        self.assertEqual(self.requests("1", "2xx"), v1_after_switch)

        # The backend answers 500 when the request asks for it: code="5xx", nothing under 502/504.
        self.send(5, target="/?status=500", expect_status=500)
        self.wait_requests("2", "5xx", 5)
        self.assertEqual(self.requests("2", "502") + self.requests("2", "504"), 0)

        page = self.metrics_text()
        samples = parse_page(page)
        uuid2 = self.mesh.uuid_of_version(2)
        # Durations are of the answers that are not failures: the 2xx, not the 5xx.
        self.assertEqual(samples[("upmesh_request_duration_seconds_count",
                                  (("uuid", uuid2), ("version", "2")))], v2_before + 20)
        states = {dict(labels)["state"]: value for (name, labels), value in samples.items()
                  if name == "upmesh_version_health" and dict(labels)["uuid"] == uuid2}
        self.assertEqual(sum(states.values()), 1, states)
        self.assertEqual(states["rolledBack"], 0, states)
        self.assertEqual(samples[("upmesh_traffic_share", (("kind", "set"), ("uuid", uuid2), ("version", "2")))], 100)
        self.assertEqual(samples[("upmesh_workers", ())], 1)
        self.assertEqual(samples[("upmesh_versions", ())], 2)
        self.check_with_promtool(page)

    def check_with_promtool(self, page):
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool not found: bash scripts/install-deps.sh --test installs prometheus")
        result = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout + result.stderr, "", "promtool's lint has remarks")

    def test_the_api_token_guards_metrics(self):
        token_file = self.write_file("token", TOKEN + "\n")
        never_started = types.SimpleNamespace(port=free_port())
        self.mesh.router = self.mesh.start_router(servers=[never_started], version="1",
                                                  extra=["--token-file", token_file])
        self.assertEqual(self.mesh.api("GET", "/metrics").status, 401)
        self.assertEqual(self.mesh.api("GET", "/metrics", headers=[("Authorization", "Bearer wrong")]).status, 401)
        page = self.metrics_text(headers=[("Authorization", "Bearer " + TOKEN)])
        self.assertIn('upmesh_version_health{version="1",', page)

    def test_a_prometheus_server_scrapes_the_router(self):
        prometheus = shutil.which("prometheus")
        if not prometheus:
            self.fail("prometheus not found: bash scripts/install-deps.sh --test installs it")
        self.mesh.start_versions(names=("v1", "v2"), initial=("v1",), initial_version="1")
        self.send(10, expect_backend="v1")
        self.mesh.put_cluster([self.mesh.backends[1]], "2", INSTANT_UNJUDGED)
        wait_until(lambda: http_get(self.mesh.frontend.port, "/")[1].get("x-backend-version") == "v2", 10,
                   what="v2 serving")
        self.send(10, expect_backend="v2")

        web_port = free_port()
        config = os.path.join(self._log_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: upmesh\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.mesh.router.config_port)
        server = mesh.Process("prometheus", [prometheus, "--config.file", config,
                                             "--storage.tsdb.path", os.path.join(self._log_dir, "tsdb"),
                                             "--web.listen-address", "127.0.0.1:%d" % web_port],
                              self._log_dir)
        self.mesh.processes.append(server)  # stopped by PID with the mesh
        query = urllib.parse.quote("sum by (version) (upmesh_requests_total)")

        def per_version():
            try:
                status, _, body = http_get(web_port, "/api/v1/query?query=" + query, timeout=2)
            except OSError:
                return None
            if status != 200:
                return None
            result = json.loads(body)["data"]["result"]
            values = {entry["metric"]["version"]: float(entry["value"][1]) for entry in result}
            return values if values.get("1", 0) >= 10 and values.get("2", 0) >= 10 else None

        values = wait_until(per_version, 60, interval=0.5, what="Prometheus has per-version request counts")
        self.assertGreaterEqual(values["2"], 10)

        def query(expr):
            status, _, body = http_get(web_port, "/api/v1/query?query=" + urllib.parse.quote(expr), timeout=5)
            answer = json.loads(body)
            self.assertEqual((status, answer["status"]), (200, "success"), (expr, answer))
            return answer["data"]["result"]

        # A rate needs the counter to grow between two scrapes: more requests, now that it scrapes.
        self.send(10, expect_backend="v2")

        def v2_rate():
            rates = query("sum by (version) (rate(upmesh_requests_total[1m]))")
            return {entry["metric"]["version"]: float(entry["value"][1]) for entry in rates}.get("2", 0) > 0

        wait_until(v2_rate, 30, interval=0.5, what="Prometheus has a per-version rate for v2")
        self.check_dashboard_queries(query)
        server.stop()
        self.assertFalse(server.alive())

    def check_dashboard_queries(self, query):
        """Every query of the Grafana dashboard is one Prometheus accepts, and
        the new version's volume and latency panels have data."""
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
        exprs += [annotation["expr"] for annotation in dashboard["annotations"]["list"]]
        self.assertGreater(len(exprs), 10)
        results = {}
        for expr in exprs:
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            self.assertNotIn("$", expr, "a Grafana variable the test does not know")
            results[expr] = query(expr)
        new_volume = 'sum by (code) (rate(upmesh_requests_total{version="2"}[1m]))'
        self.assertIn(new_volume, results)
        self.assertTrue(any(entry["metric"].get("code") == "2xx" and float(entry["value"][1]) > 0
                            for entry in results[new_volume]), results[new_volume])
        p99 = [expr for expr in results if expr.startswith("histogram_quantile(0.99") and 'version="2"' in expr]
        self.assertEqual(len(p99), 1)
        self.assertGreater(float(results[p99[0]][0]["value"][1]), 0)


if __name__ == "__main__":
    mesh.main()
