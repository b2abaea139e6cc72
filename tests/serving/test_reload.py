"""serve-model against the registry: models:/NAME@ALIAS is downloaded (digests checked) and
served; moving the alias and sending SIGHUP hot-loads the new version while requests keep
running — none fails — and POST /v2/repository/models/NAME/load switches versions too."""
import os
import signal
import threading
import time
import unittest

import requests

from serving_harness import ModelServerProcess, fixtures  # noqa: I001 (sets sys.path for harness)
from harness import StudioTestCase, run_cli


class RegistryReloadTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.token = srv.make_token(srv.login("admin", srv.admin_password), "serve")
        r = srv.admin.post("/api/v1/projects", json={"name": "serving"})
        assert r.status_code == 201, r.text
        cls.fixture_dir, cls.expected = fixtures()
        env = dict(os.environ, STUDIO_SERVER=srv.base, STUDIO_TOKEN=cls.token)
        for pkg in ("xgb", "xgb_v2"):
            r = run_cli(["model", "register", "--project", "serving", "--name", "churn", "--path",
                         os.path.join(cls.fixture_dir, pkg)], env=env, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
        cls.env = env

    def alias(self, version):
        r = run_cli(["model", "alias", "churn", "champion", "--version", str(version)], env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_alias_move_and_sighup_reload_under_load(self):
        self.alias(1)
        cache = os.path.join(self.tmp, "cache")
        srv = ModelServerProcess(["--model", "models:/churn@champion", "--registry", self.server.base,
                                  "--token", self.token, "--cache-dir", cache, "--workers", "2"])
        self.addCleanup(srv.stop)
        srv.wait_ready(timeout=60)
        self.assertEqual(srv.get("/ready").json()["model"]["version"], "1")
        rows = self.expected["rows"]
        r = srv.post("/predict", json={"instances": rows})
        self.assertEqual(r.json()["predictions"], self.expected["xgb"])
        self.assertEqual(r.json()["model"], {"name": "churn", "version": "1"})

        failures, versions, stop = [], set(), threading.Event()

        def load():
            s = requests.Session()
            while not stop.is_set():
                try:
                    r = s.post(srv.url("/predict"), json={"instances": rows[:4]}, timeout=10)
                    if r.status_code != 200:
                        failures.append(r.status_code)
                    else:
                        versions.add(r.json()["model"]["version"])
                except Exception as e:  # a dropped connection is a failure too
                    failures.append(repr(e))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        self.alias(2)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while time.time() < deadline and srv.get("/ready").json()["model"]["version"] != "2":
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(versions, {"1", "2"})
        r = srv.post("/predict", json={"instances": rows})
        self.assertEqual(r.json()["predictions"], self.expected["xgb_v2"])
        self.assertTrue(os.path.exists(os.path.join(cache, "churn", "2", ".complete")))

        # The Triton repository extension picks a version explicitly.
        r = srv.post("/v2/repository/models/churn/load",
                     json={"parameters": {"uri": "models:/churn/1"}})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["version"], "1")
        self.assertEqual(srv.post("/predict", json={"instances": rows}).json()["predictions"],
                         self.expected["xgb"])
        # A failed load keeps the old version serving.
        r = srv.post("/v2/repository/models/churn/load",
                     json={"parameters": {"uri": "models:/churn/99"}})
        self.assertGreaterEqual(r.status_code, 400)
        self.assertEqual(srv.get("/ready").json()["model"]["version"], "1")
        metrics = srv.get("/metrics").text
        self.assertIn('studio_serving_model_reloads_total{result="success"} 2', metrics)
        self.assertIn('studio_serving_model_reloads_total{result="failure"} 1', metrics)
        self.assertEqual(srv.stop(), 0)

    def test_unknown_model_fails_to_start(self):
        srv = ModelServerProcess(["--model", "models:/nope/1", "--registry", self.server.base,
                                  "--token", self.token, "--cache-dir", os.path.join(self.tmp, "c2")])
        self.assertEqual(srv.proc.wait(30), 2)
        self.assertIn("nope", srv.log_text())


if __name__ == "__main__":
    unittest.main()
