#!/usr/bin/env bash
# The one test command for Timber (CI runs exactly this, through .ci/run):
#
#     scripts/test.sh
#
# 1. cargo fmt --all -- --check                              formatting
# 2. cargo clippy --workspace --all-targets -- -D warnings    lints, warnings are errors
# 3. cargo test --workspace                                   every test of every crate
#
# Runs from any directory, needs no input, and is idempotent: it writes only under target/
# (and installs missing rustup components and, once, the Tansu Kafka broker the Kafka
# tests run against, under ~/.cache). The bulk of the time is compiling the ~120
# generated fixture models (tests/buildscript and the CLI end-to-end tests).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

# ---------------------------------------------------------------------------------------
# Set-up: everything the tests need beyond the Rust toolchain, installed here, idempotently.
# ---------------------------------------------------------------------------------------
section "set-up"
ensure_rust_components rustfmt clippy

# A real Kafka-protocol broker for the `serve kafka` tests: Tansu, built once with cargo and
# cached under ~/.cache (a few minutes the first time, nothing after). Each Kafka test starts
# its own broker from this binary on a free port, so nothing is left running.
run "$TIMBER_ROOT/scripts/kafka-broker.sh" install
export TIMBER_TANSU
TIMBER_TANSU="$("$TIMBER_ROOT/scripts/kafka-broker.sh" path)"

# A fresh CI checkout gains nothing from incremental compilation; skip its overhead there.
if [[ "${CI:-}" == "true" && -z "${CARGO_INCREMENTAL:-}" ]]; then
    export CARGO_INCREMENTAL=0
fi

run cargo --version
run rustc --version

# ---------------------------------------------------------------------------------------
# The checks.
# ---------------------------------------------------------------------------------------
start=$SECONDS

section "format: cargo fmt --check"
run cargo fmt --all -- --check

section "lint: cargo clippy"
run cargo clippy --workspace --all-targets -- -D warnings

section "test: cargo test"
run cargo test --workspace

section "all checks passed in $((SECONDS - start)) s"
