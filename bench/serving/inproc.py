#!/usr/bin/python3
"""In-process prediction times with Debian's Python stack (no HTTP), for bench/serving/run.py.

For one model package (BENCH_MODEL_DIR semantics of baseline/model.py), prints one JSON object:
  predict_us   one single-row predict call (xgboost: Booster.inplace_predict, nthread=1; onnx MLP:
               numpy float32 matmuls): median over 5 blocks of timeit
  handler_us   the baselines' whole handler body: json.loads + np.asarray + predict + json.dumps
  batch_rows_per_s, batch_seconds, batch_rows, batch_first
               with --matrix: prediction over the whole float32 matrix in one call (xgboost with
               nthread = all cores, as a batch job would run it), best of 2
Usage: inproc.py --model DIR --request FILE [--matrix FILE.npy] [--seconds S]
"""
import argparse
import json
import os
import statistics
import sys
import time
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "baseline"))
import model as baseline_model  # noqa: E402


def per_call_us(fn, seconds):
    t = timeit.Timer(fn)
    n, _ = t.autorange()  # calls taking >= 0.2 s
    blocks = max(3, min(5, int(seconds / 0.2)))
    return statistics.median(t.repeat(repeat=blocks, number=n)) / n * 1e6, n * blocks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--request", required=True)
    ap.add_argument("--matrix", default="")
    ap.add_argument("--seconds", type=float, default=1.0, help="rough time per single-row measurement")
    args = ap.parse_args()

    flavor, predict = baseline_model.load(args.model)
    body = open(args.request, "rb").read()
    row = np.asarray(json.loads(body)["instances"], dtype=np.float32)
    out = {"flavor": flavor}
    for _ in range(200):
        predict(row)
    out["predict_us"], out["predict_calls"] = per_call_us(lambda: predict(row), args.seconds)
    out["prediction"] = predict(row)[0]

    def handler():
        x = np.asarray(json.loads(body)["instances"], dtype=np.float32)
        return json.dumps({"predictions": predict(x)})
    out["handler_us"], _ = per_call_us(handler, args.seconds)

    if args.matrix:
        X = np.load(args.matrix, mmap_mode="r")
        X = np.ascontiguousarray(X)
        if flavor == "xgboost":
            import xgboost as xgb
            bst = xgb.Booster(model_file=os.path.join(args.model, "model.json"))
            bst.set_param({"nthread": os.cpu_count() or 1})
            run = bst.inplace_predict
        else:
            run = lambda m: np.asarray(predict(m))  # noqa: E731
        best, first = None, None
        for _ in range(2):
            t0 = time.perf_counter()
            p = run(X)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
            first = [float(v) for v in np.asarray(p).ravel()[:3]]
        out.update({"batch_rows": int(X.shape[0]), "batch_seconds": best,
                    "batch_rows_per_s": X.shape[0] / best, "batch_first": first,
                    "batch_engine": ("libxgboost inplace_predict, nthread=%d" % (os.cpu_count() or 1))
                    if flavor == "xgboost" else "numpy float32 matmuls"})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
