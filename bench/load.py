"""Steady load at a fixed total rate over N keep-alive connections, recording
every response. Used by bench/rollback.sh.

    python3 bench/load.py --port P [--rate 1000] [--connections 128]
                          [--duration 10] [--jitter-ms 0] [--grace 2] --out FILE

Request i is due at start + i/rate and goes out on a free connection (each
connection carries one request at a time, no pipelining, no cookies: every
request is a new client). When no connection is free the due requests wait
and go out as soon as one is (counted as "late" when over 50 ms behind).
With --jitter-ms J, each request asks the backend for delay=random 0..J ms.

Stops by itself after --duration seconds, or at once on SIGTERM/SIGINT: no
new requests, then up to --grace seconds for the answers still under way
(those still missing then are recorded as status 0, error "unanswered").

--out gets one line per request, sent order:
    sent_ms recv_ms status version worker error
(wall-clock ms since the epoch, so they compare with the backend's /__stats
and the router's timeline; version, worker "-" when absent; status 0 when
no HTTP answer came: error says why: reset, closed, unanswered, connect).
A one-line JSON summary goes to stdout. Exit status 1 when no connection
could be opened at all.
"""
import argparse
import errno
import json
import random
import selectors
import signal
import socket
import sys
import time

LATE_MS = 50.0


class Connection:
    __slots__ = ("sock", "buffer", "record", "port")

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buffer = b""
        self.record = None  # the request under way: [sent_ms, recv_ms, status, version, worker, error]

    def open(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sock = sock
        self.buffer = b""


def header(head_lower, raw_head, name):
    """The value of field `name` (lower case) in the head, or None."""
    at = head_lower.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    end = raw_head.find(b"\r\n", start)
    return raw_head[start:end if end >= 0 else len(raw_head)].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--jitter-ms", type=int, default=0)
    parser.add_argument("--grace", type=float, default=2)
    parser.add_argument("--path", default="/")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stopping = [False]

    def on_signal(_signum, _frame):
        stopping[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    selector = selectors.DefaultSelector()
    records = []
    free = []
    connections = []
    connect_failures = 0
    for _ in range(args.connections):
        conn = Connection(args.port)
        try:
            conn.open()
        except OSError as error:
            connect_failures += 1
            print("load: cannot connect to 127.0.0.1:%d: %s" % (args.port, error), file=sys.stderr)
            continue
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        connections.append(conn)
        free.append(conn)
    if not connections:
        sys.exit(1)

    separator = "&" if "?" in args.path else "?"
    interval = 1.0 / args.rate
    start = time.monotonic()
    wall_offset = time.time() * 1000.0 - start * 1000.0  # wall ms = monotonic s * 1000 + offset
    deadline = start + args.duration
    next_due = start
    sent = late = reconnects = 0
    max_behind_ms = 0.0

    def wall_ms(mono):
        return mono * 1000.0 + wall_offset

    def finish(conn, status, version, worker, error, now):
        record = conn.record
        conn.record = None
        record[1] = wall_ms(now)
        record[2] = status
        record[3] = version
        record[4] = worker
        record[5] = error
        free.append(conn)

    def broken(conn, error, now):
        """The connection failed: its request (if any) gets `error`; reopen it."""
        nonlocal reconnects, connect_failures
        try:
            selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        record = conn.record
        conn.record = None
        if record is not None:
            record[1] = wall_ms(now)
            record[5] = error
        try:
            conn.open()
            reconnects += 1
            selector.register(conn.sock, selectors.EVENT_READ, conn)
            free.append(conn)
        except OSError:
            connect_failures += 1
            connections.remove(conn)

    def send(conn, now):
        nonlocal sent
        path = args.path
        if args.jitter_ms > 0:
            path = "%s%sdelay=%d" % (path, separator, random.randint(0, args.jitter_ms))
        conn.record = [wall_ms(now), 0.0, 0, "-", "-", ""]
        records.append(conn.record)
        sent += 1
        try:
            conn.sock.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path.encode())
        except OSError:
            broken(conn, "reset", now)

    def on_readable(conn, now):
        try:
            data = conn.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as error:
            broken(conn, "reset" if error.errno in (errno.ECONNRESET, errno.EPIPE) else "error", now)
            return
        if not data:
            broken(conn, "closed", now)
            return
        conn.buffer += data
        while True:
            end = conn.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            raw_head = conn.buffer[:end]
            lower = raw_head.lower()
            length = header(lower, raw_head, b"content-length")
            length = int(length) if length else 0
            if len(conn.buffer) < end + 4 + length:
                return
            conn.buffer = conn.buffer[end + 4 + length:]
            if conn.record is None:
                broken(conn, "unexpected", now)
                return
            try:
                status = int(raw_head[9:12])
            except ValueError:
                status = 0
            version = (header(lower, raw_head, b"x-backend-version") or b"-").decode("latin-1")
            worker = (header(lower, raw_head, b"x-upmesh-worker") or b"-").decode("latin-1")
            close = (header(lower, raw_head, b"connection") or b"").lower() == b"close"
            finish(conn, status, version, worker, "", now)
            if close:
                free.remove(conn)
                broken(conn, "", now)
                return

    grace_end = None
    while True:
        now = time.monotonic()
        if grace_end is None and (stopping[0] or now >= deadline):
            grace_end = now + args.grace
        if grace_end is None:
            while next_due <= now and free:
                behind_ms = (now - next_due) * 1000.0
                if behind_ms > LATE_MS:
                    late += 1
                max_behind_ms = max(max_behind_ms, behind_ms)
                send(free.pop(), now)
                next_due += interval
            timeout = max(0.0, next_due - now) if free else 0.05
            timeout = min(timeout, 0.05)
        else:
            if len(free) == len(connections) or now >= grace_end:
                break
            timeout = min(0.05, grace_end - now)
        for key, _ in selector.select(timeout):
            on_readable(key.data, time.monotonic())
        if not connections:
            break
    end = time.monotonic()
    for conn in connections:
        if conn.record is not None:
            conn.record[5] = "unanswered"
        conn.sock.close()

    by_status = {}
    by_version = {}
    errors = 0
    with open(args.out, "w") as out:
        for sent_ms, recv_ms, status, version, worker, error in records:
            out.write("%.1f %.1f %d %s %s %s\n" % (sent_ms, recv_ms, status, version, worker, error or "-"))
            by_status[status] = by_status.get(status, 0) + 1
            by_version[version] = by_version.get(version, 0) + 1
            if status == 0 or status >= 500:
                errors += 1
    seconds = min(end, deadline) - start
    print(json.dumps({"sent": sent, "seconds": round(seconds, 2), "rate": round(sent / seconds, 1) if seconds else 0,
                      "late": late, "maxBehindMs": round(max_behind_ms, 1), "reconnects": reconnects,
                      "connectFailures": connect_failures, "errors": errors,
                      "byStatus": {str(k): v for k, v in sorted(by_status.items())}, "byVersion": by_version}))


if __name__ == "__main__":
    main()
