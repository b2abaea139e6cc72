"""Deployments (issue 7) against a real `studio serve` and real `studio serve-model` children:
promotion dev -> staging -> prod with approvals by distinct people, a canary of a version that
fails 20% of requests rolled back automatically (with the metrics and thresholds in the audit
trail), a blue-green whose green cannot load (it never receives traffic), a manual rollback of a
LIVE version, concurrent requests (409), and bad input. Load runs through the router
(/serve/{project}/{environment}/predict) across every switch; the only failures allowed are the
faulty canary's own injected 500s.

Analysis windows are shortened through the environment policy API so the file stays fast."""
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "serving"))
from serving_harness import fixtures  # noqa: E402
from harness import StudioTestCase, run_cli  # noqa: E402

TERMINAL = {"LIVE", "ROLLED_BACK", "FAILED", "REJECTED"}


class Load:
    """Client threads posting predictions through the router until stopped."""

    def __init__(self, server, token, project, env, rows, threads=3):
        self.url = server.url(f"/serve/{project}/{env}/predict")
        self.headers = {"Authorization": "Bearer " + token}
        self.rows = rows
        self.results = []  # (status, slot, version, body prefix)
        self.errors = []  # transport errors
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        s = requests.Session()
        while not self.stop_flag.is_set():
            try:
                r = s.post(self.url, json={"instances": self.rows[:2]}, headers=self.headers,
                           timeout=30)
                with self.lock:
                    self.results.append((r.status_code, r.headers.get("X-Studio-Slot"),
                                         r.headers.get("X-Studio-Model-Version"), r.text[:200]))
            except requests.RequestException as e:
                with self.lock:
                    self.errors.append(repr(e))
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def failures(self):
        return [r for r in self.results if r[0] != 200]

    def versions(self):
        return {r[2] for r in self.results if r[0] == 200}


class DeploymentTests(StudioTestCase):
    server_env = {"STUDIO_DEPLOY_TEST_FAULTS": "1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.fixture_dir, cls.expected = fixtures()
        cls.rows = cls.expected["rows"]
        # A package that registers (files and digests are fine) but cannot load.
        cls.corrupt = os.path.join(cls.tmp, "corrupt")
        shutil.copytree(os.path.join(cls.fixture_dir, "xgb"), cls.corrupt)
        with open(os.path.join(cls.corrupt, "model.json"), "w") as f:
            f.write('{"learner": {"this is": "not an xgboost model"}}')
        cls.admin_token = srv.make_token(srv.login("admin", srv.admin_password), "deploy-admin")
        cls.users = {}
        for name, roles in {"alice": ["ml_engineer"], "pat": ["production_team"],
                            "quinn": ["production_team"], "sam": ["model_sponsor"],
                            "ada": ["admin"], "mona": ["monitoring_team"]}.items():
            u = srv.create_user(name, roles)
            cls.users[name] = srv.token_client(srv.token_for(name, u["password"]))
            cls.users[name].token = srv.token_for(name, u["password"], "load")
        # Short analysis windows and bakes (the policy API, as an admin would).
        a = srv.admin
        for env, policy in {
            # p99 limits are generous: this machine is shared, and the error-rate rule is
            # what these tests exercise.
            "dev": {"analysis": {"window_seconds": 2, "interval_seconds": 1, "min_requests": 10,
                                 "max_p99_ms": 5000}},
            "staging": {"analysis": {"window_seconds": 4, "interval_seconds": 1,
                                     "min_requests": 20, "max_p99_ms": 5000}},
            "prod": {"bake_seconds": 3,
                     "analysis": {"window_seconds": 2, "interval_seconds": 1, "min_requests": 10,
                                  "max_error_rate": 0.05, "max_p99_ms": 5000}},
        }.items():
            r = a.put(f"/api/v1/environments/{env}", json={"policy": policy})
            assert r.status_code == 200, r.text

    # -- helpers ---------------------------------------------------------------------------

    def project_with_model(self, project, model, packages):
        r = self.server.admin.post("/api/v1/projects", json={"name": project})
        self.assertStatus(r, 201)
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.admin_token}
        for pkg in packages:
            path = pkg if os.path.isabs(pkg) else os.path.join(self.fixture_dir, pkg)
            r = run_cli(["model", "register", "--project", project, "--name", model, "--path",
                         path], env=env, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def deploy(self, who, project, model, version, env, strategy=None, status=202):
        body = {"project": project, "model": model, "version": str(version), "environment": env}
        if strategy:
            body["strategy"] = strategy
        r = self.users[who].post("/api/v1/deployments", json=body)
        self.assertStatus(r, status)
        return r.json()

    def approve(self, who, dep_id, status=200, verb="approve"):
        r = self.users[who].post(f"/api/v1/deployments/{dep_id}/{verb}",
                                 json={"comment": f"{verb} by {who}"})
        self.assertStatus(r, status)
        return r.json()

    def wait(self, dep_id, statuses=TERMINAL, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                d = self.server.admin.get(f"/api/v1/deployments/{dep_id}").json()
            except requests.ConnectionError:
                # An idle keep-alive connection the server closed at its 5 s timeout.
                time.sleep(0.05)
                continue
            if d["status"] in statuses:
                return d
            time.sleep(0.2)
        self.fail(f"deployment {dep_id} still {d['status']} after {timeout}s: {d}")

    def predict(self, project, env, who="alice"):
        return self.users[who].post(f"/serve/{project}/{env}/predict",
                                    json={"instances": self.rows})

    def audit_for(self, dep_id):
        r = self.server.admin.get("/api/v1/audit", params={"resource_type": "deployment",
                                                           "resource_id": dep_id,
                                                           "max_results": 100})
        self.assertStatus(r, 200)
        return r.json()["items"]

    # -- tests -----------------------------------------------------------------------------

    def test_promote_dev_staging_prod_with_approvals_and_rollback_under_load(self):
        self.project_with_model("promo", "churn", ["xgb", "xgb_v2"])
        # dev: direct, no approval, smoke test.
        d = self.deploy("alice", "promo", "churn", 1, "dev")
        self.assertEqual(d["status"], "DEPLOYING")
        self.assertEqual(d["strategy"], "direct")
        d = self.wait(d["id"])
        self.assertEqual(d["status"], "LIVE", d)
        self.assertEqual(d["weights"], {"blue": 100})
        r = self.predict("promo", "dev")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["predictions"], self.expected["xgb"])
        self.assertEqual(r.headers["X-Studio-Model-Version"], "1")
        # alice (ml_engineer) cannot deploy to staging.
        r = self.users["alice"].post("/api/v1/deployments", json={
            "project": "promo", "model": "churn", "version": "1", "environment": "staging"})
        self.assertError(r, 403)
        self.assertIn("deploy_staging", r.json()["message"])

        # staging, first time: 1 approval; nothing live yet, so the canary deploys directly.
        d = self.deploy("pat", "promo", "churn", 1, "staging")
        self.assertEqual((d["status"], d["strategy"]), ("PENDING_APPROVAL", "canary"))
        r = self.users["pat"].post(f"/api/v1/deployments/{d['id']}/approve", json={})
        self.assertError(r, 403)
        self.assertIn("requester", r.json()["message"])
        r = self.users["alice"].post(f"/api/v1/deployments/{d['id']}/approve", json={})
        self.assertError(r, 403)
        self.assertIn("approve", r.json()["message"])
        self.approve("sam", d["id"])
        r = self.users["sam"].post(f"/api/v1/deployments/{d['id']}/approve", json={})
        self.assertError(r, 403)
        self.assertIn("already approved", r.json()["message"])
        d = self.wait(d["id"])
        self.assertEqual(d["status"], "LIVE", d)

        token = self.users["alice"].token
        with Load(self.server, token, "promo", "staging", self.rows) as load:
            time.sleep(0.5)
            # staging canary of version 2 while traffic flows.
            d2 = self.deploy("quinn", "promo", "churn", 2, "staging")
            self.approve("pat", d2["id"])
            seen = set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                cur = self.server.admin.get(f"/api/v1/deployments/{d2['id']}").json()
                seen.add(cur["status"])
                if cur["status"] == "CANARY":
                    self.assertEqual(cur["weights"], {"blue": 90, "canary": 10})
                if cur["status"] in TERMINAL:
                    break
                time.sleep(0.1)
            self.assertEqual(cur["status"], "LIVE", cur)
            self.assertIn("CANARY", seen)
            self.assertEqual(cur["weights"], {"canary": 100})
            time.sleep(0.5)
            # A manual rollback of the LIVE version brings version 1 back, under load.
            r = self.users["pat"].post(f"/api/v1/deployments/{d2['id']}/rollback",
                                       json={"reason": "latency regression seen by users"})
            self.assertStatus(r, 202)
            self.assertTrue(r.json()["rollback_in_progress"])
            rb = self.wait(d2["id"], statuses={"ROLLED_BACK"})
            self.assertEqual(rb["status"], "ROLLED_BACK", rb)
            time.sleep(0.5)
        self.assertEqual(load.errors, [])
        self.assertEqual(load.failures(), [])
        self.assertEqual(load.versions(), {"1", "2"})
        self.assertEqual(load.results[-1][2], "1")
        reasons = [e["reason"] for e in rb["events"]]
        self.assertTrue(any("canary passed analysis" in x for x in reasons), reasons)
        self.assertTrue(any("latency regression seen by users" in x for x in reasons), reasons)
        first = self.server.admin.get(f"/api/v1/deployments/{d['id']}").json()
        self.assertEqual((first["status"], first["superseded_by"]), ("LIVE", ""))

        # prod: 2 approvals by distinct holders of approve, never the requester; blue-green.
        d3 = self.deploy("ada", "promo", "churn", 1, "prod")
        self.assertEqual((d3["status"], d3["strategy"], d3["approvals_required"]),
                         ("PENDING_APPROVAL", "blue-green", 2))
        r = self.users["ada"].post(f"/api/v1/deployments/{d3['id']}/approve", json={})
        self.assertError(r, 403)
        self.assertIn("requester", r.json()["message"])
        r = self.users["mona"].post(f"/api/v1/deployments/{d3['id']}/approve", json={})
        self.assertError(r, 403)
        after = self.approve("pat", d3["id"])
        self.assertEqual((after["status"], after["approvals_received"]), ("PENDING_APPROVAL", 1))
        r = self.users["pat"].post(f"/api/v1/deployments/{d3['id']}/approve", json={})
        self.assertError(r, 403)
        self.assertIn("distinct", r.json()["message"])
        self.approve("sam", d3["id"])
        d3 = self.wait(d3["id"])
        self.assertEqual(d3["status"], "LIVE", d3)
        self.assertEqual([a["user"] for a in d3["approvals"]], ["pat", "sam"])
        statuses = [e["to"] for e in d3["events"]]
        for s in ("PENDING_APPROVAL", "DEPLOYING", "GREEN_VALIDATING", "LIVE"):
            self.assertIn(s, statuses)
        self.assertStatus(self.predict("promo", "prod"), 200)
        # Every transition is in the audit log.
        actions = [e["action"] for e in self.audit_for(d3["id"])]
        self.assertIn("deployment.create", actions)
        self.assertEqual(actions.count("deployment.approve"), 2)
        self.assertGreaterEqual(actions.count("deployment.transition"), 3)
        # The metrics on /metrics carry the per-slot figures.
        m = requests.get(self.server.url("/metrics"), timeout=10).text
        self.assertIn('studio_deploy_slot_requests_total{project="promo",environment="staging"', m)

    def test_canary_failing_20_percent_is_rolled_back_with_metrics(self):
        self.project_with_model("canary-proj", "fraud", ["xgb", "xgb_v2"])
        r = self.server.admin.put("/api/v1/models/fraud/versions/2/tags/studio.test.fail_ratio",
                                  json={"value": "0.2"})
        self.assertStatus(r, 200)
        d1 = self.deploy("pat", "canary-proj", "fraud", 1, "staging")
        self.approve("quinn", d1["id"])
        self.assertEqual(self.wait(d1["id"])["status"], "LIVE")
        with Load(self.server, self.users["alice"].token, "canary-proj", "staging",
                  self.rows) as load:
            time.sleep(0.3)
            d2 = self.deploy("pat", "canary-proj", "fraud", 2, "staging")
            self.approve("sam", d2["id"])
            d2 = self.wait(d2["id"])
            time.sleep(0.5)
        self.assertEqual(d2["status"], "ROLLED_BACK", d2)
        self.assertEqual(d2["weights"], {"blue": 100})
        ev = [e for e in d2["events"] if e["to"] == "ROLLED_BACK"][0]
        self.assertIn("error rate", ev["reason"])
        self.assertIn("> 0.05", ev["reason"])
        m = ev["details"]["metrics"]
        self.assertGreaterEqual(m["requests"], 20)
        self.assertGreater(m["error_rate"], 0.05)
        self.assertAlmostEqual(m["error_rate"], 0.2, delta=0.06)
        self.assertEqual(ev["details"]["thresholds"]["max_error_rate"], 0.05)
        self.assertEqual(ev["details"]["thresholds"]["min_requests"], 20)
        # The audit trail says why, with the numbers.
        rolled = [e for e in self.audit_for(d2["id"]) if e["action"] == "deployment.transition"
                  and "ROLLED_BACK" in str(e["details"])]
        self.assertTrue(rolled, self.audit_for(d2["id"]))
        self.assertIn("max_error_rate", str(rolled[0]["details"]))
        # Load: only the faulty canary's injected 500s failed; blue answered everything else.
        self.assertEqual(load.errors, [])
        for status, slot, version, body in load.failures():
            self.assertEqual((status, slot, version), (500, "canary", "2"), body)
            self.assertIn("injected failure", body)
        self.assertEqual(load.results[-1][1], "blue")
        self.assertEqual(self.predict("canary-proj", "staging").headers["X-Studio-Model-Version"],
                         "1")

    def test_green_failing_its_health_check_never_receives_traffic(self):
        self.project_with_model("bg-proj", "risk", ["xgb", self.corrupt])
        d1 = self.deploy("ada", "bg-proj", "risk", 1, "prod")
        self.approve("pat", d1["id"])
        self.approve("sam", d1["id"])
        d1 = self.wait(d1["id"])
        self.assertEqual(d1["status"], "LIVE", d1)
        live_slot = d1["slot"]
        with Load(self.server, self.users["alice"].token, "bg-proj", "prod", self.rows) as load:
            d2 = self.deploy("ada", "bg-proj", "risk", 2, "prod")
            self.approve("quinn", d2["id"])
            self.approve("sam", d2["id"])
            d2 = self.wait(d2["id"])
        self.assertEqual(d2["status"], "FAILED", d2)
        self.assertIn("health check", d2["error"])
        self.assertIn("received no traffic", d2["error"])
        self.assertNotIn("GREEN_VALIDATING", [e["to"] for e in d2["events"]])
        self.assertEqual(load.errors, [])
        self.assertEqual(load.failures(), [])
        self.assertEqual({r[1] for r in load.results}, {live_slot})
        self.assertEqual(load.versions(), {"1"})
        cur = self.server.admin.get(f"/api/v1/deployments/{d1['id']}").json()
        self.assertEqual((cur["status"], cur["superseded_by"]), ("LIVE", ""))

    def test_concurrent_deployments_one_proceeds_the_others_409(self):
        self.project_with_model("conc-proj", "conc", ["xgb"])
        body = {"project": "conc-proj", "model": "conc", "version": "1", "environment": "dev"}
        token = self.users["alice"].token

        def post(_):
            return requests.post(self.server.url("/api/v1/deployments"), json=body,
                                 headers={"Authorization": "Bearer " + token}, timeout=30)

        with ThreadPoolExecutor(6) as ex:
            results = list(ex.map(post, range(6)))
        codes = sorted(r.status_code for r in results)
        self.assertEqual(codes, [202, 409, 409, 409, 409, 409], [r.text for r in results])
        for r in results:
            if r.status_code == 409:
                self.assertEqual(r.json()["error_code"], "RESOURCE_CONFLICT")
                self.assertIn("in progress", r.json()["message"])
        winner = [r for r in results if r.status_code == 202][0].json()
        self.assertEqual(self.wait(winner["id"])["status"], "LIVE")
        # Once it is LIVE, the next one proceeds.
        d = self.deploy("alice", "conc-proj", "conc", 1, "dev")
        self.assertEqual(self.wait(d["id"])["status"], "LIVE")
        listed = self.server.admin.get("/api/v1/deployments",
                                       params={"project": "conc-proj", "max_results": 1}).json()
        self.assertEqual(len(listed["items"]), 1)
        self.assertIn("next_page_token", listed)
        page2 = self.server.admin.get("/api/v1/deployments", params={
            "project": "conc-proj", "max_results": 1,
            "page_token": listed["next_page_token"]}).json()
        self.assertEqual(len(page2["items"]), 1)
        self.assertNotEqual(page2["items"][0]["id"], listed["items"][0]["id"])

    def test_bad_input(self):
        self.project_with_model("bad-proj", "badm", ["xgb"])
        a = self.users["ada"]
        base = {"project": "bad-proj", "model": "badm", "version": "1", "environment": "dev"}
        cases = [
            (dict(base, model="nope"), 404, None),
            (dict(base, version="99"), 404, None),
            (dict(base, environment="qa"), 404, None),
            (dict(base, project="no-such-project"), 404, None),
            (dict(base, version=True), 400, "version"),
            (dict(base, version="v1"), 400, "version"),
            (dict(base, environment=5), 400, "environment"),
            ({k: v for k, v in base.items() if k != "model"}, 400, "model"),
            ({k: v for k, v in base.items() if k != "version"}, 400, "version"),
            (dict(base, alias="champion"), 400, "version"),
            (dict(base, strategy="rolling"), 400, "strategy"),
            (dict(base, environment="prod", strategy="direct"), 400, "strategy"),
            (dict(base, colour="blue"), 400, "colour"),
        ]
        for body, status, field in cases:
            r = a.post("/api/v1/deployments", json=body)
            self.assertError(r, status, field=field)
        r = a.post("/api/v1/deployments", data="not json", headers={"Content-Type": "application/json"})
        self.assertError(r, 400)
        no_version = {k: v for k, v in base.items() if k != "version"}
        r = a.post("/api/v1/deployments", json=dict(no_version, alias="nope"))
        self.assertError(r, 404)
        self.assertIn("no alias 'nope'", r.json()["message"])
        self.assertError(a.get("/api/v1/deployments/0000-nope"), 404)
        self.assertError(a.post("/api/v1/deployments/0000-nope/approve", json={}), 404)
        self.assertError(a.post("/api/v1/deployments/0000-nope/rollback", json={}), 404)
        self.assertError(a.get("/api/v1/deployments", params={"status": "DONE"}), 400, field="status")
        self.assertError(a.get("/api/v1/deployments", params={"environment": "qa"}), 404)
        self.assertError(a.get("/api/v1/deployments", params={"max_results": "0"}), 400)
        # Policies: admin only, validated field by field, unknown environments 404.
        r = self.users["pat"].put("/api/v1/environments/dev", json={"policy": {"replicas": 2}})
        self.assertError(r, 403)
        r = self.server.admin.put("/api/v1/environments/dev",
                                  json={"policy": {"canary_percent": 150, "strategy": "rolling"}})
        self.assertError(r, 400, field="canary_percent")
        self.assertIn("strategy", r.json()["details"])
        self.assertError(self.server.admin.put("/api/v1/environments/qa", json={"policy": {}}), 404)
        envs = a.get("/api/v1/environments").json()["items"]
        self.assertEqual([e["name"] for e in envs], ["dev", "prod", "staging"])
        prod = a.get("/api/v1/environments/prod").json()["policy"]
        self.assertEqual((prod["approvals_required"], prod["replicas"], prod["max_replicas"]),
                         (2, 3, 10))
        # The router: nothing deployed, no credentials.
        r = a.post("/serve/bad-proj/staging/predict", json={"instances": self.rows[:1]})
        self.assertError(r, 503)
        r = requests.post(self.server.url("/serve/bad-proj/dev/predict"), json={}, timeout=10)
        self.assertError(r, 401)
        # Deciding on a deployment that is not waiting for approval: 409; rollback of the
        # first LIVE one: nothing to roll back to.
        d = self.deploy("alice", "bad-proj", "badm", 1, "dev")
        d = self.wait(d["id"])
        self.assertError(self.users["sam"].post(f"/api/v1/deployments/{d['id']}/approve",
                                                json={}), 409)
        r = self.users["alice"].post(f"/api/v1/deployments/{d['id']}/rollback", json={})
        self.assertError(r, 409)
        self.assertIn("no earlier version", r.json()["message"])
        # A rejected deployment ends REJECTED with the reason.
        d = self.deploy("pat", "bad-proj", "badm", 1, "staging")
        out = self.approve("sam", d["id"], verb="reject")
        self.assertEqual(out["status"], "REJECTED")
        self.assertIn("rejected by sam", out["error"])

    def cli(self, who, *args):
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.users[who].token}
        return run_cli(list(args), env=env, timeout=120)

    def children(self, model=""):
        """serve-model processes of the running control plane: {pid: args}."""
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(self.server.proc.pid)],
                             capture_output=True, text=True).stdout
        return {int(line.split(None, 1)[0]): line.split(None, 1)[1]
                for line in out.splitlines()
                if "serve-model" in line and f"models:/{model}" in line}

    def wait_router(self, project, env, version, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r = self.predict(project, env)
                if r.status_code == 200 and r.headers.get("X-Studio-Model-Version") == version:
                    return r
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.fail(f"/serve/{project}/{env} did not serve version {version} in {timeout}s")

    def test_restart_crash_and_cli(self):
        self.project_with_model("rs-proj", "rs", ["xgb", "xgb_v2"])
        # CLI: deploy --wait exits 0 when LIVE and prints the deployment.
        r = self.cli("alice", "deploy", "--model", "rs/1", "--env", "dev", "--project", "rs-proj",
                     "--wait", "--output", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["status"], "LIVE")
        self.assertIn("LIVE", r.stderr)  # progress lines
        r = self.cli("alice", "deployments", "list", "--env", "dev", "--project", "rs-proj",
                     "--output", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["items"][0]["model"], "rs")
        r = self.cli("pat", "deploy", "--model", "rs/1", "--env", "staging", "--output", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        dep_id = json.loads(r.stdout)["id"]
        r = self.cli("pat", "approve", dep_id)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("requester", r.stderr)
        r = self.cli("sam", "approve", dep_id, "--comment", "looks good")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.wait(dep_id)["status"], "LIVE")
        r = self.cli("alice", "deploy", "--model", "rs@nope", "--env", "dev")
        self.assertEqual(r.returncode, 1)
        self.assertIn("alias", r.stderr)

        # A slot process that dies is restarted (with backoff) and serves again.
        before = self.children("rs/")
        self.assertEqual(len(before), 2, before)
        dev_pid = min(before)  # dev started first
        os.kill(dev_pid, signal.SIGKILL)
        self.wait_router("rs-proj", "dev", "1", timeout=30)
        self.assertNotIn(dev_pid, self.children("rs/"))

        # A canary in flight when the control plane stops is failed clearly on restart; the
        # LIVE versions are started again and the old children are gone (no orphans).
        r = self.server.admin.put("/api/v1/environments/staging",
                                  json={"analysis": {"window_seconds": 120}})
        self.assertStatus(r, 200)
        d2 = self.deploy("quinn", "rs-proj", "rs", 2, "staging")
        self.approve("sam", d2["id"])
        self.wait(d2["id"], statuses={"CANARY"})
        self.assertEqual(len(self.children("rs/")), 3)
        old = set(self.children())
        self.assertEqual(self.server.restart(), 0)  # SIGTERM: drained, slots stopped, exit 0
        for pid in old:
            self.assertFalse(os.path.exists(f"/proc/{pid}") and
                             "serve-model" in Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
                             and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z",
                             f"serve-model {pid} outlived the control plane")
        self.wait_router("rs-proj", "dev", "1")
        self.wait_router("rs-proj", "staging", "1")
        d2 = self.server.admin.get(f"/api/v1/deployments/{d2['id']}").json()
        self.assertEqual(d2["status"], "FAILED", d2)
        self.assertIn("control plane stopped", d2["error"])
        r = self.server.admin.put("/api/v1/environments/staging",
                                  json={"analysis": {"window_seconds": 4}})
        self.assertStatus(r, 200)


class EcsTargetWiringTests(StudioTestCase):
    """STUDIO_DEPLOY_TARGET=ecs: the same state machine drives the ECS target. A local endpoint
    plays AWS, records the signed calls and refuses RegisterTaskDefinition; the deployment ends
    FAILED with AWS's message and nothing was routed."""

    start_class_server = False

    def test_state_machine_drives_the_ecs_target(self):
        calls = []

        class FakeAws(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                calls.append((self.headers.get("X-Amz-Target", ""),
                              self.headers.get("Authorization", ""), body))
                out = json.dumps({"__type": "ClientException",
                                  "message": "no Fargate capacity in this test account"}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeAws)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        self.addCleanup(fake.shutdown)
        cfg = os.path.join(self.tmp, "ecs.json")
        infra = {"image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0",
                 "cluster": "mlops", "subnets": ["subnet-0a1b2c3d"],
                 "security_groups": ["sg-0123456789abcdef0"],
                 "execution_role_arn": "arn:aws:iam::111122223333:role/studio-task-execution",
                 "vpc_id": "vpc-0abc",
                 "listener_arn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/"
                                 "app/studio-dev/50dc6c495c0c9188/f2f7dc8efc522ab2",
                 "control_plane_url": "https://studio.example.com",
                 "token_secret_arn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:tok"}
        with open(cfg, "w") as f:
            endpoint = f"http://127.0.0.1:{fake.server_port}"
            json.dump({"region": "us-east-1",
                       "endpoints": {k: endpoint for k in ("ecs", "elbv2", "autoscaling",
                                                           "monitoring")},
                       "environments": {"dev": infra}}, f)
        srv = self.new_server(env={"STUDIO_DEPLOY_TARGET": "ecs", "STUDIO_DEPLOY_ECS_CONFIG": cfg,
                                   "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                   "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
        token = srv.make_token(srv.login("admin", srv.admin_password), "ecs")
        self.assertStatus(srv.admin.post("/api/v1/projects", json={"name": "ecs-proj"}), 201)
        fixture_dir, _ = fixtures()
        r = run_cli(["model", "register", "--project", "ecs-proj", "--name", "scorer", "--path",
                     os.path.join(fixture_dir, "xgb")],
                    env={"STUDIO_SERVER": srv.base, "STUDIO_TOKEN": token}, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = srv.admin.post("/api/v1/deployments", json={"model": "scorer", "version": 1,
                                                        "environment": "dev"})
        self.assertStatus(r, 202)
        dep_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            d = srv.admin.get(f"/api/v1/deployments/{dep_id}").json()
            if d["status"] in TERMINAL:
                break
            time.sleep(0.2)
        self.assertEqual(d["status"], "FAILED", d)
        self.assertIn("no Fargate capacity in this test account", d["error"])
        self.assertEqual(d["live"]["target"], "ecs")
        # (GET /deployments/{id} may also ask CloudWatch for the slot's figures.)
        registers = [c for c in calls if c[0].endswith(".RegisterTaskDefinition")]
        self.assertEqual(len(registers), 1, [c[0] for c in calls])
        target, authz, body = registers[0]
        self.assertTrue(authz.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), authz)
        self.assertIn("serve-model", body.decode())
        self.assertIn("models:/scorer/1", body.decode())


if __name__ == "__main__":
    unittest.main()
