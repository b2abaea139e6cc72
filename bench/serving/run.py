#!/usr/bin/python3
"""Serving benchmark: `studio serve-model` against Python baselines, in one run (issue 4).

Called by bench/run.sh (so by `make bench`) with the build dir. Loopback only, bounded time
(about 5 minutes; `--quick` about 1.5). Steps:
  1. setup.py: the XGBoost model (200 trees, depth 6, 30 features, calibration.md §A.1) and the
     ONNX MLP 30->64->64->1 as MLflow packages, the single test row, a 1M-row CSV (work dir only).
  2. In-process prediction, no HTTP: `<build>/bench_predict` (Google Benchmark, from
     bench/serving/predict_bench.cc; skipped with a message when absent) and Debian's Python
     (inproc.py: Booster.inplace_predict / numpy matmuls on one row, and on the whole batch matrix).
  3. For each model (xgb, mlp) and server -- studio serve-model --workers 2, Flask under gunicorn
     -w 2 (sync), FastAPI under uvicorn --workers 2 and --workers 1 (uvloop + httptools) -- on a
     fresh loopback port: start, wait for ready, check the prediction of the test row, wrk warm-up
     (-t2 -c16, 2 s), wrk -t2 -c16 -d10s and wrk -t1 -c1 -d10s on POST /predict; for studio also
     GET /ping at c1 and c16 (the HTTP floor). Then stop by PID (process group) and wait until
     nothing listens on the port.
  4. Batch: the CSV POSTed to studio's /batch-predict with curl (streamed both ways), rows/s, and
     the server's VmRSS sampled every 100 ms (max reported), against in-process prediction of the
     same matrix.
  5. A table with every target of the issue marked PASS / MISS (or n/a), and BUILD/bench-serving.json.
If `studio serve-model --help` does not describe the command, the studio parts print "skipped"
and only the baselines run. Every server runs in its own process group (PR_SET_PDEATHSIG), is
recorded in WORKDIR/pids and killed on exit. Exit code: 0, or 2 on a real error (a server that
does not start or answers wrongly, wrk errors).

Usage: /usr/bin/python3 bench/serving/run.py --build-dir BUILD [--workdir DIR] [--quick]
       [--duration S] [--warmup S] [--rows N] [--models xgb,mlp] [--servers studio,flask,fastapi2,fastapi1]
       [--json-out FILE] [--keep]
"""
import argparse
import http.client
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import bench  # noqa: E402  (process handling, ports, CPU accounting, machine info, table)
from bench import BenchError, Servers, clean_env, free_port, log  # noqa: E402

PYTHON = bench.PYTHON
BASELINE_DIR = os.path.join(HERE, "baseline")
WRK_LUA = os.path.join(HERE, "wrk_predict.lua")

# Targets from issue 4, "Benchmark (bench/serving)".
TARGET_VS_FASTAPI2 = 5.0
TARGET_VS_FLASK = 10.0
TARGET_VS_FASTAPI1 = 10.0
TARGET_C1_P50_US = 100.0
TARGET_C1_P99_US = 250.0
TARGET_OVERHEAD_US = 20.0
TARGET_INPROC_US = 15.0
TARGET_BATCH_SHARE = 0.5
FLAT_RSS_GROWTH_MB = 64.0  # "flat RSS": max VmRSS during the 1M-row batch - VmRSS before it

SERVER_LABELS = {
    "studio": "studio serve-model --workers 2",
    "flask": "Flask + gunicorn -w 2 (sync)",
    "fastapi2": "FastAPI + uvicorn --workers 2",
    "fastapi1": "FastAPI + uvicorn --workers 1",
}


class Skip(Exception):
    pass


# ---------------------------------------------------------------- HTTP helpers


def http_call(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(proc, port, path, timeout, what):
    """Polls GET path every 20 ms until 200; returns seconds waited."""
    t0 = time.perf_counter()
    last = "no answer"
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise BenchError("%s exited with %s before GET %s answered 200 (see logs)" % (what, proc.returncode, path))
        try:
            st, body = http_call(port, "GET", path, timeout=2)
            if st == 200:
                return time.perf_counter() - t0
            last = "HTTP %d %r" % (st, body[:100])
        except OSError as e:
            last = str(e)
        time.sleep(0.02)
    raise BenchError("%s: no 200 from GET %s on port %d within %.0f s (last: %s)" % (what, path, port, timeout, last))


def wait_port_free(port, timeout=15.0):
    """After a stop: waits until nothing accepts on the port (the next server uses a fresh port anyway)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return True
        finally:
            s.close()
        time.sleep(0.05)
    return False


def predictions_of(body):
    """The list of floats in a /predict answer ({"predictions": [p] or [[p]] or [{..}]})."""
    doc = json.loads(body)
    preds = doc["predictions"] if isinstance(doc, dict) else doc
    flat = []

    def walk(v):
        if isinstance(v, (int, float)):
            flat.append(float(v))
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    walk(preds)
    return flat, doc


def close_enough(a, b):
    return abs(a - b) <= 1e-6 + 1e-5 * abs(b)


# ---------------------------------------------------------------- wrk


def run_wrk(port, path, body_file, threads, conns, seconds, tag, workdir, server_pid=None):
    if server_pid:
        before = (bench.machine_busy_seconds(), bench.tree_cpu_seconds(server_pid), bench.children_cpu_seconds())
        t0 = time.time()
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "-s", WRK_LUA,
           "http://127.0.0.1:%d%s" % (port, path)]
    if body_file:
        cmd += ["--", body_file]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 30)
    text = out.stdout.decode(errors="replace")
    with open(os.path.join(workdir, "logs", "wrk-%s.txt" % tag), "w") as f:
        f.write(" ".join(cmd) + "\n" + text)
    m = re.search(r"BENCH_RESULT (.*)", text)
    if out.returncode != 0 or not m:
        raise BenchError("wrk failed (%s):\n%s" % (tag, text[-2000:]))
    res = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    res["errors"] = int(sum(v for k, v in res.items() if k.startswith("err_")))
    if server_pid:
        wall = time.time() - t0
        after = (bench.machine_busy_seconds(), bench.tree_cpu_seconds(server_pid), bench.children_cpu_seconds())
        busy, server, wrk_cpu = (a - b for a, b in zip(after, before))
        res["server_cpu_s"] = server
        res["wrk_cpu_s"] = wrk_cpu
        res["foreign_cpu"] = max(0.0, busy - server - wrk_cpu) / (wall * (os.cpu_count() or 1))
    return res


# ---------------------------------------------------------------- servers


def studio_available(studio):
    """(ok, reason): serve-model exists if its --help describes --model and --workers."""
    if not os.access(studio, os.X_OK):
        return False, "no executable %s" % studio
    try:
        p = subprocess.run([studio, "serve-model", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=clean_env(), timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        return False, "%s serve-model --help: %s" % (studio, e)
    text = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "--model" not in text or "--workers" not in text:
        return False, "`studio serve-model --help` does not describe the command (rc %d): not built yet" % p.returncode
    return True, ""


def server_argv(kind, model_dir, port, studio):
    if kind == "studio":
        return [studio, "serve-model", "--model", model_dir, "--host", "127.0.0.1", "--port", str(port),
                "--workers", "2"]
    if kind == "flask":
        return [PYTHON, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:%d" % port, "--chdir", BASELINE_DIR,
                "--log-level", "warning", "flask_app:app"]
    workers = "2" if kind == "fastapi2" else "1"
    return [PYTHON, "-m", "uvicorn", "fastapi_app:app", "--app-dir", BASELINE_DIR, "--host", "127.0.0.1",
            "--port", str(port), "--workers", workers, "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning"]


def start_server(servers, kind, model, pkg_dir, studio, tag):
    port = free_port()
    env = clean_env({"BENCH_MODEL_DIR": pkg_dir} if kind != "studio" else None)
    proc, _ = servers.spawn(server_argv(kind, pkg_dir, port, studio), tag, env=env)
    if kind == "studio":
        ready_s = wait_ready(proc, port, "/ready", 60, tag)
    else:
        ready_s = wait_ready(proc, port, "/ping", 60, tag)
    return proc, port, ready_s


def stop_server(servers, proc, port):
    rc, secs = servers.stop(proc)
    free = wait_port_free(port)
    return {"exit_code": rc, "stop_ms": secs * 1000.0, "port_freed": free}


def check_prediction(port, body, expected, kind, model):
    st, resp = http_call(port, "POST", "/predict", body, {"Content-Type": "application/json"})
    if st != 200:
        raise BenchError("%s/%s: POST /predict -> HTTP %d %r" % (kind, model, st, resp[:300]))
    try:
        preds, doc = predictions_of(resp)
    except (ValueError, KeyError, TypeError):
        raise BenchError("%s/%s: POST /predict answer has no predictions: %r" % (kind, model, resp[:300]))
    ok = len(preds) == 1 and close_enough(preds[0], expected)
    return {"prediction": preds[0] if preds else None, "expected": expected, "prediction_ok": ok,
            "response_bytes": len(resp), "has_model_field": isinstance(doc, dict) and "model" in doc}


def bench_server(servers, kind, model, pkg_dir, studio, body_file, body, expected, args, do_ping):
    tag = "%s-%s" % (kind, model)
    log("serving: %s on %s: start, %d s warm-up, c16 %d s, c1 %d s%s"
        % (SERVER_LABELS[kind], model, args.warmup, args.duration, args.duration,
           ", /ping c1+c16" if do_ping else ""))
    proc, port, ready_s = start_server(servers, kind, model, pkg_dir, studio, tag)
    res = {"server": kind, "model": model, "ready_s": ready_s}
    try:
        res.update(check_prediction(port, body, expected, kind, model))
        if not res["prediction_ok"]:
            msg = "%s/%s: prediction %r, expected %r" % (kind, model, res["prediction"], expected)
            if kind != "studio":
                raise BenchError(msg)
            log("serving: WARNING: " + msg)
        run_wrk(port, "/predict", body_file, 2, 16, args.warmup, tag + "-warmup", args.workdir)
        res["c16"] = run_wrk(port, "/predict", body_file, 2, 16, args.duration, tag + "-c16", args.workdir,
                             server_pid=proc.pid)
        res["c1"] = run_wrk(port, "/predict", body_file, 1, 1, args.duration, tag + "-c1", args.workdir,
                            server_pid=proc.pid)
        if do_ping:
            res["ping_c1"] = run_wrk(port, "/ping", None, 1, 1, args.duration, tag + "-ping-c1", args.workdir,
                                     server_pid=proc.pid)
            res["ping_c16"] = run_wrk(port, "/ping", None, 2, 16, max(2, args.duration // 2), tag + "-ping-c16",
                                      args.workdir, server_pid=proc.pid)
        res["rss_after_kb"] = bench.memory(proc.pid)["rss_kb"]
        if proc.poll() is not None:
            raise BenchError("%s exited with %s during the run" % (tag, proc.returncode))
        if kind == "studio":
            try:
                st, mbody = http_call(port, "GET", "/metrics")
                with open(os.path.join(args.workdir, "logs", tag + "-metrics.txt"), "wb") as f:
                    f.write(mbody)
                res["metrics_status"] = st
            except OSError:
                res["metrics_status"] = None
    finally:
        res["stop"] = stop_server(servers, proc, port)
    return res


# ---------------------------------------------------------------- batch


class RssSampler(threading.Thread):
    def __init__(self, pid, period=0.1):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                self.samples.append(bench.memory(self.pid)["rss_kb"])
            except (OSError, ValueError):
                pass
            self.halt.wait(self.period)


def count_output(path):
    """(prediction rows, first prediction, format) of a /batch-predict answer. CSV: one row per line,
    the prediction in the last column, an optional header line. NDJSON: per line a number, a list,
    an object with a "predictions" list (one or many rows), or an object with one prediction."""
    rows, first, fmt = 0, None, "?"
    with open(path, "rb") as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            if line[:1] in (b"{", b"["):
                fmt = "ndjson"
                try:
                    doc = json.loads(line)
                except ValueError:
                    raise BenchError("batch output line %d is not JSON: %r" % (n + 1, line[:200]))
                if isinstance(doc, dict) and isinstance(doc.get("predictions"), list):
                    vals = [v if not isinstance(v, list) else (v[0] if v else None) for v in doc["predictions"]]
                elif isinstance(doc, list):
                    vals = [v if not isinstance(v, list) else (v[0] if v else None) for v in doc]
                else:
                    nums = [v for k, v in doc.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                            and k not in ("row", "index", "id", "line")] if isinstance(doc, dict) else []
                    if isinstance(doc, dict) and not nums:
                        for v in doc.values():
                            if isinstance(v, list) and v and isinstance(v[0], (int, float)):
                                nums = [v[0]]
                                break
                    vals = nums[:1] if nums else [None]
                if first is None and vals and isinstance(vals[0], (int, float)):
                    first = float(vals[0])
                rows += len(vals)
            else:
                try:
                    v = float(line.split(b",")[-1])
                except ValueError:
                    if n == 0:
                        fmt = "csv"
                        continue  # header
                    raise BenchError("batch output line %d is neither CSV nor NDJSON: %r" % (n + 1, line[:200]))
                fmt = "csv"
                if first is None:
                    first = v
                rows += 1
    return rows, first, fmt


def bench_batch(servers, model, pkg_dir, studio, csv_path, rows, expected_first, args):
    tag = "studio-batch-%s" % model
    log("serving: studio /batch-predict on %s: %d CSV rows (%.0f MB), streamed with curl"
        % (model, rows, os.path.getsize(csv_path) / 1e6))
    proc, port, _ = start_server(servers, "studio", model, pkg_dir, studio, tag)
    out_path = os.path.join(args.workdir, "batch-out-%s.txt" % model)
    res = {"model": model, "rows": rows, "csv_bytes": os.path.getsize(csv_path)}
    try:
        time.sleep(0.3)
        res["rss_before_kb"] = bench.memory(proc.pid)["rss_kb"]
        sampler = RssSampler(proc.pid)
        sampler.start()
        cmd = ["curl", "-sS", "--data-binary", "@" + csv_path, "-H", "Content-Type: text/csv",
               "-H", "Accept: text/csv", "-H", "Expect:", "-o", out_path,
               "-w", "%{http_code} %{time_total} %{size_download} %{size_upload} %{time_starttransfer}",
               "http://127.0.0.1:%d/batch-predict" % port]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.batch_timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("%s: no complete answer within %d s (--batch-timeout)" % (tag, args.batch_timeout))
        finally:
            sampler.halt.set()
            sampler.join()
        wall = time.perf_counter() - t0
        code, total, down, up, ttfb = (p.stdout.decode().split() + ["0"] * 5)[:5]
        res.update({"http_code": int(code), "seconds": float(total), "wall_s": wall, "bytes_out": int(down),
                    "bytes_up": int(up), "first_byte_s": float(ttfb),
                    "rss_max_kb": max(sampler.samples + [res["rss_before_kb"]]),
                    "rss_samples": len(sampler.samples)})
        res["rss_growth_kb"] = res["rss_max_kb"] - res["rss_before_kb"]
        if p.returncode != 0 or res["http_code"] != 200:
            with open(out_path, "rb") as f:
                head = f.read(300)
            raise BenchError("%s: curl rc %d, HTTP %s: %s %r" % (tag, p.returncode, code, p.stderr.decode()[-300:], head))
        n, first, fmt = count_output(out_path)
        res.update({"rows_out": n, "format": fmt, "first": first,
                    "rows_per_s": rows / res["seconds"] if res["seconds"] else 0.0,
                    "first_ok": first is not None and close_enough(first, expected_first)})
        if n != rows:
            log("serving: WARNING: %s: %d predictions out for %d rows in" % (tag, n, rows))
        if not res["first_ok"]:
            log("serving: WARNING: %s: first prediction %r, in-process %r" % (tag, first, expected_first))
        if proc.poll() is not None:
            raise BenchError("%s exited with %s during the batch" % (tag, proc.returncode))
    finally:
        res["stop"] = stop_server(servers, proc, port)
        if os.path.exists(out_path) and not args.keep:
            os.remove(out_path)
    return res


# ---------------------------------------------------------------- in process


def python_inproc(pkg_dir, request_file, matrix, args):
    cmd = [PYTHON, os.path.join(HERE, "inproc.py"), "--model", pkg_dir, "--request", request_file,
           "--seconds", "0.5" if args.quick else "1.0"]
    if matrix:
        cmd += ["--matrix", matrix]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
    if p.returncode != 0:
        raise BenchError("inproc.py %s: %s" % (pkg_dir, p.stderr.decode()[-1000:]))
    return json.loads(p.stdout)


def run_bench_predict(binary, pkg_dir, args, tag):
    """Runs the Google Benchmark binary on one package; returns {"benchmarks": [...], "single_us",
    "batch_rows_per_s"} or raises Skip. `bench_predict --model PATH` (predict_bench.cc): the package's
    model file is tried first, then the package dir. Single-row time: the fastest benchmark
    that is not a batch one (all are printed); batch: the highest items_per_second of a batch one."""
    if not os.access(binary, os.X_OK):
        raise Skip("no %s (bench/serving/predict_bench.cc not built yet)" % binary)
    model_file = [os.path.join(pkg_dir, f) for f in ("model.json", "model.ubj", "model.onnx")
                  if os.path.exists(os.path.join(pkg_dir, f))]
    errors = []
    for target in [["--model", f] for f in model_file] + [["--model", pkg_dir]]:
        out_json = os.path.join(args.workdir, "bench_predict-%s.json" % tag)
        cmd = [binary, "--benchmark_out=" + out_json, "--benchmark_out_format=json",
               "--benchmark_min_time=%s" % ("0.1" if args.quick else "0.5")] + target
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90 if args.quick else 150)
        except subprocess.TimeoutExpired:
            errors.append("%s: timed out" % " ".join(target))
            continue
        with open(os.path.join(args.workdir, "logs", "bench_predict-%s.txt" % tag), "ab") as f:
            f.write((" ".join(cmd) + "\n").encode() + p.stdout)
        if p.returncode == 0 and os.path.exists(out_json):
            with open(out_json) as f:
                doc = json.load(f)
            return summarize_gbench(doc)
        errors.append("%s: rc %d: %s" % (" ".join(target), p.returncode, p.stdout.decode(errors="replace")[-200:].strip()))
    raise Skip("bench_predict failed: " + " | ".join(errors))


def summarize_gbench(doc):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    rows = []
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            continue
        rows.append({"name": b.get("name", "?"),
                     "real_us": b.get("real_time", 0.0) * scale.get(b.get("time_unit", "ns"), 1e-3),
                     "items_per_second": b.get("items_per_second")})
    # Batch: a name with batch/matrix, or a row-count argument >= 100 (BM_Predict/1000), with items/s.
    batch = [r for r in rows if r["items_per_second"] and
             (re.search(r"(?i)batch|matrix", r["name"]) or
              any(int(a) >= 100 for a in re.findall(r"/(\d+)", r["name"])))]
    single = [r for r in rows if r not in batch]
    single = [r for r in single if re.search(r"(?i)single|one|row", r["name"])] or single
    return {"benchmarks": rows,
            "single_us": min((r["real_us"] for r in single), default=None),
            "single_name": min(single, key=lambda r: r["real_us"])["name"] if single else None,
            "batch_rows_per_s": max((r["items_per_second"] for r in batch), default=None),
            "batch_name": max(batch, key=lambda r: r["items_per_second"])["name"] if batch else None}


# ---------------------------------------------------------------- report


def machine_info():
    info = {"nproc": os.cpu_count(), "cpu": "unknown"}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], stdout=subprocess.PIPE).stdout)
    except (OSError, ValueError):
        pass
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        info["mem_gib"] = round(int(f.readline().split()[1]) / 1048576, 1)
    info["kernel"] = os.uname().release
    w = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    info["wrk"] = w.stdout.decode(errors="replace").split(" [")[0].strip()
    py = subprocess.run([PYTHON, "-c", "import sys,xgboost,numpy,flask,gunicorn,fastapi,uvicorn;print(sys.version.split()[0],"
                         "xgboost.__version__,numpy.__version__,flask.__version__,gunicorn.__version__,"
                         "fastapi.__version__,uvicorn.__version__)"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    parts = py.stdout.decode().split()
    info["python"] = ("python %s, xgboost %s, numpy %s, flask %s, gunicorn %s, fastapi %s, uvicorn %s"
                      % tuple(parts[:7])) if len(parts) >= 7 else py.stdout.decode()[-200:]
    return info


def verdict(value, ok):
    if value is None:
        return "n/a"
    return "PASS" if ok else "MISS"


def fmt(v, spec="%.0f", unit=""):
    return "n/a" if v is None else (spec % v) + unit


def ratio(a, b):
    return a / b if a is not None and b else None


def report(results, args):
    info = results["machine"]
    print()
    print("MLOps Studio serving benchmark (%s)%s" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                                     "  [--quick: short runs, indicative only]" if args.quick else ""))
    print("machine : %d cores, %s, %.1f GiB RAM, Linux %s" % (info["nproc"], info["cpu"], info["mem_gib"], info["kernel"]))
    print("studio  : %s" % (results["studio"]["version"] if results["studio"]["available"]
                            else "skipped: " + results["studio"]["reason"]))
    print("python  : %s" % info["python"])
    print("load    : %s on loopback, POST /predict of one 30-float row (%d bytes); c16 = -t2 -c16, c1 = -t1 -c1, "
          "%d s each after a %d s c16 warm-up; wrk shares the %d cores"
          % (info["wrk"], results["request_bytes"], args.duration, args.warmup, info["nproc"]))
    if info["busy_before"] > 0.15:
        print("WARNING : the machine was %.0f%% busy before the bench started (another build or test?): "
              "figures are unreliable; rerun on an idle machine" % (100 * info["busy_before"]))
    disturbed = sorted(set("%s/%s" % (r["server"], r["model"]) for r in results["runs"]
                           for k in ("c16", "c1") if r.get(k, {}).get("foreign_cpu", 0) > 0.10))
    if disturbed:
        print("WARNING : other processes took over 10%% of the CPU during: %s" % ", ".join(disturbed))

    by = {(r["server"], r["model"]): r for r in results["runs"]}
    models = [m for m in args.models if any(k[1] == m for k in by)]
    # Per-server table.
    rows = [("model", "server", "c16 req/s", "c16 p50", "c16 p99", "c1 req/s", "c1 p50", "c1 p99", "errors", "RSS",
             "prediction")]
    for m in models:
        for s in args.servers:
            r = by.get((s, m))
            if not r or "c16" not in r:
                continue
            c16, c1 = r["c16"], r["c1"]
            rows.append((m, SERVER_LABELS[s], "%.0f" % c16["rps"], "%d us" % c16["p50_us"], "%d us" % c16["p99_us"],
                         "%.0f" % c1["rps"], "%d us" % c1["p50_us"], "%d us" % c1["p99_us"],
                         "%d" % (c16["errors"] + c1["errors"]), "%.0f MB" % (r["rss_after_kb"] / 1024.0),
                         "ok" if r["prediction_ok"] else "MISMATCH %r" % r["prediction"]))
            if "ping_c1" in r:
                p1, p16 = r["ping_c1"], r["ping_c16"]
                rows.append(("", "  studio GET /ping (floor)", "%.0f" % p16["rps"], "%d us" % p16["p50_us"],
                             "%d us" % p16["p99_us"], "%.0f" % p1["rps"], "%d us" % p1["p50_us"],
                             "%d us" % p1["p99_us"], "%d" % (p1["errors"] + p16["errors"]), "", ""))
    print()
    print(bench.table(rows))

    # Targets.
    t = [("target (issue 4)", "model", "value", "target", "")]
    summary = {}
    ping = next((r["ping_c1"]["p50_us"] for r in results["runs"] if "ping_c1" in r), None)
    for m in models:
        st = by.get(("studio", m))
        s16 = st["c16"]["rps"] if st and "c16" in st else None
        inproc = results["inproc"].get(m, {})
        native_us = (inproc.get("bench_predict") or {}).get("single_us")
        sm = summary.setdefault(m, {})
        for key, label, goal in (("fastapi2", "c16 throughput studio / FastAPI 2w", TARGET_VS_FASTAPI2),
                                 ("flask", "c16 throughput studio / Flask gunicorn 2w", TARGET_VS_FLASK),
                                 ("fastapi1", "c16 throughput studio / FastAPI 1w", TARGET_VS_FASTAPI1)):
            b = by.get((key, m))
            rt = ratio(s16, b["c16"]["rps"] if b and "c16" in b else None)
            sm["ratio_vs_" + key] = rt
            t.append((label, m, fmt(rt, "%.2f", "x"), ">= %.0fx" % goal, verdict(rt, rt is not None and rt >= goal)))
        p50 = st["c1"]["p50_us"] if st and "c1" in st else None
        p99 = st["c1"]["p99_us"] if st and "c1" in st else None
        sm.update({"studio_c16_rps": s16, "studio_c1_p50_us": p50, "studio_c1_p99_us": p99, "ping_c1_p50_us": ping})
        t.append(("c1 p50 latency", m, fmt(p50, "%.0f", " us"), "<= %.0f us" % TARGET_C1_P50_US,
                  verdict(p50, p50 is not None and p50 <= TARGET_C1_P50_US)))
        t.append(("c1 p99 latency", m, fmt(p99, "%.0f", " us"), "<= %.0f us" % TARGET_C1_P99_US,
                  verdict(p99, p99 is not None and p99 <= TARGET_C1_P99_US)))
        overhead = p50 - ping - native_us if None not in (p50, ping, native_us) else None
        sm["server_overhead_us"] = overhead
        t.append(("server overhead p50(/predict)-p50(/ping)-in-process", m, fmt(overhead, "%.1f", " us"),
                  "<= %.0f us" % TARGET_OVERHEAD_US, verdict(overhead, overhead is not None and overhead <= TARGET_OVERHEAD_US)))
        sm["inproc_single_us"] = native_us
        bp_name = (inproc.get("bench_predict") or {}).get("single_name")
        if bp_name:
            sm["inproc_single_benchmark"] = bp_name
        if m == "xgb":
            t.append(("in-process single-row predict (bench_predict)", m, fmt(native_us, "%.1f", " us"),
                      "<= %.0f us" % TARGET_INPROC_US, verdict(native_us, native_us is not None and native_us <= TARGET_INPROC_US)))
        else:
            t.append(("in-process single-row predict (bench_predict)", m, fmt(native_us, "%.1f", " us"), "-", ""))
        b = results["batch"].get(m)
        if b is not None or results["studio"]["available"]:
            native_batch = (inproc.get("bench_predict") or {}).get("batch_rows_per_s")
            ref = native_batch if native_batch else inproc.get("python", {}).get("batch_rows_per_s")
            ref_label = "bench_predict" if native_batch else "libxgboost/numpy via Python"
            rps = b.get("rows_per_s") if b and "rows_per_s" in b else None
            share = ratio(rps, ref)
            sm.update({"batch_rows_per_s": rps, "batch_ref_rows_per_s": ref, "batch_ref": ref_label,
                       "batch_share": share, "batch_rss_max_kb": b.get("rss_max_kb") if b else None,
                       "batch_rss_growth_kb": b.get("rss_growth_kb") if b else None})
            ok_rows = b is not None and b.get("rows_out") == b.get("rows")
            t.append(("/batch-predict %dk CSV rows/s vs in-process (%s)" % (results["batch_rows"] // 1000, ref_label), m,
                      "n/a" if rps is None else "%.0f / %.0f = %.0f%%" % (rps, ref, 100 * share),
                      ">= %.0f%%" % (100 * TARGET_BATCH_SHARE),
                      verdict(share, share is not None and share >= TARGET_BATCH_SHARE and ok_rows)))
            g = b.get("rss_growth_kb") if b else None
            t.append(("/batch-predict max RSS (growth over idle)", m,
                      "n/a" if g is None else "%.0f MB (+%.0f MB)" % (b["rss_max_kb"] / 1024.0, g / 1024.0),
                      "flat: +<= %.0f MB" % FLAT_RSS_GROWTH_MB, verdict(g, g is not None and g / 1024.0 <= FLAT_RSS_GROWTH_MB)))
    print()
    print(bench.table(t))
    results["summary"] = summary

    print()
    print("details:")
    for m in models:
        ip = results["inproc"].get(m, {})
        py = ip.get("python", {})
        print("  %-4s in-process, Python     : predict %.1f us (%s), whole handler %.1f us; batch %s"
              % (m, py.get("predict_us", float("nan")), "Booster.inplace_predict, nthread=1" if m == "xgb" else "numpy",
                 py.get("handler_us", float("nan")),
                 "%.0f rows/s (%s)" % (py["batch_rows_per_s"], py["batch_engine"]) if "batch_rows_per_s" in py else "n/a"))
        bp = ip.get("bench_predict")
        if bp:
            for r in bp["benchmarks"]:
                print("  %-4s bench_predict          : %-40s %10.2f us%s" % (
                    m, r["name"], r["real_us"],
                    "  %.0f items/s" % r["items_per_second"] if r["items_per_second"] else ""))
        else:
            print("  %-4s bench_predict          : skipped: %s" % (m, ip.get("bench_predict_skipped", "?")))
    for r in results["runs"]:
        if "c16" in r:
            print("  %-9s %-4s: ready in %.2f s; c16 p90 %d us, p99.9 %d us, max %d us; c1 p90 %d us, max %d us; "
                  "server CPU at c16 %.1f s, wrk %.1f s, others %.0f%%; stopped in %.0f ms (exit %s)"
                  % (r["server"], r["model"], r["ready_s"], r["c16"]["p90_us"], r["c16"]["p999_us"], r["c16"]["max_us"],
                     r["c1"]["p90_us"], r["c1"]["max_us"], r["c16"]["server_cpu_s"], r["c16"]["wrk_cpu_s"],
                     100 * r["c16"]["foreign_cpu"], r["stop"]["stop_ms"], r["stop"]["exit_code"]))
        elif "error" in r:
            print("  %-9s %-4s: FAILED: %s" % (r["server"], r["model"], r["error"]))
    for m, b in results["batch"].items():
        if "rows_per_s" in b:
            print("  batch %-4s: %d rows (%.0f MB CSV) in %.2f s (first byte after %.2f s), %d predictions out (%s, %.0f MB), "
                  "first %r (%s); RSS before %.0f MB, max %.0f MB over %d samples"
                  % (m, b["rows"], b["csv_bytes"] / 1e6, b["seconds"], b["first_byte_s"], b["rows_out"], b["format"],
                     b["bytes_out"] / 1e6, b["first"], "matches in-process" if b["first_ok"] else "MISMATCH",
                     b["rss_before_kb"] / 1024.0, b["rss_max_kb"] / 1024.0, b["rss_samples"]))
        elif "skipped" in b:
            print("  batch %-4s: skipped: %s" % (m, b["skipped"]))
        elif "error" in b:
            print("  batch %-4s: FAILED: %s" % (m, b["error"]))
    print("  total bench time: %.0f s" % (time.time() - results["started"]))


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--workdir", default="")
    ap.add_argument("--json-out", default="", help="default BUILD/bench-serving.json")
    ap.add_argument("--quick", action="store_true", help="3 s runs, 1 s warm-up, 200k batch rows")
    ap.add_argument("--duration", type=int, default=None, help="wrk seconds per run (default 10, quick 3)")
    ap.add_argument("--warmup", type=int, default=None, help="wrk warm-up seconds (default 2, quick 1)")
    ap.add_argument("--rows", type=int, default=None, help="batch CSV rows (default 1000000, quick 200000)")
    ap.add_argument("--models", default="xgb,mlp")
    ap.add_argument("--servers", default="studio,flask,fastapi2,fastapi1")
    ap.add_argument("--batch-timeout", type=int, default=None, help="seconds per /batch-predict (default 60, quick 30)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (models, CSV, logs)")
    args = ap.parse_args()
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = args.warmup or (1 if args.quick else 2)
    args.rows = args.rows or (200000 if args.quick else 1000000)
    args.batch_timeout = args.batch_timeout or (30 if args.quick else 60)
    args.models = [m for m in args.models.split(",") if m]
    args.servers = [s for s in args.servers.split(",") if s]
    for s in args.servers:
        if s not in SERVER_LABELS:
            ap.error("unknown server %r (one of %s)" % (s, ",".join(SERVER_LABELS)))
    build_dir = os.path.abspath(args.build_dir)
    studio = os.path.join(build_dir, "studio")
    own_workdir = not args.workdir
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="studio-bench-serving."))
    os.makedirs(os.path.join(args.workdir, "logs"), exist_ok=True)
    json_out = args.json_out or os.path.join(build_dir, "bench-serving.json")

    servers = Servers(args.workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(3))
    results = {"started": time.time(), "runs": [], "batch": {}, "inproc": {}, "errors": []}
    data = os.path.join(args.workdir, "serving-data")
    try:
        info = machine_info()
        info["busy_before"] = bench.cpu_busy(0.5)
        results["machine"] = info
        ok, reason = studio_available(studio)
        results["studio"] = {"available": ok, "reason": reason, "binary": studio, "version": ""}
        if ok:
            v = subprocess.run([studio, "version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env())
            results["studio"]["version"] = (v.stdout.decode(errors="replace").strip().splitlines() or ["?"])[0]
        else:
            log("serving: studio skipped: %s" % reason)
            args.servers = [s for s in args.servers if s != "studio"]
        log("serving: machine: %d cores, %s; work dir %s" % (info["nproc"], info["cpu"], args.workdir))

        # 1. setup
        need_csv = ok
        cmd = [PYTHON, os.path.join(HERE, "setup.py"), "--out", data, "--rows", str(args.rows)]
        if not need_csv:
            cmd.append("--no-csv")
        log("serving: setup: training the XGBoost model, building the ONNX MLP%s"
            % (", writing %d CSV rows" % args.rows if need_csv else ""))
        p = subprocess.run(cmd, stderr=subprocess.PIPE, timeout=300)
        sys.stderr.write(p.stderr.decode(errors="replace"))
        if p.returncode != 0:
            raise BenchError("setup.py failed (rc %d)" % p.returncode)
        with open(os.path.join(data, "expected.json")) as f:
            expected = json.load(f)
        request_file = os.path.join(data, "request.json")
        with open(request_file, "rb") as f:
            body = f.read()
        results["request_bytes"] = len(body)
        results["batch_rows"] = args.rows
        results["expected"] = {k: expected[k] for k in ("xgb", "mlp")}
        matrix = os.path.join(data, "batch_matrix.npy") if need_csv else ""

        # 2. in-process
        for m in args.models:
            pkg = os.path.join(data, m)
            log("serving: in-process prediction, %s: Python, bench_predict" % m)
            ip = {"python": python_inproc(pkg, request_file, matrix, args)}
            try:
                ip["bench_predict"] = run_bench_predict(os.path.join(build_dir, "bench_predict"), pkg, args, m)
            except Skip as e:
                ip["bench_predict_skipped"] = str(e)
                log("serving: bench_predict skipped for %s: %s" % (m, e))
            results["inproc"][m] = ip

        # 3. servers
        for m in args.models:
            pkg = os.path.join(data, m)
            for s in args.servers:
                do_ping = s == "studio" and not any("ping_c1" in r for r in results["runs"])
                try:
                    results["runs"].append(bench_server(servers, s, m, pkg, studio, request_file, body,
                                                        expected[m], args, do_ping))
                except (BenchError, OSError, http.client.HTTPException, subprocess.SubprocessError) as e:
                    log("serving: FAILED: %s/%s: %s" % (s, m, e))
                    results["runs"].append({"server": s, "model": m, "error": str(e)})
                    results["errors"].append("%s/%s: %s" % (s, m, e))

        # 4. batch
        for m in args.models:
            if not ok:
                results["batch"][m] = {"skipped": results["studio"]["reason"]}
                continue
            pkg = os.path.join(data, m)
            first = results["inproc"][m]["python"].get("batch_first", [None])[0]
            try:
                results["batch"][m] = bench_batch(servers, m, pkg, studio, os.path.join(data, "batch.csv"),
                                                  args.rows, first, args)
            except (BenchError, OSError, http.client.HTTPException, subprocess.SubprocessError) as e:
                log("serving: FAILED: batch %s: %s" % (m, e))
                results["batch"][m] = {"error": str(e)}
                results["errors"].append("batch %s: %s" % (m, e))
    finally:
        servers.stop_all()
        for f in ("batch.csv", "batch_matrix.npy"):
            path = os.path.join(data, f)
            if os.path.exists(path) and not args.keep:
                os.remove(path)

    report(results, args)
    results["config"] = {"duration_s": args.duration, "warmup_s": args.warmup, "rows": args.rows,
                         "quick": args.quick, "models": args.models, "servers": args.servers}
    results["targets"] = {"vs_fastapi2": TARGET_VS_FASTAPI2, "vs_flask": TARGET_VS_FLASK,
                          "vs_fastapi1": TARGET_VS_FASTAPI1, "c1_p50_us": TARGET_C1_P50_US,
                          "c1_p99_us": TARGET_C1_P99_US, "overhead_us": TARGET_OVERHEAD_US,
                          "inproc_us": TARGET_INPROC_US, "batch_share": TARGET_BATCH_SHARE,
                          "flat_rss_growth_mb": FLAT_RSS_GROWTH_MB}
    results["total_s"] = time.time() - results["started"]
    with open(json_out, "w") as f:
        json.dump(results, f, indent=2)
    print("  results JSON    : %s" % json_out)
    if own_workdir and not args.keep and not results["errors"]:
        shutil.rmtree(args.workdir, ignore_errors=True)
    elif results["errors"] or args.keep:
        print("  logs            : %s/logs" % args.workdir)
    wrk_errors = [r for r in results["runs"] for k in ("c16", "c1", "ping_c1", "ping_c16") if r.get(k, {}).get("errors")]
    if results["errors"] or wrk_errors:
        log("serving: %d failure(s), %d run(s) with wrk errors; see the logs" % (len(results["errors"]), len(wrk_errors)))
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("serving: FAILED: %s" % e)
        sys.exit(2)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        log("serving: FAILED: %s: %s" % (type(e).__name__, e))
        sys.exit(2)
