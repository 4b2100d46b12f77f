#!/usr/bin/env python3
"""Export a trained scikit-learn tree ensemble to the JSON that Timber compiles.

    python3 tools/export_sklearn.py MODEL.pkl OUT.json

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
                "value": [[...], ...]}]}

Floats are written with Python's repr, which reads back to the same float64.
"""
import json
import pickle
import sys

import numpy as np
import sklearn
from sklearn import ensemble, tree

SCHEMA_VERSION = 1

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
    return tree_arrays(t, values, missing_go_to_left(t))


def export(model):
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
        out["trees"] = [mean_tree(e, classifier) for e in estimators]
        return out
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
    trees = []
    for stage in model.estimators_:
        for j, est in enumerate(stage):
            t = est.tree_
            # predict_stages compares `x <= threshold` without a NaN test: NaN goes right.
            arr = tree_arrays(t, t.value[:, 0, :1], np.zeros(t.node_count, dtype=np.uint8))
            trees.append({"output": j, **arr})
    out["trees"] = trees
    return out


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: export_sklearn.py MODEL.pkl OUT.json\n")
        return 2
    src, dst = argv
    try:
        doc = export(load_model(src))
    except ExportError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    with open(dst, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
        fh.write("\n")
    sys.stderr.write(f"wrote {dst}: {doc['estimator']}, {len(doc['trees'])} trees, "
                     f"{doc['n_features']} features, {doc['n_outputs']} outputs\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
