"""Bench models for the "every tree shape" comparison with the peers (scripts/peer_bench.py),
written at bench time into target/bench-data/NAME/ by `make_fixtures.py --bench-data DIR NAME`
(scripts/bench-data.sh), never committed (too big):

  lgb_leafwise   LightGBM binary, 500 trees of up to 63 leaves grown leaf-wise (no depth
                 limit), 30 features, 2% NaN in training so NaN-vs-rest splits with `inf`
                 thresholds occur (decision_type 8)
  xgb_lossguide  XGBoost binary:logistic, tree_method hist, grow_policy lossguide,
                 max_leaves 63 (no depth limit), 500 trees, 30 features, 2% NaN
  sk_rf_full     scikit-learn RandomForestClassifier(n_estimators=100), fully grown
                 (max_depth=None), 3 classes, 30 features, trained on 100,000 rows, 2% NaN
  sk_rf_huge     RandomForestClassifier(n_estimators=300), fully grown, 3 classes with
                 oblique boundaries (a noisy linear signal), on SK_RF_HUGE_ROWS rows: ~19
                 million nodes (for the compile-cost target; ~10 min of training)

Each NAME/ holds:
  model.txt | model.json | model.pkl   the model as its library saves it (sklearn: the pickled
                                       estimator; plus model.npz from tools/export_sklearn.py
                                       --npz, and for sk_rf_full model.json from the JSON export)
  rows.npy        100,000 random rows from the training distribution, 2% NaN cells, in the
                  dtype the library reads (XGBoost and scikit-learn: float32; LightGBM: float64)
  rows.csv        the same rows as CSV: header f0..f29, each cell repr(float64) of the value,
                  empty = NaN (what a Timber scorer's `bench --input` reads)
  expected.npy    the library's own prediction for rows.npy in its own dtype (XGBoost
                  inplace_predict: float32 probability; LightGBM predict: float64 probability;
                  scikit-learn predict_proba with n_jobs=1: float64, 3 columns)
  expected.csv    the same as text (XGBoost: shortest round-trip f32; others repr(float64))
  train.f32, train.json   the training rows (row-major little-endian f32, NaN = missing), as
                  for the other bench models
  meta.json       versions, parameters, tree/node/leaf counts, max depth, generation times, sizes

Deterministic: fixed seeds, one thread for training and for the reference predictions.
"""
import json
import os
import pickle
import subprocess
import sys
import time
import zlib

import numpy as np
from fixture_io import mixed_columns

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTER = os.path.join(os.path.dirname(HERE), "tools", "export_sklearn.py")

# The synthetic feature columns (fixture_io.mixed_columns), cycling:
# normal, uniform, integer-valued, lognormal, rounded.
FEATURES = "nuilr"

P = 30
BENCH_ROWS = 100_000
NAN = 0.02
# Training rows of sk_rf_huge: fully grown trees on its distribution (oblique_label) have ~0.295
# nodes per training row (bootstrap), so 300 trees on 215,000 rows hold ~19 million nodes
# (probe: 3 trees on 220,000 rows had 66,077, 63,173 and 66,045 nodes, depth 33-35, ~2 s each;
# forest_label would need ~800,000 rows and ~25 s per tree).
SK_RF_HUGE_ROWS = 215_000

SPECS = {
    "lgb_leafwise": dict(n_train=50_000),
    "xgb_lossguide": dict(n_train=50_000),
    "sk_rf_full": dict(n_train=100_000, n_estimators=100, json=True, label="forest"),
    "sk_rf_huge": dict(n_train=SK_RF_HUGE_ROWS, n_estimators=300, json=False, label="oblique"),
}


def seed(name):
    return zlib.crc32(name.encode())


def with_nan(rng, X):
    X = X.copy()
    X[rng.uniform(size=X.shape) < NAN] = np.nan
    return X


def boosting_label(X, rng):
    """A smooth signal over all features plus interactions and noise, thresholded (binary)."""
    Z = np.nan_to_num(X)
    w = np.linspace(1.0, -1.0, Z.shape[1])
    s = (Z - Z.mean(0)) / (Z.std(0) + 1e-9) @ w / np.sqrt(Z.shape[1])
    s = s + 0.8 * np.sin(Z[:, 0] * 1.5) + 0.5 * (Z[:, 1] > 0.5) * (Z[:, 2] > 4)
    s = s + rng.normal(0, 0.3, size=len(s))
    return (s > 0.21).astype(np.float64)


def forest_label(X, rng):
    """3 classes from axis-aligned steps in 5 features, 3% of the labels redrawn at random:
    fully grown trees then have ~0.1 nodes per training row and depth ~40 (a random forest on
    oblique class boundaries grows ~3x more nodes)."""
    Z = np.nan_to_num(X)
    s = ((Z[:, 0] > 0.3).astype(float) + (Z[:, 1] > 1) + 0.5 * (Z[:, 2] > 4) + (Z[:, 3] > 1.5)
         - (Z[:, 5] < -0.5))
    y = np.searchsorted(np.quantile(s, [0.35, 0.7]), s)
    flip = rng.uniform(size=len(y)) < 0.03
    y[flip] = rng.integers(0, 3, int(flip.sum()))
    return y


def oblique_label(X, rng):
    """3 equal classes from quantiles of a noisy linear signal over all features: fully grown
    trees need many axis-aligned splits per boundary (~0.3 nodes per training row)."""
    Z = np.nan_to_num(X)
    w = np.linspace(1.0, -1.0, Z.shape[1])
    s = (Z - Z.mean(0)) / (Z.std(0) + 1e-9) @ w / np.sqrt(Z.shape[1])
    s = s + 0.8 * np.sin(Z[:, 0] * 1.5) + rng.normal(0, 0.3, size=len(s))
    return np.searchsorted(np.quantile(s, [1 / 3, 2 / 3]), s)


def data(name, label):
    """(training rows with NaN, labels, bench rows with NaN), float64: deterministic."""
    rng = np.random.default_rng(seed(name))
    n = SPECS[name]["n_train"]
    X = mixed_columns(rng, n, P, FEATURES)
    y = label(X, rng)
    Xtr = with_nan(rng, X)
    rows = with_nan(rng, mixed_columns(rng, BENCH_ROWS, P, FEATURES))
    return Xtr, y, rows


def repr_cell(v):
    return "" if v != v else repr(v)


def write_csv(path, header, rows, fmt):
    with open(path, "w", newline="\n") as fh:
        if header is not None:
            fh.write(",".join(header) + "\n")
        for r in rows.tolist():
            fh.write(",".join(fmt(v) for v in r) + "\n")


def f32_text(v):
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def write_common(d, Xtr, rows, expected, out_fmt):
    """rows.npy/csv, expected.npy/csv, train.f32/json."""
    np.save(os.path.join(d, "rows.npy"), rows)
    write_csv(os.path.join(d, "rows.csv"), [f"f{i}" for i in range(rows.shape[1])],
              rows.astype(np.float64), repr_cell)
    np.save(os.path.join(d, "expected.npy"), expected)
    e2 = expected[:, None] if expected.ndim == 1 else expected
    write_csv(os.path.join(d, "expected.csv"), None, e2, out_fmt)
    Xtr.astype("<f4").tofile(os.path.join(d, "train.f32"))
    with open(os.path.join(d, "train.json"), "w") as fh:
        json.dump({"rows": int(Xtr.shape[0]), "features": int(Xtr.shape[1])}, fh)
        fh.write("\n")


def sizes(d):
    return {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))
            if not f.startswith(".")}


def write_meta(d, meta):
    meta["file_sizes"] = sizes(d)
    with open(os.path.join(d, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def lgb_leafwise(d):
    import lightgbm as lgb
    name = "lgb_leafwise"
    Xtr, y, rows = data(name, boosting_label)
    params = {"objective": "binary", "num_leaves": 63, "learning_rate": 0.1, "verbose": -1,
              "num_threads": 1, "seed": 0, "deterministic": True, "force_col_wise": True}
    t0 = time.perf_counter()
    booster = lgb.train(params, lgb.Dataset(Xtr, y), 500)
    train_s = time.perf_counter() - t0
    path = os.path.join(d, "model.txt")
    booster.save_model(path)
    loaded = lgb.Booster(model_file=path)
    expected = loaded.predict(rows, num_threads=1)
    assert expected.dtype == np.float64
    text = open(path).read()
    inf_thresholds = sum(line.count("inf") for line in text.splitlines()
                         if line.startswith("threshold="))
    assert inf_thresholds > 0, "expected NaN-vs-rest splits with inf thresholds"
    depths, leaves = [], []
    for t in loaded.dump_model()["tree_info"]:
        leaves.append(t["num_leaves"])
        depths.append(_lgb_depth(t["tree_structure"]))
    write_common(d, Xtr, rows, expected, lambda v: repr(float(v)))
    return {"lightgbm_version": lgb.__version__, "params": params, "rounds": 500,
            "num_trees": loaded.num_trees(), "num_leaves": int(sum(leaves)),
            "num_nodes": int(2 * sum(leaves) - len(leaves)), "max_depth": int(max(depths)),
            "inf_thresholds": inf_thresholds, "train_seconds": round(train_s, 1),
            "model_file": "model.txt", "reference": "Booster(model_file).predict(rows.npy "
            "float64, num_threads=1): probability"}


def _lgb_depth(node):
    stack, best = [(node, 0)], 0
    while stack:
        n, dep = stack.pop()
        best = max(best, dep)
        if "split_feature" in n:
            stack += [(n["left_child"], dep + 1), (n["right_child"], dep + 1)]
    return best


def xgb_lossguide(d):
    import xgboost as xgb
    name = "xgb_lossguide"
    Xtr, y, rows = data(name, boosting_label)
    params = {"objective": "binary:logistic", "tree_method": "hist", "grow_policy": "lossguide",
              "max_leaves": 63, "max_depth": 0, "eta": 0.1, "nthread": 1, "seed": 0}
    t0 = time.perf_counter()
    bst = xgb.train(params, xgb.DMatrix(Xtr, y, nthread=1), 500)
    train_s = time.perf_counter() - t0
    path = os.path.join(d, "model.json")
    bst.save_model(path)
    loaded = xgb.Booster(model_file=path)
    loaded.set_param({"nthread": 1})
    rows32 = rows.astype(np.float32)
    expected = loaded.inplace_predict(rows32)
    assert expected.dtype == np.float32
    assert (expected == loaded.predict(xgb.DMatrix(rows32, nthread=1))).all()
    trees = json.load(open(path))["learner"]["gradient_booster"]["model"]["trees"]
    nodes = sum(len(t["left_children"]) for t in trees)
    depth = max(_xgb_depth(t) for t in trees)
    write_common(d, Xtr, rows32, expected, f32_text)
    return {"xgboost_version": xgb.__version__, "params": params, "rounds": 500,
            "num_trees": len(trees), "num_nodes": nodes,
            "num_leaves": int((nodes + len(trees)) // 2), "max_depth": depth,
            "train_seconds": round(train_s, 1), "model_file": "model.json",
            "reference": "Booster(model_file).inplace_predict(rows.npy float32), nthread=1: "
            "probability"}


def _xgb_depth(t):
    left, right = t["left_children"], t["right_children"]
    stack, best = [(0, 0)], 0
    while stack:
        i, dep = stack.pop()
        best = max(best, dep)
        if left[i] != -1:
            stack += [(left[i], dep + 1), (right[i], dep + 1)]
    return best


def sk_forest(d, name):
    import sklearn
    from sklearn.ensemble import RandomForestClassifier
    spec = SPECS[name]
    Xtr, y, rows = data(name, forest_label if spec["label"] == "forest" else oblique_label)
    model = RandomForestClassifier(n_estimators=spec["n_estimators"], random_state=0, n_jobs=1)
    t0 = time.perf_counter()
    model.fit(Xtr, y)
    train_s = time.perf_counter() - t0
    log(f"  {name}: trained in {train_s:.0f} s")
    path = os.path.join(d, "model.pkl")
    with open(path, "wb") as fh:
        pickle.dump(model, fh, protocol=5)
    rows32 = rows.astype(np.float32)
    expected = model.predict_proba(rows32)
    assert expected.dtype == np.float64
    nodes = [e.tree_.node_count for e in model.estimators_]
    depth = max(e.tree_.max_depth for e in model.estimators_)
    inf_thr = sum(int(((e.tree_.children_left != -1) & np.isinf(e.tree_.threshold)).sum())
                  for e in model.estimators_)
    del model
    write_common(d, Xtr, rows32, expected, lambda v: repr(float(v)))
    exports = {}
    for fmt, enabled in (("npz", True), ("json", spec["json"])):
        if not enabled:
            continue
        out = os.path.join(d, f"model.{fmt}")
        t0 = time.perf_counter()
        cmd = [sys.executable, EXPORTER, path, out]
        subprocess.run(cmd, check=True)
        exports[fmt] = round(time.perf_counter() - t0, 1)
    return {"sklearn_version": sklearn.__version__,
            "params": {"n_estimators": spec["n_estimators"], "max_depth": None,
                       "random_state": 0, "n_jobs": 1},
            "num_train_rows": int(Xtr.shape[0]), "num_classes": 3,
            "num_trees": len(nodes), "num_nodes": int(sum(nodes)),
            "num_leaves": int((sum(nodes) + len(nodes)) // 2), "max_depth": int(depth),
            "inf_thresholds": inf_thr, "train_seconds": round(train_s, 1),
            "export_seconds": exports, "model_file": "model.pkl",
            "reference": "predict_proba(rows.npy float32), n_jobs=1: 3 columns"}


GENERATORS = {
    "lgb_leafwise": lgb_leafwise,
    "xgb_lossguide": xgb_lossguide,
    "sk_rf_full": lambda d: sk_forest(d, "sk_rf_full"),
    "sk_rf_huge": lambda d: sk_forest(d, "sk_rf_huge"),
}


def generate(outdir, name):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("."):
            os.remove(os.path.join(d, f))
    t0 = time.perf_counter()
    meta = GENERATORS[name](d)
    meta = {"name": name, **meta}
    meta["num_features"] = P
    meta["bench_rows"] = BENCH_ROWS
    meta["nan_fraction"] = NAN
    meta["generation_seconds"] = round(time.perf_counter() - t0, 1)
    write_meta(d, meta)
    log(f"  {name}: {meta['num_trees']} trees, {meta['num_nodes']} nodes, max depth "
        f"{meta['max_depth']}, {meta['generation_seconds']} s -> {d}")
