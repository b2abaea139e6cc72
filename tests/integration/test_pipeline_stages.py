"""The control-plane stages (model-registry, model-deployment, realtime-inference,
batch-inference, model-monitoring's alarms, cicd-enforcement) run for real against a real
`studio serve`, through the `studio-stage-exec` driver (built next to `studio`), on the
xgboost fixture model of tests/serving/fixtures.py."""

import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

from harness import REPO_ROOT, STUDIO_BIN, StudioTestCase, run_cli

sys.path.insert(0, str(REPO_ROOT / "tests" / "serving"))
from serving_harness import ModelServerProcess, fixtures  # noqa: E402

STAGE_EXEC = os.path.join(os.path.dirname(STUDIO_BIN), "studio-stage-exec")
PROJECT = "stages-proj"
PIPELINE = "stages-pipe"
GIT_SHA = "c0ffee" + "0" * 34


class PipelineStagesTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(STAGE_EXEC):
            raise RuntimeError(f"{STAGE_EXEC} is not built (ninja studio-stage-exec)")
        super().setUpClass()
        srv = cls.server
        cls.token = srv.make_token(srv.login("admin", srv.admin_password), "stages")
        r = srv.admin.post("/api/v1/projects", json={"name": PROJECT})
        assert r.status_code == 201, r.text
        cls.fixture_dir, cls.expected = fixtures()
        cls.artifacts_dir = os.path.join(cls.store.data_dir, "artifacts")
        os.makedirs(cls.artifacts_dir, exist_ok=True)
        # The fixture's 64 test rows (one NaN) as the pipeline's data.
        cls.data_csv = os.path.join(cls.tmp, "data.csv")
        with open(cls.data_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cls.expected["columns"])
            for row in cls.expected["rows"]:
                w.writerow(["" if v is None else repr(v) for v in row])

    # -- driver --------------------------------------------------------------------------------

    def stage(self, type_, id_, with_, upstream=None, run="run-it", token=None, env=None,
              needs=None, expect_ok=True):
        args = [STAGE_EXEC, "--type", type_, "--id", id_, "--with", json.dumps(with_),
                "--upstream", json.dumps(upstream or {}), "--run", run, "--project", PROJECT,
                "--pipeline", PIPELINE, "--git-sha", GIT_SHA,
                "--artifacts", "file://" + self.artifacts_dir,
                "--server", self.server.base, "--token", token or self.token]
        if needs:
            args += ["--needs", ",".join(needs)]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        full_env["STUDIO_DEPLOY_POLL_MS"] = "50"
        full_env.update(env or {})
        r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=full_env,
                           cwd=self.tmp)
        if expect_ok:
            self.assertEqual(r.returncode, 0, f"{type_} failed:\n{r.stderr}")
            return json.loads(r.stdout)
        self.assertEqual(r.returncode, 1, f"{type_} should have failed:\n{r.stdout}\n{r.stderr}")
        return r.stderr

    def data_chain(self, run):
        up = {}
        up["ingest"] = self.stage("data-ingestion", "ingest", {"source": self.data_csv}, run=run)
        up["prepare"] = self.stage("data-preparation", "prepare",
                                   {"nulls": "keep", "reference_fraction": 0.5}, up, run=run)
        return up

    def register(self, up, run, name="stages-model"):
        out = self.stage("model-registry", "register",
                         {"model_name": name, "package": os.path.join(self.fixture_dir, "xgb"),
                          "description": "from the pipeline"}, up, run=run)
        up = dict(up, register=out)
        return up, out

    # -- tests ---------------------------------------------------------------------------------

    def test_registry_records_lineage_and_batch_scores_with_the_registered_model(self):
        up = self.data_chain("run-batch")
        self.assertEqual(up["ingest"]["rows"], 64)
        self.assertEqual(up["prepare"]["reference"]["rows"], 32)
        self.assertEqual(up["prepare"]["current"]["rows"], 32)
        up, reg = self.register(up, "run-batch")
        self.assertEqual(reg["flavor"], "xgboost")
        v = self.server.admin.get(f"/api/v1/models/stages-model/versions/{reg['version']}").json()
        self.assertEqual(v["run_id"], "run-batch")
        self.assertEqual(v["lineage"]["git_commit"], GIT_SHA)
        self.assertEqual(v["lineage"]["dataset_digests"], {
            "ingest.dataset": up["ingest"]["sha256"],
            "prepare.reference": up["prepare"]["reference"]["sha256"],
            "prepare.current": up["prepare"]["current"]["sha256"]})
        self.assertEqual(sorted(v["lineage"]["file_digests"]), ["MLmodel", "model.json"])
        self.assertEqual(v["tags"].get("studio.pipeline_run"), "run-batch")
        self.assertEqual(v["description"], "from the pipeline")

        out = self.stage("batch-inference", "batch",
                         {"output": "predictions/batch.csv", "batch_size": 7}, up, run="run-batch")
        self.assertEqual(out["rows"], 32)
        self.assertEqual(out["batches"], 5)
        self.assertEqual(out["path"], "runs/run-batch/batch/predictions/batch.csv")
        with open(os.path.join(self.artifacts_dir, out["path"]), "rb") as f:
            data = f.read()
        self.assertEqual(out["sha256"], hashlib.sha256(data).hexdigest())
        lines = data.decode().splitlines()
        self.assertEqual(lines[0], "prediction")
        got = [float(x) for x in lines[1:]]
        want = self.expected["xgb"][32:]
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertLessEqual(abs(g - w), 1e-6, (g, w))

        # Traversal in the output path and an unknown version are refused clearly.
        err = self.stage("batch-inference", "batch", {"output": "../../x.csv"}, up,
                         expect_ok=False)
        self.assertIn("output '../../x.csv'", err)
        bad = dict(up, register=dict(reg, version="999"))
        err = self.stage("batch-inference", "batch", {"output": "p.csv"}, bad, expect_ok=False)
        self.assertIn("error:", err)
        self.assertIn("999", err)

    def test_registry_refuses_bad_token_and_bad_package(self):
        up = self.data_chain("run-bad")
        err = self.stage("model-registry", "register",
                         {"model_name": "m2", "package": os.path.join(self.fixture_dir, "xgb")},
                         up, token="not-a-token", expect_ok=False)
        self.assertIn("error:", err)
        empty = tempfile.mkdtemp(dir=self.tmp)
        err = self.stage("model-registry", "register", {"model_name": "m2", "package": empty},
                         up, expect_ok=False)
        self.assertIn("model package", err)
        self.assertIn("MLmodel", err)

    def test_deployment_fails_clearly_without_the_deployments_api(self):
        up = self.data_chain("run-deploy")
        up, reg = self.register(up, "run-deploy")
        r = self.server.admin.post("/api/v1/deployments", json={})
        if r.status_code != 404 or r.json().get("error_code") != "ENDPOINT_NOT_FOUND":
            self.skipTest("this control plane has a deployments API")
        err = self.stage("model-deployment", "deploy", {"environment": "dev"}, up,
                         run="run-deploy", expect_ok=False)
        self.assertIn("deployments API is not available on this control plane", err)
        # The default realtime endpoint (the deployment's route) does not exist either: a
        # clear HTTP failure, not a pass.
        up["deploy"] = {"type": "model-deployment", "environment": "dev", "deployment_id": "x"}
        err = self.stage("realtime-inference", "realtime", {"sample_rows": 3}, up,
                         run="run-deploy", expect_ok=False)
        self.assertIn(f"/serve/{PROJECT}/dev/invocations", err)
        self.assertIn("HTTP 404", err)

    def test_realtime_inference_smoke_tests_a_serving_endpoint(self):
        up = self.data_chain("run-rt")
        up, reg = self.register(up, "run-rt")
        srv = ModelServerProcess(["--model", os.path.join(self.fixture_dir, "xgb"), "--name",
                                  "stages-model", "--model-version", reg["version"]])
        self.addCleanup(srv.stop)
        srv.wait_ready()
        out = self.stage("realtime-inference", "realtime",
                         {"sample_rows": 5, "endpoint": srv.url("/invocations"),
                          "max_latency_ms": 600000}, up, run="run-rt")
        self.assertEqual(out["rows"], 5)
        self.assertEqual(out["predictions"], 5)
        for k in ("mean", "p50", "p95", "p99", "max"):
            self.assertGreater(out["latency_ms"][k], 0)
        self.assertLessEqual(out["latency_ms"]["p50"], out["latency_ms"]["max"])
        # Any non-2xx answer fails the stage.
        err = self.stage("realtime-inference", "realtime",
                         {"sample_rows": 2, "endpoint": srv.url("/no-such-route")}, up,
                         run="run-rt", expect_ok=False)
        self.assertIn("answered HTTP 404", err)

    def test_monitoring_runs_the_models_monitors_on_drift(self):
        up = self.data_chain("run-mon")
        up, reg = self.register(up, "run-mon", name="monitored-model")
        up["features"] = self.stage(
            "feature-store", "features",
            {"features": [{"name": "f0", "expr": "f0"}, {"name": "f1", "expr": "f1"}],
             "table": "stages"}, up, run="run-mon")
        ref_path = up["features"]["reference_path"]
        r = self.server.admin.post("/api/v1/monitors", json={
            "project": PROJECT, "name": "stage-mon",
            "target": {"model": "monitored-model", "version": int(reg["version"])},
            "reference": {"path": ref_path},
            "current": {"kind": "csv", "path": up["features"]["current"]["path"]}})
        self.assertEqual(r.status_code, 201, r.text)
        monitor_id = r.json()["id"]
        # drift_threshold 10 on a p-value method: every feature counts as drifted.
        out = self.stage("model-monitoring", "monitor",
                         {"method": "ks", "drift_threshold": 10, "drift_share": 0.5}, up,
                         run="run-mon")
        self.assertTrue(out["dataset_drift"])
        self.assertEqual(out["alarm"]["model"], "monitored-model")
        mons = out["alarm"]["monitors"]
        self.assertEqual([m["id"] for m in mons], [monitor_id])
        self.assertEqual(mons[0]["status"], "succeeded")
        self.assertIn("drift_share", [a["kind"] for a in mons[0]["alarms"]])
        reports = self.server.admin.get(f"/api/v1/monitors/{monitor_id}/reports").json()
        self.assertEqual(len(reports["items"]), 1)
        self.assertTrue(os.path.exists(os.path.join(self.artifacts_dir, out["html_report_path"])))
        err = self.stage("model-monitoring", "monitor",
                         {"method": "ks", "drift_threshold": 10, "fail_on_drift": True}, up,
                         run="run-mon", expect_ok=False)
        self.assertIn("data drift detected", err)

    def test_cicd_enforcement_verifies_locks_and_emits_the_commit_status(self):
        spec_path = os.path.join(self.tmp, "studio-pipeline.yaml")
        r = run_cli(["pipeline", "init", "--name", PIPELINE, "--project", PROJECT, "--output",
                     spec_path, "--force"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(spec_path) as f:
            spec = f.read()
        ids = ["ingest", "prepare", "features", "register", "deploy", "realtime", "batch",
               "monitor"]
        done = {i: {"type": "x"} for i in ids}

        # Without the runs API and without a spec file: a clear failure.
        err = self.stage("cicd-enforcement", "enforce", {}, done, run="run-ci", expect_ok=False)
        self.assertIn("runs API", err)

        env = {"STUDIO_PIPELINE_SPEC_FILE": spec_path}
        out = self.stage("cicd-enforcement", "enforce", {}, done, run="run-ci", env=env)
        status = out["commit_status"]
        self.assertEqual(status["state"], "success")
        self.assertEqual(status["context"], "mlops-studio/pipeline")
        self.assertEqual(status["target_url"], self.server.base + "/runs/run-ci")
        self.assertLessEqual(len(status["description"]), 140)
        with open(os.path.join(self.artifacts_dir, out["commit_status_path"])) as f:
            self.assertEqual(json.load(f), status)
        self.assertEqual(out["stages_checked"], 8)

        # A stage that did not succeed fails the gate; the failure payload is still written.
        partial = {k: v for k, v in done.items() if k != "batch"}
        err = self.stage("cicd-enforcement", "enforce", {"status_context": "ci/x"}, partial,
                         run="run-ci2", env=env, expect_ok=False)
        self.assertIn("stages that did not succeed: batch", err)
        with open(os.path.join(self.artifacts_dir, "runs/run-ci2/enforce/commit_status.json")) as f:
            payload = json.load(f)
        self.assertEqual(payload["state"], "failure")
        self.assertEqual(payload["context"], "ci/x")

        # Lock a stage, then change it: the gate fails naming it (unless require_locks: false).
        r = self.server.admin.post(
            f"/api/v1/pipelines/{PROJECT}/{PIPELINE}/stages/ingest/lock", json={"spec": spec})
        self.assertIn(r.status_code, (200, 201), r.text)
        changed = spec.replace("source: data/training.csv", "source: data/other.csv")
        self.assertNotEqual(changed, spec)
        changed_path = os.path.join(self.tmp, "changed.yaml")
        with open(changed_path, "w") as f:
            f.write(changed)
        env2 = {"STUDIO_PIPELINE_SPEC_FILE": changed_path}
        err = self.stage("cicd-enforcement", "enforce", {}, done, run="run-ci3", env=env2,
                         expect_ok=False)
        self.assertIn("ingest", err)
        self.assertIn("locked", err)
        out = self.stage("cicd-enforcement", "enforce", {"require_locks": False}, done,
                         run="run-ci4", env=env2)
        self.assertEqual(out["commit_status"]["state"], "success")
        self.assertGreaterEqual(out["lock_errors_ignored"], 1)


if __name__ == "__main__":
    unittest.main()
