"""Configuration precedence (flags > STUDIO_* env > YAML config > defaults), data-dir layout,
and structured logs."""

import json
import os
import socket
import tempfile
import unittest
import uuid

import requests

from harness import (ADMIN_PASSWORD, BACKEND, PG, StudioServer, StudioTestCase, free_port,
                     run_cli, skip_unless_sqlite_run)

DATA_DIR_ALLOWED = {"studio.db", "studio.db-wal", "studio.db-shm", "studio.db-journal",
                    "artifacts", "logs", "secrets"}


def write_yaml(path, cfg):
    # the values are plain scalars; JSON scalars are valid YAML, written as "key: value"
    with open(path, "w") as f:
        f.write("# studio test config\n")
        for k, v in cfg.items():
            f.write(f"{k}: {json.dumps(v)}\n")
    return path


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def json_lines(text):
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(f"stderr line is not JSON: {line[:300]!r}")
        if not isinstance(obj, dict):
            raise AssertionError(f"stderr line is not a JSON object: {line[:300]!r}")
        out.append(obj)
    return out


class ConfigTests(StudioTestCase):
    start_class_server = False

    def dirs(self, *names):
        root = tempfile.mkdtemp(dir=self.tmp)
        return [os.path.join(root, n) for n in names]

    def launch(self, args, env=None, port=None, cwd=None):
        srv = StudioServer(None, env=env, raw_args=args, cwd=cwd,
                           log_dir=tempfile.mkdtemp(dir=self.tmp))
        self.addCleanup(srv.kill)
        srv.start(port=port)
        return srv

    def bootstrap_dir(self, data_dir):
        r = run_cli(["admin", "bootstrap", "--username", "admin", "--password-stdin", "--json",
                     "--data-dir", data_dir], input=ADMIN_PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def post_body(self, srv, size):
        # padding in tag values (descriptions have their own, smaller cap)
        pad = {f"p{i}": "x" * 4000 for i in range(size // 4000)}
        pad["rest"] = "x" * (size % 4000)
        body = json.dumps({"name": "limit-test", "tags": pad})
        return requests.post(srv.url("/api/v1/projects"), data=body,
                             headers={"Content-Type": "application/json"},
                             auth=("admin", ADMIN_PASSWORD), timeout=30)

    @skip_unless_sqlite_run()
    def test_flags_beat_env_beat_config(self):
        cfg_dir, env_dir, flag_dir, cfgfile = self.dirs("cfg", "env", "flag", "studio.yaml")
        a, b, c = free_port(), free_port(), free_port()
        write_yaml(cfgfile, {"port": a, "host": "127.0.0.1", "data_dir": cfg_dir,
                             "log_format": "text", "body_limit": 4096,
                             "artifacts": "file://" + os.path.join(cfg_dir, "artifacts")})
        # 1: flag port beats env port beats config; env data dir beats config
        self.bootstrap_dir(env_dir)
        srv = self.launch(["--config", cfgfile, "--port", c],
                          env={"STUDIO_PORT": str(b), "STUDIO_DATA_DIR": env_dir}, port=c)
        self.assertFalse(listening(a) or listening(b))
        self.assertTrue(os.path.exists(os.path.join(env_dir, "studio.db")))
        self.assertFalse(os.path.exists(os.path.join(cfg_dir, "studio.db")))
        # body_limit from the config file (nothing overrides it)
        self.assertStatus(self.post_body(srv, 8192), 413)
        self.assertStatus(self.post_body(srv, 100), 201)
        self.assertEqual(srv.stop(), 0)
        first = next((l for l in srv.stderr_text().splitlines() if l.strip()), "")
        self.assertTrue(first, "no log output on stderr")
        try:
            is_json = isinstance(json.loads(first), dict)
        except ValueError:
            is_json = False
        self.assertFalse(is_json, f"log_format: text from the config ignored: {first[:200]}")

        # 2: env beats config (port, log format, body limit); flag data dir beats env/config
        self.bootstrap_dir(flag_dir)
        srv = self.launch(["--config", cfgfile, "--data-dir", flag_dir],
                          env={"STUDIO_PORT": str(b), "STUDIO_LOG_FORMAT": "json",
                               "STUDIO_BODY_LIMIT": "100000", "STUDIO_DATA_DIR": env_dir},
                          port=b)
        self.assertFalse(listening(a))
        self.assertStatus(self.post_body(srv, 8192), (201, 409))
        r = requests.get(srv.url("/api/v1/projects/limit-test"), auth=("admin", ADMIN_PASSWORD))
        self.assertStatus(r, 200)
        self.assertIn("p1", r.json()["tags"], "served the env dir's store")
        self.assertEqual(srv.stop(), 0)
        json_lines(srv.stderr_text())
        self.assertFalse(os.path.exists(os.path.join(cfg_dir, "studio.db")))

        # 3: config alone
        srv = self.launch(["--config", cfgfile], port=a)
        self.assertTrue(os.path.exists(os.path.join(cfg_dir, "studio.db")))
        self.assertEqual(srv.stop(), 0)

        # 4: flags beat env for the log format too
        srv = self.launch(["--config", cfgfile, "--log-format", "json"],
                          env={"STUDIO_LOG_FORMAT": "text"}, port=a)
        self.assertEqual(srv.stop(), 0)
        json_lines(srv.stderr_text())

    @skip_unless_sqlite_run()
    def test_defaults_layout_and_json_logs(self):
        cwd = tempfile.mkdtemp(dir=self.tmp)
        port = free_port()
        srv = self.launch(["--port", port], port=port, cwd=cwd)
        data = os.path.join(cwd, ".studio")
        self.assertTrue(os.path.isfile(os.path.join(data, "studio.db")), os.listdir(cwd))
        self.assertTrue(os.path.isdir(os.path.join(data, "artifacts")), os.listdir(data))
        extra = set(os.listdir(data)) - DATA_DIR_ALLOWED
        self.assertEqual(extra, set(), "unexpected files in the data dir")
        rid = "cfg-req-" + uuid.uuid4().hex[:8]
        self.assertStatus(requests.get(srv.url("/api/v1/projects"),
                                       headers={"X-Request-Id": rid}), 401)
        self.assertStatus(requests.get(srv.url("/healthz"), headers={"X-Request-Id": rid + "h"}),
                          200)
        self.assertEqual(srv.stop(), 0)
        lines = json_lines(srv.stderr_text())
        self.assertTrue(lines, "no logs on stderr")
        for obj in lines:
            for k in ("ts", "level", "msg"):
                self.assertIn(k, obj, obj)
        mine = [o for o in lines if o.get("request_id") == rid]
        self.assertTrue(mine, f"no log line carries request_id {rid}")
        # a request line also names what was requested
        self.assertTrue(any("/api/v1/projects" in json.dumps(o) for o in mine), mine)
        # the first-run admin password goes to the operator once, never into JSON log fields
        # other than the one message that prints it
        self.assertLessEqual(sum("password" in json.dumps(o).lower() for o in lines), 2)

    def test_db_precedence(self):
        port1, port2 = free_port(), free_port()
        cfg_dir, cfgfile = self.dirs("data", "studio.yaml")
        if BACKEND == "postgres":
            uris = [PG.create_database() for _ in range(3)]
            self.addCleanup(lambda: [PG.drop_database(u) for u in uris])
            cfg_db, env_db, flag_db = uris

            def used(uri):
                out = PG.psql(uri, "SELECT count(*) FROM information_schema.tables "
                                   "WHERE table_schema = 'public'", check=True).stdout
                return int(out.strip()) > 0
        else:
            root = tempfile.mkdtemp(dir=self.tmp)
            cfg_db, env_db, flag_db = ("sqlite://" + os.path.join(root, n)
                                       for n in ("cfg.db", "env.db", "flag.db"))

            def used(uri):
                return os.path.exists(uri[len("sqlite://"):])
        write_yaml(cfgfile, {"port": port1, "data_dir": cfg_dir, "db": cfg_db})
        srv = self.launch(["--config", cfgfile], env={"STUDIO_DB": env_db}, port=port1)
        self.assertEqual(srv.stop(), 0)
        self.assertTrue(used(env_db), "STUDIO_DB not used")
        self.assertFalse(used(cfg_db), "config db used although STUDIO_DB is set")
        srv = self.launch(["--config", cfgfile, "--db", flag_db, "--port", port2],
                          env={"STUDIO_DB": env_db}, port=port2)
        self.assertEqual(srv.stop(), 0)
        self.assertTrue(used(flag_db), "--db not used")
        self.assertFalse(used(cfg_db))
        srv = self.launch(["--config", cfgfile], port=port1)
        self.assertEqual(srv.stop(), 0)
        self.assertTrue(used(cfg_db), "config db not used")

    @skip_unless_sqlite_run()
    def test_bad_configuration_exits_2(self):
        cwd = tempfile.mkdtemp(dir=self.tmp)
        bad_yaml = os.path.join(cwd, "bad.yaml")
        with open(bad_yaml, "w") as f:
            f.write("port: [1, 2\nhost: : :\n")
        bad_port = write_yaml(os.path.join(cwd, "badport.yaml"), {"port": "not-a-port"})
        port = str(free_port())
        cases = [(["--config", os.path.join(cwd, "missing.yaml"), "--port", port], {}),
                 (["--config", bad_yaml, "--port", port], {}),
                 (["--config", bad_port], {}),
                 ([], {"STUDIO_PORT": "abc"}),
                 (["--port", port, "--log-format", "xml"], {}),
                 (["--port", port, "--body-limit", "-5"], {})]
        for args, env in cases:
            with self.subTest(args=args, env=env):
                r = run_cli(["serve"] + args, env=env, timeout=20, cwd=cwd)
                self.assertEqual(r.returncode, 2, r.stdout[-500:] + r.stderr[-500:])


if __name__ == "__main__":
    unittest.main()
