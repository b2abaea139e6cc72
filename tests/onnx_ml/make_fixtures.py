#!/usr/bin/python3
"""Builds the ai.onnx.ml conformance fixtures: small models made with onnx.helper, one per
operator variant, plus skl2onnx-shaped pipelines, and deterministic inputs.

    /usr/bin/python3 make_fixtures.py OUT_DIR

Writes OUT_DIR/<case>.onnx and OUT_DIR/manifest.json. ONNX Runtime's node binding cannot return
seq(map) values, so a case whose graph ends in ZipMap also gets OUT_DIR/<case>.ref.onnx: the same
graph without the ZipMap nodes, their inputs exposed as outputs; ort_reference.js zips those
with the keys recorded in the manifest.
"""

import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper as h, numpy_helper

ML = "ai.onnx.ml"
IR_VERSION = 8
ONNX_OPSET = 15

DTYPES = {
    "float32": (TensorProto.FLOAT, np.float32),
    "float64": (TensorProto.DOUBLE, np.float64),
    "int64": (TensorProto.INT64, np.int64),
    "int32": (TensorProto.INT32, np.int32),
    "string": (TensorProto.STRING, object),
}


def jsonable(values, dtype):
    out = []
    for v in np.asarray(values).ravel().tolist():
        if dtype in ("float32", "float64"):
            v = float(v)
            if math.isnan(v):
                v = "NaN"
            elif math.isinf(v):
                v = "Infinity" if v > 0 else "-Infinity"
        out.append(v)
    return out


def tensor_input(dtype, array):
    array = np.asarray(array, dtype=DTYPES[dtype][1])
    return {"dtype": dtype, "shape": list(array.shape), "data": jsonable(array, dtype)}


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, DTYPES[dtype][0], shape)


def seq_map_vi(name, key_dtype):
    mt = onnx.TypeProto()
    mt.map_type.key_type = DTYPES[key_dtype][0]
    mt.map_type.value_type.CopyFrom(h.make_tensor_type_proto(TensorProto.FLOAT, None))
    return h.make_value_info(name, h.make_sequence_type_proto(mt))


class Fixtures:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.cases = []

    def add(self, name, op, nodes, inputs, outputs, feeds, initializers=(), ml_opset=3):
        graph = h.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
        model = h.make_model(
            graph,
            opset_imports=[h.make_opsetid("", ONNX_OPSET), h.make_opsetid(ML, ml_opset)],
            ir_version=IR_VERSION,
            producer_name="studio-onnx-ml-fixtures",
        )
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(self.out_dir, name + ".onnx"))
        case = {
            "name": name,
            "op": op,
            "model": name + ".onnx",
            "inputs": feeds,
            "outputs": [o.name for o in outputs],
        }
        zipmaps = [n for n in nodes if n.op_type == "ZipMap"]
        if zipmaps:
            case["zipmap"] = {}
            ref_outputs = [o for o in outputs if o.name not in {z.output[0] for z in zipmaps}]
            for z in zipmaps:
                attrs = {a.name: h.get_attribute_value(a) for a in z.attribute}
                if "classlabels_strings" in attrs:
                    keys = [s.decode() for s in attrs["classlabels_strings"]]
                    key_type = "string"
                else:
                    keys = list(attrs["classlabels_int64s"])
                    key_type = "int64"
                case["zipmap"][z.output[0]] = {"source": z.input[0], "keys": keys,
                                               "key_type": key_type}
                ref_outputs.append(vi(z.input[0], "float32", [None, len(keys)]))
            ref_graph = h.make_graph([n for n in nodes if n.op_type != "ZipMap"], name + "_ref",
                                     inputs, ref_outputs, initializer=list(initializers))
            ref = h.make_model(ref_graph, opset_imports=model.opset_import, ir_version=IR_VERSION)
            onnx.checker.check_model(ref)
            onnx.save(ref, os.path.join(self.out_dir, name + ".ref.onnx"))
            case["ref_model"] = name + ".ref.onnx"
        self.cases.append(case)

    def write_manifest(self):
        with open(os.path.join(self.out_dir, "manifest.json"), "w") as f:
            json.dump({"cases": self.cases}, f, indent=1)


def rng(seed):
    return np.random.RandomState(seed)


def features(seed, rows, cols, nan_fraction=0.0, integer=False):
    r = rng(seed)
    x = r.randint(-3, 4, size=(rows, cols)).astype(np.float32) if integer else \
        r.uniform(-2, 2, size=(rows, cols)).astype(np.float32)
    if nan_fraction:
        mask = r.uniform(size=x.shape) < nan_fraction
        x[mask] = np.nan
    return x


# ------------------------------------------------------------------------- linear models

def linear(fx):
    x = features(1, 7, 3)
    feeds = {"X": tensor_input("float32", x)}
    coef = [0.5, -1.25, 2.0]

    def reg(name, coefs, intercepts, targets, post, feeds=feeds, in_dtype="float32", cols=3):
        attrs = {"coefficients": coefs, "targets": targets, "post_transform": post}
        if intercepts is not None:
            attrs["intercepts"] = intercepts
        node = h.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, **attrs)
        fx.add(name, "LinearRegressor", [node], [vi("X", in_dtype, [None, cols])],
               [vi("Y", "float32", [None, targets])], feeds)

    reg("linear_regressor_one_target", coef, [0.75], 1, "NONE")
    reg("linear_regressor_no_intercept", coef, None, 1, "NONE")
    reg("linear_regressor_three_targets", coef + [1.0, 1.0, 1.0, -0.5, 0.25, 0.0], [0.1, -0.2, 0.3], 3,
        "NONE")
    reg("linear_regressor_softmax", coef + [1.0, 1.0, 1.0, -0.5, 0.25, 0.0], [0.1, -0.2, 0.3], 3,
        "SOFTMAX")
    reg("linear_regressor_logistic_one_target", coef, [0.75], 1, "LOGISTIC")
    reg("linear_regressor_logistic_two_targets", coef + [1.0, -1.0, 0.5], [0.75, 0.0], 2, "LOGISTIC")
    small = features(2, 7, 3) * np.float32(0.1) + np.float32(0.5)
    reg("linear_regressor_probit", [0.3, 0.2, 0.1], [0.1], 1, "PROBIT",
        feeds={"X": tensor_input("float32", small)})

    def clf(name, coefs, intercepts, labels, post, x=x, in_dtype="float32", multi_class=0):
        attrs = {"coefficients": coefs, "intercepts": intercepts, "post_transform": post,
                 "multi_class": multi_class}
        if isinstance(labels[0], str):
            attrs["classlabels_strings"] = labels
            label_dtype = "string"
        else:
            attrs["classlabels_ints"] = labels
            label_dtype = "int64"
        node = h.make_node("LinearClassifier", ["X"], ["label", "scores"], domain=ML, **attrs)
        n_scores = 2 if len(intercepts) == 1 and len(labels) == 2 else len(intercepts)
        fx.add(name, "LinearClassifier", [node],
               [vi("X", in_dtype, [x.shape[0]] if x.ndim == 1 else [None, x.shape[1]])],
               [vi("label", label_dtype, [None]), vi("scores", "float32", [None, n_scores])],
               {"X": tensor_input(in_dtype, x)})

    c3 = [0.5, -1.25, 2.0, -1.0, 0.75, 0.5, 0.25, 0.25, -1.5]
    i3 = [0.1, -0.3, 0.2]
    clf("linear_classifier_multiclass_none", c3, i3, [3, 1, 2], "NONE")
    clf("linear_classifier_multiclass_softmax_strings", c3, i3, ["cat", "dog", "eel"], "SOFTMAX")
    clf("linear_classifier_multiclass_logistic", c3, i3, [0, 1, 2], "LOGISTIC", multi_class=1)
    zeros = np.vstack([x, np.zeros((2, 3), np.float32)])
    clf("linear_classifier_multiclass_softmax_zero", c3, [0.0, 0.0, 0.0], [0, 1, 2],
        "SOFTMAX_ZERO", x=zeros)
    clf("linear_classifier_multiclass_probit", [0.1, 0.05, 0.02] * 3, [0.3, 0.5, 0.6], [0, 1, 2],
        "PROBIT", x=small)
    clf("linear_classifier_double_input", c3, i3, [0, 1, 2], "SOFTMAX", in_dtype="float64")
    clf("linear_classifier_int64_input", c3, i3, ["a", "b", "c"], "NONE",
        x=features(3, 6, 3, integer=True), in_dtype="int64")
    c6 = [float(v) for v in np.float32(rng(12).uniform(-1.5, 1.5, size=18))]
    i6 = [float(v) for v in np.float32(rng(13).uniform(-0.5, 0.5, size=6))]
    clf("linear_classifier_six_classes_softmax", c6, i6, [10, 11, 12, 13, 14, 15], "SOFTMAX",
        x=features(14, 40, 3))
    clf("linear_classifier_six_classes_logistic", c6, i6, [f"c{i}" for i in range(6)],
        "LOGISTIC", x=features(15, 40, 3))
    clf("linear_classifier_1d_input", c3, i3, [0, 1, 2], "SOFTMAX", x=x[0])
    clf("linear_classifier_nan_input", c3, i3, ["p", "q", "r"], "SOFTMAX",
        x=features(16, 8, 3, nan_fraction=0.2))
    clf("linear_classifier_binary_nan_input", coef, [0.25], [0, 1], "LOGISTIC",
        x=features(17, 8, 3, nan_fraction=0.2))
    clf("linear_classifier_binary_one_row_ints", coef, [0.25], [0, 1], "NONE")
    clf("linear_classifier_binary_one_row_strings_logistic", coef, [0.25], ["no", "yes"],
        "LOGISTIC")
    clf("linear_classifier_binary_two_rows_softmax", coef + [-v for v in coef], [0.25, -0.25],
        [4, 9], "SOFTMAX")


# ---------------------------------------------------------------------------- preprocessing

def preprocessing(fx):
    x = features(4, 6, 3)
    x[2, :] = 0
    x[3, :] = -np.abs(x[3, :])

    def scaler(name, scale, offset, in_dtype, data):
        node = h.make_node("Scaler", ["X"], ["Y"], domain=ML, scale=scale, offset=offset)
        fx.add(name, "Scaler", [node], [vi("X", in_dtype, [None, 3])],
               [vi("Y", "float32", [None, 3])], {"X": tensor_input(in_dtype, data)})

    scaler("scaler_per_feature", [2.0, 0.5, -1.5], [0.1, -0.2, 1.3], "float32", x)
    scaler("scaler_broadcast", [0.3], [1.1], "float32", x)
    node = h.make_node("Scaler", ["X"], ["Y"], domain=ML, scale=[2.0, 0.5, -1.5],
                       offset=[0.1, -0.2, 1.3])
    fx.add("scaler_1d", "Scaler", [node], [vi("X", "float32", [3])], [vi("Y", "float32", [3])],
           {"X": tensor_input("float32", x[0])})
    scaler("scaler_double", [2.0, 0.5, -1.5], [0.1, -0.2, 1.3], "float64",
           x.astype(np.float64) * 1.000001)
    scaler("scaler_int64", [2.0, 0.5, -1.5], [0.1, -0.2, 1.3], "int64",
           features(5, 6, 3, integer=True))

    for norm in ("MAX", "L1", "L2"):
        node = h.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm=norm)
        fx.add("normalizer_" + norm.lower(), "Normalizer", [node], [vi("X", "float32", [None, 3])],
               [vi("Y", "float32", [None, 3])], {"X": tensor_input("float32", x)})
    for norm in ("MAX", "L2"):
        node = h.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm=norm)
        fx.add("normalizer_nan_" + norm.lower(), "Normalizer", [node],
               [vi("X", "float32", [None, 3])], [vi("Y", "float32", [None, 3])],
               {"X": tensor_input("float32", features(18, 8, 3, nan_fraction=0.2))})
    node = h.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm="L2")
    fx.add("normalizer_l2_double", "Normalizer", [node], [vi("X", "float64", [None, 3])],
           [vi("Y", "float32", [None, 3])], {"X": tensor_input("float64", x)})
    node = h.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm="L1")
    fx.add("normalizer_l1_int64", "Normalizer", [node], [vi("X", "int64", [None, 3])],
           [vi("Y", "float32", [None, 3])],
           {"X": tensor_input("int64", features(6, 5, 3, integer=True))})

    xn = features(7, 8, 4, nan_fraction=0.3)
    node = h.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_floats=[1.0, 2.0, 3.0, 4.0],
                       replaced_value_float=float("nan"))
    fx.add("imputer_nan_per_feature", "Imputer", [node], [vi("X", "float32", [None, 4])],
           [vi("Y", "float32", [None, 4])], {"X": tensor_input("float32", xn)})
    xi = features(8, 8, 4, integer=True)
    node = h.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_floats=[9.5],
                       replaced_value_float=-1.0)
    fx.add("imputer_value_broadcast", "Imputer", [node], [vi("X", "float32", [None, 4])],
           [vi("Y", "float32", [None, 4])], {"X": tensor_input("float32", xi)})
    node = h.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_int64s=[7, 8, 9, 10],
                       replaced_value_int64=0)
    fx.add("imputer_int64", "Imputer", [node], [vi("X", "int64", [None, 4])],
           [vi("Y", "int64", [None, 4])], {"X": tensor_input("int64", xi)})


# ------------------------------------------------------------------- ZipMap, AFE, LabelEncoder

def encoders(fx):
    p = rng(9).dirichlet([1, 1, 1], size=5).astype(np.float32)
    node = h.make_node("ZipMap", ["X"], ["Z"], domain=ML, classlabels_strings=["a", "b", "c"])
    fx.add("zipmap_strings", "ZipMap", [node], [vi("X", "float32", [None, 3])],
           [seq_map_vi("Z", "string")], {"X": tensor_input("float32", p)})
    node = h.make_node("ZipMap", ["X"], ["Z"], domain=ML, classlabels_int64s=[10, 20, 5])
    fx.add("zipmap_int64s", "ZipMap", [node], [vi("X", "float32", [None, 3])],
           [seq_map_vi("Z", "int64")], {"X": tensor_input("float32", p)})

    def afe(name, in_dtype, data, indices, out_shape):
        idx = numpy_helper.from_array(np.asarray(indices, np.int64), "idx")
        node = h.make_node("ArrayFeatureExtractor", ["X", "idx"], ["Z"], domain=ML)
        fx.add(name, "ArrayFeatureExtractor", [node],
               [vi("X", in_dtype, [None] * np.asarray(data).ndim)],
               [vi("Z", in_dtype, out_shape)], {"X": tensor_input(in_dtype, data)},
               initializers=[idx])

    xf = features(10, 4, 5)
    afe("array_feature_extractor_float", "float32", xf, [4, 0, 2], [None, 3])
    afe("array_feature_extractor_int64", "int64", features(11, 3, 4, integer=True), [1, 1],
        [None, 2])
    afe("array_feature_extractor_string", "string",
        np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object), [2], [None, 1])
    afe("array_feature_extractor_1d", "float32", xf[0], [3, 1], [1, 2])

    def le(name, in_dtype, out_dtype, data, ml_opset=2, **attrs):
        node = h.make_node("LabelEncoder", ["X"], ["Y"], domain=ML, **attrs)
        fx.add(name, "LabelEncoder", [node], [vi("X", in_dtype, [None])],
               [vi("Y", out_dtype, [None])], {"X": tensor_input(in_dtype, data)},
               ml_opset=ml_opset)

    words = np.array(["b", "a", "zz", "c", "a", ""], dtype=object)
    le("label_encoder_v1_string_to_int", "string", "int64", words, ml_opset=1,
       classes_strings=["a", "b", "c"], default_int64=-7)
    le("label_encoder_v1_int_to_string", "int64", "string", np.array([2, 0, 5, -1, 1]),
       ml_opset=1, classes_strings=["a", "b", "c"], default_string="none")
    le("label_encoder_string_to_int64", "string", "int64", words, keys_strings=["a", "b", "c"],
       values_int64s=[10, 20, 30])
    le("label_encoder_int64_to_string", "int64", "string", np.array([3, 1, 2, 9]),
       keys_int64s=[1, 2, 3], values_strings=["x", "y", "z"], default_string="?")
    le("label_encoder_float_to_string", "float32", "string",
       np.array([0.5, 1.5, -0.0, 0.0, 2.25], np.float32), keys_floats=[0.5, 0.0, 2.25],
       values_strings=["half", "zero", "two"])
    le("label_encoder_string_to_float", "string", "float32", words, keys_strings=["a", "c"],
       values_floats=[1.5, -2.5], default_float=0.125)
    le("label_encoder_int64_to_float_default", "int64", "float32", np.array([1, 2, 3]),
       keys_int64s=[1], values_floats=[4.0])
    le("label_encoder_string_to_string", "string", "string", words, ml_opset=3,
       keys_strings=["a", "b"], values_strings=["A", "B"], default_string="-")
    le("label_encoder_int64_to_int64", "int64", "int64", np.array([5, 6, 7]), ml_opset=3,
       keys_int64s=[5, 7], values_int64s=[50, 70], default_int64=0)


# --------------------------------------------------------------------------- tree ensembles

def random_trees(seed, n_trees, depth, n_features, modes=("BRANCH_LEQ",), integer=False,
                 missing_true_fraction=0.5):
    """Complete binary trees, flattened the ONNX way. Returns node attrs and leaf ids."""
    r = rng(seed)
    nodes = {k: [] for k in ("treeids", "nodeids", "featureids", "modes", "values",
                             "truenodeids", "falsenodeids", "missing")}
    leaves = []
    for t in range(n_trees):
        n_internal = 2 ** depth - 1
        for i in range(2 ** (depth + 1) - 1):
            nodes["treeids"].append(t)
            nodes["nodeids"].append(i)
            if i < n_internal:
                nodes["featureids"].append(int(r.randint(n_features)))
                nodes["modes"].append(modes[int(r.randint(len(modes)))])
                v = float(r.randint(-2, 3)) if integer else float(np.float32(r.uniform(-1.5, 1.5)))
                nodes["values"].append(v)
                nodes["truenodeids"].append(2 * i + 1)
                nodes["falsenodeids"].append(2 * i + 2)
                nodes["missing"].append(int(r.uniform() < missing_true_fraction))
            else:
                nodes["featureids"].append(0)
                nodes["modes"].append("LEAF")
                nodes["values"].append(0.0)
                nodes["truenodeids"].append(0)
                nodes["falsenodeids"].append(0)
                nodes["missing"].append(0)
                leaves.append((t, i))
    attrs = {
        "nodes_treeids": nodes["treeids"],
        "nodes_nodeids": nodes["nodeids"],
        "nodes_featureids": nodes["featureids"],
        "nodes_modes": nodes["modes"],
        "nodes_values": nodes["values"],
        "nodes_truenodeids": nodes["truenodeids"],
        "nodes_falsenodeids": nodes["falsenodeids"],
    }
    if any(nodes["missing"]):
        attrs["nodes_missing_value_tracks_true"] = nodes["missing"]
    return attrs, leaves


def tree_regressor(fx, name, seed, n_targets=1, aggregate="SUM", post="NONE", base=None,
                   modes=("BRANCH_LEQ",), integer=False, n_trees=3, depth=3, nan=0.2,
                   missing=0.5):
    n_features = 4
    attrs, leaves = random_trees(seed, n_trees, depth, n_features, modes, integer, missing)
    r = rng(seed + 100)
    tids, nids, ids, weights = [], [], [], []
    for (t, i) in leaves:
        for target in range(n_targets):
            tids.append(t)
            nids.append(i)
            ids.append(target)
            weights.append(float(np.float32(r.uniform(-1, 1))))
    attrs.update(target_treeids=tids, target_nodeids=nids, target_ids=ids, target_weights=weights,
                 n_targets=n_targets, aggregate_function=aggregate, post_transform=post)
    if base is not None:
        attrs["base_values"] = base
    node = h.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, **attrs)
    x = features(seed + 200, 12, n_features, nan_fraction=nan, integer=integer)
    fx.add(name, "TreeEnsembleRegressor", [node], [vi("X", "float32", [None, n_features])],
           [vi("Y", "float32", [None, n_targets])], {"X": tensor_input("float32", x)})


def tree_classifier_node(seed, labels, per_class_trees, post, base=None, modes=("BRANCH_LEQ",),
                         n_trees=3, depth=3, weight_range=(-1, 1), class_ids_used=None,
                         out=("label", "probabilities"), inp="X", missing=0.5):
    """per_class_trees: GBM style (tree t votes for class t % C) else every leaf votes for
    every class in class_ids_used."""
    n_features = 4
    n_classes = len(labels)
    attrs, leaves = random_trees(seed, n_trees, depth, n_features, modes,
                                 missing_true_fraction=missing)
    r = rng(seed + 100)
    tids, nids, ids, weights = [], [], [], []
    used = class_ids_used if class_ids_used is not None else list(range(n_classes))
    for (t, i) in leaves:
        classes = [used[t % len(used)]] if per_class_trees else used
        for c in classes:
            tids.append(t)
            nids.append(i)
            ids.append(c)
            weights.append(float(np.float32(r.uniform(*weight_range))))
    attrs.update(class_treeids=tids, class_nodeids=nids, class_ids=ids, class_weights=weights,
                 post_transform=post)
    if isinstance(labels[0], str):
        attrs["classlabels_strings"] = labels
    else:
        attrs["classlabels_int64s"] = labels
    if base is not None:
        attrs["base_values"] = base
    return h.make_node("TreeEnsembleClassifier", [inp], list(out), domain=ML, **attrs)


def tree_classifier(fx, name, seed, labels, per_class_trees, post, n_scores=None, nan=0.2,
                    **kw):
    node = tree_classifier_node(seed, labels, per_class_trees, post, **kw)
    label_dtype = "string" if isinstance(labels[0], str) else "int64"
    x = features(seed + 200, 12, 4, nan_fraction=nan)
    fx.add(name, "TreeEnsembleClassifier", [node], [vi("X", "float32", [None, 4])],
           [vi("label", label_dtype, [None]),
            vi("probabilities", "float32", [None, n_scores or len(labels)])],
           {"X": tensor_input("float32", x)})


def trees(fx):
    tree_regressor(fx, "tree_regressor_sum", 20, base=[0.5])
    tree_regressor(fx, "tree_regressor_average_two_targets", 21, n_targets=2,
                   aggregate="AVERAGE", base=[0.5, -0.5])
    tree_regressor(fx, "tree_regressor_min", 22, aggregate="MIN")
    tree_regressor(fx, "tree_regressor_max", 23, aggregate="MAX", n_targets=2)
    tree_regressor(fx, "tree_regressor_missing_tracks_false", 24, missing=0.0, nan=0.4)
    tree_regressor(fx, "tree_regressor_missing_tracks_true", 25, missing=1.0, nan=0.4)
    tree_regressor(fx, "tree_regressor_all_modes", 26,
                   modes=("BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ",
                          "BRANCH_NEQ"), integer=True, nan=0.0, n_trees=4)
    tree_regressor(fx, "tree_regressor_logistic", 27, post="LOGISTIC", base=[0.1])
    tree_regressor(fx, "tree_regressor_softmax_three_targets", 28, n_targets=3, post="SOFTMAX")
    tree_regressor(fx, "tree_regressor_large_sum", 29, n_trees=60, depth=6, base=[0.25])
    tree_regressor(fx, "tree_regressor_large_average", 41, n_trees=40, depth=5, n_targets=2,
                   aggregate="AVERAGE")

    # Multiclass, random-forest style (each leaf votes for every class), and GBM style (one
    # tree per class, base values, a transform).
    tree_classifier(fx, "tree_classifier_rf_ints_none", 30, [0, 1, 2], False, "NONE",
                    weight_range=(0, 1))
    tree_classifier(fx, "tree_classifier_gbm_strings_softmax", 31, ["a", "b", "c"], True,
                    "SOFTMAX", base=[0.1, -0.2, 0.3], n_trees=6)
    tree_classifier(fx, "tree_classifier_gbm_ints_logistic", 32, [5, 6, 7], True, "LOGISTIC",
                    n_trees=6)
    tree_classifier(fx, "tree_classifier_softmax_zero", 33, [0, 1, 2], True, "SOFTMAX_ZERO",
                    n_trees=3, depth=2)
    tree_classifier(fx, "tree_classifier_probit", 34, [0, 1, 2], False, "PROBIT",
                    weight_range=(0.1, 0.3), n_trees=2)
    tree_classifier(fx, "tree_classifier_missing_tracks_true", 35, [0, 1, 2], False, "NONE",
                    missing=1.0, nan=0.4)
    # Binary: one score column (sklearn GBM: class id 0 only) and two columns (random forest).
    tree_classifier(fx, "tree_classifier_binary_one_column_logistic", 36, [0, 1], False,
                    "LOGISTIC", base=[0.2], class_ids_used=[0])
    tree_classifier(fx, "tree_classifier_binary_one_column_none", 37, ["neg", "pos"], False,
                    "NONE", class_ids_used=[0])
    tree_classifier(fx, "tree_classifier_binary_one_column_positive_weights", 38, [0, 1], False,
                    "NONE", class_ids_used=[0], weight_range=(0.05, 0.3))
    tree_classifier(fx, "tree_classifier_binary_two_columns", 39, [3, 8], False, "NONE",
                    weight_range=(0, 1))
    tree_classifier(fx, "tree_classifier_binary_strings_softmax", 40, ["no", "yes"], False,
                    "SOFTMAX", base=[0.0, 0.1])
    tree_classifier(fx, "tree_classifier_large_gbm_softmax", 42, [0, 1, 2, 3, 4, 5], True,
                    "SOFTMAX", n_trees=60, depth=5, base=[0.1, 0.2, 0.3, 0.0, -0.1, -0.2])
    tree_classifier(fx, "tree_classifier_binary_one_column_strings_logistic", 43, ["n", "y"],
                    False, "LOGISTIC", class_ids_used=[0], n_trees=30, depth=4)


# -------------------------------------------------------------------------------- pipelines

def pipelines(fx):
    # skl2onnx LogisticRegression (multinomial) behind a StandardScaler.
    x = features(50, 9, 3) * np.float32(3)
    nodes = [
        h.make_node("Scaler", ["X"], ["scaled"], domain=ML, scale=[0.5, 1.5, 0.8],
                    offset=[0.2, -0.1, 0.4]),
        h.make_node("LinearClassifier", ["scaled"], ["output_label", "probability_tensor"],
                    domain=ML, coefficients=[0.5, -1.25, 2.0, -1.0, 0.75, 0.5, 0.5, 0.5, -2.5],
                    intercepts=[0.1, -0.3, 0.2], classlabels_ints=[0, 1, 2],
                    post_transform="SOFTMAX", multi_class=1),
        h.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain=ML,
                    classlabels_int64s=[0, 1, 2]),
    ]
    fx.add("pipeline_scaler_linear_classifier_zipmap", "pipeline", nodes,
           [vi("X", "float32", [None, 3])],
           [vi("output_label", "int64", [None]), seq_map_vi("output_probability", "int64")],
           {"X": tensor_input("float32", x)})

    # One-vs-rest LogisticRegression: LOGISTIC scores, then an L1 Normalizer.
    nodes = [
        h.make_node("LinearClassifier", ["X"], ["output_label", "raw"], domain=ML,
                    coefficients=[0.5, -1.25, 2.0, -1.0, 0.75, 0.5, 0.5, 0.5, -2.5],
                    intercepts=[0.1, -0.3, 0.2], classlabels_strings=["x", "y", "z"],
                    post_transform="LOGISTIC"),
        h.make_node("Normalizer", ["raw"], ["probability_tensor"], domain=ML, norm="L1"),
        h.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain=ML,
                    classlabels_strings=["x", "y", "z"]),
    ]
    fx.add("pipeline_ovr_linear_normalizer_zipmap", "pipeline", nodes,
           [vi("X", "float32", [None, 3])],
           [vi("output_label", "string", [None]), seq_map_vi("output_probability", "string")],
           {"X": tensor_input("float32", x)})

    # SimpleImputer(mean) → RandomForestClassifier.
    xn = features(51, 10, 4, nan_fraction=0.3)
    nodes = [
        h.make_node("Imputer", ["X"], ["imputed"], domain=ML,
                    imputed_value_floats=[0.1, -0.2, 0.3, 0.05], replaced_value_float=float("nan")),
        tree_classifier_node(52, ["setosa", "versicolor", "virginica"], False, "NONE",
                             weight_range=(0, 1), inp="imputed",
                             out=("output_label", "probability_tensor")),
        h.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain=ML,
                    classlabels_strings=["setosa", "versicolor", "virginica"]),
    ]
    fx.add("pipeline_imputer_tree_classifier_zipmap", "pipeline", nodes,
           [vi("X", "float32", [None, 4])],
           [vi("output_label", "string", [None]), seq_map_vi("output_probability", "string")],
           {"X": tensor_input("float32", xn)})

    # A categorical column through LabelEncoder, scaled, into a regressor.
    nodes = [
        h.make_node("ArrayFeatureExtractor", ["X", "cols"], ["picked"], domain=ML),
        h.make_node("Normalizer", ["picked"], ["normed"], domain=ML, norm="L2"),
        h.make_node("LinearRegressor", ["normed"], ["variable"], domain=ML,
                    coefficients=[1.5, -0.5], intercepts=[0.25], targets=1),
    ]
    fx.add("pipeline_afe_normalizer_regressor", "pipeline", nodes,
           [vi("X", "float32", [None, 5])], [vi("variable", "float32", [None, 1])],
           {"X": tensor_input("float32", features(53, 6, 5))},
           initializers=[numpy_helper.from_array(np.array([3, 1], np.int64), "cols")])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    fx = Fixtures(out_dir)
    linear(fx)
    preprocessing(fx)
    encoders(fx)
    trees(fx)
    pipelines(fx)
    fx.write_manifest()
    print(f"{len(fx.cases)} fixtures in {out_dir}")


if __name__ == "__main__":
    main()
