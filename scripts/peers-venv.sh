#!/usr/bin/env bash
# Creates the pinned Python environment `.venv-peers/` (git-ignored) with the peers Timber is
# measured against, for scripts/peer_bench.py (scripts/peer-bench.sh):
#
#   the training libraries   xgboost-cpu 3.2.0, lightgbm 4.7.0, scikit-learn 1.9.1, numpy 2.3.5
#                            (the same versions as scripts/fixtures-venv.sh, so the bench
#                            models it writes load here unchanged)
#   lleaves 1.3.0            LightGBM -> LLVM; needs llvmlite < 0.45 (0.44.0)
#   tl2cgen 1.0.0            treelite -> C (built with the system gcc), treelite 4.8.1
#   onnxruntime 1.32.0       with skl2onnx 1.20.0 / onnxmltools 1.16.0 / onnx 1.23.2 converters
#
# Idempotent: a stamp file inside the venv records the exact requirement list; when it
# matches, nothing is installed (no network access). Only PyPI binary wheels are used.
#
# Usage:
#   scripts/peers-venv.sh            create/update the venv, print its python path
#   source scripts/peers-venv.sh     same, and defines peers_python
#
# Environment: PYTHON (default: python3.11, else python3) picks the base interpreter (3.11).
# tl2cgen compiles the generated C with `gcc` (Debian package gcc), which must be on PATH.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
_pv_root="$TIMBER_ROOT"

# Full pinned dependency closure (pip freeze), so the install is reproducible.
_pv_reqs="$TRAINING_REQS
lleaves==1.3.0
llvmlite==0.44.0
tl2cgen==1.0.0
treelite==4.8.1
packaging==26.4
onnxruntime==1.32.0
onnx==1.23.2
skl2onnx==1.20.0
onnxmltools==1.16.0
flatbuffers==25.12.19
ml_dtypes==0.6.0
protobuf==7.36.2
typing_extensions==4.16.0"

peers_python() { echo "$_pv_root/.venv-peers/bin/python"; }

# Runs in a subshell with strict mode, so sourcing is safe.
_pv_setup() (
    set -euo pipefail
    ensure_venv peers-venv "$_pv_root/.venv-peers" .peers-stamp "$_pv_reqs"
    command -v gcc >/dev/null 2>&1 || echo "peers-venv: warning: no gcc on PATH (TL2cgen needs it)" >&2
    # Keep the venv out of git.
    ensure_gitignored /.venv-peers/
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _pv_setup || exit 1
    peers_python
else
    _pv_setup || return 1
fi
