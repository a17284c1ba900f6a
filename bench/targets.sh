#!/usr/bin/env bash
# What a list of targets costs (SPEC §10), beside one request and wrk, in
# one interleaved run against the private nginx of ../shared/bench:
#
#   bench/targets.sh [REPS]        (from the repository root, after
#                                   cargo build --release; default 3 reps)
#
# Scenarios, each 5 s at --rps max, 50 users, one thread, client on CPU 0
# and nginx on CPU 1:
#   one        volley, one GET
#   ten        volley, a 10-target vegeta file
#   templated  volley, POST /item/{{seq}} with a {{row.id}} body from a CSV
#   thousand   volley, a 1,000-target file (for its peak RSS)
#   wrk        wrk -t1 -c50 on the same URL
# Prints one row per run (measure.sh's) and the median CPU µs per request
# of each scenario with its ratio to `one`. Needs nginx and wrk (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
REPS=${1:-3}
VOLLEY=${VOLLEY:-target/release/volley}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; "$SHARED/server.sh" stop >/dev/null 2>&1 || true' EXIT
export RESULTS="$WORK/results.tsv" OUT_DIR="$WORK/out" DURATION=5 TIMEOUT=30
URL=http://127.0.0.1:18080

for i in $(seq 0 9); do printf 'GET %s/t/%d\n\n' "$URL" "$i"; done >"$WORK/ten.txt"
for i in $(seq 0 999); do printf 'GET %s/t/%d\n\n' "$URL" "$i"; done >"$WORK/thousand.txt"
{ echo id; seq 1 1000; } >"$WORK/ids.csv"

"$SHARED/server.sh" start >/dev/null
run() { TAG=$1 "$SHARED/measure.sh" "$1-$2" -- "${@:3}" >/dev/null; }
common=(--rps max -c 50 --threads 1 -d 5 -q)
for rep in $(seq 1 "$REPS"); do
    run one "$rep" "$VOLLEY" "$URL/t/0" "${common[@]}"
    run ten "$rep" "$VOLLEY" --targets "$WORK/ten.txt" "${common[@]}"
    run templated "$rep" "$VOLLEY" "$URL/item/{{seq}}" -m POST --body '{"id":{{row.id}}}' \
        --data "$WORK/ids.csv" "${common[@]}"
    run thousand "$rep" "$VOLLEY" --targets "$WORK/thousand.txt" "${common[@]}"
    run wrk "$rep" wrk -t1 -c50 -d5s "$URL/t/0"
done
cat "$RESULTS"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r[0], []).append((float(r[4]), int(r[8])))
base = statistics.median(c for c, _ in by["one"])
print("\nscenario    CPU us/req (median)  vs one   peak RSS KiB (max)")
for tag in ["one", "ten", "templated", "thousand", "wrk"]:
    if tag in by:
        cpu = statistics.median(c for c, _ in by[tag])
        rss = max(r for _, r in by[tag])
        print(f"{tag:<11} {cpu:>19.2f}  {cpu / base:>6.3f}   {rss:>10}")
PY
