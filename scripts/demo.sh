#!/usr/bin/env bash
# Timber quick start, in one command, on a fresh clone:
#
#     scripts/demo.sh
#
# Builds the `timber` CLI, compiles the bundled XGBoost model models/binary_logistic into a
# standalone Rust crate (`churn`), builds it, scores the bundled rows with it, checks the
# predictions against the reference interpreter and XGBoost's own output, compares their
# speed, then runs the scorer's main job: serving the model on a TCP socket, and as a Kafka
# consumer-group member against a local broker (Tansu, built once and cached under ~/.cache
# by scripts/kafka-broker.sh), and writing every prediction to an SQLite table (`--sink`). Everything else it writes goes under target/ (target/demo,
# target/release); re-runs reuse the builds.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

MODEL=models/binary_logistic/model.json
ROWS=models/binary_logistic/input.csv
EXPECTED=models/binary_logistic/expected.csv
TARGET="${CARGO_TARGET_DIR:-$TIMBER_ROOT/target}"     # shared by the CLI and the crate
TIMBER="$TARGET/release/timber"                       # the CLI, built in step 1
OUT=target/demo
CRATE=$OUT/churn                                      # the generated crate
CHURN="$TARGET/release/churn"                         # its scorer binary

section "1. build the timber CLI (release)"
run cargo build --release -p timber-cli

section "2. inspect the model"
run "$TIMBER" inspect "$MODEL"

section "3. compile it into a Rust crate"
run "$TIMBER" compile "$MODEL" --out "$CRATE" --name churn
echo "generated files:"
(cd "$CRATE" && find . -type f ! -name Cargo.lock | sort | sed 's/^/  /')

section "4. build the generated crate (release)"
# `timber compile` wrote this repository's Cargo.lock into the crate (same dependency
# versions, no registry resolution); the same target directory as the CLI, so the
# dependencies it shares with the CLI are not built again.
run env CARGO_TARGET_DIR="$TARGET" \
    cargo build --release --manifest-path "$CRATE/Cargo.toml"

section "5. the compiled model's metadata"
run "$CHURN" info

section "6. score the bundled rows with the compiled model"
run "$CHURN" predict --input "$ROWS" --output "$OUT/compiled.csv"
echo "first 10 of $(wc -l <"$OUT/compiled.csv") predictions (probability of class 1):"
head -n 10 "$OUT/compiled.csv" | sed 's/^/  /'

section "7. compare with the reference interpreter and with XGBoost"
run "$TIMBER" predict "$MODEL" --input "$ROWS" --output "$OUT/interpreted.csv"
rows=$(wc -l <"$OUT/compiled.csv")
if cmp -s "$OUT/compiled.csv" "$OUT/interpreted.csv"; then
    echo "compiled == interpreted: identical ($rows rows)"
else
    diff "$OUT/compiled.csv" "$OUT/interpreted.csv" | head -n 20 >&2 || true
    die "compiled and interpreted predictions differ"
fi
if cmp -s "$OUT/compiled.csv" "$EXPECTED"; then
    echo "compiled == XGBoost ($EXPECTED): identical ($rows rows)"
else
    diff "$OUT/compiled.csv" "$EXPECTED" | head -n 20 >&2 || true
    die "compiled predictions differ from XGBoost's ($EXPECTED)"
fi

section "8. speed: compiled vs interpreted"
echo "(a quick single-process measurement, one row at a time after the CSV is decoded;"
echo " not the criterion benchmark)"
run "$CHURN" bench --input "$ROWS" --seconds 2 | tee "$OUT/bench-compiled.txt"
run "$TIMBER" bench "$MODEL" --input "$ROWS" --seconds 2 | tee "$OUT/bench-interpreted.txt"
# Lines read: scored N rows (M distinct) in T s: X rows/s, Y ns/row
rate() { sed -n 's/.*: \([0-9][0-9]*\) rows\/s,.*/\1/p' "$1"; }
compiled_rate=$(rate "$OUT/bench-compiled.txt")
interpreted_rate=$(rate "$OUT/bench-interpreted.txt")
[[ -n "$compiled_rate" && -n "$interpreted_rate" ]] || die "cannot read the bench output"
awk -v c="$compiled_rate" -v i="$interpreted_rate" 'BEGIN {
    printf "compiled / interpreted: %.1fx the rows/s (%d vs %d rows/s)\n", c / i, c, i
}'

section "9. serve the model on a TCP socket"
# A server on a free port; its log (stderr) names the port.
"$CHURN" serve socket --listen 127.0.0.1:0 --stats-interval 1 2>"$OUT/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/serve.log")
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "$port" ]] || die "the server did not start: $(cat "$OUT/serve.log")"
echo "+ $CHURN serve socket --listen 127.0.0.1:0   (listening on 127.0.0.1:$port)"
# One connection: the 360 rows (no header, model feature order) and one malformed line,
# pipelined; one answer line per line, in order.
exec 3<>"/dev/tcp/127.0.0.1/$port"
{ tail -n +2 "$ROWS"; echo "1,2,oops"; } >&3
head -n 361 <&3 >"$OUT/socket.csv"
exec 3<&-
echo "sent $(($(wc -l <"$ROWS") - 1)) rows and 1 malformed line; last 3 answers:"
tail -n 3 "$OUT/socket.csv" | sed 's/^/  /'
if cmp -s <(head -n 360 "$OUT/socket.csv") "$EXPECTED"; then
    echo "socket answers == XGBoost ($EXPECTED): identical (360 rows)"
else
    die "socket answers differ from XGBoost's"
fi
kill -TERM "$server"
wait "$server" || die "the server did not exit cleanly"
trap - EXIT
echo "server log:"
sed 's/^/  /' "$OUT/serve.log"

section "10. serve the model from Kafka (a local Tansu broker)"
# The scorer's Kafka client (librdkafka, built from source) is an opt-in feature.
if [[ ! -x "$(scripts/kafka-broker.sh path)" ]]; then
    echo "first run of this step: builds librdkafka and installs the Tansu broker with cargo"
    echo "(a one-time build of several CPU-minutes, cached in ~/.cache; later runs skip it)"
fi
run env CARGO_TARGET_DIR="$TARGET" \
    cargo build --release --features kafka --manifest-path "$CRATE/Cargo.toml"
run scripts/kafka-broker.sh install
export TIMBER_TANSU
TIMBER_TANSU="$(scripts/kafka-broker.sh path)"
run cargo build --release -p timber-stream-tests --bin stream-bench
# stream-bench starts a broker on a free port, creates topics, starts `churn serve kafka` as
# a consumer-group member, produces 100,000 rows, and waits for every prediction.
run "$TARGET/release/stream-bench" kafka --scorer "$CHURN" --rows 100000

section "11. write every prediction to a SQL table as well (SQLite)"
# `--sink URL` (repeatable) needs the scorer's `sinks` feature (sqlx with a bundled SQLite,
# the parquet crate); PostgreSQL, MySQL/MariaDB and lake files (CSV, JSON lines, Parquet) work
# the same way (README: "Sinks").
run env CARGO_TARGET_DIR="$TARGET" \
    cargo build --release --features kafka,sinks --manifest-path "$CRATE/Cargo.toml"
ensure_commands sqlite3=sqlite3
rm -f "$OUT/predictions.db" "$OUT/predictions.db-wal" "$OUT/predictions.db-shm"
run "$CHURN" predict --input "$ROWS" --output "$OUT/sink-predict.csv" \
    --sink "sqlite://$OUT/predictions.db"
run sqlite3 -header -column "$OUT/predictions.db" \
    "SELECT key, model, prediction, scored_at FROM predictions ORDER BY CAST(key AS INTEGER) LIMIT 3"
stored=$(sqlite3 "$OUT/predictions.db" "SELECT count(*) FROM predictions WHERE error IS NULL")
[[ $stored == 360 ]] || die "$stored rows in the table, expected 360"
echo "360 rows in $OUT/predictions.db, table predictions"

section "done"
echo "generated crate: $CRATE (score other rows: $CHURN predict --input ROWS.csv)"
