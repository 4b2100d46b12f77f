#!/usr/bin/env bash
# The speed benchmarks, side by side in one run, and the report docs/benchmarks.md's tables come from:
#
#     scripts/bench.sh [--shapes] [CRITERION FILTER...]      e.g. scripts/bench.sh bench500/
#
# --shapes (or TIMBER_BENCH_SHAPES=1) adds the tree-shape models of issue 10 (leaf-wise
# LightGBM, lossguide XGBoost, a fully grown scikit-learn forest: benches/scoring/shapes.rs,
# feature `bench-shapes`), whose data `scripts/bench-data.sh peers` generates (first time:
# ~3 minutes, needs the fixture venv; the models add ~15 s of CPU to the build, and an
# estimated 10-15 minutes to the run, most of it the interpreter).
# `TIMBER_BENCH_MODELS=sk_rf_full scripts/bench.sh --shapes` benches one of them alone.
#
# 1. XGBoost's C library (scripts/xgboost-lib.sh: the pinned xgboost-cpu wheel in
#    .venv-fixtures) for the XGBoost column;
# 2. the bench data (scripts/bench-data.sh: training rows of every bench model, and the
#    `large` model, too big to commit; cached);
# 3. `cargo bench --bench scoring --features bench-large[,bench-shapes]`: criterion, HTML report in
#    target/criterion/report/index.html (every scorer's output is checked bit for bit
#    against Timber's before timing);
# 4. scripts/bench_report.py: target/bench-report/report.md (ratio tables) and
#    target/bench-report/speedup.svg.
#
# A full run takes about 30-40 minutes on 2 cores, most of it the interpreter and XGBoost
# on 100,000 rows. Figures from a machine busy with other work are noisy: ratios are
# measured within one run, but compare runs with care.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

shapes=${TIMBER_BENCH_SHAPES:-0}
if [[ "${1:-}" == --shapes ]]; then
    shapes=1
    shift
fi
data=(small bench500 multi large)
features=bench-large
if [[ "$shapes" == 1 ]]; then
    data+=(peers)
    features+=,bench-shapes
fi

section "XGBoost library"
source scripts/xgboost-lib.sh
echo "TIMBER_XGBOOST_LIB=$TIMBER_XGBOOST_LIB"

section "bench data"
run scripts/bench-data.sh "${data[@]}"

section "criterion benches"
mkdir -p target/bench-report
run cargo bench --bench scoring --features "$features" -- "$@" 2>&1 | tee target/bench-report/bench.log

section "report"
run python3 scripts/bench_report.py target/criterion target/bench-report
echo "criterion's HTML report: target/criterion/report/index.html"
