#!/usr/bin/python3
"""Registry-at-scale and artifacts-proxy benchmark: `studio serve` against its baselines, in one run.

Called by bench/run.sh after bench.py (so by `make bench`). Loopback only, bounded time.
  1. Registry at scale: MODELS registered models x VERSIONS versions each, one alias per model
     ("champion"). studio is seeded through its MLflow REST API (a pool of 16 threads, one
     keep-alive connection each); the baseline (bench/baseline/registry_app.py: Flask + gunicorn
     -w 2 + SQLAlchemy ORM on MLflow's tables and query pattern, a stand-in for MLflow's tracking
     server on its SQL store) is seeded with SQLAlchemy bulk inserts. Both data dirs live on
     /dev/shm (fsync is cheap there: the seeding rate is not a disk figure). Then, one client on one
     keep-alive connection, sequential requests, p50 / p99 of:
        GET /api/2.0/mlflow/registered-models/search?filter=name LIKE '%model-0NN%'&max_results=100
            (each pattern matches 1% of the names: 100 models)
        GET /api/2.0/mlflow/registered-models/alias?name=..&alias=champion
        GET /api/2.0/mlflow/model-versions/search?filter=name='..'
     Up to --requests per endpoint and server, stopping early at --time-cap seconds (the baseline's
     search takes hundreds of ms); the sample count is printed.
  2. Artifacts: a SIZE file is PUT (curl -T) through studio's artifacts proxy and GOT back
     (curl -o), both streamed, against `cp` of the same file on the same disk; SHA-256 of the round
     trip checked; studio's VmRSS sampled every 20 ms during the transfers and VmHWM read after.
     Files live on the /work disk (--artifact-dir, default the build dir) and are deleted after.
If an endpoint is not in the binary (404), that part prints "skipped: <endpoint> not available".
Every server runs in its own process group (PR_SET_PDEATHSIG), is recorded in WORKDIR/pids and
killed on exit. Exit code: 0, or 2 on a real error (bad response, server crash, timeout).
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (process handling, ports, machine info, table: shared with bench.py)
from bench import BenchError, Servers, clean_env, free_port, log, wait_ready  # noqa: E402

PYTHON = bench.PYTHON
BASELINE_DIR = bench.BASELINE_DIR
ADMIN_PASSWORD = bench.ADMIN_PASSWORD
SEED_WORKERS = 16
TARGET_ARTIFACT_RATIO = 0.5  # studio throughput / cp throughput
MLFLOW = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class Skip(Exception):
    pass


def model_name(i):
    return "model-%05d" % i


def alias_version(i, per_model):
    return i % per_model + 1  # the same rule as baseline/registry_seed.py


# ---------------------------------------------------------------- HTTP client


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects once if the server closed it."""

    def __init__(self, port, token=None, timeout=30.0):
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": "Bearer " + token} if token else {}
        self.conn = None

    def request(self, method, path, body=None, extra=None, raw=None):
        data = raw
        hdrs = dict(self.headers)
        hdrs.update(extra or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, resp.getheaders(), payload
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def q(params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def expect(status, payload, what, ok=(200,)):
    if status not in ok:
        raise BenchError("%s: HTTP %d %r" % (what, status, payload[:300]))
    try:
        return json.loads(payload) if payload else {}
    except ValueError:
        raise BenchError("%s: response is not JSON: %r" % (what, payload[:200]))


# ---------------------------------------------------------------- studio setup


def studio_serve(studio, data_dir, port, extra=()):
    return [studio, "serve", "--data-dir", data_dir, "--host", "127.0.0.1", "--port", str(port)] + list(extra)


def studio_token(port, password):
    c = Client(port, timeout=15)
    st, headers, body = c.request("POST", "/api/v1/auth/login", {"username": "admin", "password": password})
    if st != 200:
        raise BenchError("login: HTTP %d %r" % (st, body[:300]))
    cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
    session = [x for x in cookies if x.startswith("studio_session=")]
    if not session:
        raise BenchError("login: no studio_session cookie")
    st, _, body = c.request("POST", "/api/v1/tokens", {"name": "bench"},
                            {"Cookie": session[0], "Origin": "http://127.0.0.1:%d" % port})
    c.close()
    token = expect(st, body, "create token", ok=(200, 201)).get("token")
    if not token:
        raise BenchError("create token: no token in %r" % body[:300])
    return token


def start_studio(servers, studio, data_dir, workdir, name, extra=()):
    """Bootstraps data_dir (if new), starts studio serve, returns (proc, port, token)."""
    if not os.path.exists(os.path.join(data_dir, "studio.db")):
        password = bench.studio_bootstrap(studio, data_dir, workdir)
    else:
        password = ADMIN_PASSWORD
    port = free_port()
    proc, t0 = servers.spawn(studio_serve(studio, data_dir, port, extra), name, env=clean_env())
    wait_ready(proc, port, t0, timeout=30.0)
    return proc, port, studio_token(port, password)


def probe(client, path, endpoint):
    """Raises Skip when the route is not in the binary (404 that is not a resource error)."""
    st, _, body = client.request("GET", path)
    if st == 404:
        try:
            code = json.loads(body).get("error_code", "")
        except ValueError:
            code = ""
        if code != "RESOURCE_DOES_NOT_EXIST":
            raise Skip("%s not available" % endpoint)
    if st == 503 and b"TEMPORARILY_UNAVAILABLE" in body:
        raise Skip("%s not available (%s)" % (endpoint, body[:200].decode(errors="replace")))
    return st, body


# ---------------------------------------------------------------- 1. registry


def seed_studio(port, token, models, per_model, deadline):
    """Creates the models, versions and aliases through the MLflow REST API with SEED_WORKERS threads."""
    local = threading.local()
    stop = threading.Event()

    def client():
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = Client(port, token)
        return c

    def one_model(i):
        if stop.is_set():
            return
        if time.monotonic() > deadline:
            stop.set()
            raise BenchError("seeding studio did not finish within the time budget (%d models asked)" % models)
        c, name = client(), model_name(i)
        st, _, body = c.request("POST", MLFLOW + "/registered-models/create", {"name": name})
        expect(st, body, "registered-models/create " + name)
        for v in range(1, per_model + 1):
            st, _, body = c.request("POST", MLFLOW + "/model-versions/create",
                                    {"name": name, "source": "mlflow-artifacts:/seed/%s/%d" % (name, v)})
            doc = expect(st, body, "model-versions/create %s" % name)
            got = doc.get("model_version", {}).get("version")
            if got != str(v):
                raise BenchError("model-versions/create %s: version %r, expected %r (as a string)" % (name, got, str(v)))
        st, _, body = c.request("POST", MLFLOW + "/registered-models/alias",
                                {"name": name, "alias": "champion", "version": str(alias_version(i, per_model))})
        expect(st, body, "registered-models/alias " + name)

    t0 = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        futures = [pool.submit(one_model, i) for i in range(models)]
        try:
            for n, f in enumerate(futures):
                f.result()
                done = n + 1
                if done % 2000 == 0:
                    log("bench: registry: seeded %d/%d models (%.0f s)" % (done, models, time.perf_counter() - t0))
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
    return time.perf_counter() - t0


def _self_cpu():
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def timed_requests(client, paths, what, check, max_requests, time_cap):
    """Sequential requests on one keep-alive connection; returns latencies in ms."""
    lat = []
    t_end = time.perf_counter() + time_cap
    for n, path in enumerate(paths[:max_requests]):
        t0 = time.perf_counter()
        st, _, body = client.request("GET", path)
        dt = (time.perf_counter() - t0) * 1000.0
        doc = expect(st, body, what)
        check(doc, path)
        lat.append(dt)
        if time.perf_counter() > t_end and n >= 19:
            break
    return lat


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def registry_workload(models, per_model, n, seed=1234):
    """The same request paths for every server (fixed random seed)."""
    rnd = random.Random(seed)
    prefixes = sorted({model_name(i)[:-2] for i in range(models)})  # "model-000", "model-001", ...: 100 names each
    search, alias, versions = [], [], []
    for _ in range(n):
        pre = rnd.choice(prefixes)
        search.append((MLFLOW + "/registered-models/search?" +
                       q({"filter": "name LIKE '%%%s%%'" % pre, "max_results": 100}), pre))
        i = rnd.randrange(models)
        alias.append((MLFLOW + "/registered-models/alias?" + q({"name": model_name(i), "alias": "champion"}), i))
        j = rnd.randrange(models)
        versions.append((MLFLOW + "/model-versions/search?" + q({"filter": "name='%s'" % model_name(j)}), j))
    return search, alias, versions


def measure_registry(port, token, models, per_model, n, time_cap, who):
    search, alias, versions = registry_workload(models, per_model, n)
    expected_hits = min(100, sum(1 for i in range(models) if model_name(i).startswith(search[0][1])))
    c = Client(port, token)
    # Warm-up (connections, worker imports, SQLite page cache), not counted.
    for path, _ in search[:2] + alias[:3] + versions[:3]:
        c.request("GET", path)

    search_pre = dict(search)

    def check_search(doc, path):
        rms = doc.get("registered_models", [])
        pre = search_pre[path]
        if len(rms) != min(100, expected_hits) or not all(pre in m["name"] for m in rms):
            raise BenchError("%s search %s: %d models, expected %d" % (who, path, len(rms), expected_hits))
        lv = rms[0].get("latest_versions", [])
        if not lv or lv[0].get("version") != str(per_model):
            raise BenchError("%s search: latest_versions of %s is %r" % (who, rms[0]["name"], lv))
        if rms[0].get("aliases") != [{"alias": "champion",
                                      "version": str(alias_version(int(rms[0]["name"][6:]), per_model))}]:
            raise BenchError("%s search: aliases of %s are %r" % (who, rms[0]["name"], rms[0].get("aliases")))

    alias_of = dict(alias)

    def check_alias(doc, path):
        i = alias_of[path]
        mv = doc.get("model_version", {})
        if mv.get("name") != model_name(i) or mv.get("version") != str(alias_version(i, per_model)):
            raise BenchError("%s alias %s: got %r" % (who, path, mv))

    versions_of = dict(versions)

    def check_versions(doc, path):
        mvs = doc.get("model_versions", [])
        j = versions_of[path]
        if len(mvs) != per_model or any(v.get("name") != model_name(j) for v in mvs):
            raise BenchError("%s model-versions/search %s: %d versions" % (who, path, len(mvs)))
        champ = [v for v in mvs if "champion" in (v.get("aliases") or [])]
        if [v["version"] for v in champ] != [str(alias_version(j, per_model))]:
            raise BenchError("%s model-versions/search %s: alias champion on %r" % (who, path, [v["version"] for v in champ]))

    out = {}
    for key, paths, check in (("search", search, check_search), ("alias", alias, check_alias),
                              ("versions", versions, check_versions)):
        lat = timed_requests(c, [p for p, _ in paths], "%s %s" % (who, key), check, n, time_cap)
        out[key] = {"n": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "mean_ms": statistics.mean(lat)}
    c.close()
    return out


def part_registry(args, servers, shm):
    res = {}
    data_dir = os.path.join(shm, "studio-registry")
    proc, port, token = start_studio(servers, args.studio, data_dir, args.workdir, "studio-registry")
    c = Client(port, token)
    probe(c, MLFLOW + "/registered-models/search?max_results=1", "GET %s/registered-models/search" % MLFLOW)
    probe(c, MLFLOW + "/registered-models/alias?name=none&alias=none", "GET %s/registered-models/alias" % MLFLOW)
    probe(c, MLFLOW + "/model-versions/search?filter=" + urllib.parse.quote("name='none'"),
          "GET %s/model-versions/search" % MLFLOW)
    c.close()

    log("bench: registry: seeding studio with %d models x %d versions + %d aliases (%d threads, REST API)"
        % (args.models, args.versions, args.models, SEED_WORKERS))
    cpu0 = (bench.tree_cpu_seconds(proc.pid), _self_cpu(), bench.machine_busy_seconds())
    seed_s = seed_studio(port, token, args.models, args.versions, time.monotonic() + args.seed_budget)
    cpu1 = (bench.tree_cpu_seconds(proc.pid), _self_cpu(), bench.machine_busy_seconds())
    writes = args.models * (args.versions + 2)
    res["studio_seed"] = {"seconds": seed_s, "writes": writes, "writes_per_s": writes / seed_s,
                          "rss_kb": bench.status_kb(proc.pid, "VmRSS"), "studio_cpu_s": cpu1[0] - cpu0[0],
                          "client_cpu_s": cpu1[1] - cpu0[1],
                          "other_cpu_s": max(0.0, (cpu1[2] - cpu0[2]) - (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1]))}
    res["studio_db_bytes"] = sum(os.path.getsize(os.path.join(data_dir, f)) for f in os.listdir(data_dir)
                                 if f.startswith("studio.db"))
    log("bench: registry: studio seeded in %.0f s (%.0f writes/s); measuring" % (seed_s, writes / seed_s))
    res["studio"] = measure_registry(port, token, args.models, args.versions, args.requests, args.time_cap, "studio")
    res["studio_rss_kb"] = bench.status_kb(proc.pid, "VmRSS")
    servers.stop(proc)

    bdb = os.path.join(shm, "registry-baseline.db")
    log("bench: registry: seeding the baseline (SQLAlchemy bulk inserts)")
    seed = subprocess.run([PYTHON, os.path.join(BASELINE_DIR, "registry_seed.py"), bdb, str(args.models),
                           str(args.versions)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if seed.returncode != 0:
        raise BenchError("baseline seed failed: %s" % seed.stderr.decode(errors="replace")[-800:])
    res["baseline_seed"] = json.loads(seed.stdout)
    res["baseline_db_bytes"] = os.path.getsize(bdb)
    bport = free_port()
    argv = [PYTHON, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:%d" % bport, "--chdir", BASELINE_DIR,
            "--log-level", "warning", "--timeout", "120", "registry_app:app"]
    bproc, t0 = servers.spawn(argv, "gunicorn-registry", env=clean_env({"REGISTRY_DB": bdb}))
    wait_ready(bproc, bport, t0, timeout=30.0)
    log("bench: registry: measuring the baseline (gunicorn -w 2 + Flask + SQLAlchemy ORM)")
    res["baseline"] = measure_registry(bport, None, args.models, args.versions, args.requests, args.time_cap,
                                       "baseline")
    res["baseline_rss_kb"] = bench.memory(bproc.pid)["rss_kb"]
    servers.stop(bproc)
    return res


# ---------------------------------------------------------------- 2. artifacts


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                self.peak = max(self.peak, bench.status_kb(self.pid, "VmRSS"))
                self.samples += 1
            except OSError:
                return
            self.halt.wait(self.interval)

    def stop(self):
        self.halt.set()
        self.join(5)
        return self.peak


def make_file(path, size):
    """Random bytes (16 MiB of os.urandom, each block's first 8 bytes its index); returns SHA-256."""
    block = bytearray(os.urandom(16 << 20))
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            block[:8] = i.to_bytes(8, "little")
            chunk = memoryview(block)[:min(left, len(block))]
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
            i += 1
    return h.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(8 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def curl(args_list, timeout):
    t0 = time.perf_counter()
    p = subprocess.run(["curl", "-sS", "--max-time", str(int(timeout))] + args_list,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 10)
    return time.perf_counter() - t0, p


def part_artifacts(args, servers, shm):
    res = {"size": args.artifact_bytes}
    base = tempfile.mkdtemp(prefix="registry-bench-artifacts.", dir=args.artifact_dir)
    try:
        store = os.path.join(base, "store")
        os.makedirs(store)
        src, dst_cp, dst_get = (os.path.join(base, n) for n in ("src.bin", "cp.bin", "get.bin"))
        data_dir = os.path.join(shm, "studio-artifacts")
        extra = ["--artifacts", "file://" + store, "--body-limit", str(max(args.artifact_bytes * 2, 1 << 30))]
        proc, port, token = start_studio(servers, args.studio, data_dir, args.workdir, "studio-artifacts", extra)
        c = Client(port, token)
        probe(c, ARTIFACTS + "?path=bench", "GET %s" % ARTIFACTS)
        # A small round trip first: the route exists and works (PUT is not probed by GET).
        st, _, body = c.request("PUT", ARTIFACTS + "/bench/probe.txt", None,
                                {"Content-Type": "application/octet-stream"}, raw=b"probe\n")
        if st == 404:
            raise Skip("PUT %s/<path> not available" % ARTIFACTS)
        expect(st, body, "PUT %s/bench/probe.txt" % ARTIFACTS)
        st, _, body = c.request("GET", ARTIFACTS + "/bench/probe.txt")
        if st != 200 or body != b"probe\n":
            raise BenchError("GET %s/bench/probe.txt: HTTP %d %r" % (ARTIFACTS, st, body[:200]))
        c.close()

        log("bench: artifacts: writing a %d MiB file on %s" % (args.artifact_bytes >> 20, base))
        sha = make_file(src, args.artifact_bytes)
        os.sync()
        t0 = time.perf_counter()
        subprocess.run(["cp", src, dst_cp], check=True, timeout=300)
        res["cp_s"] = time.perf_counter() - t0
        fd = os.open(dst_cp, os.O_RDONLY)
        t1 = time.perf_counter()
        os.fsync(fd)
        os.close(fd)
        res["cp_fsync_s"] = res["cp_s"] + (time.perf_counter() - t1)
        os.unlink(dst_cp)
        os.sync()

        rss_before = bench.status_kb(proc.pid, "VmRSS")
        hwm_before = bench.status_kb(proc.pid, "VmHWM")
        url = "http://127.0.0.1:%d%s/bench/big.bin" % (port, ARTIFACTS)
        auth = ["-H", "Authorization: Bearer " + token]
        log("bench: artifacts: PUT through studio")
        sampler = RssSampler(proc.pid)
        sampler.start()
        up_s, p = curl(auth + ["-H", "Expect:", "-H", "Content-Type: application/octet-stream", "-T", src,
                               "-o", "/dev/null", "-w", "%{http_code}", url], args.artifact_timeout)
        up_peak = sampler.stop()
        code = p.stdout.decode().strip()[-3:]
        if p.returncode != 0 or code != "200":
            raise BenchError("PUT %s: curl exit %d, HTTP %s, %s" % (url, p.returncode, code, p.stderr.decode()[-300:]))
        log("bench: artifacts: GET through studio")
        sampler = RssSampler(proc.pid)
        sampler.start()
        down_s, p = curl(auth + ["-o", dst_get, "-w", "%{http_code}", url], args.artifact_timeout)
        down_peak = sampler.stop()
        code = p.stdout.decode().strip()[-3:]
        if p.returncode != 0 or code != "200":
            raise BenchError("GET %s: curl exit %d, HTTP %s, %s" % (url, p.returncode, code, p.stderr.decode()[-300:]))
        hwm = bench.status_kb(proc.pid, "VmHWM")
        got = sha256_file(dst_get)
        stored = [os.path.join(r, f) for r, _, fs in os.walk(store) for f in fs if f == "big.bin"]
        res.update({"put_s": up_s, "get_s": down_s, "rss_before_kb": rss_before, "vmhwm_before_kb": hwm_before,
                    "rss_peak_put_kb": up_peak,
                    "rss_peak_get_kb": down_peak, "vmhwm_kb": hwm, "sha256": sha, "sha256_ok": got == sha,
                    "stored_size": os.path.getsize(stored[0]) if stored else -1, "dir": base})
        if got != sha:
            raise BenchError("artifact round trip: SHA-256 %s != %s (downloaded %d bytes)"
                             % (got, sha, os.path.getsize(dst_get)))
        servers.stop(proc)
        return res
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- report


def fmt_ms(v):
    return "%.2f ms" % v if v < 10 else ("%.1f ms" % v if v < 100 else "%.0f ms" % v)


def mib_s(nbytes, seconds):
    return nbytes / (1 << 20) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studio", required=True)
    ap.add_argument("--workdir", required=True, help="logs and pids (bench.py's work dir is fine)")
    ap.add_argument("--models", type=int, default=10000)
    ap.add_argument("--versions", type=int, default=10, help="versions per model")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per endpoint and server")
    ap.add_argument("--time-cap", type=float, default=10.0, help="seconds per endpoint and server (min 20 requests)")
    ap.add_argument("--seed-budget", type=float, default=150.0, help="seconds allowed for seeding studio")
    ap.add_argument("--artifact-mib", type=int, default=1024)
    ap.add_argument("--artifact-dir", default="", help="where the artifact files go (default: the studio binary's dir)")
    ap.add_argument("--artifact-timeout", type=float, default=120.0)
    ap.add_argument("--skip", default="", help="comma list: registry,artifacts")
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()
    args.artifact_bytes = args.artifact_mib << 20
    args.artifact_dir = args.artifact_dir or os.path.dirname(os.path.abspath(args.studio))
    skip = set(filter(None, args.skip.split(",")))

    os.makedirs(os.path.join(args.workdir, "logs"), exist_ok=True)
    servers = Servers(args.workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(3))
    started = time.time()
    shm_root = "/dev/shm" if os.path.isdir("/dev/shm") else None
    shm = tempfile.mkdtemp(prefix="studio-registry-bench.", dir=shm_root)
    results, skipped = {}, []
    try:
        info = bench.machine_info(args.studio)
        info["busy_before"] = bench.cpu_busy()
        results["machine"] = info
        for part, fn in (("registry", part_registry), ("artifacts", part_artifacts)):
            if part in skip:
                skipped.append("%s: skipped (--skip)" % part)
                continue
            try:
                results[part] = fn(args, servers, shm)
            except Skip as e:
                log("bench: %s: skipped: %s" % (part, e))
                skipped.append("%s: skipped: %s" % (part, e))
            finally:
                servers.stop_all()
    finally:
        servers.stop_all()
        shutil.rmtree(shm, ignore_errors=True)

    # --- report ---------------------------------------------------------------------------------
    rows = [("metric", "studio", "baseline", "ratio (>1: studio better)", "target", "")]
    reg = results.get("registry")
    if reg:
        labels = {"search": "registered-models/search name LIKE (100 hits)",
                  "alias": "registered-models/alias (get by alias)",
                  "versions": "model-versions/search name= (10 hits)"}
        for key in ("search", "alias", "versions"):
            s, b = reg["studio"][key], reg["baseline"][key]
            for p in ("p50", "p99"):
                rows.append(("%s %s (n=%d/%d)" % (labels[key], p, s["n"], b["n"]) if p == "p50" else "  " + p,
                             fmt_ms(s[p + "_ms"]), fmt_ms(b[p + "_ms"]),
                             "%.1fx" % (b[p + "_ms"] / max(s[p + "_ms"], 1e-6)), "-", ""))
    art = results.get("artifacts")
    if art:
        size = art["size"]
        cp = mib_s(size, art["cp_s"])
        for key, label in (("put_s", "artifact PUT (curl -T) MiB/s"), ("get_s", "artifact GET (curl -o) MiB/s")):
            ratio = mib_s(size, art[key]) / cp
            rows.append((label, "%.0f" % mib_s(size, art[key]), "%.0f (cp)" % cp, "%.2fx" % ratio,
                         ">= %.1fx cp" % TARGET_ARTIFACT_RATIO, "PASS" if ratio >= TARGET_ARTIFACT_RATIO else "MISS"))
        rows.append(("studio peak RSS during PUT / GET", "%.1f / %.1f MB" % (art["rss_peak_put_kb"] / 1024.0,
                                                                          art["rss_peak_get_kb"] / 1024.0),
                     "-", "-", "flat", ""))
    print()
    print("MLOps Studio registry-at-scale and artifacts benchmark (%s)" % time.strftime("%Y-%m-%d %H:%M:%S"))
    print("machine : %d cores, %s, %.1f GiB RAM, Linux %s" % (info["nproc"], info["cpu"], info["mem_gib"], info["kernel"]))
    print("studio  : %s" % info["studio_version"])
    if info["busy_before"] > 0.15:
        print("WARNING : the machine was %.0f%% busy before the bench started (another build or test?): "
              "the figures below are unreliable; rerun on an idle machine" % (100 * info["busy_before"]))
    for s in skipped:
        print(s)
    if reg:
        print("registry: %d models x %d versions + 1 alias each; data dirs on /dev/shm (tmpfs: fsync is cheap, "
              "so seeding rates are not disk figures)" % (args.models, args.versions))
        print("baseline: bench/baseline/registry_app.py, Flask + SQLAlchemy %s ORM under gunicorn -w 2 (sync), "
              "MLflow's tables (primary keys only) and query pattern; no auth; %s"
              % (_sqlalchemy_version(), info["python"]))
        print("client  : one keep-alive connection, sequential GETs, same request paths for both; "
              "up to %d per endpoint, %.0f s cap (n=studio/baseline)" % (args.requests, args.time_cap))
    if art:
        print("artifacts: %d MiB random file on %s (the /work disk; deleted after), page cache warm for "
              "every reader; studio --artifacts file://... on the same disk" % (art["size"] >> 20, art["dir"]))
    if len(rows) > 1:
        print()
        print(bench.table(rows))
    print()
    print("details:")
    if reg:
        ss = reg["studio_seed"]
        print("  studio seeding (REST, %d threads) : %d writes in %.1f s = %.0f writes/s; RSS after %.1f MB; "
              "DB %.0f MB" % (SEED_WORKERS, ss["writes"], ss["seconds"], ss["writes_per_s"], ss["rss_kb"] / 1024.0,
                              reg["studio_db_bytes"] / 1e6))
        print("  CPU during seeding               : studio %.1f s (%.0f us/write), this client %.1f s, other "
              "processes %.1f s, of %.1f s available" % (ss["studio_cpu_s"], 1e6 * ss["studio_cpu_s"] / ss["writes"],
                                                        ss["client_cpu_s"], ss["other_cpu_s"],
                                                        ss["seconds"] * (info["nproc"] or 1)))
        print("  baseline seeding (bulk insert)   : %.1f s; DB %.0f MB"
              % (reg["baseline_seed"]["seconds"], reg["baseline_db_bytes"] / 1e6))
        print("  RSS after the queries            : studio %.1f MB; baseline (master + 2 workers) %.1f MB"
              % (reg["studio_rss_kb"] / 1024.0, reg["baseline_rss_kb"] / 1024.0))
        for who in ("studio", "baseline"):
            print("  %-8s means (ms)                : search %.2f, alias %.2f, versions %.2f"
                  % (who, reg[who]["search"]["mean_ms"], reg[who]["alias"]["mean_ms"], reg[who]["versions"]["mean_ms"]))
        print("  for scale, MLflow 3.6 itself     : search LIKE p50 ~2000 ms, alias p50 33.5 ms, versions search p50 "
              "76 ms (2 cores, SQLite, 10k models / 100k versions; shared/reference/registry_serving.md section 7, not this run)")
    if art:
        size = art["size"]
        print("  cp %.0f MiB                      : %.2f s (%.0f MiB/s); cp + fsync %.2f s (%.0f MiB/s)"
              % (size >> 20, art["cp_s"], mib_s(size, art["cp_s"]), art["cp_fsync_s"], mib_s(size, art["cp_fsync_s"])))
        print("  studio PUT / GET                 : %.2f s / %.2f s; vs cp + fsync: PUT %.2fx"
              % (art["put_s"], art["get_s"], art["cp_fsync_s"] / art["put_s"]))
        print("  studio RSS                       : before %.1f MB, peak PUT %.1f MB, peak GET %.1f MB (sampled every "
              "20 ms); VmHWM %.1f MB before the transfers, %.1f MB after"
              % (art["rss_before_kb"] / 1024.0, art["rss_peak_put_kb"] / 1024.0, art["rss_peak_get_kb"] / 1024.0,
                 art["vmhwm_before_kb"] / 1024.0, art["vmhwm_kb"] / 1024.0))
        print("  round trip SHA-256               : %s (%s); stored %d bytes"
              % ("match" if art["sha256_ok"] else "MISMATCH", art["sha256"][:16], art["stored_size"]))
    print("  total registry bench time        : %.0f s" % (time.time() - started))
    results["skipped"] = skipped
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)
        print("  results JSON                     : %s" % args.json_out)
    return 0


def _sqlalchemy_version():
    p = subprocess.run([PYTHON, "-c", "import sqlalchemy; print(sqlalchemy.__version__)"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p.stdout.decode().strip() or "?"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("bench: registry: FAILED: %s" % e)
        sys.exit(2)
    except (OSError, ValueError, KeyError, subprocess.SubprocessError, http.client.HTTPException) as e:
        log("bench: registry: FAILED: %s: %s" % (type(e).__name__, e))
        sys.exit(2)
