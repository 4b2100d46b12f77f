#!/usr/bin/env bash
# The one test command for Timber (CI runs exactly this, through .ci/run):
#
#     scripts/test.sh
#
# 0. set-up: rustfmt/clippy, the wasm32 target, Node.js, netcat-openbsd and GNU time,
#    chromium, chromedriver and wrk, the Tansu Kafka broker, and XGBoost's C library
#    (scripts/xgboost-lib.sh)
# 1. cargo fmt --all -- --check                              formatting
# 2. cargo clippy --workspace --all-targets -- -D warnings    lints, warnings are errors
# 3. RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
#                                                             API docs, warnings are errors
# 4. cargo test --workspace                                   every test of every crate
# 5. scripts/http-bench.sh --smoke                            the HTTP load bench, 1 s per run
# 6. scripts/fuzz.sh --smoke                                  every fuzz target, 40 s each
# 7. scripts/doc-commands.sh                                  every sh block of README.md and docs/
#
# Runs from any directory, needs no input, and is idempotent: it writes only under target/
# and fuzz/ (git-ignored) (and installs missing rustup components and targets, Node.js from Debian's packages when
# `node` is missing, once the Tansu Kafka broker the Kafka tests run against under ~/.cache,
# the xgboost-cpu wheel into .venv-fixtures, and for the fuzz smoke run the nightly toolchain
# and cargo-fuzz under ~/.cache). The bulk of the
# time is compiling the ~120 generated fixture model files (tests/buildscript, in both
# layouts, and the CLI end-to-end tests).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

# ---------------------------------------------------------------------------------------
# Set-up: everything the tests need beyond the Rust toolchain, installed here, idempotently.
# ---------------------------------------------------------------------------------------
section "set-up"
ensure_rust_components rustfmt clippy
# A compiled model built for WebAssembly without `std`, run by Node.js (cli/tests/wasm.rs).
ensure_rust_targets wasm32-unknown-unknown
ensure_commands node=nodejs
# The stream tests run the real OpenBSD netcat as a line source (`nc -lk`) and measure a
# scorer's peak memory with GNU time.
ensure_commands nc.openbsd=netcat-openbsd /usr/bin/time=time
# The live page of the scorer is tested in a real browser: Debian's chromium, headless,
# driven by chromedriver (tests/stream/tests/browser.rs; without them it would skip, so
# TIMBER_REQUIRE_BROWSER makes it fail instead). wrk is the load tool of the HTTP bench,
# whose smoke run below keeps scripts/http-bench.sh working.
ensure_commands chromium=chromium chromedriver=chromium-driver wrk=wrk
export TIMBER_REQUIRE_BROWSER=1

# A real Kafka-protocol broker for the `serve kafka` tests: Tansu, built once with cargo and
# cached under ~/.cache (a few minutes the first time, nothing after). Each Kafka test starts
# its own broker from this binary on a free port, so nothing is left running.
run "$TIMBER_ROOT/scripts/kafka-broker.sh" install
export TIMBER_TANSU
TIMBER_TANSU="$("$TIMBER_ROOT/scripts/kafka-broker.sh" path)"

# The broker restart test runs Tansu on PostgreSQL (Debian's), which needs Tansu's schema;
# Tansu publishes it only in its repository, so it runs where that can be fetched (or is
# given as TANSU_PG_SCHEMA=PATH), and the summary below says when it could not run.
# Only an unavailable schema (exit 3) skips the test; any other failure (a schema that is
# not Tansu's, a failed build) fails the run.
ensure_commands pg_ctlcluster=postgresql
restart_test=yes
printf '+ %s\n' "scripts/kafka-broker.sh install-postgres"
"$TIMBER_ROOT/scripts/kafka-broker.sh" install-postgres || case $? in
    3) restart_test=no ;;
    *) die "scripts/kafka-broker.sh install-postgres failed" ;;
esac
if [[ $restart_test == yes ]]; then
    export TIMBER_TANSU_PG TIMBER_TANSU_PG_SCHEMA
    TIMBER_TANSU_PG="$("$TIMBER_ROOT/scripts/kafka-broker.sh" postgres-path)"
    TIMBER_TANSU_PG_SCHEMA="$("$TIMBER_ROOT/scripts/kafka-broker.sh" postgres-schema)"
fi

# PostgreSQL and MariaDB (Debian's) for the SQL sink tests (tests/stream/tests/sinks.rs starts
# and stops servers of its own from them, in temporary directories on free ports), and
# pyarrow in .venv-sinks, the independent reader of the data-lake files.
run "$TIMBER_ROOT/scripts/sql-servers.sh" install
run "$TIMBER_ROOT/scripts/sinks-venv.sh"

# XGBoost's C library, for the test that holds XGBoost's in-place predict and Timber's
# generated code to the same bits (tests/buildscript/tests/xgboost.rs). Installs the pinned
# xgboost-cpu wheel into .venv-fixtures on first use (needs python3 and PyPI access once);
# TIMBER_REQUIRE_XGBOOST makes the test fail rather than skip if the library is missing.
run source scripts/xgboost-lib.sh
echo "TIMBER_XGBOOST_LIB=$TIMBER_XGBOOST_LIB"
export TIMBER_REQUIRE_XGBOOST=1

# A test run gains little from incremental compilation and its caches cost ~9 GB of disk
# (a CI run once died of a full disk); set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

run cargo --version
run rustc --version

# ---------------------------------------------------------------------------------------
# The checks.
# ---------------------------------------------------------------------------------------
start=$SECONDS

section "format: cargo fmt --check"
run cargo fmt --all -- --check
run cargo fmt --all --manifest-path fuzz/Cargo.toml -- --check

section "lint: cargo clippy"
run cargo clippy --workspace --all-targets -- -D warnings

# Broken, ambiguous and private-item intra-doc links are only reported by rustdoc.
section "docs: cargo doc"
run env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

section "test: cargo test"
run cargo test --workspace
if [[ $restart_test == yes ]]; then
    run cargo test -p timber-stream-tests --test kafka -- --ignored a_broker_restarted_mid_stream_loses_nothing
fi

# The HTTP load bench stays working only if it runs: 1 s per run with the debug builds
# `cargo test` just made (scripts/http-bench.sh without --smoke gives the figures in docs/http.md).
section "bench: HTTP vs socket smoke run"
run scripts/http-bench.sh --smoke

# Fuzzing stays fixed only if it runs: a short run of every cargo-fuzz target (fuzz/), from
# seeds built from models/; any crash fails the run (scripts/fuzz.sh runs them for longer).
section "fuzz: smoke run"
run scripts/fuzz.sh --smoke

# Every command block of the README and the guides, pasted as a user would (release builds
# of the CLI and a scorer, a broker, SQL servers).
section "docs: every command block"
run scripts/doc-commands.sh

if [[ $restart_test == yes ]]; then
    section "all checks passed in $((SECONDS - start)) s"
else
    section "all checks passed in $((SECONDS - start)) s, except one NOT RUN: the broker restart test (tests/stream/tests/kafka.rs: a_broker_restarted_mid_stream_loses_nothing) needs Tansu's PostgreSQL schema, which could not be fetched; give it as TANSU_PG_SCHEMA=PATH (see scripts/kafka-broker.sh install-postgres and docs/reliability.md)"
fi
