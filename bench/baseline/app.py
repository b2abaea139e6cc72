"""Python baseline for bench/run.sh: the same control-plane GET a Flask/gunicorn shop would write.

It does the same work as `studio serve` for the routes the benchmark hits:
  GET /healthz                 -> {"status":"ok"}
  GET /readyz                  -> opens SQLite, reads the schema version -> {"status":"ready","schema_version":N}
  GET /api/v1/projects/<id>    -> Host check, bearer token looked up as SHA-256 in SQLite (joined with its
                                  user: revoked / expired / disabled checks; last use noted at most once a minute;
                                  then the user's roles), project row read by id or name,
                                  JSON body, X-Request-Id header; errors as {"error_code","message"}.

It is written to be fair to Python: one SQLite connection per thread, reused across requests (like a
connection pool), json.dumps straight into a Response (no jsonify/app context work), no access log.
Run it with:  BASELINE_DB=path /usr/bin/python3 -m gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/baseline app:app
"""
import datetime
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import uuid

from flask import Flask, Response, request

DB_PATH = os.environ.get("BASELINE_DB", "baseline.db")
ALLOWED_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

app = Flask(__name__)
_local = threading.local()


def db():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_PATH, timeout=5.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        _local.conn = conn
    return conn


def _rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def _json(status, obj, request_id):
    resp = Response(json.dumps(obj, separators=(",", ":")), status=status, mimetype="application/json")
    resp.headers["X-Request-Id"] = request_id
    return resp


def _error(status, code, message, request_id):
    return _json(status, {"error_code": code, "message": message}, request_id)


def _request_id():
    rid = request.headers.get("X-Request-Id", "")
    return rid if _REQUEST_ID_RE.match(rid) else str(uuid.uuid4())


def _host_ok():
    host = request.headers.get("Host", "")
    if host.startswith("["):
        name = host[: host.find("]") + 1]
    else:
        name = host.rsplit(":", 1)[0] if ":" in host else host
    return name in ALLOWED_HOSTS


def _authenticate():
    """Returns ((username, roles), None) or (None, error message)."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None, "missing credentials"
    token_hash = hashlib.sha256(auth[7:].strip().encode()).hexdigest()
    conn = db()
    row = conn.execute(
        "SELECT u.id, u.username, u.disabled, t.id, t.expires_at, t.revoked_at, t.last_used_at "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None, "invalid token"
    user_id, username, disabled, token_id, expires_at, revoked_at, last_used_at = row
    now = int(time.time() * 1000)
    if revoked_at or disabled:
        return None, "invalid token"
    if expires_at and expires_at <= now:
        return None, "token expired"
    if now - last_used_at > 60000:  # like studio: note the token's use at most once a minute
        try:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))
        except sqlite3.Error:
            pass  # best effort
    roles = [r[0] for r in conn.execute("SELECT role FROM role_bindings WHERE user_id = ? ORDER BY role", (user_id,))]
    return (username, roles), None


@app.get("/healthz")
def healthz():
    return _json(200, {"status": "ok"}, _request_id())


@app.get("/readyz")
def readyz():
    rid = _request_id()
    try:
        version = db().execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    except sqlite3.Error:
        return _error(503, "TEMPORARILY_UNAVAILABLE", "database unavailable", rid)
    return _json(200, {"status": "ready", "schema_version": version}, rid)


@app.get("/api/v1/projects/<pid>")
def get_project(pid):
    rid = _request_id()
    if not _host_ok():
        return _error(400, "BAD_REQUEST", "host not allowed", rid)
    user, problem = _authenticate()
    if user is None:
        return _error(401, "UNAUTHENTICATED", problem, rid)
    row = db().execute(
        "SELECT id, name, description, owner, github_repo, tags, created_by, created_at, updated_at "
        "FROM projects WHERE id = ? OR name = ?",
        (pid, pid),
    ).fetchone()
    if row is None:
        return _error(404, "RESOURCE_DOES_NOT_EXIST", "project %s not found" % pid, rid)
    keys = ("id", "name", "description", "owner", "github_repo", "tags", "created_by", "created_at", "updated_at")
    project = dict(zip(keys, row))
    project["tags"] = json.loads(project["tags"] or "{}")
    project["created_at"] = _rfc3339(project["created_at"])
    project["updated_at"] = _rfc3339(project["updated_at"])
    return _json(200, project, rid)
