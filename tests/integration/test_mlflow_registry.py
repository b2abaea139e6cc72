"""MLflow model registry REST API: exact wire formats (reference/registry_serving.md §1.3-1.5),
search grammar and paging, aliases, stages, RBAC, and the `source` confinement CVE family (§4).
No MLflow client is installable here: the reference's wire format is the contract."""

import os
import threading
import time
import urllib.parse
import uuid

from harness import StudioTestCase

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
MODEL_KEYS = {"name", "creation_timestamp", "last_updated_timestamp", "description", "tags",
              "latest_versions", "aliases"}
VERSION_KEYS = {"name", "version", "creation_timestamp", "last_updated_timestamp", "user_id",
                "current_stage", "description", "source", "run_id", "status", "status_message",
                "tags", "run_link", "aliases"}


def uniq(prefix="m"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class MlflowRegistryTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin
        cls.root = "file://" + os.path.join(cls.store.data_dir, "artifacts")

    # -- helpers -------------------------------------------------------------------------------

    def post(self, path, body, status=200, prefix=API):
        r = self.api.post(prefix + path, json=body)
        self.assertStatus(r, status)
        return r.json()

    def get(self, path, params, status=200, prefix=API):
        r = self.api.get(prefix + path, params=params)
        self.assertStatus(r, status)
        return r.json()

    def create_model(self, name=None, **fields):
        name = name or uniq()
        return self.post("/registered-models/create", dict(fields, name=name))["registered_model"]

    def create_version(self, name, source=None, **fields):
        source = source or self.root + "/models/" + name
        return self.post("/model-versions/create",
                         dict(fields, name=name, source=source))["model_version"]

    def assertModelShape(self, m):
        self.assertLessEqual(set(m), MODEL_KEYS, m)
        self.assertIsInstance(m["name"], str)
        for k in ("creation_timestamp", "last_updated_timestamp"):
            self.assertIsInstance(m[k], int, m)
            self.assertGreater(m[k], 1_600_000_000_000)
        for t in m.get("tags", []):
            self.assertEqual(set(t), {"key", "value"})
        for a in m.get("aliases", []):
            self.assertEqual(set(a), {"alias", "version"})
            self.assertIsInstance(a["version"], str)
        for v in m.get("latest_versions", []):
            self.assertVersionShape(v)

    def assertVersionShape(self, v):
        self.assertLessEqual(set(v), VERSION_KEYS, v)
        self.assertIsInstance(v["version"], str)
        self.assertTrue(v["version"].isdigit())
        for k in ("creation_timestamp", "last_updated_timestamp"):
            self.assertIsInstance(v[k], int, v)
        self.assertIn(v["current_stage"], ("None", "Staging", "Production", "Archived"))
        self.assertEqual(v["status"], "READY")
        self.assertIsInstance(v["source"], str)

    # -- registered models ---------------------------------------------------------------------

    def test_create_get_exact_wire_format(self):
        name = uniq("wire")
        r = self.api.post(API + "/registered-models/create",
                          json={"name": name, "description": "card fraud",
                                "tags": [{"key": "team", "value": "risk"}]})
        self.assertStatus(r, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
        m = r.json()["registered_model"]
        self.assertEqual(list(r.json()), ["registered_model"])
        self.assertModelShape(m)
        self.assertEqual(m["name"], name)
        self.assertEqual(m["description"], "card fraud")
        self.assertEqual(m["tags"], [{"key": "team", "value": "risk"}])
        # Unset fields are omitted, not null or empty.
        self.assertNotIn("latest_versions", m)
        self.assertNotIn("aliases", m)
        self.assertEqual(m["creation_timestamp"], m["last_updated_timestamp"])

        bare = self.create_model()
        self.assertEqual(set(bare), {"name", "creation_timestamp", "last_updated_timestamp"})

        got = self.get("/registered-models/get", {"name": name})
        self.assertEqual(got, {"registered_model": m})
        # The UI prefix serves the same API.
        self.assertEqual(self.get("/registered-models/get", {"name": name}, prefix=AJAX), got)

        v = self.create_version(name, run_id="abc123", description="first",
                                run_link="https://ci.example.com/run/1",
                                tags=[{"key": "k", "value": "v"}])
        self.assertVersionShape(v)
        self.assertEqual(v["version"], "1")
        self.assertEqual(v["name"], name)
        self.assertEqual(v["current_stage"], "None")
        self.assertEqual(v["run_id"], "abc123")
        self.assertEqual(v["run_link"], "https://ci.example.com/run/1")
        self.assertEqual(v["description"], "first")
        self.assertEqual(v["user_id"], "admin")
        self.assertEqual(v["tags"], [{"key": "k", "value": "v"}])
        self.assertNotIn("aliases", v)
        self.assertNotIn("status_message", v)
        self.assertEqual(self.create_version(name)["version"], "2")

        got = self.get("/registered-models/get", {"name": name})["registered_model"]
        self.assertModelShape(got)
        self.assertEqual([x["version"] for x in got["latest_versions"]], ["2"])
        self.assertGreaterEqual(got["last_updated_timestamp"], m["last_updated_timestamp"])

        mv = self.get("/model-versions/get", {"name": name, "version": "1"})
        self.assertEqual(mv, {"model_version": v})
        uri = self.get("/model-versions/get-download-uri", {"name": name, "version": "1"})
        self.assertEqual(uri, {"artifact_uri": self.root + "/models/" + name})

    def test_mlflow_models_land_in_the_default_project(self):
        self.create_model()
        r = self.api.get("/api/v1/projects/default")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["name"], "default")

    def test_error_codes(self):
        name = self.create_model()["name"]
        r = self.api.post(API + "/registered-models/create", json={"name": name})
        body = self.assertError(r, 400, "RESOURCE_ALREADY_EXISTS")
        self.assertIn(name, body["message"])
        self.assertError(self.api.get(API + "/registered-models/get", params={"name": "nope-x"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.get(API + "/model-versions/get",
                                      params={"name": name, "version": "9"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.post(API + "/model-versions/create",
                                       json={"name": "nope-y", "source": "mlflow-artifacts:/x"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        body = self.assertError(self.api.post(API + "/registered-models/create", json={}), 400,
                                "INVALID_PARAMETER_VALUE")
        self.assertIn("'name'", body["message"])
        self.assertError(self.api.get(API + "/registered-models/get"), 400,
                         "INVALID_PARAMETER_VALUE")
        self.assertError(self.api.get(API + "/model-versions/get",
                                      params={"name": name, "version": "one"}),
                         400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.api.post(API + "/registered-models/create", json={"name": 5}), 400,
                         "INVALID_PARAMETER_VALUE")
        # JSON only (CSRF via text/plain, CVE-2023-43472).
        r = self.api.post(API + "/registered-models/create", data='{"name": "csrf"}',
                          headers={"Content-Type": "text/plain"})
        self.assertError(r, 415)
        # Unknown fields are ignored, as MLflow's protobuf parsing does.
        self.create_model(deployment_job_id="")

    def test_rename_update_tags_delete(self):
        name = self.create_model()["name"]
        self.create_version(name)
        new = uniq("renamed")
        m = self.post("/registered-models/rename", {"name": name, "new_name": new})
        self.assertEqual(m["registered_model"]["name"], new)
        self.assertEqual(m["registered_model"]["latest_versions"][0]["name"], new)
        self.assertError(self.api.get(API + "/registered-models/get", params={"name": name}), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        other = self.create_model()["name"]
        self.assertError(self.api.post(API + "/registered-models/rename",
                                       json={"name": other, "new_name": new}),
                         400, "RESOURCE_ALREADY_EXISTS")

        r = self.api.patch(API + "/registered-models/update",
                           json={"name": new, "description": "updated"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["registered_model"]["description"], "updated")

        self.assertEqual(self.post("/registered-models/set-tag",
                                   {"name": new, "key": "stage", "value": "beta"}), {})
        self.post("/registered-models/set-tag", {"name": new, "key": "stage", "value": "ga"})
        tags = self.get("/registered-models/get", {"name": new})["registered_model"]["tags"]
        self.assertEqual(tags, [{"key": "stage", "value": "ga"}])
        r = self.api.delete(API + "/registered-models/delete-tag", json={"name": new, "key": "stage"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertNotIn("tags", self.get("/registered-models/get", {"name": new})["registered_model"])

        self.post("/model-versions/set-tag", {"name": new, "version": "1", "key": "a", "value": ""})
        mv = self.get("/model-versions/get", {"name": new, "version": "1"})["model_version"]
        self.assertEqual(mv["tags"], [{"key": "a", "value": ""}])
        r = self.api.delete(API + "/model-versions/delete-tag",
                            json={"name": new, "version": "1", "key": "a"})
        self.assertStatus(r, 200)
        r = self.api.patch(API + "/model-versions/update",
                           json={"name": new, "version": "1", "description": "d1"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["model_version"]["description"], "d1")

        r = self.api.delete(API + "/model-versions/delete", json={"name": new, "version": "1"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertError(self.api.get(API + "/model-versions/get",
                                      params={"name": new, "version": "1"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        # Version numbers are never reused.
        self.assertEqual(self.create_version(new)["version"], "2")
        r = self.api.delete(API + "/registered-models/delete", json={"name": new})
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertError(self.api.get(API + "/registered-models/get", params={"name": new}), 404,
                         "RESOURCE_DOES_NOT_EXIST")

    def test_aliases_everywhere(self):
        name = self.create_model()["name"]
        for _ in range(3):
            self.create_version(name)
        self.assertEqual(self.post("/registered-models/alias",
                                   {"name": name, "alias": "champion", "version": "1"}), {})
        self.post("/registered-models/alias", {"name": name, "alias": "champion", "version": "2"})
        self.post("/registered-models/alias", {"name": name, "alias": "challenger", "version": "3"})
        mv = self.get("/registered-models/alias", {"name": name, "alias": "champion"})
        self.assertVersionShape(mv["model_version"])
        self.assertEqual(mv["model_version"]["version"], "2")
        self.assertEqual(mv["model_version"]["aliases"], ["champion"])

        m = self.get("/registered-models/get", {"name": name})["registered_model"]
        self.assertEqual(m["aliases"], [{"alias": "challenger", "version": "3"},
                                        {"alias": "champion", "version": "2"}])
        found = self.get("/registered-models/search",
                         {"filter": f"name = '{name}'"})["registered_models"]
        self.assertEqual(found[0]["aliases"], m["aliases"])
        # model-versions/search returns aliases (MLflow's SQL store returned []: #9783).
        versions = self.get("/model-versions/search",
                            {"filter": f"name = '{name}'"})["model_versions"]
        by_version = {v["version"]: v.get("aliases", []) for v in versions}
        self.assertEqual(by_version, {"1": [], "2": ["champion"], "3": ["challenger"]})

        r = self.api.delete(API + "/registered-models/alias",
                            json={"name": name, "alias": "champion"})
        self.assertStatus(r, 200)
        self.assertError(self.api.get(API + "/registered-models/alias",
                                      params={"name": name, "alias": "champion"}),
                         404, "RESOURCE_DOES_NOT_EXIST")
        for bad in ("latest", "v1", "a b"):
            self.assertError(self.api.post(API + "/registered-models/alias",
                                           json={"name": name, "alias": bad, "version": "1"}),
                             400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.api.post(API + "/registered-models/alias",
                                       json={"name": name, "alias": "x", "version": "99"}),
                         404, "RESOURCE_DOES_NOT_EXIST")

    def test_transition_stage_and_latest_versions(self):
        name = self.create_model()["name"]
        for _ in range(3):
            self.create_version(name)

        def transition(version, stage, archive):
            return self.post("/model-versions/transition-stage",
                             {"name": name, "version": version, "stage": stage,
                              "archive_existing_versions": archive})["model_version"]

        self.assertEqual(transition("1", "Production", False)["current_stage"], "Production")
        self.assertEqual(transition("2", "production", False)["current_stage"], "Production")
        v3 = transition("3", "Production", True)
        self.assertEqual(v3["current_stage"], "Production")
        stages = {v["version"]: v["current_stage"] for v in self.get(
            "/model-versions/search", {"filter": f"name = '{name}'"})["model_versions"]}
        self.assertEqual(stages, {"1": "Archived", "2": "Archived", "3": "Production"})

        latest = self.post("/registered-models/get-latest-versions",
                           {"name": name, "stages": ["Production"]})["model_versions"]
        self.assertEqual([v["version"] for v in latest], ["3"])
        everything = self.get("/registered-models/get-latest-versions",
                              {"name": name})["model_versions"]
        self.assertEqual(sorted((v["current_stage"], v["version"]) for v in everything),
                         [("Archived", "2"), ("Production", "3")])
        q = urllib.parse.urlencode([("name", name), ("stages", "Archived"), ("stages", "None")])
        r = self.api.get(API + "/registered-models/get-latest-versions?" + q)
        self.assertStatus(r, 200)
        self.assertEqual([v["version"] for v in r.json()["model_versions"]], ["2"])

        self.assertError(self.api.post(API + "/model-versions/transition-stage",
                                       json={"name": name, "version": "1", "stage": "Deleted",
                                             "archive_existing_versions": False}),
                         400, "INVALID_PARAMETER_VALUE")
        self.assertError(self.api.post(API + "/model-versions/transition-stage",
                                       json={"name": name, "version": "1", "stage": "Staging"}),
                         400, "INVALID_PARAMETER_VALUE")

    def test_search_filters_order_and_paging(self):
        tag = uniq("t")
        names = [f"{tag}-srch-{i:02d}" for i in range(7)]
        for i, n in enumerate(names):
            self.create_model(n, tags=[{"key": "grp", "value": tag},
                                       {"key": "parity", "value": str(i % 2)}])
            time.sleep(0.002)

        def search(**params):
            body = self.get("/registered-models/search", params)
            for m in body.get("registered_models", []):
                self.assertModelShape(m)
            return body

        body = search(filter=f"name LIKE '{tag}-srch-%'")
        self.assertEqual([m["name"] for m in body["registered_models"]], names)
        self.assertNotIn("next_page_token", body)
        body = search(filter=f"tags.grp = '{tag}' AND tags.`parity` = '1'")
        self.assertEqual([m["name"] for m in body["registered_models"]], names[1::2])
        body = search(filter=f"name ILIKE '{tag.upper()}-SRCH-0%' AND name != '{names[0]}'")
        self.assertEqual(len(body["registered_models"]), 6)
        self.assertEqual(search(filter=f"name LIKE '{tag.upper()}%'"), {})  # case-sensitive
        body = search(filter=f"tags.grp = '{tag}'", order_by=["last_updated_timestamp DESC"])
        self.assertEqual([m["name"] for m in body["registered_models"]], names[::-1])

        seen, token = [], None
        for _ in range(10):
            params = {"filter": f"tags.grp = '{tag}'", "max_results": 3}
            if token:
                params["page_token"] = token
            body = search(**params)
            seen += [m["name"] for m in body["registered_models"]]
            token = body.get("next_page_token")
            if not token:
                break
        self.assertEqual(seen, names)

        # Values are bound, never spliced: the classic injection matches nothing.
        r = self.api.get(API + "/registered-models/search", params={"filter": "name = 'x' OR 1=1"})
        body = self.assertError(r, 400, "INVALID_PARAMETER_VALUE")
        self.assertIn("at column 12", body["message"])
        self.assertEqual(search(filter="name = ''' OR 1=1 --'"), {})
        for bad in ("name = unquoted", "name = 'open", "owner = 'x'", "name LIKE",
                    "run_id = 'x'"):
            self.assertError(self.api.get(API + "/registered-models/search",
                                          params={"filter": bad}),
                             400, "INVALID_PARAMETER_VALUE")
        for bad in ({"max_results": 1001}, {"max_results": 0}, {"max_results": "x"},
                    {"order_by": "version_number"}, {"order_by": "name; DROP TABLE x"},
                    {"page_token": "garbage!"}):
            self.assertError(self.api.get(API + "/registered-models/search", params=bad), 400,
                             "INVALID_PARAMETER_VALUE")

    def test_model_version_search(self):
        a = self.create_model()["name"]
        b = self.create_model()["name"]
        run1, run2 = uuid.uuid4().hex, uuid.uuid4().hex
        self.create_version(a, run_id=run1)
        self.create_version(a, run_id=run2)
        self.create_version(b, run_id=run1, tags=[{"key": "validated", "value": "yes"}])

        def versions(**params):
            body = self.get("/model-versions/search", params)
            for v in body.get("model_versions", []):
                self.assertVersionShape(v)
            return [(v["name"], v["version"]) for v in body.get("model_versions", [])]

        self.assertEqual(sorted(versions(filter=f"run_id = '{run1}'")), sorted([(a, "1"), (b, "1")]))
        self.assertEqual(sorted(versions(filter=f"run_id IN ('{run1}', '{run2}')")),
                         sorted([(a, "1"), (a, "2"), (b, "1")]))
        self.assertEqual(versions(filter=f"name = '{a}' AND version_number > 1"), [(a, "2")])
        self.assertEqual(versions(filter=f"name = '{a}'", order_by=["version_number ASC"]),
                         [(a, "1"), (a, "2")])
        self.assertEqual(versions(filter="tags.validated = 'yes'"), [(b, "1")])
        self.assertEqual(versions(filter=f"source_path = '{self.root}/models/{b}'"), [(b, "1")])
        body = self.get("/model-versions/search", {"filter": f"name = '{a}'", "max_results": 1})
        self.assertEqual(len(body["model_versions"]), 1)
        self.assertIsInstance(body["next_page_token"], str)
        self.assertError(self.api.get(API + "/model-versions/search",
                                      params={"filter": "version_number = 'x'"}),
                         400, "INVALID_PARAMETER_VALUE")

    def test_rbac_and_auth_schemes(self):
        name = self.create_model()["name"]
        self.create_version(name)
        user, sponsor = self.server.user_client("sponsor-" + uuid.uuid4().hex[:6],
                                                ["model_sponsor"])
        self.assertStatus(sponsor.get(API + "/registered-models/get", params={"name": name}), 200)
        self.assertStatus(sponsor.get(API + "/registered-models/search"), 200)
        self.assertStatus(sponsor.get(API + "/model-versions/search"), 200)
        self.assertError(sponsor.post(API + "/registered-models/create", json={"name": uniq()}),
                         403, "PERMISSION_DENIED")
        self.assertError(sponsor.post(API + "/model-versions/create",
                                      json={"name": name, "source": "mlflow-artifacts:/x"}),
                         403, "PERMISSION_DENIED")
        self.assertError(sponsor.delete(API + "/registered-models/delete", json={"name": name}),
                         403, "PERMISSION_DENIED")
        self.assertError(sponsor.post(API + "/model-versions/transition-stage",
                                      json={"name": name, "version": "1", "stage": "Production",
                                            "archive_existing_versions": False}),
                         403, "PERMISSION_DENIED")
        anon = self.server.client(origin=False)
        self.assertError(anon.get(API + "/registered-models/search"), 401, "UNAUTHENTICATED")
        self.assertError(anon.post(AJAX + "/registered-models/create", json={"name": "x"}), 401,
                         "UNAUTHENTICATED")
        # MLFLOW_TRACKING_USERNAME/PASSWORD → Basic; MLFLOW_TRACKING_TOKEN → Bearer.
        eng = self.server.create_user("eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        basic = self.server.client(origin=False)
        basic.auth = (eng["username"], eng["password"])
        r = basic.post(API + "/registered-models/create", json={"name": uniq("basic")})
        self.assertStatus(r, 200)

    def test_source_confinement(self):
        name = self.create_model()["name"]
        data_dir = self.store.data_dir
        bad_sources = [
            "file:///etc/", "file:///etc/passwd", "file://./etc", "//proc/self/root",
            "/proc/self/root", "/etc", f"{self.root}/../../etc", f"{self.root}/%2e%2e/%2e%2e/etc",
            f"{self.root}/%252e%252e/%252e%252e/etc", f"{self.root}/..%2f..%2fetc",
            f"{self.root}?/../../etc", f"{self.root}#/../../etc",
            "http:///?/../../../../../../etc/", "http:///#/../../../../etc/",
            "mlflow-artifacts://host:9000/models/../../../",
            "mlflow-artifacts://host:9000/models/..%2f..%2fartifacts",
            "http://host:9000/models/../../../", "https://example.com/model.pkl",
            "s3a://bucket/path/../../../../", "ftp://host:8888/a", "file://123.456.789.123/path",
            f"{self.root}/x%00", "relative/model", "dbfs:/x", f"file://{data_dir}/studio.db",
            f"file://{data_dir}/artifacts-evil/x", "C:\\Windows", "", "runs:",
        ]
        for src in bad_sources:
            r = self.api.post(API + "/model-versions/create", json={"name": name, "source": src})
            self.assertError(r, 400, "INVALID_PARAMETER_VALUE")
        self.assertNotIn("model_versions", self.get("/model-versions/search",
                                                    {"filter": f"name = '{name}'"}))
        good = [f"{self.root}/models/x", f"{self.root}//models///y/", "mlflow-artifacts:/models",
                "mlflow-artifacts:/models/..../x", "runs:/0123456789abcdef/model",
                f"models:/{name}/1", os.path.join(data_dir, "artifacts", "m")]
        for src in good:
            v = self.create_version(name, source=src)
            self.assertEqual(v["source"], src)

    def test_concurrent_registration(self):
        name = self.create_model()["name"]
        token = self.server.make_token(self.server.login("admin", self.server.admin_password),
                                       "concurrency")
        versions, failures, race = [], [], []
        lock = threading.Lock()

        def worker():
            c = self.server.token_client(token)
            for _ in range(3):
                r = c.post(API + "/model-versions/create",
                           json={"name": name, "source": "mlflow-artifacts:/m"})
                with lock:
                    if r.status_code == 200:
                        versions.append(int(r.json()["model_version"]["version"]))
                    else:
                        failures.append(r.text)
            r = c.post(API + "/registered-models/create", json={"name": name + "-race"})
            if r.status_code != 200:
                with lock:
                    race.append((r.status_code, r.json().get("error_code")))

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(sorted(versions), list(range(1, 19)))
        # Exactly one racing create won; the others got RESOURCE_ALREADY_EXISTS (HTTP 400).
        self.assertEqual(race, [(400, "RESOURCE_ALREADY_EXISTS")] * 5)
