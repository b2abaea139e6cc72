"""Pipeline runs (issue 6, "Local executor"): registered specs with versions, runs executed by
the scheduler as `studio run-stage` child processes (noop bodies, the test hooks for sleeps,
forced failures and grandchildren), retries with backoff, downstream skips, timeouts that kill
the whole process group, followed logs, cancel, recovery after kill -9 of `studio serve`,
`studio worker` on PostgreSQL (every stage exactly once), the CLI and bad input.

The hooks (STUDIO_STAGE_TEST_*) reach stage processes only because the server runs with
STUDIO_TEST_HOOKS=1; keys are stage ids, so each test uses its own ids."""

import json
import os
import signal
import tempfile
import threading
import time
import unittest
import uuid

import requests

from harness import BACKEND, STUDIO_BIN, StudioTestCase, list_all, run_cli

HOOKS = {
    "STUDIO_TEST_HOOKS": "1",
    "STUDIO_STAGE_TEST_SLEEP": "slow=60,chatty=2,long=60,recover=6,graceful=2",
    "STUDIO_STAGE_TEST_FAIL": "flaky,flaky2=1",
    "STUDIO_STAGE_TEST_GRANDCHILD": "slow",
}
TERMINAL = ("succeeded", "failed", "cancelled")


def spec_yaml(name, project, stages):
    """stages: [(id, needs, extra_yaml_lines)]; every stage is a model-monitoring stage (no
    required parameters) unless extra lines say otherwise."""
    out = [f"apiVersion: mlops-studio/v1", "kind: Pipeline", "metadata:", f"  name: {name}",
           f"  project: {project}", "spec:", "  stages:"]
    for sid, needs, extra in stages:
        out.append(f"    - id: {sid}")
        if not any(line.strip().startswith("type:") for line in extra):
            out.append("      type: model-monitoring")
        if needs:
            out.append(f"      needs: [{', '.join(needs)}]")
        out += ["      " + line for line in extra]
    return "\n".join(out) + "\n"


def pid_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")  # a zombie is dead
    except FileNotFoundError:
        return True


class PipelineRunTests(StudioTestCase):
    server_env = HOOKS

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.api = srv.admin
        cls.project = "runs-" + uuid.uuid4().hex[:8]
        r = cls.api.post("/api/v1/projects", json={"name": cls.project})
        assert r.status_code == 201, r.text
        cls.project_id = r.json()["id"]
        u = srv.create_user("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        cls.eng_name = u["username"]
        cls.eng_token = srv.token_for(u["username"], u["password"])
        cls.eng = srv.token_client(cls.eng_token)
        _, cls.watcher = srv.user_client("mon-" + uuid.uuid4().hex[:6], ["monitoring_team"])

    # -- helpers -------------------------------------------------------------------------------

    def start(self, spec, client=None, **extra):
        r = (client or self.eng).post("/api/v1/runs", json=dict({"spec": spec}, **extra))
        self.assertStatus(r, 202)
        run = r.json()
        self.assertIn(run["status"], ("queued", "running"))
        return run

    def wait_run(self, run_id, timeout=60, server=None, client=None):
        client = client or (server.admin if server else self.api)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = client.get(f"/api/v1/runs/{run_id}")
            self.assertStatus(r, 200)
            run = r.json()
            if run["status"] in TERMINAL:
                return run
            time.sleep(0.1)
        self.fail(f"run {run_id} did not finish within {timeout}s: {json.dumps(run)[:2000]}")

    def wait_stage(self, run_id, stage, status, timeout=30, client=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = (client or self.api).get(f"/api/v1/runs/{run_id}").json()
            st = {s["id"]: s for s in run["stages"]}[stage]
            if st["status"] == status:
                return run, st
            time.sleep(0.05)
        self.fail(f"stage {stage} of {run_id} never reached {status}: {st}")

    def stages(self, run):
        return {s["id"]: s for s in run["stages"]}

    def log_of(self, run_id, stage, attempt=None):
        params = {"attempt": attempt} if attempt else {}
        r = self.api.get(f"/api/v1/runs/{run_id}/stages/{stage}/logs", params=params)
        self.assertStatus(r, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
        return r.text

    def canonical(self, name):
        r = run_cli(["pipeline", "init", "--name", name, "--project", self.project, "--output",
                     "-"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    # -- the happy path ------------------------------------------------------------------------

    def test_canonical_noop_run_runs_every_stage_once(self):
        name = "canon-" + uuid.uuid4().hex[:6]
        spec = self.canonical(name)
        run = self.start(spec, noop=True, git_sha="abc123")
        self.assertEqual(run["version"], 1)
        self.assertEqual(run["requested_by"], self.eng_name)
        done = self.wait_run(run["id"])
        self.assertEqual(done["status"], "succeeded", json.dumps(done)[:3000])
        self.assertEqual(done["spec_yaml"], spec)
        self.assertEqual(done["git_sha"], "abc123")
        self.assertEqual(len(done["stages"]), 9)
        for s in done["stages"]:
            self.assertEqual(s["status"], "succeeded", s)
            self.assertEqual(s["attempt"], 1, s)
            self.assertEqual(len(s["attempts"]), 1, s)
            a = s["attempts"][0]
            self.assertEqual((a["status"], a["exit_code"]), ("succeeded", 0))
            self.assertGreaterEqual(a["duration_ms"], 0)
            self.assertEqual(a["log_path"], f"runs/{run['id']}/{s['id']}/attempt-1.log")
            self.assertEqual(s["outputs"], {"noop": True})
            self.assertIn("[noop]", self.log_of(run["id"], s["id"]))
        # The two inference stages start only after deploy and before monitor.
        st = self.stages(done)
        for branch in ("realtime", "batch"):
            self.assertGreaterEqual(st[branch]["started_at"], st["deploy"]["finished_at"])
            self.assertLessEqual(st[branch]["finished_at"], st["monitor"]["started_at"])
        # The run is listed, filterable, and its start and finish are audited.
        runs = list_all(self.eng, "/api/v1/runs", {"project": self.project, "status": "succeeded"})
        self.assertIn(run["id"], [r["id"] for r in runs])
        self.assertNotIn("stages", runs[0])
        events = list_all(self.api, "/api/v1/audit", {"resource_id": run["id"]})
        self.assertEqual(sorted(e["action"] for e in events),
                         ["pipeline.run.finish", "pipeline.run.start"])
        # The children's tokens were revoked with their attempts.
        tokens = self.server.store.sql_ok(
            "SELECT COUNT(*) FROM api_tokens WHERE name LIKE 'run " + run["id"] +
            "%' AND revoked_at = 0")
        self.assertEqual(tokens.strip(), "0")
        metrics = self.server.client().get("/metrics").text
        self.assertIn('studio_pipeline_stage_attempts_total{type="data-ingestion",status="succeeded"}',
                      metrics)
        self.assertIn("studio_pipeline_stage_duration_seconds_bucket", metrics)

    def test_registered_versions(self):
        name = "reg-" + uuid.uuid4().hex[:6]
        spec = self.canonical(name)
        base = f"/api/v1/projects/{self.project}/pipelines"
        r = self.eng.post(base, json={"spec": spec})
        self.assertStatus(r, 201)
        self.assertEqual((r.json()["version"], r.json()["created"]), (1, True))
        r = self.eng.post(base, json={"spec": spec})  # unchanged: the same version
        self.assertStatus(r, 200)
        self.assertEqual((r.json()["version"], r.json()["created"]), (1, False))
        spec2 = spec.replace("nulls: drop", "nulls: keep")
        self.assertEqual(self.eng.post(base, json={"spec": spec2}).json()["version"], 2)
        items = self.eng.get(base).json()["items"]
        mine = [i for i in items if i["name"] == name]
        self.assertEqual([(i["version"], "spec_yaml" in i) for i in mine], [(2, False)])
        self.assertEqual(self.eng.get(f"{base}/{name}").json()["spec_yaml"], spec2)
        self.assertEqual(self.eng.get(f"{base}/{name}/versions/1").json()["spec_yaml"], spec)
        self.assertEqual([v["version"] for v in self.eng.get(f"{base}/{name}/versions").json()
                          ["items"]], [2, 1])
        # Runs by name and version; a spec run registers its change as a new version.
        r = self.eng.post("/api/v1/runs", json={"project": self.project, "pipeline": name,
                                                "version": 1, "noop": True})
        self.assertStatus(r, 202)
        self.assertEqual(r.json()["version"], 1)
        self.assertEqual(self.wait_run(r.json()["id"])["spec_yaml"], spec)
        run = self.start(spec2.replace("nulls: keep", "nulls: fill"), noop=True)
        self.assertEqual(run["version"], 3)
        self.wait_run(run["id"])
        self.assertError(self.eng.get(f"{base}/{name}/versions/9"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.eng.get(f"{base}/nope"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.eng.get(f"{base}/{name}/versions/x"), 400, field="version")
        other = spec.replace(f"project: {self.project}", "project: someone-else")
        self.assertError(self.eng.post(base, json={"spec": other}), 400)

    # -- failures, retries, timeouts -----------------------------------------------------------

    def test_failing_stage_is_retried_with_backoff_then_downstream_is_skipped(self):
        spec = spec_yaml("fl-" + uuid.uuid4().hex[:6], self.project, [
            ("first", [], []),
            ("flaky", ["first"], ["retry: {max_attempts: 3, interval_seconds: 1, backoff_rate: 2}"]),
            ("after", ["flaky"], []),
            ("last", ["after"], []),
            ("side", ["first"], []),
        ])
        run = self.start(spec, noop=True)
        done = self.wait_run(run["id"])
        self.assertEqual(done["status"], "failed")
        st = self.stages(done)
        self.assertEqual(st["first"]["status"], "succeeded")
        self.assertEqual(st["side"]["status"], "succeeded")  # an independent branch still runs
        self.assertEqual((st["after"]["status"], st["last"]["status"]), ("skipped", "skipped"))
        self.assertIn("flaky", st["after"]["error"])
        self.assertEqual(st["after"]["attempts"], [])
        flaky = st["flaky"]
        self.assertEqual((flaky["status"], flaky["attempt"]), ("failed", 3))
        self.assertEqual([a["status"] for a in flaky["attempts"]], ["failed"] * 3)
        self.assertEqual([a["exit_code"] for a in flaky["attempts"]], [1, 1, 1])
        self.assertIn("forced failure", flaky["error"])
        self.assertIn("stage 'flaky' failed", done["error"])
        # Backoff: interval * rate^(n-1) between the end of attempt n and the start of n+1.
        from datetime import datetime

        def ms(ts):
            return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000

        a = flaky["attempts"]
        self.assertGreaterEqual(ms(a[1]["started_at"]) - ms(a[0]["finished_at"]), 1000 - 5)
        self.assertGreaterEqual(ms(a[2]["started_at"]) - ms(a[1]["finished_at"]), 2000 - 5)
        self.assertIn("forced failure of attempt 2", self.log_of(run["id"], "flaky", 2))

    def test_retry_that_succeeds(self):
        spec = spec_yaml("fl2-" + uuid.uuid4().hex[:6], self.project, [
            ("flaky2", [], ["retry: {max_attempts: 2, interval_seconds: 0}"]),
            ("next", ["flaky2"], []),
        ])
        done = self.wait_run(self.start(spec, noop=True)["id"])
        self.assertEqual(done["status"], "succeeded")
        st = self.stages(done)
        self.assertEqual([a["status"] for a in st["flaky2"]["attempts"]], ["failed", "succeeded"])
        self.assertEqual(st["next"]["attempt"], 1)

    def test_stage_body_failure_without_noop(self):
        # The real stage body: reading a file that does not exist fails (before the stages are
        # built, the body is NOT_IMPLEMENTED, which fails too).
        spec = spec_yaml("body-" + uuid.uuid4().hex[:6], self.project, [
            ("ingest", [], ["type: data-ingestion", "with: {source: data/does-not-exist.csv}"]),
            ("after", ["ingest"], []),
        ])
        done = self.wait_run(self.start(spec)["id"])
        self.assertEqual(done["status"], "failed")
        st = self.stages(done)
        self.assertEqual(st["ingest"]["status"], "failed")
        self.assertEqual(st["ingest"]["exit_code"], 1)
        self.assertTrue(st["ingest"]["error"])
        self.assertEqual(st["after"]["status"], "skipped")
        self.assertIn("run-stage: failed", self.log_of(done["id"], "ingest"))

    def test_timeout_kills_the_whole_process_group(self):
        spec = spec_yaml("to-" + uuid.uuid4().hex[:6], self.project, [
            ("slow", [], ["timeout_seconds: 2"]),
            ("after", ["slow"], []),
        ])
        run = self.start(spec, noop=True)
        done = self.wait_run(run["id"])
        st = self.stages(done)
        self.assertEqual(done["status"], "failed")
        self.assertEqual(st["slow"]["status"], "failed")
        self.assertEqual(st["slow"]["attempts"][0]["status"], "timed_out")
        self.assertIn("timed out after 2s", st["slow"]["error"])
        self.assertEqual(st["after"]["status"], "skipped")
        log = self.log_of(run["id"], "slow")
        marker = "grandchild pid "
        self.assertIn(marker, log)
        pid = int(log.split(marker)[1].split()[0])
        deadline = time.monotonic() + 10
        while not pid_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(pid_gone(pid), f"grandchild {pid} survived the timeout")

    # -- logs and cancel -----------------------------------------------------------------------

    def test_logs_follow_streams_until_the_attempt_ends(self):
        spec = spec_yaml("lg-" + uuid.uuid4().hex[:6], self.project, [("chatty", [], [])])
        run = self.start(spec, noop=True)
        self.wait_stage(run["id"], "chatty", "running")
        r = self.eng.get(f"/api/v1/runs/{run['id']}/stages/chatty/logs", params={"follow": 1},
                         stream=True)
        self.assertStatus(r, 200)
        self.assertEqual(r.headers.get("Transfer-Encoding"), "chunked")
        text = b"".join(r.iter_content(chunk_size=None)).decode()
        # The stream ended with the attempt: it holds the whole log, end line included.
        self.assertIn("test hook: sleeping 2s", text)
        self.assertIn("run-stage: succeeded", text)
        done = self.wait_run(run["id"])
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(text, self.log_of(run["id"], "chatty"))
        # Following a finished attempt returns its stored log at once.
        r = self.eng.get(f"/api/v1/runs/{run['id']}/stages/chatty/logs?follow=1&attempt=1")
        self.assertEqual(r.text, text)
        # The CLI prints the same.
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token}
        c = run_cli(["pipeline", "logs", run["id"], "chatty", "--follow"], env=env)
        self.assertEqual((c.returncode, c.stdout), (0, text), c.stderr)

    def test_cancel_kills_running_stages_and_cancels_the_rest(self):
        spec = spec_yaml("cx-" + uuid.uuid4().hex[:6], self.project, [
            ("long", [], []), ("then", ["long"], []),
        ])
        run = self.start(spec, noop=True)
        self.wait_stage(run["id"], "long", "running")
        self.assertError(self.watcher.post(f"/api/v1/runs/{run['id']}/cancel", json={}), 403,
                         "PERMISSION_DENIED")
        r = self.eng.post(f"/api/v1/runs/{run['id']}/cancel", json={})
        self.assertStatus(r, 202)
        self.assertTrue(r.json()["cancel_requested"])
        done = self.wait_run(run["id"], timeout=20)
        self.assertEqual(done["status"], "cancelled")
        st = self.stages(done)
        self.assertEqual(st["long"]["status"], "cancelled")
        self.assertEqual(st["long"]["attempts"][0]["status"], "cancelled")
        self.assertEqual(st["then"]["status"], "cancelled")
        self.assertError(self.eng.post(f"/api/v1/runs/{run['id']}/cancel", json={}), 409,
                         "RESOURCE_CONFLICT")
        events = list_all(self.api, "/api/v1/audit", {"resource_id": run["id"]})
        self.assertIn("pipeline.run.cancel", [e["action"] for e in events])
        out = run_cli(["pipeline", "runs", "--status", "cancelled", "--project", self.project],
                      env={"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token})
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(run["id"], out.stdout)

    # -- bad input -----------------------------------------------------------------------------

    def test_bad_input(self):
        spec = spec_yaml("bad-" + uuid.uuid4().hex[:6], self.project, [("one", [], [])])
        unknown = "01900000-0000-7000-8000-000000000000"
        self.assertError(self.eng.get(f"/api/v1/runs/{unknown}"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.eng.post(f"/api/v1/runs/{unknown}/cancel", json={}), 404)
        self.assertError(self.eng.get(f"/api/v1/runs/{unknown}/stages/x/logs"), 404)
        self.assertError(self.eng.post("/api/v1/runs", json={}), 400, field="pipeline")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": 3}), 400, field="spec")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "noop": "yes"}), 400,
                         field="noop")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "bogus": 1}), 400,
                         field="bogus")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "executor": "gcp"}),
                         400, field="executor")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "pipeline": "x",
                                                             "project": self.project}), 400)
        self.assertError(self.eng.post("/api/v1/runs", json={"pipeline": "nope",
                                                             "project": self.project}), 404)
        self.assertError(self.eng.post("/api/v1/runs", json={"pipeline": "x"}), 400,
                         field="project")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "version": 2}), 400,
                         field="version")
        bad = spec.replace("model-monitoring", "no-such-type")
        body = self.assertError(self.eng.post("/api/v1/runs", json={"spec": bad}), 400,
                                "INVALID_PARAMETER_VALUE")
        self.assertTrue(any("type" in k for k in body["details"]), body)
        cyclic = spec_yaml("cyc", self.project, [("a", ["b"], []), ("b", ["a"], [])])
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": cyclic}), 400)
        elsewhere = spec.replace(f"project: {self.project}", "project: no-such-project")
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": elsewhere}), 400)
        self.assertError(self.eng.post("/api/v1/runs", json={"spec": spec, "executor": "aws"}),
                         501, "NOT_IMPLEMENTED")
        # Without `create` (monitoring_team) no run starts; unauthenticated nothing is read.
        self.assertError(self.watcher.post("/api/v1/runs", json={"spec": spec}), 403,
                         "PERMISSION_DENIED")
        self.assertError(self.server.client(origin=False).get("/api/v1/runs"), 401)
        self.assertError(self.eng.get("/api/v1/runs", params={"status": "bogus"}), 400,
                         field="status")
        self.assertError(self.eng.get("/api/v1/runs", params={"max_results": 0}), 400)
        self.assertError(self.eng.get("/api/v1/runs", params={"project": "no-such"}), 404)
        # A real run: unknown stage and attempt, bad query values, reports by anyone else.
        run = self.wait_run(self.start(spec, noop=True)["id"])
        rid = run["id"]
        self.assertError(self.eng.get(f"/api/v1/runs/{rid}/stages/nope/logs"), 404)
        self.assertError(self.eng.get(f"/api/v1/runs/{rid}/stages/one/logs?attempt=7"), 404)
        self.assertError(self.eng.get(f"/api/v1/runs/{rid}/stages/one/logs?attempt=x"), 400,
                         field="attempt")
        self.assertError(self.eng.get(f"/api/v1/runs/{rid}/stages/one/logs?follow=maybe"), 400)
        report = {"attempt": 1, "status": "succeeded", "outputs": {"forged": True}}
        self.assertError(self.api.post(f"/api/v1/runs/{rid}/stages/one/report", json=report),
                         403, "PERMISSION_DENIED")
        self.assertError(self.api.post(f"/api/v1/runs/{rid}/stages/one/report",
                                       json=dict(report, outputs=[1])), 400, field="outputs")
        self.assertError(self.api.post(f"/api/v1/runs/{rid}/stages/one/report",
                                       json={"attempt": 1}), 400, field="status")
        self.assertEqual(self.stages(self.eng.get(f"/api/v1/runs/{rid}").json())["one"]
                         ["outputs"], {"noop": True})
        # run-stage itself: usage errors exit 2.
        r = run_cli(["run-stage", "--run", rid])
        self.assertEqual(r.returncode, 2)
        r = run_cli(["run-stage", "--run", rid, "--stage", "one"],
                    env={"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token})
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # no attempt of its own to report

    # -- CLI -------------------------------------------------------------------------------------

    def test_cli_run_wait_exit_codes(self):
        env = {"STUDIO_SERVER": self.server.base, "STUDIO_TOKEN": self.eng_token}
        ok = spec_yaml("cli-" + uuid.uuid4().hex[:6], self.project, [("a", [], []),
                                                                      ("b", ["a"], [])])
        path = os.path.join(self.tmp, "ok.yaml")
        with open(path, "w") as f:
            f.write(ok)
        r = run_cli(["pipeline", "run", path, "--noop", "--wait"], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("stage b: succeeded", r.stdout)
        self.assertRegex(r.stdout, r"run [0-9a-f-]{36}: succeeded")
        r = run_cli(["pipeline", "run", path, "--noop", "--wait", "--output", "json"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["status"], "succeeded")
        bad = ok.replace("    - id: b\n", "    - id: flaky\n")
        with open(path, "w") as f:
            f.write(bad)
        r = run_cli(["pipeline", "run", path, "--noop", "--wait"], env=env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("failed", r.stdout)
        r = run_cli(["pipeline", "run", path, "--noop"], env=env)  # no --wait: started
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["pipeline", "run", "/nonexistent.yaml"], env=env)
        self.assertEqual(r.returncode, 2)
        r = run_cli(["pipeline", "run", path, "--wait"],
                    env={"STUDIO_SERVER": "http://127.0.0.1:1", "STUDIO_TOKEN": "x"})
        self.assertEqual(r.returncode, 2)
        r = run_cli(["pipeline", "run", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("Example", r.stdout)


class RecoveryTests(StudioTestCase):
    """kill -9 of `studio serve` while a stage runs; the restarted control plane kills the
    orphaned process, retries the stage and finishes the run."""

    start_class_server = False

    def test_kill9_mid_run_then_restart_finishes_the_run(self):
        srv = self.new_server(env=HOOKS)
        api = srv.admin
        project = "rec-" + uuid.uuid4().hex[:6]
        self.assertStatus(api.post("/api/v1/projects", json={"name": project}), 201)
        spec = spec_yaml("rec", project, [
            ("recover", [], ["retry: {max_attempts: 2, interval_seconds: 0}"]),
            ("after", ["recover"], []),
        ])
        r = api.post("/api/v1/runs", json={"spec": spec, "noop": True})
        self.assertStatus(r, 202)
        run_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = {s["id"]: s for s in api.get(f"/api/v1/runs/{run_id}").json()["stages"]}
            if st["recover"]["status"] == "running":
                break
            time.sleep(0.05)
        self.assertEqual(st["recover"]["status"], "running")
        time.sleep(0.5)  # the child is up and sleeping
        srv.kill()  # SIGKILL: no chance to clean up
        srv.start()
        api = srv.admin
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = api.get(f"/api/v1/runs/{run_id}").json()
            if run["status"] in TERMINAL:
                break
            time.sleep(0.1)
        self.assertEqual(run["status"], "succeeded", json.dumps(run)[:3000])
        st = {s["id"]: s for s in run["stages"]}
        self.assertEqual([a["status"] for a in st["recover"]["attempts"]],
                         ["interrupted", "succeeded"])
        self.assertIn("orphaned", st["recover"]["attempts"][0]["error"])
        self.assertEqual(st["after"]["status"], "succeeded")
        # Attempt 2 slept past the server's 5 s keep-alive timeout and still reported.
        self.assertEqual(st["recover"]["attempts"][1]["exit_code"], 0)
        # No stage process of that run is left.
        left = [p for p in os.listdir("/proc") if p.isdigit() and run_id in
                open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")] \
            if os.path.isdir("/proc") else []
        self.assertEqual([p for p in left if not pid_gone(int(p))], [])

    def test_sigterm_requeues_running_stages_without_using_their_retries(self):
        srv = self.new_server(env=HOOKS)
        api = srv.admin
        project = "gr-" + uuid.uuid4().hex[:6]
        self.assertStatus(api.post("/api/v1/projects", json={"name": project}), 201)
        spec = spec_yaml("graceful", project, [("graceful", [], [])])  # one attempt allowed
        r = api.post("/api/v1/runs", json={"spec": spec, "noop": True})
        self.assertStatus(r, 202)
        run_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = {s["id"]: s for s in api.get(f"/api/v1/runs/{run_id}").json()["stages"]}
            if st["graceful"]["status"] == "running":
                break
            time.sleep(0.05)
        self.assertEqual(srv.stop(), 0)  # SIGTERM: the stage process is killed, not waited for
        srv.start()
        api = srv.admin
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = api.get(f"/api/v1/runs/{run_id}").json()
            if run["status"] in TERMINAL:
                break
            time.sleep(0.1)
        self.assertEqual(run["status"], "succeeded", json.dumps(run)[:3000])
        st = {s["id"]: s for s in run["stages"]}["graceful"]
        self.assertEqual([a["status"] for a in st["attempts"]], ["interrupted", "succeeded"])
        self.assertIn("shut down", st["attempts"][0]["error"])



@unittest.skipUnless(BACKEND == "postgres", "studio worker needs PostgreSQL")
class WorkerTests(StudioTestCase):
    """`serve --executor workers` schedules; three `studio worker` processes claim with
    FOR UPDATE SKIP LOCKED and every stage of every run runs exactly once."""

    start_class_server = False

    def test_three_workers_run_every_stage_exactly_once(self):
        import subprocess
        srv = self.new_server(extra_args=["--executor", "workers"])
        api = srv.admin
        project = "wk-" + uuid.uuid4().hex[:6]
        self.assertStatus(api.post("/api/v1/projects", json={"name": project}), 201)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        workers = []
        for i in range(3):
            log = open(os.path.join(self.tmp, f"worker-{i}.log"), "w")
            workers.append(subprocess.Popen(
                [STUDIO_BIN, "worker", "--db", srv.store.db_uri, "--server", srv.base,
                 "--data-dir", srv.store.data_dir, "--concurrency", "2"],
                stdout=log, stderr=log, env=env))
            self.addCleanup(lambda p=workers[-1]: (p.poll() is None and p.kill(), p.wait()))
        r = run_cli(["pipeline", "init", "--name", "wk", "--project", project, "--output", "-"])
        spec = r.stdout
        ids = []
        for _ in range(4):
            r = api.post("/api/v1/runs", json={"spec": spec, "noop": True})
            self.assertStatus(r, 202)
            ids.append(r.json()["id"])
        claimers = set()
        for rid in ids:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                run = api.get(f"/api/v1/runs/{rid}").json()
                if run["status"] in TERMINAL:
                    break
                time.sleep(0.2)
            self.assertEqual(run["status"], "succeeded", json.dumps(run)[:3000])
            for s in run["stages"]:
                self.assertEqual(len(s["attempts"]), 1, s)
                self.assertEqual(s["attempt"], 1, s)
                self.assertTrue(s["attempts"][0]["claimed_by"].startswith("worker@"), s)
                claimers.add(s["attempts"][0]["claimed_by"])
        id_list = ", ".join(f"'{i}'" for i in ids)
        count = srv.store.sql_ok(
            f"SELECT COUNT(*), COUNT(DISTINCT run_id || '/' || stage_id) FROM stage_attempts "
            f"WHERE run_id IN ({id_list})").strip()
        self.assertEqual(count, "36|36")
        self.assertGreaterEqual(len(claimers), 2, claimers)  # the work was shared
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            self.assertEqual(p.wait(timeout=20), 0)
        # A worker refuses SQLite.
        r = run_cli(["worker", "--data-dir", self.tmp, "--server", srv.base])
        self.assertEqual(r.returncode, 2)
        self.assertIn("PostgreSQL", r.stderr)


class FakeStepFunctions:
    """A local Step Functions endpoint (JSON 1.0): StartExecution, then DescribeExecution RUNNING
    (half the history visible) and SUCCEEDED (all of it); GetExecutionHistory newest first.
    Records every operation and body."""

    SM_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:runs"

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        fake = self
        self.calls = []
        self.history = []
        self.describes = 0
        self.exec_arn = None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                op = self.headers.get("X-Amz-Target", "").split(".")[-1]
                fake.calls.append((op, body, self.headers.get("Authorization", "")))
                out = fake.answer(op, body)
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def build_history(self):
        t0 = 1767225600.0
        ev = []

        def add(type_, prev, key=None, details=None):
            e = {"id": len(ev) + 1, "previousEventId": prev, "timestamp": t0 + len(ev),
                 "type": type_}
            if key:
                e[key] = details
            ev.append(e)
            return e["id"]

        def enter(name, prev):
            return add("TaskStateEntered", prev, "stateEnteredEventDetails",
                       {"name": name, "input": "{}"})

        def task(type_, prev, **d):
            return add(type_, prev, type_[0].lower() + type_[1:] + "EventDetails",
                       dict({"resourceType": "ecs", "resource": "runTask.sync"}, **d))

        def exit_(name, prev):
            return add("TaskStateExited", prev, "stateExitedEventDetails",
                       {"name": name, "output": "{}"})

        s = add("ExecutionStarted", 0)
        t = task("TaskScheduled", enter("first", s), region="us-east-1", parameters="{}")
        t = exit_("first", task("TaskSucceeded", t, output="{}"))
        t = task("TaskScheduled", enter("second", t), region="us-east-1", parameters="{}")
        t = task("TaskFailed", t, error="States.TaskFailed", cause="exit 1")
        t = task("TaskScheduled", t, region="us-east-1", parameters="{}")  # the retry
        t = exit_("second", task("TaskSucceeded", t, output="{}"))
        add("ExecutionSucceeded", t, "executionSucceededEventDetails", {"output": "{}"})
        self.history = ev

    def answer(self, op, body):
        if op == "StartExecution":
            self.exec_arn = ("arn:aws:states:us-east-1:111122223333:execution:runs:" +
                             body["name"])
            self.build_history()
            return {"executionArn": self.exec_arn, "startDate": 1767225600.0}
        if op == "DescribeExecution":
            self.describes += 1
            done = self.describes > 1
            out = {"executionArn": self.exec_arn, "stateMachineArn": self.SM_ARN,
                   "name": self.exec_arn.rsplit(":", 1)[1],
                   "status": "SUCCEEDED" if done else "RUNNING", "startDate": 1767225600.0}
            if done:
                out["stopDate"] = 1767225630.0
            self.visible = len(self.history) if done else 4
            return out
        if op == "GetExecutionHistory":
            return {"events": list(reversed(self.history[:self.visible]))}
        if op == "StopExecution":
            return {"stopDate": 1767225605.0}
        return {}


class AwsExecutorTests(StudioTestCase):
    """`executor: aws` runs go to the RemoteExecutor (SfnExecutor) when a state machine is
    configured; its updates become stage runs and attempts."""

    start_class_server = False

    def test_aws_run_is_started_polled_and_mapped_onto_stages(self):
        fake = FakeStepFunctions()
        self.addCleanup(fake.close)
        srv = self.new_server(env={"STUDIO_SFN_STATE_MACHINE_ARN": fake.SM_ARN,
                                   "STUDIO_SFN_ENDPOINT": fake.url, "STUDIO_SFN_POLL_MS": "200",
                                   "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                   "AWS_SECRET_ACCESS_KEY": "secret-example"})
        api = srv.admin
        project = "aws-" + uuid.uuid4().hex[:6]
        self.assertStatus(api.post("/api/v1/projects", json={"name": project}), 201)
        spec = spec_yaml("remote", project, [
            ("first", [], []),
            ("second", ["first"], ["retry: {max_attempts: 2, interval_seconds: 1}"]),
        ])
        r = api.post("/api/v1/runs", json={"spec": spec, "executor": "aws"})
        self.assertStatus(r, 202)
        run_id = r.json()["id"]
        self.assertEqual(r.json()["executor"], "aws")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run = api.get(f"/api/v1/runs/{run_id}").json()
            if run["status"] in TERMINAL:
                break
            time.sleep(0.1)
        self.assertEqual(run["status"], "succeeded", json.dumps(run)[:3000])
        self.assertEqual(run["execution_handle"], fake.exec_arn)
        st = {s["id"]: s for s in run["stages"]}
        self.assertEqual([a["status"] for a in st["first"]["attempts"]], ["succeeded"])
        self.assertEqual([a["status"] for a in st["second"]["attempts"]],
                         ["failed", "succeeded"])
        self.assertEqual(st["second"]["attempt"], 2)
        self.assertIn("States.TaskFailed", st["second"]["attempts"][0]["error"])
        ops = [c[0] for c in fake.calls]
        self.assertEqual(ops[0], "StartExecution")
        start = fake.calls[0][1]
        self.assertEqual((start["stateMachineArn"], start["name"]), (fake.SM_ARN, run_id))
        self.assertEqual(json.loads(start["input"]), {"run_id": run_id})
        self.assertTrue(fake.calls[0][2].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
        self.assertIn("DescribeExecution", ops)
        self.assertIn("GetExecutionHistory", ops)
        # No local process ran a stage of it.
        self.assertTrue(all(a["claimed_by"] == "aws" for s in run["stages"]
                            for a in s["attempts"]))

    def test_workers_executor_needs_postgres(self):
        if BACKEND != "sqlite":
            self.skipTest("sqlite only")
        store = self.new_store()
        store.bootstrap()
        r = run_cli(["serve", "--port", "0", "--executor", "workers"] + store.serve_args(),
                    timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("PostgreSQL", r.stderr)
        r = run_cli(["serve", "--port", "0", "--executor", "sideways"] + store.serve_args(),
                    timeout=30)
        self.assertEqual(r.returncode, 2)

    def test_aws_without_a_state_machine_is_not_implemented(self):
        srv = self.new_server()
        project = "aws-" + uuid.uuid4().hex[:6]
        self.assertStatus(srv.admin.post("/api/v1/projects", json={"name": project}), 201)
        spec = spec_yaml("remote", project, [("first", [], [])])
        self.assertError(srv.admin.post("/api/v1/runs", json={"spec": spec, "executor": "aws"}),
                         501, "NOT_IMPLEMENTED")


if __name__ == "__main__":
    unittest.main()
