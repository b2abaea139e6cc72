"""`studio model register|list|show|alias|download` against a real server: a package goes up
with its SHA-256 digests, comes back byte-identical, and bad packages never reach the server."""

import hashlib
import json
import os
import tempfile
import unittest

import shutil
import subprocess

from harness import REPO_ROOT, StudioTestCase, run_cli, skip_unless_sqlite_run

MLMODEL = """artifact_path: model
flavors:
  xgboost:
    data: model.xgb
    model_format: xgb
    xgb_version: 1.7.4
signature:
  inputs: '[{"type": "double", "name": "f1"}, {"type": "double", "name": "f2"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]'
"""


class ModelCliTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.token = srv.make_token(srv.login("admin", srv.admin_password), "cli")
        r = srv.admin.post("/api/v1/projects", json={"name": "cli-proj"})
        assert r.status_code == 201, r.text
        u = srv.create_user("sponsor-cli", ["model_sponsor"])
        cls.sponsor_token = srv.token_for("sponsor-cli", u["password"])

    def cli(self, *args, token=None):
        env = dict(os.environ, STUDIO_SERVER=self.server.base, STUDIO_TOKEN=token or self.token)
        return run_cli(list(args), env=env, timeout=120)

    def make_package(self, files=None, mlmodel=MLMODEL):
        d = tempfile.mkdtemp(dir=self.tmp)
        with open(os.path.join(d, "MLmodel"), "w") as f:
            f.write(mlmodel)
        for rel, data in (files or {"model.xgb": os.urandom(300_000),
                                    "extra/conda.yaml": b"name: m\n"}).items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "wb") as f:
                f.write(data)
        return d

    def test_register_show_alias_download_round_trip(self):
        pkg = self.make_package()
        r = self.cli("model", "register", "--project", "cli-proj", "--name", "churn", "--path", pkg,
                     "--git-commit", "a" * 40, "--output", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual(v["flavor"], "xgboost")
        self.assertEqual(v["lineage"]["git_commit"], "a" * 40)
        digests = v["lineage"]["file_digests"]
        with open(os.path.join(pkg, "model.xgb"), "rb") as f:
            self.assertEqual(digests["model.xgb"]["sha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(sorted(digests), ["MLmodel", "extra/conda.yaml", "model.xgb"])
        version = str(v["version"])

        r = self.cli("model", "alias", "churn", "champion", "--version", version)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.cli("model", "show", "churn", "--output", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        shown = json.loads(r.stdout)
        self.assertEqual(shown["registered_model"]["name"], "churn")
        self.assertIn("champion", shown["model_versions"][0].get("aliases", []))
        r = self.cli("model", "list", "--filter", "name LIKE '%chu%'")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("churn", r.stdout)

        out = tempfile.mkdtemp(dir=self.tmp)
        r = self.cli("model", "download", "churn", "--version", version, "--out", out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for rel in ("MLmodel", "model.xgb", "extra/conda.yaml"):
            with open(os.path.join(pkg, rel), "rb") as a, open(os.path.join(out, rel), "rb") as b:
                self.assertEqual(a.read(), b.read(), rel)

    def test_bad_packages_are_refused_before_upload(self):
        cases = {
            "no flavor": self.make_package(mlmodel="flavors:\n  sklearn:\n    pickled_model: m\n"),
            "missing file": self.make_package(files={"other.bin": b"x"}),
            "not a dir": os.path.join(self.tmp, "nope"),
        }
        linked = self.make_package()
        os.symlink("/etc/passwd", os.path.join(linked, "passwd"))
        cases["symlink"] = linked
        for why, path in cases.items():
            with self.subTest(why=why):
                r = self.cli("model", "register", "--project", "cli-proj", "--name", "bad",
                             "--path", path)
                self.assertEqual(r.returncode, 1, why + ": " + r.stdout + r.stderr)
                self.assertIn("error:", r.stderr)
        self.assertEqual(self.server.admin.get("/api/2.0/mlflow/registered-models/get",
                                               params={"name": "bad"}).status_code, 404)

    def test_permissions_and_credentials(self):
        pkg = self.make_package()
        r = self.cli("model", "register", "--project", "cli-proj", "--name", "m2", "--path", pkg,
                     token=self.sponsor_token)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("create", r.stderr)
        r = self.cli("model", "list", token="stu_not-a-real-token")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        env = dict(os.environ, STUDIO_SERVER=self.server.base)
        env.pop("STUDIO_TOKEN", None)
        r = run_cli(["model", "list"], env=env)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("token", r.stderr)


@skip_unless_sqlite_run("S3 path is backend-independent")
class ModelCliS3Tests(StudioTestCase):
    """`studio model register --uri s3://…`: a package already in the server's S3 artifact
    store (a real s3rver) is read in place, hashed and registered without a copy."""

    start_class_server = False

    def setUp(self):
        data = tempfile.mkdtemp(dir=self.tmp)
        self.s3 = subprocess.Popen(
            ["node", "--openssl-legacy-provider", str(REPO_ROOT / "tests/s3/run-s3rver.js"), data],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self._stop_s3)
        line = self.s3.stdout.readline()
        self.assertTrue(line.startswith("PORT "), line)
        self.endpoint = "http://127.0.0.1:" + line.split()[1]
        self.s3env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
                      "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                      "STUDIO_S3_ENDPOINT": self.endpoint}
        self.aws("s3", "mb", "s3://mlb")

    def _stop_s3(self):
        self.s3.stdin.close()
        try:
            self.s3.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.s3.kill()

    def aws(self, *args):
        env = dict(os.environ, **self.s3env)
        r = subprocess.run(["/usr/bin/aws", "--endpoint-url", self.endpoint] + list(args),
                           env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def test_register_in_place_from_s3(self):
        pkg = tempfile.mkdtemp(dir=self.tmp)
        with open(os.path.join(pkg, "MLmodel"), "w") as f:
            f.write(MLMODEL)
        blob = os.urandom(200_000)
        with open(os.path.join(pkg, "model.xgb"), "wb") as f:
            f.write(blob)
        self.aws("s3", "cp", "--recursive", pkg, "s3://mlb/models/churn-7")
        srv = self.new_server(extra_args=["--artifacts", "s3://mlb/models"], env=self.s3env)
        token = srv.make_token(srv.login("admin", srv.admin_password), "cli")
        self.assertEqual(srv.admin.post("/api/v1/projects", json={"name": "s3-proj"}).status_code, 201)
        env = dict(self.s3env, STUDIO_SERVER=srv.base, STUDIO_TOKEN=token)
        r = run_cli(["model", "register", "--project", "s3-proj", "--name", "churn", "--uri",
                     "s3://mlb/models/churn-7", "--output", "json"], env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual(v["source"], "s3://mlb/models/churn-7")
        self.assertEqual(v["lineage"]["file_digests"]["model.xgb"]["sha256"],
                         hashlib.sha256(blob).hexdigest())
        # a package outside the server's artifact root is refused by the server
        self.aws("s3", "mb", "s3://other")
        self.aws("s3", "cp", "--recursive", pkg, "s3://other/pkg")
        r = run_cli(["model", "register", "--project", "s3-proj", "--name", "churn", "--uri",
                     "s3://other/pkg"], env=env, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # a broken package is refused before anything is registered
        self.aws("s3", "rm", "s3://mlb/models/churn-7/model.xgb")
        r = run_cli(["model", "register", "--project", "s3-proj", "--name", "churn", "--uri",
                     "s3://mlb/models/churn-7"], env=env, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("model.xgb", r.stderr)


if __name__ == "__main__":
    unittest.main()
