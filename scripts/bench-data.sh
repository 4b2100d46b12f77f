#!/usr/bin/env bash
# The benchmark data under target/bench-data/ (not committed), written by
# `models/make_fixtures.py --bench-data`:
#
#     scripts/bench-data.sh [NAME...]      (default: small bench500 multi large)
#
#   NAME/train.f32, NAME/train.json   the model's training rows (row-major little-endian
#                                     f32, NaN = missing), for the "rows drawn from the
#                                     training data" input set
#   large/, huge/                     the models too big to commit (2,000 and 5,000 trees of
#                                     depth 8: model.json ~28 MB / ~60 MB), as full fixtures
#                                     (model.json, input.csv, expected*.csv from XGBoost)
#
# Only when named (`scripts/bench-data.sh peers` names the first three), the models for the
# comparison with the peers (scripts/peer-bench.sh; the first three are also criterion bench
# models with `--features bench-shapes`), defined in models/bench_models.py: each
# NAME/ has the model file, rows.npy/rows.csv (100,000 random rows, 2% NaN), expected.npy/csv
# (the library's own predictions for them), train.f32 and meta.json (shape, timings, sizes):
#   lgb_leafwise    LightGBM binary, 500 trees x 63 leaves, leaf-wise, `inf` thresholds
#   xgb_lossguide   XGBoost binary:logistic, grow_policy lossguide, max_leaves 63, 500 trees
#   sk_rf_full      RandomForestClassifier, 100 fully grown trees, 3 classes, 100,000 rows
#                   (model.pkl + model.npz + model.json from tools/export_sklearn.py)
#   sk_rf_huge      RandomForestClassifier, 300 fully grown trees on 215,000 rows: ~19 million
#                   nodes (model.pkl + model.npz; ~10-15 min of training on one core)
#
# Deterministic and cached: a stamp per model records its generators' hash, so re-runs do
# nothing until models/make_fixtures.py (or, for the peer models, models/bench_models.py or
# tools/export_sklearn.py) changes. Needs the fixture
# venv (created on demand by scripts/fixtures-venv.sh: XGBoost 3.2.0). `large` takes ~1-2 min
# to train, `huge` ~5.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

names=()
for name in "$@"; do
    if [[ "$name" == peers ]]; then names+=(lgb_leafwise xgb_lossguide sk_rf_full); else names+=("$name"); fi
done
((${#names[@]})) || names=(small bench500 multi large)
out=target/bench-data
mkdir -p "$out"
# The hash of the files that generate NAME.
generator_hash() {
    case "$1" in
        lgb_leafwise | xgb_lossguide | sk_rf_full | sk_rf_huge)
            cat models/make_fixtures.py models/bench_models.py tools/export_sklearn.py ;;
        *) cat models/make_fixtures.py ;;
    esac | sha256sum | cut -d' ' -f1
}
todo=()
for name in "${names[@]}"; do
    if [[ "$(cat "$out/$name/.stamp" 2>/dev/null)" != "$(generator_hash "$name")" ]]; then
        todo+=("$name")
    fi
done
if ((${#todo[@]} == 0)); then
    echo "bench data up to date in $out (${names[*]})"
    exit 0
fi
FIXTURES_VENV_MAIN_ONLY=1 scripts/fixtures-venv.sh >/dev/null
for name in "${todo[@]}"; do
    run nice -n 10 .venv-fixtures/bin/python models/make_fixtures.py --bench-data "$out" "$name"
    generator_hash "$name" >"$out/$name/.stamp"
done
