"""Projects: CRUD, validation, filters, pagination, limits, audit trail."""

import json
import select
import socket
import time
import unittest
import uuid

from harness import TS_RE, StudioTestCase, list_all

BAD_REQ = ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


class ProjectTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin

    def create(self, name, **fields):
        r = self.api.post("/api/v1/projects", json=dict(fields, name=name))
        self.assertStatus(r, 201)
        return r.json()

    def test_crud(self):
        r = self.api.post("/api/v1/projects", json={
            "name": "fraud-detector", "description": "card fraud",
            "github_repo": "https://github.com/acme/fraud-detector",
            "tags": {"team": "risk", "tier": "1"}})
        self.assertStatus(r, 201)
        p = r.json()
        self.assertEqual(p["name"], "fraud-detector")
        self.assertEqual(p["description"], "card fraud")
        self.assertEqual(p["github_repo"], "https://github.com/acme/fraud-detector")
        self.assertEqual(p["tags"], {"team": "risk", "tier": "1"})
        self.assertEqual(p["owner"], "admin")       # defaults to the creator
        self.assertEqual(p["created_by"], "admin")
        self.assertIsInstance(p["id"], str)
        self.assertRegex(p["created_at"], TS_RE)
        self.assertRegex(p["updated_at"], TS_RE)

        got = self.api.get("/api/v1/projects/" + p["id"])
        self.assertStatus(got, 200)
        self.assertEqual(got.json(), p)
        by_name = self.api.get("/api/v1/projects/fraud-detector")
        self.assertStatus(by_name, 200)
        self.assertEqual(by_name.json()["id"], p["id"])

        time.sleep(0.01)
        r = self.api.patch("/api/v1/projects/" + p["id"],
                           json={"description": "card fraud v2", "tags": {"team": "risk2"},
                                 "github_repo": ""})
        self.assertStatus(r, 200)
        u = r.json()
        self.assertEqual(u["description"], "card fraud v2")
        self.assertEqual(u["tags"], {"team": "risk2"})
        self.assertEqual(u["github_repo"], "")
        self.assertEqual(u["name"], "fraud-detector")
        self.assertEqual(u["created_at"], p["created_at"])
        self.assertGreater(u["updated_at"], p["updated_at"])
        self.assertEqual(self.api.get("/api/v1/projects/" + p["id"]).json(), u)

        self.assertStatus(self.api.delete("/api/v1/projects/" + p["id"]), 204)
        self.assertError(self.api.get("/api/v1/projects/" + p["id"]), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.delete("/api/v1/projects/" + p["id"]), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        # the name is free again
        self.create("fraud-detector")

    def test_unknown_id_404(self):
        for pid in ("0190a5f0-0000-7000-8000-000000000000", "no-such-project"):
            self.assertError(self.api.get("/api/v1/projects/" + pid), 404,
                             "RESOURCE_DOES_NOT_EXIST")
            self.assertError(self.api.patch("/api/v1/projects/" + pid,
                                            json={"description": "x"}), 404,
                             "RESOURCE_DOES_NOT_EXIST")
            self.assertError(self.api.delete("/api/v1/projects/" + pid), 404,
                             "RESOURCE_DOES_NOT_EXIST")

    def test_duplicate_name_409(self):
        self.create("dup-name")
        r = self.api.post("/api/v1/projects", json={"name": "dup-name"})
        self.assertError(r, 409, "ALREADY_EXISTS")

    def test_owner_and_patch_rules(self):
        self.server.create_user("olga", ["ml_engineer"])
        p = self.create("owned-by-olga", owner="olga")
        self.assertEqual(p["owner"], "olga")
        self.assertEqual(p["created_by"], "admin")
        # name is not patchable
        self.assertError(self.api.patch("/api/v1/projects/" + p["id"], json={"name": "renamed"}),
                         400, BAD_REQ, field="name")
        self.assertError(self.api.patch("/api/v1/projects/" + p["id"], json={"descripton": "x"}),
                         400, BAD_REQ, field="descripton")
        self.assertError(self.api.patch("/api/v1/projects/" + p["id"], json={"tags": [1]}),
                         400, BAD_REQ, field="tags")
        self.assertError(self.api.patch("/api/v1/projects/" + p["id"], data="nope",
                                        headers={"Content-Type": "text/plain"}),
                         415, "UNSUPPORTED_MEDIA_TYPE")
        r = self.api.patch("/api/v1/projects/" + p["id"], json={"owner": "admin"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["owner"], "admin")

    def test_valid_name_boundaries(self):
        for name in ("ab", "a" * 63, "a-b-c", "x9", "model-2024-v1"):
            self.create(name)

    def test_invalid_names(self):
        bad = ["Upper", "UPPER-case", "a", "a" * 64, "trailing-", "-leading", "1starts-digit",
               "ünïcode", "naïve", "../x", "a/b", "a b", "a_b", "a.b", "",
               "a;DROP TABLE projects;--", "' OR 1=1 --", "\x00abc", "abc\n"]
        for name in bad:
            with self.subTest(name=name):
                r = self.api.post("/api/v1/projects", json={"name": name})
                self.assertError(r, 400, BAD_REQ, field="name")
        # nothing was created and the table is intact
        self.assertStatus(self.api.get("/api/v1/projects"), 200)
        self.assertError(self.api.post("/api/v1/projects", json={}), 400, BAD_REQ, field="name")

    def test_wrong_types_and_values(self):
        cases = [
            ({"name": 123}, "name"),
            ({"name": None}, "name"),
            ({"name": ["x"]}, "name"),
            ({"name": "types-a", "tags": ["a", "b"]}, "tags"),
            ({"name": "types-b", "tags": "k=v"}, "tags"),
            ({"name": "types-c", "tags": {"k": 1}}, "tags"),
            ({"name": "types-d", "tags": {"k": None}}, "tags"),
            ({"name": "types-e", "tags": {"k": {"nested": "x"}}}, "tags"),
            ({"name": "types-f", "description": 5}, "description"),
            ({"name": "types-g", "owner": 5}, "owner"),
            ({"name": "types-h", "github_repo": "http://evil.example/x"}, "github_repo"),
            ({"name": "types-i", "github_repo": "https://github.com/only-owner"}, "github_repo"),
            ({"name": "types-j", "github_repo": "javascript:alert(1)"}, "github_repo"),
            ({"name": "types-k", "github_repo": "https://github.com/a/b/../../c"}, "github_repo"),
            ({"name": "types-l", "tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
            ({"name": "types-m", "tags": {"k" * 251: "v"}}, "tags"),
            ({"name": "types-n", "tags": {"k": "v" * 5001}}, "tags"),
            ({"name": "types-o", "descripton": "typo"}, "descripton"),
            ({"name": "types-p", "id": "0190a5f0-0000-7000-8000-000000000000"}, "id"),
        ]
        for body, field in cases:
            with self.subTest(body=json.dumps(body)[:80]):
                r = self.api.post("/api/v1/projects", json=body)
                b = self.assertError(r, 400, BAD_REQ, field=field)
                if field in ("descripton", "id"):
                    self.assertEqual(b["details"].get(field), "unknown field", b)
        # the limits themselves are fine
        self.create("tags-at-limit", tags={f"k{i}": "v" for i in range(50)})
        self.create("tags-long", tags={"k" * 250: "v" * 5000})
        listed = [p["name"] for p in list_all(self.api, "/api/v1/projects")]
        self.assertFalse([n for n in listed if n.startswith("types-")], listed)

    def fresh_api(self):
        """A Bearer client on its own connection, so one refused request cannot disturb the
        connection other tests use."""
        c = self.server.token_client(self.api.headers["Authorization"][len("Bearer "):])
        self.addCleanup(c.close)
        return c

    def test_malformed_bodies(self):
        url = "/api/v1/projects"
        for raw in ("{\"name\": ", "not json", "[]", "\"just a string\"", "null", "42",
                    "{\"name\": \"dup-key\", \"name\": \"dup-key\"", "\xff\xfe"):
            with self.subTest(raw=raw):
                r = self.fresh_api().post(url, data=raw.encode("latin-1"),
                                          headers={"Content-Type": "application/json"})
                self.assertError(r, 400, BAD_REQ)
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                      "multipart/form-data; boundary=xyz", None):
            with self.subTest(ctype=ctype):
                h = {"Content-Type": ctype} if ctype else {}
                r = self.fresh_api().post(url, data=b'{"name": "ctype-test"}', headers=h)
                self.assertError(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        r = self.fresh_api().post(url, data=b'{"name": "ctype-charset"}',
                                  headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertStatus(r, 201)

    def test_refused_bodies_do_not_desynchronize_keep_alive(self):
        """A request refused before its body is read must not leave the body on the connection
        to be parsed as the next request (response desync / request smuggling)."""
        ctypes = ("multipart/form-data", "multipart/form-data; boundary=xyz", "text/plain")
        failures = []
        for i in range(8):
            for ctype in ctypes:
                c = self.fresh_api()
                self.assertStatus(c.get("/api/v1/projects"), 200)   # warm, reused connection
                c.post("/api/v1/projects", data=b'{"name": "desync-test"}',
                       headers={"Content-Type": ctype})
                r = c.get("/healthz", headers={"X-Request-Id": f"after-{i}"})
                if r.status_code != 200 or r.headers.get("X-Request-Id") != f"after-{i}":
                    failures.append(f"after a {ctype!r} POST: {r.status_code} {r.text[:100]}")
        self.assertEqual(failures, [], "the next request on the keep-alive connection got "
                                       "another request's response")

    def test_bodies_where_none_belongs_are_drained(self):
        """A body on GET, or on an unknown route, is read and discarded (never buffered whole,
        never left on the connection) and answered with a JSON error."""
        for method, path, status in (("GET", "/api/v1/projects", 400),
                                     ("POST", "/api/v1/no-such-thing", 404),
                                     ("PUT", "/no/such/thing", 404),
                                     ("DELETE", "/api/v1/nope", 404)):
            with self.subTest(method=method, path=path):
                c = self.fresh_api()
                r = c.request(method, path, data=b'{"a": 1}' * 4096,
                              headers={"Content-Type": "application/json"})
                self.assertEqual(r.status_code, status, r.text)
                self.assertIn("error_code", r.json())
                after = c.get("/healthz", headers={"X-Request-Id": "after-drain"})
                self.assertEqual(after.status_code, 200)
                self.assertEqual(after.headers.get("X-Request-Id"), "after-drain")

    def _raw_post_big(self, size):
        """POST `size` bytes with Content-Length, reading the response as soon as the server
        answers (a server may answer 413 from the headers alone and close)."""
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        token = self.api.headers["Authorization"]
        head = (f"POST /api/v1/projects HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\n"
                f"Authorization: {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
        s.sendall(head)
        chunk = b"{\"name\":\"big\",\"description\":\"" + b"x" * (1 << 20)
        sent = 0
        resp = b""
        try:
            while sent < size:
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    break
                part = chunk[: min(len(chunk), size - sent)]
                s.sendall(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                r, _, _ = select.select([s], [], [], 10)
                if not r:
                    break
                data = s.recv(65536)
                if not data:
                    break
                resp += data
        except ConnectionResetError:
            pass
        s.close()
        return resp

    def test_body_over_limit_413_and_server_stays_healthy(self):
        resp = self._raw_post_big(17 * 1024 * 1024)
        self.assertTrue(resp.startswith(b"HTTP/1.1 413"), resp[:300])
        self.assertIn(b"PAYLOAD_TOO_LARGE", resp)
        self.assertStatus(self.server.client().get("/healthz"), 200)
        self.assertStatus(self.api.get("/api/v1/projects"), 200)
        # just under the limit is not refused for its size (description is simply long)
        r = self.api.post("/api/v1/projects", json={"name": "big-ok",
                                                    "description": "d" * (1 << 20)})
        self.assertStatus(r, (201, 400))
        self.assertTrue(self.server.running())

    def test_filters_and_sql_metacharacters(self):
        self.create("meta-percent", description="100% sure")
        self.create("meta-underscore", description="snake_case here")
        self.create("meta-quote", description="it's quoted")
        self.create("meta-plain", description="nothing special", tags={"env": "prod", "k": "v"})
        self.create("meta-tagged", tags={"env": "dev"})

        def names(**params):
            r = self.api.get("/api/v1/projects", params=dict(params, max_results=1000))
            self.assertStatus(r, 200, str(params))
            return sorted(p["name"] for p in r.json()["items"])

        self.assertEqual(names(q="%"), ["meta-percent"])
        self.assertEqual(names(q="_"), ["meta-underscore"])
        self.assertEqual(names(q="'"), ["meta-quote"])
        self.assertEqual(names(q="it's"), ["meta-quote"])
        self.assertEqual(names(q="meta-p"), ["meta-percent", "meta-plain"])
        names(q="SPECIAL")  # case-(in)sensitivity is not specified; it must not error
        for q in ("' OR 1=1 --", "'; DROP TABLE projects; --", "\" OR \"\"=\"", "\\", "%%",
                  "meta' UNION SELECT name FROM sqlite_master --", "*", "(", "[a-z]",
                  "' OR '1'='1"):
            with self.subTest(q=q):
                self.assertEqual(names(q=q), [])
        self.assertEqual(names(tag="env"), ["meta-plain", "meta-tagged"])
        self.assertEqual(names(tag="env=prod"), ["meta-plain"])
        self.assertEqual(names(tag="env=prod' OR 1=1 --"), [])
        self.assertEqual(names(tag="k=v", q="meta"), ["meta-plain"])
        # an unencoded '=' inside the value, as a person types it in a URL
        raw = self.api.get("/api/v1/projects?tag=env=prod&max_results=1000")
        self.assertStatus(raw, 200)
        self.assertEqual(sorted(p["name"] for p in raw.json()["items"]), ["meta-plain"])
        # the table survived
        self.assertIn("meta-plain", names())

    def test_owner_filter(self):
        self.server.create_user("pia", ["data_engineer"])
        self.create("pia-one", owner="pia")
        self.create("pia-two", owner="pia")
        r = self.api.get("/api/v1/projects", params={"owner": "pia"})
        self.assertStatus(r, 200)
        self.assertEqual(sorted(p["name"] for p in r.json()["items"]), ["pia-one", "pia-two"])
        r = self.api.get("/api/v1/projects", params={"owner": "' OR 1=1 --"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["items"], [])

    def test_pagination(self):
        want = sorted(f"page-{i:02d}-{uuid.uuid4().hex[:4]}" for i in range(9))
        for n in want:
            self.create(n)
        seen, token, pages = [], None, 0
        while True:
            params = {"q": "page-", "max_results": 2}
            if token:
                params["page_token"] = token
            r = self.api.get("/api/v1/projects", params=params)
            self.assertStatus(r, 200)
            body = r.json()
            self.assertLessEqual(len(body["items"]), 2)
            seen += [p["name"] for p in body["items"]]
            pages += 1
            token = body.get("next_page_token")
            if not token:
                break
            self.assertLess(pages, 20)
        self.assertEqual(seen, want)   # ordered by name, no duplicates, no misses
        self.assertEqual(pages, 5)
        # the whole list without a filter pages the same way
        all_names = [p["name"] for p in list_all(self.api, "/api/v1/projects", page_size=3)]
        self.assertEqual(all_names, sorted(set(all_names)))
        for n in want:
            self.assertIn(n, all_names)
        for bad in ("0", "5000", "1001", "abc", "-1", "1.5"):
            with self.subTest(max_results=bad):
                self.assertError(self.api.get("/api/v1/projects", params={"max_results": bad}),
                                 400, BAD_REQ)
        for ok in ("1", "1000"):
            self.assertStatus(self.api.get("/api/v1/projects", params={"max_results": ok}), 200)
        self.assertError(self.api.get("/api/v1/projects",
                                      params={"page_token": "garbage!!"}), 400, BAD_REQ)

    def test_audit_events_for_project_changes(self):
        r = self.api.post("/api/v1/projects", json={"name": "audited", "description": "a"},
                          headers={"X-Request-Id": "req-create-audited-1"})
        self.assertStatus(r, 201)
        self.assertEqual(r.headers.get("X-Request-Id"), "req-create-audited-1")
        pid = r.json()["id"]
        self.assertStatus(self.api.patch("/api/v1/projects/" + pid, json={"description": "b"}),
                          200)
        self.assertStatus(self.api.delete("/api/v1/projects/" + pid), 204)
        # refused changes leave no trace
        self.assertStatus(self.api.post("/api/v1/projects", json={"name": "Bad"}), 400)
        r = self.api.get("/api/v1/audit", params={"resource_type": "project",
                                                  "resource_id": pid})
        self.assertStatus(r, 200)
        events = r.json()["items"]
        actions = [e["action"] for e in events]
        self.assertEqual(len(events), 3, actions)
        # newest first
        self.assertEqual(actions[2], "project.create")
        self.assertIn(actions[1], ("project.update", "project.patch"))
        self.assertEqual(actions[0], "project.delete")
        for e in events:
            self.assertEqual(e["actor"], "admin")
            self.assertEqual(e["resource_type"], "project")
            self.assertEqual(e["resource_id"], pid)
            self.assertRegex(e["ts"], TS_RE)
        self.assertEqual(events[2]["request_id"], "req-create-audited-1")
        self.assertGreater(events[0]["seq"], events[1]["seq"])
        self.assertGreater(events[1]["seq"], events[2]["seq"])
        all_project = self.api.get("/api/v1/audit", params={"resource_type": "project",
                                                            "max_results": 1000}).json()["items"]
        self.assertTrue(all(e["resource_type"] == "project" for e in all_project))
        self.assertFalse([e for e in all_project
                          if (e.get("details") or {}).get("name") == "Bad"])


if __name__ == "__main__":
    unittest.main()
