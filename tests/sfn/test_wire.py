"""Step Functions wire format: `studio pipeline run-aws` against a local endpoint that records
every request and answers from a script.

Checked for every request: method, path, Content-Type, X-Amz-Target, Host, Content-Length,
X-Amz-Date, the Authorization header's structure and its signature (recomputed here with
hashlib/hmac per reference deploy_cicd_aws.md §4), and the exact JSON body. Checked for the
run: the stage updates the history maps to (statuses, attempts, errors) and the exit status.
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import threading
import unittest
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STUDIO = os.environ.get("STUDIO_BIN", "../../build/studio")
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SM_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:tiny"
EXEC_ARN = "arn:aws:states:us-east-1:111122223333:execution:tiny:run-42"
JSON10 = "application/x-amz-json-1.0"
T0 = 1767225600.0

SPEC = """apiVersion: mlops-studio/v1
kind: Pipeline
metadata: {name: tiny, project: demo}
spec:
  stages:
    - id: ingest
      type: data-ingestion
      with: {source: data/x.csv}
      retry: {max_attempts: 2, interval_seconds: 5}
    - id: score
      type: command
      needs: [ingest]
      with: {command: [echo, hi]}
    - id: report
      type: command
      needs: [ingest]
      with: {command: [echo, report]}
"""


class History:
    """Builds events the way Step Functions writes them."""

    def __init__(self):
        self.events = []

    def add(self, type_, prev, details=None, key=None):
        e = {"id": len(self.events) + 1, "previousEventId": prev, "timestamp": T0 + len(self.events),
             "type": type_}
        if details is not None:
            e[key] = details
        self.events.append(e)
        return e["id"]

    def enter(self, name, prev, type_="TaskStateEntered"):
        return self.add(type_, prev, {"name": name, "input": "{}"}, "stateEnteredEventDetails")

    def exit(self, name, prev, type_="TaskStateExited"):
        return self.add(type_, prev, {"name": name, "output": "{}"}, "stateExitedEventDetails")

    def task(self, type_, prev, **details):
        key = type_[0].lower() + type_[1:] + "EventDetails"
        return self.add(type_, prev, {"resourceType": "ecs", "resource": "runTask.sync", **details},
                        key)


class Endpoint(ThreadingHTTPServer):
    """Answers per X-Amz-Target from `script` (op → list of (status, body)); the history is
    served newest first in pages of 4 from `history[:visible]`, where each DescribeExecution
    answer sets `visible`."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = []
        self.script = {}
        self.history = []
        self.describes = []  # [(status, visible, extra fields)]
        self.visible = 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv = self.server
        with srv.lock:
            srv.requests.append({"method": "POST", "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body})
            op = self.headers.get("X-Amz-Target", "").split(".")[-1]
            status, answer = self.answer(srv, op, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON10)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", f"req-{len(srv.requests)}")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @staticmethod
    def answer(srv, op, body):
        if srv.script.get(op):
            return srv.script[op].pop(0)
        if op == "DescribeExecution" and srv.describes:
            status, visible, extra = srv.describes.pop(0)
            srv.visible = visible
            return 200, {"executionArn": EXEC_ARN, "stateMachineArn": SM_ARN, "name": "run-42",
                         "status": status, "startDate": T0, "input": '{"run_id":"run-42"}',
                         **extra}
        if op == "GetExecutionHistory":
            req = json.loads(body)
            newest_first = list(reversed(srv.history[:srv.visible]))
            start = int(req.get("nextToken", "tok-0").split("-")[1])
            page = newest_first[start:start + 4]
            out = {"events": page}
            if start + 4 < len(newest_first):
                out["nextToken"] = f"tok-{start + 4}"
            return 200, out
        return 400, {"__type": "com.amazonaws.states#UnknownOperationException",
                     "message": f"no script for {op}"}


def sign(secret, date, region, service, string_to_sign):
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


class WireTest(unittest.TestCase):
    def setUp(self):
        self.srv = Endpoint()
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        self.tmp = tempfile.TemporaryDirectory(prefix="sfn-wire-")
        self.spec = os.path.join(self.tmp.name, "spec.yaml")
        with open(self.spec, "w") as f:
            f.write(SPEC)

    def tearDown(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join()
        self.tmp.cleanup()

    def studio(self, args, session_token=None, output="json"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET)
        if session_token:
            env["AWS_SESSION_TOKEN"] = session_token
        return subprocess.run(
            [STUDIO, "pipeline", "run-aws", *args, "--endpoint", f"http://127.0.0.1:{self.port}",
             "--poll-interval", "0.01", "--output", output],
            capture_output=True, text=True, timeout=60, env=env)

    def check_request(self, req, op, body, session_token=None):
        h = req["headers"]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/")
        self.assertEqual(h["content-type"], JSON10)
        self.assertEqual(h["x-amz-target"], f"AWSStepFunctions.{op}")
        self.assertEqual(h["host"], f"127.0.0.1:{self.port}")
        self.assertEqual(int(h["content-length"]), len(req["body"]))
        self.assertNotIn("transfer-encoding", h)
        self.assertEqual(json.loads(req["body"]), body)
        amz_date = h["x-amz-date"]
        self.assertRegex(amz_date, r"^\d{8}T\d{6}Z$")
        datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        signed = "content-type;host;x-amz-date;x-amz-target"
        if session_token:
            self.assertEqual(h["x-amz-security-token"], session_token)
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        else:
            self.assertNotIn("x-amz-security-token", h)
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", h["authorization"])
        self.assertIsNotNone(m, h["authorization"])
        akid, date, region, service, signed_headers, signature = m.groups()
        self.assertEqual((akid, date, region, service), (AKID, amz_date[:8], "us-east-1", "states"))
        self.assertEqual(signed_headers, signed)
        canonical = "\n".join([
            "POST", "/", "",
            "".join(f"{n}:{' '.join(h[n].split())}\n" for n in signed_headers.split(";")),
            signed_headers, hashlib.sha256(req["body"]).hexdigest()])
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/us-east-1/states/aws4_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
        self.assertEqual(signature, sign(SECRET, date, "us-east-1", "states", sts))

    def lines(self, stdout):
        return [json.loads(line) for line in stdout.splitlines() if line.strip()]

    def updates(self, stdout):
        return [(u["stage"], u["status"], u["attempt"], u["error"]) for u in self.lines(stdout)
                if "stage" in u]

    def test_start_retry_pagination_and_success(self):
        h = History()
        s = h.add("ExecutionStarted", 0, {"input": '{"run_id":"run-42"}'},
                  "executionStartedEventDetails")
        t = h.task("TaskScheduled", h.enter("ingest", s), region="us-east-1",
                   parameters="{}", timeoutInSeconds=3600)
        t = h.task("TaskSubmitted", h.task("TaskStarted", t), output="{}")
        t = h.task("TaskFailed", t, error="States.TaskFailed",
                   cause='{"StopCode":"EssentialContainerExited"}')
        t = h.task("TaskScheduled", t, region="us-east-1", parameters="{}")  # the retry: #7
        first_poll = len(h.events)
        t = h.task("TaskSubmitted", h.task("TaskStarted", t), output="{}")
        t = h.exit("ingest", h.task("TaskSucceeded", t, output="{}"))
        p = h.add("ParallelStateStarted", h.enter("Parallel_score_report", t,
                                                  "ParallelStateEntered"))
        sc, rp = h.enter("score", p), h.enter("report", p)
        sc, rp = h.task("TaskScheduled", sc), h.task("TaskScheduled", rp)
        rp = h.exit("report", h.task("TaskSucceeded", rp, output="{}"))
        sc = h.exit("score", h.task("TaskSucceeded", sc, output="{}"))
        p = h.exit("Parallel_score_report", h.add("ParallelStateSucceeded", sc),
                   "ParallelStateExited")
        h.add("ExecutionSucceeded", p, {"output": "{}"}, "executionSucceededEventDetails")
        self.srv.history = h.events
        self.srv.describes = [("RUNNING", first_poll, {}),
                              ("SUCCEEDED", len(h.events), {"stopDate": T0 + 30, "output": "{}"})]
        # A 500 first: the client retries the same (idempotent) StartExecution.
        self.srv.script["StartExecution"] = [
            (500, {"__type": "InternalFailure", "message": "try again"}),
            (200, {"executionArn": EXEC_ARN, "startDate": T0})]

        r = self.studio([self.spec, "--state-machine-arn", SM_ARN, "--run-id", "run-42",
                         "--follow"])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = self.lines(r.stdout)
        self.assertEqual(out[0], {"execution_arn": EXEC_ARN})
        self.assertEqual(self.updates(r.stdout), [
            ("ingest", "running", 1, ""),
            ("ingest", "failed", 1, 'States.TaskFailed: {"StopCode":"EssentialContainerExited"}'),
            ("ingest", "running", 2, ""),
            ("ingest", "succeeded", 2, ""),
            ("score", "running", 1, ""),
            ("report", "running", 1, ""),
            ("report", "succeeded", 1, ""),
            ("score", "succeeded", 1, ""),
        ])
        ingest_done = [u for u in out if u.get("stage") == "ingest" and u["status"] == "succeeded"]
        self.assertEqual(ingest_done[0]["started_ms"], int((T0 + 6) * 1000))
        self.assertEqual(ingest_done[0]["finished_ms"], int((T0 + 9) * 1000))
        self.assertEqual(out[-1], {"execution_arn": EXEC_ARN, "status": "SUCCEEDED",
                                   "finished": True, "error": ""})

        reqs = self.srv.requests
        ops = [q["headers"]["x-amz-target"].split(".")[1] for q in reqs]
        # Poll 1: 7 events in 2 pages. Poll 2: newest first until an event poll 1 saw
        # (17 new events in pages of 4: the 5th page reaches id 7).
        self.assertEqual(ops, ["StartExecution", "StartExecution", "DescribeExecution"] +
                         ["GetExecutionHistory"] * 2 + ["DescribeExecution"] +
                         ["GetExecutionHistory"] * 5)
        start = {"stateMachineArn": SM_ARN, "name": "run-42", "input": '{"run_id":"run-42"}'}
        self.check_request(reqs[0], "StartExecution", start)
        self.check_request(reqs[1], "StartExecution", start)
        self.assertEqual(reqs[0]["body"], reqs[1]["body"])
        self.check_request(reqs[2], "DescribeExecution", {"executionArn": EXEC_ARN})
        page = {"executionArn": EXEC_ARN, "maxResults": 100, "reverseOrder": True,
                "includeExecutionData": False}
        self.check_request(reqs[3], "GetExecutionHistory", page)
        self.check_request(reqs[4], "GetExecutionHistory", {**page, "nextToken": "tok-4"})
        self.check_request(reqs[5], "DescribeExecution", {"executionArn": EXEC_ARN})
        for i, tok in enumerate([None, "tok-4", "tok-8", "tok-12", "tok-16"]):
            self.check_request(reqs[6 + i], "GetExecutionHistory",
                               page if tok is None else {**page, "nextToken": tok})

    def test_failed_stage_aborts_its_sibling(self):
        h = History()
        s = h.add("ExecutionStarted", 0)
        t = h.task("TaskScheduled", h.enter("ingest", s))
        t = h.exit("ingest", h.task("TaskSucceeded", t, output="{}"))
        p = h.add("ParallelStateStarted", h.enter("Parallel_score_report", t,
                                                  "ParallelStateEntered"))
        sc, rp = h.enter("score", p), h.enter("report", p)
        sc, rp = h.task("TaskScheduled", sc), h.task("TaskScheduled", rp)
        rp = h.task("TaskFailed", h.task("TaskStarted", rp), error="States.TaskFailed",
                    cause="exit code 3")
        sc = h.add("TaskStateAborted", h.task("TaskStarted", sc))
        p = h.add("ParallelStateFailed", rp, {"error": "States.TaskFailed", "cause": "x"},
                  "executionFailedEventDetails")
        n = h.task("TaskScheduled", h.enter("NotifyFailure", p), resourceType="sns")
        n = h.exit("NotifyFailure", h.task("TaskSucceeded", n, output="{}"))
        f = h.enter("PipelineFailed", n, "FailStateEntered")
        h.add("ExecutionFailed", f, {"error": "PipelineFailed", "cause": "a stage failed"},
              "executionFailedEventDetails")
        self.srv.history = h.events
        self.srv.describes = [("FAILED", len(h.events), {"stopDate": T0 + 20,
                                                         "error": "PipelineFailed",
                                                         "cause": "a stage failed"})]
        self.srv.script["StartExecution"] = [(200, {"executionArn": EXEC_ARN, "startDate": T0})]
        r = self.studio([self.spec, "--state-machine-arn", SM_ARN, "--run-id", "run-42",
                         "--follow"], session_token="FQoGZXIvYXdzEXAMPLE")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(self.updates(r.stdout), [
            ("ingest", "running", 1, ""),
            ("ingest", "succeeded", 1, ""),
            ("score", "running", 1, ""),
            ("report", "running", 1, ""),
            ("report", "failed", 1, "States.TaskFailed: exit code 3"),
            ("score", "cancelled", 1, ""),
        ])
        final = self.lines(r.stdout)[-1]
        self.assertEqual(final["status"], "FAILED")
        self.assertEqual(final["error"], "PipelineFailed: a stage failed")
        for q in self.srv.requests:
            op = q["headers"]["x-amz-target"].split(".")[1]
            body = json.loads(q["body"])
            self.check_request(q, op, body, session_token="FQoGZXIvYXdzEXAMPLE")
        self.assertEqual(len(self.srv.requests), 1 + 1 + 6)  # 22 events: 6 pages of 4

    def test_aws_error_body(self):
        unknown = EXEC_ARN + "-nope"
        self.srv.script["DescribeExecution"] = [
            (400, {"__type": "com.amazonaws.states#ExecutionDoesNotExist",
                   "message": f"Execution Does Not Exist: '{unknown}'"})]
        r = self.studio([self.spec, "--execution-arn", unknown, "--follow"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("Step Functions DescribeExecution: HTTP 400 ExecutionDoesNotExist: "
                      f"Execution Does Not Exist: '{unknown}'", r.stderr)
        self.assertIn("(request id req-1)", r.stderr)
        self.assertEqual(len(self.srv.requests), 1)  # a 400 is not retried
        self.check_request(self.srv.requests[0], "DescribeExecution", {"executionArn": unknown})

        self.srv.script["StartExecution"] = [
            (400, {"__type": "ExecutionAlreadyExists", "message": "Execution Already Exists"})]
        r = self.studio([self.spec, "--state-machine-arn", SM_ARN, "--run-id", "run-42"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("StartExecution: HTTP 400 ExecutionAlreadyExists", r.stderr)

    def test_stop_and_follow_existing(self):
        self.srv.script["StopExecution"] = [(200, {"stopDate": T0 + 5})]
        r = self.studio(["--execution-arn", EXEC_ARN, "--stop"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.lines(r.stdout), [{"execution_arn": EXEC_ARN, "stopped": True}])
        self.check_request(self.srv.requests[0], "StopExecution",
                           {"executionArn": EXEC_ARN, "error": "studio.Cancelled",
                            "cause": "cancelled from MLOps Studio"})
        # Following an aborted execution with no spec: lowercase state names are stages.
        h = History()
        t = h.task("TaskScheduled", h.enter("ingest", h.add("ExecutionStarted", 0)))
        h.add("TaskStateAborted", t)
        h.add("ExecutionAborted", len(h.events))
        self.srv.history = h.events
        self.srv.describes = [("ABORTED", len(h.events), {"stopDate": T0 + 5,
                                                          "error": "studio.Cancelled"})]
        r = self.studio(["--execution-arn", EXEC_ARN, "--follow"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(self.updates(r.stdout), [("ingest", "running", 1, ""),
                                                  ("ingest", "cancelled", 1, "")])
        # The table for people: one line per update, then the execution's end.
        self.srv.describes = [("ABORTED", len(h.events), {"error": "studio.Cancelled",
                                                          "cause": "by alice"})]
        r = self.studio(["--execution-arn", EXEC_ARN, "--follow"], output="table")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual([line.split() for line in r.stdout.splitlines()], [
            ["execution", EXEC_ARN], ["ingest", "running", "attempt", "1"],
            ["ingest", "cancelled", "attempt", "1", "1.0s"],
            ["execution", "ABORTED:", "studio.Cancelled:", "by", "alice"]])

    def test_bad_input_sends_nothing(self):
        cases = [
            [self.spec, "--state-machine-arn", SM_ARN, "--run-id", "run 42"],  # not a name
            [self.spec, "--state-machine-arn", SM_ARN],                         # no run id
            ["--execution-arn", EXEC_ARN, "--run-id", "x"],
            [self.spec, "--state-machine-arn", SM_ARN, "--run-id", "r", "--stop"],
            [os.path.join(self.tmp.name, "missing.yaml"), "--state-machine-arn", SM_ARN,
             "--run-id", "r"],
        ]
        for args in cases:
            r = self.studio(args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        bad = os.path.join(self.tmp.name, "bad.yaml")
        with open(bad, "w") as f:
            f.write(SPEC.replace("needs: [ingest]\n      with: {command: [echo, hi]}",
                                 "needs: [nothing]\n      with: {command: [echo, hi]}"))
        r = self.studio([bad, "--state-machine-arn", SM_ARN, "--run-id", "r"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("nothing", r.stderr)
        env_less = subprocess.run(
            [STUDIO, "pipeline", "run-aws", self.spec, "--state-machine-arn", SM_ARN, "--run-id",
             "r", "--endpoint", f"http://127.0.0.1:{self.port}"],
            capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
        self.assertEqual(env_less.returncode, 2)
        self.assertIn("AWS_ACCESS_KEY_ID", env_less.stderr)
        self.assertEqual(self.srv.requests, [])


if __name__ == "__main__":
    unittest.main()
