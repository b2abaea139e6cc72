#!/usr/bin/python3
"""Control-plane benchmark: `studio serve` against a Flask + gunicorn baseline, in one run.

Called by bench/run.sh (which `make bench` calls). Measures, with loopback traffic only:
  1. cold start: spawn -> first `GET /readyz` 200 (raw-socket poll every 1 ms), median of N runs
     on an existing data dir, plus one run on a brand-new data dir; the baseline is gunicorn -w 2.
  2. idle RSS after start and a few requests (VmRSS; the baseline sums master + workers). PSS is
     printed too, because summing RSS counts gunicorn's shared pages once per process.
  3. throughput of GET /api/v1/projects/{id} with a bearer token: wrk -t2 -c16 -d10s --latency
     after a 2 s warm-up, in rounds interleaved across the servers (best round per server counts:
     the VM is noisy); the baseline runs with sync workers and with gthread workers and the
     better of the two is the one compared (fair to the baseline).
Every server is started in its own process group, recorded in WORKDIR/pids, and killed on exit.
"""
import argparse
import ctypes
import http.client
import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE_DIR = os.path.join(HERE, "baseline")
PYTHON = "/usr/bin/python3"  # Debian's Python: it has flask and gunicorn (pyenv's python3 has no gunicorn)
ADMIN_PASSWORD = "bench-admin-password-0123"

TARGET_COLD_MS = 150.0
TARGET_RSS_MB = 30.0


class BenchError(Exception):
    pass


_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _die_with_parent():
    # If this script is killed outright (SIGKILL), the server goes with it (PR_SET_PDEATHSIG).
    _libc.prctl(1, signal.SIGKILL)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


class Servers:
    """Starts servers in their own process groups and guarantees they are gone at the end."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.pidfile = os.path.join(workdir, "pids")
        self.procs = []

    def spawn(self, argv, name, env=None, stdin_data=None):
        out = open(os.path.join(self.workdir, "logs", name + ".out"), "ab")
        err = open(os.path.join(self.workdir, "logs", name + ".err"), "ab")
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                start_new_session=True, preexec_fn=_die_with_parent)
        out.close()
        err.close()
        self.procs.append(proc)
        with open(self.pidfile, "a") as f:
            f.write("%d\n" % proc.pid)
        return proc, t0

    def stop(self, proc, sig=signal.SIGTERM, grace=10.0):
        """Signals the server's process group; returns (exit code, seconds to exit)."""
        if proc.poll() is not None:
            return proc.returncode, 0.0
        t0 = time.perf_counter()
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            rc = proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        elapsed = time.perf_counter() - t0
        # Workers (gunicorn) share the group: make sure none outlives the master.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return rc, elapsed

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc, grace=5.0)
            else:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


_used_ports = set()


def free_port():
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise BenchError("no free port")


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(extra or {})
    return env


# ---------------------------------------------------------------- HTTP


def wait_ready(proc, port, t0, timeout=15.0):
    """Polls GET /readyz over a raw socket every 1 ms; returns (seconds since spawn, body)."""
    req = ("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port).encode()
    while True:
        if time.perf_counter() - t0 > timeout:
            raise BenchError("no 200 from /readyz on port %d within %.0f s" % (port, timeout))
        if proc.poll() is not None:
            raise BenchError("server exited with %s before /readyz answered 200" % proc.returncode)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10.0)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n" in data and not data.startswith(b"HTTP/1.1 200") and not data.startswith(b"HTTP/1.0 200"):
                    break  # not ready yet: no need to read the rest
                if _complete(data):
                    break
            if data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"):
                elapsed = time.perf_counter() - t0
                return elapsed, data.split(b"\r\n\r\n", 1)[-1]
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.001)


def _complete(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    return bool(m) and len(body) >= int(m.group(1))


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    result = (resp.status, resp.getheaders(), payload)
    conn.close()
    return result


def parse_json(payload, what):
    try:
        return json.loads(payload)
    except ValueError:
        raise BenchError("%s: response is not JSON: %r" % (what, payload[:200]))


# ---------------------------------------------------------------- memory


def proc_tree(pid):
    pids = [pid]
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                for child in f.read().split():
                    pids.extend(proc_tree(int(child)))
    except FileNotFoundError:
        pass
    return pids


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid):
    pids = proc_tree(pid)
    return {
        "processes": len(pids),
        "rss_kb": sum(status_kb(p, "VmRSS") for p in pids),
        "pss_kb": sum(pss_kb(p) for p in pids),
    }


# ---------------------------------------------------------------- wrk

TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid):
    total = 0
    for p in proc_tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICKS


def machine_busy_seconds():
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return (sum(vals) - vals[3] - (vals[4] if len(vals) > 4 else 0)) / TICKS


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_wrk(port, path, token, seconds, tag, workdir, latency=True, server_pid=None):
    """Runs wrk; with server_pid, also measures how much CPU went to processes other than the
    server and wrk during the run (another build or test on the machine) as `foreign_cpu`."""
    if server_pid:
        before = (machine_busy_seconds(), tree_cpu_seconds(server_pid), children_cpu_seconds(), time.time())
    cmd = ["wrk", "-t2", "-c16", "-d%ds" % seconds]
    if latency:
        cmd.append("--latency")
    cmd += ["-s", os.path.join(HERE, "wrk_report.lua"), "-H", "Authorization: Bearer " + token,
            "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 30)
    if server_pid:
        after = (machine_busy_seconds(), tree_cpu_seconds(server_pid), children_cpu_seconds(), time.time())
        busy, server, wrk_cpu, wall = (a - b for a, b in zip(after, before))
        foreign = max(0.0, busy - server - wrk_cpu) / (wall * (os.cpu_count() or 1))
    text = out.stdout.decode(errors="replace")
    with open(os.path.join(workdir, "logs", "wrk-%s.txt" % tag), "w") as f:
        f.write(" ".join(cmd[:-3] + ["-H", "'Authorization: Bearer ***'", cmd[-1]]) + "\n" + text)
    m = re.search(r"BENCH_RESULT (.*)", text)
    if out.returncode != 0 or not m:
        raise BenchError("wrk failed (%s):\n%s" % (tag, text))
    res = {}
    for kv in m.group(1).split():
        k, v = kv.split("=")
        res[k] = float(v)
    res["errors"] = int(sum(res[k] for k in res if k.startswith("err_")))
    if server_pid:
        res["foreign_cpu"] = foreign
    return res


# ---------------------------------------------------------------- studio side


def studio_cmd(studio, data_dir, port):
    return [studio, "serve", "--data-dir", data_dir, "--host", "127.0.0.1", "--port", str(port)]


def studio_bootstrap(studio, data_dir, workdir):
    p = subprocess.run([studio, "admin", "bootstrap", "--username", "admin", "--password-stdin", "--json",
                        "--data-dir", data_dir], input=(ADMIN_PASSWORD + "\n").encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), timeout=60)
    with open(os.path.join(workdir, "logs", "bootstrap.txt"), "wb") as f:
        f.write(b"rc=%d\nstdout:\n%s\nstderr:\n%s\n" % (p.returncode, p.stdout, p.stderr))
    if p.returncode != 0:
        raise BenchError("studio admin bootstrap exited %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        raise BenchError("studio admin bootstrap --json printed no JSON: %r" % p.stdout[:200])
    if doc.get("username") != "admin":
        raise BenchError("bootstrap JSON has no username admin: %r" % doc)
    return doc.get("password") or ADMIN_PASSWORD


def cold_start(servers, argv_for_port, name, runs, env=None):
    times, stops = [], []
    for i in range(runs):
        port = free_port()
        proc, t0 = servers.spawn(argv_for_port(port), "%s-cold-%d" % (name, i), env=env)
        elapsed, _ = wait_ready(proc, port, t0)
        times.append(elapsed * 1000.0)
        rc, stop_s = servers.stop(proc)
        stops.append((rc, stop_s * 1000.0))
    return times, stops


def studio_setup(port, password):
    """login -> token -> project; returns (token, project_id)."""
    st, headers, body = call(port, "POST", "/api/v1/auth/login", {"username": "admin", "password": password})
    if st != 200:
        raise BenchError("login: HTTP %d %r" % (st, body[:300]))
    cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
    session = [c for c in cookies if c.startswith("studio_session=")]
    if not session:
        raise BenchError("login: no studio_session cookie in %r" % headers)
    origin = "http://127.0.0.1:%d" % port
    st, _, body = call(port, "POST", "/api/v1/tokens", {"name": "bench"},
                       {"Cookie": session[0], "Origin": origin})
    if st != 201:
        raise BenchError("create token: HTTP %d %r" % (st, body[:300]))
    token = parse_json(body, "create token").get("token")
    if not token:
        raise BenchError("create token: no token in %r" % body[:300])
    auth = {"Authorization": "Bearer " + token}
    project = {"name": "bench-project", "description": "project used by bench/run.sh",
               "github_repo": "https://github.com/example/bench", "tags": {"team": "platform", "tier": "gold"}}
    st, _, body = call(port, "POST", "/api/v1/projects", project, auth)
    if st == 409:  # left over from an earlier run on the same data dir
        st, _, body = call(port, "GET", "/api/v1/projects/bench-project", None, auth)
    if st not in (200, 201):
        raise BenchError("create project: HTTP %d %r" % (st, body[:300]))
    pid = parse_json(body, "create project").get("id")
    if not pid:
        raise BenchError("create project: no id in %r" % body[:300])
    return token, pid


def check_get(port, token, pid, name):
    st, headers, body = call(port, "GET", "/api/v1/projects/" + pid, None, {"Authorization": "Bearer " + token})
    if st != 200:
        raise BenchError("%s GET /api/v1/projects/%s: HTTP %d %r" % (name, pid, st, body[:300]))
    doc = parse_json(body, name + " GET project")
    if doc.get("id") != pid or doc.get("name") != "bench-project":
        raise BenchError("%s GET project returned %r" % (name, doc))
    return len(body), {k.lower(): v for k, v in headers}


def few_requests(port, token, pid):
    for _ in range(5):
        call(port, "GET", "/healthz")
        call(port, "GET", "/readyz")
    for _ in range(10):
        call(port, "GET", "/api/v1/projects/" + pid, None, {"Authorization": "Bearer " + token})


# ---------------------------------------------------------------- baseline side


def gunicorn_cmd(port, worker_class):
    argv = [PYTHON, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:%d" % port, "--chdir", BASELINE_DIR,
            "--log-level", "warning"]
    if worker_class == "gthread":
        argv += ["-k", "gthread", "--threads", "8"]
    return argv + ["app:app"]


# ---------------------------------------------------------------- report


def machine_info(studio):
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], stdout=subprocess.PIPE).stdout)
    except (OSError, ValueError):
        pass
    cpu, mhz = "unknown", ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and not mhz:
                mhz = line.split(":", 1)[1].strip()
    info["cpu"] = cpu + (" @ %.0f MHz" % float(mhz) if mhz else "")
    with open("/proc/meminfo") as f:
        info["mem_gib"] = round(int(f.readline().split()[1]) / 1048576, 1)
    v = subprocess.run([studio, "version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env())
    info["studio_version"] = v.stdout.decode(errors="replace").strip().splitlines()[0] if v.stdout else "?"
    w = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    info["wrk"] = w.stdout.decode(errors="replace").split(" [")[0].strip()
    py = subprocess.run([PYTHON, "-c", "import sys,flask,gunicorn,sqlite3;print(sys.version.split()[0],"
                         "flask.__version__,gunicorn.__version__,sqlite3.sqlite_version)"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    parts = py.stdout.decode().split()
    info["python"] = ("python %s, flask %s, gunicorn %s, sqlite %s" % tuple(parts[:4])) if len(parts) >= 4 else "?"
    return info


def cpu_busy(seconds=1.0):
    """Share of all CPUs busy over `seconds`, from /proc/stat (before the bench starts anything)."""
    def sample():
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals), idle
    t1, i1 = sample()
    time.sleep(seconds)
    t2, i2 = sample()
    return 1.0 - (i2 - i1) / max(t2 - t1, 1)


def fmt_ms(v):
    return "%.1f ms" % v if v < 100 else "%.0f ms" % v


def fmt_mb(kb):
    return "%.1f MB" % (kb / 1024.0)


def fmt_us(us):
    return "%.2f ms" % (us / 1000.0)


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studio", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--runs", type=int, default=10, help="cold starts per server")
    ap.add_argument("--duration", type=int, default=10, help="wrk seconds")
    ap.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved wrk rounds per server (best one counts)")
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()

    os.makedirs(os.path.join(args.workdir, "logs"), exist_ok=True)
    servers = Servers(args.workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(3))
    started = time.time()
    results = {}
    try:
        info = machine_info(args.studio)
        info["busy_before"] = cpu_busy()
        results["machine"] = info
        log("bench: machine: %d cores, %s; %s" % (info["nproc"], info["cpu"], info["studio_version"]))

        # --- 1. cold start -------------------------------------------------------------------
        log("bench: [1/3] cold start: studio serve on a brand-new data dir")
        new_dir = os.path.join(args.workdir, "studio-new")
        first_times, first_stops = cold_start(
            servers, lambda p: studio_cmd(args.studio, new_dir, p), "studio-new", 1, env=clean_env())
        data_dir = os.path.join(args.workdir, "studio")
        password = studio_bootstrap(args.studio, data_dir, args.workdir)
        log("bench: [1/3] cold start: studio serve x%d on a bootstrapped data dir" % args.runs)
        s_times, s_stops = cold_start(
            servers, lambda p: studio_cmd(args.studio, data_dir, p), "studio", args.runs, env=clean_env())

        bdb = os.path.join(args.workdir, "baseline.db")
        seed = subprocess.run([PYTHON, os.path.join(BASELINE_DIR, "seed.py"), bdb], stdout=subprocess.PIPE,
                              check=True)
        bseed = json.loads(seed.stdout)
        benv = clean_env({"BASELINE_DB": bdb})
        log("bench: [1/3] cold start: gunicorn -w 2 + Flask x%d" % args.runs)
        b_times, b_stops = cold_start(servers, lambda p: gunicorn_cmd(p, "sync"), "gunicorn", args.runs, env=benv)
        results["cold_start_ms"] = {"studio": s_times, "studio_brand_new": first_times, "baseline": b_times,
                                    "studio_sigterm": s_stops + first_stops, "baseline_sigterm": b_stops}

        # --- 2. idle RSS: every server started, set up, a few requests, then measured -------
        log("bench: [2/3] idle RSS: studio, gunicorn -w 2 sync, gunicorn -w 2 gthread")
        targets = {}  # name -> dict(proc, port, path, token)
        port = free_port()
        sproc, t0 = servers.spawn(studio_cmd(args.studio, data_dir, port), "studio-load", env=clean_env())
        wait_ready(sproc, port, t0)
        token, pid = studio_setup(port, password)
        s_body_len, s_headers = check_get(port, token, pid, "studio")
        few_requests(port, token, pid)
        targets["studio"] = {"proc": sproc, "port": port, "path": "/api/v1/projects/" + pid, "token": token,
                             "body_bytes": s_body_len}
        btoken, bpid = bseed["token"], bseed["project_id"]
        for kind in ("sync", "gthread"):
            port = free_port()
            bproc, t0 = servers.spawn(gunicorn_cmd(port, kind), "gunicorn-" + kind, env=benv)
            wait_ready(bproc, port, t0)
            b_body_len, _ = check_get(port, btoken, bpid, "baseline")
            few_requests(port, btoken, bpid)
            targets[kind] = {"proc": bproc, "port": port, "path": "/api/v1/projects/" + bpid, "token": btoken,
                             "body_bytes": b_body_len}
        time.sleep(0.5)
        for t in targets.values():
            t["idle"] = memory(t["proc"].pid)
            t["rounds"] = []

        # --- 3. throughput: rounds interleaved so that VM noise hits every server alike ------
        for r in range(args.rounds):
            for name, t in targets.items():
                log("bench: [3/3] throughput round %d/%d: %s" % (r + 1, args.rounds, name))
                run_wrk(t["port"], t["path"], t["token"], args.warmup, "%s-warmup-%d" % (name, r), args.workdir,
                        latency=False)
                t["rounds"].append(run_wrk(t["port"], t["path"], t["token"], args.duration,
                                           "%s-%d" % (name, r), args.workdir, server_pid=t["proc"].pid))
        for t in targets.values():
            t["after_load"] = memory(t["proc"].pid)
            t["wrk"] = max(t["rounds"], key=lambda w: w["rps"])  # best round: the least disturbed one
        st, _, metrics_body = call(targets["studio"]["port"], "GET", "/metrics")
        with open(os.path.join(args.workdir, "logs", "studio-metrics.txt"), "wb") as f:
            f.write(metrics_body)
        rc, drain_s = servers.stop(sproc)
        for kind in ("sync", "gthread"):
            servers.stop(targets[kind]["proc"])
        strip = ("proc", "token")
        s_idle, s_loaded, s_wrk = targets["studio"]["idle"], targets["studio"]["after_load"], targets["studio"]["wrk"]
        results["studio_load"] = {k: v for k, v in targets["studio"].items() if k not in strip}
        results["studio_load"].update({"sigterm_rc": rc, "sigterm_ms": drain_s * 1000, "metrics_status": st,
                                       "x_request_id": "x-request-id" in s_headers})
        base = {kind: {k: v for k, v in targets[kind].items() if k not in strip} for kind in ("sync", "gthread")}
        results["baseline_load"] = base
    finally:
        servers.stop_all()

    # --- report ---------------------------------------------------------------------------------
    best = max(base, key=lambda k: base[k]["wrk"]["rps"])
    bw, sw = base[best]["wrk"], s_wrk
    s_med, b_med = statistics.median(s_times), statistics.median(b_times)
    s_rss, b_rss = s_idle["rss_kb"], base["sync"]["idle"]["rss_kb"]
    s_pss, b_pss = s_idle["pss_kb"], base["sync"]["idle"]["pss_kb"]

    def verdict(ok):
        return "PASS" if ok else "MISS"

    rows = [
        ("metric", "studio", "baseline", "ratio (>1: studio better)", "target", ""),
        ("cold start to /readyz 200, median of %d" % args.runs, fmt_ms(s_med), fmt_ms(b_med),
         "%.1fx" % (b_med / s_med), "<= %.0f ms" % TARGET_COLD_MS, verdict(s_med <= TARGET_COLD_MS)),
        ("cold start, brand-new data dir (1 run)", fmt_ms(first_times[0]), "-", "-", "-", ""),
        ("idle RSS (baseline: master+2 workers summed)", fmt_mb(s_rss), fmt_mb(b_rss),
         "%.1fx" % (b_rss / s_rss), "<= %.0f MB" % TARGET_RSS_MB, verdict(s_rss / 1024.0 <= TARGET_RSS_MB)),
        ("idle PSS (shared pages counted once)", fmt_mb(s_pss), fmt_mb(b_pss),
         "%.1fx" % (b_pss / s_pss) if s_pss else "-", "-", ""),
        ("GET /api/v1/projects/{id} req/s (c16, best of %d)" % args.rounds, "%.0f" % sw["rps"], "%.0f (%s)" % (bw["rps"], best),
         "%.2fx" % (sw["rps"] / bw["rps"]), "-", ""),
        ("  latency p50", fmt_us(sw["p50_us"]), fmt_us(bw["p50_us"]),
         "%.2fx" % (bw["p50_us"] / max(sw["p50_us"], 1)), "-", ""),
        ("  latency p99", fmt_us(sw["p99_us"]), fmt_us(bw["p99_us"]),
         "%.2fx" % (bw["p99_us"] / max(sw["p99_us"], 1)), "-", ""),
        ("  errors (connect/read/write/status/timeout)", "%d" % sw["errors"], "%d" % bw["errors"], "-", "0", ""),
    ]
    other = "gthread" if best == "sync" else "sync"
    ow = base[other]["wrk"]
    print()
    print("MLOps Studio control-plane benchmark (%s)" % time.strftime("%Y-%m-%d %H:%M:%S"))
    print("machine : %d cores, %s, %.1f GiB RAM, Linux %s" % (info["nproc"], info["cpu"], info["mem_gib"],
                                                             info["kernel"]))
    print("studio  : %s" % info["studio_version"])
    print("baseline: Flask app bench/baseline/app.py under gunicorn -w 2 (%s); %s" % (best, info["python"]))
    print("load    : %s, -t2 -c16, %d s after a %d s warm-up, on the same %d cores as the servers"
          % (info["wrk"], args.duration, args.warmup, info["nproc"]))
    if info["busy_before"] > 0.15:
        print("WARNING : the machine was %.0f%% busy before the bench started (another build or test?): "
              "the figures below are unreliable; rerun on an idle machine" % (100 * info["busy_before"]))
    disturbed = [n for n, w in (("studio", sw), ("baseline", bw)) if w["foreign_cpu"] > 0.10]
    if disturbed:
        print("WARNING : other processes took over 10%% of the CPU during the counted %s run(s): "
              "throughput figures are unreliable; rerun on an idle machine" % " and ".join(disturbed))
    print()
    print(table(rows))
    print()
    print("details:")
    print("  studio cold starts (ms)   : %s" % ", ".join("%.1f" % t for t in s_times))
    print("  baseline cold starts (ms) : %s" % ", ".join("%.0f" % t for t in b_times))
    for name, label in (("studio", "studio"), ("sync", "baseline sync"), ("gthread", "baseline gthread")):
        w = results["studio_load"] if name == "studio" else base[name]
        print("  %-26s: %s" % (label + " rounds req/s", ", ".join(
            "%.0f (other processes: %.0f%% CPU)" % (x["rps"], 100 * x["foreign_cpu"]) for x in w["rounds"])))
    print("  studio SIGTERM (cold runs): exit codes %s, median %.1f ms"
          % (sorted(set(rc for rc, _ in s_stops + first_stops)), statistics.median(ms for _, ms in s_stops)))
    print("  %-26s: %.0f, p50 %s, p99 %s, errors %d (the other worker class)"
          % ("baseline %s req/s" % other, ow["rps"], fmt_us(ow["p50_us"]), fmt_us(ow["p99_us"]), ow["errors"]))
    print("  RSS after load            : studio %s; baseline sync %s, gthread %s"
          % (fmt_mb(s_loaded["rss_kb"]), fmt_mb(base["sync"]["after_load"]["rss_kb"]),
             fmt_mb(base["gthread"]["after_load"]["rss_kb"])))
    print("  response bytes            : studio %d, baseline %d" % (s_body_len, base[best]["body_bytes"]))
    print("  studio after SIGTERM      : exit %s in %.1f ms (under no load)" % (rc, drain_s * 1000))
    print("  total bench time          : %.0f s" % (time.time() - started))
    results["summary"] = {
        "cold_start_median_ms": {"studio": s_med, "baseline": b_med},
        "idle_rss_kb": {"studio": s_rss, "baseline": b_rss},
        "throughput_rps": {"studio": sw["rps"], "baseline": bw["rps"], "baseline_worker_class": best},
        "p50_us": {"studio": sw["p50_us"], "baseline": bw["p50_us"]},
        "p99_us": {"studio": sw["p99_us"], "baseline": bw["p99_us"]},
    }
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)
        print("  results JSON              : %s" % args.json_out)
    if any(w["errors"] for t in [results["studio_load"]] + list(base.values()) for w in t["rounds"]):
        log("bench: wrk reported errors; see the logs")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("bench: FAILED: %s" % e)
        sys.exit(2)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        log("bench: FAILED: %s: %s" % (type(e).__name__, e))
        sys.exit(2)
