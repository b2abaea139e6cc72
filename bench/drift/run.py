#!/usr/bin/python3
"""Drift benchmark: the C++ drift library (bench_drift) vs scipy/numpy on the same data, same run.

20 numeric features x 1M reference rows x 1M current rows + 5 categorical. Per numeric column:
KS (ks_2samp), Wasserstein (normed by the reference std, Evidently's), PSI and Jensen-Shannon
over Evidently's binning (Sturges edges over both samples, numpy histograms); per categorical
column PSI and JS over category shares (pandas value_counts). Checks the results are identical
(statistics 1e-12 absolute, p-values 1e-6 relative) and prints times and ratios.

usage: bench/drift/run.py --build-dir BUILD [--rows 1000000] [--num 20] [--cat 5] [--workdir DIR]
The `studio drift` end-to-end comparison (CSV parsing included, vs pandas + scipy) is
bench/drift/cli.py; bench/run.sh runs both.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

CATS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def generate(workdir, rows, num, cat, seed=7):
    rng = np.random.default_rng(seed)
    cols = {}
    for c in range(num):
        ref = rng.normal(0, 1 + c * 0.1, rows)
        # Every third column drifts a little; the rest come from the same distribution.
        shift = 0.02 if c % 3 == 0 else 0.0
        cur = rng.normal(shift, 1 + c * 0.1, rows)
        if c == 1:  # sprinkle NaN into one column: dropped and counted on both sides
            ref[rng.integers(0, rows, 1000)] = np.nan
        ref.astype("<f8").tofile(os.path.join(workdir, f"ref_{c}.f64"))
        cur.astype("<f8").tofile(os.path.join(workdir, f"cur_{c}.f64"))
        cols[f"num{c}"] = (ref, cur)
    with open(os.path.join(workdir, "cat_dict.txt"), "w") as f:
        f.write("\n".join(CATS) + "\n")
    for c in range(cat):
        p = np.linspace(1, 2, len(CATS)); p /= p.sum()
        q = p if c % 2 == 0 else np.roll(p, 1)
        ref = rng.choice(len(CATS), rows, p=p).astype("<i4")
        cur = rng.choice(len(CATS), rows, p=q).astype("<i4")
        ref.tofile(os.path.join(workdir, f"ref_cat_{c}.i32"))
        cur.tofile(os.path.join(workdir, f"cur_cat_{c}.i32"))
        cols[f"cat{c}"] = (np.array(CATS)[ref], np.array(CATS)[cur])
    return cols


def binned(ref, cur, numeric):
    """Evidently's get_binned_data on numpy (without the epsilon fill)."""
    if numeric and pd.Series(ref).nunique() > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        return np.histogram(ref, bins)[0] / len(ref), np.histogram(cur, bins)[0] / len(cur)
    rv = pd.Series(ref).value_counts()
    cv = pd.Series(cur).value_counts()
    keys = sorted(set(rv.index) | set(cv.index))
    return (np.array([rv.get(k, 0) / len(ref) for k in keys]), np.array([cv.get(k, 0) / len(cur) for k in keys]))


def fill(a):
    a = a.copy()
    m = a[a != 0].min()
    a[a == 0] = m / 1e6 if m <= 0.0001 else 0.0001
    return a


def baseline(cols):
    out = {}
    for name, (ref, cur) in cols.items():
        numeric = name.startswith("num")
        r = {}
        if numeric:
            ref = ref[np.isfinite(ref)]
            cur = cur[np.isfinite(cur)]
            ks = stats.ks_2samp(ref, cur)
            r["ks"] = (ks.statistic, ks.pvalue)
            r["wasserstein"] = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        rp, cp = binned(ref, cur, numeric)
        r["jensenshannon"] = distance.jensenshannon(rp, cp)
        rf, cf = fill(rp), fill(cp)
        r["psi"] = float(np.sum((rf - cf) * np.log(rf / cf)))
        out[name] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--num", type=int, default=20)
    ap.add_argument("--cat", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    exe = None
    for cand in ("bench_drift", "src/monitoring/bench_drift"):
        p = os.path.join(args.build_dir, cand)
        if os.access(p, os.X_OK):
            exe = p
    if not exe:
        print(f"bench/drift: no bench_drift in {args.build_dir} (ninja bench_drift)", file=sys.stderr)
        return 2
    workdir = args.workdir or tempfile.mkdtemp(prefix="studio-drift-")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.perf_counter()
    cols = generate(workdir, args.rows, args.num, args.cat)
    print(f"bench/drift: generated {args.num} numeric + {args.cat} categorical columns x {args.rows} rows "
          f"x 2 in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    proc = subprocess.run([exe, workdir, str(args.num), str(args.cat), str(args.repeats)],
                          capture_output=True, text=True, check=True)
    ours = json.loads(proc.stdout)

    t0 = time.perf_counter()
    base = baseline(cols)
    base_s = time.perf_counter() - t0

    # Identical results?
    worst_abs, worst_rel, mismatches = 0.0, 0.0, []
    for f in ours["features"]:
        b = base[f["column"]]
        got = {f["method"]: (f["statistic"], f.get("p_value"))}
        for a in f.get("additional", []):
            got[a["method"]] = (a["statistic"], a.get("p_value"))
        for m, want in b.items():
            stat_want, p_want = want if isinstance(want, tuple) else (want, None)
            stat, p = got[m]
            err = abs(stat - stat_want)
            worst_abs = max(worst_abs, err)
            if err > 1e-12:
                mismatches.append(f"{f['column']} {m}: {stat!r} vs {stat_want!r}")
            if p_want is not None:
                rel = 0.0 if p == p_want else abs(p - p_want) / max(abs(p_want), 1e-300)
                worst_rel = max(worst_rel, rel)
                if rel > 1e-6:
                    mismatches.append(f"{f['column']} {m} p: {p!r} vs {p_want!r}")

    t = ours["timing"]
    raw_mb = t["raw_bytes"] / 2**20
    peak_mb = t["peak_rss_kb"] / 1024
    rows = [
        ("drift (ks+psi+wasserstein+js, all columns)", f"{t['drift_s']:.3f} s", f"{base_s:.3f} s",
         f"{base_s / t['drift_s']:.1f}x", ">= 10x"),
        ("vs sorting the numeric columns", f"{t['drift_s']:.3f} s", f"{t['sort_s']:.3f} s",
         f"{t['drift_s'] / t['sort_s']:.2f}x", "<= 1.5x"),
        ("peak memory vs raw data", f"{peak_mb:.0f} MiB", f"{raw_mb:.0f} MiB", f"{peak_mb / raw_mb:.2f}x", "<= 2x"),
    ]
    print(f"{'metric':46} {'studio':>12} {'baseline':>12} {'ratio':>8} {'target':>8}")
    for r in rows:
        print(f"{r[0]:46} {r[1]:>12} {r[2]:>12} {r[3]:>8} {r[4]:>8}")
    print(f"results: max |statistic diff| {worst_abs:.3g}, max p-value rel diff {worst_rel:.3g}, "
          f"{len(mismatches)} mismatches; dataset drift share {ours['share']:.2f}")
    for m in mismatches[:10]:
        print("  MISMATCH", m)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"drift_s": t["drift_s"], "sort_s": t["sort_s"], "scipy_s": base_s,
                       "peak_rss_mib": peak_mb, "raw_mib": raw_mb, "max_abs": worst_abs,
                       "max_rel_p": worst_rel, "mismatches": len(mismatches)}, f)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
