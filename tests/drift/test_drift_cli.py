"""`studio drift` end to end: the real binary (STUDIO_BIN) on generated CSV files.

Statistics are checked against scipy on the very values written to the CSV (Python's repr
round-trips doubles exactly, and the reader parses correctly rounded).
Run: STUDIO_BIN=build/studio /usr/bin/python3 -m unittest -v test_drift_cli.py
"""

import csv
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from scipy import stats
from scipy.spatial import distance

STUDIO = os.environ.get("STUDIO_BIN", "studio")


def run(*args, timeout=120):
    p = subprocess.run([STUDIO, "drift", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_csv(path, columns):
    names = list(columns)
    n = len(columns[names[0]])
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names)
        for i in range(n):
            w.writerow([repr(float(columns[c][i])) if isinstance(columns[c][i], (float, np.floating))
                        else columns[c][i] for c in names])


def sturges_shares(ref, cur):
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    return r, c


def category_shares(ref, cur):
    cats = sorted(set(ref) | set(cur))
    r = np.array([np.sum(ref == k) for k in cats]) / len(ref)
    c = np.array([np.sum(cur == k) for k in cats]) / len(cur)
    return r, c


def psi(r, c):
    def fill(a):
        a = a.copy()
        nz = a[a > 0]
        eps = 0.0001 if nz.size == 0 or nz.min() > 0.0001 else nz.min() / 1e6
        a[a == 0] = eps
        return a
    r, c = fill(r), fill(c)
    return float(np.sum((r - c) * np.log(r / c)))


class DriftCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="studio-drift-test-")
        rng = np.random.default_rng(7)
        n_ref, n_cur = 4000, 3000
        cats = np.array(["red", "green", "blue", "a,b \"quoted\""])
        cls.ref = {
            "x": rng.normal(0, 1, n_ref),
            "y": rng.exponential(2.0, n_ref),
            "z": rng.uniform(-5, 5, n_ref),
            "color": cats[rng.choice(4, n_ref, p=[.4, .3, .2, .1])],
        }
        cls.cur = {  # x and color drift, y and z do not
            "x": rng.normal(0.5, 1, n_cur),
            "y": rng.exponential(2.0, n_cur),
            "z": rng.uniform(-5, 5, n_cur),
            "color": cats[rng.choice(4, n_cur, p=[.1, .2, .3, .4])],
        }
        cls.ref_csv = os.path.join(cls.dir, "ref.csv")
        cls.cur_csv = os.path.join(cls.dir, "cur.csv")
        write_csv(cls.ref_csv, cls.ref)
        write_csv(cls.cur_csv, cls.cur)
        # Same values, other order: no drift at all.
        perm = rng.permutation(n_ref)
        cls.same_csv = os.path.join(cls.dir, "same.csv")
        write_csv(cls.same_csv, {k: v[perm] for k, v in cls.ref.items()})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def json_report(self, *args, expect=None):
        code, out, err = run("--reference", self.ref_csv, "--current", self.cur_csv,
                             "--format", "json", *args)
        self.assertIn(code, (0, 1) if expect is None else (expect,), err)
        self.assertEqual(err, "")
        report = json.loads(out)
        return code, report, {f["column"]: f for f in report["features"]}

    # ---- exit codes --------------------------------------------------------------------------
    def test_exit_0_without_drift(self):
        code, out, err = run("--reference", self.ref_csv, "--current", self.same_csv)
        self.assertEqual(code, 0, err)
        self.assertIn("Dataset drift: NO", out)

    def test_exit_1_with_drift(self):
        code, out, err = run("--reference", self.ref_csv, "--current", self.cur_csv,
                             "--method", "ks", "--columns", "x,y")
        # share 1/2 >= 0.5
        self.assertEqual(code, 1, out + err)
        self.assertIn("Dataset drift: YES", out)

    def test_drift_share_flag_decides(self):
        code, _, _ = run("--reference", self.ref_csv, "--current", self.cur_csv,
                         "--method", "ks", "--columns", "x,y", "--drift-share", "0.75")
        self.assertEqual(code, 0)

    def test_text_table(self):
        code, out, err = run("--reference", self.ref_csv, "--current", self.cur_csv)
        self.assertIn(code, (0, 1), err)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("feature"))
        for col in ("kind", "method", "statistic", "p-value/distance", "threshold", "drift"):
            self.assertIn(col, lines[0])
        at = lines[0].index("drift", lines[0].index("threshold"))
        flags = {l.split()[0]: l[at:].strip() for l in lines[2:6]}
        self.assertEqual(flags["x"], "DRIFT")
        self.assertEqual(flags["y"], "no")
        self.assertRegex(out, r"Drifted features: \d+ of 4 evaluated")

    def test_help_has_an_example(self):
        p = subprocess.run([STUDIO, "drift", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("Example", p.stdout)
        self.assertIn("--reference", p.stdout)

    # ---- JSON and the statistics -------------------------------------------------------------
    def test_json_fields(self):
        code, report, by = self.json_report()
        for key in ("dataset_drift", "share", "drift_share", "drifted", "evaluated", "correction",
                    "features"):
            self.assertIn(key, report)
        self.assertEqual(report["drift_share"], 0.5)
        self.assertEqual(report["evaluated"], 4)
        self.assertEqual(code, 1 if report["dataset_drift"] else 0)
        self.assertEqual(set(by), {"x", "y", "z", "color"})
        for f in by.values():
            for key in ("column", "kind", "method", "statistic", "score", "threshold", "drift",
                        "ref_count", "cur_count"):
                self.assertIn(key, f)
        self.assertEqual(by["x"]["kind"], "numeric")
        self.assertEqual(by["color"]["kind"], "categorical")
        # Evidently's rule: n_ref > 1000 → wasserstein (numeric), jensenshannon (categorical).
        self.assertEqual(by["x"]["method"], "wasserstein")
        self.assertEqual(by["color"]["method"], "jensenshannon")
        self.assertTrue(by["x"]["drift"])
        self.assertEqual(by["x"]["ref_count"], 4000)
        self.assertEqual(by["x"]["cur_count"], 3000)

    def test_ks_equals_scipy(self):
        _, _, by = self.json_report("--method", "ks", "--columns", "x,y,z")
        for col in ("x", "y", "z"):
            want = stats.ks_2samp(self.ref[col], self.cur[col])
            self.assertEqual(by[col]["method"], "ks")
            self.assertAlmostEqual(by[col]["statistic"], want.statistic, delta=1e-9)
            self.assertAlmostEqual(by[col]["p_value"], want.pvalue, delta=1e-9)
            self.assertLessEqual(abs(by[col]["p_value"] - want.pvalue), 1e-6 * want.pvalue + 1e-300)
            self.assertEqual(by[col]["drift"], want.pvalue <= 0.05)

    def test_wasserstein_normed_equals_scipy(self):
        _, _, by = self.json_report("--method", "wasserstein", "--columns", "x,y,z")
        for col in ("x", "y", "z"):
            want = stats.wasserstein_distance(self.ref[col], self.cur[col]) / max(
                np.std(self.ref[col]), 0.001)
            self.assertAlmostEqual(by[col]["statistic"], want, delta=1e-9)
            self.assertEqual(by[col]["drift"], want >= 0.1)

    def test_jensenshannon_equals_scipy(self):
        _, _, by = self.json_report("--method", "jensenshannon")
        for col in ("x", "y", "z"):
            r, c = sturges_shares(self.ref[col], self.cur[col])
            self.assertAlmostEqual(by[col]["statistic"], distance.jensenshannon(r, c), delta=1e-9)
        r, c = category_shares(self.ref["color"], self.cur["color"])
        self.assertAlmostEqual(by["color"]["statistic"], distance.jensenshannon(r, c), delta=1e-9)

    def test_psi_equals_numpy(self):
        _, _, by = self.json_report("--method", "psi")
        for col in ("x", "y", "z"):
            self.assertAlmostEqual(by[col]["statistic"],
                                   psi(*sturges_shares(self.ref[col], self.cur[col])), delta=1e-9)
        self.assertAlmostEqual(by["color"]["statistic"],
                               psi(*category_shares(self.ref["color"], self.cur["color"])),
                               delta=1e-9)

    def test_threshold_and_correction(self):
        _, report, by = self.json_report("--method", "ks", "--columns", "x,y,z",
                                         "--threshold", "0.2", "--correction", "bonferroni")
        self.assertEqual(report["correction"], "bonferroni")
        for f in by.values():
            self.assertEqual(f["threshold"], 0.2)
            self.assertIn("adjusted_p_value", f)
            self.assertAlmostEqual(f["adjusted_p_value"], min(1.0, 3 * f["p_value"]), delta=1e-12)

    def test_kind_override(self):
        # z read as categorical: every value its own category → chi-square / jensenshannon.
        _, _, by = self.json_report("--columns", "z,color", "--categorical", "z")
        self.assertEqual(by["z"]["kind"], "categorical")

    # ---- HTML --------------------------------------------------------------------------------
    def test_html_is_self_contained(self):
        out_path = os.path.join(self.dir, "report.html")
        code, out, err = run("--reference", self.ref_csv, "--current", self.cur_csv,
                             "--format", "html", "--output", out_path)
        self.assertIn(code, (0, 1), err)
        self.assertEqual(out, "")
        self.assertIn("report written to " + out_path, err)
        with open(out_path, encoding="utf-8") as f:
            html = f.read()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertEqual(html.count("<svg"), 4)  # one per feature
        self.assertNotIn("http", html)
        self.assertIsNone(re.search(r"<script|<link|<img|<iframe|@import|url\(", html))
        self.assertIn('<th scope="col">Feature</th>', html)
        self.assertIn("a,b &quot;quoted&quot;", html)  # escaped category from the data
        self.assertEqual(html.count("<title"), 1 + 4 + html.count("<rect class=") + 2 * 3)

    # ---- errors: exit 2 with the problem named -----------------------------------------------
    def assert_error(self, args, *needles):
        code, out, err = run(*args)
        self.assertEqual(code, 2, out + err)
        self.assertEqual(out, "")
        for needle in needles:
            self.assertIn(needle, err)

    def test_missing_file(self):
        missing = os.path.join(self.dir, "nope.csv")
        self.assert_error(["--reference", missing, "--current", self.cur_csv],
                          "cannot open " + missing, "No such file")

    def test_ragged_csv_names_the_line(self):
        path = os.path.join(self.dir, "ragged.csv")
        with open(path, "w") as f:
            f.write("x,y,z,color\n1,2,3,red\n4,5,6\n")
        self.assert_error(["--reference", self.ref_csv, "--current", path],
                          path + ":3: expected 4 fields (as in the header), found 3")

    def test_unknown_column(self):
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--columns", "x,nosuch"], "no column 'nosuch'", "columns: x, y, z")

    def test_unknown_method(self):
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--method", "magic"], "unknown method 'magic'", "ks", "psi")

    def test_columns_must_match_without_subset(self):
        path = os.path.join(self.dir, "fewer.csv")
        write_csv(path, {k: v for k, v in self.cur.items() if k != "z"})
        self.assert_error(["--reference", self.ref_csv, "--current", path],
                          "column 'z' is in " + self.ref_csv + " but not in " + path)

    def test_bad_flags(self):
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--format", "xml"], "unknown format 'xml'")
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--correction", "holm"], "unknown correction 'holm'")
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--categorical", "x", "--numeric", "x"], "both --categorical and --numeric")
        code, _, _ = run("--reference", self.ref_csv)  # --current is required
        self.assertEqual(code, 2)

    def test_numeric_override_on_text_names_the_line(self):
        self.assert_error(["--reference", self.ref_csv, "--current", self.cur_csv,
                           "--numeric", "color"], self.ref_csv + ":2: column 4: ",
                          "is not a number")


if __name__ == "__main__":
    unittest.main()
