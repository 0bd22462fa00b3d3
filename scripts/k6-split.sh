#!/usr/bin/env bash
# k6 as Duplex's distributed engine, proved on one machine: `duplex k6 export` writes a plan as
# a k6 script; k6 runs it whole, then split in two execution segments as two processes at once
# (as the k6-operator splits it over pods); `duplex import --k6` reads the pair back as one run
# and the whole as another. Wanted: both runs complete, with the same counts per transport and
# client, and medians within k6's millisecond.
#
#   bash scripts/k6-split.sh [DUPLEX_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

duplex=${1:-target/release/duplex}
venv=${DUPLEX_PEERS_VENV:-target/peers-venv}
port=${PORT:-9314}
out=target/k6-split
rm -rf "$out" && mkdir -p "$out"
peers_venv "$venv"
[ -x "$duplex" ] || cargo build --release --locked -p duplex-cli --quiet
k6="$venv/bin/k6"

server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve "$out/serve.log" --bind "127.0.0.1:$port"
"$duplex" k6 export -o "$out/duplex-k6.js" --target "127.0.0.1:$port" --sets 5 --calls 100 --concurrency 4 --warmup 10
sequence=0,1/2,1
"$k6" run --quiet --no-color --out "json=$out/whole.json" "$out/duplex-k6.js" > "$out/whole.log" 2>&1
"$k6" run --quiet --no-color --execution-segment 0:1/2 --execution-segment-sequence $sequence \
  --out "json=$out/segment-1.json" "$out/duplex-k6.js" > "$out/segment-1.log" 2>&1 &
first=$!
"$k6" run --quiet --no-color --execution-segment 1/2:1 --execution-segment-sequence $sequence \
  --out "json=$out/segment-2.json" "$out/duplex-k6.js" > "$out/segment-2.log" 2>&1
wait $first

export DUPLEX_DATA_DIR="$out/data"
"$duplex" import --k6 "$out/segment-1.json" "$out/segment-2.json"
"$duplex" import --k6 "$out/whole.json"
"$duplex" history --json > "$out/history.json"
python3 - "$out/history.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 2, runs
print("\n".join(f"  {r['platform']}: {r['status']}, {r['samples']} calls" for r in runs))
assert all(r["status"] == "complete" for r in runs), runs
assert runs[0]["samples"] == runs[1]["samples"] == 5 * 100 * 4 * 2, runs
PY
ids=$("$duplex" history --json | python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)["runs"]))')
# shellcheck disable=SC2086 # two run ids
"$duplex" compare $ids --by run --json > "$out/compare.json"
python3 - "$out/compare.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
cells = {}
for cell in c["cells"]:
    cells.setdefault((cell["transport"], cell["client"]), []).append(cell["summary"])
for (transport, client), (a, b) in cells.items():
    print(f"  {transport} ({client}): {a['count']} and {b['count']} calls, medians {a['p50_us'] / 1e3:.1f} and {b['p50_us'] / 1e3:.1f} ms")
    assert a["count"] == b["count"], (transport, a["count"], b["count"])
    assert abs(a["p50_us"] - b["p50_us"]) <= 1000, (transport, a["p50_us"], b["p50_us"])
print("k6 split in two execution segments reads back as the whole test: same counts, medians within k6's 1 ms")
PY
