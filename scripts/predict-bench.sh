#!/usr/bin/env bash
# Bulk scoring throughput of a generated scorer, end to end: `NAME predict` on a file of
# 200,000 rows (the `bench500` fixture's 360 test rows, repeated), as CSV text and as raw
# little-endian f32 (`--format f32le`), on 1 thread and on all threads, wall time from start
# to exit including reading, decoding and writing the results. For comparison, the same rows
# scored in-process with decoding untimed: `NAME bench --batch` (the batch kernels `predict`
# uses) and `NAME bench` (one row per call).
#
#     scripts/predict-bench.sh [MODEL_JSON]   (default: models/bench500/model.json)
#
# Env: ROWS (200000). Writes its crate, data and results under target/predict-bench/.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

MODEL="${1:-models/bench500/model.json}"
INPUT="$(dirname "$MODEL")/input.csv"
[[ -f "$INPUT" ]] || die "$INPUT: no fixture rows beside the model"
ROWS="${ROWS:-200000}"
OUT=target/predict-bench
TARGET="${CARGO_TARGET_DIR:-$TIMBER_ROOT/target}"
mkdir -p "$OUT"

section "build (release)"
run cargo build --release -p timber-cli
rm -rf "$OUT/crate"
run "$TARGET/release/timber" compile "$MODEL" --out "$OUT/crate" --name scorer
cp Cargo.lock "$OUT/crate/Cargo.lock"
run env CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --no-default-features \
    --manifest-path "$OUT/crate/Cargo.toml"
SCORER="$TARGET/release/scorer"

section "data: $ROWS rows"
python3 - "$INPUT" "$ROWS" "$OUT/rows.csv" "$OUT/rows.f32" <<'EOF'
import math, struct, sys
src, n, csv_path, f32_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(src).read().splitlines()
header, rows = lines[0], lines[1:]
with open(csv_path, "w") as f:
    f.write(header + "\n")
    for i in range(n):
        f.write(rows[i % len(rows)] + "\n")
packed = []
for row in rows:
    values = [math.nan if c in ("", "nan", "NaN") else float(c) for c in row.split(",")]
    packed.append(struct.pack("<%df" % len(values), *values))
with open(f32_path, "wb") as f:
    for i in range(n):
        f.write(packed[i % len(rows)])
EOF
FEATURES="$(head -1 "$INPUT" | tr ',' '\n' | wc -l)"

section "machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# rate LABEL CMD...: runs CMD (output discarded), prints rows per second over its wall time.
rate() {
    local label="$1" start end
    shift
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    awk -v l="$label" -v n="$ROWS" -v ns=$((end - start)) \
        'BEGIN { printf "%-34s %9.0f rows/s  (%.0f ns/row)\n", l, n / (ns / 1e9), ns / n }'
}

section "predict (wall time, $ROWS rows)"
for threads in 1 0; do
    shown=$([[ $threads == 0 ]] && echo "all threads" || echo "1 thread")
    rate "predict f32le, $shown" "$SCORER" predict --input "$OUT/rows.f32" --format f32le \
        --features "$FEATURES" --threads "$threads" --output "$OUT/f32.out"
    rate "predict csv, $shown" "$SCORER" predict --input "$OUT/rows.csv" \
        --threads "$threads" --output "$OUT/csv.out"
done
cmp -s "$OUT/f32.out" "$OUT/csv.out" || die "f32le and CSV results differ"

section "scoring alone (rows decoded up front)"
run "$SCORER" bench --input "$OUT/rows.csv" --batch --seconds 2
run "$SCORER" bench --input "$OUT/rows.csv" --batch --threads 0 --seconds 2
run "$SCORER" bench --input "$OUT/rows.csv" --seconds 2
