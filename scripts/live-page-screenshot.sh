#!/usr/bin/env bash
# The screenshot of the live page in docs/ and the README, under load:
#
#     scripts/live-page-screenshot.sh [OUT.png]    # default docs/live-page.png
#
# Starts `scorer-binary serve socket --format json --http` (the bundled binary_logistic
# model), feeds it keyed JSON rows at a rate that rises and falls around 3,000 rows/s with
# a bad row now and then (`stream-bench feed`), and after FEED_SECONDS (100) takes a
# screenshot in headless chromium while the rows keep coming. Needs chromium and
# chromium-driver (installed here when missing). Env: BIN (target/release), FEED_SECONDS.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TIMBER_ROOT"
out="${1:-docs/live-page.png}"
ensure_commands chromium=chromium chromedriver=chromium-driver
TARGET="${CARGO_TARGET_DIR:-target}"
if [[ -z ${BIN:-} ]]; then
    run cargo build --release -p timber-stream-tests --bins
    BIN="$TARGET/release"
fi
feed_seconds="${FEED_SECONDS:-100}"

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The binary's name is the model's name on the page: call it what a user would.
cp "$BIN/scorer-binary" "$work/churn"
RUST_LOG=info "$work/churn" serve socket --listen 127.0.0.1:0 --format json \
    --http 127.0.0.1:0 --stats-interval 0 2>"$work/scorer.log" &
pids+=($!)
for _ in $(seq 300); do
    grep -q 'live page at' "$work/scorer.log" && break
    sleep 0.1
done
socket="$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/scorer.log" | head -1)"
page="$(sed -n 's/.*live page at \(http[^ ]*\).*/\1/p' "$work/scorer.log" | head -1)"
[[ -n $socket && -n $page ]] || { cat "$work/scorer.log"; exit 1; }

"$BIN/stream-bench" feed --addr "$socket" --seconds "$((feed_seconds + 20))" --rate 3000 &
pids+=($!)
echo "feeding $socket for $feed_seconds s; the page is $page"
sleep "$feed_seconds"
run "$BIN/stream-bench" screenshot --url "$page" --out "$out"
ls -l "$out"
