#!/usr/bin/env python3
"""`studio drift` end to end (CSV parsing included) vs a pandas + scipy script doing the same.

Two 1M-row CSVs (20 numeric + 5 categorical columns, 6 decimals, ~220 MB each). For each
scenario both sides run as a fresh process, as a user would run them, and compute the same
statistics on the same columns:
  auto           Evidently's default rule at n_ref > 1000: normed Wasserstein (numeric),
                 Jensen-Shannon (categorical)
  ks             ks_2samp on the 20 numeric columns
  psi            PSI on every column (Sturges bins over both samples / one bin per category)
  jensenshannon  Jensen-Shannon on every column (same binning)
The baseline: pandas.read_csv, scipy.stats.ks_2samp / wasserstein_distance,
scipy.spatial.distance.jensenshannon, PSI in numpy. Results are compared column by column.
Target (issue 5): studio >= 5x the Python script over the whole set.

usage: bench/drift/cli.py --build-dir build [--workdir DIR] [--rows 1000000] [--repeat 2]
                          [--json-out FILE]
The generated CSVs are kept in WORKDIR/drift-cli-data and reused when present.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

N_NUM, N_CAT = 20, 5
SCENARIOS = ["auto", "ks", "psi", "jensenshannon"]
TARGET = 5.0


# ---- data ------------------------------------------------------------------------------------
def fixed6(x):
    """float array → uint8 matrix of '%.6f' text, 0 bytes where a shorter number leaves room."""
    import numpy as np
    x = np.clip(x, -999.999999, 999.999999)
    k = np.rint(x * 1e6).astype(np.int64)
    neg = k < 0
    a = np.abs(k)
    ip, fp = a // 1_000_000, a % 1_000_000
    out = np.zeros((len(x), 11), dtype=np.uint8)
    out[:, 0] = np.where(neg, ord("-"), 0)
    out[:, 1] = np.where(ip >= 100, 48 + ip // 100, 0)
    out[:, 2] = np.where(ip >= 10, 48 + (ip // 10) % 10, 0)
    out[:, 3] = 48 + ip % 10
    out[:, 4] = ord(".")
    for i in range(6):
        out[:, 10 - i] = 48 + (fp // 10 ** i) % 10
    return out


def write_csv(path, seed, shift, rows):
    import numpy as np
    rng = np.random.default_rng(seed)
    vocab = np.array([b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"eta"], dtype="S8")
    header = ",".join([f"num_{i}" for i in range(N_NUM)] + [f"cat_{i}" for i in range(N_CAT)])
    block = 200_000
    with open(path + ".tmp", "wb") as f:
        f.write(header.encode() + b"\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            parts = []
            for i in range(N_NUM):
                mu = shift if i % 5 == 0 else 0.0  # 4 of the 20 numeric columns move
                if i % 3 == 0:
                    v = rng.normal(mu, 1.0, n)
                elif i % 3 == 1:
                    v = rng.exponential(2.0, n) + mu
                else:
                    v = rng.uniform(-10, 10, n) + mu
                parts.append(fixed6(v))
                parts.append(np.full((n, 1), ord(","), dtype=np.uint8))
            for i in range(N_CAT):
                p = np.array([.3, .2, .15, .12, .1, .08, .05])
                if shift and i < 2:  # 2 of the 5 categorical columns move
                    p = p[::-1]
                cats = vocab[rng.choice(len(vocab), n, p=p)]
                parts.append(cats.view(np.uint8).reshape(n, 8))
                parts.append(np.full((n, 1), ord("," if i + 1 < N_CAT else "\n"), dtype=np.uint8))
            m = np.hstack(parts).ravel()
            f.write(m[m != 0].tobytes())
    os.replace(path + ".tmp", path)


# ---- the Python baseline (run as `cli.py --baseline SCENARIO REF CUR`) -------------------------
def baseline(scenario, ref_path, cur_path):
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial import distance

    usecols = [f"num_{i}" for i in range(N_NUM)] if scenario == "ks" else None
    ref = pd.read_csv(ref_path, usecols=usecols)
    cur = pd.read_csv(cur_path, usecols=usecols)

    def shares(r, c):
        if pd.api.types.is_numeric_dtype(r) and r.nunique() > 20:
            edges = np.histogram_bin_edges(np.concatenate([r.values, c.values]), bins="sturges")
            return np.histogram(r, edges)[0] / len(r), np.histogram(c, edges)[0] / len(c)
        keys = sorted(set(r.unique()) | set(c.unique()))
        rv, cv = r.value_counts(), c.value_counts()
        return (np.array([rv.get(k, 0) for k in keys]) / len(r),
                np.array([cv.get(k, 0) for k in keys]) / len(c))

    def fill(a):
        nz = a[a > 0]
        eps = 0.0001 if nz.size == 0 or nz.min() > 0.0001 else nz.min() / 1e6
        return np.where(a == 0, eps, a)

    out = {}
    for col in ref.columns:
        r, c = ref[col].dropna(), cur[col].dropna()
        numeric = pd.api.types.is_numeric_dtype(r)
        method = scenario
        if scenario == "auto":
            method = "wasserstein" if numeric else "jensenshannon"
        if method == "ks":
            res = stats.ks_2samp(r.values, c.values)
            out[col] = [res.statistic, res.pvalue]
        elif method == "wasserstein":
            out[col] = [stats.wasserstein_distance(r.values, c.values) / max(np.std(r.values), 0.001)]
        elif method == "jensenshannon":
            out[col] = [float(distance.jensenshannon(*shares(r, c)))]
        elif method == "psi":
            rs, cs = shares(r, c)
            rs, cs = fill(rs), fill(cs)
            out[col] = [float(np.sum((rs - cs) * np.log(rs / cs)))]
    print(json.dumps(out))


# ---- driver ----------------------------------------------------------------------------------
def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t, p


def studio_cmd(studio, scenario, ref, cur):
    cmd = [studio, "drift", "--reference", ref, "--current", cur, "--format", "json"]
    if scenario != "auto":
        cmd += ["--method", scenario]
    if scenario == "ks":
        cmd += ["--columns", ",".join(f"num_{i}" for i in range(N_NUM))]
    return cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--baseline", nargs=3, metavar=("SCENARIO", "REF", "CUR"), help=argparse.SUPPRESS)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs per side and scenario (best counts)")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args()
    if args.baseline:
        return baseline(*args.baseline)

    studio = os.path.join(os.path.abspath(args.build_dir), "studio")
    if not os.access(studio, os.X_OK):
        sys.exit(f"bench/drift/cli.py: no studio binary in {args.build_dir}")
    try:
        import pandas  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as e:
        sys.exit(f"bench/drift/cli.py: {e} (Debian's python3-pandas / python3-scipy; "
                 "scripts/install-deps.sh installs them)")
    workdir = args.workdir or tempfile.mkdtemp(prefix="studio-drift-cli-")
    data = os.path.join(workdir, "drift-cli-data")
    os.makedirs(data, exist_ok=True)
    ref = os.path.join(data, f"ref-{args.rows}.csv")
    cur = os.path.join(data, f"cur-{args.rows}.csv")
    t = time.perf_counter()
    for path, seed, shift in ((ref, 1, 0.0), (cur, 2, 0.3)):
        if not os.path.exists(path):
            write_csv(path, seed, shift, args.rows)
    size_mb = (os.path.getsize(ref) + os.path.getsize(cur)) / 1e6
    print(f"data: 2 x {args.rows} rows x {N_NUM + N_CAT} columns, {size_mb:.0f} MB "
          f"(ready in {time.perf_counter() - t:.1f} s)", flush=True)

    rows, total_s, total_p, worst = [], 0.0, 0.0, 0.0
    for scenario in SCENARIOS:
        best_s = best_p = float("inf")
        studio_out = py_out = None
        for _ in range(args.repeat):  # interleaved, so load changes hit both sides
            dt, p = timed(studio_cmd(studio, scenario, ref, cur))
            if p.returncode not in (0, 1):
                sys.exit(f"studio drift failed ({p.returncode}): {p.stderr}")
            best_s, studio_out = min(best_s, dt), p.stdout
            dt, p = timed([sys.executable, os.path.abspath(__file__), "--baseline", scenario, ref, cur])
            if p.returncode != 0:
                sys.exit(f"baseline failed: {p.stderr}")
            best_p, py_out = min(best_p, dt), p.stdout
        got = {f["column"]: f for f in json.loads(studio_out)["features"]}
        want = json.loads(py_out)
        diff = 0.0
        for col, vals in want.items():
            diff = max(diff, abs(got[col]["statistic"] - vals[0]))
            if len(vals) > 1:
                diff = max(diff, abs(got[col]["p_value"] - vals[1]))
        worst = max(worst, diff)
        total_s += best_s
        total_p += best_p
        rows.append((scenario, best_s, best_p, best_p / best_s, diff))

    print(f"\n{'scenario':<15}{'studio s':>10}{'pandas+scipy s':>16}{'ratio':>8}{'max |diff|':>13}")
    for name, s, p, r, d in rows:
        print(f"{name:<15}{s:>10.2f}{p:>16.2f}{r:>7.1f}x{d:>13.2e}")
    ratio = total_p / total_s
    print(f"{'all':<15}{total_s:>10.2f}{total_p:>16.2f}{ratio:>7.1f}x{worst:>13.2e}")
    print(f"target: >= {TARGET:.0f}x  ->  {'met' if ratio >= TARGET else 'NOT met'}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rows": args.rows, "scenarios": [
                {"scenario": n, "studio_s": s, "baseline_s": p, "ratio": r, "max_abs_diff": d}
                for n, s, p, r, d in rows], "ratio": ratio, "target": TARGET,
                "max_abs_diff": worst}, f, indent=2)


if __name__ == "__main__":
    main()
