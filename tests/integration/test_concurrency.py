"""Many concurrent keep-alive clients: every answer belongs to its request."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import RawClient  # noqa: E402

CLIENTS = 100
REQUESTS_PER_CLIENT = 20


class ConcurrencyTest(mesh.MeshTestCase):

    def test_hundred_keep_alive_clients(self):
        self.mesh.start_standard(backends=2, workers=2)
        port = self.mesh.frontend.port
        start_together = threading.Barrier(CLIENTS)
        errors = []
        answered = [0] * CLIENTS
        workers_seen = set()
        lock = threading.Lock()

        def client_loop(index):
            try:
                with RawClient(port, timeout=30) as client:
                    start_together.wait(timeout=30)
                    for i in range(REQUESTS_PER_CLIENT):
                        target = "/c%d/r%d?echo=1" % (index, i)
                        # Every few requests carry a body, so uploads interleave too.
                        body = (b"%d-%d;" % (index, i)) * (i * 10) if i % 4 == 0 else None
                        response = client.request("POST" if body else "GET", target, body=body)
                        if response.status != 200:
                            raise AssertionError("%s -> %r" % (target, response))
                        echo = response.json()
                        if echo["target"] != target:
                            raise AssertionError("asked for %s, got the answer for %s" % (target, echo["target"]))
                        if body and echo["bodyLength"] != len(body):
                            raise AssertionError("%s: body of %d arrived as %d" % (target, len(body), echo["bodyLength"]))
                        answered[index] += 1
                        with lock:
                            workers_seen.add(response.header("X-Upmesh-Worker"))
            except Exception as e:  # noqa: BLE001 - collected and reported below
                with lock:
                    errors.append("client %d after %d answers: %r" % (index, answered[index], e))

        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        elapsed = time.monotonic() - started
        self.assertFalse(any(t.is_alive() for t in threads), "clients still running after 90 s")
        self.assertEqual(errors, [], "%d of %d clients failed; first: %s" % (len(errors), CLIENTS, errors[:5]))
        self.assertEqual(sum(answered), CLIENTS * REQUESTS_PER_CLIENT)
        self.assertEqual(workers_seen, {"w1", "w2"}, "load was not spread over both workers")
        sys.stderr.write("\n%d requests from %d clients in %.2f s\n" % (sum(answered), CLIENTS, elapsed))


if __name__ == "__main__":
    mesh.main()
