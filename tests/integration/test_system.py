"""Health, readiness, metrics, OpenAPI, routing errors, request ids, graceful shutdown, CLI."""

import json
import re
import select
import socket
import subprocess
import time
import unittest
import uuid

from harness import (ADMIN_PASSWORD, BACKEND, PG, REPO_ROOT, StudioTestCase, run_cli,
                     skip_unless_sqlite_run)


def documented_endpoints():
    """(METHOD, path) rows of docs/api.md's endpoint table."""
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    rows = re.findall(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|", text, re.M)
    assert len(rows) >= 20, f"could not parse the endpoint table of docs/api.md: {rows}"
    return rows


def parse_metrics(text):
    """{family: type} and a list of (sample_name, {labels}, value)."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(None, 3)
            types[name] = typ.strip()
        elif line and not line.startswith("#"):
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
            if not m:
                continue
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                     m.group(3) or ""))
            samples.append((m.group(1), labels, m.group(4)))
    return types, samples


class SystemTests(StudioTestCase):

    def test_healthz_readyz(self):
        c = self.server.client(origin=False)
        r = c.get("/healthz")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        r = c.get("/readyz")
        self.assertStatus(r, 200)
        body = r.json()
        self.assertEqual(body["status"], "ready")
        self.assertIsInstance(body["schema_version"], int)
        self.assertGreaterEqual(body["schema_version"], 1)

    def test_metrics(self):
        api = self.server.admin
        pid = api.post("/api/v1/projects", json={"name": "metrics-p"}).json()["id"]
        self.assertStatus(api.get("/api/v1/projects/" + pid), 200)
        self.assertStatus(api.get("/api/v1/projects"), 200)
        self.assertStatus(api.get("/api/v1/projects/no-such-thing"), 404)
        r = self.server.client(origin=False).get("/metrics")
        self.assertStatus(r, 200)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"),
                        r.headers.get("Content-Type"))
        lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=r.text,
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(lint.returncode, 0, f"promtool: {lint.stdout}{lint.stderr}")
        types, samples = parse_metrics(r.text)

        # request counter labelled by route (template) and status code
        counters = {n for n, t in types.items() if t == "counter"}
        by_route = [(n, l) for n, l, _ in samples
                    if (n in counters or n.removesuffix("_total") in counters)
                    and "/api/v1/projects/{id}" in l.values()
                    and ({"200", "404"} & set(l.values()))]
        self.assertTrue(by_route, "no request counter with route /api/v1/projects/{id} and a "
                                  "status code label")
        codes = {v for _, l in by_route for v in l.values()}
        self.assertIn("200", codes)
        self.assertIn("404", codes)
        self.assertNotIn(pid, r.text, "raw ids in metric labels (unbounded cardinality)")
        self.assertNotIn("no-such-thing", r.text)

        # latency histogram
        hists = [n for n, t in types.items() if t == "histogram"]
        self.assertTrue(hists, "no histogram")
        self.assertTrue(any(n.endswith("_bucket") and "le" in l and
                            any(n == h + "_bucket" for h in hists) for n, l, _ in samples))
        self.assertTrue(any("second" in h for h in hists), f"no latency (seconds) histogram: "
                                                           f"{hists}")
        # process metrics
        proc = {n for n, _, _ in samples if n.startswith("process_")}
        self.assertGreaterEqual(len(proc), 2, f"process metrics: {proc}")

    def test_openapi_lists_every_documented_route(self):
        r = self.server.client(origin=False).get("/api/openapi.json")
        self.assertStatus(r, 200)
        doc = r.json()
        self.assertTrue(str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi"))
        self.assertIn("info", doc)
        paths = doc.get("paths", {})
        missing = [f"{m} {p}" for m, p in documented_endpoints()
                   if m.lower() not in paths.get(p, {})]
        self.assertEqual(missing, [], "documented routes missing from /api/openapi.json")

    def test_unknown_route_404(self):
        api = self.server.admin
        for path in ("/api/v1/nope", "/api/v1/projects/x/y/z", "/api/v2/projects", "/nope"):
            with self.subTest(path=path):
                self.assertError(api.get(path), 404, ("ENDPOINT_NOT_FOUND",
                                                      "RESOURCE_DOES_NOT_EXIST"))

    def test_request_ids(self):
        c = self.server.client(origin=False)
        r = c.get("/healthz", headers={"X-Request-Id": "abc-123_DEF.4"})
        self.assertEqual(r.headers.get("X-Request-Id"), "abc-123_DEF.4")
        generated = {c.get("/healthz").headers.get("X-Request-Id") for _ in range(3)}
        self.assertEqual(len(generated), 3, "generated request ids are not unique")
        self.assertTrue(all(generated))
        for insane in ("x" * 1000, "a b\"c<script>", "\u00e9\u00e9".encode().decode("latin-1")):
            r = c.get("/healthz", headers={"X-Request-Id": insane})
            self.assertStatus(r, 200)
            got = r.headers.get("X-Request-Id")
            self.assertTrue(got)
            self.assertNotEqual(got, insane, "insane client request id echoed back")
        # errors carry it too
        r = c.get("/api/v1/me", headers={"X-Request-Id": "req-err-1"})
        self.assertStatus(r, 401)
        self.assertEqual(r.headers.get("X-Request-Id"), "req-err-1")

    def test_cli_user_create_and_set_roles(self):
        store = self.store
        r = run_cli(["admin", "user", "create", "--username", "cli-user", "--roles",
                     "ml_engineer,model_sponsor", "--password-stdin", "--json"]
                    + store.cli_args(), input="cli-user-password\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["username"], "cli-user")
        api = self.server.admin
        u = api.get("/api/v1/users/cli-user")
        self.assertStatus(u, 200)
        self.assertEqual(sorted(u.json()["roles"]), ["ml_engineer", "model_sponsor"])
        me = self.server.client().get("/api/v1/me", auth=("cli-user", "cli-user-password"))
        self.assertStatus(me, 200)
        r = run_cli(["admin", "user", "set-roles", "--username", "cli-user", "--roles",
                     "production_team"] + store.cli_args())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(api.get("/api/v1/users/cli-user").json()["roles"], ["production_team"])
        # bad input
        for args in (["admin", "user", "create", "--username", "cli-user", "--roles",
                      "ml_engineer", "--password-stdin"],          # duplicate
                     ["admin", "user", "create", "--username", "cli-x", "--roles", "root",
                      "--password-stdin"],                        # unknown role
                     ["admin", "user", "set-roles", "--username", "ghost", "--roles",
                      "ml_engineer"],                             # unknown user
                     ["admin", "user", "set-roles", "--username", "cli-user", "--roles",
                      "superuser"]):
            with self.subTest(args=args):
                r = run_cli(args + store.cli_args(), input="some-password-1\n")
                self.assertIn(r.returncode, (1, 2), r.stdout + r.stderr)
        self.assertEqual(api.get("/api/v1/users/cli-user").json()["roles"], ["production_team"])
        self.assertStatus(api.get("/api/v1/users/cli-x"), 404)


class LifecycleTests(StudioTestCase):
    start_class_server = False

    def test_sigterm_drains_in_flight_requests(self):
        srv = self.new_server()
        auth = srv.admin.headers["Authorization"]
        body = json.dumps({"name": "drained", "description": "d" * 4000}).encode()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        # one full request first: proves a worker has accepted this connection
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
        first = b""
        while b"{\"status\":\"ok\"}" not in first:
            data = s.recv(65536)
            self.assertTrue(data, "connection closed before the first response")
            first += data
        s.sendall((f"POST /api/v1/projects HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                   f"Authorization: {auth}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
                  + body[:100])
        time.sleep(0.3)               # the server is now reading this request's body
        srv.proc.send_signal(15)      # SIGTERM
        time.sleep(0.5)
        self.assertIsNone(srv.proc.poll(), "server exited with a request in flight")
        s.sendall(body[100:])
        resp = b""
        while True:
            r, _, _ = select.select([s], [], [], 15)
            if not r:
                break
            data = s.recv(65536)
            if not data:
                break
            resp += data
        s.close()
        self.assertTrue(resp.startswith(b"HTTP/1.1 201"), resp[:300])
        try:
            rc = srv.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("server did not exit within 15 s of SIGTERM after draining")
        self.assertEqual(rc, 0, srv.log_tail())
        # the drained request's change is durable
        srv.start()
        self.assertStatus(srv.admin.get("/api/v1/projects/drained"), 200)
        self.assertEqual(srv.stop(), 0)

    @skip_unless_sqlite_run()
    def test_port_in_use_is_an_error(self):
        srv = self.new_server()
        other = self.new_store()
        try:
            r = run_cli(["serve", "--host", "127.0.0.1", "--port", srv.port]
                        + other.serve_args(), timeout=5)
        except subprocess.TimeoutExpired:
            self.fail(f"a second `studio serve` on busy port {srv.port} kept running "
                      "(both processes share the port, e.g. via SO_REUSEPORT)")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertStatus(srv.admin.get("/api/v1/me"), 200)

    @unittest.skipIf(BACKEND != "postgres", "needs a database server that can be taken away")
    def test_database_outage_is_503_then_recovers(self):
        srv = self.new_server()
        api = srv.admin
        self.assertStatus(api.get("/api/v1/projects"), 200)
        name = PG.dbname(srv.store.db_uri)
        admin_uri = PG.uri_for("postgres")
        PG.psql(admin_uri, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false", check=True)
        try:
            PG.psql(admin_uri, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               f"WHERE datname = '{name}'", check=True)
            r = srv.client().get("/readyz")
            self.assertStatus(r, 503)
            self.assertError(api.get("/api/v1/projects"), 503, "TEMPORARILY_UNAVAILABLE")
            self.assertError(api.post("/api/v1/projects", json={"name": "during-outage"}), 503,
                             "TEMPORARILY_UNAVAILABLE")
            self.assertStatus(srv.client().get("/healthz"), 200)
        finally:
            PG.psql(admin_uri, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true", check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if srv.client().get("/readyz").status_code == 200:
                break
            time.sleep(0.2)
        self.assertStatus(srv.client().get("/readyz"), 200)
        self.assertStatus(api.post("/api/v1/projects", json={"name": "after-outage"}), 201)
        self.assertEqual(srv.stop(), 0)

    def test_bootstrap_twice_fails(self):
        store = self.new_store()
        first = run_cli(["admin", "bootstrap", "--username", "root-user", "--password-stdin",
                         "--json"] + store.cli_args(), input=ADMIN_PASSWORD + "\n")
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        out = json.loads(first.stdout)
        self.assertEqual(out, {"username": "root-user", "password": ADMIN_PASSWORD})
        again = run_cli(["admin", "bootstrap", "--username", "other", "--password-stdin",
                         "--json"] + store.cli_args(), input=ADMIN_PASSWORD + "\n")
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        # without --password-stdin a password is generated and printed
        store2 = self.new_store()
        gen = run_cli(["admin", "bootstrap", "--username", "admin", "--json"]
                      + store2.cli_args())
        self.assertEqual(gen.returncode, 0, gen.stdout + gen.stderr)
        pw = json.loads(gen.stdout)["password"]
        self.assertGreaterEqual(len(pw), 12)
        srv = self.new_server(store=store2, bootstrap=False)
        self.assertStatus(srv.client().get("/api/v1/me", auth=("admin", pw)), 200)
        # bad input: short password, bad username, missing --username
        store3 = self.new_store()
        for args, stdin in ((["--username", "admin", "--password-stdin"], "short\n"),
                            (["--username", "-bad name", "--password-stdin"],
                             ADMIN_PASSWORD + "\n"),
                            (["--password-stdin"], ADMIN_PASSWORD + "\n")):
            r = run_cli(["admin", "bootstrap"] + args + store3.cli_args(), input=stdin)
            self.assertIn(r.returncode, (1, 2), r.stdout + r.stderr)
            self.assertNotEqual(r.returncode, 0)
        ok = run_cli(["admin", "bootstrap", "--username", "admin", "--password-stdin"]
                     + store3.cli_args(), input=ADMIN_PASSWORD + "\n")
        self.assertEqual(ok.returncode, 0, "earlier refused bootstraps must not have "
                                           "created an admin: " + ok.stdout + ok.stderr)

    def test_migrate_is_idempotent(self):
        store = self.new_store()
        for _ in range(2):
            r = run_cli(["admin", "migrate"] + store.cli_args())
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        srv = self.new_server(store=store)
        v = srv.client().get("/readyz").json()["schema_version"]
        self.assertEqual(srv.stop(), 0)
        r = run_cli(["admin", "migrate"] + store.cli_args())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        srv.start()
        self.assertEqual(srv.client().get("/readyz").json()["schema_version"], v)

    def test_first_serve_creates_admin_once_and_demo(self):
        store = self.new_store()
        srv = self.new_server(store=store, bootstrap=False, extra_args=["--demo"])
        out = srv.stdout_text() + srv.stderr_text()
        candidates = []
        for line in out.splitlines():
            if "password" in line.lower():
                candidates += [t for t in re.split(r"[\s\"',:=]+", line) if len(t) >= 12
                               and t.lower() != "password"]
        self.assertTrue(candidates, "first serve printed no admin password:\n" + out[-2000:])
        pw = None
        for cand in candidates[:5]:
            if srv.client().get("/api/v1/me", auth=("admin", cand)).status_code == 200:
                pw = cand
                break
        self.assertIsNotNone(pw, f"none of {candidates[:5]} logs in as admin")
        self.assertStatus(srv.client().get("/api/v1/projects/demo", auth=("admin", pw)), 200)
        self.assertEqual(srv.stop(), 0)
        srv.start()
        self.assertNotIn(pw, srv.stdout_text() + srv.stderr_text(),
                         "the admin password is printed again on the second start")


class CliTests(StudioTestCase):
    start_class_server = False

    @skip_unless_sqlite_run()
    def test_version(self):
        r = run_cli(["version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d+\.\d+")
        j = run_cli(["version", "--output", "json"])
        self.assertEqual(j.returncode, 0, j.stderr)
        self.assertIn("version", json.loads(j.stdout))
        bad = run_cli(["version", "--output", "xml"])
        self.assertEqual(bad.returncode, 2, bad.stdout + bad.stderr)

    @skip_unless_sqlite_run()
    def test_help_everywhere(self):
        for cmd in ([], ["serve"], ["version"], ["admin"], ["admin", "bootstrap"],
                    ["admin", "migrate"], ["admin", "user", "create"],
                    ["admin", "user", "set-roles"], ["audit", "verify"]):
            with self.subTest(cmd=" ".join(cmd)):
                r = run_cli(cmd + ["--help"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("Example", r.stdout + r.stderr)

    @skip_unless_sqlite_run()
    def test_usage_errors_exit_2(self):
        for args in (["no-such-command"], ["serve", "--port", "notaport"],
                     ["serve", "--no-such-flag"], ["admin", "bootstrap"],
                     ["admin", "user", "create", "--roles", "admin"]):
            with self.subTest(args=args):
                # cwd: a misparsed command must not touch ./.studio in the source tree
                r = run_cli(args, timeout=20, cwd=self.tmp)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
