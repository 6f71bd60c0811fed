#!/usr/bin/env python3
"""The cost of TLS on the config API: GET /configuration/cluster against two
routers, one plain HTTP and one TLS (a CA and a certificate made with the
openssl CLI in a temporary directory), each holding the same table of
BENCH_CLUSTERS versions.

Per router: BENCH_REQUESTS (200) sequential GETs on one kept-alive connection
(http.client), then BENCH_CONNECTIONS (50) GETs each on a new connection (the
TLS handshake included). Prints the median, 90th percentile and mean latency
of each, in milliseconds. Loopback only, ports from mesh.free_port; every
process it starts is stopped by PID.

    python3 bench/api_tls.py [--bin-dir build/bin]
"""

import argparse
import http.client
import json
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import mesh  # noqa: E402
from test_api_tls import make_ca, make_server_cert  # noqa: E402

CLUSTERS = "/configuration/cluster"


def timed(requests, connect):
    """Latencies (ms) of `requests` GETs; connect() gives the connection for each (may reuse one)."""
    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        conn = connect()
        conn.request("GET", CLUSTERS)
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise AssertionError("GET answered %d" % response.status)
    return latencies


def summary(latencies):
    ordered = sorted(latencies)
    return "median %.3f ms, p90 %.3f ms, mean %.3f ms (n=%d)" % (
        statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1], statistics.mean(ordered), len(ordered))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    args = parser.parse_args()
    mesh.BIN_DIR = os.path.abspath(args.bin_dir)
    requests = int(os.environ.get("BENCH_REQUESTS", "200"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "50"))
    clusters = int(os.environ.get("BENCH_CLUSTERS", "10"))

    work = tempfile.mkdtemp(prefix="upmesh-bench-api-tls-")
    mesh_plain = mesh.Mesh(os.path.join(work, "plain"))
    mesh_tls = mesh.Mesh(os.path.join(work, "tls"))
    try:
        os.makedirs(mesh_plain.log_dir)
        os.makedirs(mesh_tls.log_dir)
        ca = make_ca(work, "ca")
        cert, key = make_server_cert(work, "ca", "server", "IP:127.0.0.1,DNS:localhost")
        never_started = [types.SimpleNamespace(port=mesh.free_port())]
        plain = mesh_plain.start_router(servers=never_started, version="1")
        tls = mesh_tls.start_router(servers=never_started, version="1", extra=["--tls-cert", cert, "--tls-key", key])
        context = ssl.create_default_context(cafile=ca)

        def new_plain():
            return http.client.HTTPConnection("127.0.0.1", plain.config_port, timeout=10)

        def new_tls():
            return http.client.HTTPSConnection("127.0.0.1", tls.config_port, timeout=10, context=context)

        for new in (new_plain, new_tls):
            for version in range(2, clusters + 1):
                conn = new()
                conn.request("PUT", CLUSTERS, json.dumps(mesh.cluster_body([mesh.free_port()], version)))
                assert conn.getresponse().status == 202
                conn.close()
        conn = new_plain()
        conn.request("GET", CLUSTERS)
        body = conn.getresponse().read()
        conn.close()
        print("GET %s: %d cluster versions, %d bytes" % (CLUSTERS, clusters, len(body)))
        for name, new in (("plain", new_plain), ("TLS", new_tls)):
            kept = new()
            timed(20, lambda: kept)  # warm-up
            print("%-5s keep-alive, %d sequential: %s" % (name, requests, summary(timed(requests, lambda: kept))))
            kept.close()
            opened = []

            def fresh():
                if opened:
                    opened[-1].close()
                opened.append(new())
                return opened[-1]

            print("%-5s new connection each, %d: %s" % (name, connections, summary(timed(connections, fresh))))
            opened[-1].close()
    finally:
        mesh_plain.stop_all()
        mesh_tls.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
