"""Integration-test harness: a real `studio serve` over loopback, on SQLite or PostgreSQL.

Environment (set by tests/CMakeLists.txt; all optional when running a file by hand):
  STUDIO_BIN               the studio binary (default: <repo>/build/studio)
  STUDIO_TEST_DB           sqlite (default) | postgres
  STUDIO_REPO_ROOT         the source tree (default: two levels above this file)
  STUDIO_TEST_PG_URI_FILE  file holding the URI of the shared test PostgreSQL; when missing and
                           STUDIO_TEST_DB=postgres, a private cluster is started for this process
  STUDIO_TEST_KEEP=1       keep temp dirs (server logs, data) for post-mortems

Run one file by hand:
  cd tests/integration && STUDIO_TEST_DB=postgres /usr/bin/python3 -m unittest -v test_auth.py
"""

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import weakref
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = Path(os.environ.get("STUDIO_REPO_ROOT") or HERE.parent.parent)
STUDIO_BIN = os.environ.get("STUDIO_BIN") or str(REPO_ROOT / "build" / "studio")
BACKEND = os.environ.get("STUDIO_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"STUDIO_TEST_DB must be sqlite or postgres, not {BACKEND!r}")
KEEP = os.environ.get("STUDIO_TEST_KEEP") == "1"

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Passw0rd-for-tests"
ROLES = ["ml_engineer", "data_engineer", "production_team", "monitoring_team",
         "model_sponsor", "admin"]
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HTTP_TIMEOUT = 30

# unittest turns all warnings on; the ResourceWarnings of short-lived HTTP clients are noise.
_orig_runner_run = unittest.TextTestRunner.run


def _run_without_resource_warnings(self, test):
    if self.warnings == "default":
        self.warnings = None
    return _orig_runner_run(self, test)


unittest.TextTestRunner.run = _run_without_resource_warnings

_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # If the test process is killed (ctest timeout), take the server down with it.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args, input=None, env=None, timeout=60, cwd=None):
    """Runs `studio ARGS...`; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    # The test's own STUDIO_* variables must not leak into the binary's configuration.
    for k in list(full_env):
        if k.startswith("STUDIO_") and not k.startswith("STUDIO_TEST"):
            del full_env[k]
    if env:
        full_env.update(env)
    return subprocess.run([STUDIO_BIN] + [str(a) for a in args], input=input,
                          capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd, preexec_fn=_die_with_parent)


# ----------------------------------------------------------------------------------------------
# PostgreSQL


class _Pg:
    """The shared test cluster; hands out one fresh database per caller."""

    def __init__(self):
        self._base = None
        self._own_dir = None
        self._lock = threading.Lock()

    def base_uri(self):
        with self._lock:
            if self._base:
                return self._base
            uri_file = os.environ.get("STUDIO_TEST_PG_URI_FILE")
            if uri_file and os.path.exists(uri_file):
                self._base = Path(uri_file).read_text().strip()
            else:
                # Running a file by hand: start a private cluster for this process.
                self._own_dir = tempfile.mkdtemp(prefix="studio-pg-")
                subprocess.run([str(REPO_ROOT / "scripts" / "pg-harness.sh"), "start",
                                self._own_dir], check=True, capture_output=True)
                atexit.register(self._stop_own)
                self._base = Path(self._own_dir, "uri").read_text().strip()
            return self._base

    def _stop_own(self):
        subprocess.run([str(REPO_ROOT / "scripts" / "pg-harness.sh"), "stop", self._own_dir],
                       capture_output=True)

    def uri_for(self, dbname):
        """The base URI with another database name (any ?query is kept)."""
        return re.sub(r"/[^/?]*(\?.*)?$", lambda m: "/" + dbname + (m.group(1) or ""),
                      self.base_uri())

    @staticmethod
    def dbname(uri):
        return re.search(r"/([^/?]*)(\?.*)?$", uri).group(1)

    def psql(self, uri, sql, check=False):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", uri, "-c", sql], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}): {sql}\n{r.stderr}")
        return r

    def create_database(self):
        name = "st_" + uuid.uuid4().hex[:16]
        self.psql(self.uri_for("postgres"), f"CREATE DATABASE {name}", check=True)
        return self.uri_for(name)

    def drop_database(self, uri):
        name = self.dbname(uri)
        self.psql(self.uri_for("postgres"), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


PG = _Pg()


# ----------------------------------------------------------------------------------------------
# Stores and servers


class Store:
    """What a server runs on: a data dir, plus a fresh PostgreSQL database on that backend."""

    def __init__(self, root, backend=BACKEND):
        self.backend = backend
        self.data_dir = tempfile.mkdtemp(prefix="data-", dir=root)
        self.db_uri = PG.create_database() if backend == "postgres" else None

    def cli_args(self):
        return ["--db", self.db_uri] if self.db_uri else ["--data-dir", self.data_dir]

    def serve_args(self):
        args = ["--data-dir", self.data_dir]
        if self.db_uri:
            args += ["--db", self.db_uri]
        return args

    @property
    def sqlite_path(self):
        return os.path.join(self.data_dir, "studio.db")

    def sql(self, statement):
        """Runs SQL against the store directly (sqlite3 CLI / psql); returns CompletedProcess."""
        if self.db_uri:
            return PG.psql(self.db_uri, statement)
        return subprocess.run(["sqlite3", "-bail", "-batch", self.sqlite_path, statement],
                              capture_output=True, text=True, timeout=60)

    def sql_ok(self, statement):
        r = self.sql(statement)
        if r.returncode != 0:
            raise AssertionError(f"SQL failed: {statement}\n{r.stderr}")
        return r.stdout

    def bootstrap(self, username=ADMIN_USER, password=ADMIN_PASSWORD):
        r = run_cli(["admin", "bootstrap", "--username", username, "--password-stdin", "--json"]
                    + self.cli_args(), input=password + "\n")
        if r.returncode != 0:
            raise AssertionError(f"studio admin bootstrap exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"bootstrap --json printed no JSON: {r.stdout!r}")
        return out

    def drop(self):
        if self.db_uri:
            PG.drop_database(self.db_uri)


class Client(requests.Session):
    """requests.Session bound to a server; paths are relative to it. When `origin` is true,
    requests carry a matching Origin header (what a browser sends)."""

    def __init__(self, server, origin=True):
        super().__init__()
        self.server = server
        self.origin = origin
        server.clients.add(self)

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.server.base + url
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        headers = dict(kwargs.pop("headers", None) or {})
        if self.origin and "Origin" not in headers:
            headers["Origin"] = self.server.base
        kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


_ALL_SERVERS = []


@atexit.register
def _kill_all_servers():
    for s in list(_ALL_SERVERS):
        s.kill()


class StudioServer:
    def __init__(self, store, extra_args=(), env=None, log_dir=None, raw_args=None, cwd=None):
        """raw_args: the complete `studio serve` arguments (no --host/--port/--data-dir added);
        then start(port=...) must name the port the server is expected to listen on."""
        self.store = store
        self.extra_args = list(extra_args)
        self.raw_args = raw_args
        self.cwd = cwd
        self.env = dict(env or {})
        self.log_dir = log_dir or store.data_dir + ".logs"
        os.makedirs(self.log_dir, exist_ok=True)
        self.proc = None
        self.port = None
        self.admin_password = ADMIN_PASSWORD
        self._admin = None
        self._starts = 0
        self.stderr_path = None
        self.stdout_path = None
        self.clients = weakref.WeakSet()
        _ALL_SERVERS.append(self)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def start(self, port=None, timeout=30):
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.port = port or free_port()
        self._starts += 1
        self.stdout_path = os.path.join(self.log_dir, f"serve-{self._starts}.stdout")
        self.stderr_path = os.path.join(self.log_dir, f"serve-{self._starts}.stderr")
        if self.raw_args is not None:
            assert port, "raw_args needs the expected port"
            cmd = [STUDIO_BIN, "serve"] + [str(a) for a in self.raw_args]
        else:
            cmd = [STUDIO_BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port)] \
                + self.store.serve_args() + self.extra_args
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("STUDIO_") and not k.startswith("STUDIO_TEST"))}
        env.update(self.env)
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, cwd=self.cwd, preexec_fn=_die_with_parent)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"studio serve exited with {self.proc.returncode} before "
                                     f"ready\n{self.log_tail()}")
            try:
                r = requests.get(self.url("/readyz"), timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"studio serve not ready after {timeout}s (last: {last})\n"
                             f"{self.log_tail()}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        # Idle keep-alive connections hold the server's drain until its keep-alive timeout;
        # close ours first so the suite stays fast.
        for c in list(self.clients):
            c.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"studio serve did not exit within {timeout}s of SIGTERM")
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        rc = self.stop()
        self._admin = None
        self.start()
        return rc

    def stderr_text(self):
        return Path(self.stderr_path).read_text(errors="replace") if self.stderr_path else ""

    def stdout_text(self):
        return Path(self.stdout_path).read_text(errors="replace") if self.stdout_path else ""

    def log_tail(self, n=40):
        lines = (self.stdout_text() + self.stderr_text()).splitlines()
        return "--- server output (tail) ---\n" + "\n".join(lines[-n:])

    # -- clients -------------------------------------------------------------------------------

    def client(self, origin=True):
        return Client(self, origin=origin)

    def login(self, username, password, origin=True):
        c = Client(self, origin=origin)
        r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
        if r.status_code != 200:
            raise AssertionError(f"login as {username} failed: {r.status_code} {r.text}")
        return c

    def token_client(self, token):
        c = Client(self, origin=False)
        c.headers["Authorization"] = "Bearer " + token
        return c

    def make_token(self, client, name="test"):
        r = client.post("/api/v1/tokens", json={"name": name})
        if r.status_code != 201:
            raise AssertionError(f"token create failed: {r.status_code} {r.text}")
        return r.json()["token"]

    def token_for(self, username, password, name="test"):
        """An API token for a user, made with HTTP Basic (one password check)."""
        c = Client(self, origin=False)
        r = c.post("/api/v1/tokens", json={"name": name}, auth=(username, password))
        if r.status_code != 201:
            raise AssertionError(f"token create for {username} failed: {r.status_code} {r.text}")
        return r.json()["token"]

    @property
    def admin(self):
        """A Bearer-token client for the bootstrap admin (login once per server)."""
        if self._admin is None:
            sess = self.login(ADMIN_USER, self.admin_password)
            self._admin = self.token_client(self.make_token(sess, "harness-admin"))
        return self._admin

    def create_user(self, username, roles, password=None):
        password = password or f"pw-{username}-{uuid.uuid4().hex[:8]}"
        r = self.admin.post("/api/v1/users", json={"username": username, "password": password,
                                                  "roles": list(roles)})
        if r.status_code != 201:
            raise AssertionError(f"create user {username} failed: {r.status_code} {r.text}")
        user = r.json()
        user["password"] = password
        return user

    def user_client(self, username, roles):
        """Creates a user and returns (user, Bearer client)."""
        u = self.create_user(username, roles)
        return u, self.token_client(self.token_for(username, u["password"]))


# ----------------------------------------------------------------------------------------------
# Test base class


class StudioTestCase(unittest.TestCase):
    """One bootstrapped server per class (fresh data dir / fresh PostgreSQL database).
    Tests that need their own server call self.new_server()."""

    start_class_server = True
    server_args = ()
    server_env = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(STUDIO_BIN):
            raise RuntimeError(f"studio binary not built: {STUDIO_BIN}")
        cls.tmp = tempfile.mkdtemp(prefix="studio-it-")
        cls._class_stores = []
        cls.addClassCleanup(cls._class_cleanup)
        cls.server = None
        if cls.start_class_server:
            cls.store = cls.make_store()
            cls.bootstrap_out = cls.store.bootstrap()
            cls.server = StudioServer(cls.store, extra_args=cls.server_args, env=cls.server_env)
            cls.server.admin_password = cls.bootstrap_out.get("password", ADMIN_PASSWORD)
            cls.server.start()

    @classmethod
    def make_store(cls):
        s = Store(cls.tmp)
        cls._class_stores.append(s)
        return s

    @classmethod
    def _class_cleanup(cls):
        for s in list(_ALL_SERVERS):
            s.kill()
        _ALL_SERVERS.clear()
        for st in cls._class_stores:
            try:
                st.drop()
            except Exception:
                pass
        if KEEP:
            sys.stderr.write(f"\n[kept {cls.tmp}]\n")
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def new_store(self):
        return self.make_store()

    def new_server(self, store=None, bootstrap=True, start=True, extra_args=(), env=None):
        store = store or self.new_store()
        srv = StudioServer(store, extra_args=extra_args, env=env)
        self.addCleanup(srv.kill)
        if bootstrap:
            srv.admin_password = store.bootstrap().get("password", ADMIN_PASSWORD)
        if start:
            srv.start()
        return srv

    # -- assertions ----------------------------------------------------------------------------

    def assertStatus(self, resp, status, msg=""):
        statuses = status if isinstance(status, (tuple, list, set)) else (status,)
        self.assertIn(resp.status_code, statuses,
                      f"{resp.request.method} {resp.request.url}: expected {status}, got "
                      f"{resp.status_code} {resp.text[:500]} {msg}")

    def assertError(self, resp, status, codes=None, field=None):
        """An error response per docs/api.md: status, {"error_code","message"[,"details"]}."""
        self.assertStatus(resp, status)
        self.assertTrue(resp.headers.get("Content-Type", "").startswith("application/json"),
                        f"error body is not JSON: {resp.headers.get('Content-Type')}")
        body = resp.json()
        self.assertIsInstance(body.get("error_code"), str, body)
        self.assertIsInstance(body.get("message"), str, body)
        if codes:
            codes = (codes,) if isinstance(codes, str) else codes
            self.assertIn(body["error_code"], codes, body)
        if field is not None:
            details = body.get("details")
            self.assertIsInstance(details, dict, f"no details object naming {field!r}: {body}")
            self.assertTrue(any(k == field or k.startswith(field + ".")
                                or k.startswith(field + "[") for k in details),
                            f"details do not name {field!r}: {body}")
        # No stack traces or SQL leak into error messages.
        text = json.dumps(body).lower()
        for bad in ("select ", "insert into", "sqlite", "syntax error at", "traceback",
                    "std::", "terminate called"):
            self.assertNotIn(bad, text, f"error body leaks internals: {body}")
        return body


def list_all(client, path, params=None, page_size=1000):
    """Follows next_page_token; returns all items."""
    items, token = [], None
    params = dict(params or {})
    for _ in range(10000):
        p = dict(params, max_results=page_size)
        if token:
            p["page_token"] = token
        r = client.get(path, params=p)
        if r.status_code != 200:
            raise AssertionError(f"GET {path} {p}: {r.status_code} {r.text}")
        body = r.json()
        items += body["items"]
        token = body.get("next_page_token")
        if not token:
            return items
    raise AssertionError("pagination did not terminate")


def skip_unless_sqlite_run(reason="backend-independent; runs in the sqlite variant only"):
    return unittest.skipIf(BACKEND != "sqlite", reason)
