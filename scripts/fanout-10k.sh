#!/usr/bin/env bash
# Push fan-out up to ten thousand subscribers: `duplex serve` in its own process ticks (every
# TICK_MS, each tick carrying its CPU time: --tick-cpu) and `duplex fanout --target` subscribes
# 100, 1,000 and 10,000 clients by ws-push, long-poll and SSE (and wt-push, WebTransport, when
# asked: its certificate is trusted by the SHA-256 the server printed), timing each tick's arrival at
# every subscriber. The server in its own process halves the open files each side needs (one
# socket per subscriber), which is what lets 10,000 fit under a 20,000 hard limit; in one
# process (`duplex fanout` alone) the server's thread CPU is read around each broadcast instead.
#
#   bash scripts/fanout-10k.sh
#   SUBSCRIBERS=100,1000 BROADCASTS=5 TICK_MS=500 bash scripts/fanout-10k.sh
#   SUBSCRIBERS=10000 TRANSPORTS=ws-push bash scripts/fanout-10k.sh   # memory per held ws-push socket
#   TRANSPORTS=ws-push,wt-push bash scripts/fanout-10k.sh               # WebSocket against WebTransport
#
# It also prints the server's resident memory before the subscribers and at its peak, over the
# most subscribers: with one transport, the memory per held connection of that transport.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

SUBSCRIBERS=${SUBSCRIBERS:-100,1000,10000}
BROADCASTS=${BROADCASTS:-10}
TRANSPORTS=${TRANSPORTS:-ws-push,long-poll,sse}
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

# What the server printed: its certificate's SHA-256, for wt-push (QUIC is always TLS).
fingerprint=$(grep -o 'SHA-256 [0-9A-F:]*' /tmp/duplex-fanout-serve.log | head -1 | cut -d' ' -f2)
before=$(rss_kib "$server")
sample_rss "$server" /tmp/duplex-fanout-rss.log &
"$duplex" fanout --target "ws://127.0.0.1:$PORT" --subscribers "$SUBSCRIBERS" --transports "$TRANSPORTS" \
  --broadcasts "$BROADCASTS" --timeout-ms $((TICK_MS * 10 + 20000)) --fingerprint "$fingerprint"
peak=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' /tmp/duplex-fanout-rss.log)
awk -v b="$before" -v p="$peak" -v n="$largest" -v t="$TRANSPORTS" 'BEGIN {
  printf "server resident memory: %.1f MiB before, %.1f MiB at its peak: %.1f KiB per subscriber at %d (%s)\n",
    b / 1024, p / 1024, (p - b) / n, n, t }'
