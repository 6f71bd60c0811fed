"""SESSION mode: the dynsoftup cookie pins a client to the cluster version it
started on. A client without a valid cookie goes to the newest version; a
client whose cookie names a cluster that still exists stays there (on every
worker: the cookie is the whole state); a cookie naming a deleted cluster
moves the client to the newest version. The cookie's expiry is sessionTimeout
seconds ahead and is renewed by every request."""

import email.utils
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import CookieClient, burst, describe_answers, parse_set_cookie  # noqa: E402

TIMEOUT_S = 120


def session(timeout=TIMEOUT_S):
    return {"mode": "SESSION", "sessionTimeout": timeout}


class SessionTest(mesh.MeshTestCase):

    def start(self, workers=2):
        """v1 and v2 backends, no initial cluster; v1 is added in SESSION mode."""
        m = self.mesh
        m.start_versions(names=("v1", "v2"), initial=(), workers=workers)
        uuid1 = m.put_cluster([m.backends[0]], 1, session())
        m.wait_serving()
        if workers > 1:
            m.wait_workers_seen({"w%d" % (i + 1) for i in range(workers)})
        return uuid1

    def session_cookie(self, response):
        values = [v for v in response.headers_named("set-cookie") if v.strip().startswith("dynsoftup=")]
        self.assertEqual(len(values), 1, "expected one dynsoftup Set-Cookie: %r" % response)
        return parse_set_cookie(values[0])

    def test_cookie_attributes_and_renewal(self):
        uuid1 = self.start(workers=1)
        with CookieClient(self.mesh.frontend.port) as client:
            first = client.get("/first")
            now = time.time()
            self.assertEqual(first.header("x-backend-version"), "v1", first)
            name, value, attributes = self.session_cookie(first)
            self.assertEqual(value, uuid1)
            self.assertEqual(first.header("x-upmesh-cluster"), uuid1)
            self.assertEqual(attributes.get("max-age"), str(TIMEOUT_S), attributes)
            self.assertEqual(attributes.get("path"), "/", attributes)
            self.assertIs(attributes.get("httponly"), True, attributes)
            self.assertIn("expires", attributes, attributes)
            expires_first = email.utils.parsedate_to_datetime(attributes["expires"]).timestamp()
            self.assertAlmostEqual(expires_first, now + TIMEOUT_S, delta=3,
                                   msg="Expires %s is not sessionTimeout ahead" % attributes["expires"])

            # Renewed on each request: a later request pushes the expiry further.
            time.sleep(1.1)
            second = client.get("/second")
            _, value, attributes = self.session_cookie(second)
            self.assertEqual(value, uuid1)
            self.assertEqual(attributes.get("max-age"), str(TIMEOUT_S), attributes)
            expires_second = email.utils.parsedate_to_datetime(attributes["expires"]).timestamp()
            self.assertGreaterEqual(expires_second, expires_first + 1, "the expiry was not renewed")

    def test_pinned_client_stays_new_client_goes_to_newest(self):
        uuid1 = self.start(workers=2)
        m = self.mesh
        old_client = CookieClient(m.frontend.port)
        self.addCleanup(old_client.close)
        self.assertEqual(old_client.get("/").header("x-backend-version"), "v1")
        self.assertEqual(old_client.jar.get("dynsoftup"), uuid1)

        uuid2 = m.put_cluster([m.backends[1]], 2, session())
        for i in range(5):
            response = old_client.get("/old/%d" % i)
            self.assertEqual(response.header("x-backend-version"), "v1", response)
            self.assertEqual(self.session_cookie(response)[1], uuid1)
        # Every worker gives the same answer for the same cookie.
        answers = burst(m.frontend.port, 40, connections=8, target="/?delay=10&pinned={i}",
                        headers=[("Cookie", "dynsoftup=%s" % uuid1)])
        summary = describe_answers(answers)
        self.assertEqual({k[:2] for k in summary}, {(200, "v1")}, summary)
        self.assertEqual({k[2] for k in summary}, {"w1", "w2"}, summary)

        # Among a browser's other cookies, in any position, and in a second Cookie header.
        for cookie_headers in (["theme=dark; dynsoftup=%s; lang=en" % uuid1],
                               ["theme=dark;dynsoftup=%s" % uuid1],
                               ["theme=dark", "dynsoftup=%s" % uuid1]):
            with mesh.RawClient(m.frontend.port) as raw:
                response = raw.request("GET", "/other-cookies", headers=[("Cookie", c) for c in cookie_headers])
            self.assertEqual(response.header("x-backend-version"), "v1", (cookie_headers, response))

        with CookieClient(m.frontend.port) as new_client:
            response = new_client.get("/new")
            self.assertEqual(response.header("x-backend-version"), "v2", response)
            self.assertEqual(new_client.jar.get("dynsoftup"), uuid2)
            self.assertEqual(new_client.get("/new/again").header("x-backend-version"), "v2")

        # A cookie that names no cluster, or is not a uuid at all: the newest version.
        for bad in ("00000000-0000-4000-8000-000000000000", "nonsense", ""):
            with CookieClient(m.frontend.port, cookies={"dynsoftup": bad}) as client:
                response = client.get("/bad-cookie")
                self.assertEqual(response.header("x-backend-version"), "v2", (bad, response))
                self.assertEqual(client.jar.get("dynsoftup"), uuid2, (bad, response))

    def test_cookie_of_deleted_cluster_moves_to_newest(self):
        uuid1 = self.start(workers=2)
        m = self.mesh
        v3 = m.start_backend(name="v3")
        m.backends.append(v3)
        uuid2 = m.put_cluster([m.backends[1]], 2, session())
        with CookieClient(m.frontend.port, cookies={"dynsoftup": uuid1}) as on_v1, \
                CookieClient(m.frontend.port, cookies={"dynsoftup": uuid2}) as on_v2:
            uuid3 = m.put_cluster([v3], 3, session())
            self.assertEqual(on_v1.get("/").header("x-backend-version"), "v1")
            self.assertEqual(on_v2.get("/").header("x-backend-version"), "v2")

            m.delete_cluster(uuid1)
            response = on_v1.get("/after-delete")
            self.assertEqual(response.header("x-backend-version"), "v3", response)
            self.assertEqual(on_v1.jar.get("dynsoftup"), uuid3)
            # ... and stays there; the v2 client is not disturbed.
            self.assertEqual(on_v1.get("/later").header("x-backend-version"), "v3")
            self.assertEqual(on_v2.get("/later").header("x-backend-version"), "v2")

            # Deleting the newest: the v3 client moves to the newest left, v2.
            m.delete_cluster(uuid3)
            response = on_v1.get("/after-delete-newest")
            self.assertEqual(response.header("x-backend-version"), "v2", response)
            self.assertEqual(on_v1.jar.get("dynsoftup"), uuid2)

    def test_pinned_version_down_falls_back_to_older(self):
        """A client pinned to v2 whose servers refuse connections is served by the next
        older version, v1 (fallback is per request, whatever chose the version)."""
        self.start(workers=1)
        m = self.mesh
        uuid2 = m.put_cluster([m.backends[1]], 2, session())
        with CookieClient(m.frontend.port, cookies={"dynsoftup": uuid2}) as client:
            self.assertEqual(client.get("/").header("x-backend-version"), "v2")
            m.backends[1].kill()
            response = client.get("/v2-down")
            self.assertEqual((response.status, response.header("x-backend-version")), (200, "v1"), response)

    def test_instant_newest_overrides_sessions(self):
        """The newest cluster's mode decides: an INSTANT version takes every
        client, pinned or not (that is what INSTANT asks for)."""
        uuid1 = self.start(workers=1)
        m = self.mesh
        m.put_cluster([m.backends[1]], 2, {"mode": "INSTANT"})
        with CookieClient(m.frontend.port, cookies={"dynsoftup": uuid1}) as client:
            response = client.get("/")
        self.assertEqual(response.header("x-backend-version"), "v2", response)


if __name__ == "__main__":
    mesh.main()
