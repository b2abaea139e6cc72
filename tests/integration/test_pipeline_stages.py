"""The control-plane stages (model-registry, model-deployment, realtime-inference,
batch-inference, model-monitoring's alarms, cicd-enforcement) run for real against a real
`studio serve`, through the `studio-stage-exec` driver (built next to `studio`), on the
xgboost fixture model of tests/serving/fixtures.py."""

import csv
import hashlib
import json
import os
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import REPO_ROOT, STUDIO_BIN, StudioTestCase, run_cli, skip_unless_sqlite_run

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

        # Without a spec file and with no such run on the control plane: a clear failure.
        err = self.stage("cicd-enforcement", "enforce", {}, done, run="run-ci", expect_ok=False)
        self.assertRegex(err, "runs API|run 'run-ci' does not exist")

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


def run_stage_exec(args, env=None):
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("STUDIO_") and not k.startswith("AWS_")}
    full_env["STUDIO_DEPLOY_POLL_MS"] = "20"
    full_env.update(env or {})
    return subprocess.run([STAGE_EXEC] + args, capture_output=True, text=True, timeout=120,
                          env=full_env)


class _DeploymentsApi(http.server.BaseHTTPRequestHandler):
    """The deployments API's contract as the stage uses it (issue 7 builds the real one): POST
    creates, GET answers the next status of the scripted sequence for that model."""
    scripts = {}
    requests = []

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, body, self.headers.get("Authorization")))
        if self.path != "/api/v1/deployments":
            return self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "no route"})
        if body["model"] == "missing":
            return self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                    "message": "model version missing/1 does not exist"})
        steps = list(self.scripts[body["model"]])
        _DeploymentsApi.scripts[body["model"] + "#live"] = steps
        self.reply(202, {"id": "dep-" + body["model"], "status": steps.pop(0)})

    def do_GET(self):
        self.requests.append(("GET", self.path, None, self.headers.get("Authorization")))
        model = self.path.rsplit("dep-", 1)[-1]
        steps = self.scripts[model + "#live"]
        status = steps.pop(0) if len(steps) > 1 else steps[0]
        body = {"id": "dep-" + model, "status": status}
        if status in ("ROLLED_BACK", "FAILED", "REJECTED"):
            body["status_message"] = "canary error rate 0.2 > 0.05"
        self.reply(200, body)


@skip_unless_sqlite_run()
class DeploymentContractTests(unittest.TestCase):
    """model-deployment against a local endpoint speaking the deployments API contract."""

    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DeploymentsApi)
        cls.thread = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        cls.artifacts = tempfile.mkdtemp(prefix="stages-deploy-")

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        shutil.rmtree(cls.artifacts, ignore_errors=True)

    def deploy(self, model, with_=None):
        upstream = {"register": {"type": "model-registry", "model_name": model, "version": "3"}}
        return run_stage_exec(["--type", "model-deployment", "--id", "deploy", "--with",
                               json.dumps(with_ or {"environment": "staging", "strategy": "canary",
                                                    "canary_percent": 10}),
                               "--upstream", json.dumps(upstream), "--project", "p", "--run", "r9",
                               "--artifacts", "file://" + self.artifacts, "--server", self.base,
                               "--token", "tok"])

    def test_waits_through_approval_until_live(self):
        _DeploymentsApi.scripts["good"] = ["PENDING_APPROVAL", "PENDING_APPROVAL", "DEPLOYING",
                                           "LIVE"]
        _DeploymentsApi.requests.clear()
        r = self.deploy("good")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["deployment_id"], "dep-good")
        self.assertEqual(out["status"], "LIVE")
        self.assertIn("PENDING_APPROVAL — waiting for approvals", r.stderr)
        method, path, body, auth = _DeploymentsApi.requests[0]
        self.assertEqual((method, path, auth), ("POST", "/api/v1/deployments", "Bearer tok"))
        self.assertEqual(body, {"project": "p", "model": "good", "version": 3,
                                "environment": "staging", "strategy": "canary",
                                "canary_percent": 10, "pipeline_run_id": "r9"})
        gets = [r for r in _DeploymentsApi.requests if r[0] == "GET"]
        self.assertEqual(len(gets), 3)
        self.assertEqual(gets[0][1], "/api/v1/deployments/dep-good")

    def test_rolled_back_fails_with_the_reason(self):
        _DeploymentsApi.scripts["bad"] = ["DEPLOYING", "ROLLED_BACK"]
        r = self.deploy("bad")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("ended ROLLED_BACK: canary error rate 0.2 > 0.05", r.stderr)

    def test_a_missing_version_is_not_a_missing_api(self):
        r = self.deploy("missing")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("model version missing/1 does not exist", r.stderr)
        self.assertNotIn("not available", r.stderr)


class _ScoringEndpoint(http.server.BaseHTTPRequestHandler):
    """MLflow scoring endpoints with scripted behaviour: /slow sleeps 30 ms per request, /two
    answers two predictions for one row, /fail answers 503."""
    bodies = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append((self.path, body, self.headers.get("Authorization")))
        status, preds = 200, [0.5] * len(body["dataframe_split"]["data"])
        if self.path == "/slow/invocations":
            time.sleep(0.03)
        elif self.path == "/two/invocations":
            preds = [0.1, 0.2]
        elif self.path == "/fail/invocations":
            status = 503
        data = json.dumps({"predictions": preds}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@skip_unless_sqlite_run()
class RealtimeContractTests(unittest.TestCase):
    """realtime-inference's checks against a local scoring endpoint (no control plane: an
    `endpoint` without a model-registry stage sends every column)."""

    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ScoringEndpoint)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.base = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        cls.tmp = tempfile.mkdtemp(prefix="stages-rt-")
        data = os.path.join(cls.tmp, "d.csv")
        with open(data, "w") as f:
            f.write("x,y,label\n1,a,\n2,b,1\n3,c,0\n4,d,1\n")
        cls.up = {}
        for type_, id_, with_ in [("data-ingestion", "ingest", {"source": data}),
                                  ("data-preparation", "prepare", {"reference_fraction": 0.25})]:
            r = run_stage_exec(["--type", type_, "--id", id_, "--with", json.dumps(with_),
                                "--upstream", json.dumps(cls.up), "--run", "rt",
                                "--artifacts", "file://" + cls.tmp])
            assert r.returncode == 0, r.stderr
            cls.up[id_] = json.loads(r.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def realtime(self, with_):
        return run_stage_exec(["--type", "realtime-inference", "--id", "rt", "--with",
                               json.dumps(with_), "--upstream", json.dumps(self.up), "--run", "rt",
                               "--artifacts", "file://" + self.tmp, "--server",
                               "http://127.0.0.1:1", "--token", "secret-token"])

    def test_rows_are_sent_as_dataframe_split_without_the_control_plane_token(self):
        _ScoringEndpoint.bodies.clear()
        r = self.realtime({"endpoint": self.base + "/ok/invocations", "sample_rows": 10})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["rows"], out["predictions"]), (3, 3))
        self.assertEqual([b[1] for b in _ScoringEndpoint.bodies], [
            {"dataframe_split": {"columns": ["x", "y", "label"], "data": [[x, y, z]]}}
            for x, y, z in [(2.0, "b", 1.0), (3.0, "c", 0.0), (4.0, "d", 1.0)]])
        self.assertEqual({b[2] for b in _ScoringEndpoint.bodies}, {None})

    def test_p99_above_max_latency_fails(self):
        # Each answer takes at least 30 ms, so a 1 ms budget cannot be met.
        r = self.realtime({"endpoint": self.base + "/slow/invocations", "sample_rows": 2,
                           "max_latency_ms": 1})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("is above max_latency_ms 1", r.stderr)

    def test_wrong_prediction_count_and_errors_fail(self):
        r = self.realtime({"endpoint": self.base + "/two/invocations"})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("1 row sent, 2 predictions returned", r.stderr)
        r = self.realtime({"endpoint": self.base + "/fail/invocations"})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("answered HTTP 503", r.stderr)
        r = self.realtime({"endpoint": "ftp://127.0.0.1/x"})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("is not an http(s) URL", r.stderr)


@skip_unless_sqlite_run()
class S3IngestionTests(unittest.TestCase):
    """On a real S3-compatible server (s3rver), objects put and read by awscli: data-ingestion
    from an s3:// prefix, and the data stages writing to an S3 artifact store."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(REPO_ROOT / "node_modules" / "s3rver"):
            raise unittest.SkipTest("node_modules/s3rver is missing: run scripts/install-deps.sh")
        cls.tmp = tempfile.mkdtemp(prefix="stages-s3-")
        os.makedirs(os.path.join(cls.tmp, "data"))
        cls.proc = subprocess.Popen(
            ["node", "--openssl-legacy-provider", str(REPO_ROOT / "tests" / "s3" / "run-s3rver.js"),
             os.path.join(cls.tmp, "data")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = cls.proc.stdout.readline().decode()
        assert line.startswith("PORT "), line
        cls.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
        cls.env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
                   "AWS_REGION": "us-east-1", "STUDIO_S3_ENDPOINT": cls.endpoint}
        cls.aws("s3", "mb", "s3://stagedata")
        files = {"in/part-1.csv": "a,b\n1,x\n2,y\n", "in/part-2.csv": "a,b\n3,z\n",
                 "in/readme.txt": "not data\n", "in/sub/part-3.csv": "a,b\n9,q\n"}
        for key, text in files.items():
            path = os.path.join(cls.tmp, "upload")
            with open(path, "w") as f:
                f.write(text)
            cls.aws("s3", "cp", path, f"s3://stagedata/{key}")

    @classmethod
    def aws(cls, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER",
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="",
                   AWS_EC2_METADATA_DISABLED="true")
        subprocess.run(["/usr/bin/aws", "--endpoint-url", cls.endpoint] + list(args), env=env,
                       check=True, capture_output=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.proc.stdin.close()
        cls.proc.terminate()
        cls.proc.wait(timeout=20)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ingest(self, source):
        return run_stage_exec(["--type", "data-ingestion", "--id", "ingest", "--with",
                               json.dumps({"source": source}), "--run", "r1",
                               "--artifacts", "file://" + os.path.join(self.tmp, "art")],
                              env=self.env)

    def test_stages_write_to_an_s3_artifact_store(self):
        store = "s3://stagedata/studio-artifacts"
        up = {}
        for type_, id_, with_ in [
                ("data-ingestion", "ingest", {"source": "s3://stagedata/in/"}),
                ("data-preparation", "prepare", {"reference_fraction": 0.34}),
                ("feature-store", "features", {"features": [{"name": "a", "expr": "a"},
                                                            {"name": "b", "expr": "one_hot(b)"}]}),
                ("model-monitoring", "monitor", {"method": "psi"})]:
            r = run_stage_exec(["--type", type_, "--id", id_, "--with", json.dumps(with_),
                                "--upstream", json.dumps(up), "--run", "s3run",
                                "--pipeline", "s3pipe", "--artifacts", store], env=self.env)
            self.assertEqual(r.returncode, 0, f"{type_}: {r.stderr}")
            up[id_] = json.loads(r.stdout)
        self.assertEqual(up["prepare"]["reference"]["rows"], 1)
        self.assertEqual(up["prepare"]["current"]["rows"], 2)
        self.assertEqual(up["features"]["path"], "features/s3pipe/v1/")
        # What the stage reports is what awscli reads back from the bucket.
        out = os.path.join(self.tmp, "got.csv")
        self.aws("s3", "cp", f"{store}/{up['prepare']['current']['path']}", out)
        with open(out, "rb") as f:
            data = f.read()
        self.assertEqual(data, b"a,b\n2,y\n3,z\n")
        self.assertEqual(hashlib.sha256(data).hexdigest(), up["prepare"]["current"]["sha256"])
        self.aws("s3", "cp", f"{store}/{up['monitor']['html_report_path']}", out)
        with open(out) as f:
            self.assertIn("<svg", f.read())

    def test_prefix_concatenates_the_csv_objects_in_key_order(self):
        os.makedirs(os.path.join(self.tmp, "art"), exist_ok=True)
        r = self.ingest("s3://stagedata/in/")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["files"], 2)
        self.assertEqual(out["rows"], 3)
        with open(os.path.join(self.tmp, "art", out["dataset"]["path"])) as f:
            data = f.read()
        self.assertEqual(data, "a,b\n1,x\n2,y\n3,z\n")
        self.assertEqual(out["sha256"], hashlib.sha256(data.encode()).hexdigest())

        r = self.ingest("s3://stagedata/in/sub/part-3.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["rows"], 1)

        r = self.ingest("s3://stagedata/nothing-here/")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no .csv objects under 's3://stagedata/nothing-here/'", r.stderr)


if __name__ == "__main__":
    unittest.main()
