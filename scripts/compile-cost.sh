#!/usr/bin/env bash
# Compile cost of the bench models: for each, `timber compile` (codegen) and
# `cargo build --release` of the generated crate, with wall time and peak memory from
# /usr/bin/time -v (peak = the largest process: rustc), the generated source size and the
# size of the scorer binary. Writes target/compile-cost/report.md.
#
#     scripts/compile-cost.sh [MODEL...]
#     (default: small bench500 multi large huge lgb_leafwise sk_rf_full sk_rf_huge)
#
# Models: small, bench500, multi (committed fixtures), large (2,000 trees of depth 8) and
# huge (5,000 trees of depth 8); the peers' shapes lgb_leafwise (LightGBM, 500 trees x 63
# leaves), sk_rf_full (scikit-learn, 100 fully grown trees, 1M nodes) and sk_rf_huge (300
# fully grown trees, 19M nodes; read from its npz); all but the fixtures written by
# scripts/bench-data.sh. Every model is built in the default layout; small, bench500 and
# multi also all nested if/else, for comparison. The generated crates share one target
# directory whose dependencies (timber-runtime, clap, csv, ...) are built once before
# measuring, so each figure is the model crate alone. Targets: `large` and `huge` within 3
# minutes and 4 GiB (issue 5); sk_rf_full under 60 s and 2 GiB, sk_rf_huge under 5 minutes
# and 8 GiB (issue 10).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed for peak memory"
models=("$@")
((${#models[@]})) || models=(small bench500 multi large huge lgb_leafwise sk_rf_full sk_rf_huge)
OUT=target/compile-cost
CT="$TIMBER_ROOT/$OUT/target"
TIMBER="${CARGO_TARGET_DIR:-target}/release/timber"
mkdir -p "$OUT/crates" "$OUT/times"

section "build the timber CLI"
run cargo build --release -p timber-cli

need=()
for m in "${models[@]}"; do
    [[ -f "models/$m/model.json" ]] || need+=("$m")
done
if ((${#need[@]})); then
    section "bench data (${need[*]})"
    run scripts/bench-data.sh "${need[@]}"
fi

# The model file of a bench model: a fixture's, else bench data's (npz first: the form big
# scikit-learn forests are exported in).
model_path() {
    local f
    for f in "models/$1/model.json" "target/bench-data/$1/model.txt" \
        "target/bench-data/$1/model.npz" "target/bench-data/$1/model.json"; do
        [[ -f "$f" ]] && { echo "$f"; return; }
    done
    echo "target/bench-data/$1/model.json"
}

# seconds from GNU time's "Elapsed (wall clock) time (h:mm:ss or m:ss): ..."
elapsed() {
    sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }'
}
peak_mib() {
    sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{ printf "%.0f", $1 / 1024 }'
}

section "dependencies of generated crates (not measured)"
warm="$OUT/crates/warm-up"
rm -rf "$warm"
run "$TIMBER" compile models/tiny_reg/model.json --out "$warm" --name warm-up >/dev/null
cp Cargo.lock "$warm/Cargo.lock"
run env CARGO_TARGET_DIR="$CT" cargo build --release --quiet --manifest-path "$warm/Cargo.toml"

report="$OUT/report.md"
{
    echo "| model | trees | nodes | layout | generated source | codegen | cargo build --release | peak memory (codegen / rustc) | scorer binary |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >"$report"

for m in "${models[@]}"; do
    path=$(model_path "$m")
    [[ -f "$path" ]] || die "$path is missing"
    trees=$("$TIMBER" inspect "$path" | sed -n 's/^trees: *//p')
    nodes=$("$TIMBER" inspect "$path" | sed -n 's/^nodes: *//p')
    layouts=(auto)
    case "$m" in small | bench500 | multi) layouts+=(nested) ;; esac
    for layout in "${layouts[@]}"; do
        name="cc-$m-$layout"
        crate="$OUT/crates/$name"
        section "$m ($layout layout)"
        rm -rf "$crate"
        run /usr/bin/time -v -o "$OUT/times/$name.codegen" \
            "$TIMBER" compile "$path" --out "$crate" --name "$name" --layout "$layout"
        cp Cargo.lock "$crate/Cargo.lock"
        run /usr/bin/time -v -o "$OUT/times/$name.build" \
            env CARGO_TARGET_DIR="$CT" cargo build --release --quiet --manifest-path "$crate/Cargo.toml"
        src_mb=$(du -sb "$crate/src" | awk '{ printf "%.1f MB", $1 / 1e6 }')
        bin_mb=$(stat -c %s "$CT/release/$name" | awk '{ printf "%.1f MB", $1 / 1e6 }')
        cg_s=$(elapsed "$OUT/times/$name.codegen")
        cg_mib=$(peak_mib "$OUT/times/$name.codegen")
        b_s=$(elapsed "$OUT/times/$name.build")
        b_mib=$(peak_mib "$OUT/times/$name.build")
        echo "codegen ${cg_s} s (${cg_mib} MiB), build ${b_s} s (${b_mib} MiB), source $src_mb, binary $bin_mb"
        echo "| $m | $trees | $nodes | $layout | $src_mb | ${cg_s} s | ${b_s} s | ${cg_mib} / ${b_mib} MiB | $bin_mb |" >>"$report"
    done
done

section "report ($report)"
cat "$report"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
