#!/usr/bin/env bash
# Creates the pinned Python environments used to generate the test fixtures (XGBoost,
# LightGBM, scikit-learn).
#
# Regenerate all fixtures under models/ with:
#
#     scripts/fixtures-venv.sh && .venv-fixtures/bin/python models/make_fixtures.py
#
# Three venvs are created at the repository root (all git-ignored):
#   .venv-fixtures/        XGBoost 3.2.0, LightGBM 4.7.0, scikit-learn 1.9.1 (+ numpy, pandas)
#                                                                          -> main generator
#   .venv-fixtures-xgb2/   XGBoost 2.1.4 (+ numpy<2)                       -> xgb2_* fixtures
#                          (models/make_fixtures.py re-runs itself with it: --xgb2-child)
#   .venv-fixtures-xgb34/  XGBoost 3.4.1 (+ numpy 2.5, scipy), on Python >= 3.12 (XGBoost
#                          3.4 and its numpy/scipy require it)           -> xgb34_* fixtures
#                          (models/make_fixtures.py re-runs itself with it: --xgb34-child)
#
# Idempotent: a stamp file inside each venv records the exact requirement list; when it
# matches, nothing is installed (no network access). Only PyPI binary wheels are used.
#
# Usage:
#   scripts/fixtures-venv.sh            create/update the three venvs, print their python paths
#   source scripts/fixtures-venv.sh     same, and defines fixtures_python / fixtures_python_xgb2
#                                       / fixtures_python_xgb34
#   FIXTURES_VENV_MAIN_ONLY=1 ...       only .venv-fixtures (XGBoost 3.2.0; what the tests and
#                                       benches need: scripts/xgboost-lib.sh)
#
# Environment: PYTHON (default: python3.11, else python3) picks the base interpreter (3.11).
# PYTHON312 picks the one for .venv-fixtures-xgb34 (default: python3.12 on PATH, else pyenv's
# ~/.pyenv/versions/3.12.*; any Python >= 3.12 works); without one the script stops and says
# what to install (only that venv needs it; FIXTURES_VENV_MAIN_ONLY=1 never does).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
_fx_root="$TIMBER_ROOT"

# Pinned dependency closures (pip freeze), so the install is reproducible.
_fx_reqs_xgb3="$TRAINING_REQS"

_fx_reqs_xgb2="xgboost-cpu==2.1.4
numpy==1.26.4
scipy==1.17.1"

_fx_reqs_xgb34="xgboost-cpu==3.4.1
numpy==2.5.5
scipy==1.18.1"

# A Python >= 3.12 for XGBoost 3.4.1 (a fresh machine may have only 3.11).
_fx_python312() (
    set -euo pipefail
    local cand ok='import sys; sys.exit(sys.version_info < (3, 12))'
    if [[ -n "${PYTHON312:-}" ]]; then
        if "$PYTHON312" -c "$ok" 2>/dev/null; then
            command -v "$PYTHON312"
            return 0
        fi
        echo "fixtures-venv: PYTHON312=$PYTHON312 is not a Python >= 3.12 (XGBoost 3.4.1 needs one)" >&2
        return 1
    fi
    for cand in python3.12 python3.13 "$HOME"/.pyenv/versions/3.12.*/bin/python \
        "$HOME"/.pyenv/versions/3.13.*/bin/python; do
        [[ -n "$cand" ]] || continue
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c "$ok" 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    echo "fixtures-venv: XGBoost 3.4.1 (the xgb34_* fixtures) needs Python >= 3.12, and none" \
        "was found (tried python3.12, python3.13, ~/.pyenv/versions/3.1[23].*)." \
        "Install one (e.g. \`pyenv install 3.12\` or apt-get install python3.12-venv) or set" \
        "PYTHON312=/path/to/python3.12." >&2
    return 1
)

fixtures_python() { echo "$_fx_root/.venv-fixtures/bin/python"; }
fixtures_python_xgb2() { echo "$_fx_root/.venv-fixtures-xgb2/bin/python"; }
fixtures_python_xgb34() { echo "$_fx_root/.venv-fixtures-xgb34/bin/python"; }

_fx_setup() (
    set -euo pipefail
    ensure_venv fixtures-venv "$_fx_root/.venv-fixtures" .fixtures-stamp "$_fx_reqs_xgb3"
    if [[ -z "${FIXTURES_VENV_MAIN_ONLY:-}" ]]; then
        ensure_venv fixtures-venv "$_fx_root/.venv-fixtures-xgb2" .fixtures-stamp "$_fx_reqs_xgb2"
        local py312=""
        # An existing venv is reused as it is (its stamp decides); a new one needs 3.12+.
        if [[ ! -x "$_fx_root/.venv-fixtures-xgb34/bin/python" ]]; then
            py312="$(_fx_python312)"
        fi
        PYTHON="${py312:-${PYTHON:-}}" ensure_venv fixtures-venv "$_fx_root/.venv-fixtures-xgb34" \
            .fixtures-stamp "$_fx_reqs_xgb34"
    fi
    # Keep the venvs (and build output) out of git.
    ensure_gitignored /target /.venv-fixtures/ /.venv-fixtures-xgb2/ /.venv-fixtures-xgb34/ \
        __pycache__/
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _fx_setup || exit 1
    fixtures_python
    if [[ -z "${FIXTURES_VENV_MAIN_ONLY:-}" ]]; then
        fixtures_python_xgb2
        fixtures_python_xgb34
    fi
else
    _fx_setup || return 1
fi
