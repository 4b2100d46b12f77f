#!/usr/bin/env bash
# Timber's compiled scorer against H2O's own MOJO scorer (h2o-genmodel on the JVM), on the
# same rows of the same MOJO, in one run: interleaved rounds, medians.
#
#     scripts/h2o-bench.sh [MODEL_ZIP...]   (default: four of the models/h2o_* fixtures)
#
# Env: ROWS (20000: each fixture's input.csv repeated), BENCH_SECONDS (2 per measurement),
#      ROUNDS (3), LAYOUT (auto: `timber compile --layout`), OUT (target/h2o-bench).
#
# Per model and round:
#   Timber  `scorer bench --input rows.csv`            one row per call (Model::predict)
#           `scorer bench --batch`                      all rows per call, 1 thread
#           `scorer bench --batch --threads 0`          all rows per call, every core
#   H2O     scripts/H2oBench.java: MojoModel.score0 one row per call on 1 thread and on
#           every core, and EasyPredictModelWrapper.predict (cells as strings) on 1 thread.
# Rows are decoded up front on both sides (parsing untimed); the JVM warms up for BENCH_SECONDS
# before each measurement. Results: target/h2o-bench/results.md (and stdout).
#
# Needs a JDK 17 and h2o-genmodel.jar, which scripts/fixtures-h2o.sh --genmodel-jar fetches
# once (it sets up .venv-fixtures-h2o with the h2o package and starts H2O to download it).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

if [[ $# -gt 0 ]]; then
    MODELS=("$@")
else
    MODELS=(models/h2o_gbm_bernoulli/model.zip models/h2o_gbm_categorical/model.zip
        models/h2o_gbm_multinomial/model.zip models/h2o_drf_regression/model.zip)
fi
ROWS="${ROWS:-20000}"
SECONDS_EACH="${BENCH_SECONDS:-2}"
ROUNDS="${ROUNDS:-3}"
OUT="${OUT:-target/h2o-bench}"
LAYOUT="${LAYOUT:-auto}"
TARGET="${CARGO_TARGET_DIR:-$TIMBER_ROOT/target}"
mkdir -p "$OUT"

command -v javac >/dev/null 2>&1 || die "javac (a JDK 17) is needed, e.g. sudo apt-get install openjdk-17-jdk-headless"

section "h2o-genmodel.jar"
JAR="$(scripts/fixtures-h2o.sh --genmodel-jar | tail -n 1)"
[[ -f "$JAR" ]] || die "no h2o-genmodel.jar (scripts/fixtures-h2o.sh --genmodel-jar printed $JAR)"
echo "$JAR"
run javac -cp "$JAR" -d "$OUT/java" scripts/H2oBench.java

section "build (release)"
run nice -n 10 cargo build --release -p timber-cli
declare -A SCORER
for model in "${MODELS[@]}"; do
    name="$(basename "$(dirname "$model")")"
    crate="scorer-${name//_/-}-$LAYOUT"
    rm -rf "$OUT/$name"
    run "$TARGET/release/timber" compile "$model" --out "$OUT/$name" --name "$crate" \
        --layout "$LAYOUT"
    cp Cargo.lock "$OUT/$name/Cargo.lock"
    run env CARGO_TARGET_DIR="$TARGET" nice -n 10 cargo build --release --quiet \
        --manifest-path "$OUT/$name/Cargo.toml"
    SCORER[$name]="$TARGET/release/$crate"
    # The fixture's rows, repeated.
    python3 - "$(dirname "$model")/input.csv" "$ROWS" "$OUT/$name.csv" <<'EOF'
import sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(src).read().splitlines()
with open(out, "w") as f:
    f.write(lines[0] + "\n")
    for i in range(n):
        f.write(lines[1 + i % (len(lines) - 1)] + "\n")
EOF
done

section "both scorers agree (bit for bit, every distinct row)"
for model in "${MODELS[@]}"; do
    name="$(basename "$(dirname "$model")")"
    input="$(dirname "$model")/input.csv"
    "${SCORER[$name]}" predict --input "$input" --output "$OUT/$name.timber.csv"
    java -cp "$JAR:$OUT/java" H2oBench "$model" "$input" 0.01 "$OUT/$name.h2o.txt" >/dev/null
    python3 - "$OUT/$name.timber.csv" "$OUT/$name.h2o.txt" "$name" <<'EOF'
import struct, sys
timber = [[struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in l.split(",")]
          for l in open(sys.argv[1]).read().splitlines()]
h2o = [[int(v, 16) for v in l.split(",")] for l in open(sys.argv[2]).read().splitlines()]
bad = sum(a != b for a, b in zip(timber, h2o)) + abs(len(timber) - len(h2o))
if bad:
    sys.exit(f"{sys.argv[3]}: {bad} of {len(h2o)} rows differ between Timber and H2O")
print(f"{sys.argv[3]}: {len(h2o)} rows, identical bits")
EOF
done

section "machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
java -version 2>&1 | head -n 1

RAW="$OUT/raw.txt"
: >"$RAW"
for round in $(seq 1 "$ROUNDS"); do
    section "round $round of $ROUNDS"
    for model in "${MODELS[@]}"; do
        name="$(basename "$(dirname "$model")")"
        scorer="${SCORER[$name]}"
        for mode in row batch-1t batch-all; do
            case $mode in
                row) args=() ;;
                batch-1t) args=(--batch) ;;
                batch-all) args=(--batch --threads 0) ;;
            esac
            line="$("$scorer" bench --input "$OUT/$name.csv" --seconds "$SECONDS_EACH" "${args[@]}")"
            echo "$name timber-$mode: $line"
            # "scored N rows (M distinct) in S s: R rows/s, X ns/row"
            echo "$line" | sed -E "s/.*: ([0-9.]+) rows\/s, ([0-9.]+) ns\/row.*/$name timber-$mode \1 \2/" >>"$RAW"
        done
        java -Xmx2g -cp "$JAR:$OUT/java" H2oBench "$model" "$OUT/$name.csv" "$SECONDS_EACH" \
            | grep '^RESULT' | while read -r _ mode rate ns; do
                echo "$name h2o-$mode: $rate rows/s, $ns ns/row"
                echo "$name h2o-$mode $rate $ns" >>"$RAW"
            done
    done
done

section "medians"
python3 - "$RAW" "$OUT/results.md" "$ROWS" "$ROUNDS" "$LAYOUT" <<'EOF'
import statistics, sys
from collections import defaultdict
raw, out, rows, rounds, layout = sys.argv[1:6]
rate = defaultdict(list)
ns = defaultdict(list)
models = []
for line in open(raw):
    name, mode, r, n = line.split()
    if name not in models:
        models.append(name)
    rate[name, mode].append(float(r))
    ns[name, mode].append(float(n))
med = lambda d, k: statistics.median(d[k])
lines = [
    f"Medians of {rounds} interleaved rounds, {rows} rows per model (the fixture's inputs repeated),",
    f"`timber compile --layout {layout}`,",
    "rows decoded up front on both sides.",
    "",
    "| model | one row per call: Timber | H2O `score0` | ratio | batch, 1 thread: Timber | H2O `score0` | ratio "
    "| all cores: Timber | H2O `score0` | ratio | H2O `EasyPredictModelWrapper` |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for m in models:
    t_row, h_row = med(ns, (m, "timber-row")), med(ns, (m, "h2o-score0-1t"))
    t_1t, h_1t = med(rate, (m, "timber-batch-1t")), med(rate, (m, "h2o-score0-1t"))
    t_all, h_all = med(rate, (m, "timber-batch-all")), med(rate, (m, "h2o-score0-all"))
    easy = med(ns, (m, "h2o-easypredict-1t"))
    lines.append(
        f"| {m} | {t_row:.0f} ns | {h_row:.0f} ns | {h_row / t_row:.1f}x "
        f"| {t_1t / 1e6:.2f} M rows/s | {h_1t / 1e6:.2f} M rows/s | {t_1t / h_1t:.1f}x "
        f"| {t_all / 1e6:.2f} M rows/s | {h_all / 1e6:.2f} M rows/s | {t_all / h_all:.1f}x "
        f"| {easy:.0f} ns/row |"
    )
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
EOF
echo "results: $OUT/results.md"
