"""Monitoring in the control plane (/api/v1/monitors, /api/v1/alarms): monitors over CSV and
prediction-log data uploaded through the artifact API, drift reports and history, alarm
transitions with their audit events, acknowledgement, HMAC-signed webhooks, the webhook egress
allow-list (MLflow's webhook SSRF CVEs), Prometheus gauges, RBAC and bad inputs."""

import hashlib
import hmac
import http.server
import json
import random
import threading
import uuid

from harness import StudioTestCase, list_all

ART = "/api/2.0/mlflow-artifacts/artifacts"
SECRET = "webhook-secret-for-tests-0123456789"


def csv_text(rows, shift=0.0, seed=1):
    rnd = random.Random(seed)
    lines = ["age,income,segment"]
    for _ in range(rows):
        lines.append(f"{rnd.gauss(40 + shift, 8):.4f},{rnd.gauss(50000 + shift * 5000, 9000):.2f},"
                     f"{rnd.choice(['a', 'b', 'c'])}")
    return "\n".join(lines) + "\n"


class _Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class MonitorTests(StudioTestCase):
    server_env = {"STUDIO_ALLOWED_WEBHOOK_HOSTS": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin
        cls.project = "mon-" + uuid.uuid4().hex[:8]
        r = cls.api.post("/api/v1/projects", json={"name": cls.project})
        assert r.status_code == 201, r.text
        cls.upload("datasets/ref.csv", csv_text(2000, seed=1))
        cls.upload("datasets/same.csv", csv_text(1000, seed=2))
        cls.upload("datasets/drifted.csv", csv_text(1000, shift=6.0, seed=3))
        cls.hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        threading.Thread(target=cls.hook.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.hook.shutdown)
        cls.hook_url = f"http://127.0.0.1:{cls.hook.server_address[1]}/hook"
        _, cls.monitoring = cls.server.user_client("mon-" + uuid.uuid4().hex[:6],
                                                   ["monitoring_team"])
        _, cls.engineer = cls.server.user_client("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        _, cls.sponsor = cls.server.user_client("spo-" + uuid.uuid4().hex[:6], ["model_sponsor"])

    @classmethod
    def upload(cls, path, text):
        r = cls.api.put(f"{ART}/{path}", data=text.encode(),
                        headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 200, r.text

    def monitor_body(self, **over):
        body = {"project": self.project, "name": "m-" + uuid.uuid4().hex[:8],
                "target": {"deployment_id": "dep-123"},
                "reference": {"path": "datasets/ref.csv"},
                "current": {"kind": "csv", "path": "datasets/drifted.csv"},
                "method": "ks", "features": {"segment": {"method": "chisquare"}}}
        body.update(over)
        return body

    def create_monitor(self, client=None, **over):
        r = (client or self.api).post("/api/v1/monitors", json=self.monitor_body(**over))
        self.assertStatus(r, 201)
        return r.json()

    def rules_of(self, monitor_id):
        return {r["kind"]: r for r in
                list_all(self.api, "/api/v1/alarms/rules", {"monitor_id": monitor_id})}

    # -- monitors and reports -------------------------------------------------------------------

    def test_create_run_report_history(self):
        m = self.create_monitor(client=self.engineer, schedule="1h")
        self.assertEqual(m["target"], {"type": "deployment", "deployment_id": "dep-123"})
        self.assertEqual(m["reference"]["rows"], 2000)
        self.assertEqual(len(m["reference"]["sha256"]), 64)
        self.assertEqual({c["name"]: c["kind"] for c in m["reference"]["columns"]},
                         {"age": "numeric", "income": "numeric", "segment": "categorical"})
        self.assertEqual(m["schedule"], "1h")
        self.assertEqual(m["interval_seconds"], 3600)
        self.assertIsNotNone(m["next_run_at"])
        self.assertEqual(self.api.get(f"/api/v1/monitors/{m['id']}").json()["name"], m["name"])
        listed = list_all(self.api, "/api/v1/monitors", {"project": self.project})
        self.assertIn(m["id"], [x["id"] for x in listed])

        rules = self.rules_of(m["id"])
        self.assertEqual(set(rules), {"drift_share", "latency_p99", "error_rate", "task_failure"})
        self.assertEqual(rules["drift_share"]["threshold"], 0.1)
        self.assertEqual(rules["latency_p99"]["threshold"], 0.1)
        self.assertEqual(rules["error_rate"]["threshold"], 0.01)
        self.assertTrue(all(r["state"] == "INSUFFICIENT_DATA" for r in rules.values()))

        r = self.engineer.post(f"/api/v1/monitors/{m['id']}/run")
        self.assertStatus(r, 201)
        rep = r.json()
        self.assertEqual(rep["status"], "succeeded", rep)
        self.assertTrue(rep["dataset_drift"])
        self.assertEqual(rep["total_features"], 3)
        self.assertGreaterEqual(rep["drifted_features"], 2)
        self.assertEqual(rep["current_rows"], 1000)
        feats = {f["column"]: f for f in rep["report"]["features"]}
        self.assertEqual(feats["age"]["method"], "ks")
        self.assertEqual(feats["segment"]["method"], "chisquare")
        self.assertTrue(feats["age"]["drift"])
        states = {a["kind"]: a["state"] for a in rep["alarms"]}
        self.assertEqual(states["drift_share"], "ALARM")
        self.assertEqual(states["task_failure"], "OK")
        # No serving endpoint configured: latency and error rate cannot be judged.
        self.assertEqual(states["latency_p99"], "INSUFFICIENT_DATA")
        self.assertEqual(states["error_rate"], "INSUFFICIENT_DATA")

        # Second run on undrifted data: history, newest first, and per-feature series.
        r = self.api.patch(f"/api/v1/monitors/{m['id']}",
                           json={"current": {"kind": "csv", "path": "datasets/same.csv"}})
        self.assertStatus(r, 200)
        rep2 = self.api.post(f"/api/v1/monitors/{m['id']}/run").json()
        self.assertEqual(rep2["status"], "succeeded")
        self.assertFalse(rep2["dataset_drift"])
        hist = list_all(self.api, f"/api/v1/monitors/{m['id']}/reports")
        self.assertEqual([h["id"] for h in hist], [rep2["id"], rep["id"]])
        self.assertNotIn("report", hist[0])
        full = self.api.get(f"/api/v1/monitors/{m['id']}/reports/{rep['id']}").json()
        self.assertEqual(len(full["report"]["features"]), 3)
        self.assertIn("statistic", full["report"]["features"][0])
        series = self.api.get(f"/api/v1/monitors/{m['id']}/scores").json()["items"]
        age = [s for s in series if s["feature"] == "age"][0]
        self.assertEqual([p["report_id"] for p in age["points"]], [rep["id"], rep2["id"]])
        one = self.api.get(f"/api/v1/monitors/{m['id']}/scores", params={"feature": "age"})
        self.assertEqual([s["feature"] for s in one.json()["items"]], ["age"])
        drift_rule = self.rules_of(m["id"])["drift_share"]
        self.assertEqual(drift_rule["state"], "OK")
        alerts = list_all(self.api, f"/api/v1/alarms/rules/{drift_rule['id']}/alerts")
        self.assertEqual([(a["from_state"], a["to_state"]) for a in alerts],
                         [("ALARM", "OK"), ("INSUFFICIENT_DATA", "ALARM")])

        # Prometheus gauges on the control plane.
        text = self.server.client().get("/metrics").text
        self.assertIn("studio_feature_drift_score{", text)
        self.assertIn(f'monitor="{m["name"]}"', text)
        self.assertIn('feature="age",method="ks"', text)
        self.assertIn("studio_dataset_drift_share{", text)
        self.assertIn(f'studio_alarm_state{{rule="{drift_rule["name"]}",rule_id="{drift_rule["id"]}"',
                      text)

        # Delete: gone with its rules.
        self.assertStatus(self.engineer.delete(f"/api/v1/monitors/{m['id']}"), 204)
        self.assertError(self.api.get(f"/api/v1/monitors/{m['id']}"), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.get(f"/api/v1/alarms/rules/{drift_rule['id']}"), 404)

    def test_alarm_transition_audit_ack_and_webhook(self):
        m = self.create_monitor()
        _Hook.received.clear()
        r = self.monitoring.post("/api/v1/alarms/rules", json={
            "monitor_id": m["id"], "name": "drift hook", "kind": "drift_share",
            "threshold": 0.1, "webhook_url": self.hook_url, "webhook_secret": SECRET})
        self.assertStatus(r, 201)
        rule = r.json()
        self.assertEqual(rule["project_id"], m["project_id"])
        self.assertTrue(rule["webhook_secret_set"])
        self.assertEqual(rule["webhook_secret"], SECRET)  # shown once
        self.assertNotIn("webhook_secret", self.api.get(f"/api/v1/alarms/rules/{rule['id']}").json())

        # Not in ALARM yet: nothing to acknowledge.
        self.assertError(self.monitoring.post(f"/api/v1/alarms/rules/{rule['id']}/ack", json={}),
                         409)
        rep = self.api.post(f"/api/v1/monitors/{m['id']}/run").json()
        self.assertTrue(rep["dataset_drift"])
        got = self.api.get(f"/api/v1/alarms/rules/{rule['id']}").json()
        self.assertEqual(got["state"], "ALARM")
        self.assertFalse(got["acknowledged"])

        # The transition is audit-logged.
        ev = self.api.get("/api/v1/audit", params={"action": "alarm.state_change",
                                                   "resource_id": rule["id"]}).json()["items"]
        self.assertEqual(len(ev), 1)
        details = ev[0]["details"]
        details = json.loads(details) if isinstance(details, str) else details
        self.assertEqual((details["from"], details["to"]), ("INSUFFICIENT_DATA", "ALARM"))
        self.assertEqual(details["report_id"], rep["id"])

        # The webhook arrived, signed over the exact body.
        self.assertEqual(len(_Hook.received), 1)
        headers, body = _Hook.received[0]
        sig = headers.get("X-Studio-Signature")
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(sig, want), (sig, want))
        payload = json.loads(body)
        self.assertEqual(payload["event"], "alarm.state_change")
        self.assertEqual((payload["from"], payload["to"]), ("INSUFFICIENT_DATA", "ALARM"))
        self.assertEqual(payload["rule"]["id"], rule["id"])
        self.assertEqual(payload["monitor"]["id"], m["id"])
        alerts = list_all(self.api, f"/api/v1/alarms/rules/{rule['id']}/alerts")
        self.assertTrue(alerts[0]["notification"].startswith("delivered"), alerts[0])

        # Acknowledgement: monitoring_team may, ml_engineer may not; audit-logged.
        self.assertError(self.engineer.post(f"/api/v1/alarms/rules/{rule['id']}/ack", json={}),
                         403, "PERMISSION_DENIED")
        r = self.monitoring.post(f"/api/v1/alarms/rules/{rule['id']}/ack",
                                 json={"comment": "looking into it"})
        self.assertStatus(r, 200)
        self.assertTrue(r.json()["acknowledged"])
        self.assertTrue(r.json()["acknowledged_by"].startswith("mon-"))
        ev = self.api.get("/api/v1/audit", params={"action": "alarm.ack",
                                                   "resource_id": rule["id"]}).json()["items"]
        self.assertEqual(len(ev), 1)
        self.assertStatus(self.api.get("/api/v1/audit/verify"), 200)
        self.assertTrue(self.api.get("/api/v1/audit/verify").json()["ok"])

    def test_rbac(self):
        body = {"project": self.project, "kind": "drift_share", "threshold": 0.2}
        for client in (self.engineer, self.sponsor):
            self.assertError(client.post("/api/v1/alarms/rules", json=body), 403,
                             "PERMISSION_DENIED")
        r = self.monitoring.post("/api/v1/alarms/rules", json=body)  # project-wide rule
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        self.assertEqual(r.json()["monitor_id"], "")
        self.assertError(self.engineer.patch(f"/api/v1/alarms/rules/{rid}",
                                             json={"threshold": 0.3}), 403)
        self.assertError(self.engineer.delete(f"/api/v1/alarms/rules/{rid}"), 403)
        self.assertStatus(self.monitoring.patch(f"/api/v1/alarms/rules/{rid}",
                                                json={"threshold": 0.3}), 200)
        self.assertStatus(self.monitoring.delete(f"/api/v1/alarms/rules/{rid}"), 204)
        # Monitors are created by the create permission; everyone authenticated reads.
        self.assertError(self.sponsor.post("/api/v1/monitors", json=self.monitor_body()), 403)
        self.assertError(self.monitoring.post("/api/v1/monitors", json=self.monitor_body()), 403)
        self.assertStatus(self.sponsor.get("/api/v1/monitors"), 200)
        self.assertError(self.server.client().get("/api/v1/monitors"), 401)

    def test_webhook_allow_list(self):
        m = self.create_monitor()
        for url in ("http://169.254.169.254/latest/meta-data/",
                    "http://127.0.0.2:9/",            # loopback, not allow-listed
                    "http://[::1]:9/",
                    "http://10.0.0.7/hook",
                    "http://[::ffff:169.254.169.254]/",
                    "ftp://127.0.0.1/x",
                    "file:///etc/passwd",
                    "http://user:pw@127.0.0.1/"):
            r = self.monitoring.post("/api/v1/alarms/rules", json={
                "monitor_id": m["id"], "kind": "task_failure", "webhook_url": url})
            body = self.assertError(r, 400, "INVALID_PARAMETER_VALUE", field="webhook_url")
            self.assertIn("refused", body["message"], url)
        rid = self.rules_of(m["id"])["task_failure"]["id"]
        self.assertError(self.monitoring.patch(f"/api/v1/alarms/rules/{rid}", json={
            "webhook_url": "http://169.254.169.254/"}), 400, field="webhook_url")

    def test_prediction_log_source(self):
        rnd = random.Random(7)
        for n in range(3):
            lines = []
            for i in range(50):
                inputs = [[rnd.gauss(52, 8), rnd.gauss(50000, 9000)] for _ in range(4)]
                lines.append(json.dumps({
                    "ts": "2026-11-26T10:00:00.000Z", "request_id": f"r{n}-{i}",
                    "route": "/predict", "model": "churn", "version": "3",
                    "columns": ["age", "income"], "inputs": inputs,
                    "predictions": [rnd.random() for _ in inputs]}))
            # Records of another model in the same log are ignored by a model-version monitor.
            lines.append(json.dumps({"ts": "2026-11-26T10:00:00.000Z", "request_id": "x",
                                     "route": "/predict", "model": "other", "version": "1",
                                     "columns": ["age"], "inputs": [[1e9]],
                                     "predictions": [0]}))
            self.upload(f"predlog/predictions-20261126T10000{n}Z-{n}.ndjson",
                        "\n".join(lines) + "\n")
        m = self.create_monitor(current={"kind": "prediction_log", "path": "predlog"},
                                features={}, method="auto")
        rep = self.api.post(f"/api/v1/monitors/{m['id']}/run").json()
        self.assertEqual(rep["status"], "succeeded", rep)
        self.assertEqual(rep["current_rows"], 3 * 50 * 4 + 3)  # no model filter: all rows
        cols = {f["column"] for f in rep["report"]["features"]}
        self.assertEqual(cols, {"age", "income"})  # segment is not in the log
        self.assertTrue({f["column"]: f for f in rep["report"]["features"]}["age"]["drift"])

        # An empty prefix fails the check: a failed report and task_failure in ALARM.
        m2 = self.create_monitor(current={"kind": "prediction_log", "path": "predlog-empty"})
        rep = self.api.post(f"/api/v1/monitors/{m2['id']}/run").json()
        self.assertEqual(rep["status"], "failed")
        self.assertIn("predlog-empty", rep["error"])
        self.assertEqual({a["kind"]: a["state"] for a in rep["alarms"]}["task_failure"], "ALARM")

    def test_bad_inputs(self):
        nope = "0190f0f0-0000-7000-8000-000000000000"
        self.assertError(self.api.get(f"/api/v1/monitors/{nope}"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.post(f"/api/v1/monitors/{nope}/run"), 404)
        self.assertError(self.api.get(f"/api/v1/monitors/{nope}/reports"), 404)
        self.assertError(self.api.patch(f"/api/v1/monitors/{nope}", json={"description": "x"}), 404)
        self.assertError(self.api.delete(f"/api/v1/monitors/{nope}"), 404)
        self.assertError(self.api.get(f"/api/v1/alarms/rules/{nope}"), 404)
        self.assertError(self.api.post(f"/api/v1/alarms/rules/{nope}/ack", json={}), 404)
        m = self.create_monitor()
        self.assertError(self.api.get(f"/api/v1/monitors/{m['id']}/reports/{nope}"), 404)

        cases = [
            ({"name": 5}, "name"),
            ({"target": "dep"}, "target"),
            ({"target": {"model": "no-such-model", "version": 1}}, "target.model"),
            ({"reference": {"path": "datasets/missing.csv"}}, "reference.path"),
            ({"reference": {"path": "../../etc/passwd"}}, "reference.path"),
            ({"current": {"kind": "kafka", "path": "x"}}, "current.kind"),
            ({"schedule": "every day"}, "schedule"),
            ({"schedule": "1s"}, "schedule"),
            ({"method": "magic"}, "method"),
            ({"threshold": "high"}, "threshold"),
            ({"drift_share": 2}, "drift_share"),
            ({"features": {"age": {"method": "nope"}}}, "features.age.method"),
            ({"bogus": 1}, "bogus"),
            ({"project": "no-such-project"}, "project"),
            ({"metrics_url": "http://169.254.169.254/metrics"}, "metrics_url"),
        ]
        for over, field in cases:
            r = self.api.post("/api/v1/monitors", json=self.monitor_body(**over))
            self.assertError(r, 400, field=field)
        r = self.api.post("/api/v1/monitors", json={})
        body = self.assertError(r, 400, field="project")
        for f in ("name", "target", "reference", "current"):
            self.assertIn(f, body["details"])
        self.assertError(self.api.post("/api/v1/alarms/rules", json={
            "monitor_id": m["id"], "kind": "sometimes"}), 400, field="kind")
        self.assertError(self.api.post("/api/v1/alarms/rules", json={
            "monitor_id": m["id"], "kind": "error_rate", "threshold": 5}), 400, field="threshold")
        self.assertError(self.api.post("/api/v1/alarms/rules", json={
            "monitor_id": nope, "kind": "error_rate"}), 400, field="monitor_id")
        self.assertError(self.api.get("/api/v1/monitors", params={"max_results": "0"}), 400)
        # A duplicate name in the project.
        self.assertError(self.api.post("/api/v1/monitors", json=self.monitor_body(name=m["name"])),
                         409)

    def test_openapi_lists_monitoring(self):
        doc = self.server.client().get("/api/openapi.json").json()
        for path in ("/api/v1/monitors", "/api/v1/monitors/{id}/run",
                     "/api/v1/monitors/{id}/reports/{report_id}", "/api/v1/alarms/rules/{id}/ack"):
            self.assertIn(path, doc["paths"])
        self.assertEqual(doc["paths"]["/api/v1/alarms/rules"]["post"]["x-permission"],
                         "manage_alerts")
        for name in ("Monitor", "MonitorCreate", "DriftReport", "AlarmRule"):
            self.assertIn(name, doc["components"]["schemas"])


# -- concept drift: labels joined to the prediction log ---------------------------------------

def _accuracy(y, p):
    return sum(1 for a, b in zip(y, p) if a == b) / len(y)


def _f1(y, p):
    """sklearn.metrics.f1_score(average='binary', pos_label=1, zero_division=0)."""
    tp = sum(1 for a, b in zip(y, p) if a == 1 and b == 1)
    fp = sum(1 for a, b in zip(y, p) if a == 0 and b == 1)
    fn = sum(1 for a, b in zip(y, p) if a == 1 and b == 0)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _roc_auc(y, s):
    """sklearn.metrics.roc_auc_score: the share of (positive, negative) pairs ranked right, ties
    counting half."""
    pos = [b for a, b in zip(y, s) if a == 1]
    neg = [b for a, b in zip(y, s) if a == 0]
    won = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return won / (len(pos) * len(neg))


def _metrics(y, scores):
    pred = [1 if s >= 0.5 else 0 for s in scores]
    return {"accuracy": _accuracy(y, pred), "f1": _f1(y, pred), "roc_auc": _roc_auc(y, scores)}


class PerformanceMonitorTests(StudioTestCase):
    """Labels posted for prediction-log records; accuracy/F1/ROC-AUC per window against the
    reference's baseline; the "performance degradation" alarm; prediction drift."""

    N = 300
    upload = MonitorTests.__dict__["upload"]
    monitor_body = MonitorTests.__dict__["monitor_body"]
    create_monitor = MonitorTests.__dict__["create_monitor"]
    rules_of = MonitorTests.__dict__["rules_of"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin
        cls.project = "perf-" + uuid.uuid4().hex[:8]
        r = cls.api.post("/api/v1/projects", json={"name": cls.project})
        assert r.status_code == 201, r.text
        cls.upload("datasets/ref.csv", csv_text(500, seed=1))
        _, cls.engineer = cls.server.user_client("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        _, cls.sponsor = cls.server.user_client("spo-" + uuid.uuid4().hex[:6], ["model_sponsor"])
        _, cls.monitoring = cls.server.user_client("mon-" + uuid.uuid4().hex[:6],
                                                   ["monitoring_team"])
        rnd = random.Random(11)
        # Reference: label column "y", the model's score column "score" (named in the config).
        lines = ["age,income,y,score"]
        cls.ref_y, cls.ref_s = [], []
        for _ in range(400):
            y = rnd.random() < 0.4
            s = min(1.0, max(0.0, rnd.gauss(0.7 if y else 0.3, 0.2)))
            s = round(s, 4)
            cls.ref_y.append(int(y))
            cls.ref_s.append(s)
            lines.append(f"{rnd.gauss(40, 8):.4f},{rnd.gauss(50000, 9000):.2f},{int(y)},{s}")
        cls.upload("datasets/perf-ref.csv", "\n".join(lines) + "\n")
        # Reference with a plain "prediction" column, for prediction drift without a config.
        plain = ["age,income,prediction"] + [
            f"{rnd.gauss(40, 8):.4f},{rnd.gauss(50000, 9000):.2f},{rnd.random() * 0.5:.4f}"
            for _ in range(400)]
        cls.upload("datasets/pred-ref.csv", "\n".join(plain) + "\n")
        # The prediction log: one row per request, one second apart; scores shifted upwards
        # against the reference (prediction drift).
        cls.prefix = "perflog-" + uuid.uuid4().hex[:8]
        cls.scores = [round(min(1.0, max(0.0, rnd.gauss(0.6, 0.25))), 4) for _ in range(cls.N)]
        recs = []
        for i, s in enumerate(cls.scores):
            recs.append(json.dumps({
                "ts": f"2026-11-26T10:{i // 60:02d}:{i % 60:02d}.000Z", "request_id": f"p-{i}",
                "route": "/predict", "model": "churn", "version": "3",
                "columns": ["age", "income"],
                "inputs": [[rnd.gauss(40, 8), rnd.gauss(50000, 9000)]], "predictions": [s]}))
        # Newest file first: the log is read across files.
        cls.upload(f"{cls.prefix}/predictions-20261126T100000Z-0.ndjson",
                   "\n".join(recs[:150]) + "\n")
        cls.upload(f"{cls.prefix}/predictions-20261126T100230Z-1.ndjson",
                   "\n".join(recs[150:]) + "\n")

    def perf_monitor(self, **perf):
        config = {"task": "classification", "window_rows": 100, "min_rows": 30,
                  "label_column": "y", "prediction_column": "score", "degradation": 0.1}
        config.update(perf)
        return self.create_monitor(reference={"path": "datasets/perf-ref.csv"},
                                   current={"kind": "prediction_log", "path": self.prefix},
                                   features={}, method="auto", performance=config)

    def post_labels(self, mid, labels, client=None):
        r = (client or self.api).post(f"/api/v1/monitors/{mid}/labels", json={"labels": labels})
        self.assertStatus(r, 200)
        return r.json()

    def perf_rule(self, mid):
        return self.rules_of(mid)["performance"]

    def test_performance_window_alarm_and_audit(self):
        m = self.perf_monitor()
        mid = m["id"]
        # The baseline comes from the reference's label and score columns.
        base = m["options"]["performance"]["reference_baseline"]
        want = _metrics(self.ref_y, self.ref_s)
        for k, v in want.items():
            self.assertAlmostEqual(base[k], v, places=12, msg=k)
        rule = self.perf_rule(mid)
        self.assertEqual(rule["name"], "performance degradation")
        self.assertEqual(rule["threshold"], 0.1)
        self.assertEqual(rule["state"], "INSUFFICIENT_DATA")

        # No labels yet; prediction drift is reported under the reference's column name.
        rep = self.api.post(f"/api/v1/monitors/{mid}/run").json()
        self.assertEqual(rep["status"], "succeeded", rep)
        feats = {f["column"]: f for f in rep["report"]["features"]}
        self.assertIn("score", feats)
        self.assertTrue(feats["score"]["drift"], feats["score"])
        self.assertEqual(rep["report"]["performance"]["joined_rows"], 0)
        states = {a["kind"]: a for a in rep["alarms"]}
        self.assertEqual(states["performance"]["state"], "INSUFFICIENT_DATA")

        # Fewer labels than min_rows: still INSUFFICIENT_DATA.
        got = self.post_labels(mid, [{"request_id": f"p-{i}", "label": 0} for i in range(20)])
        self.assertEqual((got["received"], got["stored"]), (20, 20))
        rep = self.api.post(f"/api/v1/monitors/{mid}/run").json()
        perf = rep["report"]["performance"]
        self.assertEqual(perf["joined_rows"], 20)
        self.assertIn("minimum 30", perf["reason"])
        self.assertEqual({a["kind"]: a["state"] for a in rep["alarms"]}["performance"],
                         "INSUFFICIENT_DATA")

        # A good window: labels agree with the model most of the time. p-0..p-19 are labelled
        # again (last write wins: still 20 rows for them).
        rnd = random.Random(5)
        truth = {}
        for i in range(0, 120):
            s = self.scores[i]
            y = int(s >= 0.5) if rnd.random() < 0.93 else int(s < 0.5)
            truth[i] = y
        labels = [{"request_id": f"p-{i}", "label": truth[i] if i % 2 else str(truth[i]),
                   "ts": "2026-11-26T12:00:00Z"} for i in range(120)]
        self.post_labels(mid, labels)
        rep = self.api.post(f"/api/v1/monitors/{mid}/run").json()
        perf = rep["report"]["performance"]
        self.assertEqual(perf["joined_rows"], 120)
        window = list(range(20, 120))  # the latest 100 by prediction time
        want = _metrics([truth[i] for i in window], [self.scores[i] for i in window])
        for k, v in want.items():
            self.assertAlmostEqual(perf["metrics"][k], v, places=12, msg=k)
        self.assertEqual(perf["baseline_source"], "reference")
        self.assertFalse(perf["any_degraded"], perf)
        self.assertEqual(perf["detector"]["name"], "ddm")
        self.assertEqual(perf["detector"]["n"], 120)
        self.assertEqual({a["kind"]: a["state"] for a in rep["alarms"]}["performance"], "OK")

        # A degraded window: the next 100 predictions were mostly wrong.
        flipped = {i: int(self.scores[i] < 0.5) if rnd.random() < 0.8 else int(self.scores[i] >= 0.5)
                   for i in range(120, 220)}
        self.post_labels(mid, [{"request_id": f"p-{i}", "label": y} for i, y in flipped.items()])
        rep = self.api.post(f"/api/v1/monitors/{mid}/run").json()
        perf = rep["report"]["performance"]
        self.assertEqual(perf["joined_rows"], 220)
        want = _metrics(list(flipped.values()), [self.scores[i] for i in flipped])
        for k, v in want.items():
            self.assertAlmostEqual(perf["metrics"][k], v, places=12, msg=k)
        self.assertTrue(perf["any_degraded"])
        self.assertTrue(perf["degraded"]["accuracy"])
        acc = [c for c in perf["comparisons"] if c["metric"] == "accuracy"][0]
        self.assertAlmostEqual(acc["relative_change"],
                               (want["accuracy"] - base["accuracy"]) / base["accuracy"], places=12)
        self.assertGreaterEqual(perf["detector"]["drifts"], 1)
        alarm = {a["kind"]: a for a in rep["alarms"]}["performance"]
        self.assertEqual(alarm["state"], "ALARM", alarm)
        rule = self.perf_rule(mid)
        self.assertEqual(rule["state"], "ALARM")
        ev = self.api.get("/api/v1/audit", params={"action": "alarm.state_change",
                                                   "resource_id": rule["id"]}).json()["items"]
        moves = []
        for e in ev:
            d = e["details"]
            d = json.loads(d) if isinstance(d, str) else d
            moves.append((d["from"], d["to"]))
        self.assertIn(("OK", "ALARM"), moves)
        # One audit event per label batch, not per label.
        ev = self.api.get("/api/v1/audit", params={"action": "monitor.labels",
                                                   "resource_id": mid}).json()["items"]
        self.assertEqual(len(ev), 3)

        # The score series and the Prometheus gauges carry the metrics.
        series = self.api.get(f"/api/v1/monitors/{mid}/scores",
                              params={"feature": "performance.accuracy"}).json()["items"]
        self.assertEqual(len(series), 1)
        self.assertEqual(len(series[0]["points"]), 2)
        self.assertTrue(series[0]["points"][-1]["drift"])
        text = self.server.client().get("/metrics").text
        self.assertIn("studio_model_performance{", text)
        self.assertIn(f'monitor="{m["name"]}"', text)
        self.assertIn('metric="roc_auc"', text)
        self.assertRegex(text, r'studio_model_performance_degraded\{[^}]*monitor="'
                         + m["name"] + r'"[^}]*metric="accuracy"\} 1')

    def test_explicit_baseline_and_prediction_drift_without_config(self):
        m = self.perf_monitor(baseline={"accuracy": 0.99}, min_rows=5)
        self.post_labels(m["id"], [{"request_id": f"p-{i}", "label": int(self.scores[i] < 0.5)}
                                   for i in range(250, 300)])
        rep = self.api.post(f"/api/v1/monitors/{m['id']}/run").json()
        perf = rep["report"]["performance"]
        self.assertEqual(perf["baseline_source"], "config")
        self.assertEqual([c["metric"] for c in perf["comparisons"]], ["accuracy"])
        self.assertEqual(perf["metrics"]["accuracy"], 0.0)
        self.assertEqual({a["kind"]: a["state"] for a in rep["alarms"]}["performance"], "ALARM")

        # No performance config: the log's scalar predictions are compared with the
        # reference's "prediction" column, and no performance rule exists.
        m2 = self.create_monitor(reference={"path": "datasets/pred-ref.csv"},
                                 current={"kind": "prediction_log", "path": self.prefix},
                                 features={}, method="ks")
        self.assertNotIn("performance", self.rules_of(m2["id"]))
        rep = self.api.post(f"/api/v1/monitors/{m2['id']}/run").json()
        feats = {f["column"]: f for f in rep["report"]["features"]}
        self.assertEqual(set(feats), {"age", "income", "prediction"})
        self.assertEqual(feats["prediction"]["method"], "ks")
        self.assertTrue(feats["prediction"]["drift"])
        self.assertNotIn("performance", rep["report"])

    def test_regression_and_rules(self):
        m = self.create_monitor(reference={"path": "datasets/pred-ref.csv"},
                                current={"kind": "prediction_log", "path": self.prefix},
                                features={}, method="ks",
                                performance={"task": "regression", "min_rows": 10,
                                             "window_rows": 40,
                                             "baseline": {"mae": 0.2, "rmse": 0.2}})
        rnd = random.Random(3)
        truth = {i: round(self.scores[i] + rnd.uniform(-0.6, 0.6), 3) for i in range(260, 300)}
        self.post_labels(m["id"], [{"request_id": f"p-{i}", "label": y} for i, y in truth.items()])
        rep = self.api.post(f"/api/v1/monitors/{m['id']}/run").json()
        perf = rep["report"]["performance"]
        err = [truth[i] - self.scores[i] for i in sorted(truth)]
        self.assertAlmostEqual(perf["metrics"]["mae"], sum(abs(e) for e in err) / len(err),
                               places=12)
        self.assertAlmostEqual(perf["metrics"]["rmse"],
                               (sum(e * e for e in err) / len(err)) ** 0.5, places=12)
        self.assertEqual(perf["detector"]["name"], "page_hinkley")
        self.assertTrue(perf["degraded"]["mae"])
        self.assertEqual({a["kind"]: a["state"] for a in rep["alarms"]}["performance"], "ALARM")

        # A performance rule made by hand defaults to a 10% degradation; a performance config
        # added later by PATCH brings the default rule once.
        r = self.monitoring.post("/api/v1/alarms/rules",
                                 json={"monitor_id": m["id"], "kind": "performance"})
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["threshold"], 0.1)
        m2 = self.create_monitor(reference={"path": "datasets/perf-ref.csv"},
                                 current={"kind": "prediction_log", "path": self.prefix},
                                 features={})
        self.assertNotIn("performance", self.rules_of(m2["id"]))
        for _ in range(2):
            r = self.api.patch(f"/api/v1/monitors/{m2['id']}", json={"performance": {
                "task": "classification", "label_column": "y", "prediction_column": "score",
                "degradation": 0.2}})
            self.assertStatus(r, 200)
        self.assertIn("accuracy", r.json()["options"]["performance"]["reference_baseline"])
        rules = list_all(self.api, "/api/v1/alarms/rules", {"monitor_id": m2["id"]})
        perf_rules = [x for x in rules if x["kind"] == "performance"]
        self.assertEqual(len(perf_rules), 1)
        self.assertEqual(perf_rules[0]["threshold"], 0.2)

    def test_bad_labels_and_config(self):
        m = self.perf_monitor()
        url = f"/api/v1/monitors/{m['id']}/labels"
        nope = "0190f0f0-0000-7000-8000-000000000000"
        self.assertError(self.api.post(f"/api/v1/monitors/{nope}/labels",
                                       json={"labels": [{"request_id": "a", "label": 1}]}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        cases = [
            ({"labels": "x"}, "labels"),
            ({"labels": []}, "labels"),
            ({"labels": [{"request_id": f"r{i}", "label": 1} for i in range(1001)]}, "labels"),
            ({"labels": [{"request_id": 5, "label": 1}]}, "labels[0].request_id"),
            ({"labels": [{"request_id": "", "label": 1}]}, "labels[0].request_id"),
            ({"labels": [{"request_id": "a"}]}, "labels[0].label"),
            ({"labels": [{"request_id": "a", "label": [1]}]}, "labels[0].label"),
            ({"labels": [{"request_id": "a", "label": True}]}, "labels[0].label"),
            ({"labels": [{"request_id": "a", "label": None}]}, "labels[0].label"),
            ({"labels": [{"request_id": "a", "label": 1, "ts": "yesterday"}]}, "labels[0].ts"),
            ({"labels": [{"request_id": "a", "label": 1, "weight": 2}]}, "labels[0].weight"),
            ({"labels": [{"request_id": "a", "label": 1}, "b"]}, "labels[1]"),
            ({"labels": [{"request_id": "a", "label": 1}], "extra": 1}, "extra"),
        ]
        for body, field in cases:
            self.assertError(self.api.post(url, json=body), 400, "INVALID_PARAMETER_VALUE",
                             field=field)
        # Nothing of a rejected batch is stored.
        ev = self.api.get("/api/v1/audit", params={"action": "monitor.labels",
                                                   "resource_id": m["id"]}).json()["items"]
        self.assertEqual(ev, [])
        # Same permission as running a monitor.
        self.assertError(self.sponsor.post(url, json={"labels": [{"request_id": "a", "label": 1}]}),
                         403, "PERMISSION_DENIED")
        self.assertStatus(self.engineer.post(url, json={"labels": [{"request_id": "a",
                                                                     "label": "yes"}]}), 200)
        bad_configs = [
            ({"task": "ranking"}, "performance.task"),
            ({"task": "classification", "window_rows": 0}, "performance.window_rows"),
            ({"task": "classification", "degradation": 2}, "performance.degradation"),
            ({"task": "regression", "baseline": {"accuracy": 0.9}}, "performance.baseline.accuracy"),
            ({"task": "classification", "bogus": 1}, "performance.bogus"),
        ]
        for perf, field in bad_configs:
            self.assertError(self.api.post("/api/v1/monitors", json=self.monitor_body(
                reference={"path": "datasets/perf-ref.csv"}, performance=perf)), 400, field=field)
        # No label/prediction columns in the reference and no baseline: refused up front.
        self.assertError(self.api.post("/api/v1/monitors", json=self.monitor_body(
            performance={"task": "classification"})), 400, field="performance.baseline")
