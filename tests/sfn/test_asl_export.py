"""`studio pipeline export-asl` through asl-validator (npm) and structural checks.

The canonical spec (from `studio pipeline init`) and 32 random valid DAG specs are exported
by the real binary; every document must pass asl-validator and the checks below. The seed is
printed and can be fixed with SFN_TEST_SEED to replay a failure.
"""
import json
import math
import os
import random
import subprocess
import tempfile
import unittest

STUDIO = os.environ.get("STUDIO_BIN", "../../build/studio")
ROOT = os.environ.get("STUDIO_REPO_ROOT", "../..")
VALIDATOR = os.path.join(ROOT, "node_modules", ".bin", "asl-validator")
SEED = int(os.environ.get("SFN_TEST_SEED", random.SystemRandom().randrange(1 << 30)))

BASE_FLAGS = ["--cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/mlops",
              "--task-definition", "studio-stage:7", "--subnets", "subnet-0aaa,subnet-0bbb",
              "--security-groups", "sg-0ccc"]
FARGATE = [(256, 512, 2048, None), (512, 1024, 4096, 1024), (1024, 2048, 8192, 1024),
           (2048, 4096, 16384, 1024), (4096, 8192, 30720, 1024), (8192, 16384, 61440, 4096),
           (16384, 32768, 122880, 8192)]


def run(args, **kw):
    return subprocess.run([STUDIO] + args, capture_output=True, text=True, timeout=60, **kw)


def validate_with_asl_validator(paths):
    """One asl-validator run over all files; returns {path: ok}."""
    args = [VALIDATOR]
    for p in paths:
        args += ["--json-path", p]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    result = {}
    for p in paths:
        result[p] = f'✓ State machine definition "{p}" is valid' in out
    return r.returncode, out, result


def task_states(asl):
    """(state name, state, top-level index) for every Task state, branches included."""
    out = []
    for i, (name, st) in enumerate(top_chain(asl)):
        if st["Type"] == "Parallel":
            for br in st["Branches"]:
                for n, s in br["States"].items():
                    out.append((n, s, i))
        elif st["Type"] == "Task" and st["Resource"].startswith("arn:aws:states:::ecs:"):
            out.append((name, st, i))
    return out


def top_chain(asl):
    chain, seen, name = [], set(), asl["StartAt"]
    while name is not None:
        assert name not in seen, f"loop at {name}"
        seen.add(name)
        st = asl["States"][name]
        chain.append((name, st))
        name = None if st.get("End") else st.get("Next")
    return chain


def reachable(machine):
    """Every state reachable from StartAt through Next, Catch and Default."""
    states, todo, seen = machine["States"], [machine["StartAt"]], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        assert n in states, f"transition to missing state {n}"
        seen.add(n)
        st = states[n]
        for c in st.get("Catch", []):
            todo.append(c["Next"])
        if "Next" in st:
            todo.append(st["Next"])
        if st["Type"] == "Parallel":
            for br in st["Branches"]:
                assert reachable(br) == set(br["States"]), f"unreachable state in a branch of {n}"
    return seen


def fargate_ok(cpu, mem):
    for c, lo, hi, step in FARGATE:
        if c == cpu:
            if step is None:
                return mem in (512, 1024, 2048)
            return lo <= mem <= hi and (mem - lo) % step == 0
    return False


class Spec:
    """A random valid spec: ids, needs (acyclic by construction), retry, timeout, resources."""

    TYPES = ["command", "data-ingestion", "realtime-inference", "model-monitoring",
             "cicd-enforcement", "batch-inference"]

    def __init__(self, rng, index):
        n = rng.randint(1, 14)
        ids = rng.sample([f"s{index}-{k}" for k in range(40)] +
                         [f"stage-{chr(97 + k)}{index}" for k in range(20)], n)
        self.stages = []
        for i, sid in enumerate(ids):
            # needs only earlier stages of this list: a DAG; the file order is shuffled.
            k = rng.choice([0, 1, 1, 2, 3]) if i else 0
            needs = rng.sample(ids[:i], min(k, i))
            st = {"id": sid, "type": rng.choice(self.TYPES), "needs": needs}
            if rng.random() < 0.6:
                st["retry"] = {"max_attempts": rng.randint(1, 10),
                               "interval_seconds": rng.randint(0, 3600),
                               "backoff_rate": rng.choice([1.0, 1.5, 2.0, 3.25, 10.0])}
            if rng.random() < 0.5:
                st["timeout_seconds"] = rng.randint(1, 86400)
            if rng.random() < 0.5:
                st["resources"] = {"cpu": rng.choice([0.25, 0.5, 1, 2, 4, 8, 16]),
                                   "memory": rng.randint(512, 122880)}
                if st["resources"]["cpu"] == 0.25 and rng.random() < 0.7:
                    st["resources"]["memory"] = rng.choice([512, 1000, 2048])
            self.stages.append(st)
        rng.shuffle(self.stages)
        self.name = f"random-{index}"

    def yaml(self):
        lines = ["apiVersion: mlops-studio/v1", "kind: Pipeline",
                 f"metadata: {{name: {self.name}, project: demo}}", "spec:", "  stages:"]
        for st in self.stages:
            lines.append(f"    - id: {st['id']}")
            lines.append(f"      type: {st['type']}")
            if st["needs"]:
                lines.append(f"      needs: [{', '.join(st['needs'])}]")
            withs = {"command": "{command: [echo, hi], env: {MODE: fast, LEVEL: '3'}}",
                     "data-ingestion": "{source: data/x.csv}",
                     "batch-inference": "{output: out/p.csv}"}
            if st["type"] in withs:
                lines.append(f"      with: {withs[st['type']]}")
            if "retry" in st:
                r = st["retry"]
                lines.append(f"      retry: {{max_attempts: {r['max_attempts']}, interval_seconds: "
                             f"{r['interval_seconds']}, backoff_rate: {r['backoff_rate']}}}")
            if "timeout_seconds" in st:
                lines.append(f"      timeout_seconds: {st['timeout_seconds']}")
            if "resources" in st:
                r = st["resources"]
                lines.append(f"      resources: {{cpu: {r['cpu']}, memory: {r['memory']}}}")
        return "\n".join(lines) + "\n"


class AslExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print(f"SFN_TEST_SEED={SEED}")
        cls.tmp = tempfile.TemporaryDirectory(prefix="sfn-asl-")
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def export(self, spec_path, out_path, extra=()):
        r = run(["pipeline", "export-asl", spec_path, *BASE_FLAGS, "--output", out_path, *extra])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out_path) as f:
            return json.load(f)

    def check_structure(self, asl, stages, label):
        """stages: [{id, needs, retry?, timeout_seconds?, resources?}] as written."""
        self.assertEqual(reachable(asl), set(asl["States"]), f"{label}: unreachable states")
        chain = top_chain(asl)
        tasks = task_states(asl)
        ids = [n for n, _, _ in tasks]
        self.assertEqual(sorted(ids), sorted(s["id"] for s in stages),
                         f"{label}: every stage exactly once")
        level = {n: i for n, _, i in tasks}
        for name, st in chain:
            self.assertIn("Catch", st, f"{label}: {name} has no Catch")
            for c in st["Catch"]:
                self.assertIn(c["Next"], asl["States"])
                self.assertEqual(asl["States"][c["Next"]]["Type"] in ("Pass", "Task"), True)
            self.assertIsNone(st["ResultPath"], f"{label}: {name} would clobber its input")
        self.assertTrue(chain[-1][1].get("End"), f"{label}: the chain does not end")
        by_id = {n: s for n, s, _ in tasks}
        for spec in stages:
            sid = spec["id"]
            st = by_id[sid]
            for need in spec["needs"]:
                self.assertLess(level[need], level[sid], f"{label}: {sid} runs before {need}")
            retry = spec.get("retry", {})
            attempts = retry.get("max_attempts", 1)
            if attempts > 1:
                self.assertEqual(st["Retry"], [{
                    "ErrorEquals": ["States.TaskFailed", "States.Timeout"],
                    "IntervalSeconds": max(1, retry.get("interval_seconds", 10)),
                    "MaxAttempts": attempts - 1,
                    "BackoffRate": retry.get("backoff_rate", 2.0)}], f"{label}: {sid}")
            else:
                self.assertNotIn("Retry", st, f"{label}: {sid}")
            self.assertEqual(st["TimeoutSeconds"], spec.get("timeout_seconds", 3600))
            p = st["Parameters"]
            self.assertEqual(p["LaunchType"], "FARGATE")
            self.assertEqual(p["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"],
                             ["subnet-0aaa", "subnet-0bbb"])
            cpu, mem = int(p["Overrides"]["Cpu"]), int(p["Overrides"]["Memory"])
            res = spec.get("resources", {})
            self.assertTrue(fargate_ok(cpu, mem), f"{label}: {sid} {cpu}/{mem}")
            self.assertGreaterEqual(cpu, math.ceil(res.get("cpu", 1) * 1024))
            self.assertGreaterEqual(mem, res.get("memory", 2048))
            c = p["Overrides"]["ContainerOverrides"][0]
            self.assertEqual(c["Command.$"], "States.Array('run-stage', '--run', $.run_id, "
                             f"'--stage', '{sid}')")
            env = {e["Name"]: e for e in c["Environment"]}
            self.assertEqual(env["STUDIO_RUN_ID"]["Value.$"], "$.run_id")
            self.assertEqual(env["STUDIO_STAGE"]["Value"], sid)

    def test_canonical_spec(self):
        spec = os.path.join(self.dir, "canonical.yaml")
        r = run(["pipeline", "init", "--name", "churn", "--project", "demo", "--output", spec])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.dir, "canonical.asl.json")
        asl = self.export(spec, out)
        rc, text, ok = validate_with_asl_validator([out])
        self.assertEqual(rc, 0, text)
        self.assertTrue(ok[out], text)
        names = [n for n, _ in top_chain(asl)]
        self.assertEqual(names, ["ingest", "prepare", "features", "register", "deploy",
                                 "Parallel_realtime_batch", "monitor", "enforce"])
        par = asl["States"]["Parallel_realtime_batch"]
        self.assertEqual([b["StartAt"] for b in par["Branches"]], ["realtime", "batch"])
        stages = [
            {"id": "ingest", "needs": [], "timeout_seconds": 1800,
             "retry": {"max_attempts": 3, "interval_seconds": 10, "backoff_rate": 2.0},
             "resources": {"cpu": 1, "memory": 2048}},
            {"id": "prepare", "needs": ["ingest"], "timeout_seconds": 1800},
            {"id": "features", "needs": ["prepare"]},
            {"id": "register", "needs": ["features"]},
            {"id": "deploy", "needs": ["register"],
             "retry": {"max_attempts": 2, "interval_seconds": 30, "backoff_rate": 2.0}},
            {"id": "realtime", "needs": ["deploy"]},
            {"id": "batch", "needs": ["deploy"], "resources": {"cpu": 2, "memory": 4096}},
            {"id": "monitor", "needs": ["realtime", "batch"]},
            {"id": "enforce", "needs": ["monitor"]},
        ]
        self.check_structure(asl, stages, "canonical")
        self.assertEqual(asl["States"]["NotifyFailure"]["Next"], "PipelineFailed")
        self.assertEqual(asl["States"]["PipelineFailed"]["Type"], "Fail")

        # With an SNS topic, public IP, platform version and another container.
        out2 = os.path.join(self.dir, "canonical-sns.asl.json")
        asl2 = self.export(spec, out2, ["--failure-topic", "arn:aws:sns:us-east-1:1:fail",
                                        "--assign-public-ip", "--platform-version", "1.4.0",
                                        "--container", "runner", "--command-prefix", "studio"])
        rc, text, _ = validate_with_asl_validator([out2])
        self.assertEqual(rc, 0, text)
        n = asl2["States"]["NotifyFailure"]
        self.assertEqual(n["Resource"], "arn:aws:states:::sns:publish")
        t = asl2["States"]["ingest"]["Parameters"]
        self.assertEqual(t["PlatformVersion"], "1.4.0")
        self.assertEqual(t["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"],
                         "ENABLED")
        self.assertEqual(t["Overrides"]["ContainerOverrides"][0]["Name"], "runner")
        self.assertTrue(t["Overrides"]["ContainerOverrides"][0]["Command.$"]
                        .startswith("States.Array('studio', 'run-stage'"))

    def test_random_dags(self):
        rng = random.Random(SEED)
        specs, outs = [], []
        for i in range(32):
            sp = Spec(rng, i)
            path = os.path.join(self.dir, f"random-{i}.yaml")
            with open(path, "w") as f:
                f.write(sp.yaml())
            out = os.path.join(self.dir, f"random-{i}.asl.json")
            extra = ["--failure-topic", "arn:aws:sns:us-east-1:1:t"] if rng.random() < 0.5 else []
            r = run(["pipeline", "export-asl", path, *BASE_FLAGS, "--output", out, *extra])
            self.assertEqual(r.returncode, 0, f"seed {SEED} spec {i}:\n{sp.yaml()}\n{r.stderr}")
            specs.append(sp)
            outs.append(out)
        rc, text, ok = validate_with_asl_validator(outs)
        for i, out in enumerate(outs):
            self.assertTrue(ok[out], f"seed {SEED} spec {i}:\n{specs[i].yaml()}\n{text}")
        self.assertEqual(rc, 0, text)
        parallel_seen = 0
        for i, (sp, out) in enumerate(zip(specs, outs)):
            with open(out) as f:
                asl = json.load(f)
            with self.subTest(spec=i, seed=SEED):
                self.check_structure(asl, sp.stages, f"seed {SEED} spec {i}")
            parallel_seen += sum(1 for _, st in top_chain(asl) if st["Type"] == "Parallel")
        self.assertGreater(parallel_seen, 0, "no random spec had independent stages")

    def test_validator_rejects_a_broken_document(self):
        # The check has teeth: a dangling Next and an invalid intrinsic both fail.
        spec = os.path.join(self.dir, "c.yaml")
        run(["pipeline", "init", "--output", spec, "--force"])
        asl = self.export(spec, os.path.join(self.dir, "c.asl.json"))
        bad1 = json.loads(json.dumps(asl))
        bad1["States"]["ingest"]["Next"] = "Nowhere"
        bad2 = json.loads(json.dumps(asl))
        c = bad2["States"]["ingest"]["Parameters"]["Overrides"]["ContainerOverrides"][0]
        c["Command.$"] = "States.Array('run-stage', $.run_id"
        paths = []
        for k, doc in enumerate([bad1, bad2]):
            p = os.path.join(self.dir, f"bad{k}.json")
            with open(p, "w") as f:
                json.dump(doc, f)
            paths.append(p)
        rc, text, ok = validate_with_asl_validator(paths)
        self.assertNotEqual(rc, 0)
        self.assertFalse(any(ok.values()), text)

    def test_invalid_spec_and_bad_flags(self):
        bad = os.path.join(self.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("apiVersion: mlops-studio/v1\nkind: Pipeline\nmetadata: {name: x, project: p}\n"
                    "spec:\n  stages:\n    - id: a\n      type: command\n      needs: [b]\n"
                    "      with: {command: [echo]}\n    - id: b\n      type: command\n"
                    "      needs: [a]\n      with: {command: [echo]}\n")
        out = os.path.join(self.dir, "never.json")
        r = run(["pipeline", "export-asl", bad, *BASE_FLAGS, "--output", out])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cycle", r.stderr)
        self.assertFalse(os.path.exists(out))
        r = run(["pipeline", "export-asl", os.path.join(self.dir, "missing.yaml"), *BASE_FLAGS])
        self.assertEqual(r.returncode, 2)
        spec = os.path.join(self.dir, "ok.yaml")
        run(["pipeline", "init", "--output", spec, "--force"])
        r = run(["pipeline", "export-asl", spec, "--cluster", "c", "--task-definition", "t"])
        self.assertEqual(r.returncode, 2)  # --subnets is required
        self.assertIn("--subnets", r.stderr)
        r = run(["pipeline", "export-asl", spec, *BASE_FLAGS, "--container", ""])
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("container", r.stderr)
        # stdin in, stdout out.
        with open(spec) as f:
            r = run(["pipeline", "export-asl", "-", *BASE_FLAGS], stdin=f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["StartAt"], "ingest")


if __name__ == "__main__":
    unittest.main()
