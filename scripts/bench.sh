#!/usr/bin/env bash
# The speed benchmarks, side by side in one run, and the report docs/benchmarks.md's tables come from:
#
#     scripts/bench.sh [CRITERION FILTER...]      e.g. scripts/bench.sh bench500/
#
# 1. XGBoost's C library (scripts/xgboost-lib.sh: the pinned xgboost-cpu wheel in
#    .venv-fixtures) for the XGBoost column;
# 2. the bench data (scripts/bench-data.sh: training rows of every bench model, and the
#    `large` model, too big to commit; cached);
# 3. `cargo bench --bench scoring --features bench-large`: criterion, HTML report in
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

section "XGBoost library"
source scripts/xgboost-lib.sh
echo "TIMBER_XGBOOST_LIB=$TIMBER_XGBOOST_LIB"

section "bench data"
run scripts/bench-data.sh small bench500 multi large

section "criterion benches"
mkdir -p target/bench-report
run cargo bench --bench scoring --features bench-large -- "$@" 2>&1 | tee target/bench-report/bench.log

section "report"
run python3 scripts/bench_report.py target/criterion target/bench-report
echo "criterion's HTML report: target/criterion/report/index.html"
