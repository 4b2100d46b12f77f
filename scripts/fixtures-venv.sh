#!/usr/bin/env bash
# Creates the pinned Python environments used to generate the test fixtures (XGBoost,
# LightGBM, scikit-learn).
#
# Regenerate all fixtures under models/ with:
#
#     scripts/fixtures-venv.sh && .venv-fixtures/bin/python models/make_fixtures.py
#
# Two venvs are created at the repository root (both are git-ignored):
#   .venv-fixtures/       XGBoost 3.2.0, LightGBM 4.7.0, scikit-learn 1.9.1 (+ numpy, pandas)
#                                                                         -> main generator
#   .venv-fixtures-xgb2/  XGBoost 2.1.4 (+ numpy<2)                       -> xgb2_* fixtures
#                         (models/make_fixtures.py re-runs itself with it: --xgb2-child)
#
# Idempotent: a stamp file inside each venv records the exact requirement list; when it
# matches, nothing is installed (no network access). Only PyPI binary wheels are used.
#
# Usage:
#   scripts/fixtures-venv.sh            create/update both venvs, print their python paths
#   source scripts/fixtures-venv.sh     same, and defines fixtures_python / fixtures_python_xgb2
#   FIXTURES_VENV_MAIN_ONLY=1 ...       only .venv-fixtures (XGBoost 3.2.0; what the tests and
#                                       benches need: scripts/xgboost-lib.sh)
#
# Environment: PYTHON (default: python3.11, else python3) picks the base interpreter (3.11).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
_fx_root="$TIMBER_ROOT"

# Pinned dependency closures (pip freeze), so the install is reproducible.
_fx_reqs_xgb3="$TRAINING_REQS"

_fx_reqs_xgb2="xgboost-cpu==2.1.4
numpy==1.26.4
scipy==1.17.1"

fixtures_python() { echo "$_fx_root/.venv-fixtures/bin/python"; }
fixtures_python_xgb2() { echo "$_fx_root/.venv-fixtures-xgb2/bin/python"; }

_fx_setup() (
    set -euo pipefail
    ensure_venv fixtures-venv "$_fx_root/.venv-fixtures" .fixtures-stamp "$_fx_reqs_xgb3"
    if [[ -z "${FIXTURES_VENV_MAIN_ONLY:-}" ]]; then
        ensure_venv fixtures-venv "$_fx_root/.venv-fixtures-xgb2" .fixtures-stamp "$_fx_reqs_xgb2"
    fi
    # Keep the venvs (and build output) out of git.
    ensure_gitignored /target /.venv-fixtures/ /.venv-fixtures-xgb2/ __pycache__/
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _fx_setup || exit 1
    fixtures_python
    [[ -n "${FIXTURES_VENV_MAIN_ONLY:-}" ]] || fixtures_python_xgb2
else
    _fx_setup || return 1
fi
