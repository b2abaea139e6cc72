"""Creates the baseline's SQLite database: the same rows the studio side of the benchmark has
(one admin user with its role binding, one API token stored as SHA-256, one project with tags),
in WAL mode, with the same tables and columns as studio's SQLite schema for those rows.

Usage: /usr/bin/python3 bench/baseline/seed.py DB_PATH
Prints JSON {"token": "...", "project_id": "...", "project_name": "..."} on stdout.
"""
import hashlib
import json
import secrets
import sqlite3
import sys
import time
import uuid

SCHEMA = """
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
CREATE TABLE users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE role_bindings (
  user_id TEXT NOT NULL REFERENCES users(id), role TEXT NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, role));
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0, last_used_at BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE TABLE projects (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL, github_repo TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '{}',
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
"""


def now():
    return int(time.time() * 1000)  # ms since the epoch, as studio's schema stores it


def main():
    path = sys.argv[1]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    ts = now()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'init', ?)", (ts,))
    uid = str(uuid.uuid4())
    conn.execute("INSERT INTO users VALUES (?, 'admin', 'unused', 0, ?, ?)", (uid, ts, ts))
    conn.execute("INSERT INTO role_bindings VALUES (?, 'admin', ?)", (uid, ts))
    token = "stb_" + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens VALUES (?, ?, 'bench', ?, ?, ?, 0, 0, 0)",
        (str(uuid.uuid4()), uid, hashlib.sha256(token.encode()).hexdigest(), token[:8], ts),
    )
    pid = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO projects VALUES (?, 'bench-project', ?, 'admin', 'https://github.com/example/bench', ?, 'admin', ?, ?)",
        (pid, "project used by bench/run.sh", json.dumps({"team": "platform", "tier": "gold"}), ts, ts),
    )
    conn.execute("COMMIT")
    conn.close()
    print(json.dumps({"token": token, "project_id": pid, "project_name": "bench-project"}))


if __name__ == "__main__":
    main()
