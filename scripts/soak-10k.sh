#!/usr/bin/env bash
# Ten thousand WebSockets and 200 HTTP clients for a minute against `duplex serve` in its own
# process: errors, the time to open every connection, and the server's memory per connection
# (its resident memory with everyone connected, minus before, over the connections).
#
#   bash scripts/soak-10k.sh                 # 10,000 ws + 200 http, 60 s
#   WS=2000 HTTP=50 DURATION=20 bash scripts/soak-10k.sh
#
# Needs an open-file limit of about 10,300 per process (each side holds one socket per
# client); `duplex` raises its soft limit to the hard one and says so when even that is short.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

WS=${WS:-10000}
HTTP=${HTTP:-200}
DURATION=${DURATION:-60}
RATE=${RATE:-0.1}
PORT=${PORT:-9311}
room=$((WS + HTTP + 500))

cargo build --release --locked -p duplex-cli --quiet
duplex=target/release/duplex

server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve /tmp/duplex-soak-serve.log --bind "127.0.0.1:$PORT" --max-connections "$room" \
  --max-connections-per-peer "$room"
before=$(rss_kib "$server")
echo "server pid $server, resident memory before: $((before / 1024)) MiB"

# Samples the server's memory every second while the soak runs.
sample_rss "$server" /tmp/duplex-soak-rss.log &
sampler=$!

"$duplex" soak --target "ws://127.0.0.1:$PORT" --ws "$WS" --http "$HTTP" --seconds "$DURATION" \
  --rate "$RATE" --json > /tmp/duplex-soak.json
kill "$sampler" 2>/dev/null || true

python3 - "$before" "$((WS + HTTP))" <<'EOF'
import json, sys
before_kib, clients = int(sys.argv[1]), int(sys.argv[2])
report = json.load(open("/tmp/duplex-soak.json"))
samples = [int(line.split()[1]) for line in open("/tmp/duplex-soak-rss.log") if len(line.split()) == 2]
peak = max(samples)
# With everyone connected: a sample a second, from a few seconds after the ramp.
held = samples[int(report["ramp_s"]) + 3:] or samples
client_mem = report.get("memory") or {}
print(f"soak: {report['verdict']}")
print(f"opened every connection in {report['ramp_s']:.1f} s; steady for {report['steady_s']:.0f} s")
for t in report["transports"]:
    print(f"  {t['transport']}: {t['clients']} clients, {t['messages']} messages, {t['errors']} errors, "
          f"p50 {t['p50_us'] / 1e3:.2f} ms, p99 {t['p99_us'] / 1e3:.2f} ms")
if client_mem:
    print(f"client process memory: {client_mem['start_bytes'] / 2**20:.1f} -> {client_mem['end_bytes'] / 2**20:.1f} MiB "
          f"(growth {client_mem['growth'] * 100:.1f} %)")
print(f"server resident memory: before {before_kib / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
      f"first/last while held {held[0] / 1024:.1f} / {held[-1] / 1024:.1f} MiB")
print(f"server memory per connection: {(peak - before_kib) * 1024 / clients / 1024:.1f} KiB "
      f"({clients} connections; aim at most 8 KiB)")
if client_mem:
    print(f"client memory per connection: {client_mem['end_bytes'] / clients / 1024:.1f} KiB "
          f"(the whole client process over its {clients} connections; aim at most 8 KiB)")
flat = held[-1] <= held[0] * 1.10
print(f"server memory {'flat' if flat else 'NOT flat'} while held (at most +10 %)")
sys.exit(0 if report.get("ok") and flat else 1)
EOF
