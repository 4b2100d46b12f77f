#!/usr/bin/env bash
# Regenerates runtime/tests/data/java_exp.txt: 20,000 inputs of java.lang.Math.exp and its
# results (bit patterns), the reference timber_runtime::java::exp is tested against.
#
#     scripts/java-exp-data.sh           # rewrite the file
#     scripts/java-exp-data.sh --check   # regenerate into a temporary file and compare
#
# Needs a JDK 17 (`java`, `javac`) on x86_64: Math.exp there is HotSpot's Intel LIBM stub,
# which H2O's scorer calls; other CPUs or JVMs may compute it differently (see docs/h2o.md).

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT="$TIMBER_ROOT/runtime/tests/data/java_exp.txt"

command -v javac >/dev/null 2>&1 || die "javac (a JDK 17) is needed, e.g. sudo apt-get install openjdk-17-jdk-headless"
[[ "$(uname -m)" == "x86_64" ]] || die "Math.exp must be HotSpot's x86_64 stub; this machine is $(uname -m)"
version="$(java -version 2>&1 | head -n 1)"
[[ "$version" == *'"17.'* ]] || die "found $version; the reference data comes from Java 17"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run javac -d "$work" "$TIMBER_ROOT/scripts/JavaExpData.java"
mkdir -p "$(dirname "$OUT")"
if [[ "${1:-}" == "--check" ]]; then
    java -cp "$work" JavaExpData >"$work/java_exp.txt"
    if cmp -s "$work/java_exp.txt" "$OUT"; then
        echo "java-exp-data: $OUT is up to date"
    else
        diff <(head -n 4 "$OUT") <(head -n 4 "$work/java_exp.txt") >&2 || true
        die "$OUT differs from a fresh run"
    fi
else
    java -cp "$work" JavaExpData >"$OUT"
    echo "java-exp-data: wrote $OUT ($(grep -vc '^#' "$OUT") values)"
fi
