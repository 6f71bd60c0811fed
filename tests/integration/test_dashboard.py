"""The router's dashboard (GET /dashboard) in headless Chromium, against a
real mesh: the page loads with no console error, shows the versions and the
workers and frontends, follows a version added through the API, renders a
hostile version string as text (no script runs, no element is injected),
shows a rollback's reason and evidence once the monitor rolls a failing
version back, and with an API token asks for it before it shows anything.
A screenshot is saved in BUILD/test-output/.

Needs chromium, chromium-driver and python3-selenium (scripts/install-deps.sh
--test). Debian's Selenium lives in the system Python's dist-packages, which
another interpreter (a pyenv one, say) does not search: it is added then."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh  # noqa: E402
from mesh import GetLoad, RawClient, wait_until  # noqa: E402

try:
    import selenium  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
TOKEN = "dashboard-test-token-0123456789abcdef"


def control(backend, **settings):
    """Changes a demo backend's defaults at run time (PUT /__control)."""
    query = "&".join("%s=%s" % item for item in settings.items())
    with RawClient(backend.port) as client:
        response = client.request("PUT", "/__control?" + query)
    if response.status != 200:
        raise AssertionError("backend /__control?%s gave %d" % (query, response.status))


class DashboardTest(mesh.MeshTestCase):

    def setUp(self):
        super().setUp()
        self.profile = tempfile.mkdtemp(prefix="upmesh-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--user-data-dir=" + self.profile, "--window-size=1400,2000", "--no-first-run"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver",
                          log_path=os.path.join(self._log_dir, "chromedriver.log"))
        self.browser = webdriver.Chrome(service=service, options=options)
        self.browser.set_page_load_timeout(10)

    def tearDown(self):
        self.browser.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
        super().tearDown()

    def open_dashboard(self):
        self.browser.get("http://127.0.0.1:%d/dashboard" % self.mesh.router.config_port)

    def wait_for(self, find, what, timeout=8.0):
        """Polls find() (a function of the browser) until it returns something true."""
        return wait_until(lambda: find(self.browser), timeout, interval=0.1, what=what)

    def texts(self, selector):
        """The textContent of every element `selector` matches, read at once (the page
        rebuilds what it shows every second, so elements found earlier go stale)."""
        return self.browser.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]), (e) => e.textContent)", selector)

    def cells(self, uuid):
        return self.texts('#versions tbody tr[data-uuid="%s"] > td' % uuid) or None

    def console_errors(self):
        return [entry for entry in self.browser.get_log("browser") if entry["level"] == "SEVERE"]

    def save_screenshot(self, name):
        directory = os.path.join(os.path.dirname(mesh.BIN_DIR), "test-output")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        self.assertTrue(self.browser.save_screenshot(path), path)
        self.assertGreater(os.path.getsize(path), 10000, path)
        return path

    def assertNoAlert(self):
        with self.assertRaises(NoAlertPresentException):
            self.browser.switch_to.alert.text

    def test_versions_live_updates_hostile_text_and_a_rollback(self):
        m = self.mesh
        versions = m.start_versions(names=("v1", "v2"), initial=("v1",), initial_version=1, workers=2)
        uuid1 = m.uuid_of_version(1)
        with GetLoad(m.frontend.port, connections=3, max_seconds=40) as load:
            self.open_dashboard()
            self.wait_for(lambda b: self.cells(uuid1), "the first version's row")
            self.wait_for(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#workers tbody tr")) == 2, "both workers")
            self.wait_for(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#frontends tbody tr")) == 1, "the frontend")
            cells = self.cells(uuid1)
            self.assertEqual(cells[0], "1 (newest)")
            self.assertEqual(cells[2], "INSTANT")
            self.assertEqual(cells[3], "100.0 %")
            self.assertEqual(cells[5], "healthy")
            # Requests per second appear once two samples were taken under load.
            self.wait_for(lambda b: (self.cells(uuid1)[6] not in ("–", "0.0")) or None, "a request rate for v1")
            load.wait_count(300)  # the old version's baseline for the judge

            # A version added through the API appears; its hostile name stays text.
            uuid2 = m.put_cluster([versions["v2"]], HOSTILE, {"mode": "INSTANT"}, uuid="hostile-2")
            self.wait_for(lambda b: self.cells(uuid2), "the added version's row")
            self.assertEqual(self.cells(uuid2)[0], HOSTILE + " (newest)")
            self.wait_for(lambda b: self.cells(uuid1)[0] == "1" or None, "v1 no longer the newest")
            self.assertEqual(self.browser.find_elements(By.TAG_NAME, "img"), [])
            self.assertEqual(len(self.browser.find_elements(By.TAG_NAME, "script")), 1)
            self.assertNoAlert()

            # The new version fails; the monitor rolls it back; the page shows why.
            load.wait_count(load.count() + 100)
            control(versions["v2"], status=500)
            wait_until(lambda: m.cluster_state(uuid2).get("rollback"), 8, interval=0.05, what="the rollback")
            record = m.cluster_state(uuid2)["rollback"]
            block = '#rollbacks .rollback[data-uuid="hostile-2"] '
            self.wait_for(lambda b: self.texts(block + ".reason"), "the rollback on the page")
            self.assertEqual(self.texts(block + ".reason"), [record["reason"]])
            self.assertEqual(self.texts(block + ".detail"), [record["detail"]])
            self.assertIn(HOSTILE, self.texts(block + "h3")[0])
            self.wait_for(lambda b: self.cells(uuid2)[5] == "rolledBack" or None, "the version shown rolled back")
            # Decided, then each worker applying it.
            self.wait_for(lambda b: len(self.texts(block + ".timeline li")) >= 3, "the rollback timeline")
            self.assertEqual(self.browser.find_elements(By.TAG_NAME, "img"), [])
            self.assertNoAlert()
            print("screenshot: %s" % self.save_screenshot("dashboard.png"))
        self.assertEqual(self.console_errors(), [])

    def test_with_a_token_the_page_asks_for_it_and_the_api_still_needs_it(self):
        m = self.mesh
        token_file = self.write_file("token", TOKEN + "\n")
        m.start_versions(names=("v1",), initial=("v1",), initial_version="1.0", workers=1,
                         router_args=["--token-file", token_file])
        self.assertEqual(m.api("GET", "/status").status, 401)
        page = m.api("GET", "/dashboard")
        self.assertEqual(page.status, 200)  # the page holds no data: no token needed for it
        self.open_dashboard()
        form = self.wait_for(lambda b: [f for f in b.find_elements(By.ID, "token-form") if f.is_displayed()],
                             "the token form")[0]
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr"), [])
        form.find_element(By.ID, "token-input").send_keys(TOKEN)
        form.find_element(By.TAG_NAME, "button").click()
        self.wait_for(lambda b: b.find_elements(By.CSS_SELECTOR, "#versions tbody tr"), "the versions")
        self.assertEqual(self.browser.find_element(By.ID, "connection").text, "live")
        self.assertFalse(self.browser.find_element(By.ID, "token-form").is_displayed())
        self.assertEqual(self.browser.execute_script("return sessionStorage.getItem('upmesh.apiToken')"), TOKEN)
        # The only console errors are the 401s that asked for the token.
        for entry in self.console_errors():
            self.assertIn("401", entry["message"], entry)


if __name__ == "__main__":
    mesh.main()
