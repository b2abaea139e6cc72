"""Authentication: sessions, API tokens, HTTP Basic, throttling, CSRF, Host checks, headers."""

import base64
import email.utils
import re
import time
import unittest
import uuid

import requests

from harness import ADMIN_PASSWORD, ADMIN_USER, TS_RE, StudioTestCase


def _cookie_attrs(set_cookie, name):
    """Attributes (lower-cased keys) of the Set-Cookie for `name`, or None."""
    # requests joins several Set-Cookie headers with ", "; Expires also contains ", ".
    for part in re.split(r",\s*(?=[A-Za-z0-9_\-]+=)", set_cookie or ""):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0].startswith(name + "="):
            continue
        attrs = {"__value__": fields[0].split("=", 1)[1]}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            attrs[k.strip().lower()] = v.strip()
        return attrs
    return None


class SessionTests(StudioTestCase):
    """Cookie sessions, CSRF and Host checks. Keeps failed logins well under the limit."""

    def test_login_sets_hardened_cookie_and_me_works(self):
        c = self.server.client()
        r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER,
                                                "password": self.server.admin_password})
        self.assertStatus(r, 200)
        user = r.json()["user"]
        self.assertEqual(user["username"], ADMIN_USER)
        self.assertIn("admin", user["roles"])
        for k in user:
            self.assertNotIn("hash", k.lower())
            self.assertNotIn("password", k.lower())
        attrs = _cookie_attrs(r.headers.get("Set-Cookie"), "studio_session")
        self.assertIsNotNone(attrs, f"no studio_session cookie: {r.headers.get('Set-Cookie')}")
        self.assertIn("httponly", attrs)
        self.assertEqual(attrs.get("samesite", "").lower(), "strict")
        self.assertEqual(attrs.get("path"), "/")
        self.assertGreaterEqual(len(attrs["__value__"]), 20, "session id looks too short")
        # 12 h lifetime
        if "max-age" in attrs:
            self.assertAlmostEqual(int(attrs["max-age"]), 12 * 3600, delta=120)
        else:
            self.assertIn("expires", attrs, "cookie has neither Max-Age nor Expires (12 h)")
            exp = email.utils.parsedate_to_datetime(attrs["expires"]).timestamp()
            self.assertAlmostEqual(exp - time.time(), 12 * 3600, delta=300)

        me = c.get("/api/v1/me", headers={"Origin": None})  # GETs need no Origin
        self.assertStatus(me, 200)
        body = me.json()
        for k in ("id", "username", "roles", "permissions"):
            self.assertIn(k, body)
        self.assertEqual(body["username"], ADMIN_USER)
        for p in ("read", "self", "create", "admin", "approve", "deploy_prod", "manage_alerts"):
            self.assertIn(p, body["permissions"])

    def test_logout_ends_session(self):
        c = self.server.login(ADMIN_USER, self.server.admin_password)
        cookie = c.cookies.get("studio_session")
        self.assertTrue(cookie)
        # logout is state-changing: cookie without Origin is refused
        self.assertStatus(c.post("/api/v1/auth/logout", headers={"Origin": None}), 403)
        self.assertStatus(c.get("/api/v1/me"), 200)
        r = c.post("/api/v1/auth/logout")
        self.assertStatus(r, 204)
        # the old cookie value is dead server-side, even if a client keeps sending it
        fresh = self.server.client()
        fresh.cookies.set("studio_session", cookie)
        self.assertError(fresh.get("/api/v1/me"), 401, "UNAUTHENTICATED")

    def test_wrong_password_and_unknown_user_are_401(self):
        c = self.server.client()
        r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER, "password": "wrong-pw-1"})
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertNotIn("studio_session", r.headers.get("Set-Cookie", ""))
        r2 = c.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "x" * 10})
        self.assertError(r2, 401, "UNAUTHENTICATED")
        # same message for both: no username enumeration
        self.assertEqual(r.json()["message"], r2.json()["message"])

    def test_login_bad_input(self):
        c = self.server.client()
        self.assertError(c.post("/api/v1/auth/login", json={"username": ADMIN_USER}), 400,
                         ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"))
        self.assertError(c.post("/api/v1/auth/login", json={"username": 5, "password": "x" * 9}),
                         400, ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field="username")
        self.assertError(c.post("/api/v1/auth/login", data="username=admin&password=x",
                                headers={"Content-Type": "application/x-www-form-urlencoded"}),
                         415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertError(c.post("/api/v1/auth/login", data="{not json",
                                headers={"Content-Type": "application/json"}),
                         400, ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"))

    def test_unauthenticated_is_401(self):
        c = self.server.client(origin=False)
        for path in ("/api/v1/me", "/api/v1/projects", "/api/v1/tokens", "/api/v1/audit"):
            self.assertError(c.get(path), 401, "UNAUTHENTICATED")
        self.assertError(c.post("/api/v1/projects", json={"name": "nope"}), 401,
                         "UNAUTHENTICATED")

    def test_basic_auth(self):
        c = self.server.client(origin=False)
        r = c.get("/api/v1/me", auth=(ADMIN_USER, self.server.admin_password))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["username"], ADMIN_USER)
        self.assertError(c.get("/api/v1/me", auth=(ADMIN_USER, "not-the-password")), 401,
                         "UNAUTHENTICATED")
        garbage = {"Authorization": "Basic " + base64.b64encode(b"no-colon-here").decode()}
        self.assertError(c.get("/api/v1/me", headers=garbage), 401, "UNAUTHENTICATED")
        self.assertError(c.get("/api/v1/me", headers={"Authorization": "Basic !!!notbase64"}),
                         401, "UNAUTHENTICATED")

    def test_csrf_origin_checks_on_cookie_requests(self):
        c = self.server.login(ADMIN_USER, self.server.admin_password)
        name = "csrf-" + uuid.uuid4().hex[:8]
        bad_origins = [None, "http://evil.example", "null",
                       f"http://127.0.0.1:{self.server.port + 1 if self.server.port < 65535 else 1}",
                       f"http://localhost:{self.server.port}",  # differs from Host 127.0.0.1
                       f"http://127.0.0.1:{self.server.port}.evil.example"]
        for origin in bad_origins:
            r = c.post("/api/v1/projects", json={"name": name}, headers={"Origin": origin})
            self.assertError(r, 403)
        self.assertStatus(self.server.admin.get("/api/v1/projects/" + name), 404)
        # the browser's own origin works
        r = c.post("/api/v1/projects", json={"name": name})
        self.assertStatus(r, 201)
        pid = r.json()["id"]
        # other state-changing verbs are covered too
        self.assertError(c.patch("/api/v1/projects/" + pid, json={"description": "x"},
                                 headers={"Origin": "http://evil.example"}), 403)
        self.assertError(c.delete("/api/v1/projects/" + pid, headers={"Origin": None}), 403)
        self.assertStatus(c.delete("/api/v1/projects/" + pid), 204)

    def test_bearer_post_needs_no_origin(self):
        c = self.server.admin  # Bearer token, sends no Origin
        r = c.post("/api/v1/projects", json={"name": "bearer-" + uuid.uuid4().hex[:8]})
        self.assertStatus(r, 201)

    def test_host_header_allow_list(self):
        c = self.server.admin
        for host in ("evil.example", f"evil.example:{self.server.port}", "127.0.0.2"):
            self.assertError(c.get("/api/v1/me", headers={"Host": host}), 400, "BAD_REQUEST")
            self.assertError(c.get("/healthz", headers={"Host": host}), 400, "BAD_REQUEST")
        for host in (f"127.0.0.1:{self.server.port}", f"localhost:{self.server.port}",
                     "localhost", f"[::1]:{self.server.port}"):
            self.assertStatus(c.get("/api/v1/me", headers={"Host": host}), 200, host)

    def test_allowed_hosts_flag(self):
        srv = self.new_server(extra_args=["--allowed-hosts", "studio.example.com,127.0.0.1"])
        custom = f"studio.example.com:{srv.port}"
        self.assertStatus(srv.admin.get("/api/v1/me", headers={"Host": custom}), 200)
        self.assertError(srv.admin.get("/api/v1/me", headers={"Host": "evil.example"}), 400,
                         "BAD_REQUEST")
        self.assertError(srv.admin.get("/api/v1/me",
                                       headers={"Host": f"studio.example.com.evil:{srv.port}"}),
                         400, "BAD_REQUEST")
        # the CSRF check compares Origin with the Host actually used
        # (requests matches cookies against the Host header, so send the cookie by hand)
        cookie = srv.login(ADMIN_USER, srv.admin_password).cookies.get("studio_session")
        c = srv.client(origin=False)
        r = c.post("/api/v1/projects", json={"name": "via-custom-host"},
                   headers={"Host": custom, "Origin": "http://" + custom,
                            "Cookie": "studio_session=" + cookie})
        self.assertStatus(r, 201)
        r = c.post("/api/v1/projects", json={"name": "via-custom-host-2"},
                   headers={"Host": custom, "Origin": srv.base,
                            "Cookie": "studio_session=" + cookie})
        self.assertError(r, 403)

    def test_security_headers(self):
        for r in (self.server.admin.get("/api/v1/me"),
                  self.server.client().get("/api/v1/me"),   # 401
                  self.server.client().get("/healthz")):
            h = r.headers
            self.assertEqual(h.get("X-Content-Type-Options", "").lower(), "nosniff", r.url)
            xfo = h.get("X-Frame-Options", "").upper()
            csp = h.get("Content-Security-Policy", "")
            self.assertTrue(xfo in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp,
                            f"no clickjacking protection on {r.url}: {dict(h)}")
            self.assertTrue(h.get("Referrer-Policy"), f"no Referrer-Policy on {r.url}")
            self.assertTrue(h.get("X-Request-Id"), f"no X-Request-Id on {r.url}")

class TokenTests(StudioTestCase):

    def test_disabled_user_cannot_log_in_or_use_tokens(self):
        srv = self.server
        u = srv.create_user("disabled-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        token = srv.token_for(u["username"], u["password"])
        sess = srv.login(u["username"], u["password"])
        self.assertStatus(srv.token_client(token).get("/api/v1/me"), 200)
        r = srv.admin.patch("/api/v1/users/" + u["id"], json={"disabled": True})
        self.assertStatus(r, 200)
        self.assertTrue(r.json()["disabled"])
        # A disabled account's credentials are no longer valid (401), whichever way they come.
        self.assertError(srv.token_client(token).get("/api/v1/me"), 401, "UNAUTHENTICATED")
        self.assertError(sess.get("/api/v1/me"), 401, "UNAUTHENTICATED")
        self.assertError(srv.client().get("/api/v1/me", auth=(u["username"], u["password"])),
                         401, "UNAUTHENTICATED")
        r = srv.client().post("/api/v1/auth/login",
                              json={"username": u["username"], "password": u["password"]})
        self.assertError(r, 401, "UNAUTHENTICATED")
        # re-enabled: works again
        self.assertStatus(srv.admin.patch("/api/v1/users/" + u["id"],
                                          json={"disabled": False}), 200)
        self.assertStatus(srv.token_client(token).get("/api/v1/me"), 200)

    def test_token_lifecycle(self):
        srv = self.server
        u = srv.create_user("tok-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        sess = srv.login(u["username"], u["password"])
        r = sess.post("/api/v1/tokens", json={"name": "laptop"})
        self.assertStatus(r, 201)
        t = r.json()
        for k in ("id", "name", "token", "prefix", "created_at", "expires_at"):
            self.assertIn(k, t)
        self.assertEqual(t["name"], "laptop")
        self.assertTrue(t["token"].startswith(t["prefix"]), t)
        self.assertLess(len(t["prefix"]), len(t["token"]))
        self.assertGreaterEqual(len(t["token"]) - len(t["prefix"]), 20, "token too short")
        self.assertRegex(t["created_at"], TS_RE)

        # shown once: the list never carries the secret
        r = sess.get("/api/v1/tokens")
        self.assertStatus(r, 200)
        self.assertNotIn(t["token"], r.text)
        listed = {x["id"]: x for x in r.json()["items"]}
        self.assertIn(t["id"], listed)
        self.assertNotIn("token", listed[t["id"]])
        self.assertEqual(listed[t["id"]]["prefix"], t["prefix"])

        bearer = srv.token_client(t["token"])
        me = bearer.get("/api/v1/me")
        self.assertStatus(me, 200)
        self.assertEqual(me.json()["username"], u["username"])

        # revoke → 401 afterwards
        self.assertStatus(sess.delete("/api/v1/tokens/" + t["id"]), 204)
        self.assertError(bearer.get("/api/v1/me"), 401, "UNAUTHENTICATED")
        self.assertError(sess.delete("/api/v1/tokens/" + t["id"]), 404)
        # a revoked token does not show up as active (either gone or marked revoked)
        items = sess.get("/api/v1/tokens").json()["items"]
        for x in items:
            if x["id"] == t["id"]:
                self.assertTrue(x.get("revoked") or x.get("revoked_at"), x)

    def test_token_expiry_and_bad_input(self):
        sess = self.server.admin
        r = sess.post("/api/v1/tokens", json={"name": "short", "expires_in_days": 1})
        self.assertStatus(r, 201)
        exp = r.json()["expires_at"]
        self.assertRegex(exp, TS_RE)
        exp_ts = time.mktime(time.strptime(exp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertAlmostEqual(exp_ts - time.time(), 86400, delta=600)
        bad = [({}, "name"), ({"name": ""}, "name"), ({"name": 7}, "name"),
               ({"name": "x", "expires_in_days": "ten"}, "expires_in_days"),
               ({"name": "x", "expires_in_days": -1}, "expires_in_days"),
               ({"name": "x", "scopes": ["all"]}, "scopes")]
        for body, field in bad:
            self.assertError(sess.post("/api/v1/tokens", json=body), 400,
                             ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field=field)

    def test_missing_garbage_tokens_401(self):
        c = self.server.client(origin=False)
        for h in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
                  {"Authorization": "Bearer garbage"},
                  {"Authorization": "Bearer " + "A" * 4000},
                  {"Authorization": "Token abc"}, {"Authorization": "bearer"}):
            self.assertError(c.get("/api/v1/me", headers=h), 401, "UNAUTHENTICATED")
        # a real token with one character changed
        tok = self.server.make_token(self.server.admin, "flip")
        flipped = tok[:-1] + ("a" if tok[-1] != "a" else "b")
        self.assertError(self.server.token_client(flipped).get("/api/v1/me"), 401)

    def test_tokens_are_per_user(self):
        srv = self.server
        a, ca = srv.user_client("owner-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        b, cb = srv.user_client("other-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        t = ca.post("/api/v1/tokens", json={"name": "mine"}).json()
        self.assertNotIn(t["id"], [x["id"] for x in cb.get("/api/v1/tokens").json()["items"]])
        r = cb.delete("/api/v1/tokens/" + t["id"])
        self.assertIn(r.status_code, (403, 404), r.text)
        self.assertStatus(srv.token_client(t["token"]).get("/api/v1/me"), 200)


class ThrottleTests(StudioTestCase):
    """Each test gets its own server: the per-IP limit would poison other tests (all loopback)."""

    start_class_server = False

    def test_ten_failures_lock_the_user_out(self):
        srv = self.new_server()
        c = srv.client()
        for i in range(9):
            r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER, "password": f"bad-{i}xx"})
            self.assertError(r, 401, "UNAUTHENTICATED")
        r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER, "password": "bad-10xx"})
        self.assertStatus(r, (401, 429))  # the 10th failure itself
        # now even the right password is refused, for login and for HTTP Basic
        r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER,
                                                "password": srv.admin_password})
        self.assertError(r, 429, "REQUEST_LIMIT_EXCEEDED")
        self.assertNotIn("studio_session", r.headers.get("Set-Cookie", ""))
        self.assertError(c.get("/api/v1/me", auth=(ADMIN_USER, srv.admin_password)), 429,
                         "REQUEST_LIMIT_EXCEEDED")

    def test_ten_failures_from_one_ip_lock_the_ip_out(self):
        srv = self.new_server()
        c = srv.client()
        for i in range(10):
            r = c.post("/api/v1/auth/login",
                       json={"username": f"ghost-{i}", "password": "whatever-pw"})
            self.assertStatus(r, (401, 429))
        r = c.post("/api/v1/auth/login", json={"username": ADMIN_USER,
                                                "password": srv.admin_password})
        self.assertError(r, 429, "REQUEST_LIMIT_EXCEEDED")


if __name__ == "__main__":
    unittest.main()
