#!/usr/bin/env bash
# Benchmarks, each against its baseline in the same run (make bench calls this):
#   1. bench.py    control plane: cold start, idle memory, API throughput vs Flask + gunicorn
#                  (about 1.5 min; killed at 175 s) → BUILD_DIR/bench-results.json
#   2. registry.py registry at 10k models / 100k versions vs a Flask + SQLAlchemy stand-in for
#                  MLflow's SQL store, and 1 GiB artifact upload/download vs cp (about 2 min;
#                  killed at 240 s) → BUILD_DIR/bench-registry.json
#   3. serving/run.py  studio serve-model vs Flask/gunicorn and FastAPI/uvicorn, single-row and
#                  batch (about 5 min) → BUILD_DIR/bench-serving.json
#   4. drift/run.py drift statistics vs scipy/numpy on 20+5 columns × 1M × 2 → bench-drift.json
#   5. drift/cli.py studio drift end to end vs pandas + scipy → bench-drift-cli.json
#   6. pipelines/run.py the canonical 9-stage pipeline with no-op stages: scheduler overhead per
#                  run (target <= 100 ms) and 100 concurrent runs without an error (about 2 min)
#                  → bench-pipelines.json
#   usage: bench/run.sh BUILD_DIR        (BUILD_DIR holds the `studio` binary)
# Loopback only. Each prints a summary table (metric, studio, baseline, ratio, target). Every
# server started is killed on exit.
# Environment: BENCH_RUNS (cold starts per server, default 10), BENCH_DURATION (wrk seconds,
# default 10), BENCH_ROUNDS (interleaved wrk rounds per server, best counts, default 2),
# BENCH_KEEP=1 keeps the work dir (logs, wrk output, data dirs) for inspection.
set -euo pipefail

build_dir="${1:-build}"
here="$(cd "$(dirname "$0")" && pwd)"
studio="$(cd "$build_dir" 2>/dev/null && pwd)/studio" || true
if [ ! -x "$studio" ]; then
  echo "bench: no executable studio in '$build_dir' (run make build first)" >&2
  exit 2
fi
for tool in wrk /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 2; }
done
if ! /usr/bin/python3 -c 'import flask, gunicorn' 2>/dev/null; then
  echo "bench: Debian's python3-flask / python3-gunicorn are missing (scripts/install-deps.sh installs them)" >&2
  exit 2
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/studio-bench.XXXXXX")"
bench_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  # Belt and braces: every server was started in its own process group whose id is in pids.
  if [ -f "$workdir/pids" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
    done < "$workdir/pids"
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "bench: logs and data kept in $workdir" >&2
  else
    rm -rf "$workdir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Hard bound on the whole run; bench.py also cleans up on SIGTERM.
timeout -s TERM 175 /usr/bin/python3 "$here/bench.py" \
  --studio "$studio" --workdir "$workdir" \
  --runs "${BENCH_RUNS:-10}" --duration "${BENCH_DURATION:-10}" --rounds "${BENCH_ROUNDS:-2}" \
  --json-out "$(cd "$build_dir" && pwd)/bench-results.json" &
bench_pid=$!
wait "$bench_pid"
timeout -s TERM 240 /usr/bin/python3 "$here/registry.py" --studio "$studio" --workdir "$workdir" --json-out "$(cd "$build_dir" && pwd)/bench-registry.json" & bench_pid=$!; wait "$bench_pid"
timeout -s TERM 450 /usr/bin/python3 "$here/serving/run.py" --build-dir "$build_dir" --workdir "$workdir" --duration "${BENCH_DURATION:-10}" & bench_pid=$!; wait "$bench_pid"  # 3. serving/run.py: serve-model vs Flask/FastAPI (about 5 min) → BUILD_DIR/bench-serving.json
timeout -s TERM 300 /usr/bin/python3 "$here/drift/run.py" --build-dir "$build_dir" --workdir "$workdir/drift" --json-out "$(cd "$build_dir" && pwd)/bench-drift.json" & bench_pid=$!; wait "$bench_pid"  # 4. drift/run.py: drift statistics vs scipy/numpy, 20+5 columns x 1M x 2 (about 1.5 min) → BUILD_DIR/bench-drift.json
timeout -s TERM 600 /usr/bin/python3 "$here/drift/cli.py" --build-dir "$build_dir" --workdir "$workdir" --json-out "$(cd "$build_dir" && pwd)/bench-drift-cli.json" & bench_pid=$!; wait "$bench_pid"  # 5. drift/cli.py: studio drift end to end on 2x1M-row CSVs vs pandas+scipy (about 3-4 min) -> BUILD_DIR/bench-drift-cli.json
timeout -s TERM 600 /usr/bin/python3 "$here/pipelines/run.py" --studio "$studio" --workdir "$workdir" --json-out "$(cd "$build_dir" && pwd)/bench-pipelines.json" & bench_pid=$!; wait "$bench_pid"  # 6. pipelines/run.py: scheduler overhead of the canonical noop pipeline, 100 concurrent runs → BUILD_DIR/bench-pipelines.json
