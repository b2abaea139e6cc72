"""MLflow tracking REST (/api/2.0/mlflow and /ajax-api/2.0/mlflow): exact wire formats,
MLflow's error codes, log-batch limits, param immutability, search filters and pagination,
RBAC, audit, and artifact_location confinement (MLflow's LFI CVE chain through
experiments/create: reference/registry_serving.md §4)."""

import os
import time
import uuid

from harness import StudioTestCase

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


class TrackingTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin

    # -- helpers -------------------------------------------------------------------------------

    def post(self, path, body, client=None, prefix=API):
        return (client or self.api).post(prefix + path, json=body)

    def get(self, path, params, client=None, prefix=API):
        return (client or self.api).get(prefix + path, params=params)

    def ok(self, resp):
        self.assertStatus(resp, 200)
        self.assertTrue(resp.headers["Content-Type"].startswith("application/json"))
        return resp.json()

    def new_experiment(self, **fields):
        name = fields.pop("name", "exp-" + uuid.uuid4().hex[:10])
        body = self.ok(self.post("/experiments/create", dict(fields, name=name)))
        return body["experiment_id"], name

    def new_run(self, experiment_id, **fields):
        body = self.ok(self.post("/runs/create", dict(fields, experiment_id=experiment_id)))
        return body["run"]

    # -- experiments ---------------------------------------------------------------------------

    def test_experiment_create_get_wire_format(self):
        before = int(time.time() * 1000)
        exp_id, name = self.new_experiment(tags=[{"key": "team", "value": "risk"}])
        self.assertIsInstance(exp_id, str)
        self.assertTrue(exp_id.isdigit())
        e = self.ok(self.get("/experiments/get", {"experiment_id": exp_id}))["experiment"]
        self.assertEqual(set(e), {"experiment_id", "name", "artifact_location", "lifecycle_stage",
                                  "last_update_time", "creation_time", "tags"})
        self.assertEqual(e["experiment_id"], exp_id)
        self.assertEqual(e["name"], name)
        self.assertEqual(e["artifact_location"], "mlflow-artifacts:/" + exp_id)
        self.assertEqual(e["lifecycle_stage"], "active")
        self.assertIsInstance(e["creation_time"], int)
        self.assertGreaterEqual(e["creation_time"], before)
        self.assertIsInstance(e["last_update_time"], int)
        self.assertEqual(e["tags"], [{"key": "team", "value": "risk"}])
        by_name = self.ok(self.get("/experiments/get-by-name", {"experiment_name": name}))
        self.assertEqual(by_name["experiment"], e)
        # the UI prefix serves the same API
        self.assertEqual(self.ok(self.get("/experiments/get", {"experiment_id": exp_id},
                                          prefix=AJAX))["experiment"], e)
        # MLflow's Default experiment exists
        d = self.ok(self.get("/experiments/get", {"experiment_id": "0"}))["experiment"]
        self.assertEqual(d["name"], "Default")
        self.assertNotIn("tags", d)

    def test_experiment_errors(self):
        _, name = self.new_experiment()
        body = self.assertError(self.post("/experiments/create", {"name": name}), 400,
                                "RESOURCE_ALREADY_EXISTS")
        self.assertIn(name, body["message"])
        self.assertError(self.get("/experiments/get", {"experiment_id": "987654"}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.get("/experiments/get-by-name", {"experiment_name": "nope-x"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.post("/experiments/create", {}), 400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/experiments/create", {"name": 5}), 400,
                         "INVALID_PARAMETER_VALUE")
        self.assertError(self.get("/experiments/get", {"experiment_id": "abc"}), 400,
                         "INVALID_PARAMETER_VALUE")
        # unknown fields are ignored, as protobuf JSON parsing does
        self.ok(self.post("/experiments/create", {"name": "x-" + uuid.uuid4().hex,
                                                  "some_future_field": 1}))

    def test_experiment_search_filter_order_pages(self):
        tag = uuid.uuid4().hex[:8]
        ids = []
        for i in range(5):
            eid, _ = self.new_experiment(name=f"search-{tag}-{i}",
                                         tags=[{"key": "batch", "value": tag}])
            ids.append(eid)
        body = self.ok(self.post("/experiments/search",
                                 {"filter": f"name LIKE 'search-{tag}-%'",
                                  "order_by": ["name DESC"], "max_results": 2}))
        self.assertEqual([e["name"] for e in body["experiments"]],
                         [f"search-{tag}-4", f"search-{tag}-3"])
        seen = [e["experiment_id"] for e in body["experiments"]]
        token = body["next_page_token"]
        while token:
            body = self.ok(self.post("/experiments/search",
                                     {"filter": f"name LIKE 'search-{tag}-%'",
                                      "order_by": ["name DESC"], "max_results": 2,
                                      "page_token": token}))
            seen += [e["experiment_id"] for e in body["experiments"]]
            token = body.get("next_page_token")
        self.assertEqual(sorted(seen), sorted(ids))
        body = self.ok(self.post("/experiments/search",
                                 {"filter": f"tags.batch = '{tag}' and name = 'search-{tag}-2'"}))
        self.assertEqual([e["experiment_id"] for e in body["experiments"]], [ids[2]])
        # GET spelling with query parameters
        body = self.ok(self.get("/experiments/search",
                                {"filter": f"name = 'search-{tag}-1'", "max_results": 10}))
        self.assertEqual([e["experiment_id"] for e in body["experiments"]], [ids[1]])
        # nothing matches: MLflow omits empty lists
        self.assertEqual(self.ok(self.post("/experiments/search",
                                           {"filter": "name = 'no-such-exp-zz'"})), {})
        # filter values are bound, never spliced into SQL
        self.assertEqual(self.ok(self.post("/experiments/search",
                                           {"filter": "name = \"x' OR 1=1 --\""})), {})
        for bad in ("name = ", "name ~ 'x'", "bogus.name = 'x'", "name = 'x' OR name = 'y'"):
            self.assertError(self.post("/experiments/search", {"filter": bad}), 400,
                             "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/experiments/search", {"order_by": ["name; DROP"]}), 400,
                         "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/experiments/search", {"page_token": "!!!"}), 400,
                         "INVALID_PARAMETER_VALUE")

    def test_experiment_rename_delete_restore(self):
        exp_id, name = self.new_experiment()
        rid = self.new_run(exp_id)["info"]["run_id"]
        _, other = self.new_experiment()
        self.assertError(self.post("/experiments/update", {"experiment_id": exp_id,
                                                           "new_name": other}),
                         400, "RESOURCE_ALREADY_EXISTS")
        self.assertEqual(self.ok(self.post("/experiments/update",
                                           {"experiment_id": exp_id,
                                            "new_name": name + "-v2"})), {})
        e = self.ok(self.get("/experiments/get-by-name",
                             {"experiment_name": name + "-v2"}))["experiment"]
        self.assertEqual(e["experiment_id"], exp_id)
        self.assertEqual(self.ok(self.post("/experiments/delete", {"experiment_id": exp_id})), {})
        e = self.ok(self.get("/experiments/get", {"experiment_id": exp_id}))["experiment"]
        self.assertEqual(e["lifecycle_stage"], "deleted")
        run = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(run["info"]["lifecycle_stage"], "deleted")
        flt = {"filter": f"name = '{name}-v2'"}
        self.assertEqual(self.ok(self.post("/experiments/search", flt)), {})
        found = self.ok(self.post("/experiments/search", dict(flt, view_type="DELETED_ONLY")))
        self.assertEqual([x["experiment_id"] for x in found["experiments"]], [exp_id])
        self.assertError(self.post("/runs/create", {"experiment_id": exp_id}), 400,
                         "INVALID_PARAMETER_VALUE")
        self.ok(self.post("/experiments/restore", {"experiment_id": exp_id}))
        run = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(run["info"]["lifecycle_stage"], "active")
        self.assertError(self.post("/experiments/delete", {"experiment_id": "0"}), 400,
                         "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/experiments/delete", {"experiment_id": "424242"}), 404,
                         "RESOURCE_DOES_NOT_EXIST")

    # -- runs ----------------------------------------------------------------------------------

    def test_run_lifecycle_wire_format(self):
        exp_id, _ = self.new_experiment()
        run = self.new_run(exp_id, run_name="first", start_time=1700000000000,
                           tags=[{"key": "mlflow.source.name", "value": "train.py"}])
        self.assertEqual(set(run), {"info", "data", "inputs"})
        info = run["info"]
        rid = info["run_id"]
        self.assertRegex(rid, r"^[0-9a-f]{32}$")
        self.assertEqual(info["run_uuid"], rid)
        self.assertEqual(info["experiment_id"], exp_id)
        self.assertEqual(info["run_name"], "first")
        self.assertEqual(info["user_id"], "admin")
        self.assertEqual(info["status"], "RUNNING")
        self.assertEqual(info["start_time"], 1700000000000)
        self.assertNotIn("end_time", info)
        self.assertEqual(info["artifact_uri"], f"mlflow-artifacts:/{exp_id}/{rid}/artifacts")
        self.assertEqual(info["lifecycle_stage"], "active")
        self.assertEqual(run["inputs"], {})
        self.assertEqual(run["data"], {"tags": [{"key": "mlflow.runName", "value": "first"},
                                                {"key": "mlflow.source.name",
                                                 "value": "train.py"}]})

        self.ok(self.post("/runs/log-metric", {"run_id": rid, "key": "rmse", "value": 0.5,
                                               "timestamp": 1700000000100, "step": 1}))
        self.ok(self.post("/runs/log-metric", {"run_id": rid, "key": "rmse", "value": 0.25,
                                               "timestamp": 1700000000200, "step": 2}))
        self.ok(self.post("/runs/log-metric", {"run_uuid": rid, "key": "rmse", "value": 9.0,
                                               "timestamp": 1700000000300, "step": 0}))
        self.assertEqual(self.ok(self.post("/runs/log-parameter",
                                           {"run_id": rid, "key": "lr", "value": "0.1"})), {})
        self.assertEqual(self.ok(self.post("/runs/set-tag",
                                           {"run_id": rid, "key": "stage", "value": "dev"})), {})
        got = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(got["data"]["metrics"],
                         [{"key": "rmse", "value": 0.25, "timestamp": 1700000000200, "step": 2}])
        self.assertEqual(got["data"]["params"], [{"key": "lr", "value": "0.1"}])
        self.assertIn({"key": "stage", "value": "dev"}, got["data"]["tags"])
        hist = self.ok(self.get("/metrics/get-history", {"run_id": rid, "metric_key": "rmse"}))
        self.assertEqual(hist["metrics"], [
            {"key": "rmse", "value": 9.0, "timestamp": 1700000000300, "step": 0},
            {"key": "rmse", "value": 0.5, "timestamp": 1700000000100, "step": 1},
            {"key": "rmse", "value": 0.25, "timestamp": 1700000000200, "step": 2}])

        upd = self.ok(self.post("/runs/update", {"run_id": rid, "status": "FINISHED",
                                                 "end_time": 1700000009999,
                                                 "run_name": "renamed"}))
        self.assertEqual(set(upd), {"run_info"})
        self.assertEqual(upd["run_info"]["status"], "FINISHED")
        self.assertEqual(upd["run_info"]["end_time"], 1700000009999)
        self.assertEqual(upd["run_info"]["run_name"], "renamed")
        got = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(got["info"], upd["run_info"])
        self.assertIn({"key": "mlflow.runName", "value": "renamed"}, got["data"]["tags"])

        self.assertEqual(self.ok(self.post("/runs/delete", {"run_id": rid})), {})
        got = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(got["info"]["lifecycle_stage"], "deleted")
        self.assertError(self.post("/runs/log-parameter", {"run_id": rid, "key": "b",
                                                           "value": "1"}),
                         400, "INVALID_PARAMETER_VALUE")
        self.ok(self.post("/runs/restore", {"run_id": rid}))
        self.ok(self.post("/runs/log-parameter", {"run_id": rid, "key": "b", "value": "1"}))

    def test_run_errors(self):
        exp_id, _ = self.new_experiment()
        missing = "0" * 32
        self.assertError(self.get("/runs/get", {"run_id": missing}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.post("/runs/log-metric", {"run_id": missing, "key": "a",
                                                        "value": 1, "timestamp": 1}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.post("/runs/create", {"experiment_id": "99999"}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        rid = self.new_run(exp_id)["info"]["run_id"]
        self.assertError(self.post("/runs/update", {"run_id": rid, "status": "DONE"}), 400,
                         "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/runs/log-metric", {"run_id": rid, "key": "a", "value": "x",
                                                        "timestamp": 1}),
                         400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.post("/runs/log-metric", {"run_id": rid, "key": "a", "value": 1}),
                         400, "INVALID_PARAMETER_VALUE")
        for key in ("../etc", "/abs", "a/../../b", "bad\nkey", "x" * 251, ""):
            self.assertError(self.post("/runs/log-parameter",
                                       {"run_id": rid, "key": key, "value": "v"}),
                             400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.get("/runs/get", {"run_id": "../../x"}), 400,
                         "INVALID_PARAMETER_VALUE")

    def test_param_immutability(self):
        exp_id, _ = self.new_experiment()
        rid = self.new_run(exp_id)["info"]["run_id"]
        self.ok(self.post("/runs/log-parameter", {"run_id": rid, "key": "alpha", "value": "1"}))
        # same value again: idempotent
        self.ok(self.post("/runs/log-parameter", {"run_id": rid, "key": "alpha", "value": "1"}))
        self.ok(self.post("/runs/log-batch", {"run_id": rid,
                                              "params": [{"key": "alpha", "value": "1"}]}))
        body = self.assertError(self.post("/runs/log-parameter",
                                          {"run_id": rid, "key": "alpha", "value": "2"}),
                                400, "INVALID_PARAMETER_VALUE")
        self.assertIn("alpha", body["message"])
        self.assertError(self.post("/runs/log-batch",
                                   {"run_id": rid, "params": [{"key": "alpha", "value": "3"}]}),
                         400, "INVALID_PARAMETER_VALUE")
        # a failed batch writes nothing (one transaction)
        self.assertError(self.post("/runs/log-batch",
                                   {"run_id": rid,
                                    "metrics": [{"key": "m", "value": 1, "timestamp": 5}],
                                    "params": [{"key": "alpha", "value": "4"}]}),
                         400, "INVALID_PARAMETER_VALUE")
        run = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
        self.assertEqual(run["data"]["params"], [{"key": "alpha", "value": "1"}])
        self.assertNotIn("metrics", run["data"])
        # duplicate keys with different values inside one batch
        self.assertError(self.post("/runs/log-batch",
                                   {"run_id": rid, "params": [{"key": "beta", "value": "1"},
                                                              {"key": "beta", "value": "2"}]}),
                         400, "INVALID_PARAMETER_VALUE")

    def test_log_batch_limits(self):
        exp_id, _ = self.new_experiment()
        rid = self.new_run(exp_id)["info"]["run_id"]

        def metrics(n):
            return [{"key": f"m{i % 7}", "value": float(i), "timestamp": 1000 + i, "step": i}
                    for i in range(n)]

        def kvs(n, prefix):
            return [{"key": f"{prefix}{i}", "value": "v"} for i in range(n)]
        self.ok(self.post("/runs/log-batch", {"run_id": rid, "metrics": metrics(1000)}))
        self.ok(self.post("/runs/log-batch", {"run_id": rid, "params": kvs(100, "p"),
                                              "tags": kvs(100, "t")}))
        self.ok(self.post("/runs/log-batch", {"run_id": rid, "metrics": metrics(800),
                                              "params": kvs(100, "p"), "tags": kvs(100, "t")}))
        for body in ({"metrics": metrics(1001)}, {"params": kvs(101, "q")},
                     {"tags": kvs(101, "u")},
                     {"metrics": metrics(801), "params": kvs(100, "p"), "tags": kvs(100, "t")}):
            body["run_id"] = rid
            self.assertError(self.post("/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
        k250 = "k" * 250
        self.ok(self.post("/runs/log-batch", {"run_id": rid,
                                              "params": [{"key": k250, "value": "v" * 6000}],
                                              "tags": [{"key": k250, "value": "v" * 5000}]}))
        for body in ({"params": [{"key": "k" * 251, "value": "v"}]},
                     {"params": [{"key": "big", "value": "v" * 6001}]},
                     {"tags": [{"key": "big", "value": "v" * 5001}]},
                     {"metrics": [{"key": "k" * 251, "value": 1, "timestamp": 1}]}):
            body["run_id"] = rid
            self.assertError(self.post("/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
        hist = self.ok(self.get("/metrics/get-history", {"run_id": rid, "metric_key": "m0"}))
        self.assertEqual(len(hist["metrics"]), 143 + 115)  # ceil(1000/7) + ceil(800/7)

    def test_search_runs(self):
        exp_id, _ = self.new_experiment()
        other, _ = self.new_experiment()
        runs = []
        for i in range(4):
            r = self.new_run(exp_id, run_name=f"r{i}", start_time=1000 + i)
            rid = r["info"]["run_id"]
            runs.append(rid)
            self.ok(self.post("/runs/log-batch", {
                "run_id": rid,
                "metrics": [{"key": "rmse", "value": i / 10, "timestamp": 1, "step": 0}],
                "params": [{"key": "depth", "value": str(i % 2)}],
                "tags": [{"key": "team", "value": "a" if i < 2 else "b"}]}))
        self.new_run(other, run_name="elsewhere")
        body = self.ok(self.post("/runs/search", {"experiment_ids": [exp_id]}))
        self.assertEqual([r["info"]["run_id"] for r in body["runs"]], runs[::-1])
        self.assertNotIn("next_page_token", body)

        def ids(flt, **extra):
            b = self.ok(self.post("/runs/search", dict(extra, experiment_ids=[exp_id],
                                                       filter=flt)))
            return [r["info"]["run_id"] for r in b.get("runs", [])]
        self.assertEqual(ids("tags.team = 'a'"), [runs[1], runs[0]])
        self.assertEqual(ids("params.depth = '1' and tags.team = 'b'"), [runs[3]])
        self.assertEqual(ids("metrics.rmse < 0.15"), [runs[1], runs[0]])
        self.assertEqual(ids("attributes.run_name = 'r2'"), [runs[2]])
        self.assertEqual(ids("run_name LIKE 'r%'", order_by=["attributes.start_time ASC"]),
                         runs)
        self.assertEqual(ids("tags.`team` = 'b'", order_by=["run_name DESC"]),
                         [runs[3], runs[2]])
        self.assertEqual(ids("attributes.status = 'RUNNING' and attributes.start_time >= 1002"),
                         [runs[3], runs[2]])
        self.assertEqual(ids("tags.team = \"a' OR '1'='1\""), [])
        # pagination
        b = self.ok(self.post("/runs/search", {"experiment_ids": [exp_id], "max_results": 3}))
        self.assertEqual(len(b["runs"]), 3)
        b2 = self.ok(self.post("/runs/search", {"experiment_ids": [exp_id], "max_results": 3,
                                                "page_token": b["next_page_token"]}))
        self.assertEqual([r["info"]["run_id"] for r in b2["runs"]], [runs[0]])
        # deleted runs
        self.ok(self.post("/runs/delete", {"run_id": runs[0]}))
        self.assertEqual(ids(""), runs[:0:-1])
        self.assertEqual(ids("", run_view_type="DELETED_ONLY"), [runs[0]])
        self.assertEqual(len(ids("", run_view_type="ALL")), 4)
        # both experiments
        b = self.ok(self.post("/runs/search", {"experiment_ids": [exp_id, other]}))
        self.assertEqual(len(b["runs"]), 4)
        for bad in ("metrics.rmse < 'x'", "params.depth > 1", "nosuch = 'x'",
                    "tags.team = 'a' OR tags.team = 'b'"):
            self.assertError(self.post("/runs/search", {"experiment_ids": [exp_id],
                                                        "filter": bad}),
                             400, "INVALID_PARAMETER_VALUE")

    def test_run_artifacts_list(self):
        exp_id, _ = self.new_experiment()
        run = self.new_run(exp_id)
        rid = run["info"]["run_id"]
        uri = run["info"]["artifact_uri"]
        body = self.ok(self.get("/artifacts/list", {"run_id": rid}))
        self.assertEqual(body, {"root_uri": uri})
        # what an MLflow client does for mlflow-artifacts:/ URIs: PUT through the proxy
        rel = uri[len("mlflow-artifacts:/"):]
        for path, data in (("model/MLmodel", b"flavor"), ("metrics.json", b"{}")):
            r = self.api.put(f"/api/2.0/mlflow-artifacts/artifacts/{rel}/{path}", data=data,
                             headers={"Content-Type": "application/octet-stream"})
            self.assertStatus(r, 200)
        body = self.ok(self.get("/artifacts/list", {"run_id": rid}))
        self.assertEqual(body, {"root_uri": uri, "files": [
            {"path": "metrics.json", "is_dir": False, "file_size": 2},
            {"path": "model", "is_dir": True}]})
        body = self.ok(self.get("/artifacts/list", {"run_id": rid, "path": "model"}))
        self.assertEqual(body["files"], [{"path": "model/MLmodel", "is_dir": False,
                                          "file_size": 6}])
        for bad in ("../..", "../../../etc", "%2e%2e/%2e%2e", "/etc", "model/../.."):
            self.assertError(self.get("/artifacts/list", {"run_id": rid, "path": bad}), 400,
                             "INVALID_PARAMETER_VALUE")

    # -- security ------------------------------------------------------------------------------

    def test_rbac_and_audit(self):
        _, reader = self.server.user_client("trk-reader-" + uuid.uuid4().hex[:6], [])
        _, eng = self.server.user_client("trk-eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        anon = self.server.client(origin=False)
        exp_id, name = self.new_experiment()
        self.assertError(self.get("/experiments/get", {"experiment_id": exp_id}, client=anon),
                         401, "UNAUTHENTICATED")
        self.ok(self.get("/experiments/get", {"experiment_id": exp_id}, client=reader))
        self.assertError(self.post("/experiments/create", {"name": "r-" + uuid.uuid4().hex},
                                   client=reader), 403, "PERMISSION_DENIED")
        self.assertError(self.post("/runs/create", {"experiment_id": exp_id}, client=reader),
                         403, "PERMISSION_DENIED")
        self.ok(self.post("/runs/search", {"experiment_ids": [exp_id]}, client=reader))
        run = self.new_run(exp_id)
        rid = run["info"]["run_id"]
        self.assertError(self.post("/runs/log-metric", {"run_id": rid, "key": "a", "value": 1,
                                                        "timestamp": 1}, client=reader),
                         403, "PERMISSION_DENIED")
        # user_id is the authenticated caller, whatever the (deprecated) request field says
        r = self.ok(self.post("/runs/create", {"experiment_id": exp_id, "user_id": "admin"},
                              client=eng))
        self.assertTrue(r["run"]["info"]["user_id"].startswith("trk-eng-"))
        self.ok(self.post("/runs/log-parameter", {"run_id": rid, "key": "x", "value": "1"},
                          client=eng))
        events = self.api.get("/api/v1/audit",
                              params={"resource_id": rid, "max_results": 100})
        self.assertStatus(events, 200)
        actions = [e["action"] for e in events.json()["items"]]
        self.assertIn("run.create", actions)
        self.assertIn("run.log", actions)
        events = self.api.get("/api/v1/audit",
                              params={"resource_id": exp_id, "resource_type": "experiment"})
        self.assertIn("experiment.create", [e["action"] for e in events.json()["items"]])

    def test_artifact_location_confined(self):
        root = "file://" + os.path.join(os.path.abspath(self.store.data_dir), "artifacts")
        attacks = [
            "file:///etc",
            "file:///etc/",
            "/etc",
            "//proc/self/root",
            "file://./etc",
            "file://localhost/etc",
            "http:///?/../../../../../../etc/",
            "http:///#/../../../../etc/",
            "https://attacker.example/bucket",
            "s3://attacker-bucket/x",
            "dbfs:/",
            "mlflow-artifacts://host:9000/models/../../../",
            "mlflow-artifacts:/../../etc",
            "mlflow-artifacts:/a/%2e%2e/%2e%2e/etc",
            "mlflow-artifacts:/%252e%252e%252fetc",
            "mlflow-artifacts:/a?/../../etc",
            "mlflow-artifacts:/a#/../../etc",
            "mlflow-artifacts:/a%00b",
            root + "/../outside",
            root + "/%2e%2e/outside",
            root + "/..%2f..%2fetc",
            root + "-sibling",
            root + "?x=/..",
            "relative/path",
        ]
        for loc in attacks:
            r = self.post("/experiments/create", {"name": "atk-" + uuid.uuid4().hex,
                                                  "artifact_location": loc})
            self.assertError(r, 400, "INVALID_PARAMETER_VALUE")
        for loc in ("mlflow-artifacts:/team-a/models", root + "/team-b", root):
            eid, _ = self.new_experiment(artifact_location=loc)
            e = self.ok(self.get("/experiments/get", {"experiment_id": eid}))["experiment"]
            self.assertEqual(e["artifact_location"], loc)
            rid = self.new_run(eid)["info"]["run_id"]
            run = self.ok(self.get("/runs/get", {"run_id": rid}))["run"]
            self.assertEqual(run["info"]["artifact_uri"], f"{loc}/{rid}/artifacts")
        # nothing was created outside the root
        self.assertFalse(os.path.exists(os.path.join(self.store.data_dir, "outside")))


if __name__ == "__main__":
    import unittest
    unittest.main()
