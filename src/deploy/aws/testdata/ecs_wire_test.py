"""Wire-format test of the ECS deploy target (ctest deploy_aws.ecs_wire).

A recorder on 127.0.0.1 (free port) plays ECS (JSON 1.1), Elastic Load Balancing v2 (Query,
XML answers) and Application Auto Scaling (JSON 1.1) with scripted, stateful answers:
DescribeServices progresses from 0 to the desired running count, target health goes
initial -> healthy, the first RegisterTaskDefinition gets a 500 (the client retries), the first
DeleteTargetGroup gets ResourceInUse (the target retries), and it enforces two real AWS rules
(CreateService needs a target group attached to the load balancer; a target group in use cannot
be deleted). ecs_wire_driver runs blue -> green through EcsTarget against it; this script then
checks every request: method, path, Host, Content-Type, X-Amz-Target, X-Amz-Date, the
Authorization structure and the SigV4 signature (recomputed here with hmac/hashlib), and each
body against botocore's service models (JSON bodies validated, Query bodies re-serialized by
botocore's QuerySerializer and compared pair by pair, and the exact percent-encoding).

Scenarios: bluegreen (prod, 3 replicas auto-scaling to 10), create-error (an AWS JSON error),
dev (1 replica, in-place replacement through UpdateService, two racing SetWeights), unhealthy
(a green whose targets stay unhealthy: StartSlot times out and green never gets traffic).

Usage: /usr/bin/python3 ecs_wire_test.py PATH/TO/ecs_wire_driver
"""
import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from botocore import serialize
from botocore.validate import validate_parameters

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars"
REGION = "us-east-1"
ACCOUNT = "111122223333"
LISTENER = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/studio-prod/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2"
)
ELB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
ECS_PREFIX = "AmazonEC2ContainerServiceV20141113."
AAS_PREFIX = "AnyScaleFrontendService."

SESSION = botocore.session.get_session()
MODELS = {
    "ecs": SESSION.get_service_model("ecs"),
    "elasticloadbalancing": SESSION.get_service_model("elbv2"),
    "application-autoscaling": SESSION.get_service_model("application-autoscaling"),
    "monitoring": SESSION.get_service_model("cloudwatch"),
}
QUERY_VERSIONS = {"elasticloadbalancing": "2015-12-01", "monitoring": "2010-08-01"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def tg_arn(name):
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/{digest}"


# ---- the fake AWS ---------------------------------------------------------------------------


class FakeAws:
    def __init__(self, scenario):
        self.scenario = scenario
        self.lock = threading.Lock()
        self.records = []
        self.task_revisions = {}
        self.target_groups = {}  # name -> {"arn", "full_polls", "delete_attempts"}
        self.services = {}  # name -> dict
        self.scalable = set()
        self.policies = {}
        # A fresh listener answers 404 until a slot is attached.
        self.listener_actions = [
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
        ]
        self.register_failures_left = 1

    # ECS ------------------------------------------------------------------------------------
    def ecs(self, op, p):
        if op == "RegisterTaskDefinition":
            if self.register_failures_left:
                self.register_failures_left -= 1
                return 500, {"__type": "ServerException", "message": "Service unavailable"}
            fam = p["family"]
            rev = self.task_revisions.get(fam, 0) + 1
            self.task_revisions[fam] = rev
            arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{fam}:{rev}"
            return 200, {"taskDefinition": {"taskDefinitionArn": arn, "family": fam,
                                            "revision": rev, "status": "ACTIVE"}}
        if op == "CreateService":
            if self.scenario == "create-error":
                return 400, {"__type": "ClientException",
                             "message": "User: arn:aws:sts::111122223333:assumed-role/ci is not "
                                        "authorized to perform: ecs:CreateService"}
            for lb in p.get("loadBalancers", []):
                attached = [g["TargetGroupArn"] for g in self.forward()]
                if lb["targetGroupArn"] not in attached:
                    return 400, {"__type": "InvalidParameterException",
                                 "message": f"The target group with targetGroupArn "
                                            f"{lb['targetGroupArn']} does not have an "
                                            f"associated load balancer."}
            name = p["serviceName"]
            svc = {"name": name, "status": "ACTIVE", "desired": p["desiredCount"], "running": 0,
                   "polls": 0, "taskDefinition": p["taskDefinition"],
                   "tg": p["loadBalancers"][0]["targetGroupArn"]}
            self.services[name] = svc
            return 200, {"service": self.service_json(svc)}
        if op == "UpdateService":
            svc = self.services[p["service"]]
            if p.get("taskDefinition", svc["taskDefinition"]) != svc["taskDefinition"]:
                svc["taskDefinition"] = p["taskDefinition"]
                svc["rollout_left"] = 2  # a new deployment: IN_PROGRESS for two more looks
            if "desiredCount" in p:
                svc["desired"] = p["desiredCount"]
                svc["running"] = min(svc["running"], svc["desired"])
            return 200, {"service": self.service_json(svc)}
        if op == "DescribeServices":
            out, failures_ = [], []
            for name in p["services"]:
                svc = self.services.get(name)
                if svc is None:
                    failures_.append({"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/mlops/{name}",
                                      "reason": "MISSING"})
                    continue
                if svc["status"] == "DRAINING":
                    svc["status"] = "INACTIVE"  # drained by the next look
                elif svc["status"] == "ACTIVE":
                    # 0, 1, 2, … running tasks on successive polls, up to the desired count.
                    svc["running"] = min(svc["desired"], svc["polls"])
                    svc["polls"] += 1
                rolling = svc.get("rollout_left", 0) > 0
                if rolling:
                    svc["rollout_left"] -= 1
                out.append(self.service_json(svc, rolling))
            return 200, {"services": out, "failures": failures_}
        if op == "DeleteService":
            svc = self.services[p["service"]]
            if svc["running"] > 0 and not p.get("force"):
                return 400, {"__type": "InvalidParameterException",
                             "message": "The service cannot be stopped while it is scaled above 0."}
            svc["status"] = "DRAINING"
            return 200, {"service": self.service_json(svc)}
        return 400, {"__type": "UnknownOperationException", "message": op}

    def service_json(self, svc, rolling=False):
        done = svc["running"] == svc["desired"] and not rolling
        return {
            "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/mlops/{svc['name']}",
            "serviceName": svc["name"], "status": svc["status"],
            "desiredCount": svc["desired"], "runningCount": svc["running"],
            "pendingCount": svc["desired"] - svc["running"],
            "taskDefinition": svc["taskDefinition"],
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY",
                             "desiredCount": svc["desired"], "runningCount": svc["running"],
                             "rolloutState": "COMPLETED" if done else "IN_PROGRESS",
                             "rolloutStateReason": "ECS deployment ecs-svc/1 completed."
                             if done else "ECS deployment ecs-svc/1 in progress."}],
        }

    # Application Auto Scaling ----------------------------------------------------------------
    def aas(self, op, p):
        if op == "RegisterScalableTarget":
            self.scalable.add(p["ResourceId"])
            return 200, {"ScalableTargetARN": f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:"
                                              f"scalable-target/0ec5{len(self.scalable)}"}
        if op == "PutScalingPolicy":
            self.policies[p["PolicyName"]] = p
            return 200, {"PolicyARN": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:1:"
                                      f"resource/ecs/{p['ResourceId']}:policyName/{p['PolicyName']}",
                         "Alarms": []}
        if op == "DeregisterScalableTarget":
            if p["ResourceId"] not in self.scalable:
                return 400, {"__type": "ObjectNotFoundException",
                             "Message": "No scalable target registered"}
            self.scalable.discard(p["ResourceId"])
            return 200, {}
        return 400, {"__type": "UnknownOperationException", "message": op}

    # ELBv2 -----------------------------------------------------------------------------------
    def forward(self):
        for a in self.listener_actions:
            if a.get("Type") == "forward":
                return a.get("ForwardConfig", {}).get("TargetGroups", [])
        return []

    def elb(self, op, p):
        if op == "CreateTargetGroup":
            tg = self.target_groups.setdefault(p["Name"], {"arn": tg_arn(p["Name"]),
                                                           "full_polls": 0,
                                                           "delete_attempts": 0})
            return 200, self.xml(op, "<TargetGroups><member>" + tg_member(p["Name"], tg["arn"]) +
                                 "</member></TargetGroups>")
        if op == "DescribeTargetGroups":
            members = ""
            for name in p.get("Names", []):
                tg = self.target_groups.get(name)
                if tg is None:
                    return 400, xml_error("TargetGroupNotFound",
                                          "One or more target groups not found")
                members += "<member>" + tg_member(name, tg["arn"]) + "</member>"
            return 200, self.xml(op, f"<TargetGroups>{members}</TargetGroups>")
        if op == "DescribeListeners":
            if p["ListenerArns"] != [LISTENER]:
                return 400, xml_error("ListenerNotFound", "One or more listeners not found")
            return 200, self.xml(op, "<Listeners><member><ListenerArn>" + LISTENER +
                                 "</ListenerArn><Port>443</Port><Protocol>HTTPS</Protocol>"
                                 "<DefaultActions>" + actions_xml(self.listener_actions) +
                                 "</DefaultActions></member></Listeners>")
        if op == "ModifyListener":
            check(p["ListenerArn"] == LISTENER, "ModifyListener: wrong listener")
            self.listener_actions = p["DefaultActions"]
            return 200, self.xml(op, "<Listeners><member><ListenerArn>" + LISTENER +
                                 "</ListenerArn><DefaultActions>" +
                                 actions_xml(self.listener_actions) +
                                 "</DefaultActions></member></Listeners>")
        if op == "DescribeTargetHealth":
            arn = p["TargetGroupArn"]
            name = next(n for n, t in self.target_groups.items() if t["arn"] == arn)
            tg = self.target_groups[name]
            svc = next((s for s in self.services.values()
                        if s["tg"] == arn and s["status"] == "ACTIVE"), None)
            running = svc["running"] if svc else 0
            full = svc is not None and running == svc["desired"] and running > 0
            # Registered targets start "initial"; the second full look finds them healthy.
            state = "healthy" if full and tg["full_polls"] >= 1 else "initial"
            if self.scenario == "unhealthy" and name.endswith("-green") and running:
                state = "unhealthy"  # /ready never answers 200
            if full:
                tg["full_polls"] += 1
            members = ""
            for i in range(running):
                reason = {"healthy": "", "initial": "<Reason>Elb.RegistrationInProgress</Reason>",
                          "unhealthy": "<Reason>Target.ResponseCodeMismatch</Reason>"}[state]
                members += (f"<member><HealthCheckPort>8080</HealthCheckPort><Target>"
                            f"<Id>10.0.1.{10 + i}</Id><Port>8080</Port></Target><TargetHealth>"
                            f"<State>{state}</State>{reason}</TargetHealth></member>")
            return 200, self.xml(op, f"<TargetHealthDescriptions>{members}"
                                     f"</TargetHealthDescriptions>")
        if op == "DeleteTargetGroup":
            arn = p["TargetGroupArn"]
            name = next((n for n, t in self.target_groups.items() if t["arn"] == arn), None)
            if name is None:
                return 400, xml_error("TargetGroupNotFound", "One or more target groups not found")
            tg = self.target_groups[name]
            tg["delete_attempts"] += 1
            in_listener = any(g["TargetGroupArn"] == arn for g in self.forward())
            in_service = any(s["tg"] == arn and s["status"] != "INACTIVE"
                             for s in self.services.values())
            # Scripted: the first attempt still sees the deregistering targets.
            if in_listener or in_service or tg["delete_attempts"] == 1:
                return 400, xml_error("ResourceInUse",
                                      f"Target group '{arn}' is currently in use by a listener "
                                      f"or a rule")
            del self.target_groups[name]
            return 200, self.xml(op, "")
        return 400, xml_error("InvalidAction", f"Could not find operation {op}")

    # CloudWatch ---------------------------------------------------------------------------
    def cloudwatch(self, op, p):
        if op != "GetMetricData":
            return 400, xml_error("InvalidAction", f"Could not find operation {op}")
        # Scripted figures of the green target group: 250 requests, 5 target 5xx, 1 connection
        # error, p50 12 ms, p99 87 ms (one datapoint per query: one period over the window).
        values = {"RequestCount": 250.0, "HTTPCode_Target_5XX_Count": 5.0,
                  "TargetConnectionErrorCount": 1.0}
        members = ""
        for q in p["MetricDataQueries"]:
            metric = q["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            green = dims.get("TargetGroup", "").startswith("targetgroup/st-churn-prod-green/")
            v = values.get(metric["MetricName"])
            if metric["MetricName"] == "TargetResponseTime":
                v = {"p50": 0.012, "p99": 0.087}.get(q["MetricStat"]["Stat"])
            ts = f"<Timestamps><member>{p['StartTime']}</member></Timestamps>"
            vals = f"<Values><member>{v}</member></Values>" if green and v is not None else \
                "<Values/>"
            # AWS does not promise an order inside a result: put the lists before <Id> once.
            if q["Id"] == "p99":
                members += (f"<member>{ts}{vals}<Label>{metric['MetricName']}</Label>"
                            f"<Id>{q['Id']}</Id><StatusCode>Complete</StatusCode></member>")
            else:
                members += (f"<member><Id>{q['Id']}</Id><Label>{metric['MetricName']}</Label>"
                            f"{ts}{vals}<StatusCode>Complete</StatusCode></member>")
        ns = "http://monitoring.amazonaws.com/doc/2010-08-01/"
        return 200, (f'<GetMetricDataResponse xmlns="{ns}"><GetMetricDataResult>'
                     f"<MetricDataResults>{members}</MetricDataResults><Messages/>"
                     "</GetMetricDataResult><ResponseMetadata><RequestId>"
                     "c0ffee00-0000-4000-8000-000000000000</RequestId></ResponseMetadata>"
                     "</GetMetricDataResponse>")

    def xml(self, op, inner):
        return (f'<{op}Response xmlns="{ELB_NS}"><{op}Result>{inner}</{op}Result>'
                f"<ResponseMetadata><RequestId>{len(self.records):08d}-0000-4000-8000-000000000000"
                f"</RequestId></ResponseMetadata></{op}Response>")


def tg_member(name, arn):
    return (f"<TargetGroupArn>{arn}</TargetGroupArn><TargetGroupName>{name}</TargetGroupName>"
            "<Protocol>HTTP</Protocol><Port>8080</Port><TargetType>ip</TargetType>")


def actions_xml(actions):
    out = ""
    for a in actions:
        out += f"<member><Type>{a['Type']}</Type>"
        if a["Type"] == "forward":
            groups = a["ForwardConfig"]["TargetGroups"]
            out += "<ForwardConfig><TargetGroups>"
            for g in groups:
                out += (f"<member><TargetGroupArn>{g['TargetGroupArn']}</TargetGroupArn>"
                        f"<Weight>{g.get('Weight', 1)}</Weight></member>")
            out += ("</TargetGroups><TargetGroupStickinessConfig><Enabled>false</Enabled>"
                    "</TargetGroupStickinessConfig></ForwardConfig>")
        else:
            out += ("<FixedResponseConfig><StatusCode>" +
                    a["FixedResponseConfig"]["StatusCode"] + "</StatusCode></FixedResponseConfig>")
        out += "</member>"
    return out


def xml_error(code, message):
    return (f'<ErrorResponse xmlns="{ELB_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>"
            "<RequestId>a1b2c3d4-0000-4000-8000-000000000000</RequestId></ErrorResponse>")


# ---- Query protocol: form pairs -> parameters, with the service model -------------------------


def unflatten(pairs, shape):
    tree = {}
    for key, value in pairs:
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts[-1] in node:
            raise AssertionError(f"duplicate form member {key}")
        node[parts[-1]] = value
    return convert(tree, shape, "")


def convert(node, shape, path):
    t = shape.type_name
    if t == "structure":
        if not isinstance(node, dict):
            raise AssertionError(f"{path}: expected a structure")
        out = {}
        for k, sub in node.items():
            if k not in shape.members:
                raise AssertionError(f"{path}.{k}: not a member of {shape.name}")
            out[k] = convert(sub, shape.members[k], f"{path}.{k}")
        return out
    if t == "list":
        if node == "":
            return []
        if not isinstance(node, dict) or set(node) != {"member"}:
            raise AssertionError(f"{path}: a list must be encoded as .member.N")
        idx = sorted(int(i) for i in node["member"])
        if idx != list(range(1, len(idx) + 1)):
            raise AssertionError(f"{path}: member indexes {idx} are not 1..N")
        return [convert(node["member"][str(i)], shape.member, f"{path}.member.{i}") for i in idx]
    if isinstance(node, dict):
        raise AssertionError(f"{path}: expected a scalar")
    if t in ("integer", "long"):
        return int(node)
    if t == "boolean":
        if node not in ("true", "false"):
            raise AssertionError(f"{path}: boolean {node!r}")
        return node == "true"
    if t in ("float", "double"):
        return float(node)
    return node


def rfc3986(s):
    return urllib.parse.quote(s, safe="-_.~")


# ---- the recorder -----------------------------------------------------------------------------


def make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = [(k, v) for k, v in self.headers.items()]
            lower = {k.lower(): v for k, v in headers}
            rec = {"method": "POST", "path": self.path, "headers": headers, "lower": lower,
                   "body": body}
            target = lower.get("x-amz-target", "")
            with fake.lock:
                if target.startswith(ECS_PREFIX):
                    rec["api"], rec["op"] = "ecs", target[len(ECS_PREFIX):]
                    status, answer = fake.ecs(rec["op"], json.loads(body or b"{}"))
                elif target.startswith(AAS_PREFIX):
                    rec["api"], rec["op"] = "application-autoscaling", target[len(AAS_PREFIX):]
                    status, answer = fake.aas(rec["op"], json.loads(body or b"{}"))
                else:
                    pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True,
                                                   strict_parsing=True)
                    form = dict(pairs)
                    api = "monitoring" if form.get("Version") == "2010-08-01" else \
                        "elasticloadbalancing"
                    rec["api"], rec["op"], rec["pairs"] = api, form.get("Action", ""), pairs
                    op_model = MODELS[api].operation_model(rec["op"])
                    params = unflatten([p for p in pairs if p[0] not in ("Action", "Version")],
                                       op_model.input_shape)
                    rec["params"] = params
                    if api == "monitoring":
                        status, answer = fake.cloudwatch(rec["op"], params)
                    else:
                        status, answer = fake.elb(rec["op"], params)
                rec["status"] = status
                fake.records.append(rec)
            if isinstance(answer, dict):
                data = json.dumps(answer).encode()
                ctype = "application/x-amz-json-1.1"
            else:
                data = answer.encode()
                ctype = "text/xml"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", f"req-{len(fake.records)}")
            self.end_headers()
            self.wfile.write(data)

    return Handler


def run(driver, scenario):
    fake = FakeAws(scenario)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_SESSION_TOKEN=TOKEN)
    try:
        proc = subprocess.run([driver, f"http://127.0.0.1:{port}", scenario], env=env,
                              capture_output=True, text=True, timeout=90)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    if proc.returncode != 0:
        failures.append(f"{scenario}: driver exit {proc.returncode}: {proc.stderr}")
    steps = {}
    for line in proc.stdout.splitlines():
        j = json.loads(line)
        steps[j["step"]] = j
    return fake, steps, port


# ---- checks -----------------------------------------------------------------------------------

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<sig>[0-9a-f]{64})$")


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_signature(rec, port, what):
    lower = rec["lower"]
    amz_date = lower.get("x-amz-date", "")
    check(re.fullmatch(r"\d{8}T\d{6}Z", amz_date), f"{what}: X-Amz-Date {amz_date!r}")
    sent = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    check(abs((datetime.datetime.utcnow() - sent).total_seconds()) < 900,
          f"{what}: X-Amz-Date far from now")
    check(lower.get("host") == f"127.0.0.1:{port}", f"{what}: Host {lower.get('host')!r}")
    check(lower.get("x-amz-security-token") == TOKEN, f"{what}: X-Amz-Security-Token")
    m = AUTH_RE.match(lower.get("authorization", ""))
    check(m is not None, f"{what}: Authorization {lower.get('authorization')!r}")
    if not m:
        return
    check(m["akid"] == AKID, f"{what}: access key id")
    check(m["date"] == amz_date[:8], f"{what}: scope date differs from X-Amz-Date")
    check(m["region"] == REGION, f"{what}: region {m['region']}")
    check(m["service"] == rec["api"], f"{what}: signing name {m['service']} for {rec['api']}")
    signed = m["signed"].split(";")
    want_signed = ["content-type", "host", "x-amz-date", "x-amz-security-token"]
    if rec["api"] not in QUERY_VERSIONS:
        want_signed.append("x-amz-target")
    check(signed == want_signed, f"{what}: SignedHeaders {signed}")
    canonical_headers = "".join(f"{h}:{' '.join(lower[h].split())}\n" for h in signed)
    creq = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed),
                      hashlib.sha256(rec["body"]).hexdigest()])
    scope = f"{m['date']}/{REGION}/{m['service']}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = hmac_sha256(("AWS4" + SECRET).encode(), m["date"])
    for part in (REGION, m["service"], "aws4_request"):
        key = hmac_sha256(key, part)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    check(sig == m["sig"], f"{what}: signature {m['sig']} != recomputed {sig}")


def check_request(rec, port, i):
    what = f"request {i} {rec['api']} {rec['op']}"
    check(rec["method"] == "POST" and rec["path"] == "/", f"{what}: {rec['method']} {rec['path']}")
    check_signature(rec, port, what)
    lower = rec["lower"]
    model = MODELS[rec["api"]]
    op_model = model.operation_model(rec["op"])
    if rec["api"] in ("ecs", "application-autoscaling"):
        prefix = ECS_PREFIX if rec["api"] == "ecs" else AAS_PREFIX
        check(lower.get("content-type") == "application/x-amz-json-1.1",
              f"{what}: Content-Type {lower.get('content-type')!r}")
        check(lower.get("x-amz-target") == prefix + rec["op"], f"{what}: X-Amz-Target")
        params = json.loads(rec["body"])
        rec["params"] = params
        try:
            validate_parameters(params, op_model.input_shape)
        except Exception as e:  # botocore's ParamValidationError lists every problem
            failures.append(f"{what}: body does not match the service model: {e}")
    else:
        check(lower.get("content-type") == "application/x-www-form-urlencoded; charset=utf-8",
              f"{what}: Content-Type {lower.get('content-type')!r}")
        check("x-amz-target" not in lower, f"{what}: X-Amz-Target on a Query request")
        pairs = rec["pairs"]
        check(pairs[:2] == [("Action", rec["op"]), ("Version", QUERY_VERSIONS[rec["api"]])],
              f"{what}: Action/Version first: {pairs[:2]}")
        # Exact RFC 3986 percent-encoding of every name and value.
        check(rec["body"].decode() == "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in pairs),
              f"{what}: form encoding {rec['body'][:120]!r}")
        try:
            validate_parameters(rec["params"], op_model.input_shape)
        except Exception as e:
            failures.append(f"{what}: form body does not match the service model: {e}")
        expect = serialize.create_serializer("query").serialize_to_request(rec["params"], op_model)
        want = sorted((k, str(v)) for k, v in expect["body"].items())
        check(sorted(pairs) == want, f"{what}: form pairs differ from botocore's:\n"
                                     f"  got  {sorted(pairs)}\n  want {want}")


def ops(fake):
    return [r["op"] for r in fake.records]


def find(fake, op, n=0, pred=lambda r: True):
    hits = [r for r in fake.records if r["op"] == op and pred(r)]
    return hits[n] if len(hits) > n else None


def bluegreen(driver):
    fake, steps, port = run(driver, "bluegreen")
    for i, rec in enumerate(fake.records):
        check_request(rec, port, i)

    def step(name, ok=True, code="OK", contains=""):
        s = steps.get(name)
        check(s is not None, f"step {name} missing")
        if s:
            check(s["ok"] == ok and s["code"] == code and contains in s["message"],
                  f"step {name}: {s}")
        return s

    step("start_blue")
    step("weights_blue_100")
    step("start_green")
    s = step("green_healthy")
    check(s and s["value"] is True, f"green_healthy value {s}")
    step("weights_bad_sum", False, "INVALID_PARAMETER_VALUE", "sum to 100")
    step("weights_unknown_slot", False, "INVALID_PARAMETER_VALUE", "unknown slot 'purple'")
    step("weights_green_100")
    step("stop_green_refused", False, "RESOURCE_CONFLICT", "receives all the traffic")
    step("stop_blue")
    step("blue_healthy_after_stop", False, "RESOURCE_DOES_NOT_EXIST", "not running")
    s = step("metrics")
    v = s["value"] if s else None
    check(v is not None and v["requests"] == 250 and v["errors"] == 6
          and abs(v["p50_ms"] - 12) < 1e-6 and abs(v["p99_ms"] - 87) < 1e-6, f"metrics {v}")
    step("metrics_stopped_slot", False, "RESOURCE_DOES_NOT_EXIST", "not running")
    step("start_green_v3")

    start = ["RegisterTaskDefinition", "RegisterTaskDefinition",  # 500, then the client's retry
             "CreateTargetGroup", "DescribeListeners", "ModifyListener", "DescribeServices",
             "CreateService", "RegisterScalableTarget", "PutScalingPolicy",
             "DescribeServices", "DescribeTargetHealth", "DescribeServices",
             "DescribeTargetHealth", "DescribeServices", "DescribeTargetHealth",
             "DescribeServices", "DescribeTargetHealth", "DescribeServices",
             "DescribeTargetHealth"]
    start_green = [o for o in start if o != "RegisterTaskDefinition"]
    start_green.insert(0, "RegisterTaskDefinition")
    want = (start
            + ["DescribeListeners", "ModifyListener"]  # weights blue 100
            + start_green
            + ["DescribeTargetHealth"]  # SlotHealthy(green)
            + ["DescribeListeners", "ModifyListener"]  # weights green 100
            + ["DescribeListeners"]  # StopSlot(green) refused
            + ["DescribeListeners", "ModifyListener", "DescribeServices",
               "DeregisterScalableTarget", "UpdateService", "DeleteService", "DescribeServices",
               "DeleteTargetGroup", "DeleteTargetGroup"]  # StopSlot(blue)
            + ["DescribeTargetGroups"]  # SlotHealthy(blue) after the stop
            + ["GetMetricData"]  # Metrics(green)
            + ["DescribeTargetGroups"]  # Metrics(blue) after the stop
            + ["RegisterTaskDefinition", "CreateTargetGroup", "DescribeListeners",
               "DescribeServices", "UpdateService", "RegisterScalableTarget", "PutScalingPolicy"]
            + ["DescribeServices", "DescribeTargetHealth"] * 3)  # green v3 in place
    check(ops(fake) == want, f"call sequence:\n  got  {ops(fake)}\n  want {want}")

    first = fake.records[0]
    check(first["status"] == 500 and fake.records[1]["status"] == 200
          and first["body"] == fake.records[1]["body"], "the 500 is retried with the same body")

    blue_tg, green_tg = tg_arn("st-churn-prod-blue"), tg_arn("st-churn-prod-green")
    td = find(fake, "RegisterTaskDefinition", 2)["params"]  # green's
    c = td["containerDefinitions"][0]
    check(td["family"] == "studio-churn-prod-green" and td["cpu"] == "1024"
          and td["memory"] == "2048" and td["networkMode"] == "awsvpc"
          and td["requiresCompatibilities"] == ["FARGATE"], f"green task definition {td}")
    check(c["command"][:4] == ["studio", "serve-model", "--model", "models:/churn/2"]
          and c["image"] == "111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0",
          f"green container {c}")
    cs = find(fake, "CreateService", 1)["params"]
    check(cs["serviceName"] == "studio-churn-prod-green" and cs["desiredCount"] == 3
          and cs["launchType"] == "FARGATE"
          and cs["taskDefinition"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/"
                                      "studio-churn-prod-green:1"
          and cs["loadBalancers"][0]["targetGroupArn"] == green_tg, f"green CreateService {cs}")
    rst = find(fake, "RegisterScalableTarget", 1)["params"]
    check(rst == {"ServiceNamespace": "ecs", "ResourceId": "service/mlops/studio-churn-prod-green",
                  "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 3,
                  "MaxCapacity": 10}, f"RegisterScalableTarget {rst}")
    tg = find(fake, "CreateTargetGroup", 1)["params"]
    check(tg["TargetType"] == "ip" and tg["HealthCheckPath"] == "/ready" and tg["Port"] == 8080
          and tg["Name"] == "st-churn-prod-green", f"CreateTargetGroup {tg}")

    # Green attached at weight 0 before its service exists, then the shift to green 100 — the
    # exact Query body.
    attach = find(fake, "ModifyListener", 2)["params"]["DefaultActions"][0]
    check([(g["TargetGroupArn"], g["Weight"]) for g in attach["ForwardConfig"]["TargetGroups"]]
          == [(blue_tg, 100), (green_tg, 0)], f"green attach {attach}")
    shift = find(fake, "ModifyListener", 3)
    q = "DefaultActions.member.1.ForwardConfig."
    want_body = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in [
        ("Action", "ModifyListener"), ("Version", "2015-12-01"), ("ListenerArn", LISTENER),
        ("DefaultActions.member.1.Type", "forward"),
        (q + "TargetGroups.member.1.TargetGroupArn", blue_tg),
        (q + "TargetGroups.member.1.Weight", "0"),
        (q + "TargetGroups.member.2.TargetGroupArn", green_tg),
        (q + "TargetGroups.member.2.Weight", "100"),
        (q + "TargetGroupStickinessConfig.Enabled", "false")])
    check(shift["body"].decode() == want_body,
          f"ModifyListener green 100 body:\n  got  {shift['body'].decode()}\n  want {want_body}")
    check("%3A" in want_body and "%2F" in want_body, "ARNs are percent-encoded")
    detach = find(fake, "ModifyListener", 4)["params"]["DefaultActions"][0]
    check([(g["TargetGroupArn"], g["Weight"]) for g in detach["ForwardConfig"]["TargetGroups"]]
          == [(green_tg, 100)], f"blue detach {detach}")
    down = find(fake, "UpdateService", 0)["params"]
    check(down == {"cluster": "mlops", "service": "studio-churn-prod-blue", "desiredCount": 0},
          f"scale blue to 0 {down}")
    dele = find(fake, "DeleteTargetGroup", 0)
    check(dele["status"] == 400 and find(fake, "DeleteTargetGroup", 1)["status"] == 200
          and dele["params"] == {"TargetGroupArn": blue_tg}, "DeleteTargetGroup retried after "
                                                             "ResourceInUse")
    check(fake.services["studio-churn-prod-blue"]["status"] == "INACTIVE", "blue service gone")
    check("st-churn-prod-blue" not in fake.target_groups, "blue target group deleted")
    check([g["Weight"] for g in fake.forward()] == [100], "listener ends on green alone")

    up = find(fake, "UpdateService", 1)["params"]
    check(up["service"] == "studio-churn-prod-green" and "desiredCount" not in up
          and up["taskDefinition"].endswith("task-definition/studio-churn-prod-green:2"),
          f"green v3 in place keeps the auto-scaled count: {up}")
    td3 = find(fake, "RegisterTaskDefinition", 3)["params"]["containerDefinitions"][0]
    check(td3["command"][3] == "models:/churn/3", f"green v3 command {td3['command']}")
    check(weights_of(find(fake, "ModifyListener", 4)) == [(green_tg, 100)]
          and find(fake, "ModifyListener", 5) is None, "in-place replacement leaves the listener")

    gmd = find(fake, "GetMetricData")["params"]
    queries = {q["Id"]: q["MetricStat"] for q in gmd["MetricDataQueries"]}
    check(sorted(queries) == ["connerrors", "errors5xx", "p50", "p99", "requests"],
          f"GetMetricData ids {sorted(queries)}")
    stats = {i: (q["Metric"]["MetricName"], q["Stat"]) for i, q in queries.items()}
    check(stats == {"requests": ("RequestCount", "Sum"),
                    "errors5xx": ("HTTPCode_Target_5XX_Count", "Sum"),
                    "connerrors": ("TargetConnectionErrorCount", "Sum"),
                    "p50": ("TargetResponseTime", "p50"), "p99": ("TargetResponseTime", "p99")},
          f"GetMetricData stats {stats}")
    for q in queries.values():
        dims = {d["Name"]: d["Value"] for d in q["Metric"]["Dimensions"]}
        check(q["Metric"]["Namespace"] == "AWS/ApplicationELB"
              and dims == {"TargetGroup": green_tg.split(":", 5)[5],
                           "LoadBalancer": "app/studio-prod/50dc6c495c0c9188"},
              f"GetMetricData dimensions {dims}")
    start = datetime.datetime.strptime(gmd["StartTime"], "%Y-%m-%dT%H:%M:%SZ")
    end = datetime.datetime.strptime(gmd["EndTime"], "%Y-%m-%dT%H:%M:%SZ")
    period = queries["requests"]["Period"]
    check(start.second == 0 and end.second == 0 and period == (end - start).total_seconds()
          and period >= 60 and period % 60 == 0
          and end >= datetime.datetime.utcnow() - datetime.timedelta(minutes=1),
          f"GetMetricData window {gmd['StartTime']}..{gmd['EndTime']} period {period}")


def create_error(driver):
    fake, steps, port = run(driver, "create-error")
    for i, rec in enumerate(fake.records):
        check_request(rec, port, i)
    s = steps.get("start_blue")
    check(s is not None and not s["ok"] and s["code"] == "BAD_REQUEST"
          and s["message"].startswith("ECS CreateService: HTTP 400 ClientException: User: ")
          and "(request id req-" in s["message"], f"create-error: {s}")
    # Nothing is sent after the refused CreateService.
    check(ops(fake)[-1] == "CreateService", f"create-error sequence {ops(fake)}")


def weights_of(rec):
    return [(g["TargetGroupArn"], g["Weight"])
            for g in rec["params"]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]]


def dev(driver):
    fake, steps, port = run(driver, "dev")
    for i, rec in enumerate(fake.records):
        check_request(rec, port, i)
    for name in ("start_blue", "weights_blue_100", "start_blue_v2", "start_green",
                 "weights_race_a", "weights_race_b", "weights_green_100", "stop_blue"):
        s = steps.get(name)
        check(s is not None and s["ok"], f"dev step {name}: {s}")
    wait1 = ["DescribeServices", "DescribeTargetHealth"]
    start = (["RegisterTaskDefinition", "RegisterTaskDefinition", "CreateTargetGroup",
              "DescribeListeners", "ModifyListener", "DescribeServices", "CreateService"]
             + wait1 * 3)  # 0 running, 1 running (initial), 1 running (healthy)
    replace = (["RegisterTaskDefinition", "CreateTargetGroup", "DescribeListeners",
                "DescribeServices", "UpdateService"]
               + wait1 * 3)  # rollout IN_PROGRESS twice, then COMPLETED
    start_green = (["RegisterTaskDefinition", "CreateTargetGroup", "DescribeListeners",
                    "ModifyListener", "DescribeServices", "CreateService"] + wait1 * 3)
    want = (start + ["DescribeListeners", "ModifyListener"] + replace + start_green
            + ["DescribeListeners", "ModifyListener"] * 3
            + ["DescribeListeners", "ModifyListener", "DescribeServices",
               "DeregisterScalableTarget", "UpdateService", "DeleteService", "DescribeServices",
               "DeleteTargetGroup", "DeleteTargetGroup"])
    check(ops(fake) == want, f"dev call sequence:\n  got  {ops(fake)}\n  want {want}")
    check(not any(r["op"] in ("RegisterScalableTarget", "PutScalingPolicy")
                  for r in fake.records), "dev: no auto-scaling")
    dereg = find(fake, "DeregisterScalableTarget")
    check(dereg is not None and dereg["status"] == 400, "dev: DeregisterScalableTarget answered "
                                                        "ObjectNotFoundException, and was ignored")
    cs = find(fake, "CreateService")["params"]
    check(cs["desiredCount"] == 1, f"dev: desiredCount {cs['desiredCount']}")
    up = find(fake, "UpdateService")["params"]
    check(up["service"] == "studio-churn-dev-blue" and up["desiredCount"] == 1
          and up["taskDefinition"].endswith("task-definition/studio-churn-dev-blue:2"),
          f"dev: in-place replacement {up}")
    td = find(fake, "RegisterTaskDefinition", 2)["params"]
    check(td["containerDefinitions"][0]["command"][3] == "models:/churn/2"
          and (td["cpu"], td["memory"]) == ("512", "1024"), f"dev: v2 task definition {td}")
    # The two racing SetWeights each read then wrote the listener, one after the other.
    blue_tg, green_tg = tg_arn("st-churn-dev-blue"), tg_arn("st-churn-dev-green")
    mods = [r for r in fake.records if r["op"] == "ModifyListener"]
    race = [weights_of(mods[3]), weights_of(mods[4])]
    a = [(blue_tg, 50), (green_tg, 50)]
    b = [(blue_tg, 20), (green_tg, 80)]
    check(race in ([a, b], [b, a]), f"dev: racing weights {race}")
    check(weights_of(mods[5]) == [(blue_tg, 0), (green_tg, 100)], "dev: green 100")
    check([g["Weight"] for g in fake.forward()] == [100], "dev: listener ends on green alone")


def unhealthy(driver):
    fake, steps, port = run(driver, "unhealthy")
    for i, rec in enumerate(fake.records):
        check_request(rec, port, i)
    s = steps.get("start_green")
    check(s is not None and not s["ok"] and s["code"] == "TEMPORARILY_UNAVAILABLE"
          and "not ready within 300 ms" in s["message"] and "unhealthy" in s["message"],
          f"unhealthy: start_green {s}")
    s = steps.get("green_healthy")
    check(s is not None and s["ok"] and s["value"] is False, f"unhealthy: SlotHealthy {s}")
    s = steps.get("stop_green")
    check(s is not None and s["ok"], f"unhealthy: stop_green {s}")
    green_tg = tg_arn("st-churn-dev-green")
    for r in fake.records:
        if r["op"] == "ModifyListener":
            check(all(w == 0 for arn, w in weights_of(r) if arn == green_tg),
                  f"unhealthy: green got traffic {weights_of(r)}")
    check([(g["TargetGroupArn"], g["Weight"]) for g in fake.forward()]
          == [(tg_arn("st-churn-dev-blue"), 100)], "unhealthy: blue keeps all the traffic")
    check("st-churn-dev-green" not in fake.target_groups, "unhealthy: green cleaned up")


def main():
    driver = sys.argv[1]
    bluegreen(driver)
    create_error(driver)
    dev(driver)
    unhealthy(driver)
    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print(" -", f)
        return 1
    print("ecs wire test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
