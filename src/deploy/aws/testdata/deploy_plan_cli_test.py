"""`studio deploy-plan` end to end (ctest deploy_aws.plan_cli): the printed plan for dev, staging
and prod has the environment's replica counts, auto-scaling only in prod, and every request body
validates against botocore's ECS / ELBv2 / Application Auto Scaling models; bad input exits 2
with a message naming the problem.

Usage: /usr/bin/python3 deploy_plan_cli_test.py PATH/TO/studio
"""
import json
import os
import subprocess
import sys
import tempfile

import botocore.session
from botocore.validate import validate_parameters

SESSION = botocore.session.get_session()
MODELS = {"ecs": "ecs", "elbv2": "elbv2", "application-autoscaling": "application-autoscaling"}
BASE = [
    "--project", "churn",
    "--image", "111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0",
    "--cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/mlops",
    "--subnets", "subnet-0a1b2c3d,subnet-4e5f6a7b", "--security-groups", "sg-0123456789abcdef0",
    "--vpc", "vpc-0abc",
    "--listener-arn", "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/s/1/2",
    "--execution-role-arn", "arn:aws:iam::111122223333:role/studio-task-execution",
    "--token-secret-arn", "arn:aws:secretsmanager:us-east-1:111122223333:secret:studio/token",
    "--control-plane-url", "https://studio.example.com",
]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def plan(studio, *args):
    return subprocess.run([studio, "deploy-plan", *args], capture_output=True, text=True,
                          timeout=30)


def main():
    studio = sys.argv[1]
    want = {"dev": (1, None, "512", "1024"), "staging": (2, None, "1024", "2048"),
            "prod": (3, (3, 10), "1024", "2048")}
    for env, (replicas, scaling, cpu, memory) in want.items():
        p = plan(studio, "--model", "churn/3", "--env", env, "--weights", "blue=80,green=20",
                 "--slot", "green", "--output", "json", *BASE)
        check(p.returncode == 0, f"{env}: exit {p.returncode}: {p.stderr}")
        if p.returncode != 0:
            continue
        j = json.loads(p.stdout)
        calls = {c["action"]: c for c in j["calls"]}
        for c in j["calls"]:
            op = SESSION.get_service_model(MODELS[c["api"]]).operation_model(c["action"])
            try:
                validate_parameters(c["input"], op.input_shape)
            except Exception as e:
                failures.append(f"{env} {c['action']}: {e}")
        check(calls["CreateService"]["input"]["desiredCount"] == replicas, f"{env}: desiredCount")
        check(calls["UpdateService"]["input"]["desiredCount"] == replicas, f"{env}: update count")
        td = calls["RegisterTaskDefinition"]["input"]
        check((td["cpu"], td["memory"]) == (cpu, memory), f"{env}: task size {td['cpu']}")
        check(td["containerDefinitions"][0]["command"][:4]
              == ["studio", "serve-model", "--model", "models:/churn/3"], f"{env}: command")
        if scaling:
            t = calls.get("RegisterScalableTarget", {}).get("input", {})
            check((t.get("MinCapacity"), t.get("MaxCapacity")) == scaling, f"{env}: scaling {t}")
            check(t.get("ResourceId") == "service/mlops/studio-churn-prod-green",
                  f"{env}: ResourceId {t.get('ResourceId')}")
            check("PutScalingPolicy" in calls, f"{env}: no scaling policy")
        else:
            check("RegisterScalableTarget" not in calls and "PutScalingPolicy" not in calls,
                  f"{env}: auto-scaling outside prod")
        groups = calls["ModifyListener"]["input"]["DefaultActions"][0]["ForwardConfig"][
            "TargetGroups"]
        check([g["Weight"] for g in groups] == [80, 20], f"{env}: weights {groups}")

    table = plan(studio, "--model", "churn/3", "--env", "prod", "--slot", "green", "--output",
                 "table", *BASE)
    check(table.returncode == 0 and "auto-scaling 3..10" in table.stdout
          and "ModifyListener" in table.stdout, f"table output: {table.stdout}{table.stderr}")

    bad = [
        (["--model", "churn", "--env", "dev"], "--model must be NAME/VERSION"),
        (["--model", "a/b/c", "--env", "dev"], "--model must be NAME/VERSION"),
        (["--model", "churn/3", "--env", "qa"], "no default ECS sizing"),
        (["--model", "churn/3", "--env", "dev", "--weights", "blue=50,green=40"], "sum to 100"),
        (["--model", "churn/3", "--env", "dev", "--weights", "blue=x"], "not a whole number"),
        (["--model", "churn/3", "--env", "dev", "--weights", "blue"], "SLOT=PERCENT"),
        (["--model", "churn/3", "--env", "dev", "--weights", "blue=50,blue=50"], "given twice"),
        (["--model", "churn/3", "--env", "dev", "--cpu", "256", "--memory", "8192"],
         "not a Fargate task size"),
        (["--model", "churn/3", "--env", "prod", "--replicas", "5", "--max-replicas", "2"],
         "below the replica count"),
        (["--model", "churn/3", "--env", "dev", "--slot", "red"], "slot must be blue"),
        (["--model", "churn/3", "--env", "dev", "--output", "yaml"], "--output"),
    ]
    for args, needle in bad:
        p = plan(studio, *args, *BASE)
        check(p.returncode == 2 and needle in p.stderr,
              f"{args}: exit {p.returncode}, stderr {p.stderr.strip()!r} (want {needle!r})")
    p = plan(studio, "--model", "churn/3", "--env", "dev")  # required infrastructure missing
    check(p.returncode == 2 and "image is required" in p.stderr, f"missing flags: {p.stderr}")

    # --infra: the ECS target's configuration file gives the same plan as the flags; flags given
    # override it; bad files are refused with the reason.
    flags = dict(zip(BASE[::2], BASE[1::2]))
    infra = {
        "region": "us-east-1",
        "environments": {"prod": {
            "image": flags["--image"], "cluster": flags["--cluster"],
            "subnets": flags["--subnets"].split(","),
            "security_groups": flags["--security-groups"].split(","),
            "vpc_id": flags["--vpc"], "listener_arn": flags["--listener-arn"],
            "execution_role_arn": flags["--execution-role-arn"],
            "token_secret_arn": flags["--token-secret-arn"],
            "control_plane_url": flags["--control-plane-url"]}}}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "aws-deploy.json")
        with open(path, "w") as f:
            json.dump(infra, f)
        common = ["--model", "churn/3", "--env", "prod", "--project", "churn", "--slot", "green"]
        from_flags = plan(studio, *common[:-4], "--slot", "green", *BASE)
        from_file = plan(studio, *common, "--infra", path)
        check(from_flags.returncode == 0 and from_file.returncode == 0
              and from_file.stdout == from_flags.stdout,
              f"--infra plan differs from the flags' plan: {from_flags.stderr} {from_file.stderr}")
        over = plan(studio, *common, "--infra", path, "--image", "other/studio:2", "--output",
                    "json")
        td = json.loads(over.stdout)["calls"][0]["input"] if over.returncode == 0 else {}
        check(td.get("containerDefinitions", [{}])[0].get("image") == "other/studio:2",
              f"--image overrides the file: {over.stderr}")
        for doc, needle in [("{", "not valid JSON"),
                            (json.dumps({"environments": {"dev": infra["environments"]["prod"]}}),
                             "has no environment 'prod'"),
                            (json.dumps({"environments": {"prod": {"imgae": "x"}}}),
                             "ecs.environments.prod.imgae: unknown key")]:
            with open(path, "w") as f:
                f.write(doc)
            p = plan(studio, *common, "--infra", path)
            check(p.returncode == 2 and needle in p.stderr, f"--infra {doc[:40]}: {p.stderr}")
        p = plan(studio, *common, "--infra", os.path.join(tmp, "missing.json"))
        check(p.returncode == 2 and "cannot read" in p.stderr, f"--infra missing: {p.stderr}")

    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print(" -", f)
        return 1
    print("deploy-plan CLI: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
