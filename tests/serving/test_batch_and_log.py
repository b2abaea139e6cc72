"""/batch-predict streams (CSV, NDJSON, JSON in; CSV or NDJSON out) with bounded memory, a
second concurrent stream is refused with 503 + Retry-After, and the sampled prediction log
lands in rotating NDJSON files."""
import glob
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import requests

from serving_harness import REPO_ROOT, ModelServerProcess, ServingTestCase, fixtures


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class BatchTests(ServingTestCase):
    extra_args = ("--batch-workers", "1")

    def csv_rows(self, n):
        rows = self.expected["rows"]
        yield (",".join(self.expected["columns"]) + "\n").encode()
        chunk = []
        for i in range(n):
            r = rows[i % len(rows)]
            chunk.append(",".join("" if v is None else repr(v) for v in r))
            if len(chunk) == 5000:
                yield ("\n".join(chunk) + "\n").encode()
                chunk = []
        if chunk:
            yield ("\n".join(chunk) + "\n").encode()

    def test_csv_stream_matches_predict(self):
        # The response streams while the upload is still going, so the client must read and
        # write at once (curl does; python-requests sends the whole body first).
        n = 300_000
        src = os.path.join(tempfile.mkdtemp(), "rows.csv")
        with open(src, "wb") as f:
            for chunk in self.csv_rows(n):
                f.write(chunk)
        out = src + ".out"
        before = rss_kib(self.server.proc.pid)
        peak = [before]
        proc = subprocess.Popen(["curl", "-sS", "-X", "POST", "-T", src, "-H", "Content-Type: text/csv",
                                 "-o", out, "-w", "%{http_code}", self.server.url("/batch-predict")],
                                stdout=subprocess.PIPE, text=True)
        while proc.poll() is None:
            peak[0] = max(peak[0], rss_kib(self.server.proc.pid))
            time.sleep(0.02)
        self.assertEqual(proc.stdout.read(), "200")
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "prediction")
        want = self.expected["xgb"]
        self.assertEqual(len(lines) - 1, n)
        for i, line in enumerate(lines[1:]):
            if float(line) != want[i % len(want)]:
                self.fail(f"row {i}: {line} != {want[i % len(want)]}")
        # ~60 MB of CSV went through; the server must not have buffered it.
        self.assertLess(peak[0] - before, 40_000, f"RSS grew from {before} to {peak[0]} KiB")

    def test_ndjson_and_json_inputs(self):
        rows = self.expected["rows"]
        body = "\n".join(json.dumps(r) for r in rows) + "\n"
        r = self.server.post("/batch-predict", data=body, headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(r.status_code, 200, r.text)
        got = [json.loads(l)["prediction"] for l in r.text.splitlines()]
        self.assertEqual(got, self.expected["xgb"])
        cols = self.expected["columns"]
        for doc in ({"instances": rows},
                    {"dataframe_split": {"columns": cols, "index": list(range(len(rows))), "data": rows}},
                    {"dataframe_records": [dict(zip(cols, r)) for r in rows]}):
            text = json.dumps(doc)
            # Arbitrary chunk boundaries (a generator body goes out chunked).
            chunks = (text[i:i + 97].encode() for i in range(0, len(text), 97))
            r = requests.post(self.server.url("/batch-predict"), data=chunks,
                              headers={"Content-Type": "application/json"}, timeout=60)
            self.assertEqual(r.status_code, 200, (list(doc), r.text[:300]))
            got = [json.loads(l)["prediction"] for l in r.text.splitlines()]
            self.assertEqual(got, self.expected["xgb"], list(doc))
        r = self.server.post("/batch-predict", data="f0,f1\n1,2\n", headers={"Content-Type": "text/csv",
                                                                           "Accept": "application/x-ndjson"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("missing column", r.json()["message"])

    def test_error_after_rows_is_reported_in_stream(self):
        good = (",".join(self.expected["columns"]) + "\n" + "1,2,3,4,5,6,7,8\n" * 200000).encode()
        r = self.server.post("/batch-predict", data=good + b"1,2,x,4,5,6,7,8\n",
                             headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 200)
        self.assertIn("# error after", r.text.splitlines()[-1])
        self.assertIn("f2", r.text.splitlines()[-1])
        # An error before any output is a plain 400.
        r = self.server.post("/batch-predict", data=good[:good.index(b"\n") + 1] + b"1,2,x,4,5,6,7,8\n",
                             headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("f2", r.json()["message"])

    def test_second_stream_gets_503(self):
        # Hold the only batch worker with a slow upload, then try another.
        s = socket.create_connection(("127.0.0.1", self.server.port))
        s.sendall(b"POST /batch-predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        head = (",".join(self.expected["columns"]) + "\n").encode()
        s.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        time.sleep(0.3)
        r = self.server.post("/batch-predict", data="f0\n1\n", headers={"Content-Type": "text/csv"})
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.headers.get("Retry-After"), "1")
        s.sendall(b"0\r\n\r\n")
        s.close()


class PredictionLogTests(unittest.TestCase):

    def test_sampled_log_written_on_shutdown(self):
        d, expected = fixtures()
        logdir = tempfile.mkdtemp()
        srv = ModelServerProcess(["--model", os.path.join(d, "xgb"), "--name", "m",
                                  "--prediction-log", "file://" + logdir, "--sample-rate", "1"]).wait_ready()
        ids = []
        for i in range(20):
            r = srv.post("/predict", json={"instances": expected["rows"][i:i + 1]},
                         headers={"X-Request-Id": f"req-{i}"})
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.headers["X-Request-Id"], f"req-{i}")
            ids.append(f"req-{i}")
        self.assertEqual(srv.stop(), 0)
        records = []
        for f in sorted(glob.glob(os.path.join(logdir, "predictions-*.ndjson"))):
            with open(f) as fh:
                records += [json.loads(l) for l in fh if l.strip()]
        self.assertEqual(sorted(r["request_id"] for r in records), sorted(ids))
        rec = next(r for r in records if r["request_id"] == "req-0")
        self.assertEqual(rec["columns"], expected["columns"])
        self.assertEqual(rec["predictions"], expected["xgb"][:1])
        self.assertEqual(rec["model"], "m")
        self.assertRegex(rec["ts"], r"^\d{4}-\d\d-\d\dT")

    def test_log_to_s3_prefix(self):
        """The same log through the S3 artifact store, against a real S3-compatible server."""
        d, expected = fixtures()
        data = tempfile.mkdtemp()
        s3 = subprocess.Popen(["node", "--openssl-legacy-provider",
                               str(REPO_ROOT / "tests/s3/run-s3rver.js"), data],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = s3.stdout.readline()
            self.assertTrue(line.startswith("PORT "), line)
            endpoint = "http://127.0.0.1:" + line.split()[1]
            env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
                   "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                   "STUDIO_S3_ENDPOINT": endpoint}
            aws_env = dict(os.environ, **env)

            def aws(*args):
                r = subprocess.run(["/usr/bin/aws", "--endpoint-url", endpoint] + list(args),
                                   env=aws_env, capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                return r.stdout

            aws("s3", "mb", "s3://logs")
            srv = ModelServerProcess(["--model", os.path.join(d, "xgb"), "--name", "m",
                                      "--prediction-log", "s3://logs/serving/m", "--sample-rate", "1"],
                                     env=env).wait_ready()
            for i in range(5):
                self.assertEqual(srv.post("/predict", json={"instances": expected["rows"][:2]},
                                          headers={"X-Request-Id": f"s3-{i}"}).status_code, 200)
            self.assertEqual(srv.stop(), 0)
            listing = aws("s3", "ls", "--recursive", "s3://logs/serving/m/")
            keys = [l.split()[-1] for l in listing.splitlines() if l.strip()]
            self.assertTrue(keys and all(k.endswith(".ndjson") for k in keys), listing)
            records = []
            for k in keys:
                out = os.path.join(data, "dl.ndjson")
                aws("s3", "cp", f"s3://logs/{k}", out)
                with open(out) as f:
                    records += [json.loads(l) for l in f if l.strip()]
            self.assertEqual(sorted(r["request_id"] for r in records), [f"s3-{i}" for i in range(5)])
            self.assertEqual(records[0]["predictions"], expected["xgb"][:2])
        finally:
            s3.stdin.close()
            s3.wait(10)

    def test_sample_rate_zero_point_one(self):
        d, expected = fixtures()
        logdir = tempfile.mkdtemp()
        srv = ModelServerProcess(["--model", os.path.join(d, "xgb"),
                                  "--prediction-log", "file://" + logdir]).wait_ready()
        for i in range(400):
            srv.post("/predict", json={"instances": expected["rows"][:1]})
        self.assertEqual(srv.stop(), 0)
        n = sum(1 for f in glob.glob(os.path.join(logdir, "*.ndjson")) for l in open(f) if l.strip())
        self.assertTrue(10 <= n <= 90, n)  # 10% of 400, generous bounds


if __name__ == "__main__":
    unittest.main()
