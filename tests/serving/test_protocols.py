"""serve-model's three wire protocols on an XGBoost package: /predict, MLflow's /invocations
(reference/registry_serving.md §2) and the Open Inference Protocol v2 (§3); predictions must
equal xgboost's own in Python bit for bit (float32 widened to double)."""
import csv
import io
import json
import math
import subprocess
import unittest

from serving_harness import ServingTestCase


class ProtocolTests(ServingTestCase):

    def rows(self, n=None):
        return self.expected["rows"][:n]

    def test_health_ready_ping_version(self):
        self.assertEqual(self.server.get("/health").status_code, 200)
        r = self.server.get("/ready")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["model"], {"name": "m", "version": "1",
                                             "engine": r.json()["model"]["engine"]})
        self.assertIn(r.json()["model"]["engine"], ("xgboost-native", "libxgboost"))
        r = self.server.get("/ping")
        self.assertEqual((r.status_code, r.text), (200, "\n"))
        self.assertTrue(self.server.get("/version").text.strip())
        self.assertTrue(r.headers.get("X-Request-Id"))

    def test_predict_instances_equals_python_exactly(self):
        r = self.server.post("/predict", json={"instances": self.rows()})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["model"], {"name": "m", "version": "1"})
        self.assertEqual(body["predictions"], self.expected["xgb"])  # exact

    def test_predict_one_record_by_name(self):
        rec = dict(zip(self.expected["columns"], self.rows()[0]))
        r = self.server.post("/predict", json={"inputs": rec})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["predictions"], self.expected["xgb"][:1])

    def test_invocations_all_formats(self):
        cols, rows, want = self.expected["columns"], self.rows(5), self.expected["xgb"][:5]
        bodies = [
            {"dataframe_split": {"columns": cols, "data": rows}},
            {"dataframe_split": {"columns": cols[::-1], "data": [r[::-1] for r in rows]}},
            {"dataframe_records": [dict(zip(cols, r)) for r in rows]},
            {"instances": rows},
            {"inputs": {c: [r[i] for r in rows] for i, c in enumerate(cols)}},
            {"inputs": rows},
        ]
        for b in bodies:
            r = self.server.post("/invocations", json=b)
            self.assertEqual(r.status_code, 200, (b, r.text))
            self.assertEqual(r.json(), {"predictions": want}, b)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        for row in rows:
            w.writerow(["" if v is None else repr(v) for v in row])
        r = self.server.post("/invocations", data=buf.getvalue(),
                             headers={"Content-Type": "text/csv; charset=utf-8"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["predictions"], want)

    def test_invocations_mlflow_errors(self):
        ok = {"instances": self.rows(1)}
        r = self.server.post("/invocations", data=json.dumps(ok),
                             headers={"Content-Type": "application/json; format=pandas-split"})
        self.assertEqual(r.status_code, 415, r.text)
        r = self.server.post("/invocations", data="x", headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status_code, 415)
        r = self.server.post("/invocations", json={"instances": self.rows(1), "inputs": self.rows(1)})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error_code"], "BAD_REQUEST")
        r = self.server.post("/invocations", json=[1, 2])
        self.assertEqual(r.status_code, 400)
        r = self.server.post("/invocations", data="{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status_code, 400)

    def test_validation_names_the_column(self):
        cols = self.expected["columns"]
        rec = dict(zip(cols, self.rows()[1]))
        cases = [
            ({"inputs": dict(rec, bogus=1.0)}, "bogus"),
            ({"inputs": {k: v for k, v in rec.items() if k != "f3"}}, "f3"),
            ({"inputs": dict(rec, f5="high")}, "f5"),
            ({"inputs": dict(rec, f6=True)}, "f6"),
            ({"inputs": dict(rec, f7=[1, 2])}, "inputs"),
            ({"instances": [self.rows()[1][:-1]]}, "7 values"),
            ({"dataframe_split": {"columns": cols + ["extra"], "data": [self.rows()[1] + [1]]}}, "extra"),
        ]
        for body, needle in cases:
            r = self.server.post("/predict", json=body)
            self.assertEqual(r.status_code, 400, (body, r.text))
            self.assertIn(needle, r.json()["message"], body)
            self.assertEqual(r.json()["error_code"], "INVALID_PARAMETER_VALUE")
        # The server is still fine afterwards.
        self.assertEqual(self.server.post("/predict", json={"instances": self.rows(1)}).status_code, 200)

    def test_missing_values_are_nan_for_float_columns(self):
        row = [None] * len(self.expected["columns"])
        r = self.server.post("/predict", json={"instances": [row]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertTrue(0 <= r.json()["predictions"][0] <= 1)

    def test_oip_metadata_ready_and_infer(self):
        self.assertEqual(self.server.get("/v2/health/live").json(), {"live": True})
        self.assertEqual(self.server.get("/v2/health/ready").json(), {"ready": True})
        self.assertEqual(self.server.get("/v2").json()["name"], "studio")
        md = self.server.get("/v2/models/m").json()
        self.assertEqual(md["name"], "m")
        self.assertEqual(md["versions"], ["1"])
        self.assertEqual(md["platform"], "xgboost_json")
        self.assertEqual(md["inputs"][0]["datatype"], "FP32")
        self.assertEqual(md["inputs"][0]["shape"], [-1, 8])
        self.assertEqual(self.server.get("/v2/models/m/ready").json(), {"name": "m", "ready": True})
        self.assertEqual(self.server.get("/v2/models/m/versions/1/ready").status_code, 200)
        self.assertEqual(self.server.get("/v2/models/nope/ready").status_code, 404)
        rows = [[0.0 if v is None else v for v in r] for r in self.rows(4)]
        for dt in ("FP32", "FP64"):
            req = {"id": "abc", "inputs": [{"name": "input", "shape": [4, 8], "datatype": dt,
                                            "data": rows}]}
            r = self.server.post("/v2/models/m/infer", json=req)
            self.assertEqual(r.status_code, 200, r.text)
            out = r.json()
            self.assertEqual(out["model_name"], "m")
            self.assertEqual(out["id"], "abc")
            self.assertEqual(out["outputs"][0]["shape"], [4])
            self.assertEqual(out["outputs"][0]["datatype"], "FP32")
            want = self.server.post("/predict", json={"instances": rows}).json()["predictions"]
            self.assertEqual(out["outputs"][0]["data"], want)
        flat = [int(v) for r in rows for v in r]
        for dt in ("INT32", "INT64"):
            req = {"inputs": [{"name": "input", "shape": [4, 8], "datatype": dt, "data": flat}]}
            r = self.server.post("/v2/models/m/versions/1/infer", json=req)
            self.assertEqual(r.status_code, 200, r.text)
        req = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "BOOL",
                           "data": [True, False] * 4}]}
        self.assertEqual(self.server.post("/v2/models/m/infer", json=req).status_code, 200)

    def test_oip_errors(self):
        cases = [
            {"inputs": [{"name": "input", "shape": [2, 8], "datatype": "FP32", "data": [1.0] * 15}]},
            {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "INT32", "data": [1.5] * 8}]},
            {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "BOOL", "data": [1] * 8}]},
            {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP16", "data": [1] * 8}]},
            {"inputs": [{"name": "input", "shape": [1, 7], "datatype": "FP32", "data": [1] * 7}]},
            {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": ["a"] * 8}]},
            {"nope": 1},
        ]
        for body in cases:
            r = self.server.post("/v2/models/m/infer", json=body)
            self.assertEqual(r.status_code, 400, (body, r.text))
            self.assertIn("error", r.json())
        r = self.server.post("/v2/models/other/infer", json=cases[0])
        self.assertEqual(r.status_code, 404)
        r = self.server.post("/v2/models/m/versions/9/infer", json=cases[0])
        self.assertEqual(r.status_code, 404)

    def test_metrics_pass_promtool(self):
        self.server.post("/predict", json={"instances": self.rows(2)})
        self.server.post("/predict", json={"instances": [[1]]})
        text = self.server.get("/metrics").text
        for name in ("studio_serving_requests_total", "studio_serving_request_duration_seconds_bucket",
                     "studio_serving_predictions_total", "studio_serving_model_load_seconds",
                     "studio_serving_inflight_requests", "studio_serving_model_info",
                     "studio_serving_batch_rows_total"):
            self.assertIn(name, text)
        self.assertIn('route="/predict",code="400"', text)
        self.assertIn('le="0.0001"', text)  # sub-millisecond buckets
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_http_errors(self):
        self.assertEqual(self.server.get("/nope").status_code, 404)
        self.assertEqual(self.server.get("/predict").status_code, 405)
        big = b'{"instances": [' + b"[1,2,3,4,5,6,7,8]," * 4_000_000 + b"[1,2,3,4,5,6,7,8]]}"
        r = self.server.post("/predict", data=big, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status_code, 413)
        r = self.server.post("/predict", data="x", headers={"Content-Type": "application/xml"})
        self.assertEqual(r.status_code, 415)
        r = self.server.post("/predict", json={"instances": []})
        self.assertEqual(r.status_code, 400)


class MulticlassTests(ServingTestCase):
    model = "multi"

    def test_softprob_rows(self):
        r = self.server.post("/predict", json={"instances": self.expected["rows"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["predictions"], self.expected["multi"])


class UbjTests(ServingTestCase):
    model = "xgb_ubj"  # no signature: positional columns

    def test_ubj_positional(self):
        r = self.server.post("/invocations", json={"instances": self.expected["rows"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["predictions"], self.expected["xgb"])
        r = self.server.post("/invocations", json={"dataframe_records": [{"f0": 1}]})
        self.assertEqual(r.status_code, 400)
        self.assertIn("names no columns", r.json()["message"])


class IntegerSignatureTests(ServingTestCase):
    model = "xgb_int"

    def test_integer_columns_reject_fractions_and_nulls(self):
        r = self.server.post("/predict", json={"instances": [[1, 2, 3, 4, 5, 6, 7, 8]]})
        self.assertEqual(r.status_code, 200, r.text)
        r = self.server.post("/predict", json={"instances": [[1, 2.5, 3, 4, 5, 6, 7, 8]]})
        self.assertEqual(r.status_code, 400)
        self.assertIn("f1", r.json()["message"])
        r = self.server.post("/predict", json={"instances": [[1, None, 3, 4, 5, 6, 7, 8]]})
        self.assertEqual(r.status_code, 400)
        self.assertIn("f1", r.json()["message"])


class OnnxMlpTests(ServingTestCase):
    model = "mlp"

    def test_mlp_matches_numpy(self):
        r = self.server.post("/predict", json={"instances": self.expected["mlp_rows"]})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertClose(r.json()["predictions"], self.expected["mlp"], rel=1e-5)
        md = self.server.get("/v2/models/m").json()
        self.assertEqual(md["platform"], "onnx_onnxv1")
        req = {"inputs": [{"name": "x", "shape": [2, 8], "datatype": "FP32",
                           "data": self.expected["mlp_rows"][:2]}]}
        out = self.server.post("/v2/models/m/infer", json=req).json()["outputs"][0]
        self.assertEqual(out["name"], "y")
        self.assertEqual(out["shape"], [2, 1])
        self.assertClose(out["data"], self.expected["mlp"][:2], rel=1e-5)


class StartupErrorTests(unittest.TestCase):
    """A model that cannot be served stops the server at start with exit 2 and a clear reason."""

    def start(self, path):
        from serving_harness import ModelServerProcess
        srv = ModelServerProcess(["--model", path])
        self.assertEqual(srv.proc.wait(30), 2)
        return srv.log_text()

    def test_unservable_models(self):
        import os
        import tempfile
        self.assertIn("no model package directory", self.start("/nonexistent/model"))
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "MLmodel"), "w") as f:
            f.write("artifact_path: model\nflavors:\n  xgboost:\n    data: model.xgb\n")
        with open(os.path.join(d, "model.xgb"), "wb") as f:
            f.write(b"binf\x00\x01legacy")
        self.assertIn("legacy binary format is not supported", self.start(d))
        with open(os.path.join(d, "model.xgb"), "wb") as f:
            f.write(b'{"learner": ')
        self.assertIn("cannot load XGBoost model", self.start(d))


if __name__ == "__main__":
    unittest.main()
