"""Native model registry API (/api/v1/models...): per-project models, versions with lineage,
stages, aliases, tags; native conventions (RFC 3339, items/next_page_token, 409 duplicates);
RBAC; audit trail; shared state with the MLflow adapter."""

import os
import uuid

from harness import TS_RE, StudioTestCase, list_all


def uniq(prefix="m"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class ModelTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin
        cls.root = "file://" + os.path.join(cls.store.data_dir, "artifacts")
        r = cls.api.post("/api/v1/projects", json={"name": "fraud"})
        assert r.status_code == 201, r.text
        cls.project = r.json()

    def create_model(self, name=None, project="fraud", **fields):
        r = self.api.post(f"/api/v1/projects/{project}/models",
                          json=dict(fields, name=name or uniq()))
        self.assertStatus(r, 201)
        return r.json()

    def create_version(self, model, **fields):
        fields.setdefault("source", self.root + "/models/" + model)
        r = self.api.post(f"/api/v1/models/{model}/versions", json=fields)
        self.assertStatus(r, 201)
        return r.json()

    def test_model_crud(self):
        m = self.create_model("native-crud", description="d", tags={"team": "risk"})
        self.assertEqual(m["project_id"], self.project["id"])
        self.assertEqual(m["name"], "native-crud")
        self.assertEqual(m["tags"], {"team": "risk"})
        self.assertEqual(m["aliases"], {})
        self.assertEqual(m["latest_versions"], [])
        self.assertEqual(m["created_by"], "admin")
        self.assertRegex(m["created_at"], TS_RE)
        self.assertRegex(m["updated_at"], TS_RE)
        self.assertEqual(self.api.get("/api/v1/models/native-crud").json(), m)
        self.assertEqual(self.api.get("/api/v1/models/" + m["id"]).json(), m)

        r = self.api.post("/api/v1/projects/fraud/models", json={"name": "native-crud"})
        self.assertError(r, 409, "ALREADY_EXISTS")
        self.assertError(self.api.post("/api/v1/projects/nope/models", json={"name": "x"}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.post("/api/v1/projects/fraud/models", json={"nme": "x"}), 400,
                         "INVALID_PARAMETER_VALUE", field="nme")

        r = self.api.patch("/api/v1/models/native-crud",
                           json={"description": "d2", "name": "native-crud-2"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["name"], "native-crud-2")
        self.assertEqual(r.json()["description"], "d2")
        r = self.api.put("/api/v1/models/native-crud-2/tags/tier", json={"value": "1"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["tags"], {"team": "risk", "tier": "1"})
        self.assertStatus(self.api.delete("/api/v1/models/native-crud-2/tags/tier"), 204)
        self.assertError(self.api.delete("/api/v1/models/native-crud-2/tags/tier"), 404,
                         "RESOURCE_DOES_NOT_EXIST")

        # The project refuses deletion while it holds models.
        self.assertError(self.api.delete("/api/v1/projects/fraud"), 409, "RESOURCE_CONFLICT")
        self.assertStatus(self.api.delete("/api/v1/models/native-crud-2"), 204)
        self.assertError(self.api.get("/api/v1/models/native-crud-2"), 404,
                         "RESOURCE_DOES_NOT_EXIST")

    def test_versions_lineage_stages_aliases(self):
        name = self.create_model()["name"]
        v1 = self.create_version(
            name, run_id="run-1", flavor="xgboost",
            signature={"inputs": [{"name": "amount", "type": "double"}]},
            metrics={"auc": 0.91},
            lineage={"git_commit": "0123abcd", "dataset_digests": {"train": "sha256:aa"},
                     "file_digests": {"model.json": "sha256:bb"}})
        self.assertEqual(v1["version"], 1)
        self.assertEqual(v1["model_name"], name)
        self.assertEqual(v1["stage"], "None")
        self.assertEqual(v1["status"], "READY")
        self.assertEqual(v1["flavor"], "xgboost")
        self.assertEqual(v1["metrics"], {"auc": 0.91})
        self.assertEqual(v1["signature"]["inputs"][0]["name"], "amount")
        self.assertEqual(v1["lineage"], {"run_id": "run-1", "git_commit": "0123abcd",
                                         "dataset_digests": {"train": "sha256:aa"},
                                         "file_digests": {"model.json": "sha256:bb"}})
        self.assertRegex(v1["created_at"], TS_RE)
        v2 = self.create_version(name)
        self.assertEqual(v2["version"], 2)
        self.assertIsNone(v2["signature"])

        for bad in ({"source": "file:///etc/passwd"}, {"source": "//proc/self/root"},
                    {"source": self.root + "/%252e%252e/x"}, {},
                    {"source": "mlflow-artifacts:/x", "lineage": {"git_commit": 1}},
                    {"source": "mlflow-artifacts:/x", "metrics": [1]},
                    {"source": "mlflow-artifacts:/x", "extra": 1}):
            self.assertError(self.api.post(f"/api/v1/models/{name}/versions", json=bad), 400,
                             "INVALID_PARAMETER_VALUE")

        r = self.api.patch(f"/api/v1/models/{name}/versions/1",
                           json={"stage": "Production", "description": "first"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["stage"], "Production")
        self.assertEqual(r.json()["description"], "first")
        r = self.api.patch(f"/api/v1/models/{name}/versions/2",
                           json={"stage": "Production", "archive_existing_versions": True})
        self.assertStatus(r, 200)
        self.assertEqual(self.api.get(f"/api/v1/models/{name}/versions/1").json()["stage"],
                         "Archived")

        r = self.api.put(f"/api/v1/models/{name}/aliases/champion", json={"version": 2})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["version"], 2)
        self.assertEqual(r.json()["aliases"], ["champion"])
        self.assertEqual(self.api.get(f"/api/v1/models/{name}/aliases/champion").json()["version"],
                         2)
        self.assertEqual(self.api.get(f"/api/v1/models/{name}").json()["aliases"],
                         {"champion": 2})
        self.assertError(self.api.put(f"/api/v1/models/{name}/aliases/latest", json={"version": 1}),
                         400, "INVALID_PARAMETER_VALUE")

        r = self.api.put(f"/api/v1/models/{name}/versions/2/tags/validated", json={"value": "yes"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["tags"], {"validated": "yes"})

        items = list_all(self.api, f"/api/v1/models/{name}/versions")
        self.assertEqual([v["version"] for v in items], [2, 1])
        self.assertEqual(items[0]["aliases"], ["champion"])
        items = list_all(self.api, f"/api/v1/models/{name}/versions",
                         {"filter": "tags.validated = 'yes'"})
        self.assertEqual([v["version"] for v in items], [2])
        self.assertError(self.api.get(f"/api/v1/models/{name}/versions/x"), 400,
                         "INVALID_PARAMETER_VALUE")

        # The same state through the MLflow adapter.
        r = self.api.get("/api/2.0/mlflow/registered-models/alias",
                         params={"name": name, "alias": "champion"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["model_version"]["version"], "2")

        self.assertStatus(self.api.delete(f"/api/v1/models/{name}/aliases/champion"), 204)
        self.assertError(self.api.delete(f"/api/v1/models/{name}/aliases/champion"), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        self.assertStatus(self.api.delete(f"/api/v1/models/{name}/versions/1"), 204)
        self.assertError(self.api.get(f"/api/v1/models/{name}/versions/1"), 404,
                         "RESOURCE_DOES_NOT_EXIST")

    def test_list_per_project_with_paging(self):
        r = self.api.post("/api/v1/projects", json={"name": "paging"})
        self.assertStatus(r, 201)
        names = sorted(f"pg-{i:02d}-{uuid.uuid4().hex[:4]}" for i in range(5))
        for n in names:
            self.create_model(n, project="paging")
        r = self.api.get("/api/v1/projects/paging/models", params={"max_results": 2})
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json()["items"]), 2)
        self.assertIn("next_page_token", r.json())
        items = list_all(self.api, "/api/v1/projects/paging/models", page_size=2)
        self.assertEqual([m["name"] for m in items], names)
        items = list_all(self.api, "/api/v1/models", {"filter": "name LIKE 'pg-0%'"})
        self.assertEqual([m["name"] for m in items], names)
        self.assertError(self.api.get("/api/v1/models", params={"filter": "name = oops"}), 400,
                         "INVALID_PARAMETER_VALUE")

    def test_rbac_and_audit(self):
        name = self.create_model()["name"]
        self.create_version(name)
        _, sponsor = self.server.user_client("sp-" + uuid.uuid4().hex[:6], ["model_sponsor"])
        self.assertStatus(sponsor.get(f"/api/v1/models/{name}"), 200)
        self.assertStatus(sponsor.get("/api/v1/projects/fraud/models"), 200)
        self.assertError(sponsor.post("/api/v1/projects/fraud/models", json={"name": uniq()}), 403,
                         "PERMISSION_DENIED")
        self.assertError(sponsor.patch(f"/api/v1/models/{name}/versions/1",
                                       json={"stage": "Production"}), 403, "PERMISSION_DENIED")
        self.assertError(sponsor.delete(f"/api/v1/models/{name}"), 403, "PERMISSION_DENIED")

        r = self.api.get("/api/v1/audit", params={"resource_type": "registered_model"})
        self.assertStatus(r, 200)
        actions = {e["action"] for e in r.json()["items"]}
        self.assertIn("registered_model.create", actions)
        r = self.api.get("/api/v1/audit", params={"resource_type": "model_version"})
        self.assertIn("model_version.create", {e["action"] for e in r.json()["items"]})
        r = self.api.get("/api/v1/audit/verify")
        if r.status_code == 200:
            self.assertTrue(r.json()["ok"])
