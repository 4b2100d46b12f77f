#!/usr/bin/env bash
# Load test of `serve http` with wrk, side by side with `serve socket`, on the bundled
# binary_logistic model (20 trees, depth 4, 8 features), release builds:
#
#     scripts/http-bench.sh            # 10 s per run
#     scripts/http-bench.sh --smoke    # 1 s per run, debug builds if there (test.sh)
#
# For 1 row and 1,000 rows per request, over 1 and 4 connections:
# - HTTP: `wrk` POSTs one Open Inference Protocol request (`/v2/models/binary/infer`,
#   FP32) again and again on each connection; requests/s and p50/p99 latency are wrk's.
# - socket: `stream-bench socket-rr` sends the same rows as CSV lines and waits for their
#   answers before the next request, on each connection, so both sides are request/response.
# rows/s = requests/s x rows per request. Any non-2xx answer fails the run.
# Env: SECONDS_PER_RUN (10), BIN (target/release; --smoke: target/debug when built).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"

smoke=no
[[ ${1:-} == --smoke ]] && smoke=yes
ensure_commands wrk=wrk curl=curl

TARGET="${CARGO_TARGET_DIR:-target}"
if [[ $smoke == yes ]]; then
    duration="${SECONDS_PER_RUN:-1}"
    connections=(1)
    if [[ -z ${BIN:-} && -x $TARGET/debug/stream-bench && -x $TARGET/debug/scorer-binary ]]; then
        BIN="$TARGET/debug"
    fi
else
    duration="${SECONDS_PER_RUN:-10}"
    connections=(1 4)
fi
if [[ -z ${BIN:-} ]]; then
    section "build (release)"
    run cargo build --release -p timber-stream-tests --bins
    BIN="$TARGET/release"
fi

work="$(mktemp -d)"
scorer_pid=
cleanup() {
    [[ -n $scorer_pid ]] && kill "$scorer_pid" 2>/dev/null && wait "$scorer_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

section "machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

# The HTTP scorer, on a free port it logs.
RUST_LOG=info "$BIN/scorer-binary" serve http --listen 127.0.0.1:0 --model-name binary \
    --stats-interval 0 2>"$work/scorer.log" &
scorer_pid=$!
for _ in $(seq 300); do
    grep -q 'listening on ' "$work/scorer.log" && break
    sleep 0.1
done
addr="$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/scorer.log" | head -1)"
[[ -n $addr ]] || { cat "$work/scorer.log"; echo "the scorer did not start" >&2; exit 1; }
url="http://$addr/v2/models/binary/infer"

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
LUA

# "1.23ms" / "456.00us" / "1.2s" -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

table=()
for rows in 1 1000; do
    "$BIN/stream-bench" infer-body --rows "$rows" >"$work/body-$rows.json"
    # Once by hand first: a 200 with one output per row.
    got="$(curl -sS -f -H 'Content-Type: application/json' --data-binary "@$work/body-$rows.json" "$url")"
    python3 -c 'import json,sys; o=json.loads(sys.argv[1])["outputs"][0]; assert o["shape"]==[int(sys.argv[2]),1], o["shape"]' "$got" "$rows"
    for c in "${connections[@]}"; do
        section "HTTP: $rows row(s) per request, $c connection(s), ${duration} s"
        BODY="$work/body-$rows.json" wrk -t1 -c"$c" -d"${duration}s" --latency -s "$work/post.lua" "$url" | tee "$work/wrk.txt"
        if grep -q 'Non-2xx' "$work/wrk.txt"; then
            echo "wrk saw non-2xx answers" >&2
            exit 1
        fi
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")"
        p50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")")"
        p99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")")"
        table+=("$(printf '| HTTP (KServe v2 JSON) | %s | %s | %.0f | %.0f | %s | %s |' \
            "$rows" "$c" "$rps" "$(awk -v r="$rps" -v n="$rows" 'BEGIN {print r * n}')" "$p50" "$p99")")

        section "socket: $rows row(s) per request, $c connection(s), ${duration} s"
        line="$("$BIN/stream-bench" socket-rr --scorer "$BIN/scorer-binary" --batch "$rows" \
            --connections "$c" --seconds "$duration")"
        echo "$line"
        table+=("$(echo "$line" | awk -v r="$rows" -v c="$c" '{
            printf "| socket (CSV lines) | %s | %s | %.0f | %.0f | %s | %s |", r, c, $4, $6, $9, $12 }')")
    done
done

section "summary"
echo "| server | rows/request | connections | requests/s | rows/s | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${table[@]}"
