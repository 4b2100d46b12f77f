#!/usr/bin/env python3
"""Generate the test fixtures under models/: XGBoost, LightGBM (lgb_*) and scikit-learn (sk_*).

Regenerate everything (from the repository root):

    scripts/fixtures-venv.sh && .venv-fixtures/bin/python models/make_fixtures.py

Optional arguments: fixture names to (re)generate only those, e.g. `... make_fixtures.py tiny_reg dart`.

Bench data (not committed; scripts/bench.sh runs it): `make_fixtures.py --bench-data DIR [NAME...]`
writes the training rows of the bench models and the uncommitted `large`/`huge` models, and
(only when named) the peer-comparison models of bench_models.py.

The main run uses XGBoost 3.2.0 (.venv-fixtures). The xgb2_* fixtures are produced by
re-invoking this same file with the XGBoost 2.1.4 interpreter (.venv-fixtures-xgb2):
`make_fixtures.py --xgb2-child OUTDIR` (that mode needs only numpy + xgboost). The xgb34_*
fixtures likewise come from the XGBoost 3.4.1 interpreter (.venv-fixtures-xgb34, Python >= 3.12):
`make_fixtures.py --xgb34-child OUTDIR`.
The LightGBM fixtures are in fixtures_lightgbm.py (LightGBM 4.7.0, same venv); the
scikit-learn ones in fixtures_sklearn.py (scikit-learn 1.9.1), run as
`make_fixtures.py --sklearn-child OUTDIR NAME...` with numpy's AVX-512 paths disabled (see
that file).

Some XGBoost fixtures also hold the same model as UBJSON (model.ubj) and as a JSON dump
(model_dump.json, with model_dump.args: the --objective/--base-score/--num-class a dump needs).

Each fixture directory models/NAME/ holds:
  model.json            Booster.save_model / XGBModel.save_model output
  input.csv             header (feature names, or f0..fN-1) + rows; each cell repr(float64) of
                        the value passed to XGBoost, empty cell = missing (NaN)
  expected.csv          XGBoost's transformed prediction, shortest round-trip float32 text
  expected_margin.csv   XGBoost's prediction with output_margin=True
  meta.json             xgboost_version, objective, api, iteration_range, num_rows, description
Some fixtures have extra files (see models/README.md).

All reference outputs come from XGBoost itself; nothing is recomputed in numpy.
"""
import json
import os
import shutil
import subprocess
import sys
import zlib

import numpy as np
from fixture_io import fmt_in, write_rows, mixed_columns

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
XGB2_PYTHON = os.path.join(ROOT, ".venv-fixtures-xgb2", "bin", "python")
XGB34_PYTHON = os.path.join(ROOT, ".venv-fixtures-xgb34", "bin", "python")

# The synthetic feature columns (fixture_io.mixed_columns), cycling:
# normal, uniform, integer-valued, lognormal, rounded.
FEATURES = "nuilr"

import xgboost as xgb  # noqa: E402

NTHREAD = 1

# --------------------------------------------------------------------------------------
# formatting / writing helpers (numpy + xgboost only: also used by the xgb2/xgb34 children)
# --------------------------------------------------------------------------------------


def fmt_out(v):
    f = np.float32(v)
    if not np.isfinite(f):
        raise ValueError(f"non-finite prediction {v!r}")
    return np.format_float_positional(f, unique=True, trim="-")


def as_2d(a):
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    assert a.ndim == 2, a.shape
    return a


def check_f32(a, what):
    a = np.asarray(a)
    assert a.dtype == np.float32, f"{what}: expected float32 from XGBoost, got {a.dtype}"
    return a


# XGBoost fixtures that also get model.ubj (the same model, saved as UBJSON by this XGBoost).
UBJ_FIXTURES = {"tiny_reg", "binary_logistic", "multi_softprob", "categorical_large", "dart",
                "early_stop", "reg_quantile_multi", "xgb2_binary", "xgb34_binary"}
# XGBoost fixtures that also get model_dump.json + model_dump.args.
DUMP_FIXTURES = {"reg_squarederror", "binary_logistic", "multi_softmax", "categorical_small",
                 "named_features", "reg_quantile_multi", "count_poisson"}


def write_other_formats(name, d):
    """model.ubj and/or the JSON dump of the fixture's model.json (loaded back by XGBoost)."""
    if name not in UBJ_FIXTURES | DUMP_FIXTURES:
        return
    bst = xgb.Booster(model_file=os.path.join(d, "model.json"))
    if name in UBJ_FIXTURES:
        bst.save_model(os.path.join(d, "model.ubj"))
    if name in DUMP_FIXTURES:
        bst.dump_model(os.path.join(d, "model_dump.json"), dump_format="json")
        config = json.loads(bst.save_config())["learner"]
        param = config["learner_model_param"]
        groups = max(int(param["num_class"]), int(param.get("num_target", "1")))
        base = param["base_score"].strip("[]")
        args = f"--objective {config['objective']['name']} --base-score {base}"
        if groups > 1:
            args += f" --num-class {groups}"
        with open(os.path.join(d, "model_dump.args"), "w") as fh:
            fh.write(args + "\n")


def write_fixture(name, outdir, model_saver, header, X, pred, margin, meta, extra=None):
    """X: float64 array in the column order of `header` (as written to input.csv)."""
    d = os.path.join(outdir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    model_saver(os.path.join(d, "model.json"))
    X = np.asarray(X, dtype=np.float64)
    pred = as_2d(check_f32(pred, name + " pred"))
    margin = as_2d(check_f32(margin, name + " margin"))
    assert X.shape[0] == pred.shape[0] == margin.shape[0]
    assert len(header) == X.shape[1]
    assert np.isfinite(X[~np.isnan(X)]).all()
    write_rows(os.path.join(d, "input.csv"), header, X, fmt_in)
    write_rows(os.path.join(d, "expected.csv"), None, pred, fmt_out)
    write_rows(os.path.join(d, "expected_margin.csv"), None, margin, fmt_out)
    meta = dict(meta)
    meta.setdefault("xgboost_version", xgb.__version__)
    meta.setdefault("iteration_range", "all")
    meta["num_rows"] = int(X.shape[0])
    with open(os.path.join(d, "model.json")) as fh:
        mj = json.load(fh)
    meta.setdefault("objective", mj["learner"]["objective"]["name"])
    key_order = ["xgboost_version", "objective", "api", "iteration_range", "num_rows", "description"]
    meta = {k: meta[k] for k in key_order + sorted(set(meta) - set(key_order))}
    with open(os.path.join(d, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    for fname, (hdr, rows, fmt) in (extra or {}).items():
        write_rows(os.path.join(d, fname), hdr, rows, fmt)
    write_other_formats(name, d)
    print(f"  {name}: {X.shape[0]} rows, {pred.shape[1]} output(s)", file=sys.stderr)


def trees_of(model_json):
    gb = model_json["learner"]["gradient_booster"]
    m = gb["gbtree"]["model"] if "gbtree" in gb else gb["model"]
    return m["trees"]


def numeric_split_nodes(model_json):
    """(feature, f32 threshold) of every non-leaf numerical node, in model order."""
    out = []
    for t in trees_of(model_json):
        lc = t["left_children"]
        st = t.get("split_type") or [0] * len(lc)
        for i, c in enumerate(lc):
            if c != -1 and st[i] == 0:
                out.append((t["split_indices"][i], np.float32(t["split_conditions"][i])))
    return out


def threshold_rows(rng, base_rows, model_json, n_exact=40, n_adj=10, n_near=10):
    """Rows whose value in one feature is a split threshold of the model.

    n_exact: exactly the f32 threshold.
    n_adj:   the adjacent f32 value (nextafter up or down).
    n_near:  a float64 value within 0.4 ulp(f32) of the threshold (above or below):
             it casts to the threshold in f32, so XGBoost treats it as equal, but an
             f64 comparison would not.
    """
    nodes = numeric_split_nodes(model_json)
    assert nodes, "model has no numerical split"
    total = n_exact + n_adj + n_near
    idx = rng.integers(0, base_rows.shape[0], total)
    rows = base_rows[idx].copy()
    pick = rng.integers(0, len(nodes), total)
    for k in range(total):
        f, t = nodes[pick[k]]
        if k < n_exact:
            v = float(t)
        elif k < n_exact + n_adj:
            v = float(np.nextafter(t, np.float32(np.inf if k % 2 else -np.inf)))
        else:
            direction = np.float32(np.inf if k % 2 else -np.inf)
            ulp = float(np.nextafter(t, direction)) - float(t)  # signed, in that direction
            v = float(t) + 0.4 * ulp
            assert np.float32(v) == t and v != float(t)
        rows[k, f] = v
    return rows


def sprinkle_nan(rng, X, frac_rows=0.1, max_per_row=3, protect=()):
    """Set 1..max_per_row random features to NaN in ~frac_rows of the rows."""
    X = X.copy()
    n, p = X.shape
    cols = [c for c in range(p) if c not in protect]
    rows = rng.choice(n, size=max(1, int(round(frac_rows * n))), replace=False)
    for r in rows:
        k = int(rng.integers(1, min(max_per_row, len(cols)) + 1))
        X[r, rng.choice(cols, size=k, replace=False)] = np.nan
    return X


def signal(X, rng, noise=0.3):
    Z = np.nan_to_num(X)
    p = Z.shape[1]
    w = np.linspace(1.0, -1.0, p)
    s = (Z - Z.mean(0)) / (Z.std(0) + 1e-9) @ w / np.sqrt(p)
    s = s + 0.8 * np.sin(Z[:, 0] * 1.5) + 0.5 * (Z[:, 1 % p] > 0.5) * (Z[:, 2 % p] > 4)
    return s + rng.normal(0, noise, size=len(s))


def test_rows(rng, X_test_base, model_json, nan_frac=0.1, n_exact=40):
    Xn = sprinkle_nan(rng, X_test_base, frac_rows=nan_frac)
    Xt = threshold_rows(rng, X_test_base, model_json, n_exact=n_exact)
    return np.vstack([Xn, Xt])


def booster_json(bst):
    return json.loads(bytes(bst.save_raw("json")))


def fnames(p):
    return [f"f{i}" for i in range(p)]


def booster_fixture(name, outdir, params, dtrain, X_test, num_round, description, extra_meta=None):
    """Train with xgb.train, predict test rows via DMatrix (all trees)."""
    params = dict(params)
    params.setdefault("nthread", NTHREAD)
    params.setdefault("seed", 0)
    bst = xgb.train(params, dtrain, num_boost_round=num_round)
    mj = booster_json(bst)
    rng = np.random.default_rng(_seed(name) + 1)
    X = test_rows(rng, X_test, mj)
    dm = xgb.DMatrix(X, nthread=NTHREAD)
    pred = bst.predict(dm)
    margin = bst.predict(dm, output_margin=True)
    meta = {"api": "booster", "description": description}
    meta.update(extra_meta or {})
    write_fixture(name, outdir, bst.save_model, fnames(X.shape[1]), X, pred, margin, meta)
    return bst


def _seed(name):
    # deterministic across runs (str hash is randomised per process)
    return zlib.crc32(name.encode())


# --------------------------------------------------------------------------------------
# XGBoost 2.x child (runs under .venv-fixtures-xgb2)
# --------------------------------------------------------------------------------------


def xgb2_child(outdir):
    assert xgb.__version__.startswith("2."), xgb.__version__
    rng = np.random.default_rng(2002)
    p = 8
    X = mixed_columns(rng, 2000, p, FEATURES)
    s = signal(X, rng)
    yb = (s > 0.37).astype(np.float64)  # non-round positive rate
    Xtr = sprinkle_nan(rng, X, frac_rows=0.1)
    booster_fixture(
        "xgb2_binary", outdir,
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3},
        xgb.DMatrix(Xtr, yb, nthread=NTHREAD), mixed_columns(rng, 300, p, FEATURES), 20,
        "binary:logistic saved by XGBoost 2.1.4 (base_score is a plain string, no brackets).")
    q = np.quantile(s, [0.1, 0.3, 0.6])
    ym = np.searchsorted(q, s).astype(np.float64)  # class sizes 10/20/30/40 %
    booster_fixture(
        "xgb2_multi", outdir,
        {"objective": "multi:softprob", "num_class": 4, "max_depth": 4, "eta": 0.3},
        xgb.DMatrix(Xtr, ym, nthread=NTHREAD), mixed_columns(rng, 300, p, FEATURES), 20,
        "multi:softprob 4 classes saved by XGBoost 2.1.4 (single scalar base_score string).")


# --------------------------------------------------------------------------------------
# XGBoost 3.4 child (runs under .venv-fixtures-xgb34, Python >= 3.12)
# --------------------------------------------------------------------------------------

XGB34_FIXTURES = ["xgb34_binary", "xgb34_multi"]


def xgb34_child(outdir, names):
    """The newest XGBoost release tested: two small models (each fixture is compiled in every
    layout by several test suites), one depth-wise, one leaf-wise."""
    assert xgb.__version__ == "3.4.1", xgb.__version__
    p = 5
    if "xgb34_binary" in names:
        rng = np.random.default_rng(_seed("xgb34_binary"))
        X = make_X(rng, 2000, p)
        yb = (signal(X, rng) > 0.21).astype(np.float64)
        booster_fixture(
            "xgb34_binary", outdir,
            {"objective": "binary:logistic", "max_depth": 4, "eta": 0.2},
            xgb.DMatrix(sprinkle_nan(rng, X, frac_rows=0.1), yb, nthread=NTHREAD),
            make_X(rng, 300, p), 30,
            "binary:logistic saved by XGBoost 3.4.1: depth-wise, depth 4, 30 rounds, 5 "
            "features, NaN in training and test rows.")
    if "xgb34_multi" in names:
        rng = np.random.default_rng(_seed("xgb34_multi"))
        X = make_X(rng, 2000, p)
        s = signal(X, rng)
        ym = np.searchsorted(np.quantile(s, [0.25, 0.6]), s).astype(np.float64)  # 25/35/40 %
        booster_fixture(
            "xgb34_multi", outdir,
            {"objective": "multi:softprob", "num_class": 3, "tree_method": "hist",
             "grow_policy": "lossguide", "max_leaves": 8, "max_depth": 0, "eta": 0.3},
            xgb.DMatrix(sprinkle_nan(rng, X, frac_rows=0.1), ym, nthread=NTHREAD),
            make_X(rng, 300, p), 20,
            "multi:softprob 3 classes saved by XGBoost 3.4.1: hist, grow_policy lossguide, "
            "max_leaves 8, no depth limit, 20 rounds (60 trees), 5 features, NaN in training "
            "and test rows.")


# --------------------------------------------------------------------------------------
# XGBoost 3.x fixtures
# --------------------------------------------------------------------------------------

P = 8
N_TRAIN = 2000
N_TEST = 300
STD = {"max_depth": 4, "eta": 0.3}
ROUNDS = 20


def std_data(name, n_train=N_TRAIN, n_test=N_TEST, p=P, nan_train=0.1):
    rng = np.random.default_rng(_seed(name))
    X = mixed_columns(rng, n_train, p, FEATURES)
    s = signal(X, rng)
    Xtr = sprinkle_nan(rng, X, frac_rows=nan_train) if nan_train else X
    Xte = mixed_columns(rng, n_test, p, FEATURES)
    return rng, X, Xtr, s, Xte


def classes_from(s, k, props=None):
    """Class labels 0..k-1 by quantiles of s; props = class proportions (default equal)."""
    cum = np.linspace(0, 1, k + 1)[1:-1] if props is None else np.cumsum(props)[:-1]
    q = np.quantile(s, cum)
    return np.searchsorted(q, s).astype(np.float64)


FIXTURES = {}


def fixture(fn):
    FIXTURES[fn.__name__.removeprefix("fx_")] = fn
    return fn


def simple_objective(name, objective, label_fn, description, extra_params=None, rounds=ROUNDS):
    def fn(outdir):
        rng, X, Xtr, s, Xte = std_data(name)
        y = label_fn(s, rng)
        params = {"objective": objective, **STD, **(extra_params or {})}
        booster_fixture(name, outdir, params, xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, rounds,
                        description)
    fn.__name__ = "fx_" + name
    return fixture(fn)


simple_objective("reg_squarederror", "reg:squarederror", lambda s, r: 3 * s + 1.5,
                 "reg:squarederror, 20 rounds depth 4, 8 features; base_score = label mean.")
simple_objective("reg_squaredlogerror", "reg:squaredlogerror", lambda s, r: np.exp(s) - 0.5,
                 "reg:squaredlogerror (labels > -1); identity transform.")
simple_objective("reg_pseudohubererror", "reg:pseudohubererror", lambda s, r: 3 * s + 1.5,
                 "reg:pseudohubererror, huber_slope 1.")
simple_objective("reg_absoluteerror", "reg:absoluteerror", lambda s, r: 3 * s + 1.5,
                 "reg:absoluteerror (base_score = median, leaves re-fitted by line search).")
simple_objective("reg_quantile", "reg:quantileerror", lambda s, r: 3 * s + 1.5,
                 "reg:quantileerror with a single quantile_alpha=0.7.",
                 {"quantile_alpha": 0.7})
simple_objective("reg_quantile_multi", "reg:quantileerror", lambda s, r: 3 * s + 1.5,
                 "reg:quantileerror with quantile_alpha=[0.1,0.5,0.9]: 3 outputs "
                 "(num_target=3, one tree per target per round, tree_info = target index).",
                 {"quantile_alpha": [0.1, 0.5, 0.9]})
simple_objective("reg_logistic", "reg:logistic", lambda s, r: 1 / (1 + np.exp(-2 * s)),
                 "reg:logistic with labels in [0,1]; base_score in probability space.")
simple_objective("binary_logistic", "binary:logistic",
                 lambda s, r: (s > 0.37).astype(float),
                 "binary:logistic (non-round positive rate); base_score in probability space.")
simple_objective("binary_logitraw", "binary:logitraw",
                 lambda s, r: (s > 0.37).astype(float),
                 "binary:logitraw: prediction = margin.")
simple_objective("binary_hinge", "binary:hinge",
                 lambda s, r: (s > 0.37).astype(float),
                 "binary:hinge: prediction = 1 if margin > 0 else 0.")
simple_objective("count_poisson", "count:poisson",
                 lambda s, r: r.poisson(np.exp(0.8 * s + 0.5)).astype(float),
                 "count:poisson (max_delta_step 0.7 default): prediction = exp(margin).")
simple_objective("reg_gamma", "reg:gamma",
                 lambda s, r: r.gamma(2.0, np.exp(0.8 * s + 0.5) / 2.0),
                 "reg:gamma: prediction = exp(margin).")
simple_objective("reg_tweedie", "reg:tweedie",
                 lambda s, r: r.poisson(np.exp(0.8 * s)) * r.gamma(2.0, 1.0, size=len(s)),
                 "reg:tweedie, tweedie_variance_power 1.5, labels with many zeros.",
                 {"tweedie_variance_power": 1.5})
simple_objective("multi_softprob", "multi:softprob", lambda s, r: classes_from(s, 4, [0.1, 0.2, 0.3, 0.4]),
                 "multi:softprob 4 classes: 4 outputs (softmax); tree_info gives the class.",
                 {"num_class": 4})
simple_objective("multi_softmax", "multi:softmax", lambda s, r: classes_from(s, 4, [0.1, 0.2, 0.3, 0.4]),
                 "multi:softmax 4 classes: prediction = arg-max class index (as float); "
                 "margin has 4 columns.",
                 {"num_class": 4})
simple_objective("xgb_lossguide", "binary:logistic", lambda s, r: (s > 0.37).astype(float),
                 "binary:logistic, tree_method hist, grow_policy lossguide, max_leaves 15, no "
                 "depth limit (max_depth 0), 20 rounds: leaf-wise, unbalanced trees.",
                 {"tree_method": "hist", "grow_policy": "lossguide", "max_leaves": 15,
                  "max_depth": 0})


def rank_fixture(name, objective, levels=5):
    def fn(outdir):
        rng, X, Xtr, s, Xte = std_data(name)
        qid = np.repeat(np.arange(N_TRAIN // 20), 20)
        y = classes_from(s, levels)  # relevance 0..levels-1 (rank:map needs 0/1)
        dtrain = xgb.DMatrix(Xtr, y, qid=qid, nthread=NTHREAD)
        booster_fixture(name, outdir, {"objective": objective, **STD}, dtrain, Xte, ROUNDS,
                        f"{objective} trained with qid groups of 20, relevance 0..{levels - 1}; "
                        "prediction = margin.")
    fn.__name__ = "fx_" + name
    return fixture(fn)


rank_fixture("rank_pairwise", "rank:pairwise")
rank_fixture("rank_ndcg", "rank:ndcg")
rank_fixture("rank_map", "rank:map", levels=2)


@fixture
def fx_survival_cox(outdir):
    name = "survival_cox"
    rng, X, Xtr, s, Xte = std_data(name)
    t = rng.exponential(np.exp(-0.8 * s)) + 1e-3
    censored = rng.uniform(size=len(t)) < 0.3
    y = np.where(censored, -t, t)
    booster_fixture(name, outdir, {"objective": "survival:cox", **STD},
                    xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, ROUNDS,
                    "survival:cox (negative label = censored): prediction = exp(margin) "
                    "(hazard ratio).")


@fixture
def fx_survival_aft(outdir):
    name = "survival_aft"
    rng, X, Xtr, s, Xte = std_data(name)
    t = rng.exponential(np.exp(0.8 * s)) + 1e-3
    lower = t.copy()
    upper = t.copy()
    cens = rng.uniform(size=len(t)) < 0.3
    upper[cens] = np.inf  # right-censored
    dtrain = xgb.DMatrix(Xtr, nthread=NTHREAD)
    dtrain.set_float_info("label_lower_bound", lower)
    dtrain.set_float_info("label_upper_bound", upper)
    booster_fixture(name, outdir,
                    {"objective": "survival:aft", "aft_loss_distribution": "normal",
                     "aft_loss_distribution_scale": 1.0, **STD},
                    dtrain, Xte, ROUNDS,
                    "survival:aft (normal, scale 1), 30% right-censored; prediction = exp(margin).")


@fixture
def fx_dart(outdir):
    name = "dart"
    rng, X, Xtr, s, Xte = std_data(name)
    y = (s > 0.21).astype(float)
    booster_fixture(name, outdir,
                    {"booster": "dart", "objective": "binary:logistic", "rate_drop": 0.2,
                     "skip_drop": 0.0, **STD},
                    xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, 30,
                    "dart binary:logistic, rate_drop 0.2, skip_drop 0, 30 rounds; tree t is "
                    "scaled by gradient_booster.weight_drop[t].")


@fixture
def fx_dart_reg(outdir):
    name = "dart_reg"
    rng, X, Xtr, s, Xte = std_data(name)
    y = 3 * s + 1.5
    booster_fixture(name, outdir,
                    {"booster": "dart", "objective": "reg:squarederror", "rate_drop": 0.3,
                     "skip_drop": 0.0, "normalize_type": "forest", "sample_type": "weighted",
                     **STD},
                    xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, 30,
                    "dart reg:squarederror, rate_drop 0.3, normalize_type forest, "
                    "sample_type weighted, 30 rounds.")


@fixture
def fx_boosted_rf(outdir):
    name = "boosted_rf"
    rng, X, Xtr, s, Xte = std_data(name)
    y = classes_from(s, 3)
    booster_fixture(name, outdir,
                    {"objective": "multi:softprob", "num_class": 3, "num_parallel_tree": 4,
                     "subsample": 0.8, "colsample_bynode": 0.8, **STD},
                    xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, 10,
                    "num_parallel_tree=4, 10 rounds, multi:softprob 3 classes: 120 trees, "
                    "12 per iteration (iteration_indptr); parallel trees are summed.")


@fixture
def fx_nan_heavy(outdir):
    name = "nan_heavy"
    rng = np.random.default_rng(_seed(name))
    X = mixed_columns(rng, N_TRAIN, P, FEATURES)
    s = signal(X, rng)
    Xtr = X.copy()
    Xtr[rng.uniform(size=X.shape) < 0.5] = np.nan
    Xte = mixed_columns(rng, N_TEST, P, FEATURES)
    Xte[rng.uniform(size=Xte.shape) < 0.5] = np.nan
    bst = xgb.train({"objective": "reg:squarederror", **STD, "nthread": NTHREAD, "seed": 0},
                    xgb.DMatrix(Xtr, 3 * s + 1.5, nthread=NTHREAD), ROUNDS)
    mj = booster_json(bst)
    Xth = threshold_rows(rng, Xte, mj)
    Xall = np.vstack([Xte, Xth, np.full((1, P), np.nan)])  # plus one all-NaN row
    dm = xgb.DMatrix(Xall, nthread=NTHREAD)
    write_fixture(name, outdir, bst.save_model, fnames(P), Xall, bst.predict(dm),
                  bst.predict(dm, output_margin=True),
                  {"api": "booster",
                   "description": "reg:squarederror with ~50% NaN in training and test data "
                                  "(last row all NaN): default_left routing."})


@fixture
def fx_named_features(outdir):
    import pandas as pd
    name = "named_features"
    rng, X, Xtr, s, Xte = std_data(name)
    names = ["age", "income", "num_children", "balance", "score", "tenure_years",
             "credit_lines", "utilization"]
    y = (s > 0.21).astype(float)
    dtr = xgb.DMatrix(pd.DataFrame(Xtr, columns=names), y, nthread=NTHREAD)
    bst = xgb.train({"objective": "binary:logistic", **STD, "nthread": NTHREAD, "seed": 0}, dtr,
                    ROUNDS)
    mj = booster_json(bst)
    assert mj["learner"]["feature_names"] == names
    Xt = test_rows(rng, Xte, mj)
    dfte = pd.DataFrame(Xt, columns=names)
    dm = xgb.DMatrix(dfte, nthread=NTHREAD)
    pred = bst.predict(dm)
    margin = bst.predict(dm, output_margin=True)
    perm = [3, 0, 7, 5, 1, 6, 2, 4]  # written column order differs from the model's
    assert sorted(perm) == list(range(P)) and perm != list(range(P))
    write_fixture(name, outdir, bst.save_model, [names[i] for i in perm], Xt[:, perm], pred,
                  margin,
                  {"api": "booster",
                   "description": "binary:logistic trained from a pandas DataFrame; "
                                  "feature_names in the JSON. input.csv columns are in a "
                                  "DIFFERENT order than the model: map columns by name."})


def _sk_meta(description, iteration_range="all"):
    return {"api": "sklearn", "iteration_range": iteration_range, "description": description}


@fixture
def fx_rf_classifier(outdir):
    name = "rf_classifier"
    rng, X, Xtr, s, Xte = std_data(name)
    y = (s > 0.21).astype(int)
    m = xgb.XGBRFClassifier(n_estimators=20, max_depth=4, subsample=0.8, colsample_bynode=0.8,
                            n_jobs=NTHREAD, random_state=0)
    m.fit(Xtr, y)
    mj = booster_json(m.get_booster())
    Xt = test_rows(rng, Xte, mj)
    proba = m.predict_proba(Xt)
    pred = proba[:, 1]  # XGBoost's own output; column 0 is 1-p computed by the wrapper
    assert (pred == m.get_booster().predict(xgb.DMatrix(Xt))).all()
    margin = m.predict(Xt, output_margin=True)
    write_fixture(name, outdir, m.save_model, fnames(P), Xt, pred, margin,
                  _sk_meta("XGBRFClassifier binary, n_estimators=20 (= num_parallel_tree, one "
                           "round). expected.csv = predict_proba[:, 1] (positive class only)."))


@fixture
def fx_rf_regressor(outdir):
    name = "rf_regressor"
    rng, X, Xtr, s, Xte = std_data(name)
    y = 3 * s + 1.5
    m = xgb.XGBRFRegressor(n_estimators=20, max_depth=4, subsample=0.8, colsample_bynode=0.8,
                           n_jobs=NTHREAD, random_state=0)
    m.fit(Xtr, y)
    mj = booster_json(m.get_booster())
    Xt = test_rows(rng, Xte, mj)
    write_fixture(name, outdir, m.save_model, fnames(P), Xt, m.predict(Xt),
                  m.predict(Xt, output_margin=True),
                  _sk_meta("XGBRFRegressor, n_estimators=20 (num_parallel_tree=20, one round); "
                           "parallel trees are summed."))


@fixture
def fx_early_stop(outdir):
    name = "early_stop"
    rng = np.random.default_rng(_seed(name))
    X = mixed_columns(rng, 600, P, FEATURES)
    s = signal(X, rng, noise=1.5)  # noisy: validation loss bottoms out early
    y = (s > 0.21).astype(int)
    Xva = mixed_columns(rng, 600, P, FEATURES)
    yva = (signal(Xva, rng, noise=1.5) > 0.21).astype(int)
    m = xgb.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.15,
                          early_stopping_rounds=20, eval_metric="logloss", n_jobs=NTHREAD,
                          random_state=0)
    m.fit(X, y, eval_set=[(Xva, yva)], verbose=False)
    bst = m.get_booster()
    nrounds = bst.num_boosted_rounds()
    assert 5 <= m.best_iteration and m.best_iteration + 15 < nrounds, (m.best_iteration, nrounds)
    mj = booster_json(bst)
    Xt = test_rows(rng, mixed_columns(rng, N_TEST, P, FEATURES), mj)
    pred = m.predict_proba(Xt)[:, 1]
    margin = m.predict(Xt, output_margin=True)
    dm = xgb.DMatrix(Xt, nthread=NTHREAD)
    best = bst.predict(dm, iteration_range=(0, m.best_iteration + 1))
    assert (best == pred).all()
    all_pred = bst.predict(dm)  # plain Booster.predict: ALL trees, ignores best_iteration
    all_margin = bst.predict(dm, output_margin=True)
    assert (all_pred == bst.predict(dm, iteration_range=(0, nrounds))).all()
    assert not (all_pred == pred).all()
    write_fixture(
        name, outdir, m.save_model, fnames(P), Xt, pred, margin,
        _sk_meta(f"XGBClassifier binary with early_stopping_rounds=20: {nrounds} rounds "
                 f"trained, best_iteration={m.best_iteration} (learner.attributes). "
                 "expected*.csv = sklearn predict_proba[:,1] / predict(output_margin=True), "
                 "which use trees of iterations 0..best_iteration. expected_all*.csv = plain "
                 "Booster.predict(DMatrix), which uses ALL trees.", "best")
        | {"best_iteration": int(m.best_iteration), "num_boosted_rounds": int(nrounds)},
        extra={"expected_all.csv": (None, as_2d(check_f32(all_pred, "all")), fmt_out),
               "expected_all_margin.csv": (None, as_2d(check_f32(all_margin, "all")), fmt_out)})


@fixture
def fx_trees1000(outdir):
    name = "trees1000"
    rng, X, Xtr, s, Xte = std_data(name, p=10)
    y = (s > 0.21).astype(float)
    booster_fixture(name, outdir,
                    {"objective": "binary:logistic", "max_depth": 3, "eta": 0.05},
                    xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte, 1000,
                    "1000 rounds, max_depth 3, binary:logistic, 10 features (accumulation order "
                    "over many trees).")


@fixture
def fx_tiny_reg(outdir):
    name = "tiny_reg"
    rng, X, Xtr, s, Xte = std_data(name, n_train=200, n_test=40, p=3)
    booster_fixture(name, outdir, {"objective": "reg:squarederror", "max_depth": 2, "eta": 0.5},
                    xgb.DMatrix(Xtr, 3 * s + 1.5, nthread=NTHREAD), Xte, 3,
                    "tiny golden model: reg:squarederror, 3 trees, depth 2, 3 features.")


@fixture
def fx_tiny_multi(outdir):
    name = "tiny_multi"
    rng, X, Xtr, s, Xte = std_data(name, n_train=200, n_test=40, p=3)
    booster_fixture(name, outdir,
                    {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "eta": 0.5},
                    xgb.DMatrix(Xtr, classes_from(s, 3), nthread=NTHREAD), Xte, 1,
                    "tiny golden model: multi:softprob 3 classes, 1 round (3 trees), depth 2, "
                    "3 features.")


# ---------------------------------------------------------------------- hand-built deep tree

CHAIN_LEVELS = 500  # split nodes per chain tree = depth of the deepest leaves
CHAIN_P = 4
CHAIN_TOP = 520.0


def _chain_spec(rng, n_levels=CHAIN_LEVELS, top=CHAIN_TOP):
    """Per level k: (feature, f32 threshold, continue_right).

    Feature k % 4. Even k: the chain continues on the RIGHT (x >= t), thresholds increase
    with k (t ~ k + u). Odd k: the chain continues on the LEFT (x < t), thresholds decrease
    (t ~ top - k - u). So a row goes deep when its even-level features are large and its
    odd-level features are small.
    """
    spec = []
    for k in range(n_levels):
        u = rng.uniform(0.1, 0.9)
        right = k % 2 == 0
        t = np.float32(k + u) if right else np.float32(top - k - u)
        spec.append((k % CHAIN_P, t, right))
    return spec


def _chain_tree(spec, leaf_vals, end_val, nan_to_leaf, tree_id):
    """One XGBoost JSON tree: a chain of len(spec) split nodes.

    Split node k has a leaf child (value leaf_vals[k]) and a child that continues the chain
    (the split k+1, or after the last split a leaf with value end_val). NaN follows the
    continuing child except at the levels in nan_to_leaf, where it goes to the leaf.
    Node ids in BFS order, siblings consecutive (left, right = left + 1) as in the trees
    XGBoost grows: its predictor computes the right child as left + 1 and ignores
    right_children (and its loader does not check that).
    Returns (tree_json, level_of_id) with level_of_id[id] = depth of that node.
    """
    n = len(spec)
    # abstract nodes: ("split", k), ("leaf", k) = leaf child of split k, ("end",)
    def children(node):
        k = node[1]
        cont = ("split", k + 1) if k + 1 < n else ("end",)
        leaf = ("leaf", k)
        return (leaf, cont) if spec[k][2] else (cont, leaf)  # (left, right)

    ids = {("split", 0): 0}
    queue = [("split", 0)]
    while queue:
        node = queue.pop(0)
        if node[0] == "split":
            for c in children(node):
                ids[c] = len(ids)
                queue.append(c)
    num_nodes = 2 * n + 1
    assert sorted(ids.values()) == list(range(num_nodes))

    # hessian-like counts: 2n+1 - 2k rows reach split k, 2 stop at each leaf, 1 at the end
    hess_split = [float(2 * n + 1 - 2 * k) for k in range(n)]
    # base weight of a split = hessian-weighted mean of the leaves below it
    bw_split = [0.0] * n
    acc_w, acc_h = float(end_val), 1.0
    for k in range(n - 1, -1, -1):
        acc_w = (acc_w * acc_h + 2.0 * float(leaf_vals[k])) / (acc_h + 2.0)
        acc_h += 2.0
        bw_split[k] = float(np.float32(acc_w))

    arr = {key: [None] * num_nodes for key in (
        "left_children", "right_children", "parents", "split_indices", "split_conditions",
        "default_left", "split_type", "loss_changes", "sum_hessian", "base_weights")}
    level_of_id = [None] * num_nodes
    for node, i in ids.items():
        arr["split_type"][i] = 0
        if node[0] == "split":
            k = node[1]
            f, t, right = spec[k]
            left, rightc = children(node)
            cont_left = not right
            nan_left = cont_left if k not in nan_to_leaf else not cont_left
            arr["left_children"][i] = ids[left]
            arr["right_children"][i] = ids[rightc]
            arr["split_indices"][i] = int(f)
            arr["split_conditions"][i] = float(t)
            arr["default_left"][i] = int(nan_left)
            arr["loss_changes"][i] = float(np.float32(1.0 + 0.01 * (n - k)))
            arr["sum_hessian"][i] = hess_split[k]
            arr["base_weights"][i] = bw_split[k]
            arr["parents"][ids[left]] = i
            arr["parents"][ids[rightc]] = i
            level_of_id[i] = k
        else:
            if node[0] == "leaf":
                v, h, lvl = float(leaf_vals[node[1]]), 2.0, node[1] + 1
            else:
                v, h, lvl = float(end_val), 1.0, n
            arr["left_children"][i] = -1
            arr["right_children"][i] = -1
            arr["split_indices"][i] = 0
            arr["split_conditions"][i] = v
            arr["default_left"][i] = 0
            arr["loss_changes"][i] = 0.0
            arr["sum_hessian"][i] = h
            arr["base_weights"][i] = v
            level_of_id[i] = lvl
    arr["parents"][0] = 2147483647
    assert all(all(v is not None for v in a) for a in arr.values())
    tree = {"base_weights": arr["base_weights"], "categories": [], "categories_nodes": [],
            "categories_segments": [], "categories_sizes": [],
            "default_left": arr["default_left"], "id": tree_id,
            "left_children": arr["left_children"], "loss_changes": arr["loss_changes"],
            "parents": arr["parents"], "right_children": arr["right_children"],
            "split_conditions": arr["split_conditions"], "split_indices": arr["split_indices"],
            "split_type": arr["split_type"], "sum_hessian": arr["sum_hessian"],
            "tree_param": {"num_deleted": "0", "num_feature": str(CHAIN_P),
                           "num_nodes": str(num_nodes), "size_leaf_vector": "1"}}
    return tree, level_of_id


def _chain_rows(rng, n_deep, n_uniform, d_lo=0.0, d_hi=1.08 * CHAIN_LEVELS, top=CHAIN_TOP):
    """n_deep rows built to leave the chain near a level D drawn uniformly in [d_lo, d_hi)
    (D > CHAIN_LEVELS: the row reaches the end leaf): one feature breaks the chain near
    level D, the others near later levels; then n_uniform rows uniform in [0, top)."""
    n = CHAIN_LEVELS
    rows = []
    for _ in range(n_deep):
        d = rng.uniform(d_lo, d_hi)
        stop_f = int(rng.integers(0, CHAIN_P))
        r = []
        for f in range(CHAIN_P):
            df = d if f == stop_f else d + rng.uniform(0, 0.6 * n)
            x = df + rng.uniform(-1, 1)
            r.append(x if f % 2 == 0 else top - x)  # features 0,2: right side; 1,3: left side
        rows.append(r)
    rows = np.array(rows).reshape(n_deep, CHAIN_P)
    return np.vstack([rows, rng.uniform(0, top, size=(n_uniform, CHAIN_P))])


def _chain_stop_row(spec, k, top=CHAIN_TOP):
    """A row that passes splits 0..k-1 of the chain and leaves it at split k (to its leaf);
    k = len(spec): passes every split (reaches the end leaf)."""
    row = [top + 10.0 if f % 2 == 0 else -10.0 for f in range(CHAIN_P)]  # passes everything
    if k < len(spec):
        f, t, right = spec[k]
        prev = [float(tj) for (fj, tj, _) in spec[:k] if fj == f]  # monotonic in k
        bound = prev[-1] if prev else (-10.0 if right else top + 10.0)
        row[f] = (bound + float(t)) / 2  # between the last passed threshold and this one
    return row


def _check_tree_structure(tree):
    """Every node reachable from the root exactly once, parents consistent, leaves -1/-1,
    right child = left child + 1 (XGBoost's JSON loader checks only the array lengths).
    Returns node depths."""
    lc, rc, par = tree["left_children"], tree["right_children"], tree["parents"]
    n = int(tree["tree_param"]["num_nodes"])
    assert len(lc) == len(rc) == len(par) == n and par[0] == 2147483647
    depth = [None] * n
    depth[0] = 0
    stack = [0]
    while stack:
        i = stack.pop()
        assert (lc[i] == -1) == (rc[i] == -1) and (lc[i] == -1 or rc[i] == lc[i] + 1), i
        for c in (lc[i], rc[i]):
            if c != -1:
                assert 0 < c < n and depth[c] is None and par[c] == i, (i, c)
                depth[c] = depth[i] + 1
                stack.append(c)
    assert None not in depth
    return depth


@fixture
def fx_deep_chain(outdir):
    import tempfile
    name = "deep_chain"
    rng = np.random.default_rng(_seed(name))
    n = CHAIN_LEVELS
    # template: a real (tiny) trained model, whose trees are replaced below
    Xtr = rng.uniform(0, CHAIN_TOP, size=(200, CHAIN_P))
    ytr = rng.normal(1.0, 1.0, size=200)
    tmpl = xgb.train({"objective": "reg:squarederror", "max_depth": 1, "nthread": NTHREAD,
                      "seed": 0}, xgb.DMatrix(Xtr, ytr, nthread=NTHREAD), 2)
    mj = booster_json(tmpl)

    spec = _chain_spec(rng)
    nan_leaf0 = {k for k in range(n) if k % 128 >= 124}  # 124-127, 252-255, 380-383
    nan_leaf1 = set(range(440, 448))
    t0, lvl0 = _chain_tree(spec, rng.normal(0, 1, n).astype(np.float32),
                           np.float32(rng.normal(0, 1)), nan_leaf0, 0)
    t1, lvl1 = _chain_tree(spec, rng.normal(0, 0.5, n).astype(np.float32),
                           np.float32(rng.normal(0, 0.5)), nan_leaf1, 1)
    model = mj["learner"]["gradient_booster"]["model"]
    model["trees"] = [t0, t1]
    model["tree_info"] = [0, 0]
    model["iteration_indptr"] = [0, 1, 2]
    model["gbtree_model_param"]["num_trees"] = "2"
    model["gbtree_model_param"]["num_parallel_tree"] = "1"
    assert mj["learner"]["learner_model_param"]["num_feature"] == str(CHAIN_P)

    with tempfile.TemporaryDirectory() as td:
        path = os.path.join(td, "hand.json")
        with open(path, "w") as fh:
            json.dump(mj, fh)
        bst = xgb.Booster(model_file=path)  # the loader checks only the array lengths
    bst.set_param({"nthread": NTHREAD})
    lj = booster_json(bst)
    # XGBoost kept the hand-built trees as they are; check their structure ourselves
    for built, got in zip([t0, t1], trees_of(lj)):
        for key in ("left_children", "right_children", "parents", "split_indices",
                    "default_left", "split_type"):
            assert list(got[key]) == built[key], key
        for key in ("split_conditions", "base_weights", "loss_changes", "sum_hessian"):
            assert (np.float32(got[key]) == np.float32(built[key])).all(), key
    assert len(trees_of(lj)) == 2
    depth_of = [_check_tree_structure(t) for t in trees_of(lj)]
    assert depth_of == [lvl0, lvl1] and max(lvl0) == max(lvl1) == n

    # 300 rows (30 with 1-3 NaN), then 60 threshold rows built on rows that pass every split
    # of the chain: the modified feature still lets them reach the node whose threshold it
    # holds (thresholds are monotonic per feature), so that comparison decides the route
    Xn = sprinkle_nan(rng, _chain_rows(rng, 240, 60))
    Xt = threshold_rows(rng, _chain_rows(rng, 60, 0, d_lo=1.02 * n, d_hi=1.1 * n), lj)
    # rows that would reach the end of both chains, with one feature NaN (2 per feature)
    extra = _chain_rows(rng, 2 * CHAIN_P, 0, d_lo=1.02 * n, d_hi=1.1 * n)
    for i in range(extra.shape[0]):
        extra[i, i % CHAIN_P] = np.nan
    # rows leaving the chain exactly at splits 0-3 and 496-499, one passing every split
    stop_levels = [0, 1, 2, 3, n - 4, n - 3, n - 2, n - 1, n]
    stops = np.array([_chain_stop_row(spec, k) for k in stop_levels])
    X = np.vstack([Xn, Xt, extra, stops, np.full((1, CHAIN_P), np.nan)])  # + all-NaN row
    dm = xgb.DMatrix(X, nthread=NTHREAD)
    pred = bst.predict(dm)
    margin = bst.predict(dm, output_margin=True)
    leaves = bst.predict(dm, pred_leaf=True).astype(int)
    # where XGBoost routed the rows (leaf depths; the depth-n leaves are those of split n-1)
    depth = np.array([[lvl0[a], lvl1[b]] for a, b in leaves])
    i0 = len(Xn) + len(Xt) + len(extra)
    assert (depth[i0:i0 + len(stops)] == np.array(stop_levels)[:, None].clip(0, n - 1) + 1).all()
    for j in range(2):
        deepest = [i for i, lv in enumerate((lvl0, lvl1)[j]) if lv == n]
        assert all((leaves[:, j] == i).any() for i in deepest)  # both depth-n leaves reached
    assert (depth[:, 0] >= n // 2).sum() >= 100, (depth[:, 0] >= n // 2).sum()
    assert depth[-1].tolist() == [125, 441]  # all-NaN row: first NaN-to-leaf level + 1
    print(f"  {name}: leaf depths (tree 0) {np.percentile(depth[:, 0], [0, 25, 50, 75, 100])}",
          file=sys.stderr)
    write_fixture(
        name, outdir, bst.save_model, fnames(CHAIN_P), X, pred, margin,
        {"api": "booster",
         "description":
             "Hand-built model (XGBoost cannot grow it): the trees of a 2-round depth-1 "
             "reg:squarederror model (4 features) replaced by 2 chain trees, loaded back "
             "with xgb.Booster and re-saved. Each tree: 500 split nodes, 1001 nodes, max "
             "depth 500, BFS node ids (right child = left child + 1). Split k tests feature "
             "k % 4; even k: the chain continues right (x >= t, thresholds ~k increasing), odd "
             "k: left (x < t, thresholds ~520-k decreasing); the other child is a leaf. NaN "
             "follows the chain except at splits 124-127, 252-255, 380-383 (tree 0) and "
             "440-447 (tree 1), where it goes to the leaf. Both trees have the same splits, "
             "different leaf values. Rows: 240 built to leave the chain at a uniformly drawn "
             "level + 60 uniform in [0,520] (30 of the 300 with NaN); 60 threshold rows made "
             "from rows that reach the node holding the threshold; 8 rows reaching the end "
             "with one NaN feature; 9 rows leaving at splits 0-3, 496-499 and at the end "
             "leaf; one all-NaN row.",
         "max_depth": n, "num_nodes_per_tree": 2 * n + 1})


# ---------------------------------------------------------------------- categorical


def categorical_fixture(outdir, name, num_cols, cat_specs, params, rounds, description):
    """cat_specs: list of (column name, list of training categories (str or int), n_unseen).

    Trained from a pandas DataFrame (category dtype, enable_categorical=True). Test data is
    fed to XGBoost as a float64 numpy array holding the integer category codes (index in the
    training categories) with feature_types 'c'; that path accepts unseen and negative codes.
    """
    import pandas as pd
    rng = np.random.default_rng(_seed(name))
    n = 3000
    Xnum = mixed_columns(rng, n, len(num_cols), FEATURES)
    s = signal(Xnum, rng, noise=0.2)
    codes = {}
    for cname, cats, _ in cat_specs:
        c = rng.integers(0, len(cats), n)
        eff = rng.normal(0, 1.0, len(cats))
        s = s + eff[c]
        codes[cname] = c
    y = 2 * s + 1.0
    cols = {}
    for i, cn in enumerate(num_cols):
        v = Xnum[:, i].copy()
        v[rng.uniform(size=n) < 0.05] = np.nan
        cols[cn] = v
    for cname, cats, _ in cat_specs:
        c = codes[cname].copy()
        c[rng.uniform(size=n) < 0.05] = -1  # NaN in training
        cols[cname] = pd.Categorical.from_codes(c, categories=cats)
    names = list(num_cols) + [c[0] for c in cat_specs]
    df = pd.DataFrame(cols)[names]
    params = {"tree_method": "hist", **params, "nthread": NTHREAD, "seed": 0}
    bst = xgb.train(params, xgb.DMatrix(df, y, enable_categorical=True, nthread=NTHREAD), rounds)
    mj = booster_json(bst)
    ftypes = ["float"] * len(num_cols) + ["c"] * len(cat_specs)
    assert mj["learner"]["feature_types"] == ftypes, mj["learner"]["feature_types"]

    # test rows as codes
    m = N_TEST
    T = np.empty((m, len(names)))
    T[:, : len(num_cols)] = mixed_columns(rng, m, len(num_cols), FEATURES)
    for j, (cname, cats, _) in enumerate(cat_specs):
        T[:, len(num_cols) + j] = rng.integers(0, len(cats), m)
    T = sprinkle_nan(rng, T, frac_rows=0.1)  # NaN in numeric and categorical columns
    Tth = threshold_rows(rng, T, mj)
    # unseen / invalid codes
    odd = []
    for j, (cname, cats, n_unseen) in enumerate(cat_specs):
        k = len(cats)
        for v in [k, k + 1, k + 7, 2 * k + 5, 63, 64, 100, 1000, 65535, -1, -2, -64, np.nan]:
            for _ in range(2):
                r = T[rng.integers(0, m)].copy()
                r[len(num_cols) + j] = v
                odd.append(r)
    X = np.vstack([T, Tth, np.array(odd)])

    dm = xgb.DMatrix(X, feature_names=names, feature_types=ftypes, enable_categorical=True,
                     nthread=NTHREAD)
    pred = bst.predict(dm)
    margin = bst.predict(dm, output_margin=True)
    assert (bst.inplace_predict(X) == pred).all()

    # rows representable with category names: valid codes or NaN in every categorical column
    ccols = X[:, len(num_cols):]
    ok = np.all(np.isnan(ccols) | ((ccols >= 0) & (ccols < np.array([len(c[1]) for c in cat_specs]))),
                axis=1)
    Xok = X[ok]
    cols = {cn: Xok[:, i] for i, cn in enumerate(num_cols)}
    name_rows = [[fmt_in(v) for v in Xok[:, i]] for i in range(len(num_cols))]
    for j, (cname, cats, _) in enumerate(cat_specs):
        cc = Xok[:, len(num_cols) + j]
        ic = np.where(np.isnan(cc), -1, cc).astype(int)
        # categories listed in a different order than training: XGBoost re-encodes by value
        shuffled = list(cats)[::-1]
        vals = [cats[i] if i >= 0 else None for i in ic]
        cols[cname] = pd.Categorical(vals, categories=shuffled)
        # String categories by label; integer categories by code, because Timber (like
        # XGBoost's raw-array input) reads every numeric cell as a code.
        name_rows.append(["" if i < 0 else (cats[i] if isinstance(cats[i], str) else str(i))
                          for i in ic])
    dfn = pd.DataFrame(cols)[names]
    dmn = xgb.DMatrix(dfn, enable_categorical=True, nthread=NTHREAD)
    pred_n = bst.predict(dmn)
    margin_n = bst.predict(dmn, output_margin=True)
    assert (pred_n == pred[ok]).all() and (margin_n == margin[ok]).all()
    name_rows = list(map(list, zip(*name_rows)))

    has_cats = "cats" in mj["learner"]["gradient_booster"]["model"]
    extra = {
        "input_names.csv": (names, name_rows, str),
        "expected_names.csv": (None, as_2d(check_f32(pred_n, "n")), fmt_out),
        "expected_names_margin.csv": (None, as_2d(check_f32(margin_n, "n")), fmt_out),
    }
    desc = (description + " Trained from a pandas DataFrame (category dtype, "
            "enable_categorical=True, NaN in train). input.csv: categorical cells hold the "
            "integer code = index of the category in the training categories (= "
            "gradient_booster.model.cats.enc order); predictions come from a float64 numpy "
            "array of codes via DMatrix(feature_types='c', enable_categorical=True) (same as "
            "inplace_predict). Includes unseen codes (>= #categories, up to 65535) and negative "
            "codes (-1,-2,-64), which XGBoost accepts and routes like 'not in the category "
            "set' (left); NaN follows default_left. input_names.csv/expected_names*.csv: the "
            f"subset of {int(ok.sum())} rows whose codes are valid or NaN, string-categorical "
            "cells as category labels (integer categories stay codes), predicted by XGBoost from a DataFrame (categories listed in "
            "a different order; XGBoost re-encodes via the model's cats); identical to the "
            "corresponding rows of expected*.csv.")
    write_fixture(name, outdir, bst.save_model, names, X, pred, margin,
                  {"api": "booster", "description": desc, "has_cats_encoder": has_cats},
                  extra=extra)


@fixture
def fx_categorical_small(outdir):
    categorical_fixture(
        outdir, "categorical_small", ["x0", "x1", "x2", "x3"],
        [("color", ["red", "green", "blue"], 0), ("size", [10, 20, 30, 40], 0)],
        {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.3, "max_cat_to_onehot": 8},
        20,
        "Few categories (3 string cats in 'color', 4 integer cats 10,20,30,40 in 'size': the "
        "code is the index, NOT the value) < max_cat_to_onehot=8 -> one-hot splits "
        "(one-element category sets).")


@fixture
def fx_categorical_large(outdir):
    categorical_fixture(
        outdir, "categorical_large", ["x0", "x1", "x2"],
        [("k", [f"c{i}" for i in range(60)], 0), ("g", ["a", "b", "c", "d", "e", "f"], 0)],
        {"objective": "reg:squarederror", "max_depth": 5, "eta": 0.3, "max_cat_to_onehot": 1},
        25,
        "'k' has 60 string categories c0..c59 (training order c0,c1,..,c59; cats.sorted_idx "
        "is the lexicographic order), 'g' 6 categories; max_cat_to_onehot=1 -> partition "
        "splits with large category sets.")


# ---------------------------------------------------------------------- benchmark models
#
# The models the criterion benches score (benches/, scripts/bench.sh). `small`, `bench500`
# and `multi` are committed fixtures like the others (bit-exact tests run on them);
# `large` (2,000 trees of depth 8, ~70 MB of JSON) and `huge` (5,000 trees, compile-cost only)
# are written at bench time by `make_fixtures.py --bench-data DIR`, which also writes every
# bench model's training rows (DIR/NAME/train.f32: row-major little-endian f32, NaN =
# missing; DIR/NAME/train.json: the shape) for the "rows drawn from the training data" input
# set.

BENCH_TRAIN = 20000
BENCH = {
    "small": dict(objective="reg:squarederror", rounds=100, max_depth=4, p=10, nan=0.0,
                  description="bench model: reg:squarederror, 100 trees, depth 4, 10 features."),
    "bench500": dict(objective="binary:logistic", rounds=500, max_depth=6, p=30, nan=0.02,
                     description="bench model: binary:logistic, 500 trees, depth 6, 30 features, "
                                 "2% NaN cells in training and test data."),
    "multi": dict(objective="multi:softprob", num_class=10, rounds=100, max_depth=6, p=20,
                  nan=0.0,
                  description="bench model: multi:softprob, 10 classes x 100 rounds (1,000 "
                              "trees), depth 6, 20 features."),
    "large": dict(objective="reg:squarederror", rounds=2000, max_depth=8, p=100, nan=0.0,
                  description="bench model (written at bench time, not committed): "
                              "reg:squarederror, 2,000 trees, depth 8, 100 features."),
    "huge": dict(objective="reg:squarederror", rounds=5000, max_depth=8, p=100, nan=0.0,
                 n_train=40000, eta=0.03, subsample=0.7,
                 description="compile-cost model (written at bench time, not committed): "
                             "reg:squarederror, 5,000 trees, depth 8, 100 features (low eta "
                             "and row subsampling keep the trees deep to the end)."),
}
BENCH_COMMITTED = ("small", "bench500", "multi")


def bench_data(name):
    """(rng, training rows with NaN, labels, test base rows) for a bench model: deterministic."""
    spec = BENCH[name]
    rng = np.random.default_rng(_seed(name))
    n, p = spec.get("n_train", BENCH_TRAIN), spec["p"]
    X = mixed_columns(rng, n, p, FEATURES)
    s = signal(X, rng)
    if spec.get("num_class"):
        y = classes_from(s, spec["num_class"])
    elif spec["objective"] == "binary:logistic":
        y = (s > 0.21).astype(float)
    else:
        y = 3 * s + 1.5
    Xtr = X.copy()
    if spec["nan"]:
        Xtr[rng.uniform(size=X.shape) < spec["nan"]] = np.nan
    Xte = mixed_columns(rng, N_TEST, p, FEATURES)
    if spec["nan"]:
        Xte[rng.uniform(size=Xte.shape) < spec["nan"]] = np.nan
    return rng, Xtr, y, Xte


def bench_fixture(name, outdir):
    spec = BENCH[name]
    rng, Xtr, y, Xte = bench_data(name)
    params = {"objective": spec["objective"], "max_depth": spec["max_depth"],
              "eta": spec.get("eta", 0.1), "nthread": NTHREAD, "seed": 0}
    if "subsample" in spec:
        params["subsample"] = spec["subsample"]
    if spec.get("num_class"):
        params["num_class"] = spec["num_class"]
    booster_fixture(name, outdir, params, xgb.DMatrix(Xtr, y, nthread=NTHREAD), Xte,
                    spec["rounds"], spec["description"],
                    {"bench": True, "num_train_rows": int(Xtr.shape[0])})


def write_bench_rows(name, outdir):
    """DIR/NAME/train.f32 + train.json: the training rows, for the benches."""
    _, Xtr, _, _ = bench_data(name)
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    Xtr.astype("<f4").tofile(os.path.join(d, "train.f32"))
    with open(os.path.join(d, "train.json"), "w") as fh:
        json.dump({"rows": int(Xtr.shape[0]), "features": int(Xtr.shape[1])}, fh)
        fh.write("\n")
    print(f"  {name}: {Xtr.shape[0]} training rows -> {d}/train.f32", file=sys.stderr)


def bench_main(outdir, names):
    """`--bench-data DIR [NAME...]`: training rows of every bench model, plus the uncommitted
    bench models themselves (full fixtures: model.json, input.csv, expected*.csv), and the
    peer-comparison bench models of bench_models.py (lgb_leafwise, xgb_lossguide, sk_rf_full,
    sk_rf_huge: only when named)."""
    import bench_models
    names = names or list(BENCH)
    unknown = set(names) - set(BENCH) - set(bench_models.GENERATORS)
    if unknown:
        sys.exit(f"unknown bench models: {sorted(unknown)}")
    for name in names:
        if name in bench_models.GENERATORS:
            bench_models.generate(outdir, name)
            continue
        if name not in BENCH_COMMITTED:
            bench_fixture(name, outdir)
        write_bench_rows(name, outdir)


for _name in BENCH_COMMITTED:
    def _bench_fx(outdir, _name=_name):
        bench_fixture(_name, outdir)
    _bench_fx.__name__ = "fx_" + _name
    fixture(_bench_fx)


# --------------------------------------------------------------------------------------


# numpy's dispatch targets that replace the C library's exp with numpy's own (see
# fixtures_sklearn.py); disabled for the scikit-learn child.
NO_AVX512 = ("AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL "
             "AVX512_ICL AVX512_SPR")


def main(argv):
    if argv[:1] == ["--xgb2-child"]:
        xgb2_child(argv[1])
        return
    if argv[:1] == ["--xgb34-child"]:
        xgb34_child(argv[1], argv[2:] or XGB34_FIXTURES)
        return
    sys.path.insert(0, HERE)
    import fixtures_lightgbm
    import fixtures_sklearn
    if argv[:1] == ["--sklearn-child"]:
        fixtures_sklearn.generate(argv[1], argv[2:])
        return
    if argv[:1] == ["--bench-data"]:
        assert xgb.__version__ == "3.2.0", xgb.__version__
        bench_main(argv[1], argv[2:])
        return
    outdir = HERE
    assert xgb.__version__ == "3.2.0", xgb.__version__
    xgb2 = ["xgb2_binary", "xgb2_multi"]
    lgb_names, sk_names = list(fixtures_lightgbm.FIXTURES), list(fixtures_sklearn.FIXTURES)
    xgb34 = XGB34_FIXTURES
    wanted = argv or list(FIXTURES) + xgb2 + xgb34 + lgb_names + sk_names
    unknown = (set(wanted) - set(FIXTURES) - set(xgb2) - set(xgb34) - set(lgb_names)
               - set(sk_names))
    if unknown:
        sys.exit(f"unknown fixtures: {sorted(unknown)}")
    for name in wanted:
        if name in FIXTURES:
            FIXTURES[name](outdir)
    if set(xgb2) & set(wanted):
        if not os.path.exists(XGB2_PYTHON):
            sys.exit(f"{XGB2_PYTHON} missing: run scripts/fixtures-venv.sh")
        subprocess.run([XGB2_PYTHON, os.path.abspath(__file__), "--xgb2-child", outdir],
                       check=True)
    xgb34_wanted = [n for n in xgb34 if n in wanted]
    if xgb34_wanted:
        if not os.path.exists(XGB34_PYTHON):
            sys.exit(f"{XGB34_PYTHON} missing: run scripts/fixtures-venv.sh (needs Python >= 3.12)")
        subprocess.run([XGB34_PYTHON, os.path.abspath(__file__), "--xgb34-child", outdir]
                       + xgb34_wanted, check=True)
    fixtures_lightgbm.generate(outdir, [n for n in wanted if n in lgb_names])
    sk_wanted = [n for n in wanted if n in sk_names]
    if sk_wanted:
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=NO_AVX512)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--sklearn-child", outdir]
                       + sk_wanted, check=True, env=env)


if __name__ == "__main__":
    main(sys.argv[1:])
