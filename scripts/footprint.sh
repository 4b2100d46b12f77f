#!/usr/bin/env bash
# What embedding a model costs a service: a minimal crate that compiles a bundled model with
# `timber::model!` and calls `predict` once, measured by its dependency count (`cargo tree`)
# and its clean `cargo build --release` time.
#
#     scripts/footprint.sh [REV...]
#
# Measures the working tree, then each git revision REV given (checked out into a temporary
# directory), one after the other on the same machine, and prints a table. Each build starts
# from an empty target directory and uses the repository's Cargo.lock (no registry
# resolution; crates must be in the local cargo cache, which a built checkout has).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

WORK="$TIMBER_ROOT/target/footprint"
rm -rf "$WORK"
mkdir -p "$WORK"

# measure NAME SOURCE_DIR: builds the minimal service against the Timber sources in
# SOURCE_DIR; appends "NAME packages seconds" to $WORK/results.
measure() {
    local name=$1 src=$2 dir="$WORK/$1/service"
    mkdir -p "$dir/src"
    cp "$src/models/binary_logistic/model.json" "$dir/model.json"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "service"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
timber = { path = "$src" }

[workspace]
EOF
    cat >"$dir/src/main.rs" <<'EOF'
timber::model!(Churn, "model.json");

fn main() {
    use timber::Model;
    let mut out = [0.0f32; 1];
    Churn.predict(&[0.5; 8], &mut out);
    println!("{}", out[0]);
}
EOF
    cp "$src/Cargo.lock" "$dir/Cargo.lock"
    section "$name: cargo tree"
    local packages
    packages=$(cargo tree --offline --manifest-path "$dir/Cargo.toml" --prefix none \
        --edges normal,build | sed 's/ (\*)//' | sort -u | wc -l)
    echo "$packages distinct packages (normal and build dependencies, the service included)"
    section "$name: clean cargo build --release"
    local start=$SECONDS
    CARGO_TARGET_DIR="$WORK/$name/target" \
        cargo build --offline --release --manifest-path "$dir/Cargo.toml"
    local seconds=$((SECONDS - start))
    "$WORK/$name/target/release/service" >/dev/null
    echo "$name $packages $seconds" >>"$WORK/results"
}

measure "working-tree" "$TIMBER_ROOT"
for rev in "$@"; do
    src="$WORK/src-$rev"
    mkdir -p "$src"
    git archive "$rev" | tar -x -C "$src"
    measure "$rev" "$src"
done

section "footprint of a minimal service embedding models/binary_logistic with timber::model!"
printf '%-14s %10s %18s\n' "sources" "packages" "clean build (s)"
while read -r name packages seconds; do
    printf '%-14s %10s %18s\n' "$name" "$packages" "$seconds"
done <"$WORK/results"
echo "($(nproc) cores; $(date -u +%Y-%m-%d))"
