#!/usr/bin/env bash
# Timber against its peers (lleaves, TL2cgen, ONNX Runtime) and the training library, on one
# model, in one run: scripts/peer_bench.py run with the pinned .venv-peers
# (scripts/peers-venv.sh, created on demand). See scripts/peer_bench.py for what is measured.
#
#     scripts/peer-bench.sh NAME [peer_bench.py options...]
#         a bench model written by scripts/bench-data.sh (lgb_leafwise, xgb_lossguide,
#         sk_rf_full, sk_rf_huge): its model file, rows.npy and expected.npy
#     scripts/peer-bench.sh MODEL ROWS [peer_bench.py options...]
#
# e.g. scripts/peer-bench.sh lgb_leafwise --timber target/release/lgb-leafwise
# Results: target/peer-bench/NAME.json (unless --out is given) and a markdown table on stdout.
# Runs under `nice -n 10`; a run on a busy machine gives noisy figures (the ratios within one
# run are what counts).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

(($#)) || die "usage: scripts/peer-bench.sh NAME|MODEL ROWS [options...]"
scripts/peers-venv.sh >/dev/null
mkdir -p target/peer-bench
if [[ -d "target/bench-data/$1" || "$1" =~ ^(lgb_leafwise|xgb_lossguide|sk_rf_full|sk_rf_huge)$ ]]; then
    name="$1"
    shift
    scripts/bench-data.sh "$name"
    d="target/bench-data/$name"
    model=
    for f in model.txt model.pkl model.json; do   # sklearn dirs hold model.json too: pkl first
        if [[ -z "$model" && -f "$d/$f" ]]; then model="$d/$f"; fi
    done
    [[ -n "$model" ]] || die "$d: no model file"
    args=("$model" "$d/rows.npy" --expected "$d/expected.npy")
else
    (($# >= 2)) || die "usage: scripts/peer-bench.sh NAME|MODEL ROWS [options...]"
    name=$(basename "$(dirname "$1")")
    args=("$1" "$2")
    shift 2
fi
out=()
[[ " $* " == *" --out "* ]] || out=(--out "target/peer-bench/$name.json")
run nice -n 10 .venv-peers/bin/python scripts/peer_bench.py "${args[@]}" "${out[@]}" "$@"
