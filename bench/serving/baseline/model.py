"""Model loading shared by the serving baselines (flask_app.py, fastapi_app.py).

BENCH_MODEL_DIR names an MLflow model package written by bench/serving/setup.py:
  - flavor xgboost: xgboost.Booster(model_file=<data>), nthread=1, and Booster.inplace_predict on a
    float32 array: the fastest Python path (calibration.md §A.3), what MLflow's xgboost pyfunc
    amounts to without the pandas conversion.
  - flavor onnx: the Gemm weights read from model.onnx with onnx.numpy_helper, and the forward pass
    as numpy float32 matmuls (x @ W.T + b, ReLU): Debian has no onnxruntime.
predict(x) takes an (n, 30) float32 array and returns a list of floats (one per row).
"""
import json
import os

import numpy as np

MODEL_DIR = os.environ.get("BENCH_MODEL_DIR", "")


def _flavor(model_dir):
    """(flavor, data file) from the MLmodel file: a two-level YAML read without PyYAML."""
    flavor, data, in_flavors, current = None, None, False, None
    with open(os.path.join(model_dir, "MLmodel")) as f:
        for line in f:
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(" "))
            key, _, value = line.strip().partition(":")
            if indent == 0:
                in_flavors = key == "flavors"
            elif in_flavors and indent == 2:
                current = key
            elif in_flavors and indent == 4 and current in ("xgboost", "onnx") and key == "data":
                flavor, data = current, value.strip()
    if not flavor:
        raise RuntimeError("%s/MLmodel has no xgboost or onnx flavor" % model_dir)
    return flavor, os.path.join(model_dir, data)


def load(model_dir=MODEL_DIR):
    flavor, path = _flavor(model_dir)
    if flavor == "xgboost":
        import xgboost as xgb
        bst = xgb.Booster(model_file=path)
        bst.set_param({"nthread": 1})  # one row per call: 2 threads is slower (calibration.md §A.2)

        def predict(x):
            return bst.inplace_predict(x).tolist()
        return flavor, predict

    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    layers = []
    for node in m.graph.node:
        if node.op_type == "Gemm":
            trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
            W = init[node.input[1]].astype(np.float32)
            layers.append((np.ascontiguousarray(W.T if trans_b else W), init[node.input[2]].astype(np.float32)))
        elif node.op_type != "Relu":
            raise RuntimeError("baseline MLP: unsupported op %s" % node.op_type)
    last = len(layers) - 1

    def predict(x):
        h = x
        for i, (Wt, b) in enumerate(layers):
            h = h @ Wt + b
            if i < last:
                np.maximum(h, 0, out=h)
        return h[:, 0].tolist()
    return flavor, predict


FLAVOR, PREDICT = load() if MODEL_DIR else (None, None)
MODEL_INFO = {"name": os.path.basename(os.path.normpath(MODEL_DIR)) if MODEL_DIR else "", "version": "1"}


def handle(body):
    """bytes of {"instances": [[...], ...]} -> bytes of {"predictions": [...], "model": {...}}."""
    x = np.asarray(json.loads(body)["instances"], dtype=np.float32)
    return json.dumps({"predictions": PREDICT(x), "model": MODEL_INFO}).encode()
