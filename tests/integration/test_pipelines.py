"""Pipeline specs (issue 6, "Spec and validation"): POST /api/v1/pipelines/validate, node locks
(lock/unlock by admin or production_team, audit-logged), the per-project command-stage policy,
and `studio pipeline init|validate` with its exit codes — plus hostile inputs (size cap, YAML
bombs, wrong types) that must give clear errors and leave the server up."""

import json
import os
import tempfile
import uuid

from harness import StudioTestCase, run_cli

COMMAND_STAGE = ("    - id: notify\n      type: command\n      needs: [enforce]\n"
                 "      with:\n        command: [echo, done]\n")


class PipelineTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.api = srv.admin
        cls.project = "pl-" + uuid.uuid4().hex[:8]
        r = cls.api.post("/api/v1/projects", json={"name": cls.project})
        assert r.status_code == 201, r.text
        _, cls.prod = srv.user_client("prod-" + uuid.uuid4().hex[:6], ["production_team"])
        _, cls.eng = srv.user_client("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        u = srv.create_user("plcli-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        cls.eng_token = srv.token_for(u["username"], u["password"])

    def init_spec(self, name):
        r = run_cli(["pipeline", "init", "--name", name, "--project", self.project,
                     "--output", "-"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def validate(self, text, client=None):
        r = (client or self.eng).post("/api/v1/pipelines/validate", json={"spec": text})
        self.assertStatus(r, 200)
        return r.json()

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".yaml", dir=self.tmp)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def cli_validate(self, path, *extra, server=True):
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token} if server else {}
        return run_cli(["pipeline", "validate", path] + list(extra), env=env)

    # -- validation ------------------------------------------------------------------------------

    def test_canonical_spec_validates_with_stage_hashes(self):
        out = self.validate(self.init_spec("canon"))
        self.assertTrue(out["valid"], out)
        self.assertEqual(out["errors"], [])
        self.assertEqual([s["type"] for s in out["stages"]],
                         ["data-ingestion", "data-preparation", "feature-store", "model-registry",
                          "model-deployment", "realtime-inference", "batch-inference",
                          "model-monitoring", "cicd-enforcement"])
        for s in out["stages"]:
            self.assertRegex(s["hash"], r"^[0-9a-f]{64}$")
            self.assertFalse(s["locked"])

    def test_errors_are_located(self):
        spec = self.init_spec("errs").replace("sample_rows: 20", "sample_rows: many") \
            .replace("needs: [prepare]", "needs: [prep]").replace("strategy: direct",
                                                                  "stratgy: direct")
        out = self.validate(spec)
        self.assertFalse(out["valid"])
        by_path = {e["path"]: e for e in out["errors"]}
        self.assertIn("spec.stages[5].with.sample_rows", by_path, out)
        self.assertIn("must be an integer", by_path["spec.stages[5].with.sample_rows"]["message"])
        self.assertIn("spec.stages[2].needs[0]", by_path, out)
        self.assertIn("unknown parameter 'stratgy'",
                      by_path["spec.stages[4].with.stratgy"]["message"])
        lines = spec.splitlines()
        for e in out["errors"]:
            self.assertGreater(e["line"], 0, e)
            self.assertGreater(e["column"], 0, e)
        e = by_path["spec.stages[5].with.sample_rows"]
        self.assertIn("sample_rows: many", lines[e["line"] - 1])

    def test_cycle_is_named(self):
        spec = self.init_spec("cyc").replace(
            "      type: data-ingestion\n", "      type: data-ingestion\n      needs: [enforce]\n")
        out = self.validate(spec)
        self.assertFalse(out["valid"])
        self.assertTrue(any("cycle: ingest -> enforce" in e["message"] for e in out["errors"]), out)

    def test_bad_requests_and_hostile_inputs(self):
        self.assertError(self.eng.post("/api/v1/pipelines/validate", json={}), 400,
                         "INVALID_PARAMETER_VALUE", field="spec")
        self.assertError(self.eng.post("/api/v1/pipelines/validate", json={"spec": 3}), 400)
        self.assertError(self.eng.post("/api/v1/pipelines/validate",
                                       json={"spec": "x", "extra": 1}), 400)
        self.assertError(self.server.client(origin=False).post(
            "/api/v1/pipelines/validate", json={"spec": "x"}), 401, "UNAUTHENTICATED")
        huge = "# " + "x" * (1 << 20) + "\n"
        self.assertError(self.eng.post("/api/v1/pipelines/validate", json={"spec": huge}), 400)
        bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        prev = "a"
        for c in "bcdefghijk":
            bomb += f"{c}: &{c} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
            prev = c
        out = self.validate(bomb)
        self.assertFalse(out["valid"])
        self.assertIn("aliases", out["errors"][0]["message"])
        for text in ("", "[", "- 1\n- 2\n", "apiVersion: 1\n", "\t\x01: x",
                     "[" * 5000 + "]" * 5000, "spec: {stages: [{id: 3, type: [1]}]}"):
            out = self.validate(text)
            self.assertFalse(out["valid"], text[:40])
            self.assertTrue(out["errors"], text[:40])
        self.assertStatus(self.eng.get("/api/v1/projects"), 200)  # still up

    def test_unknown_project_is_an_error(self):
        spec = self.init_spec("nop").replace(f"project: {self.project}", "project: no-such-proj")
        out = self.validate(spec)
        self.assertFalse(out["valid"])
        self.assertEqual(out["errors"][0]["path"], "metadata.project")

    # -- locks -----------------------------------------------------------------------------------

    def test_lock_change_unlock_relock_with_audit(self):
        name = "lk-" + uuid.uuid4().hex[:6]
        spec = self.init_spec(name)
        changed = spec.replace("source: data/training.csv", "source: s3://bucket/new/") \
            .replace("max_attempts: 3", "max_attempts: 5")
        base = f"/api/v1/pipelines/{self.project}/{name}/stages/ingest"

        # Only admin and production_team lock.
        r = self.eng.post(base + "/lock", json={"spec": spec})
        body = self.assertError(r, 403, "PERMISSION_DENIED")
        self.assertIn("lock_pipelines", body["message"])
        r = self.prod.post(base + "/lock", json={"spec": spec})
        self.assertStatus(r, 200)
        lock = r.json()
        self.assertEqual(lock["status"], "locked")
        self.assertEqual(lock["stage"], "ingest")
        self.assertRegex(lock["locked_at"], r"Z$")
        out = self.validate(spec)
        self.assertTrue(out["valid"], out)
        self.assertEqual(out["stages"][0]["lock"], "locked")
        self.assertEqual(out["stages"][0]["hash"], lock["hash"])

        # A changed locked stage fails, naming the stage and the fields.
        out = self.validate(changed)
        self.assertFalse(out["valid"])
        msg = out["errors"][0]["message"]
        for needle in ("stage 'ingest' is locked", "with.source", "retry.max_attempts"):
            self.assertIn(needle, msg)
        self.assertGreater(out["errors"][0]["line"], 0)
        # ... and removing it too.
        removed = changed.replace("needs: [ingest]", "needs: []")
        start = removed.index("    - id: ingest")
        removed = removed[:start] + removed[removed.index("    - id: prepare"):]
        removed = removed.replace("canonical: true", "canonical: false")
        out = self.validate(removed)
        self.assertFalse(out["valid"])
        self.assertTrue(any("was removed" in e["message"] for e in out["errors"]), out)

        # CLI: exit 1 against the server, 0 locally (locks live on the server).
        path = self.write(changed)
        r = self.cli_validate(path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("stage 'ingest' is locked", r.stdout)
        self.assertIn("with.source", r.stdout)
        self.assertEqual(self.cli_validate(path, server=False).returncode, 0)

        # Relocking at another definition is a conflict; unlocking needs a reason and the role.
        self.assertError(self.prod.post(base + "/lock", json={"spec": changed}), 409)
        self.assertError(self.prod.post(base + "/unlock", json={}), 400, field="reason")
        self.assertError(self.eng.post(base + "/unlock", json={"reason": "x"}), 403)
        self.assertError(self.prod.post(f"/api/v1/pipelines/{self.project}/{name}/stages/nope/"
                                        "unlock", json={"reason": "x"}), 404)
        r = self.prod.post(base + "/unlock", json={"reason": "new data source"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["status"], "unlocked")
        self.assertEqual(r.json()["unlock"]["reason"], "new data source")
        out = self.validate(changed)
        self.assertTrue(out["valid"], out)
        self.assertTrue(out["warnings"])
        self.assertEqual(self.cli_validate(path).returncode, 0)

        # Lock at the new definition: the old one now fails.
        self.assertStatus(self.api.post(base + "/lock", json={"spec": changed}), 200)
        self.assertTrue(self.validate(changed)["valid"])
        self.assertFalse(self.validate(spec)["valid"])
        locks = self.eng.get(f"/api/v1/pipelines/{self.project}/{name}/locks").json()["items"]
        self.assertEqual([l["stage"] for l in locks], ["ingest"])
        self.assertEqual(locks[0]["status"], "locked")

        events = self.api.get("/api/v1/audit",
                              params={"resource_type": "pipeline_stage",
                                      "resource_id": f"{self.project}/{name}/ingest"}).json()
        actions = [e["action"] for e in events["items"]]
        self.assertEqual(actions.count("pipeline.stage.lock"), 2, actions)
        self.assertEqual(actions.count("pipeline.stage.unlock"), 1, actions)
        self.assertStatus(self.api.get("/api/v1/audit/verify"), 200)

    def test_marked_locked_without_a_lock_and_lock_input_errors(self):
        name = "mk-" + uuid.uuid4().hex[:6]
        spec = self.init_spec(name).replace("        sample_rows: 20\n",
                                            "        sample_rows: 20\n      locked: true\n")
        out = self.validate(spec)
        self.assertFalse(out["valid"])
        self.assertIn("no lock", out["errors"][0]["message"])
        base = f"/api/v1/pipelines/{self.project}/{name}/stages"
        self.assertStatus(self.prod.post(base + "/realtime/lock", json={"spec": spec}), 200)
        self.assertTrue(self.validate(spec)["valid"])
        # The spec must name this pipeline, contain the stage, and validate.
        self.assertError(self.prod.post(f"/api/v1/pipelines/{self.project}/other/stages/ingest/"
                                        "lock", json={"spec": spec}), 400)
        self.assertError(self.prod.post(base + "/missing/lock", json={"spec": spec}), 404)
        self.assertError(self.prod.post(base + "/ingest/lock",
                                        json={"spec": spec.replace("format: csv", "format: 7")}),
                         400)
        self.assertError(self.prod.post(f"/api/v1/pipelines/no-such-proj/{name}/stages/ingest/"
                                        "lock", json={"spec": spec}), 404)

    # -- policy ----------------------------------------------------------------------------------

    def test_command_stages_follow_the_project_policy(self):
        spec = self.init_spec("cmd") + COMMAND_STAGE
        out = self.validate(spec)
        self.assertFalse(out["valid"])
        self.assertIn("command stages are not allowed", out["errors"][0]["message"])
        pol = f"/api/v1/projects/{self.project}/pipeline-policy"
        self.assertFalse(self.eng.get(pol).json()["allow_command_stages"])
        self.assertError(self.eng.put(pol, json={"allow_command_stages": True}), 403)
        self.assertError(self.api.put(pol, json={"allow_command_stages": "yes"}), 400)
        r = self.api.put(pol, json={"allow_command_stages": True})
        self.assertStatus(r, 200)
        self.assertTrue(r.json()["allow_command_stages"])
        try:
            self.assertTrue(self.validate(spec)["valid"])
        finally:
            self.assertStatus(self.api.put(pol, json={"allow_command_stages": False}), 200)
        events = self.api.get("/api/v1/audit", params={"action": "pipeline.policy.update"}).json()
        self.assertGreaterEqual(len(events["items"]), 2)

    # -- CLI -------------------------------------------------------------------------------------

    def test_cli_init_and_local_validate_exit_codes(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        path = os.path.join(d, "studio-pipeline.yaml")
        r = run_cli(["pipeline", "init", "--name", "churn", "--project", "demo"], cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(path))
        # no overwrite without --force
        self.assertEqual(run_cli(["pipeline", "init"], cwd=d).returncode, 2)
        self.assertEqual(run_cli(["pipeline", "init", "--force"], cwd=d).returncode, 0)
        self.assertEqual(run_cli(["pipeline", "init", "--name", "Bad Name", "--output", "-"])
                         .returncode, 2)
        r = run_cli(["pipeline", "validate", path])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("valid (9 stages, canonical)", r.stdout)
        r = run_cli(["pipeline", "validate", path, "--output", "json"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(json.loads(r.stdout)["valid"])

        bad = self.write(open(path).read().replace("format: csv", "format: xls"))
        r = run_cli(["pipeline", "validate", bad])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r":\d+:\d+: spec\.stages\[0\]\.with\.format: must be one of")
        r = run_cli(["pipeline", "validate", self.write("a: [unclosed\n")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("YAML syntax error", r.stdout)
        r = run_cli(["pipeline", "validate", self.write("# " + "x" * (1 << 20))])
        self.assertEqual(r.returncode, 1)
        self.assertIn("limit", r.stdout)
        self.assertEqual(run_cli(["pipeline", "validate", path + ".missing"]).returncode, 2)
        self.assertEqual(run_cli(["pipeline", "validate"]).returncode, 2)
        r = run_cli(["pipeline", "validate", "-"], input=open(path).read())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # a server that is not there: system error
        r = run_cli(["pipeline", "validate", path, "--server", "http://127.0.0.1:1",
                     "--token", "x"])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_openapi_lists_pipelines(self):
        doc = self.server.client().get("/api/openapi.json").json()
        for path in ("/api/v1/pipelines/validate", "/api/v1/pipelines/{project}/{name}/locks",
                     "/api/v1/pipelines/{project}/{name}/stages/{stage}/lock",
                     "/api/v1/pipelines/{project}/{name}/stages/{stage}/unlock",
                     "/api/v1/projects/{id}/pipeline-policy"):
            self.assertIn(path, doc["paths"])
        lock = doc["paths"]["/api/v1/pipelines/{project}/{name}/stages/{stage}/lock"]["post"]
        self.assertEqual(lock["x-permission"], "lock_pipelines")
        for name in ("PipelineValidation", "PipelineLock", "PipelinePolicy"):
            self.assertIn(name, doc["components"]["schemas"])
