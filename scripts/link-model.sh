#!/usr/bin/env bash
# The link's model against the measured medians, on every bandwidth-limited profile and a custom
# link, for messages of 16 B to 1 MiB: one payload sweep per link (release build), then one
# table of median / model per transport and size. The model is the relay's own arithmetic; a
# ratio far from 1.00 is not the link's.
#
#   bash scripts/link-model.sh                      # about 40 minutes (3g-slow's 1 MiB alone: 15)
#   LINKS="4g satellite" SIZES=16,64k bash scripts/link-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LINKS=${LINKS:-"3g-slow 3g 4g satellite rtt=40ms,down=8mbit,up=2mbit"}
SIZES=${SIZES:-16,1k,16k,64k,256k,1m}
TRANSPORTS=${TRANSPORTS:-ws,http,http-new,https,https-new}
out=target/link-model
rm -rf "$out"
mkdir -p "$out"
cargo build --release --locked -p duplex-cli --quiet
duplex=target/release/duplex

pids=()
for link in $LINKS; do
  # Each sweep waits on its link most of the time: they run side by side.
  dir="$out/$(tr -c 'a-zA-Z0-9\n-' _ <<< "$link")"
  mkdir -p "$dir"
  "$duplex" bench --link "$link" --sweep "payload=$SIZES" -t "$TRANSPORTS" -s 1 -n 3 --warmup 1 \
    --timeout-ms 300000 --power-ms 0 --no-history --csv "$dir" > "$dir/stdout.txt" 2> "$dir/stderr.txt" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

python3 - "$out" <<'EOF'
import csv, glob, os, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*", "sweep-*.csv"))):
    rows += list(csv.DictReader(open(path)))
sizes = sorted({int(r["payload_bytes"]) for r in rows})
def size(n):
    return f"{n // 1048576} MiB" if n >= 1048576 else f"{n // 1024} KiB" if n >= 1024 else f"{n} B"
print("| link | transport | " + " | ".join(size(n) for n in sizes) + " |")
print("|---|---|" + "---|" * len(sizes))
worst = 0.0
links = []
for r in rows:
    if r["link"] not in links:
        links.append(r["link"])
for link in links:
    for transport in dict.fromkeys(r["transport"] for r in rows if r["link"] == link):
        cells = []
        for n in sizes:
            r = next((r for r in rows if r["link"] == link and r["transport"] == transport and int(r["payload_bytes"]) == n), None)
            if r is None or not r["link_model_us"]:
                cells.append("–")
                continue
            median, model = float(r["p50_us"]), float(r["link_model_us"])
            worst = max(worst, abs(median / model - 1))
            cells.append(f"{median / 1e3:,.0f} / {model / 1e3:,.0f} ms")
        print(f"| {link} | {transport} | " + " | ".join(cells) + " |")
print(f"\nmedian / model, each cell; the farthest from the model: {worst * 100:.1f} %")
EOF
