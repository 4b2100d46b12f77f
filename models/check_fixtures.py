#!/usr/bin/env python3
"""Independent sanity check of the generated fixtures (NOT a reference implementation).

Walks each model.json in float32 (numpy scalars), routes input.csv rows, and compares the
accumulated margin with expected_margin.csv; for a few objectives it also applies the
transform and compares with expected.csv. Reports bit-exact / max-ulp agreement.

    .venv-fixtures/bin/python models/check_fixtures.py [NAME ...]
"""
import csv
import json
import math
import os
import sys

import ctypes

import numpy as np

_libm = ctypes.CDLL("libm.so.6")
_libm.expf.restype = ctypes.c_float
_libm.expf.argtypes = [ctypes.c_float]


def expf(v):
    # glibc expf (what XGBoost and Rust's f32::exp call); math.exp rounded to f32 and
    # numpy's float32 exp both differ from it in the last bit for some inputs.
    return np.float32(_libm.expf(float(v)))


HERE = os.path.dirname(os.path.abspath(__file__))
f32 = np.float32


def read_csv(path, header):
    with open(path) as fh:
        rows = list(csv.reader(fh))
    hdr = rows[0] if header else None
    body = rows[1:] if header else rows
    return hdr, body


def load_inputs(d, feature_names, nf):
    hdr, body = read_csv(os.path.join(d, "input.csv"), True)
    X = np.array([[float(c) if c != "" else math.nan for c in r] for r in body], dtype=np.float64)
    if feature_names:
        X = X[:, [hdr.index(n) for n in feature_names]]
    else:
        assert hdr == [f"f{i}" for i in range(nf)]
    return X.astype(np.float32)  # XGBoost casts to f32


def load_out(path):
    _, body = read_csv(path, False)
    return np.array([[f32(c) for c in r] for r in body], dtype=np.float32)


def parse_base_score(s):
    s = s.strip()
    if s.startswith("["):
        return [f32(v) for v in s[1:-1].split(",")]
    return [f32(s)]


def tree_value(t, x):
    nid = 0
    lc, rc = t["left_children"], t["right_children"]
    st = t.get("split_type") or [0] * len(lc)
    cat_nodes = {n: k for k, n in enumerate(t.get("categories_nodes", []))}
    while lc[nid] != -1:
        v = x[t["split_indices"][nid]]
        if np.isnan(v):
            nid = lc[nid] if t["default_left"][nid] else rc[nid]
        elif st[nid] == 1:
            k = cat_nodes[nid]
            seg, size = t["categories_segments"][k], t["categories_sizes"][k]
            cats = t["categories"][seg:seg + size]
            in_set = v >= 0 and int(v) in cats
            nid = rc[nid] if in_set else lc[nid]
        else:
            nid = lc[nid] if v < f32(t["split_conditions"][nid]) else rc[nid]
    return f32(t["split_conditions"][nid])


LOGIT = {"binary:logistic", "reg:logistic"}
LOG = {"count:poisson", "reg:gamma", "reg:tweedie", "survival:aft", "survival:cox"}


def margins(mj, X, n_iter=None):
    L = mj["learner"]
    obj = L["objective"]["name"]
    gb = L["gradient_booster"]
    m = gb["gbtree"]["model"] if "gbtree" in gb else gb["model"]
    wd = gb.get("weight_drop")
    lmp = L["learner_model_param"]
    ngroup = max(int(lmp["num_class"]), int(lmp.get("num_target", "1")), 1)
    bs = parse_base_score(lmp["base_score"])
    if len(bs) == 1:
        bs = bs * ngroup
    # logf via f64 math.log rounded to f32 (= correctly rounded, like glibc logf);
    # numpy's float32 log is NOT bit-identical to logf for some inputs.
    if obj in LOGIT:
        bs = [-f32(math.log(float(f32(1) / b - f32(1)))) for b in bs]
    elif obj in LOG:
        bs = [f32(math.log(float(b))) for b in bs]
    trees = m["trees"]
    if n_iter is not None:
        trees = trees[: m["iteration_indptr"][n_iter]]
    out = np.empty((X.shape[0], ngroup), dtype=np.float32)
    for r in range(X.shape[0]):
        acc = [f32(b) for b in bs]
        for i, t in enumerate(trees):
            v = tree_value(t, X[r])
            if wd is not None:
                v = f32(v * f32(wd[i]))
            g = m["tree_info"][i]
            acc[g] = f32(acc[g] + v)
        out[r] = acc
    return out


def ulps(a, b):
    ai = a.view(np.int32).astype(np.int64)
    bi = b.view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    return np.abs(ai - bi)


def check(name):
    d = os.path.join(HERE, name)
    mj = json.load(open(os.path.join(d, "model.json")))
    meta = json.load(open(os.path.join(d, "meta.json")))
    L = mj["learner"]
    X = load_inputs(d, L.get("feature_names"), int(L["learner_model_param"]["num_feature"]))
    n_iter = None
    if meta["iteration_range"] == "best":
        n_iter = int(L["attributes"]["best_iteration"]) + 1
    got = margins(mj, X, n_iter)
    exp = load_out(os.path.join(d, "expected_margin.csv"))
    assert got.shape == exp.shape, (got.shape, exp.shape)
    u = ulps(got, exp)
    msg = f"{name:22s} margin: {int((u == 0).all(axis=1).sum())}/{len(u)} rows bit-exact, max ulp {int(u.max())}"
    if os.path.exists(os.path.join(d, "expected_all_margin.csv")):
        ua = ulps(margins(mj, X), load_out(os.path.join(d, "expected_all_margin.csv")))
        msg += f"; all-trees max ulp {int(ua.max())}"
    obj = L["objective"]["name"]
    pred = load_out(os.path.join(d, "expected.csv"))
    if obj in ("reg:squarederror", "binary:logitraw", "rank:pairwise", "rank:ndcg"):
        msg += f"; pred==margin {bool((pred == exp).all())}"
    elif obj == "multi:softmax":
        msg += f"; argmax ok {bool((pred[:, 0] == exp.argmax(1)).all())}"
    elif obj in LOGIT:
        sig = np.array([[f32(1) / (f32(1) + expf(-v)) for v in r] for r in exp])
        msg += f"; sigmoid ulp max {int(ulps(sig.astype(np.float32), pred).max())}"
    elif obj in LOG:
        # survival:aft transforms with a double exp (rounded to f32), the others with expf
        e = (lambda v: f32(math.exp(float(v)))) if obj == "survival:aft" else expf
        ex = np.array([[e(v) for v in r] for r in exp], dtype=np.float32)
        msg += f"; exp ulp max {int(ulps(ex, pred).max())}"
    elif obj == "multi:softprob":
        sm = []
        for r in exp:
            mx = max(r)
            e = [expf(f32(v - mx)) for v in r]
            tot = 0.0  # XGBoost sums the exponentials in double
            for v in e:
                tot += float(v)
            sm.append([f32(v / f32(tot)) for v in e])
        msg += f"; softmax ulp max {int(ulps(np.array(sm, dtype=np.float32), pred).max())}"
    elif obj == "binary:hinge":
        msg += f"; hinge ok {bool((pred[:, 0] == (exp[:, 0] > 0)).all())}"
    print(msg)
    return int(u.max())


def main(argv):
    names = argv or sorted(n for n in os.listdir(HERE)
                           if os.path.exists(os.path.join(HERE, n, "model.json")))
    worst = 0
    for n in names:
        worst = max(worst, check(n))
    print("worst margin ulp distance:", worst)


if __name__ == "__main__":
    main(sys.argv[1:])
