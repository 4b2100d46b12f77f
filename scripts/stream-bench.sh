#!/usr/bin/env bash
# Streaming throughput, measured end to end with the bundled binary_logistic model
# (20 trees, depth 4, 8 features), all release builds:
#
#     scripts/stream-bench.sh
#
# 1. `serve socket`: 1,000,000 CSV rows pipelined over 1 connection, then over 4;
# 2. `serve kafka`: 100,000 records produced to a 3-partition topic on a local Tansu broker
#    (installed by scripts/kafka-broker.sh, cached), scored, and consumed from the output
#    topic; the clock runs from the first record produced to the last prediction consumed.
# Each line also gives the share of the time the model itself spends scoring (the same rows
# scored in-process, timed alone): the rest is decoding text, I/O and the broker.
# 3. the same with a sink: socket -> SQLite, Kafka -> PostgreSQL, Kafka -> Parquet files.
# Env: ROWS_SOCKET (1000000), ROWS_KAFKA (100000).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

section "build (release)"
run cargo build --release -p timber-stream-tests --bins
run scripts/kafka-broker.sh install
export TIMBER_TANSU
TIMBER_TANSU="$(scripts/kafka-broker.sh path)"
BIN="${CARGO_TARGET_DIR:-target}/release"

section "machine"
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

section "serve socket"
run "$BIN/stream-bench" socket --scorer "$BIN/scorer-binary" --rows "${ROWS_SOCKET:-1000000}" --connections 1
run "$BIN/stream-bench" socket --scorer "$BIN/scorer-binary" --rows "${ROWS_SOCKET:-1000000}" --connections 4

section "serve kafka"
run "$BIN/stream-bench" kafka --scorer "$BIN/scorer-binary" --rows "${ROWS_KAFKA:-100000}" --partitions 3

# The same paths writing every row to a sink as well (`--sink`), side by side with the runs
# above: socket -> SQLite, Kafka -> PostgreSQL (scripts/sql-servers.sh), Kafka -> Parquet
# files. "with every row in" times until the scorer, stopped after the last answer, exited
# with every row written.
section "sinks"
SCRATCH="$(mktemp -d)"
trap 'scripts/sql-servers.sh stop; rm -rf "$SCRATCH"' EXIT
eval "$(scripts/sql-servers.sh start)"
run "$BIN/stream-bench" socket --scorer "$BIN/scorer-binary" --rows "${ROWS_SOCKET:-1000000}" --connections 1 \
    --sink "sqlite://$SCRATCH/bench.db"
run "$BIN/stream-bench" kafka --scorer "$BIN/scorer-binary" --rows "${ROWS_KAFKA:-100000}" --partitions 3 \
    --sink "$TIMBER_PG_URL"
run "$BIN/stream-bench" kafka --scorer "$BIN/scorer-binary" --rows "${ROWS_KAFKA:-100000}" --partitions 3 \
    --sink "file://$SCRATCH/lake?format=parquet"
