#!/usr/bin/env bash
# XGBoost's C library (libxgboost.so from the pinned xgboost-cpu 3.2.0 wheel), for the
# XGBoost column of the benches and the XGBoost agreement test.
#
#     export TIMBER_XGBOOST_LIB="$(scripts/xgboost-lib.sh)"    # prints the path
#     source scripts/xgboost-lib.sh                           # exports TIMBER_XGBOOST_LIB
#
# Installs the wheel on first use into the repository's .venv-fixtures (the fixture venv of
# scripts/fixtures-venv.sh, same pinned version; git-ignored); later runs reuse it without
# network access. Progress goes to stderr; stdout is only the path.

_xgb_lib() (
    set -euo pipefail
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    FIXTURES_VENV_MAIN_ONLY=1 "$root/scripts/fixtures-venv.sh" >/dev/null
    shopt -s nullglob
    libs=("$root"/.venv-fixtures/lib/python*/site-packages/xgboost/lib/libxgboost.{so,dylib})
    if ((${#libs[@]} == 0)); then
        echo "xgboost-lib: no libxgboost in $root/.venv-fixtures" >&2
        exit 1
    fi
    echo "${libs[0]}"
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _xgb_lib
else
    TIMBER_XGBOOST_LIB="$(_xgb_lib)" && export TIMBER_XGBOOST_LIB
fi
