"""Generates drift test cases and scipy's answers for drift_test.cc (run with /usr/bin/python3).

Output, one record per line:  <case> <field> <values...>  (floats in repr form, exact round trip).
"""
import sys
import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(20240611)
out = sys.stdout


def emit(case, field, values):
    if np.ndim(values) == 0:
        values = [values]
    out.write(case + " " + field + " " + " ".join(repr(float(v)) for v in values) + "\n")


def ks_case(name, a, b):
    r = stats.ks_2samp(a, b)
    emit(name, "a", a)
    emit(name, "b", b)
    emit(name, "ks", [r.statistic, r.pvalue])
    emit(name, "wasserstein", stats.wasserstein_distance(a, b))
    emit(name, "wasserstein_norm", stats.wasserstein_distance(a, b) / max(np.std(a), 0.001))


# exact regime
ks_case("ks_equal_n", rng.normal(0, 1, 50), rng.normal(0.3, 1, 50))
ks_case("ks_unequal", rng.normal(0, 1, 300), rng.normal(0.1, 1.2, 170))
ks_case("ks_ties", rng.integers(0, 10, 400).astype(float), rng.integers(0, 11, 250).astype(float))
ks_case("ks_gcd", rng.normal(0, 1, 1000), rng.normal(0.05, 1, 600))
ks_case("ks_tiny", np.array([1.0, 2.0, 3.0]), np.array([2.5, 4.0]))
ks_case("ks_exact_big", rng.normal(0, 1, 10000), rng.normal(0.02, 1, 7000))
ks_case("ks_exact_sig", rng.normal(0, 1, 3000), rng.normal(0.15, 1, 2000))
# asymptotic regime: kstwo.sf(d, round(n1*n2/(n1+n2)))
ks_case("ks_asymp", rng.normal(0, 1, 12000), rng.normal(0.01, 1, 15000))
ks_case("ks_asymp_sig", rng.normal(0, 1, 20000), rng.normal(0.04, 1, 20000))
ks_case("ks_asymp_small_n", rng.normal(0, 1, 10001), rng.normal(0.5, 1, 5))
ks_case("ks_asymp_n60", rng.normal(0, 1, 10001), rng.normal(0.2, 1, 61))
ks_case("ks_asymp_ties", rng.integers(0, 50, 30000).astype(float), rng.integers(0, 50, 11000).astype(float))
ks_case("ks_const", np.full(40, 3.0), np.full(25, 3.0))

# kstwo.sf directly over all of _kolmogn's branches
grid = []
for n in [3, 5, 20, 60, 140, 141, 400, 1000, 5000, 50000, 100000, 100001, 500000, 2000000]:
    for z in [0.3, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.6, 3.5, 5.0]:
        d = z / np.sqrt(n)
        if d < 1:
            grid.append((n, d))
    for d in [0.9 / n, 0.51, 0.75, 1 - 1.5 / n]:
        if 0 < d < 1:
            grid.append((n, d))
flat = []
for n, d in grid:
    flat += [n, d, stats.kstwo.sf(d, n)]
emit("kstwo", "grid", flat)

# chisquare (Evidently: expected = ref counts scaled to the current total)
obs = np.array([30.0, 14, 34, 45, 57, 20])
exp = np.array([20.0, 20, 30, 40, 60, 30]) * obs.sum() / 200.0
r = stats.chisquare(obs, exp)
emit("chisq", "obs", obs)
emit("chisq", "exp", exp)
emit("chisq", "result", [r.statistic, r.pvalue])


def evidently_binned(ref, cur, numeric, fill):
    ref = pd.Series(ref)
    cur = pd.Series(cur)
    if numeric and ref.nunique() > 20:
        bins = np.histogram_bin_edges(pd.concat([ref, cur], axis=0).values, bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = list(set(ref.dropna().unique()) | set(cur.dropna().unique()))
        rd = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
        cd = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
        rp = np.array([rd[k] / len(ref) for k in keys])
        cp = np.array([cd[k] / len(cur) for k in keys])
    if fill:
        for arr in (rp, cp):
            m = min(arr[arr != 0])
            np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp


def binned_case(name, ref, cur, numeric=True):
    emit(name, "a", ref)
    emit(name, "b", cur)
    rp, cp = evidently_binned(ref, cur, numeric, True)
    emit(name, "psi", np.sum((rp - cp) * np.log(rp / cp)))
    emit(name, "kl_div", stats.entropy(rp, cp))
    rp, cp = evidently_binned(ref, cur, numeric, False)
    emit(name, "jensenshannon", distance.jensenshannon(rp, cp))


binned_case("bin_normal", rng.normal(0, 1, 5000), rng.normal(0.2, 1.1, 4000))
binned_case("bin_skew", rng.exponential(1, 3000), rng.exponential(1.3, 2500))
binned_case("bin_few_values", rng.integers(0, 8, 2000).astype(float), rng.integers(0, 10, 1500).astype(float))
binned_case("bin_tail_gap", np.concatenate([rng.normal(0, 1, 3000), [40.0]]), rng.normal(0, 1, 3000))
