"""Test harness for the upmesh integration tests (Python 3 standard library only).

Every test file is run by CTest as

    python3 tests/integration/test_X.py --bin-dir BUILD/bin [unittest args]

and ends with `mesh.main()`, which takes --bin-dir off the command line and
hands the rest to unittest.

What lives here:
  * free_port()            a loopback port in 20000..32000 nobody is bound to (and
                           that this process has not handed out before).
  * Process                one started executable: its stderr/stdout go to a log
                           file; stopped by PID (SIGTERM, then SIGKILL).
  * Mesh                   starts backends, a router, frontends and workers on
                           fresh loopback ports and waits until they are ready.
  * RawClient              an HTTP/1.1 client on a plain socket that can send any
                           bytes (also slowly) and reads responses properly
                           (Content-Length, chunked, until-close, HEAD, 1xx),
                           so keep-alive and pipelining can be tested; also
                           over TLS (start_tls).
  * MeshTestCase           a unittest.TestCase that gives each test a Mesh,
                           stops it afterwards and prints every process log
                           when the test failed.
  * Versions helpers       Mesh.api()/put_cluster()/delete_cluster()/clusters()
                           talk to the router's config API; cluster_body()
                           builds a PUT body; CookieClient keeps a cookie jar
                           like a browser; parse_set_cookie() splits a
                           Set-Cookie value into name, value and attributes;
                           burst() spreads concurrent GETs over the workers;
                           GetLoad keeps a steady load of keep-alive clients
                           running in threads and records every answer.

Nothing here sleeps blindly where a readiness check exists: helpers poll a
condition (a port accepting, the mesh answering 200) with a deadline.
"""

import argparse
import atexit
import ctypes
import hashlib
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN_DIR = os.environ.get("UPMESH_BIN_DIR", "")

# Every process started by this test run, so that atexit can stop stragglers.
_ALL_PROCESSES = []
_PORTS_HANDED_OUT = set()
_PORT_LOCK = threading.Lock()


# --------------------------------------------------------------------------
# Ports and waiting


# Below 32768: Linux hands out ephemeral (outgoing) ports from 32768 up, so a
# port up there may be taken by a client connection between check and use.
_PORT_RANGE = (20000, 32000)
_RANDOM = random.Random()  # seeded from the OS: parallel test runs pick different ports


def free_port():
    """A loopback TCP port in 20000..32000 that is free right now (a bind succeeds)
    and that this process has not handed out before."""
    with _PORT_LOCK:
        for _ in range(1000):
            port = _RANDOM.randint(*_PORT_RANGE)
            if port in _PORTS_HANDED_OUT:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _PORTS_HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free loopback port found in %d..%d" % _PORT_RANGE)


def port_accepting(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition, timeout, interval=0.02, what="condition"):
    """Polls condition() until it returns a truthy value; returns it, or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# Processes


def _die_with_parent():
    """Runs in the child before exec: SIGKILL it if the test process dies (PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


class ProcessExited(AssertionError):
    """A process we were waiting for exited instead of becoming ready."""


class Process:
    """One started executable. Its stdout and stderr go to `log_path`."""

    def __init__(self, label, argv, log_dir, env=None, cwd=None):
        self.label = label
        self.argv = argv
        self.log_path = os.path.join(log_dir, "%s.%d.log" % (label, len(os.listdir(log_dir))))
        self._log_file = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                      stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, env=env, cwd=cwd)
        self.pid = self.popen.pid
        _ALL_PROCESSES.append(self)

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def signal(self, signum):
        if self.alive():
            os.kill(self.pid, signum)

    def wait_log(self, text, timeout=10.0):
        """Waits until `text` appears in the process's log; returns the log."""
        return wait_until(lambda: self.log_text() if text in self.log_text() else None, timeout,
                          interval=0.05, what="%r in the log of %s" % (text, self.label))

    def wait_exit(self, timeout):
        """Waits for the process to exit; returns its exit code, or None on timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.signal(signal.SIGKILL)
                self.popen.wait()
        self._log_file.close()
        return self.popen.returncode

    def kill(self):
        """SIGKILL now; returns the exit code (negative signal number)."""
        if self.alive():
            self.signal(signal.SIGKILL)
        self.popen.wait()
        self._log_file.close()
        return self.popen.returncode

    def log_text(self, max_lines=None):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return "(cannot read log: %s)" % e
        if max_lines is not None:
            lines = text.splitlines()
            if len(lines) > max_lines:
                text = "... (%d earlier lines)\n" % (len(lines) - max_lines) + "\n".join(lines[-max_lines:])
        return text

    def describe(self):
        state = "running" if self.alive() else "exit code %s" % self.returncode
        return "%s (pid %d, %s): %s" % (self.label, self.pid, state, " ".join(self.argv))

    def wait_port(self, port, timeout=10.0):
        """Waits until `port` accepts connections; fails early if the process exits."""
        def ready():
            if not self.alive():
                raise ProcessExited("%s exited with code %s before listening on port %d:\n%s"
                                    % (self.label, self.returncode, port, self.log_text(50)))
            return port_accepting(port)
        wait_until(ready, timeout, what="%s to accept on port %d" % (self.label, port))


@atexit.register
def _stop_stragglers():
    for process in _ALL_PROCESSES:
        if process.alive():
            process.signal(signal.SIGKILL)
            process.popen.wait()


def binary(name):
    if not BIN_DIR:
        raise RuntimeError("--bin-dir not given")
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("%s does not exist or is not executable (build it first)" % path)
    return path


def run_binary(name, args, timeout=10.0):
    """Runs an executable to completion; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([binary(name)] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, text=True, errors="replace")


# --------------------------------------------------------------------------
# The mesh


def zmq_endpoint(port):
    return "tcp://127.0.0.1:%d" % port


class Mesh:
    """A set of upmesh processes on loopback, started on demand.

    Typical use:  mesh.start_standard(backends=1, workers=1); mesh.get("/")
    Attributes after start_standard: backends (list), router, frontend, workers.
    """

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.processes = []
        self.backends = []
        self.workers = []
        self.router = None
        self.frontend = None
        self.frontends = []  # every frontend started, self.frontend among them

    # --- single processes -------------------------------------------------

    def _start(self, label, name, args, env=None, cwd=None):
        process = Process(label, [binary(name)] + [str(a) for a in args], self.log_dir, env=env, cwd=cwd)
        self.processes.append(process)
        return process

    def start_backend(self, name="v1", port=None, extra=()):
        port = port or free_port()
        process = self._start("backend-%s-%d" % (name, port), "upmesh-backend",
                              ["--address", "127.0.0.1", "--port", port, "--name", name] + list(extra))
        process.port = port
        process.version = name
        process.wait_port(port)
        return process

    def start_router(self, frontend_port=None, worker_port=None, publish_port=None, config_port=None,
                     servers=None, version=None, state_file=None, extra=()):
        """The router, owning the cluster table. `servers` (default: every backend started so far)
        form the initial cluster when the state file does not exist yet; the state file (default
        one per Mesh) is what a restarted router reloads."""
        frontend_port = frontend_port or free_port()
        worker_port = worker_port or free_port()
        publish_port = publish_port or free_port()
        config_port = config_port or free_port()
        state_file = state_file or os.path.join(self.log_dir, "router-state.json")
        servers = self.backends if servers is None else servers
        args = ["--frontend-bind", zmq_endpoint(frontend_port),
                "--worker-bind", zmq_endpoint(worker_port),
                "--publish-bind", zmq_endpoint(publish_port),
                "--config-address", "127.0.0.1", "--config-port", config_port,
                "--state-file", state_file]
        for backend in servers:
            args += ["--server", "127.0.0.1:%d" % backend.port]
        if version is not None:
            args += ["--cluster-version", version]
        process = self._start("router", "upmesh-router", args + list(extra))
        process.frontend_port = frontend_port
        process.worker_port = worker_port
        process.publish_port = publish_port
        process.config_port = config_port
        process.state_file = state_file
        process.wait_port(frontend_port)
        process.wait_port(worker_port)
        process.wait_port(config_port)
        return process

    def start_frontend(self, router=None, port=None, extra=(), wait=True, worker_port=None):
        """A frontend; workers connect to its worker port (found through the router)."""
        router = router or self.router
        port = port or free_port()
        worker_port = worker_port or free_port()
        process = self._start("frontend-%d" % port, "upmesh-frontend",
                              ["--address", "127.0.0.1", "--port", port,
                               "--worker-bind", zmq_endpoint(worker_port),
                               "--router", zmq_endpoint(router.frontend_port),
                               "--config-endpoint", zmq_endpoint(router.publish_port)] + list(extra))
        process.port = port
        process.worker_port = worker_port
        self.frontends.append(process)
        if wait:
            process.wait_port(port)
        return process

    def start_worker(self, name, router=None, extra=()):
        """A worker; it learns the cluster table from the router (snapshot + broadcast)."""
        router = router or self.router
        args = ["--router", zmq_endpoint(router.worker_port),
                "--config-endpoint", zmq_endpoint(router.publish_port), "--name", name]
        process = self._start("worker-%s" % name, "upmesh-worker", args + list(extra))
        process.worker_name = name
        self.workers.append(process)
        return process

    def start_standard(self, backends=1, workers=1, frontend_args=(), worker_args=(), router_args=()):
        """backend(s) v1.., one router, one frontend, worker(s) w1..; waits until every worker
        has joined the router and GET / is 200."""
        for i in range(backends):
            self.backends.append(self.start_backend(name="v%d" % (i + 1)))
        self.router = self.start_router(extra=router_args)
        self.frontend = self.start_frontend(extra=frontend_args)
        for i in range(workers):
            self.start_worker("w%d" % (i + 1), extra=worker_args)
        self.wait_workers_joined()
        self.wait_serving()
        return self

    # --- readiness ----------------------------------------------------------

    def wait_serving(self, timeout=10.0, frontend=None, path="/"):
        """Waits until the mesh answers GET `path` with 200. Returns seconds waited."""
        frontend = frontend or self.frontend
        start = time.monotonic()
        last = ["no answer yet"]

        def serving():
            for process in self.processes:
                if process in (frontend, self.router) and not process.alive():
                    raise ProcessExited("%s exited with code %s:\n%s"
                                        % (process.label, process.returncode, process.log_text(50)))
            try:
                status, _, _ = http_get(frontend.port, path, timeout=2.0)
                last[0] = "status %d" % status
                return status == 200
            except OSError as e:
                last[0] = repr(e)
                return False
        try:
            wait_until(serving, timeout, interval=0.05, what="the mesh to answer GET %s with 200" % path)
        except TimeoutError as e:
            raise TimeoutError("%s (last: %s)" % (e, last[0]))
        return time.monotonic() - start

    def wait_workers_joined(self, names=None, timeout=15.0, frontends=None, since=None):
        """Waits until the router and every live frontend (or `frontends`) have logged "worker
        NAME joined" for every name (default: every live worker of this Mesh), i.e. each
        frontend dispatches to all of them. One worker answering GET / says nothing about the
        others, which may still be connecting. `since`: {process: log length} to look after."""
        if names is None:
            names = [w.worker_name for w in self.workers if w.alive()]
        router = self.router
        if frontends is None:
            frontends = [f for f in self.frontends if f.alive()]
        since = since or {}

        def missing():
            if not router.alive():
                raise ProcessExited("%s exited with code %s:\n%s"
                                    % (router.label, router.returncode, router.log_text(50)))
            absent = []
            for process in [router] + list(frontends):
                log = process.log_text()[since.get(process, 0):]
                absent += ["%s@%s" % (n, process.label) for n in names if " worker %s joined (" % n not in log]
            return absent
        try:
            wait_until(lambda: not missing(), timeout, interval=0.05, what="workers %s to join" % sorted(names))
        except TimeoutError as e:
            raise TimeoutError("%s (not joined: %s)" % (e, missing()))

    def wait_workers_seen(self, names, timeout=10.0):
        """Waits until every worker in `names` has answered a request (X-Upmesh-Worker).

        Sends small bursts of concurrent slow requests so that a least-outstanding
        balancer must spread them over all attached workers."""
        seen = set()
        deadline = time.monotonic() + timeout
        while not set(names) <= seen:
            if time.monotonic() > deadline:
                raise TimeoutError("workers seen: %s, wanted %s" % (sorted(seen), sorted(names)))
            results = parallel(lambda i: http_get(self.frontend.port, "/?delay=100&probe=%d" % i, timeout=5),
                               range(2 * len(names)))
            for status, headers, _ in results:
                if status == 200:
                    seen.add(headers.get("x-upmesh-worker"))
        return seen


    # --- cluster versions (the router's config API) -------------------------

    def start_versions(self, names=("v1", "v2"), workers=1, initial=("v1",), initial_version=None,
                       backend_extra=None, worker_args=(), router_args=()):
        """Backends called `names` (X-Backend-Version tells who answered), a router whose initial
        cluster is the backends named in `initial` (none: no cluster until a PUT), a frontend and
        workers w1..; waits until every worker serves (only when there is an initial cluster).
        backend_extra: {name: [extra flags]}, e.g. {"v2": ["--status", "500"]}.
        Returns {name: backend process}."""
        backend_extra = backend_extra or {}
        by_name = {}
        for name in names:
            by_name[name] = self.start_backend(name=name, extra=backend_extra.get(name, ()))
            self.backends.append(by_name[name])
        self.router = self.start_router(servers=[by_name[n] for n in initial], version=initial_version,
                                        extra=router_args)
        self.frontend = self.start_frontend()
        for i in range(workers):
            self.start_worker("w%d" % (i + 1), extra=worker_args)
        self.wait_workers_joined()
        if initial:
            self.wait_serving()
            if workers > 1:
                self.wait_workers_seen({"w%d" % (i + 1) for i in range(workers)})
        return by_name

    def api(self, method, path, body=None, headers=None, timeout=10.0):
        """One request to the router's config API; returns an HttpResponse."""
        return api_request(self.router.config_port, method, path, body, headers, timeout)

    def put_cluster(self, servers, version, transition=None, uuid=None):
        """PUT /configuration/cluster; returns the new cluster's uuid (fails unless 202)."""
        response = self.api("PUT", "/configuration/cluster", cluster_body(servers, version, transition, uuid))
        if response.status != 202:
            raise AssertionError("PUT /configuration/cluster gave %d: %r" % (response.status, response.body))
        return response.body.decode().strip()

    def delete_cluster(self, uuid):
        """DELETE /configuration/cluster/{uuid}; fails unless 202."""
        response = self.api("DELETE", "/configuration/cluster/%s" % uuid)
        if response.status != 202:
            raise AssertionError("DELETE of cluster %s gave %d: %r" % (uuid, response.status, response.body))

    def clusters(self):
        """GET /configuration/cluster: the list, newest first, each {"cluster": ..., "state": ...}."""
        response = self.api("GET", "/configuration/cluster")
        if response.status != 200:
            raise AssertionError("GET /configuration/cluster gave %d: %r" % (response.status, response.body))
        return response.json()

    def cluster_state(self, uuid):
        """The "state" object of one cluster (GET /configuration/cluster/{uuid})."""
        response = self.api("GET", "/configuration/cluster/%s" % uuid)
        if response.status != 200:
            raise AssertionError("GET of cluster %s gave %d: %r" % (uuid, response.status, response.body))
        return response.json()["state"]

    def uuid_of_version(self, version):
        """The uuid of the (first listed) cluster whose version is `version`."""
        for entry in self.clusters():
            if str(entry["cluster"]["version"]) == str(version):
                return entry["cluster"]["uuid"]
        raise AssertionError("no cluster with version %r in %r" % (version, self.clusters()))

    def restart_router(self, servers=(), stop=True):
        """Stops the router (SIGTERM, or SIGKILL when stop is False) and starts a new one on the
        same ports with the same state file; waits until every live worker has joined it again
        and the mesh serves."""
        old = self.router
        if stop:
            old.stop()
        else:
            old.kill()
        self.router = self.start_router(frontend_port=old.frontend_port, worker_port=old.worker_port,
                                        publish_port=old.publish_port, config_port=old.config_port,
                                        servers=list(servers), state_file=old.state_file)
        self.wait_workers_joined()
        self.wait_serving(timeout=15)
        return self.router

    def stop_all(self):
        for process in reversed(self.processes):
            process.stop()

    def dump_logs(self, max_lines=200):
        parts = []
        for process in self.processes:
            parts.append("----- %s -----\n%s" % (process.describe(), process.log_text(max_lines)))
        return "\n".join(parts)


# --------------------------------------------------------------------------
# HTTP clients


def parallel(function, items, threads=None):
    """Runs function(item) for every item in its own thread; returns results in order.

    An exception in a call becomes that item's result."""
    items = list(items)
    results = [None] * len(items)

    def run(index, item):
        try:
            results[index] = function(item)
        except Exception as e:  # noqa: BLE001 - the caller inspects it
            results[index] = e
    workers = [threading.Thread(target=run, args=(i, item), daemon=True) for i, item in enumerate(items)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return results


def http_get(port, target, timeout=10.0, headers=None):
    """One GET with http.client on a fresh connection: (status, headers-dict lower-case, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def backend_stats(backend):
    """The backend's own counters: {"requests": N, "connections": M}."""
    status, _, body = http_get(backend.port, "/__stats", timeout=5)
    if status != 200:
        raise AssertionError("GET /__stats on the backend gave %d" % status)
    return json.loads(body)


def wait_backend_requests(backend, at_least, timeout=5.0):
    """Waits until the backend has received `at_least` requests in all
    (it counts a request when it arrives, before any ?delay)."""
    wait_until(lambda: backend_stats(backend)["requests"] >= at_least, timeout, interval=0.01,
               what="backend %s to receive %d requests" % (backend.label, at_least))


def api_request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request to a config API on `port` (fresh connection); returns an HttpResponse.
    body: dict/list (sent as JSON), str or bytes (sent as they are), or None."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    with RawClient(port, timeout=timeout) as client:
        return client.request(method, path, headers=headers, body=body)


def cluster_body(servers, version, transition=None, uuid=None):
    """The PUT /configuration/cluster body for backends (processes with .port, or ports)."""
    cluster = {"servers": [{"ip": "127.0.0.1", "port": getattr(s, "port", s)} for s in servers],
               "version": version}
    if transition is not None:
        cluster["upgradeTransition"] = transition
    if uuid is not None:
        cluster["uuid"] = uuid
    return {"cluster": cluster}


def parse_set_cookie(value):
    """'a=b; Max-Age=5; Path=/; HttpOnly' -> ("a", "b", {"max-age": "5", "path": "/", "httponly": True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, cookie_value = parts[0].partition("=")
    attributes = {}
    for part in parts[1:]:
        if not part:
            continue
        key, sep, attribute_value = part.partition("=")
        attributes[key.strip().lower()] = attribute_value.strip() if sep else True
    return name.strip(), cookie_value.strip(), attributes


class CookieClient:
    """An HTTP client with a cookie jar, as a browser would be: sends the cookies it holds,
    stores what Set-Cookie gives it (Max-Age=0 removes), on one keep-alive connection
    (reopened when the server closes it). `jar` may be set directly to forge cookies."""

    def __init__(self, port, cookies=None, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.jar = dict(cookies or {})
        self._client = None

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method="GET", target="/", body=None, headers=None):
        headers = list(headers or [])
        if self.jar:
            headers.append(("Cookie", "; ".join("%s=%s" % item for item in self.jar.items())))
        for attempt in (0, 1):
            reused = self._client is not None
            if self._client is None:
                self._client = RawClient(self.port, timeout=self.timeout)
            try:
                response = self._client.request(method, target, headers=headers, body=body)
                break
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt == 1:  # only a stale keep-alive connection is retried
                    raise
        if (response.header("connection") or "").lower() == "close":
            self.close()
        for value in response.headers_named("set-cookie"):
            name, cookie_value, attributes = parse_set_cookie(value)
            if attributes.get("max-age") == "0":
                self.jar.pop(name, None)
            else:
                self.jar[name] = cookie_value
        return response

    def get(self, target="/", headers=None):
        return self.request("GET", target, headers=headers)


def burst(port, count, connections=8, target="/", headers=None, timeout=10.0):
    """`count` GETs of `target` over `connections` concurrent keep-alive connections (so that
    the router spreads them over the workers). Returns the HttpResponses in the order the
    requests were numbered; a request that failed has the exception instead. A "{i}" in
    target is replaced by the request's number."""
    results = [None] * count
    next_index = [0]
    lock = threading.Lock()

    def run():
        client = None
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count:
                break
            try:
                if client is None:
                    client = RawClient(port, timeout=timeout)
                response = client.request("GET", target.replace("{i}", str(index)), headers=headers)
                results[index] = response
                if (response.header("connection") or "").lower() == "close":
                    client.close()
                    client = None
            except Exception as e:  # noqa: BLE001 - the caller inspects it
                results[index] = e
                if client is not None:
                    client.close()
                client = None
        if client is not None:
            client.close()
    threads = [threading.Thread(target=run, daemon=True) for _ in range(min(connections, count))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


class GetLoad:
    """`connections` keep-alive clients, each in its own thread, sending requests
    (GET by default) to the mesh until stop() or `max_seconds`, whichever comes
    first. Records every answer as (monotonic time, status, X-Backend-Version);
    a request that got no answer is recorded with status 0. Use as a context
    manager: the load stops on exit."""

    def __init__(self, port, connections=4, target="/", max_seconds=60.0, pause=0.0, method="GET"):
        self.port = port
        self.target = target
        self.method = method
        self.pause = pause
        self.deadline = time.monotonic() + max_seconds
        self.answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(connections)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, index):
        client = None
        sent = 0
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            sent += 1
            try:
                if client is None:
                    client = RawClient(self.port, timeout=30)
                separator = "&" if "?" in self.target else "?"
                response = client.request(self.method, "%s%sload=%d-%d" % (self.target, separator, index, sent))
                answer = (time.monotonic(), response.status, response.header("x-backend-version"))
                if (response.header("connection") or "").lower() == "close":
                    client.close()
                    client = None
            except (OSError, ConnectionClosed):
                answer = (time.monotonic(), 0, None)
                if client is not None:
                    client.close()
                client = None
            with self._lock:
                self.answers.append(answer)
            if self.pause:
                time.sleep(self.pause)
        if client is not None:
            client.close()

    def snapshot(self):
        with self._lock:
            return list(self.answers)

    def count(self):
        with self._lock:
            return len(self.answers)

    def failures(self, since=0.0):
        """Answers with status 0 or >= 500, at or after monotonic time `since`."""
        return [a for a in self.snapshot() if a[0] >= since and (a[1] == 0 or a[1] >= 500)]

    def wait_count(self, at_least, timeout=30.0):
        wait_until(lambda: self.count() >= at_least, timeout, interval=0.02,
                   what="%d answers under load" % at_least)


def describe_answers(responses):
    """{(status, X-Backend-Version, X-Upmesh-Worker): count} for a list from burst(), for asserts."""
    summary = {}
    for r in responses:
        key = repr(r) if isinstance(r, Exception) else (r.status, r.header("x-backend-version"),
                                                         r.header("x-upmesh-worker"))
        summary[key] = summary.get(key, 0) + 1
    return summary


def size_pattern(n):
    """The backend's ?size=N body: byte i is 'a' + i % 26."""
    alphabet = bytes(range(ord("a"), ord("a") + 26))
    return (alphabet * (n // 26 + 1))[:n]


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def chunked_encode(body, chunk_sizes):
    """Chunked transfer coding of body, cutting chunks of the given sizes in turn."""
    out = bytearray()
    pos = 0
    i = 0
    while pos < len(body):
        size = chunk_sizes[i % len(chunk_sizes)]
        piece = body[pos:pos + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
        pos += len(piece)
        i += 1
    out += b"0\r\n\r\n"
    return bytes(out)


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete response arrived."""


class HttpResponse:
    def __init__(self, version, status, reason, headers, body, head_bytes):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.head_bytes = head_bytes

    def header(self, name):
        """The value of the first header called name (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def headers_named(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return "<HttpResponse %s %d %s headers=%r body=%r>" % (self.version, self.status, self.reason,
                                                              self.headers, body)


class RawClient:
    """An HTTP/1.1 client on a plain TCP socket.

    send()/send_slowly() write arbitrary bytes; read_response() reads exactly
    one response (skipping 1xx) and leaves any following bytes buffered, so
    several pipelined responses can be read in turn.
    """

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def start_tls(self, context, server_hostname="localhost"):
        """From now on the connection speaks TLS (an ssl.SSLContext); the handshake happens here.
        A TCP close without TLS close_notify raises ssl.SSLEOFError instead of reading as EOF."""
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname, suppress_ragged_eofs=False)

    # --- writing ------------------------------------------------------------

    def send(self, data):
        self.sock.sendall(data)

    def send_slowly(self, data, piece=1, pause=0.003):
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i:i + piece])
            time.sleep(pause)

    @staticmethod
    def build_request(method, target, headers=None, body=None, host="127.0.0.1", version="HTTP/1.1"):
        """Bytes of a request. headers: list of (name, value); Host is added unless host is None,
        Content-Length is added for a body unless the headers set framing themselves."""
        lines = ["%s %s %s" % (method, target, version)]
        headers = list(headers or [])
        names = {name.lower() for name, _ in headers}
        if host is not None and "host" not in names:
            lines.append("Host: %s" % host)
        for name, value in headers:
            lines.append("%s: %s" % (name, value))
        if body is not None and "content-length" not in names and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    def request(self, method, target, headers=None, body=None, **kwargs):
        """Sends one request and reads its response."""
        self.send(self.build_request(method, target, headers, body, **kwargs))
        return self.read_response(method)

    # --- reading ------------------------------------------------------------

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionClosed("connection closed by peer; unparsed bytes: %r" % self.buffer[:200])
        self.buffer += data

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 1 << 20:
                raise AssertionError("no CRLF in 1 MiB of response head")
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_until_close(self):
        try:
            while True:
                self._fill()
        except ConnectionClosed:
            pass
        data, self.buffer = self.buffer, b""
        return data

    def _read_head(self):
        status_line = self._read_line()
        head = status_line + b"\r\n"
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise AssertionError("bad status line %r (buffer %r)" % (status_line, self.buffer[:200]))
        headers = []
        while True:
            line = self._read_line()
            head += line + b"\r\n"
            if not line:
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise AssertionError("bad response header line %r" % line)
            headers.append((name, value.strip()))
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, head

    def _read_chunked(self):
        body = bytearray()
        while True:
            size_line = self._read_line().split(b";")[0].strip()
            size = int(size_line, 16)
            if size == 0:
                while self._read_line():  # trailer section
                    pass
                return bytes(body)
            body += self._read_exact(size)
            if self._read_exact(2) != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")

    def read_response(self, method="GET"):
        """Reads one final response (1xx responses are skipped)."""
        while True:
            version, status, reason, headers, head = self._read_head()
            if 100 <= status < 200:
                continue
            response = HttpResponse(version, status, reason, headers, b"", head)
            break
        transfer_encoding = response.header("transfer-encoding")
        content_length = response.header("content-length")
        if method == "HEAD" or status in (204, 304):
            response.body = b""
        elif transfer_encoding and transfer_encoding.lower().split(",")[-1].strip() == "chunked":
            response.body = self._read_chunked()
        elif content_length is not None:
            response.body = self._read_exact(int(content_length))
        else:
            response.body = self._read_until_close()
        return response

    def pending_bytes(self, wait=0.2):
        """Bytes that arrive within `wait` seconds beyond what was parsed (b"" if none)."""
        ready, _, _ = select.select([self.sock], [], [], wait)
        if ready:
            try:
                self.buffer += self.sock.recv(1 << 16)
            except OSError:
                pass
        data, self.buffer = self.buffer, b""
        return data

    def wait_closed(self, timeout=2.0):
        """True if the peer closes (EOF or reset) within `timeout` without sending more bytes.

        Returns False on timeout; raises AssertionError if unexpected bytes arrive."""
        if self.buffer:
            raise AssertionError("unexpected bytes after the response: %r" % self.buffer[:200])
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                return False
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionResetError:
                return True
            if not data:
                return True
            raise AssertionError("unexpected bytes instead of a close: %r" % data[:200])


# --------------------------------------------------------------------------
# unittest integration


class MeshTestCase(unittest.TestCase):
    """Gives each test self.mesh (a Mesh, stopped in tearDown) and prints the
    logs of every process involved when a test fails.

    Classes that share one mesh across their tests set it up in setUpClass with
    cls.start_class_mesh(...) and reach it as self.class_mesh."""

    class_mesh = None
    _class_log_dir = None

    @classmethod
    def start_class_mesh(cls, **kwargs):
        cls._class_log_dir = tempfile.mkdtemp(prefix="upmesh-itest-%s-" % cls.__name__)
        cls.class_mesh = Mesh(cls._class_log_dir)
        try:
            cls.class_mesh.start_standard(**kwargs)
        except BaseException:
            sys.stderr.write("\nmesh for %s did not start; logs:\n%s\n"
                             % (cls.__name__, cls.class_mesh.dump_logs()))
            cls.class_mesh.stop_all()
            raise
        return cls.class_mesh

    @classmethod
    def tearDownClass(cls):
        if cls.class_mesh is not None:
            cls.class_mesh.stop_all()
            shutil.rmtree(cls._class_log_dir, ignore_errors=True)
            cls.class_mesh = None

    def setUp(self):
        self._log_dir = tempfile.mkdtemp(prefix="upmesh-itest-")
        self.mesh = Mesh(self._log_dir)

    def tearDown(self):
        self.mesh.stop_all()

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        problems_before = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
        outcome = super().run(result)
        problems_after = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
        mesh = getattr(self, "mesh", None)
        has_logs = (mesh is not None and mesh.processes) or self.class_mesh is not None
        if problems_after > problems_before and has_logs:
            sys.stderr.write("\n===== %s FAILED; process logs follow =====\n" % self.id())
            if mesh is not None and mesh.processes:
                sys.stderr.write(mesh.dump_logs() + "\n")
            if self.class_mesh is not None:
                sys.stderr.write("----- shared mesh of the class -----\n" + self.class_mesh.dump_logs() + "\n")
            sys.stderr.write("===== end of logs for %s =====\n" % self.id())
        if getattr(self, "_log_dir", None):
            shutil.rmtree(self._log_dir, ignore_errors=True)
        return outcome

    # --- assertions used by several files -----------------------------------

    def assertClosed(self, client, timeout=2.0, what="connection"):
        self.assertTrue(client.wait_closed(timeout), "%s was not closed within %.1f s" % (what, timeout))

    def write_file(self, name, text, mode=0o600):
        """A file in the test's directory with `mode`; returns its path."""
        path = os.path.join(self._log_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def assertRouterRefuses(self, args, must_mention):
        """The router started with `args` exits 2 at once with one line on stderr holding
        `must_mention` (a string, or a list of strings), and writes no state file."""
        state = os.path.join(self._log_dir, "state-refused.json")
        argv = [binary("upmesh-router"), "--frontend-bind", zmq_endpoint(free_port()),
                "--worker-bind", zmq_endpoint(free_port()), "--publish-bind", zmq_endpoint(free_port()),
                "--config-port", str(free_port()), "--state-file", state] + list(args)
        env = {k: v for k, v in os.environ.items() if k != "UPMESH_API_TOKEN"}
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, env=env)
        self.assertEqual(result.returncode, 2, result)
        for text in [must_mention] if isinstance(must_mention, str) else must_mention:
            self.assertIn(text, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertFalse(os.path.exists(state), "it started: the state file was written")


def main():
    global BIN_DIR
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bin-dir", default=BIN_DIR)
    args, rest = parser.parse_known_args()
    if not args.bin_dir:
        sys.exit("usage: %s --bin-dir BUILD/bin [unittest options]" % sys.argv[0])
    BIN_DIR = os.path.abspath(args.bin_dir)
    unittest.main(module="__main__", argv=[sys.argv[0]] + rest, verbosity=2)
