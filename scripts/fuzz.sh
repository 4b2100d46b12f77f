#!/usr/bin/env bash
# Fuzz Timber's input paths with cargo-fuzz (libFuzzer), each target for a bounded time:
#
#     scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 300 s per target, every target
#     scripts/fuzz.sh --smoke                   # what scripts/test.sh runs: 40 s per target
#
# Targets (fuzz/fuzz_targets/):
#   load_model   any bytes through timber_codegen::load::load_bytes (every format), then the
#                interpreter on a few rows and the emitter (both layouts)
#   row_codecs   any bytes as rows: CSV/JSON lines one at a time vs one batch (same text,
#                one result per line), and `predict` over CSV, JSON lines and raw f32
#
# Seeds come from models/ (every fixture file under 64 KB, and fixture rows); the corpus
# grows under fuzz/corpus/TARGET (git-ignored) from run to run. A crash stops the run with a
# non-zero exit and leaves the input in fuzz/artifacts/TARGET/; replay it with
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`.
#
# Installs, idempotently: the nightly toolchain (rustup) and cargo-fuzz (cargo install, cached
# under ~/.cache/timber-cargo-fuzz-$CARGO_FUZZ_VERSION).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"
CARGO_FUZZ_ROOT="${CARGO_FUZZ_ROOT:-$HOME/.cache/timber-cargo-fuzz-$CARGO_FUZZ_VERSION}"
ALL_TARGETS=(load_model row_codecs)

seconds=300
if [[ "${1:-}" == "--smoke" ]]; then
    seconds=40
    shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

# --- tools -------------------------------------------------------------------------------
if ! rustup toolchain list | grep -q '^nightly'; then
    run rustup toolchain install nightly --profile minimal
fi
if ! "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    run cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$CARGO_FUZZ_ROOT"
fi
export PATH="$CARGO_FUZZ_ROOT/bin:$PATH"

# --- seeds ---------------------------------------------------------------------------------
seeds="$TIMBER_ROOT/target/fuzz-seeds"
rm -rf "$seeds"
mkdir -p "$seeds/load_model" "$seeds/row_codecs"
# Every model file of the fixtures that is small enough to mutate quickly.
for f in models/*/model.json models/*/model.ubj models/*/model.txt models/*/model_dump.json; do
    [[ -f "$f" && $(stat -c %s "$f") -le 65536 ]] || continue
    cp "$f" "$seeds/load_model/$(basename "$(dirname "$f")")-$(basename "$f")"
done
# Rows: a selector byte (model and options, see row_codecs.rs) then fixture lines, as CSV
# (with header) and as JSON arrays.
byte() { printf "$(printf '\\%03o' "$1")"; }
seed_rows() { # NAME SELECTOR CSV
    local name=$1 selector=$2 csv=$3
    { byte "$selector"; sed -n '1,21p' "$csv"; } >"$seeds/row_codecs/$name-csv"
    { byte $((selector + 1)); sed -n '2,21p' "$csv" | awk -F, '{
        printf "[";
        for (i = 1; i <= NF; i++) {
            v = $i;
            if (v == "") v = "null"; else if (v !~ /^-?[0-9.eE+-]+$/) v = "\"" v "\"";
            printf "%s%s", (i > 1 ? "," : ""), v;
        }
        print "]";
    }'; } >"$seeds/row_codecs/$name-json"
}
seed_rows binary 0 models/binary_logistic/input.csv
seed_rows categorical 16 models/categorical_small/input_names.csv
seed_rows lightgbm 32 models/lgb_categorical/input_names.csv

# --- runs ----------------------------------------------------------------------------------
cd fuzz
for target in "${targets[@]}"; do
    section "fuzz $target for ${seconds} s"
    mkdir -p "corpus/$target" "artifacts/$target"
    run cargo +nightly fuzz run "$target" "corpus/$target" "$seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=30 -rss_limit_mb=4096 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1
done
section "fuzzing found no crash (${#targets[@]} targets, ${seconds} s each)"
