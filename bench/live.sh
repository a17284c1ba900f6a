#!/usr/bin/env bash
# What watching a run costs (SPEC §15): CPU per request at 10,000 req/s, one
# thread, with --metrics-listen scraped every second, and with --live, each
# beside the same run unwatched, in one interleaved run against the private
# nginx of ../shared/bench:
#
#   bench/live.sh [REPS]     (from the repository root, after
#                             cargo build --release; default 4 reps)
#
# 5 s runs, 50 users, client on CPU 0, nginx on CPU 1. Prints the median CPU
# µs per request of each scenario and its ratio to the unwatched run. (--tui
# needs a terminal; run it by hand in tmux to compare it the same way.)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
REPS=${1:-4}
VOLLEY=${VOLLEY:-target/release/volley}
WORK=$(mktemp -d)
scraper=""
cleanup() {
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
    rm -rf "$WORK"
    "$SHARED/server.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
export RESULTS="$WORK/results.tsv" OUT_DIR="$WORK/out" DURATION=5 TIMEOUT=40 TARGET=10000
URL=http://127.0.0.1:18080/
METRICS=127.0.0.1:19464

"$SHARED/server.sh" start >/dev/null
run() { TAG=$1 "$SHARED/measure.sh" "$1-$2" -- "$VOLLEY" "$URL" --rps 10000 -c 50 --threads 1 -d 5 -q "${@:3}" >/dev/null; }
for rep in $(seq 1 "$REPS"); do
    run plain "$rep"
    # One scrape a second for the run's 5 s (bounded), as Prometheus would.
    ( for _ in $(seq 1 7); do sleep 1; curl -s -o /dev/null "http://$METRICS/metrics" || true; done ) &
    scraper=$!
    run metrics "$rep" --metrics-listen "$METRICS" --metrics-linger 0
    wait "$scraper" || true
    scraper=""
    run live "$rep" --live "$WORK/live.jsonl"
done
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r[0], []).append(float(r[4]))
base = statistics.median(by["plain"])
print("scenario   CPU us/req (median)  vs plain   runs")
for tag in ["plain", "metrics", "live"]:
    v = by.get(tag, [])
    if v:
        m = statistics.median(v)
        print(f"{tag:<10} {m:>19.2f}  {m / base:>8.3f}   {', '.join(f'{x:.2f}' for x in v)}")
PY
