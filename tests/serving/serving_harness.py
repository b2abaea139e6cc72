"""Harness for `studio serve-model` tests: fixture packages (fixtures.py) and a server process
on a free loopback port, stopped with SIGTERM (and required to exit 0)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from harness import REPO_ROOT, STUDIO_BIN, KEEP, _die_with_parent, free_port  # noqa: E402

_FIXTURES = None


def fixtures():
    """Builds the fixture packages once per test process; returns (dir, expected)."""
    global _FIXTURES
    if _FIXTURES is None:
        d = tempfile.mkdtemp(prefix="serving-fixtures-")
        subprocess.run(["/usr/bin/python3", str(HERE / "fixtures.py"), d], check=True)
        with open(os.path.join(d, "expected.json")) as f:
            _FIXTURES = (d, json.load(f))
    return _FIXTURES


class ModelServerProcess:
    def __init__(self, args, env=None):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="serve-model-", suffix=".log", delete=not KEEP)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        full_env.update(env or {})
        cmd = [STUDIO_BIN, "serve-model", "--host", "127.0.0.1", "--port", str(self.port)] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=full_env,
                                     preexec_fn=_die_with_parent)
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()

    def url(self, path):
        return self.base + path

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve-model exited {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(self.url("/ready"), timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError("serve-model not ready:\n" + self.log_text())

    def get(self, path, **kw):
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path, **kw):
        return self.session.post(self.url(path), timeout=60, **kw)

    def log_text(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve-model did not stop on SIGTERM")
        self.session.close()
        return self.proc.returncode


class ServingTestCase(unittest.TestCase):
    """One server per class on the `model` fixture (override `model` / `extra_args`)."""
    model = "xgb"
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir, cls.expected = fixtures()
        cls.server = ModelServerProcess(
            ["--model", os.path.join(cls.fixture_dir, cls.model), "--name", "m",
             "--model-version", "1", "--workers", "2"] + list(cls.extra_args)).wait_ready()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        assert rc == 0, f"serve-model exited {rc} on SIGTERM:\n{cls.server.log_text()}"

    def assertClose(self, got, want, rel=1e-6):
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            if isinstance(w, list):
                self.assertClose(g, w, rel)
            else:
                self.assertLessEqual(abs(g - w), rel * max(1.0, abs(w)), (got, want))
