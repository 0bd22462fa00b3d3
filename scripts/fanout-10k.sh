#!/usr/bin/env bash
# Push fan-out up to ten thousand subscribers: `duplex serve` in its own process ticks (every
# TICK_MS, each tick carrying its CPU time: --tick-cpu) and `duplex fanout --target` subscribes
# 100, 1,000 and 10,000 clients by ws-push, long-poll and SSE, timing each tick's arrival at
# every subscriber. The server in its own process halves the open files each side needs (one
# socket per subscriber), which is what lets 10,000 fit under a 20,000 hard limit; in one
# process (`duplex fanout` alone) the server's thread CPU is read around each broadcast instead.
#
#   bash scripts/fanout-10k.sh
#   SUBSCRIBERS=100,1000 BROADCASTS=5 TICK_MS=500 bash scripts/fanout-10k.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

SUBSCRIBERS=${SUBSCRIBERS:-100,1000,10000}
BROADCASTS=${BROADCASTS:-10}
TICK_MS=${TICK_MS:-3000}
PORT=${PORT:-9314}
largest=$(tr ',' '\n' <<< "$SUBSCRIBERS" | sort -n | tail -1)
room=$((largest + 500))

cargo build --release --locked -p duplex-cli --quiet
duplex=target/release/duplex

server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve /tmp/duplex-fanout-serve.log --bind "127.0.0.1:$PORT" --tick-ms "$TICK_MS" --tick-cpu \
  --max-connections "$room" --max-connections-per-peer "$room" --max-long-polls "$room"

"$duplex" fanout --target "ws://127.0.0.1:$PORT" --subscribers "$SUBSCRIBERS" --broadcasts "$BROADCASTS" \
  --timeout-ms $((TICK_MS * 10 + 20000))
