#!/usr/bin/python3
"""Pipeline scheduler benchmark (issue 6): the canonical 9-stage pipeline with no-op stage
bodies (`"noop": true`, so each stage is a real `studio run-stage` process that reads its run
and reports back, but does no work).

  1. Scheduler overhead, end to end: for each of --runs sequential runs, the run's wall time
     (server timestamps: created → finished) minus the sum of the stage processes' own times on
     the critical path (spawn → exit, as the scheduler measured them: ingest → … → deploy →
     max(realtime, batch) → monitor → enforce). What is left is the scheduler: claiming,
     spawning, reaping, recording, planning. Target: ≤ 100 ms per run. The baseline printed
     beside it is the bare cost of the processes: 8 sequential fork/execs of `studio version`
     (the critical path's length), the floor any process-per-stage executor pays.
  2. 100 concurrent runs on one control plane (default max_parallel_stages 4): every run must be
     accepted (202) and succeed, with no error; wall time, stage throughput and run latency.

The data dir is on the work disk (SQLite, synchronous=FULL: every commit is an fsync), i.e. the
embedded default. Loopback only; the server runs in its own process group and is killed on exit.
usage: run.py --studio BUILD/studio --workdir DIR [--runs 5] [--concurrent 100] [--json-out F]
"""
import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import bench  # noqa: E402  (process handling, ports, table: shared with bench.py)
from bench import BenchError, Servers, call, clean_env, free_port, log, table, wait_ready  # noqa: E402

TARGET_OVERHEAD_MS = 100.0
CRITICAL_PATH = ["ingest", "prepare", "features", "register", "deploy", ("realtime", "batch"),
                 "monitor", "enforce"]


def ms(ts):
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000.0


def token_for(port, password):
    basic = "Basic " + base64.b64encode(("admin:" + password).encode()).decode()
    st, _, body = call(port, "POST", "/api/v1/tokens", {"name": "bench"}, {"Authorization": basic})
    if st != 201:
        raise BenchError("token create failed: %d %r" % (st, body[:200]))
    return json.loads(body)["token"]


def start_run(port, token, spec):
    st, _, body = call(port, "POST", "/api/v1/runs", {"spec": spec, "noop": True},
                       {"Authorization": "Bearer " + token})
    if st != 202:
        raise BenchError("POST /api/v1/runs: %d %r" % (st, body[:300]))
    return json.loads(body)["id"]


def get_run(port, token, run_id):
    st, _, body = call(port, "GET", "/api/v1/runs/" + run_id, None, {"Authorization": "Bearer " + token})
    if st != 200:
        raise BenchError("GET run: %d %r" % (st, body[:300]))
    return json.loads(body)


def wait_run(port, token, run_id, timeout=300.0, poll=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = get_run(port, token, run_id)
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(poll)
    raise BenchError("run %s did not finish in %.0fs" % (run_id, timeout))


def overhead(run):
    st = {s["id"]: s for s in run["stages"]}
    path = 0.0
    for step in CRITICAL_PATH:
        ids = step if isinstance(step, tuple) else (step,)
        path += max(st[i]["attempts"][-1]["duration_ms"] for i in ids)
    wall = ms(run["finished_at"]) - ms(run["created_at"])
    return wall, path, wall - path


def bare_processes(studio, n):
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([studio, "version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=clean_env(), check=True)
    return (time.perf_counter() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studio", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--runs", type=int, default=5, help="sequential runs for the overhead")
    ap.add_argument("--concurrent", type=int, default=100, help="runs started at once")
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.workdir, "logs"), exist_ok=True)
    servers = Servers(args.workdir)
    results = {}
    try:
        data = os.path.join(args.workdir, "pipelines-data")
        password = bench.studio_bootstrap(args.studio, data, args.workdir)
        port = free_port()
        proc, t0 = servers.spawn(bench.studio_cmd(args.studio, data, port), "pipelines-serve",
                                 env=clean_env())
        wait_ready(proc, port, t0)
        token = token_for(port, password)
        st, _, body = call(port, "POST", "/api/v1/projects", {"name": "bench"},
                           {"Authorization": "Bearer " + token})
        if st != 201:
            raise BenchError("project create: %d %r" % (st, body[:200]))
        spec = subprocess.run([args.studio, "pipeline", "init", "--name", "canonical", "--project",
                               "bench", "--output", "-"], capture_output=True, text=True,
                              env=clean_env(), check=True).stdout

        # 1. overhead (one warm-up run first: page cache, SQLite file growth)
        wait_run(port, token, start_run(port, token, spec))
        walls, paths, overs = [], [], []
        for _ in range(args.runs):
            run = wait_run(port, token, start_run(port, token, spec))
            if run["status"] != "succeeded":
                raise BenchError("run %s %s: %s" % (run["id"], run["status"], run["error"]))
            w, p, o = overhead(run)
            walls.append(w)
            paths.append(p)
            overs.append(o)
        bare = min(bare_processes(args.studio, 8) for _ in range(3))
        med = statistics.median
        results["overhead"] = {"runs": args.runs, "run_wall_ms": walls, "critical_path_ms": paths,
                               "overhead_ms": overs, "bare_8_processes_ms": bare,
                               "target_overhead_ms": TARGET_OVERHEAD_MS}

        # 2. concurrent runs
        errors = []
        lock = threading.Lock()
        t_start = time.perf_counter()

        def one(_):
            try:
                return start_run(port, token, spec)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(repr(e))
                return None

        with ThreadPoolExecutor(16) as pool:
            ids = [i for i in pool.map(one, range(args.concurrent)) if i]
        accepted_s = time.perf_counter() - t_start
        finished, failed, durations = 0, 0, []
        for rid in ids:
            run = wait_run(port, token, rid, timeout=900, poll=0.2)
            if run["status"] == "succeeded":
                finished += 1
                durations.append(ms(run["finished_at"]) - ms(run["created_at"]))
            else:
                failed += 1
                errors.append("%s %s: %s" % (rid, run["status"], run["error"]))
        wall_s = time.perf_counter() - t_start
        rc, _ = servers.stop(proc)
        err_lines = [l for l in open(os.path.join(args.workdir, "logs", "pipelines-serve.err"))
                     if '"level":"error"' in l]
        durations.sort()
        results["concurrent"] = {
            "runs": args.concurrent, "accepted": len(ids), "succeeded": finished, "failed": failed,
            "errors": errors[:10], "server_error_lines": len(err_lines), "accept_s": accepted_s,
            "wall_s": wall_s, "stages_per_s": 9 * finished / wall_s,
            "run_p50_ms": durations[len(durations) // 2] if durations else None,
            "run_max_ms": durations[-1] if durations else None, "serve_exit": rc}

        o = results["overhead"]
        c = results["concurrent"]
        rows = [["metric", "studio", "baseline", "target"],
                ["9-stage noop run, wall (median)", "%.0f ms" % med(walls), "", ""],
                ["stage processes on the critical path (median)", "%.0f ms" % med(paths),
                 "%.0f ms (8 × bare `studio version`)" % bare, ""],
                ["scheduler overhead per run (median)", "%.0f ms" % med(overs), "",
                 "<= %.0f ms %s" % (TARGET_OVERHEAD_MS, "OK" if med(overs) <= TARGET_OVERHEAD_MS else "MISSED")],
                ["scheduler overhead per run (max)", "%.0f ms" % max(overs), "", ""],
                ["%d concurrent runs: succeeded" % c["runs"], "%d/%d" % (c["succeeded"], c["runs"]), "",
                 "all, no error %s" % ("OK" if c["succeeded"] == c["runs"] and not c["errors"]
                                        and not c["server_error_lines"] else "MISSED")],
                ["%d concurrent runs: wall" % c["runs"], "%.1f s" % c["wall_s"], "", ""],
                ["  stage throughput", "%.1f stages/s" % c["stages_per_s"], "", ""],
                ["  run latency p50 / max", "%.1f s / %.1f s" % ((c["run_p50_ms"] or 0) / 1000,
                                                                (c["run_max_ms"] or 0) / 1000), "", ""]]
        print("\nPipeline scheduler (canonical 9 stages, noop bodies, SQLite on disk)\n")
        print(table(rows))
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(results, f, indent=2)
        return 0 if c["succeeded"] == c["runs"] and not c["errors"] else 1
    except BenchError as e:
        log("bench pipelines: %s" % e)
        return 2
    finally:
        servers.stop_all()


if __name__ == "__main__":
    sys.exit(main())
