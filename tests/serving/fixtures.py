"""Model packages for the serve-model tests, built with Debian's python3-xgboost and python3-onnx.

    /usr/bin/python3 fixtures.py OUT_DIR

writes OUT_DIR/{xgb,xgb_ubj,multi,mlp,xgb_v2}/ (MLflow packages) and OUT_DIR/expected.json: the
test rows and each model's predictions computed in Python (xgboost's own predict, numpy for
the MLP), which the server must reproduce.
"""
import json
import os
import sys

import numpy as np
import onnx
import xgboost as xgb
from onnx import TensorProto, helper, numpy_helper

NF = 8
COLS = [f"f{i}" for i in range(NF)]


def mlmodel(flavor, data, extra, signature_cols, col_type="float", outputs=None):
    lines = ["artifact_path: model", "flavors:", f"  {flavor}:", f"    data: {data}"]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    if signature_cols is not None:
        spec = json.dumps([{"type": col_type, "name": c} for c in signature_cols])
        lines += ["signature:", f"  inputs: '{spec}'"]
        if outputs:
            lines += [f"  outputs: '{json.dumps(outputs)}'"]
    return "\n".join(lines) + "\n"


def write_pkg(path, mlmodel_text):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "MLmodel"), "w") as f:
        f.write(mlmodel_text)


def main(out):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2000, NF)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    y = ((np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) ** 2) > 0.6).astype(np.float32)
    test = rng.normal(size=(64, NF)).astype(np.float32)
    test[3, 2] = np.nan
    expected = {"columns": COLS, "rows": [[None if np.isnan(v) else float(v) for v in r] for r in test]}

    def train(params, label, rounds, seed):
        d = xgb.DMatrix(X, label=label, missing=np.nan)
        return xgb.train(dict(params, seed=seed, nthread=1), d, rounds)

    binary = train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, y, 40, 1)
    write_pkg(f"{out}/xgb", mlmodel("xgboost", "model.json", {"model_format": "json", "xgb_version": "1.7.4"}, COLS))
    binary.save_model(f"{out}/xgb/model.json")
    write_pkg(f"{out}/xgb_ubj", mlmodel("xgboost", "model.ubj", {"model_format": "ubj"}, None))
    binary.save_model(f"{out}/xgb_ubj/model.ubj")
    td = xgb.DMatrix(test, missing=np.nan)
    expected["xgb"] = [float(v) for v in binary.predict(td)]

    # A second version of the same model (different trees) for hot reload.
    v2 = train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.5}, y, 10, 2)
    write_pkg(f"{out}/xgb_v2", mlmodel("xgboost", "model.json", {"model_format": "json"}, COLS))
    v2.save_model(f"{out}/xgb_v2/model.json")
    expected["xgb_v2"] = [float(v) for v in v2.predict(td)]

    labels3 = (np.nan_to_num(X[:, 0]) > 0).astype(int) + (np.nan_to_num(X[:, 3]) > 0.5).astype(int)
    multi = train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, labels3, 15, 3)
    write_pkg(f"{out}/multi", mlmodel("xgboost", "model.json", {"model_format": "json"}, COLS))
    multi.save_model(f"{out}/multi/model.json")
    expected["multi"] = [[float(p) for p in row] for row in multi.predict(td)]

    # Integer-typed signature (for type validation): same binary model.
    write_pkg(f"{out}/xgb_int", mlmodel("xgboost", "model.json", {"model_format": "json"}, COLS, "long"))
    binary.save_model(f"{out}/xgb_int/model.json")

    # ONNX MLP NF -> 16 -> 16 -> 1.
    w1 = rng.normal(size=(NF, 16)).astype(np.float32) * 0.5
    b1 = rng.normal(size=16).astype(np.float32) * 0.1
    w2 = rng.normal(size=(16, 16)).astype(np.float32) * 0.5
    b2 = rng.normal(size=16).astype(np.float32) * 0.1
    w3 = rng.normal(size=(16, 1)).astype(np.float32) * 0.5
    b3 = rng.normal(size=1).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["a2"]),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["y"]),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (w3, "w3"), (b3, "b3")]]
    graph = helper.make_graph(nodes, "mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", NF])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    write_pkg(f"{out}/mlp", mlmodel("onnx", "model.onnx", {"onnx_version": "1.12.0"}, COLS))
    onnx.save(model, f"{out}/mlp/model.onnx")
    t = np.nan_to_num(test)
    h = np.maximum(t @ w1 + b1, 0)
    h = np.maximum(h @ w2 + b2, 0)
    expected["mlp"] = [float(v) for v in (h @ w3 + b3)[:, 0]]
    expected["mlp_rows"] = [[float(v) for v in r] for r in t]

    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
