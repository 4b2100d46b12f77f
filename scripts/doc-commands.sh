#!/usr/bin/env bash
# Runs every ```sh block of the README and the guides, as a user pasting them would: the
# blocks of one file in one bash session (so a variable set in one block is there in the
# next), from the repository root, in order, stopping at the first command that fails.
#
#     scripts/doc-commands.sh [FILE.md...]     (default: README.md and docs/*.md)
#
# Env: DOC_TIMEOUT (seconds per file, default 1800). Code that is not for pasting (Rust,
# TOML, output) is fenced with its own language; `text` blocks are not run. The scripts the
# README names for long jobs (scripts/test.sh itself, the benchmarks) are not run here.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

files=("$@")
if ((${#files[@]} == 0)); then
    files=(README.md docs/*.md)
fi
timeout_s="${DOC_TIMEOUT:-1800}"
mkdir -p target/doc-commands

# Writes the ```sh blocks of $1 as one script, each block preceded by a banner naming
# its first line in the file.
extract() {
    awk -v file="$1" '
        /^```sh[[:space:]]*$/ { inside = 1; printf "echo \"---- %s:%d\"\n", file, NR + 1; next }
        /^```/ && inside { inside = 0; print ""; next }
        inside { print }
    ' "$1"
}

ran=0
for file in "${files[@]}"; do
    script="target/doc-commands/$(basename "$file" .md).sh"
    {
        echo "set -euo pipefail"
        # Servers a block started in the background are stopped when the file is done.
        echo "trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT"
        extract "$file"
    } >"$script"
    blocks=$(grep -c '^echo "---- ' "$script" || true)
    ((blocks > 0)) || continue
    section "$file: $blocks command blocks"
    if ! timeout --kill-after=10 "$timeout_s" bash "$script"; then
        die "a command block of $file failed (the last '---- $file:LINE' above names it)"
    fi
    ran=$((ran + blocks))
done
section "all $ran command blocks ran"
