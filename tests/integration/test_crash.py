"""Crash safety: kill -9 under concurrent writes loses no acknowledged change and keeps the
audit chain valid."""

import threading
import time
import unittest

import requests

from harness import StudioTestCase, list_all, run_cli

THREADS = 8


class CrashTests(StudioTestCase):
    start_class_server = False

    def test_kill9_during_concurrent_creates(self):
        srv = self.new_server()
        token = srv.admin.headers["Authorization"]
        acked, attempted = set(), set()
        errors = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(t):
            s = requests.Session()
            s.headers["Authorization"] = token
            url = srv.url("/api/v1/projects")
            n = 0
            while not stop.is_set():
                name = f"crash-t{t}-{n:05d}"
                n += 1
                with lock:
                    attempted.add(name)
                try:
                    r = s.post(url, json={"name": name, "description": "crash test",
                                          "tags": {"thread": str(t)}}, timeout=10)
                except requests.RequestException:
                    if stop.is_set():
                        return
                    time.sleep(0.01)
                    continue
                if 200 <= r.status_code < 300:
                    with lock:
                        acked.add(name)
                elif r.status_code not in (503,):
                    with lock:
                        errors.append(f"{name}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        srv.kill()            # SIGKILL, mid-write
        stop.set()
        for th in threads:
            th.join(30)
        self.assertEqual(errors, [], "non-2xx answers before the crash")
        self.assertGreater(len(acked), 10, "too few creates acknowledged before the kill")

        srv.start()           # same data dir / database
        names = {p["name"] for p in list_all(srv.admin, "/api/v1/projects")}
        lost = sorted(acked - names)
        self.assertEqual(lost, [], f"{len(lost)} acknowledged creates lost after kill -9")
        # every acknowledged create has its audit event (same transaction)
        events = list_all(srv.admin, "/api/v1/audit", {"action": "project.create"})
        audited = {e["resource_id"] for e in events}
        projects = {p["name"]: p["id"] for p in list_all(srv.admin, "/api/v1/projects")}
        missing = [n for n in acked if projects[n] not in audited]
        self.assertEqual(missing, [], "acknowledged creates without an audit event")
        self.assertEqual(len(events), len(projects),
                         "project rows and project.create events disagree")
        v = srv.admin.get("/api/v1/audit/verify").json()
        self.assertIs(v["ok"], True, v)

        # usable afterwards
        self.assertStatus(srv.admin.post("/api/v1/projects", json={"name": "after-crash"}), 201)
        self.assertStatus(srv.admin.get("/api/v1/projects/after-crash"), 200)
        self.assertEqual(srv.stop(), 0)
        r = run_cli(["audit", "verify"] + srv.store.cli_args())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"\b{v['count'] + 1}\b")


if __name__ == "__main__":
    unittest.main()
