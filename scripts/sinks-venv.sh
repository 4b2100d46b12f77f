#!/usr/bin/env bash
# Creates `.venv-sinks/` (git-ignored): pyarrow 26.0.1, the independent reader the sink tests
# (tests/stream/tests/sinks.rs) check the data lake's CSV, JSON-lines and Parquet files with.
# Idempotent: a stamp inside the venv records the requirement; when it matches nothing is
# installed and nothing is fetched. Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.venv-sinks"
want="pyarrow==26.0.1"
if ! [[ -x $dir/bin/python && -f $dir/.stamp && "$(cat "$dir/.stamp")" == "$want" ]]; then
    echo "sinks-venv: setting up $dir ($want)" >&2
    base=python3
    command -v python3.11 >/dev/null 2>&1 && base=python3.11
    [[ -x $dir/bin/python ]] || "$base" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "$want" >&2
    echo "$want" >"$dir/.stamp"
fi
echo "$dir/bin/python"
