"""What frontend stamping costs: the config API's change latency (PUT
answered, median of --changes) with 1 and 2 frontends, and the frontend's CPU
per request (utime + stime from /proc/PID/stat over --requests sequential
keep-alive GETs), with an INSTANT newest version and with a GRADUAL request
ramp running.

    python3 bench/stamp_cost.py --bin-dir BUILD/bin [--changes 20] [--requests 5000]

Works with frontends that stamp (they get --config-endpoint) and with older
ones that do not (detected from --help). One JSON line per setting on stdout.
Uses tests/integration/mesh.py to start real processes on loopback.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import mesh  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def frontend_cpu(frontend, requests):
    """(CPU µs per request, requests/s) of `requests` sequential keep-alive GETs."""
    connection = http.client.HTTPConnection("127.0.0.1", frontend.port, timeout=10)
    before = cpu_seconds(frontend.popen.pid)
    started = time.monotonic()
    for i in range(requests):
        connection.request("GET", "/cpu/%d" % i)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise AssertionError("GET gave %d" % response.status)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(frontend.popen.pid) - before
    connection.close()
    return round(cpu / requests * 1e6, 1), round(requests / elapsed)


def start_frontend(m, stamps):
    port = mesh.free_port()
    args = ["--address", "127.0.0.1", "--port", port, "--router", mesh.zmq_endpoint(m.router.frontend_port),
            "--log-level", "warn"]
    if stamps:
        args += ["--config-endpoint", mesh.zmq_endpoint(m.router.publish_port)]
    process = m._start("frontend-%d" % port, "upmesh-frontend", args)
    process.port = port
    process.wait_port(port)
    return process


def measure(frontend_count, changes, requests, stamps, log_dir):
    m = mesh.Mesh(log_dir)
    try:
        backend = m.start_backend(name="v1")
        m.backends.append(backend)
        m.router = m.start_router(extra=["--log-level", "warn"])
        frontends = [start_frontend(m, stamps) for _ in range(frontend_count)]
        m.frontend = frontends[0]
        m.start_worker("w1", extra=["--log-level", "warn"])
        for frontend in frontends:
            m.wait_serving(frontend=frontend, timeout=15)
        time.sleep(1.0)  # every frontend has its table and is live
        latencies = []
        for i in range(changes):
            started = time.monotonic()
            m.put_cluster([backend], i + 2, {"mode": "INSTANT"})
            latencies.append((time.monotonic() - started) * 1000)
        cpu_instant, rate_instant = frontend_cpu(frontends[0], requests)
        # A long request ramp (100000 positions): every request takes a leased position.
        m.put_cluster([backend], changes + 2, {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.001,
                                               "monitor": {"enabled": False}})
        cpu_gradual, rate_gradual = frontend_cpu(frontends[0], requests)
        return {"frontends": frontend_count, "stamps": stamps,
                "put_ms_median": round(statistics.median(latencies), 2),
                "put_ms_max": round(max(latencies), 2),
                "frontend_cpu_us_per_request": cpu_instant, "requests_per_s": rate_instant,
                "gradual_frontend_cpu_us_per_request": cpu_gradual, "gradual_requests_per_s": rate_gradual}
    finally:
        if sys.exc_info()[0] is not None:
            sys.stderr.write(m.dump_logs(40))
        m.stop_all()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    mesh.BIN_DIR = os.path.abspath(args.bin_dir)
    stamps = "--config-endpoint" in mesh.run_binary("upmesh-frontend", ["--help"]).stdout
    for count in (1, 2):
        with _TempDir() as log_dir:  # a fresh state file each time
            print(json.dumps(measure(count, args.changes, args.requests, stamps, log_dir)), flush=True)


class _TempDir:
    def __enter__(self):
        import tempfile
        self.path = tempfile.mkdtemp(prefix="upmesh-stamp-cost-")
        return self.path

    def __exit__(self, *exc):
        import shutil
        shutil.rmtree(self.path, ignore_errors=True)


if __name__ == "__main__":
    main()
