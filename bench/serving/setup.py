#!/usr/bin/python3
"""Setup for the serving benchmark (bench/serving/run.py calls it; it can also run on its own).

Writes into OUT (a work dir, never the repo):
  xgb/      MLflow model package: MLmodel (xgboost flavor, model_format json, signature f0..f29 float)
            + model.json. XGBoost 1.7 binary:logistic, 200 trees, depth 6, 30 features, trained on
            20 000 rows exactly as calibration.md §A.1 describes (rng default_rng(42), hist, seed 0).
  mlp/      MLflow model package: MLmodel (onnx flavor, same signature) + model.onnx, an MLP
            30 -> 64 -> 64 -> 1 (Gemm+Relu, Gemm+Relu, Gemm; weights [out, in] with transB=1;
            deterministic random weights from default_rng(7); opset 13, IR version 8).
  request.json        {"instances": [[30 floats]]}: the single test row X[0] (637 bytes or so)
  expected.json       the expected prediction of each model on that row, with versions
  batch.csv           --rows rows (default 1 000 000) of 30 columns, header f0..f29, 6 decimals
  batch_matrix.npy    the same matrix as float32 (what the CSV parses to), for in-process comparisons

Usage: /usr/bin/python3 bench/serving/setup.py --out DIR [--rows N] [--no-csv]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

N_FEATURES = 30
N_TRAIN = 20000
HIDDEN = 64


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def signature_yaml():
    cols = [{"type": "float", "name": "f%d" % i} for i in range(N_FEATURES)]
    inputs = json.dumps(cols)
    outputs = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}])
    # Single-quoted YAML scalars: JSON has no single quotes in it, so no escaping is needed.
    return "signature:\n  inputs: '%s'\n  outputs: '%s'\n" % (inputs, outputs)


def training_data():
    rng = np.random.default_rng(42)
    X = rng.standard_normal((N_TRAIN, N_FEATURES)).astype(np.float32)
    w = rng.standard_normal(N_FEATURES)
    noise = rng.standard_normal(N_TRAIN)
    y = (X @ w + 0.5 * np.sin(X[:, 0] * X[:, 1]) + 0.5 * noise > 0).astype(np.float32)
    return X, y


def build_xgb(out, X, y):
    import xgboost as xgb
    d = os.path.join(out, "xgb")
    os.makedirs(d, exist_ok=True)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
              "nthread": 2, "seed": 0}
    bst = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=200)
    bst.save_model(os.path.join(d, "model.json"))
    mlmodel = (
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function:\n"
        "    data: model.json\n"
        "    env:\n"
        "      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.xgboost\n"
        "    python_version: %s\n"
        "  xgboost:\n"
        "    code: null\n"
        "    data: model.json\n"
        "    model_class: xgboost.core.Booster\n"
        "    model_format: json\n"
        "    xgb_version: %s\n"
        "mlflow_version: 2.9.2\n"
        "model_uuid: 5b1c0b1e6a0c4e2f9d3a7e1b2c4d6f80\n"
        "utc_time_created: '2024-06-01 00:00:00.000000'\n"
        % ("%d.%d.%d" % sys.version_info[:3], xgb.__version__)) + signature_yaml()
    with open(os.path.join(d, "MLmodel"), "w") as f:
        f.write(mlmodel)
    bst.set_param({"nthread": 1})
    return d, bst


def mlp_weights():
    rng = np.random.default_rng(7)
    dims = [N_FEATURES, HIDDEN, HIDDEN, 1]
    layers = []
    for i in range(3):
        fan_in, fan_out = dims[i], dims[i + 1]
        W = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(fan_out) * 0.1).astype(np.float32)
        layers.append((W, b))
    return layers


def mlp_numpy(layers, x):
    """The reference forward pass (also what the baselines compute): float32 throughout."""
    h = np.asarray(x, dtype=np.float32)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


def build_mlp(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    d = os.path.join(out, "mlp")
    os.makedirs(d, exist_ok=True)
    layers = mlp_weights()
    inits, nodes = [], []
    prev = "input"
    for i, (W, b) in enumerate(layers):
        inits.append(numpy_helper.from_array(W, "W%d" % i))
        inits.append(numpy_helper.from_array(b, "B%d" % i))
        last = i == len(layers) - 1
        gout = "output" if last else "gemm%d" % i
        nodes.append(helper.make_node("Gemm", [prev, "W%d" % i, "B%d" % i], [gout], name="gemm%d" % i,
                                      alpha=1.0, beta=1.0, transB=1))
        if not last:
            nodes.append(helper.make_node("Relu", [gout], ["relu%d" % i], name="relu%d" % i))
            prev = "relu%d" % i
    graph = helper.make_graph(
        nodes, "mlp_30_64_64_1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", N_FEATURES])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="studio-bench", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    mlmodel = (
        "artifact_path: model\n"
        "flavors:\n"
        "  onnx:\n"
        "    code: null\n"
        "    data: model.onnx\n"
        "    onnx_version: %s\n"
        "    providers:\n"
        "    - CPUExecutionProvider\n"
        "  python_function:\n"
        "    data: model.onnx\n"
        "    env:\n"
        "      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.onnx\n"
        "    python_version: %s\n"
        "mlflow_version: 2.9.2\n"
        "model_uuid: 0e7d2c4a9b1f4c3e8a6d5b2f1e0c9a87\n"
        "utc_time_created: '2024-06-01 00:00:00.000000'\n"
        % (onnx.__version__, "%d.%d.%d" % sys.version_info[:3])) + signature_yaml()
    with open(os.path.join(d, "MLmodel"), "w") as f:
        f.write(mlmodel)
    return d, layers


def write_csv(path, rows, chunk=50000):
    """rows x 30 standard-normal values with 6 decimals. Returns the float32 matrix the CSV parses to.
    One %-format per chunk (C speed per value): about 2-4 s per million rows."""
    rng = np.random.default_rng(1234)
    X = np.empty((rows, N_FEATURES), dtype=np.float32)
    line = ",".join(["%.6f"] * N_FEATURES) + "\n"
    with open(path, "w") as f:
        f.write(",".join("f%d" % i for i in range(N_FEATURES)) + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            v = np.round(rng.standard_normal((n, N_FEATURES)), 6)
            X[start:start + n] = v  # float64 6-decimal value -> nearest float32, as strtof does
            f.write((line * n) % tuple(v.ravel().tolist()))
    return X


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=1000000, help="rows in batch.csv")
    ap.add_argument("--no-csv", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    t0 = time.perf_counter()
    X, y = training_data()
    xgb_dir, bst = build_xgb(args.out, X, y)
    t_xgb = time.perf_counter() - t0
    mlp_dir, layers = build_mlp(args.out)

    row = X[:1]
    body = json.dumps({"instances": row.astype(np.float64).tolist()})
    with open(os.path.join(args.out, "request.json"), "w") as f:
        f.write(body)
    import onnx
    import xgboost
    expected = {
        "row": row[0].astype(np.float64).tolist(),
        "xgb": float(bst.inplace_predict(row)[0]),
        "mlp": float(mlp_numpy(layers, row)[0, 0]),
        "xgboost_version": xgboost.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "train_seconds": t_xgb,
    }
    t1 = time.perf_counter()
    if not args.no_csv:
        Xb = write_csv(os.path.join(args.out, "batch.csv"), args.rows)
        np.save(os.path.join(args.out, "batch_matrix.npy"), Xb)
        expected["batch_rows"] = args.rows
        expected["batch_csv_bytes"] = os.path.getsize(os.path.join(args.out, "batch.csv"))
        expected["csv_seconds"] = time.perf_counter() - t1
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    log("setup: xgb %s (trained in %.1f s), mlp %s, request %d bytes%s; xgb(row0)=%r mlp(row0)=%r"
        % (xgb_dir, t_xgb, mlp_dir, len(body),
           "" if args.no_csv else ", batch.csv %d rows / %.0f MB in %.1f s"
           % (args.rows, expected["batch_csv_bytes"] / 1e6, expected["csv_seconds"]),
           expected["xgb"], expected["mlp"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
