"""RBAC, table-driven from docs/api.md: every role (and no role, and no credentials) against
representative routes of each permission. deploy_* / approve / manage_alerts have no routes yet;
the policy function's unit test covers them."""

import unittest
import uuid

from harness import ROLES, StudioTestCase, list_all

# permission → roles that grant it (docs/api.md "Permissions"); read and self: every user.
GRANTS = {
    "create": {"ml_engineer", "data_engineer", "admin"},
    "deploy_dev": {"ml_engineer", "data_engineer", "admin"},
    "deploy_staging": {"production_team", "admin"},
    "deploy_prod": {"admin"},
    "approve": {"production_team", "model_sponsor", "admin"},
    "admin": {"admin"},
    "manage_alerts": {"monitoring_team", "admin"},
    "lock_pipelines": {"production_team", "admin"},
}
SUBJECTS = ROLES + ["no_roles", "unauthenticated"]


def allowed(subject, permission):
    if subject == "unauthenticated":
        return False
    if permission in ("read", "self"):
        return True
    return subject in GRANTS[permission]


class RbacTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.clients = {}
        cls.users = {}
        for subject in SUBJECTS:
            if subject == "unauthenticated":
                cls.clients[subject] = srv.client(origin=False)
                continue
            roles = [] if subject == "no_roles" else [subject]
            u, c = srv.user_client("rbac-" + subject.replace("_", "-"), roles)
            cls.users[subject], cls.clients[subject] = u, c

    def _check(self, subject, permission, resp, ok_status):
        ctx = f"subject={subject} permission={permission}: {resp.request.method} " \
              f"{resp.request.path_url}"
        if subject == "unauthenticated":
            self.assertError(resp, 401, "UNAUTHENTICATED")
        elif allowed(subject, permission):
            self.assertStatus(resp, ok_status, ctx)
        else:
            body = self.assertError(resp, 403, "PERMISSION_DENIED")
            msg = body["message"]
            self.assertIn(permission, msg, f"403 message does not name the permission: {ctx}")
            # ... and the roles that grant it
            for role in GRANTS[permission]:
                self.assertIn(role, msg, f"403 message does not name granting role {role}: {ctx}")

    def test_me_and_permissions_per_role(self):
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                r = self.clients[subject].get("/api/v1/me")
                self._check(subject, "self", r, 200)
                if r.status_code != 200:
                    continue
                body = r.json()
                expected = {"read", "self"} | {p for p, roles in GRANTS.items()
                                               if subject in roles}
                self.assertEqual(set(body["permissions"]), expected, subject)
                self.assertEqual(body["roles"], [] if subject == "no_roles" else [subject])

    def test_read_list_projects(self):
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                self._check(subject, "read", self.clients[subject].get("/api/v1/projects"), 200)

    def test_read_audit(self):
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                self._check(subject, "read", self.clients[subject].get("/api/v1/audit"), 200)

    def test_create_update_delete_projects(self):
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                c = self.clients[subject]
                name = "rbac-" + subject.replace("_", "-")[:20] + "-" + uuid.uuid4().hex[:6]
                r = c.post("/api/v1/projects", json={"name": name})
                self._check(subject, "create", r, 201)
                if r.status_code == 201:
                    self.assertEqual(r.json()["created_by"], self.users[subject]["username"])
                # PATCH/DELETE on a project someone else (the admin) created
                other = self.server.admin.post("/api/v1/projects",
                                               json={"name": name + "-x"})
                self.assertStatus(other, 201)
                pid = other.json()["id"]
                self._check(subject, "create",
                            c.patch("/api/v1/projects/" + pid, json={"description": "edited"}),
                            200)
                self._check(subject, "create", c.delete("/api/v1/projects/" + pid), 204)
                # reads of it behave per "read"
                still = self.server.admin.get("/api/v1/projects/" + pid)
                self.assertStatus(still, 404 if allowed(subject, "create") else 200)

    def test_admin_user_routes(self):
        admin_id = self.server.admin.get("/api/v1/me").json()["id"]
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                c = self.clients[subject]
                self._check(subject, "admin", c.get("/api/v1/users"), 200)
                self._check(subject, "admin", c.get("/api/v1/users/" + admin_id), 200)
                uname = "made-by-" + subject.replace("_", "-")[:20]
                r = c.post("/api/v1/users", json={"username": uname, "password": "long-enough-pw",
                                                  "roles": ["admin"]})
                self._check(subject, "admin", r, 201)
                # privilege escalation: nobody but admin may grant roles, not even to self
                if subject in self.users:
                    r = c.patch("/api/v1/users/" + self.users[subject]["id"],
                                json={"roles": ["admin"]})
                    self._check(subject, "admin", r, 200)
                    if subject != "admin" and r.status_code == 200:
                        self.fail(f"{subject} granted itself admin")

    def test_self_routes_tokens(self):
        for subject in SUBJECTS:
            with self.subTest(subject=subject):
                c = self.clients[subject]
                r = c.post("/api/v1/tokens", json={"name": "rbac"})
                self._check(subject, "self", r, 201)
                self._check(subject, "self", c.get("/api/v1/tokens"), 200)
                if r.status_code == 201:
                    self._check(subject, "self", c.delete("/api/v1/tokens/" + r.json()["id"]),
                                204)


class UserAdminTests(StudioTestCase):
    """The admin-only user API: happy path and bad input."""

    def test_user_crud_and_lookup(self):
        a = self.server.admin
        r = a.post("/api/v1/users", json={"username": "carol.k_1", "password": "carol-password",
                                          "roles": ["ml_engineer", "model_sponsor"]})
        self.assertStatus(r, 201)
        u = r.json()
        for k in ("id", "username", "roles", "disabled", "created_at", "updated_at"):
            self.assertIn(k, u)
        self.assertEqual(sorted(u["roles"]), ["ml_engineer", "model_sponsor"])
        self.assertFalse(u["disabled"])
        for k in u:
            self.assertNotIn("password", k)
            self.assertNotIn("hash", k)
        self.assertNotIn("carol-password", r.text)
        by_id = a.get("/api/v1/users/" + u["id"])
        by_name = a.get("/api/v1/users/carol.k_1")
        self.assertStatus(by_id, 200)
        self.assertStatus(by_name, 200)
        self.assertEqual(by_id.json()["id"], by_name.json()["id"])
        names = [x["username"] for x in list_all(a, "/api/v1/users")]
        self.assertIn("carol.k_1", names)
        self.assertNotIn("carol-password", a.get("/api/v1/users").text)

        r = a.patch("/api/v1/users/" + u["id"], json={"roles": ["data_engineer"]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["roles"], ["data_engineer"])
        # password change: the new one works
        self.assertStatus(a.patch("/api/v1/users/" + u["id"],
                                  json={"password": "carol-new-password"}), 200)
        me = self.server.client().get("/api/v1/me", auth=("carol.k_1", "carol-new-password"))
        self.assertStatus(me, 200)
        self.assertEqual(me.json()["roles"], ["data_engineer"])

    def test_user_bad_input(self):
        a = self.server.admin
        good = {"username": "dave", "password": "dave-password", "roles": ["ml_engineer"]}
        cases = [
            (dict(good, username=""), "username"),
            (dict(good, username="-dave"), "username"),
            (dict(good, username="da ve"), "username"),
            (dict(good, username="x" * 65), "username"),
            (dict(good, username="dåve"), "username"),
            (dict(good, username=42), "username"),
            (dict(good, password="short"), "password"),
            (dict(good, password="p" * 1025), "password"),
            (dict(good, roles=["superuser"]), "roles"),
            (dict(good, roles="admin"), "roles"),
            (dict(good, roles=[1]), "roles"),
            (dict(good, is_admin=True), "is_admin"),
            ({"password": "dave-password"}, "username"),
        ]
        for body, field in cases:
            with self.subTest(body=str(body)[:80]):
                self.assertError(a.post("/api/v1/users", json=body), 400,
                                 ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field=field)
        self.assertStatus(a.post("/api/v1/users", json=good), 201)
        self.assertError(a.post("/api/v1/users", json=good), 409, "ALREADY_EXISTS")
        self.assertError(a.get("/api/v1/users/no-such-user"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(a.patch("/api/v1/users/no-such-user", json={"disabled": True}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(a.patch("/api/v1/users/dave", json={"disabled": "yes"}), 400,
                         ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field="disabled")
        self.assertError(a.patch("/api/v1/users/dave", json={"roles": ["root"]}), 400,
                         ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field="roles")
        self.assertError(a.patch("/api/v1/users/dave", json={"password": "short"}), 400,
                         ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), field="password")


if __name__ == "__main__":
    unittest.main()
