#!/usr/bin/env python3
"""Export a trained scikit-learn tree ensemble to the JSON (or npz) that Timber compiles.

    python3 tools/export_sklearn.py MODEL.pkl OUT.json
    python3 tools/export_sklearn.py MODEL.pkl OUT.npz       (compact binary form, see below)
    python3 tools/export_sklearn.py --format json|npz MODEL.pkl OUT

The format follows OUT's extension (`.npz`: npz, anything else: JSON) unless --format says.

MODEL.pkl is a pickle or joblib file holding one of:

    DecisionTreeRegressor, DecisionTreeClassifier, ExtraTreeRegressor, ExtraTreeClassifier,
    RandomForestRegressor, RandomForestClassifier, ExtraTreesRegressor, ExtraTreesClassifier,
    GradientBoostingRegressor, GradientBoostingClassifier

Needs only scikit-learn (>= 1.4.1, whose classifier trees store class fractions) and numpy.
Loading a pickle runs code from it: export only models you trust.

The output schema ("timber_sklearn": 1) is documented in Timber's README. In short:

    {"timber_sklearn": 1, "sklearn_version": "...", "estimator": "<class name>",
     "n_features": F, "feature_names": [...] | null, "classes": [...] | null,
     "n_outputs": K, "ensemble": "mean" | "boosting",
     "learning_rate": lr, "init": [K raw values]          (boosting only)
     "transform": "identity" | "logistic" | "softmax", "logistic_scale": s,
     "trees": [{"output": k (boosting only), "children_left": [...], "children_right": [...],
                "feature": [...], "threshold": [...], "missing_go_to_left": [...],
                "value": [[...], ...], "cover": [...]}]}

"cover" is each node's weighted_n_node_samples (the training weight that reached it): Timber
lays the child most rows take next to its parent in memory; predictions do not depend on it,
and a file without it (an older export) still loads.

Floats are written with Python's repr, which reads back to the same float64.

The npz form ("timber_sklearn_npz": 1) holds the same model for big forests (a JSON of 19
million nodes takes minutes and gigabytes to write and to parse): an uncompressed zip of .npy
arrays, written tree by tree without building the concatenated arrays in memory, readable with
numpy.load. Entries (little-endian, C order; N nodes, L leaves, T trees, V values per leaf):

    header              uint8[H]     UTF-8 JSON: the keys above without "trees", with
                                     "timber_sklearn_npz": 1, "n_trees", "n_nodes", "n_leaves",
                                     "leaf_values" (V)
    node_offset         int64[T+1]   tree t owns nodes node_offset[t] .. node_offset[t+1]
    leaf_offset         int64[T+1]   and leaves leaf_offset[t] .. leaf_offset[t+1]
    tree_output         int32[T]     the output a boosting tree adds to (0 for mean ensembles)
    children_left       int32[N]     child node ids local to the tree; -1 at leaves
    children_right      int32[N]
    feature             int32[N]     -2 at leaves (as scikit-learn stores it)
    threshold           float64[N]   as scikit-learn stores it: +inf at a split that separates
                                     only the missing values, -2.0 at leaves
    missing_go_to_left  uint8[N]     0 or 1 (0 where the tree has no missing-value support)
    leaf_value          float64[L,V] the leaves' values in node order (leaf k of tree t is its
                                     k-th node with children_left == -1): class fractions or
                                     regression outputs (mean), or the raw leaf (boosting)
    cover               float64[N]   weighted_n_node_samples (optional, as in the JSON form)
"""
import json
import os
import pickle
import sys
import zipfile

import numpy as np
import sklearn
from sklearn import ensemble, tree

SCHEMA_VERSION = 1
NPZ_SCHEMA_VERSION = 1

SINGLE_TREES = (tree.DecisionTreeRegressor, tree.DecisionTreeClassifier)  # incl. ExtraTree*
FORESTS = (ensemble.RandomForestRegressor, ensemble.RandomForestClassifier,
           ensemble.ExtraTreesRegressor, ensemble.ExtraTreesClassifier)
BOOSTING = (ensemble.GradientBoostingRegressor, ensemble.GradientBoostingClassifier)


class ExportError(Exception):
    pass


def load_model(path):
    """A pickle file, or a joblib file (which may be compressed)."""
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception as pickle_error:  # not a plain pickle: try joblib (ships with sklearn)
        try:
            import joblib
            return joblib.load(path)
        except Exception:
            raise ExportError(f"{path}: neither a pickle nor a joblib file ({pickle_error})")


def version_tuple(v):
    parts = []
    for p in v.split(".")[:3]:
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def threshold(v):
    """A threshold as JSON can hold it. sklearn splits that separate only the missing values
    have the threshold +inf; every finite input is below the largest float64 as well."""
    v = float(v)
    if v == float("inf"):
        return sys.float_info.max
    if v != v or v == float("-inf"):
        raise ExportError(f"threshold {v} cannot be exported")
    return v


class TreeSpec:
    """One tree to export: sklearn's Tree, its per-node values (n_nodes x V), its missing-value
    routing per node, and the output it adds to (boosting) or None (mean ensembles)."""

    def __init__(self, tree, values, missing_left, output=None):
        self.tree, self.values, self.missing_left, self.output = tree, values, missing_left, output

    def json(self):
        arr = tree_arrays(self.tree, self.values, self.missing_left)
        return arr if self.output is None else {"output": self.output, **arr}


def tree_arrays(t, values, missing_left):
    """One sklearn Tree as the schema's arrays; `values[node]` is the list for that node."""
    n = t.node_count
    left = t.children_left.tolist()
    right = t.children_right.tolist()
    return {
        "children_left": left,
        "children_right": right,
        "feature": t.feature.tolist(),
        "threshold": [threshold(v) if left[i] != -1 else float(v)
                      for i, v in enumerate(t.threshold)],
        "missing_go_to_left": [int(bool(v)) for v in missing_left],
        "value": [[float(v) for v in values[i]] for i in range(n)],
        "cover": [float(v) for v in t.weighted_n_node_samples],
    }


def missing_go_to_left(t):
    if hasattr(t, "missing_go_to_left"):
        return t.missing_go_to_left
    # No missing-value support in this tree: sklearn rejects NaN; route it right.
    return np.zeros(t.node_count, dtype=np.uint8)


def mean_tree(est, classifier):
    """A decision tree of a mean ensemble: one value per output for each node."""
    t = est.tree_
    if t.n_outputs != 1 and classifier:
        raise ExportError("multi-output classifiers are not supported")
    if classifier:
        # value[node, 0, :n_classes]: class fractions (sklearn >= 1.4.1), = predict_proba.
        values = t.value[:, 0, : est.n_classes_]
    else:
        # value[node, output, 0] for each output, = predict.
        values = t.value[:, :, 0]
    return TreeSpec(t, values, missing_go_to_left(t))


def export(model):
    """The model as the JSON schema's document (a dict)."""
    out, specs = describe(model)
    out["trees"] = [spec.json() for spec in specs]
    return out


def describe(model):
    """(the document's keys except "trees", [TreeSpec] in model order)."""
    name = type(model).__name__
    if version_tuple(sklearn.__version__) < (1, 4, 1):
        raise ExportError(f"scikit-learn {sklearn.__version__} is too old (>= 1.4.1 is needed)")
    classifier = hasattr(model, "classes_")
    out = {
        "timber_sklearn": SCHEMA_VERSION,
        "sklearn_version": sklearn.__version__,
        "estimator": name,
        "n_features": int(model.n_features_in_),
        "feature_names": [str(f) for f in model.feature_names_in_]
        if hasattr(model, "feature_names_in_") else None,
        "classes": [str(c) for c in model.classes_] if classifier else None,
    }
    if isinstance(model, SINGLE_TREES + FORESTS):
        estimators = [model] if isinstance(model, SINGLE_TREES) else list(model.estimators_)
        if classifier and getattr(model, "n_outputs_", 1) != 1:
            raise ExportError("multi-output classifiers are not supported")
        out["n_outputs"] = int(len(model.classes_) if classifier else model.n_outputs_)
        out["ensemble"] = "mean"
        out["transform"] = "identity"
        return out, [mean_tree(e, classifier) for e in estimators]
    if isinstance(model, BOOSTING):
        return export_boosting(model, out, classifier)
    raise ExportError(f"{name} is not supported; supported: "
                      + ", ".join(c.__name__ for c in SINGLE_TREES + FORESTS + BOOSTING))


def export_boosting(model, out, classifier):
    init = model.init_
    if not (isinstance(init, str) and init == "zero"):
        # The init estimator's raw prediction must be the same for every row.
        from sklearn.dummy import DummyClassifier, DummyRegressor
        constant = isinstance(init, DummyRegressor) or (
            isinstance(init, DummyClassifier) and init.strategy in ("prior", "most_frequent",
                                                                    "constant"))
        if not constant:
            raise ExportError(f"init estimator {init!r} does not predict a constant; "
                              "only the default (or a constant Dummy* / 'zero') is supported")
    k = int(model.estimators_.shape[1])
    # sklearn's own computation of the starting raw prediction (link of the init estimator).
    x0 = np.zeros((1, int(model.n_features_in_)), dtype=np.float32)
    raw_init = np.asarray(model._raw_predict_init(x0), dtype=np.float64).reshape(-1)
    assert raw_init.shape == (k,), raw_init.shape
    loss = model.loss
    if not classifier:
        transform, scale = "identity", None
    elif loss == "exponential":
        transform, scale = "logistic", 2.0  # expit(2 * raw)
    elif k == 1:
        transform, scale = "logistic", 1.0  # expit(raw)
    else:
        transform, scale = "softmax", None
    out.update({
        "loss": loss,
        "n_outputs": k,
        "ensemble": "boosting",
        "learning_rate": float(model.learning_rate),
        "init": [float(v) for v in raw_init],
        "transform": transform,
    })
    if scale is not None:
        out["logistic_scale"] = scale
    specs = []
    for stage in model.estimators_:
        for j, est in enumerate(stage):
            t = est.tree_
            # predict_stages compares `x <= threshold` without a NaN test: NaN goes right.
            specs.append(TreeSpec(t, t.value[:, 0, :1], np.zeros(t.node_count, dtype=np.uint8),
                                  j))
    return out, specs


def write_json(model, dst):
    doc = export(model)
    with open(dst, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
        fh.write("\n")
    return doc, len(doc["trees"])


INT32_MAX = 2**31 - 1


def write_npz(model, dst):
    """The npz form (see the module doc), streamed entry by entry, tree by tree: memory stays
    at the loaded model plus one tree's arrays."""
    header, specs = describe(model)
    if not specs:
        raise ExportError("the model has no trees")
    n_nodes = [int(s.tree.node_count) for s in specs]
    leaf_masks = [s.tree.children_left == -1 for s in specs]
    n_leaves = [int(m.sum()) for m in leaf_masks]
    width = int(specs[0].values.shape[1])
    for t, s in enumerate(specs):
        if n_nodes[t] > INT32_MAX:
            raise ExportError(f"tree {t} has {n_nodes[t]} nodes: more than an int32 can index")
        if s.values.shape[1] != width:
            raise ExportError(f"tree {t} has {s.values.shape[1]} values per node, tree 0 "
                              f"has {width}")
        tree = s.tree
        split = ~leaf_masks[t]
        thr = tree.threshold[split]
        if np.isnan(thr).any() or np.isneginf(thr).any():
            raise ExportError(f"tree {t}: a split threshold is NaN or -inf")
        if tree.n_features > INT32_MAX:
            raise ExportError(f"{tree.n_features} features: more than an int32 can index")
    header.update({"timber_sklearn_npz": NPZ_SCHEMA_VERSION, "n_trees": len(specs),
                   "n_nodes": sum(n_nodes), "n_leaves": sum(n_leaves), "leaf_values": width})
    header = {"timber_sklearn_npz": header.pop("timber_sklearn_npz"),
              **{k: v for k, v in header.items() if k != "timber_sklearn"}}
    text = json.dumps(header, allow_nan=False).encode()
    total_nodes, total_leaves = sum(n_nodes), sum(n_leaves)
    entries = [
        ("header", "|u1", (len(text),), lambda: [np.frombuffer(text, dtype=np.uint8)]),
        ("node_offset", "<i8", (len(specs) + 1,),
         lambda: [np.concatenate([[0], np.cumsum(n_nodes)]).astype("<i8")]),
        ("leaf_offset", "<i8", (len(specs) + 1,),
         lambda: [np.concatenate([[0], np.cumsum(n_leaves)]).astype("<i8")]),
        ("tree_output", "<i4", (len(specs),),
         lambda: [np.array([s.output or 0 for s in specs], dtype="<i4")]),
        ("children_left", "<i4", (total_nodes,), lambda: (s.tree.children_left for s in specs)),
        ("children_right", "<i4", (total_nodes,),
         lambda: (s.tree.children_right for s in specs)),
        ("feature", "<i4", (total_nodes,), lambda: (s.tree.feature for s in specs)),
        ("threshold", "<f8", (total_nodes,), lambda: (s.tree.threshold for s in specs)),
        ("missing_go_to_left", "|u1", (total_nodes,),
         lambda: (np.asarray(s.missing_left) != 0 for s in specs)),
        ("leaf_value", "<f8", (total_leaves, width),
         lambda: (s.values[m] for s, m in zip(specs, leaf_masks))),
        ("cover", "<f8", (total_nodes,), lambda: (s.tree.weighted_n_node_samples for s in specs)),
    ]
    tmp = dst + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, dtype, shape, chunks in entries:
            with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
                written = 0
                for chunk in chunks():
                    a = np.ascontiguousarray(chunk, dtype=dtype)
                    fh.write(a.data)
                    written += a.shape[0]
                assert written == shape[0], (name, written, shape)
    os.replace(tmp, dst)
    return header, len(specs)


def main(argv):
    usage = "usage: export_sklearn.py [--format json|npz] MODEL.pkl OUT.json|OUT.npz\n"
    fmt = None
    if argv[:1] == ["--format"] and len(argv) >= 2:
        fmt, argv = argv[1], argv[2:]
        if fmt not in ("json", "npz"):
            sys.stderr.write(usage)
            return 2
    if len(argv) != 2:
        sys.stderr.write(usage)
        return 2
    src, dst = argv
    fmt = fmt or ("npz" if dst.endswith(".npz") else "json")
    try:
        model = load_model(src)
        doc, n_trees = (write_npz if fmt == "npz" else write_json)(model, dst)
    except ExportError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    sys.stderr.write(f"wrote {dst}: {doc['estimator']}, {n_trees} trees, "
                     f"{doc['n_features']} features, {doc['n_outputs']} outputs\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
