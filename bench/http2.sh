#!/usr/bin/env bash
# HTTP/2 (SPEC §11) beside h2load and oha, in one interleaved run against a
# private nginx speaking h2c (and HTTP/1.1 on a second port, for the paced
# comparison):
#
#   bench/http2.sh [REPS]          (from the repository root, after
#                                   cargo build --release; default 3 reps)
#
# nginx on CPU 1, the client on CPU 0, 5 s per run, measured by
# ../shared/bench/measure.sh (CPU µs per request nginx served, peak RSS):
#   volley-max   volley --http2 --rps max -c 100 --connections 1 --threads 1
#   h2load       h2load -c1 -m100 -t1 (Debian's nghttp2-client)
#   oha          oha --http2 -c 1 -p 100 (if oha is installed)
#   volley-10k   volley --http2 at 10,000 req/s, 100 users, one connection
#   h1-10k       volley over HTTP/1.1 at 10,000 req/s, 100 users
# Prints the rows, then medians: CPU µs/req and volley's ratio to each peer
# unthrottled; achieved/target and send lag p50 (from volley's JSON) at
# 10,000 req/s for HTTP/2 and HTTP/1.1; peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
REPS=${1:-3}
VOLLEY=${VOLLEY:-target/release/volley}
WORK=$(mktemp -d)
H2_PORT=18090 STATUS_PORT=18091 H1_PORT=18092
NGX=$WORK/nginx
mkdir -p "$NGX/tmp"
cat >"$NGX/nginx.conf" <<EOF
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  http2_max_concurrent_streams 128;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  default_type text/plain;
  server { listen 127.0.0.1:$H2_PORT http2; location / { return 200 "hello\n"; } }
  server { listen 127.0.0.1:$H1_PORT; location / { return 200 "hello\n"; } }
  server { listen 127.0.0.1:$STATUS_PORT; location = /nginx_status { stub_status; } }
}
EOF
stop() {
    if [[ -s $NGX/nginx.pid ]]; then
        kill -QUIT "$(cat "$NGX/nginx.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    rm -rf "$WORK"
}
trap stop EXIT
nginx -t -q -c "$NGX/nginx.conf"
taskset -c 1 nginx -c "$NGX/nginx.conf"
sleep 0.5

export RESULTS="$WORK/results.tsv" OUT_DIR="$WORK/out" DURATION=5 TIMEOUT=30
export STATUS_URL=http://127.0.0.1:$STATUS_PORT/nginx_status
H2=http://127.0.0.1:$H2_PORT/
H1=http://127.0.0.1:$H1_PORT/
run() { TAG=$1 "$SHARED/measure.sh" "$1-$2" -- "${@:3}" >/dev/null; }
paced() { TAG=$1 TARGET=10000 "$SHARED/measure.sh" "$1-$2" -- "${@:3}" >/dev/null; }
OHA=$(command -v oha || true)
for rep in $(seq 1 "$REPS"); do
    run volley-max "$rep" "$VOLLEY" "$H2" --http2 --rps max -c 100 --connections 1 --threads 1 -d 5 -q
    run h2load "$rep" h2load -c1 -m100 -t1 -D 5 "$H2"
    if [[ -n $OHA ]]; then
        run oha "$rep" "$OHA" --http2 -c 1 -p 100 -z 5s --no-tui "$H2"
    fi
    paced volley-10k "$rep" "$VOLLEY" "$H2" --http2 --rps 10000 -c 100 --connections 1 --threads 1 -d 5 -o json
    paced h1-10k "$rep" "$VOLLEY" "$H1" --rps 10000 -c 100 --threads 1 -d 5 -o json
done
cat "$RESULTS"
python3 - "$RESULTS" "$OUT_DIR" <<'PY'
import json, statistics, sys, pathlib
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r[0], []).append(r)
med = lambda tag, i: statistics.median(float(r[i]) for r in by[tag])
print("\nscenario     CPU us/req  req/s      accuracy  peak RSS KiB (max)")
for tag in ["volley-max", "h2load", "oha", "volley-10k", "h1-10k"]:
    if tag in by:
        acc = statistics.median(float(r[9]) for r in by[tag]) if by[tag][0][9] else float("nan")
        rss = max(int(r[8]) for r in by[tag])
        print(f"{tag:<12} {med(tag, 4):>10.2f}  {med(tag, 3):>9.0f}  {acc:>8.4f}  {rss:>10}")
v = med("volley-max", 4)
for peer in ["h2load", "oha"]:
    if peer in by:
        print(f"volley --http2 / {peer}: {v / med(peer, 4):.3f}")
out = pathlib.Path(sys.argv[2])
for tag in ["volley-10k", "h1-10k"]:
    lags = []
    for f in sorted(out.glob(f"{tag}-*.txt")):
        text = f.read_text()
        doc = json.JSONDecoder().raw_decode(text[text.index("{"):])[0]
        lags.append(doc["send_lag_us"]["p50"])
    if lags:
        print(f"{tag}: send lag p50 (median of runs) {statistics.median(lags)} us")
PY
