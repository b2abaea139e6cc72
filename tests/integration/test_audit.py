"""Audit log: filters, paging, hash chain, `studio audit verify`, immutability, tamper detection."""

import calendar
import hashlib
import json
import re
import time
import unittest

from harness import TS_RE, StudioTestCase, list_all, run_cli

BAD_REQ = ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def columns(store, table):
    if store.db_uri:
        out = store.sql_ok("SELECT column_name FROM information_schema.columns "
                           f"WHERE table_name = '{table}'")
        return [l.strip() for l in out.splitlines() if l.strip()]
    out = store.sql_ok(f"SELECT name FROM pragma_table_info('{table}')")
    return [l.strip() for l in out.splitlines() if l.strip()]


class AuditQueryTests(StudioTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.api = srv.admin
        cls.bob, cls.bob_api = srv.user_client("bob", ["ml_engineer"])
        for i in range(3):
            r = cls.bob_api.post("/api/v1/projects", json={"name": f"bob-{i}"})
            assert r.status_code == 201, r.text
            time.sleep(0.003)
        for i in range(3):
            r = cls.api.post("/api/v1/projects", json={"name": f"adm-{i}"})
            assert r.status_code == 201, r.text
            time.sleep(0.003)
        r = cls.bob_api.patch("/api/v1/projects/bob-0", json={"description": "x"})
        assert r.status_code == 200, r.text

    def all_events(self):
        return list_all(self.api, "/api/v1/audit")

    def test_event_shape_newest_first(self):
        events = self.all_events()
        self.assertGreaterEqual(len(events), 7)
        for e in events:
            for k in ("seq", "id", "ts", "actor", "action", "resource_type", "resource_id",
                      "request_id", "details", "prev_hash", "hash"):
                self.assertIn(k, e, e)
            self.assertIsInstance(e["seq"], int)
            self.assertIsInstance(e["id"], str)
            self.assertRegex(e["ts"], TS_RE)
            self.assertIsInstance(e["details"], dict)
            self.assertRegex(e["hash"], r"^[0-9a-f]{64}$")
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs, reverse=True))
        self.assertEqual(len(set(seqs)), len(seqs))
        # no secrets in the log
        text = json.dumps(events)
        self.assertNotIn(self.bob["password"], text)
        self.assertNotIn(self.server.admin_password, text)

    def test_hash_chain_matches_documented_formula(self):
        events = sorted(self.all_events(), key=lambda e: e["seq"])
        for prev, e in zip(events, events[1:]):
            self.assertEqual(e["prev_hash"], prev["hash"], f"chain broken at seq {e['seq']}")
        for e in events:
            body = {k: v for k, v in e.items() if k not in ("prev_hash", "hash")}
            want = hashlib.sha256((e["prev_hash"] + canonical(body)).encode()).hexdigest()
            if e["hash"] != want:
                # diagnose the usual cause: the hash covers a different ts representation
                ms = int(calendar.timegm(time.strptime(e["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
                         * 1000 + int(e["ts"][20:23]))
                alt = hashlib.sha256((e["prev_hash"] + canonical(dict(body, ts=ms))).encode())
                hint = (" (it matches when ts is the integer epoch milliseconds instead of the "
                        "RFC 3339 string the API returns)" if alt.hexdigest() == e["hash"]
                        else "")
                self.fail(f"seq {e['seq']}: hash != hex(SHA-256(prev_hash || canonical_json("
                          f"event as served))){hint}; canonical={canonical(body)}")

    def test_actor_and_action_filters(self):
        r = self.api.get("/api/v1/audit", params={"actor": "bob"})
        self.assertStatus(r, 200)
        bob_events = r.json()["items"]
        self.assertGreaterEqual(len(bob_events), 4)
        self.assertTrue(all(e["actor"] == "bob" for e in bob_events))
        r = self.api.get("/api/v1/audit", params={"action": "project.create"})
        creates = r.json()["items"]
        self.assertGreaterEqual(len(creates), 6)
        self.assertTrue(all(e["action"] == "project.create" for e in creates))
        r = self.api.get("/api/v1/audit", params={"actor": "bob", "action": "project.create"})
        self.assertEqual(len(r.json()["items"]), 3)
        for params in ({"actor": "nobody"}, {"action": "no.such"}, {"actor": "' OR 1=1 --"},
                       {"resource_type": "project' --"}):
            r = self.api.get("/api/v1/audit", params=params)
            self.assertStatus(r, 200, str(params))
            self.assertEqual(r.json()["items"], [], params)
        # readable by any authenticated user (read)
        self.assertStatus(self.bob_api.get("/api/v1/audit"), 200)

    def test_since_until(self):
        events = self.all_events()
        ts = sorted({e["ts"] for e in events})
        self.assertGreaterEqual(len(ts), 3, "events need distinct timestamps for this test")
        mid = ts[len(ts) // 2]
        since = list_all(self.api, "/api/v1/audit", {"since": mid})
        until = list_all(self.api, "/api/v1/audit", {"until": mid})
        self.assertTrue(since and until)
        self.assertTrue(all(e["ts"] >= mid for e in since), mid)
        self.assertTrue(all(e["ts"] <= mid for e in until), mid)
        self.assertEqual({e["seq"] for e in events if e["ts"] > mid},
                         {e["seq"] for e in since if e["ts"] > mid})
        self.assertEqual({e["seq"] for e in events if e["ts"] < mid},
                         {e["seq"] for e in until if e["ts"] < mid})
        # bounds may be inclusive or half-open; everything strictly inside is returned
        window = {e["seq"] for e in list_all(self.api, "/api/v1/audit",
                                             {"since": ts[0], "until": ts[-1]})}
        self.assertTrue({e["seq"] for e in events if ts[0] < e["ts"] < ts[-1]} <= window)
        self.assertTrue(window <= {e["seq"] for e in events})
        self.assertEqual(list_all(self.api, "/api/v1/audit", {"since": "2999-01-01T00:00:00Z"}),
                         [])
        # RFC 3339 with an offset is RFC 3339 too
        self.assertStatus(self.api.get("/api/v1/audit",
                                       params={"since": "2020-01-01T00:00:00+02:00"}), 200)
        for bad in ({"since": "yesterday"}, {"until": "2026-13-45T00:00:00Z"},
                    {"since": "1700000000"}, {"until": "' OR 1=1 --"}):
            with self.subTest(params=bad):
                self.assertError(self.api.get("/api/v1/audit", params=bad), 400, BAD_REQ,
                                 field=next(iter(bad)))

    def test_paging(self):
        events = self.all_events()
        seen, token = [], None
        for _ in range(100):
            params = {"max_results": 2}
            if token:
                params["page_token"] = token
            r = self.api.get("/api/v1/audit", params=params)
            self.assertStatus(r, 200)
            body = r.json()
            self.assertLessEqual(len(body["items"]), 2)
            seen += [e["seq"] for e in body["items"]]
            token = body.get("next_page_token")
            if not token:
                break
        self.assertEqual(seen, [e["seq"] for e in events])
        for bad in ("0", "1001", "x"):
            self.assertError(self.api.get("/api/v1/audit", params={"max_results": bad}), 400,
                             BAD_REQ)
        self.assertError(self.api.get("/api/v1/audit", params={"page_token": "%%%"}), 400,
                         BAD_REQ)

    def test_verify_api_and_cli(self):
        events = self.all_events()
        r = self.api.get("/api/v1/audit/verify")
        self.assertStatus(r, 200)
        v = r.json()
        self.assertIs(v["ok"], True)
        self.assertEqual(v["count"], len(events))
        self.assertNotIn("first_broken_seq", v)
        cli = run_cli(["audit", "verify"] + self.store.cli_args())
        self.assertEqual(cli.returncode, 0, cli.stdout + cli.stderr)
        self.assertRegex(cli.stdout, rf"\b{len(events)}\b")
        cli = run_cli(["audit", "verify", "--output", "json"] + self.store.cli_args())
        self.assertEqual(cli.returncode, 0, cli.stdout + cli.stderr)
        out = json.loads(cli.stdout)
        self.assertIs(out["ok"], True)
        self.assertEqual(out["count"], len(events))
        # bad usage
        bad = run_cli(["audit", "verify", "--output", "yaml"] + self.store.cli_args())
        self.assertEqual(bad.returncode, 2, bad.stdout + bad.stderr)


class AuditTamperTests(StudioTestCase):
    start_class_server = False

    def test_immutable_then_tamper_detected(self):
        srv = self.new_server()
        api = srv.admin
        for i in range(4):
            self.assertStatus(api.post("/api/v1/projects", json={"name": f"t-{i}"}), 201)
        events = sorted(list_all(api, "/api/v1/audit"), key=lambda e: e["seq"])
        count = len(events)
        victim = events[len(events) // 2]["seq"]
        if victim == count:
            victim = events[1]["seq"]
        self.assertEqual(srv.stop(), 0, "SIGTERM exit code")
        store = srv.store

        cols = columns(store, "audit_events")
        self.assertIn("seq", cols, cols)
        dcol = "details" if "details" in cols else next(c for c in cols if "detail" in c)

        # with the triggers in place, the store refuses UPDATE and DELETE
        upd = store.sql(f"UPDATE audit_events SET {dcol} = '{{\"x\":1}}' WHERE seq = {victim}")
        self.assertNotEqual(upd.returncode, 0, "UPDATE on audit_events succeeded")
        dele = store.sql(f"DELETE FROM audit_events WHERE seq = {victim}")
        self.assertNotEqual(dele.returncode, 0, "DELETE on audit_events succeeded")
        dele_all = store.sql("DELETE FROM audit_events")
        self.assertNotEqual(dele_all.returncode, 0, "DELETE FROM audit_events succeeded")
        ok = run_cli(["audit", "verify"] + store.cli_args())
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertRegex(ok.stdout, rf"\b{count}\b")

        # tamper behind the store's back
        if store.db_uri:
            n = store.sql_ok("SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                             "'audit_events'::regclass AND NOT tgisinternal").strip()
            self.assertGreater(int(n), 0, "no triggers on audit_events")
            store.sql_ok("ALTER TABLE audit_events DISABLE TRIGGER ALL; "
                         f"UPDATE audit_events SET {dcol} = '{{\"tampered\":true}}' "
                         f"WHERE seq = {victim}")
        else:
            names = store.sql_ok("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'audit_events'").split()
            self.assertTrue(names, "no triggers on audit_events")
            drops = "".join(f'DROP TRIGGER "{n}";' for n in names)
            store.sql_ok(drops + f"UPDATE audit_events SET {dcol} = '{{\"tampered\":true}}' "
                                 f"WHERE seq = {victim}")

        bad = run_cli(["audit", "verify"] + store.cli_args())
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertRegex(bad.stdout + bad.stderr, rf"\b{victim}\b",
                         "verify output does not name the broken seq")
        badj = run_cli(["audit", "verify", "--output", "json"] + store.cli_args())
        self.assertEqual(badj.returncode, 1, badj.stdout + badj.stderr)
        out = json.loads(badj.stdout)
        self.assertIs(out["ok"], False)
        self.assertEqual(out["first_broken_seq"], victim)

        # the server still starts and its verify endpoint reports the same break
        srv.start()
        r = srv.admin.get("/api/v1/audit/verify")
        self.assertStatus(r, 200)
        v = r.json()
        self.assertIs(v["ok"], False)
        self.assertEqual(v["first_broken_seq"], victim)
        self.assertTrue(v.get("problem"))

    def test_verify_usage_errors(self):
        store = self.new_store()
        r = run_cli(["audit", "verify", "--bogus-flag"] + store.cli_args())
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
