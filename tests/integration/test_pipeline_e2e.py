"""The whole canonical pipeline, end to end, with the real stage bodies (issue 6): a real
`studio serve` runs the 9 stages of the spec `studio pipeline init` writes — filled in with a CSV
dataset written here and the xgboost fixture model package of tests/serving/fixtures.py — as
`studio run-stage` children, started both with `studio pipeline run FILE --wait` (the CLI) and
with POST /api/v1/runs. Checked: every stage succeeds once, outputs chain (dataset digests in the
model version's lineage, a LIVE dev deployment, realtime requests through /serve/<project>/dev/,
batch predictions equal to xgboost's own, a drift report, the commit-status payload), logs are
readable, and a broken stage fails the run at that stage with downstream stages skipped.

The server runs in the "model repository" checkout (its working directory), so the spec's
relative `source` and `package` paths resolve there, as they do for `studio run-stage`."""

import csv
import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid

from harness import (ADMIN_PASSWORD, REPO_ROOT, StudioServer, StudioTestCase, list_all,
                     run_cli)

sys.path.insert(0, str(REPO_ROOT / "tests" / "serving"))
from serving_harness import fixtures  # noqa: E402

STAGES = ["ingest", "prepare", "features", "register", "deploy", "realtime", "batch", "monitor",
          "enforce"]
GIT_SHA = "e2e0" + "1" * 36


class PipelineEndToEndTests(StudioTestCase):
    start_class_server = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fixture_dir, cls.expected = fixtures()
        # The model's repository: data, the model package and (later) the spec.
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(os.path.join(cls.repo, "data"))
        shutil.copytree(os.path.join(cls.fixture_dir, "xgb"), os.path.join(cls.repo, "model"))
        with open(os.path.join(cls.repo, "data", "training.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cls.expected["columns"])
            for row in cls.expected["rows"]:  # 64 rows; row 3 has a missing f2
                w.writerow(["" if v is None else repr(v) for v in row])

        cls.store = cls.make_store()
        cls.bootstrap_out = cls.store.bootstrap()
        cls.server = StudioServer(cls.store, cwd=cls.repo)
        cls.server.admin_password = cls.bootstrap_out.get("password", ADMIN_PASSWORD)
        cls.server.start()
        srv = cls.server
        cls.api = srv.admin
        cls.project = "e2e-" + uuid.uuid4().hex[:8]
        r = cls.api.post("/api/v1/projects", json={"name": cls.project})
        assert r.status_code == 201, r.text
        # Runs are started by an ml_engineer: the stage tokens act for them (register, deploy
        # to dev).
        u = srv.create_user("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        cls.eng_name = u["username"]
        cls.eng_token = srv.token_for(u["username"], u["password"])
        cls.eng = srv.token_client(cls.eng_token)
        cls.artifacts = os.path.join(cls.store.data_dir, "artifacts")

    # -- helpers -------------------------------------------------------------------------------

    def spec(self, name, model, required_columns=("f0", "f1", "f2")):
        """`studio pipeline init`'s canonical spec with this test's real parameters."""
        path = os.path.join(self.repo, f"{name}.yaml")
        r = run_cli(["pipeline", "init", "--name", name, "--project", self.project, "--output",
                     path, "--force"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path) as f:
            text = f.read()
        # The data stages: the fixture's columns (the init template's are an example).
        text = self.replace_once(
            text, "        nulls: drop\n",
            "        required_columns: [" + ", ".join(required_columns) + "]\n"
            "        casts: {f0: float, f1: float}\n        nulls: drop\n")
        text = self.replace_once(
            text, "          - {name: log_amount, expr: log(amount)}\n"
                  "          - {name: amount_per_item, expr: amount / items}\n",
            "          - {name: f0, expr: f0}\n          - {name: f1, expr: f1}\n"
            "          - {name: f3_bucket, expr: 'bucketize(f3, [-1, 0, 1])'}\n")
        text = self.replace_once(text, f"        model_name: {name}\n",
                                 f"        model_name: {model}\n")
        # No waiting 10-30 s between attempts in a test.
        text = text.replace("interval_seconds: 10", "interval_seconds: 1")
        text = text.replace("interval_seconds: 30", "interval_seconds: 1")
        self.assertIn("source: data/training.csv", text)
        self.assertIn("package: model/", text)
        self.assertIn("environment: dev", text)
        self.assertIn("strategy: direct", text)
        with open(path, "w") as f:
            f.write(text)
        r = run_cli(["pipeline", "validate", path, "--server", self.server.base, "--token",
                     self.eng_token])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return path, text

    def replace_once(self, text, old, new):
        self.assertEqual(text.count(old), 1, f"the init template changed: {old!r}")
        return text.replace(old, new)

    def wait_run(self, run_id, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.api.get(f"/api/v1/runs/{run_id}")
            self.assertStatus(r, 200)
            run = r.json()
            if run["status"] in ("succeeded", "failed", "cancelled"):
                return run
            time.sleep(0.25)
        self.fail(f"run {run_id} did not finish in {timeout}s: {json.dumps(run)[:3000]}")

    def log_of(self, run_id, stage):
        r = self.eng.get(f"/api/v1/runs/{run_id}/stages/{stage}/logs")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
        return r.text

    def artifact(self, path):
        with open(os.path.join(self.artifacts, path), "rb") as f:
            return f.read()

    def slot_requests(self, model, version):
        """studio_deploy_slot_requests_total of the dev slots serving model/version."""
        total = 0.0
        for line in self.server.client().get("/metrics").text.splitlines():
            if not line.startswith("studio_deploy_slot_requests_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if (labels.get("project"), labels.get("environment"), labels.get("model"),
                    labels.get("version")) == (self.project, "dev", model, str(version)):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def check_succeeded_run(self, run, model):
        """Everything a successful canonical run must have produced."""
        detail = json.dumps(run)[:4000]
        self.assertEqual(run["status"], "succeeded", detail)
        self.assertEqual([s["id"] for s in run["stages"]], STAGES)
        st = {s["id"]: s for s in run["stages"]}
        for s in run["stages"]:
            self.assertEqual((s["status"], s["attempt"], len(s["attempts"])),
                             ("succeeded", 1, 1), s)
            self.assertEqual(s["outputs"]["stage"], s["id"])
            self.assertEqual(s["outputs"]["type"], s["type"])
            log = self.log_of(run["id"], s["id"])
            self.assertIn(f"run-stage: run {run['id']} stage {s['id']}", log)
            self.assertIn("run-stage: succeeded", log)
        out = {k: v["outputs"] for k, v in st.items()}

        # Data: 64 rows, the NaN row dropped, split 31 / 32 in file order.
        self.assertEqual(out["ingest"]["rows"], 64)
        self.assertEqual(out["prepare"]["dropped_null_rows"], 1)
        self.assertEqual(out["prepare"]["reference"]["rows"], 31)
        self.assertEqual(out["prepare"]["current"]["rows"], 32)
        ds = out["ingest"]["dataset"]
        self.assertEqual(hashlib.sha256(self.artifact(ds["path"])).hexdigest(), ds["sha256"])
        self.assertEqual([c["name"] for c in out["features"]["features"]],
                         ["f0", "f1", "f3_bucket"])

        # The registered version: lineage names the run, the commit and every dataset digest.
        reg = out["register"]
        self.assertEqual((reg["model_name"], reg["flavor"]), (model, "xgboost"))
        v = self.eng.get(f"/api/v1/models/{model}/versions/{reg['version']}")
        self.assertStatus(v, 200)
        v = v.json()
        self.assertEqual(v["run_id"], run["id"])
        self.assertEqual(v["lineage"]["git_commit"], GIT_SHA)
        want = {}  # every dataset of the stages that finished before it
        for sid in ("ingest", "prepare", "features"):
            for name, digest in out[sid].get("datasets", {}).items():
                want[f"{sid}.{name}"] = digest
        self.assertEqual(v["lineage"]["dataset_digests"], want)
        for key in ("ingest.dataset", "prepare.reference", "prepare.current"):
            self.assertIn(key, want)
        self.assertEqual(want["ingest.dataset"], out["ingest"]["sha256"])
        self.assertEqual(v["tags"].get("studio.pipeline_run"), run["id"])

        # A LIVE dev deployment of exactly that version.
        dep = out["deploy"]
        self.assertEqual((dep["status"], dep["environment"], dep["strategy"]),
                         ("LIVE", "dev", "direct"))
        d = self.eng.get(f"/api/v1/deployments/{dep['deployment_id']}")
        self.assertStatus(d, 200)
        d = d.json()
        self.assertEqual(d["status"], "LIVE")
        self.assertEqual(d["requested_by"], self.eng_name)
        created = [ev for ev in list_all(self.api, "/api/v1/audit",
                                         {"resource_id": dep["deployment_id"]})
                   if ev["action"] == "deployment.create"]
        self.assertEqual(len(created), 1, created)
        self.assertEqual(created[0]["details"]["pipeline_run_id"], run["id"])
        self.assertEqual((d["project"], d["environment"], str(d["version"])),
                         (self.project, "dev", str(reg["version"])))

        # realtime-inference went through the control plane's router for the project's dev.
        rt = out["realtime"]
        self.assertEqual(rt["endpoint"],
                         f"{self.server.base}/serve/{self.project}/dev/invocations")
        self.assertEqual((rt["rows"], rt["predictions"]), (20, 20))
        # The slot served them (plus the deployment controller's one smoke-test request).
        self.assertIn(self.slot_requests(model, reg["version"]), (20, 21))

        # batch-inference: xgboost's own predictions of the current split (fixture rows 32..63).
        b = out["batch"]
        self.assertEqual(b["path"], f"runs/{run['id']}/batch/predictions/batch.csv")
        data = self.artifact(b["path"])
        self.assertEqual(b["sha256"], hashlib.sha256(data).hexdigest())
        lines = data.decode().splitlines()
        self.assertEqual(lines[0], "prediction")
        got = [float(x) for x in lines[1:]]
        want_preds = self.expected["xgb"][32:]
        self.assertEqual(len(got), len(want_preds))
        for g, w in zip(got, want_preds):
            self.assertLessEqual(abs(g - w), 1e-6, (g, w))

        # model-monitoring: a drift report of the three features.
        m = out["monitor"]
        report = json.loads(self.artifact(m["report_path"]))
        self.assertEqual(hashlib.sha256(self.artifact(m["report_path"])).hexdigest(),
                         m["report_sha256"])
        self.assertEqual(m["evaluated"], 3)
        self.assertEqual(report["reference_rows"], 31)
        self.assertEqual(report["current_rows"], 32)
        self.assertIn(b"<svg", self.artifact(m["html_report_path"]))

        # cicd-enforcement: the commit-status payload, from the run's own spec snapshot.
        e = out["enforce"]
        status = e["commit_status"]
        self.assertEqual(status["state"], "success")
        self.assertEqual(status["context"], "mlops-studio/pipeline")
        self.assertEqual(status["target_url"], f"{self.server.base}/runs/{run['id']}")
        self.assertEqual(json.loads(self.artifact(e["commit_status_path"])), status)
        self.assertEqual(e["stages_checked"], 8)
        self.assertEqual(e["spec_source"], f"/api/v1/runs/{run['id']}")
        return out

    # -- tests ---------------------------------------------------------------------------------

    def test_cli_and_api_runs_of_the_canonical_pipeline_succeed_with_chained_outputs(self):
        model = "churn-xgb"
        path, text = self.spec("churn", model)
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token}
        # The real CLI, from the repository checkout.
        r = run_cli(["pipeline", "run", path, "--wait", "--git-sha", GIT_SHA], env=env,
                    timeout=300, cwd=self.repo)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"run ([0-9a-f-]{36}) started", r.stderr)
        self.assertTrue(m, r.stderr)
        run_id = m.group(1)
        # Not a terminal: one line per change, then the final stage table.
        for sid in STAGES:
            self.assertRegex(r.stdout, rf"(?m)^{sid}\s+\S+\s+succeeded\s+1/\d+\s")
        self.assertRegex(r.stdout, rf"(?m)^run {run_id}: succeeded in ")
        run = self.wait_run(run_id)
        self.assertEqual(run["git_sha"], GIT_SHA)
        self.assertEqual(run["spec_yaml"], text)
        out1 = self.check_succeeded_run(run, model)
        self.assertEqual(out1["register"]["version"], "1")

        # The same spec through the API: the next model version replaces the first in dev.
        r = self.eng.post("/api/v1/runs", json={"spec": text, "git_sha": GIT_SHA})
        self.assertStatus(r, 202)
        run2 = self.wait_run(r.json()["id"])
        out2 = self.check_succeeded_run(run2, model)
        self.assertEqual(out2["register"]["version"], "2")
        # The same data gives the same digests; the first deployment is superseded by the second.
        self.assertEqual(out2["ingest"]["sha256"], out1["ingest"]["sha256"])
        self.assertEqual(out2["prepare"]["datasets"], out1["prepare"]["datasets"])
        old = self.eng.get(f"/api/v1/deployments/{out1['deploy']['deployment_id']}").json()
        self.assertEqual(old["superseded_by"], out2["deploy"]["deployment_id"])
        new = self.eng.get(f"/api/v1/deployments/{out2['deploy']['deployment_id']}").json()
        self.assertEqual(new["superseded_by"], "")
        # Requests to dev are now answered by version 2.
        row = self.expected["rows"][40]
        r = self.server.client().post(
            f"/serve/{self.project}/dev/invocations",
            headers={"Authorization": "Bearer " + self.eng_token},
            json={"dataframe_split": {"columns": self.expected["columns"], "data": [row]}})
        self.assertStatus(r, 200)
        self.assertLessEqual(abs(r.json()["predictions"][0] - self.expected["xgb"][40]), 1e-6)

        # The run list has both, and both are audited.
        runs = list_all(self.eng, "/api/v1/runs", {"project": self.project,
                                                    "status": "succeeded"})
        self.assertTrue({run_id, run2["id"]} <= {x["id"] for x in runs})

    def test_a_broken_stage_fails_the_run_there_and_skips_downstream(self):
        path, text = self.spec("broken", "broken-xgb",
                               required_columns=("f0", "no_such_column"))
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token}
        r = run_cli(["pipeline", "run", path, "--wait"], env=env, timeout=300, cwd=self.repo)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        run_id = re.search(r"run ([0-9a-f-]{36}) started", r.stderr).group(1)
        self.assertRegex(r.stdout, r"(?m)^prepare\s+\S+\s+failed\s+")
        self.assertIn("no_such_column", r.stdout)
        self.assertRegex(r.stdout, rf"(?m)^run {run_id}: failed")
        run = self.wait_run(run_id)
        self.assertEqual(run["status"], "failed")
        st = {s["id"]: s for s in run["stages"]}
        self.assertEqual(st["ingest"]["status"], "succeeded")
        # The stage's own retry is 1 attempt (the template sets none for prepare).
        self.assertEqual(st["prepare"]["status"], "failed")
        self.assertIn("no_such_column", st["prepare"]["error"])
        for sid in STAGES[2:]:
            self.assertEqual(st[sid]["status"], "skipped", st[sid])
            self.assertEqual(st[sid]["attempts"], [], st[sid])
        log = self.log_of(run_id, "prepare")
        self.assertIn("no_such_column", log)
        self.assertIn("run-stage: failed", log)
        # Nothing was registered or deployed for it.
        r = self.eng.get("/api/v1/models/broken-xgb")
        self.assertStatus(r, 404)

    def test_logs_and_runs_refuse_bad_input(self):
        self.assertError(self.eng.get("/api/v1/runs/no-such-run/stages/ingest/logs"), 404)
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": 42}), 400)
        # The deployments API takes the stage's pipeline_run_id, as a string only.
        self.assertError(self.eng.post("/api/v1/deployments", json={
            "project": self.project, "model": "x", "version": 1, "environment": "dev",
            "pipeline_run_id": 7}), 400, field="pipeline_run_id")
        bad = self.spec("badref", "bad-xgb")[1].replace("source: data/training.csv",
                                                        "source: ../outside.csv")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": bad}), 400)
        # A missing file fails ingest at run time, naming it.
        missing = self.spec("missing", "missing-xgb")[1].replace(
            "source: data/training.csv", "source: data/absent.csv")
        r = self.eng.post("/api/v1/runs", json={"spec": missing})
        self.assertStatus(r, 202)
        run = self.wait_run(r.json()["id"])
        st = {s["id"]: s for s in run["stages"]}
        self.assertEqual(run["status"], "failed")
        self.assertEqual(st["ingest"]["attempt"], 3)  # the template's 3 attempts
        self.assertIn("data/absent.csv", st["ingest"]["error"])
        self.assertEqual({st[s]["status"] for s in STAGES[1:]}, {"skipped"})

    def test_a_stage_sees_only_its_upstream_outputs(self):
        """`other` (a second ingestion nobody needs) finishes long before `register` starts, but
        is not upstream of it: the version's lineage holds only its own chain's datasets."""
        with open(os.path.join(self.repo, "data", "other.csv"), "w") as f:
            f.write("a,b\n1,2\n3,4\n")
        spec = "\n".join([
            "apiVersion: mlops-studio/v1", "kind: Pipeline", "metadata:", "  name: branches",
            f"  project: {self.project}", "spec:", "  stages:",
            "    - {id: ingest, type: data-ingestion, with: {source: data/training.csv}}",
            "    - {id: other, type: data-ingestion, with: {source: data/other.csv}}",
            "    - {id: prepare, type: data-preparation, needs: [ingest], with: {nulls: drop}}",
            "    - {id: register, type: model-registry, needs: [prepare],"
            " with: {model_name: branches-xgb, package: model/}}", ""])
        r = self.eng.post("/api/v1/runs", json={"spec": spec})
        self.assertStatus(r, 202)
        run = self.wait_run(r.json()["id"])
        self.assertEqual(run["status"], "succeeded", json.dumps(run)[:3000])
        st = {s["id"]: s for s in run["stages"]}
        self.assertLessEqual(st["other"]["finished_at"], st["register"]["started_at"])
        v = self.eng.get(f"/api/v1/models/branches-xgb/versions/"
                         f"{st['register']['outputs']['version']}").json()
        self.assertEqual(sorted(v["lineage"]["dataset_digests"]),
                         ["ingest.dataset", "prepare.current", "prepare.reference"])

    def test_deployments_api_takes_the_stage_canary_percent(self):
        """model-deployment sends `canary_percent` with strategy canary (its contract test is in
        test_pipeline_stages.py); the deployments API applies it to this deployment's canary step
        instead of the environment policy's. Its own server: the dev policy changes here."""
        srv = self.new_server()
        admin = srv.admin
        token = srv.make_token(srv.login("admin", srv.admin_password), "canary")
        self.assertStatus(admin.post("/api/v1/projects", json={"name": "canary"}), 201)
        env = {"STUDIO_SERVER": srv.base, "STUDIO_TOKEN": token}
        for _ in range(2):
            r = run_cli(["model", "register", "--project", "canary", "--name", "cm", "--path",
                         os.path.join(self.fixture_dir, "xgb")], env=env, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # A long analysis that needs far more traffic than comes: the canary stays at its step.
        r = admin.put("/api/v1/environments/dev", json={"policy": {
            "allowed_strategies": ["direct", "canary"],
            "analysis": {"window_seconds": 600, "interval_seconds": 1, "min_requests": 100000}}})
        self.assertStatus(r, 200)
        base = {"project": "canary", "model": "cm", "environment": "dev"}
        for bad in ({"version": 1, "strategy": "direct", "canary_percent": 30},
                    {"version": 1, "canary_percent": 30},  # dev's default strategy is direct
                    {"version": 1, "strategy": "canary", "canary_percent": 100},
                    {"version": 1, "strategy": "canary", "canary_percent": 0},
                    {"version": 1, "strategy": "canary", "canary_percent": "30"}):
            self.assertError(admin.post("/api/v1/deployments", json=dict(base, **bad)), 400,
                             field="canary_percent")
        r = admin.post("/api/v1/deployments", json=dict(base, version=1, strategy="direct"))
        self.assertStatus(r, 202)
        first = r.json()["id"]
        self.wait_deployment(admin, first, ("LIVE",))
        r = admin.post("/api/v1/deployments", json=dict(base, version=2, strategy="canary",
                                                        canary_percent=30,
                                                        pipeline_run_id="run-x"))
        self.assertStatus(r, 202)
        d = self.wait_deployment(admin, r.json()["id"], ("CANARY",))
        self.assertEqual(d["policy"]["canary_percent"], 30)
        self.assertEqual(sorted(d["weights"].values()), [30, 70])

    def wait_deployment(self, client, dep_id, statuses, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = client.get(f"/api/v1/deployments/{dep_id}").json()
            if d["status"] in statuses:
                return d
            self.assertNotIn(d["status"], ("FAILED", "ROLLED_BACK", "REJECTED"), d)
            time.sleep(0.1)
        self.fail(f"deployment {dep_id} never reached {statuses}: {d}")


if __name__ == "__main__":
    import unittest
    unittest.main()
