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
# Deterministic and cached: a stamp per model records the generator's hash, so re-runs do
# nothing until models/make_fixtures.py changes. Needs the fixture venv (created on demand
# by scripts/fixtures-venv.sh: XGBoost 3.2.0). `large` takes ~1-2 min to train, `huge` ~5.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

names=("$@")
((${#names[@]})) || names=(small bench500 multi large)
out=target/bench-data
mkdir -p "$out"
hash=$(sha256sum models/make_fixtures.py | cut -d' ' -f1)
todo=()
for name in "${names[@]}"; do
    if [[ "$(cat "$out/$name/.stamp" 2>/dev/null)" != "$hash" ]]; then
        todo+=("$name")
    fi
done
if ((${#todo[@]} == 0)); then
    echo "bench data up to date in $out (${names[*]})"
    exit 0
fi
FIXTURES_VENV_MAIN_ONLY=1 scripts/fixtures-venv.sh >/dev/null
for name in "${todo[@]}"; do
    run .venv-fixtures/bin/python models/make_fixtures.py --bench-data "$out" "$name"
    echo "$hash" >"$out/$name/.stamp"
done
