"""MLflow artifacts proxy (/api/2.0/mlflow-artifacts/artifacts): exact wire format, streaming
uploads and downloads, RBAC, and MLflow's path-traversal CVE family (reference/registry_serving.md
§4): every attack is refused and nothing outside the artifact root is read, written or deleted."""

import hashlib
import http.client
import os
import socket
import uuid

from harness import StudioTestCase

BASE = "/api/2.0/mlflow-artifacts/artifacts"
REFUSED = (400, 404)


class ArtifactProxyTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = cls.server.admin
        cls.root = os.path.join(cls.store.data_dir, "artifacts")
        # Files an attacker would want: beside the root, and one level further out.
        cls.canary = "CANARY-" + uuid.uuid4().hex
        cls.outside = os.path.join(cls.store.data_dir, "outside")
        os.makedirs(cls.outside, exist_ok=True)
        for p in (os.path.join(cls.store.data_dir, "secret.txt"),
                  os.path.join(cls.outside, "secret.txt")):
            with open(p, "w") as f:
                f.write(cls.canary)

    # -- helpers -------------------------------------------------------------------------------

    def raw(self, method, target, body=b"", auth=True):
        """Sends `target` byte for byte (no client-side normalization or encoding)."""
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        try:
            head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{self.server.port}",
                    f"Content-Length: {len(body)}", "Connection: close"]
            if auth:
                head.append("Authorization: " + self.api.headers["Authorization"])
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            resp = http.client.HTTPResponse(s)
            resp.begin()
            return resp.status, resp.read()
        finally:
            s.close()

    def outside_files(self):
        """Every file under the data dir except the artifact root, with its contents."""
        out = {}
        for d, dirs, files in os.walk(self.store.data_dir, followlinks=False):
            if os.path.abspath(d).startswith(os.path.abspath(self.root)):
                continue
            for name in files:
                if name.startswith("studio.db"):  # the metadata store changes with every request
                    continue
                p = os.path.join(d, name)
                if not os.path.islink(p):
                    with open(p, "rb") as f:
                        out[p] = f.read()
        return out

    def assertNothingLeaked(self, status, data, what):
        self.assertIn(status, REFUSED, f"{what}: {status} {data[:300]!r}")
        self.assertNotIn(self.canary.encode(), data, what)
        self.assertNotIn(b"root:x:0:0", data, what)

    def put(self, path, data, client=None):
        return (client or self.api).put(BASE + "/" + path, data=data,
                                        headers={"Content-Type": "application/octet-stream"})

    # -- behaviour ------------------------------------------------------------------------------

    def test_upload_download_list_delete_wire_format(self):
        r = self.put("wire/run1/model/MLmodel", b"flavor: xgboost\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertStatus(self.put("wire/run1/a.txt", b"hello"), 200)
        r = self.api.get(BASE + "/wire/run1/a.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.content, b"hello")
        self.assertEqual(r.headers["Content-Type"], "application/octet-stream")
        self.assertIn("attachment", r.headers.get("Content-Disposition", ""))
        self.assertEqual(r.headers.get("X-Content-Type-Options"), "nosniff")

        r = self.api.get(BASE, params={"path": "wire/run1"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"files": [
            {"path": "a.txt", "is_dir": False, "file_size": 5},
            {"path": "model", "is_dir": True}]})
        r = self.api.get(BASE, params={"path": "wire/nothing-here"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"files": []})
        # the /ajax-api/2.0 spelling serves the same proxy
        r = self.api.get("/ajax-api/2.0/mlflow-artifacts/artifacts/wire/run1/a.txt")
        self.assertStatus(r, 200)
        self.assertEqual(r.content, b"hello")

        r = self.api.delete(BASE + "/wire/run1")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {})
        self.assertError(self.api.get(BASE + "/wire/run1/a.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertError(self.api.delete(BASE + "/wire/run1"), 404, "RESOURCE_DOES_NOT_EXIST")
        self.assertFalse(os.path.exists(os.path.join(self.root, "wire", "run1")))
        # a directory is listed, not downloaded
        self.assertStatus(self.put("wire/d/x", b"x"), 200)
        self.assertError(self.api.get(BASE + "/wire/d"), 400, "INVALID_PARAMETER_VALUE")

    def test_large_streamed_upload_and_download(self):
        chunk = os.urandom(1 << 20)
        total = 9

        def gen():  # chunked transfer encoding: the server never sees a Content-Length
            for _ in range(total):
                yield chunk
        r = self.api.put(BASE + "/big/blob.bin", data=gen(),
                         headers={"Content-Type": "application/octet-stream"})
        self.assertStatus(r, 200)
        expected = hashlib.sha256(chunk * total).hexdigest()
        with self.api.get(BASE + "/big/blob.bin", stream=True) as r:
            # (not assertStatus: its message would run charset detection over 9 MiB)
            self.assertEqual(r.status_code, 200)
            h, n = hashlib.sha256(), 0
            for part in r.iter_content(1 << 16):
                h.update(part)
                n += len(part)
        self.assertEqual(n, len(chunk) * total)
        self.assertEqual(h.hexdigest(), expected)
        # the audit log records the upload with its digest
        events = self.api.get("/api/v1/audit", params={"action": "artifact.upload",
                                                      "resource_id": "big/blob.bin"})
        self.assertStatus(events, 200)
        found = events.json()["items"]
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["resource_type"], "artifact")
        self.assertEqual(found[0]["details"]["sha256"], expected)
        self.assertEqual(found[0]["details"]["size"], len(chunk) * total)

    def test_replace_is_atomic_and_whole(self):
        self.assertStatus(self.put("replace/f", b"a" * 100000), 200)
        self.assertStatus(self.put("replace/f", b"b" * 5), 200)
        self.assertEqual(self.api.get(BASE + "/replace/f").content, b"bbbbb")
        self.assertEqual(os.listdir(os.path.join(self.root, "replace")), ["f"])

    def test_body_over_limit_refused(self):
        # Artifacts have their own limit (--artifact-limit); --body-limit is for JSON bodies.
        srv = self.new_server(extra_args=["--artifact-limit", "100000", "--body-limit", "50000"])
        self.assertEqual(srv.admin.post("/api/v1/projects", json={"name": "x" * 60000}).status_code,
                         413)
        r = srv.admin.put(BASE + "/limit/x", data=b"x" * 200000,
                          headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status_code, 413, r.text)
        self.assertFalse(os.path.exists(os.path.join(srv.store.data_dir, "artifacts", "limit", "x")))
        # the connection and the server are still usable
        self.assertStatus(srv.admin.put(BASE + "/limit/y", data=b"y" * 10,
                                        headers={"Content-Type": "application/octet-stream"}),
                          200)

    def test_rbac(self):
        self.assertStatus(self.put("rbac/f", b"data"), 200)
        _, reader = self.server.user_client("art-reader-" + uuid.uuid4().hex[:6], [])
        _, engineer = self.server.user_client("art-eng-" + uuid.uuid4().hex[:6], ["ml_engineer"])
        anon = self.server.client(origin=False)
        self.assertError(anon.get(BASE + "/rbac/f"), 401, "UNAUTHENTICATED")
        self.assertError(anon.get(BASE, params={"path": "rbac"}), 401, "UNAUTHENTICATED")
        self.assertError(self.put("rbac/f", b"evil", client=anon), 401, "UNAUTHENTICATED")
        self.assertError(anon.delete(BASE + "/rbac/f"), 401, "UNAUTHENTICATED")
        self.assertEqual(reader.get(BASE + "/rbac/f").content, b"data")
        self.assertStatus(reader.get(BASE, params={"path": "rbac"}), 200)
        self.assertError(self.put("rbac/f", b"evil", client=reader), 403, "PERMISSION_DENIED")
        self.assertError(reader.delete(BASE + "/rbac/f"), 403, "PERMISSION_DENIED")
        self.assertEqual(self.api.get(BASE + "/rbac/f").content, b"data")
        self.assertStatus(self.put("rbac/g", b"ok", client=engineer), 200)
        self.assertStatus(engineer.delete(BASE + "/rbac/g"), 200)

    # -- attacks --------------------------------------------------------------------------------

    TRAVERSALS = [
        "../secret.txt",
        "../../secret.txt",
        "a/../../secret.txt",
        "..%2fsecret.txt",
        "%2e%2e/secret.txt",
        "%2e%2e%2fsecret.txt",
        "%2E%2E%2Foutside%2Fsecret.txt",
        "%252e%252e%252fsecret.txt",
        "%252e%252e/outside/secret.txt",
        "%25252e%25252e%25252fsecret.txt",
        "/etc/passwd",
        "//proc/self/root/etc/passwd",
        "/proc/self/root/etc/passwd",
        "%2fetc%2fpasswd",
        "..\\secret.txt",
        "..%5csecret.txt",
        "a%3f/../../secret.txt",
        "a%23/../../secret.txt",
        "a#/../../secret.txt",
        "secret.txt%00.png",
        "%00",
        "./../secret.txt",
        "C:/Windows/win.ini",
    ]

    def test_download_traversal_refused(self):
        for t in self.TRAVERSALS:
            for prefix in (BASE, "/ajax-api/2.0/mlflow-artifacts/artifacts"):
                status, data = self.raw("GET", prefix + "/" + t)
                self.assertNothingLeaked(status, data, "GET " + t)

    def test_list_traversal_refused(self):
        for t in ["..", "../", "../outside", "%2e%2e", "%252e%252e", "/etc", "//proc/self/root",
                  "C:/", "a/../..", "..%2f..", "..%5c", "a%3f/../..", "a%23/../.."]:
            status, data = self.raw("GET", BASE + "?path=" + t)
            self.assertNothingLeaked(status, data, "list " + t)
            self.assertNotIn(b"secret.txt", data, "list " + t)
            self.assertNotIn(b"outside", data, "list " + t)

    def test_upload_and_delete_traversal_refused(self):
        before = self.outside_files()
        for t in self.TRAVERSALS:
            marker = ("PWNED-" + uuid.uuid4().hex).encode()
            status, data = self.raw("PUT", BASE + "/" + t, body=marker)
            # A raw '#' ends the path at the HTTP layer: "a#/../.." writes "a", inside the root.
            allowed = REFUSED + ((200,) if "#" in t else ())
            self.assertIn(status, allowed, f"PUT {t}: {status} {data[:200]!r}")
            if status == 200:
                with open(os.path.join(self.root, t.split("#")[0]), "rb") as f:
                    self.assertEqual(f.read(), marker)
            status, data = self.raw("DELETE", BASE + "/" + t)
            self.assertIn(status, allowed, f"DELETE {t}: {status} {data[:200]!r}")
        self.assertEqual(self.outside_files(), before)
        self.assertTrue(os.path.exists("/etc/passwd"))
        # nothing landed beside the data dir either
        parent = os.path.dirname(self.store.data_dir)
        for name in os.listdir(parent):
            self.assertFalse(name.startswith("secret.txt") and name != "secret.txt", name)

    def test_symlink_planted_inside_root(self):
        # Whoever can write into the root (another tool, a compromised job) plants links out.
        os.makedirs(self.root, exist_ok=True)
        os.symlink(self.outside, os.path.join(self.root, "evil-dir"))
        os.symlink(os.path.join(self.outside, "secret.txt"), os.path.join(self.root, "evil.txt"))
        os.symlink("/etc", os.path.join(self.root, "etc-link"))
        before = self.outside_files()
        for t in ("evil-dir/secret.txt", "evil.txt", "etc-link/passwd"):
            status, data = self.raw("GET", BASE + "/" + t)
            self.assertNothingLeaked(status, data, "GET " + t)
        for t in ("evil-dir", "etc-link"):
            r = self.api.get(BASE, params={"path": t})
            self.assertStatus(r, 200)
            self.assertEqual(r.json(), {"files": []})
        names = [f["path"] for f in self.api.get(BASE).json()["files"]]
        for t in ("evil-dir", "evil.txt", "etc-link"):
            self.assertNotIn(t, names)
        r = self.put("evil-dir/planted.txt", b"PWNED")
        self.assertError(r, 400, "INVALID_PARAMETER_VALUE")
        self.assertFalse(os.path.exists(os.path.join(self.outside, "planted.txt")))
        self.assertError(self.api.delete(BASE + "/evil-dir/secret.txt"), 404,
                         "RESOURCE_DOES_NOT_EXIST")
        # writing over a file link replaces the link, never the file it points to
        self.assertStatus(self.put("evil.txt", b"mine"), 200)
        self.assertFalse(os.path.islink(os.path.join(self.root, "evil.txt")))
        # deleting a directory link removes the link only
        self.assertStatus(self.api.delete(BASE + "/evil-dir"), 200)
        self.assertTrue(os.path.isdir(self.outside))
        self.assertEqual(self.outside_files(), before)


if __name__ == "__main__":
    import unittest
    unittest.main()
