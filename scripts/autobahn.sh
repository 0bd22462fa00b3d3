#!/usr/bin/env bash
# The Autobahn TestSuite's cases against Duplex's WebSocket server: kosoku (PyPI: the Autobahn
# case files with a Rust runner) drives `duplex serve`'s plain echo endpoint (/ws/echo: every
# message back unchanged) as its fuzzing client. Every case must be OK, NON-STRICT or
# INFORMATIONAL. Duplex offers no permessage-deflate, so the compression cases (12.*, 13.*)
# are left out, and only they.
#
#   bash scripts/autobahn.sh [DUPLEX_BINARY]     # report in target/autobahn/
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh

duplex=${1:-target/release/duplex}
venv=${DUPLEX_PEERS_VENV:-target/peers-venv}
out=target/autobahn
port=${PORT:-9312}

peers_venv "$venv"
[ -x "$duplex" ] || cargo build --release --locked -p duplex-cli --quiet

# The largest case messages are 16 MiB (9.1.6, 9.2.6): the server takes them.
server=
trap 'kill $server 2>/dev/null || true' EXIT
start_serve "$out.serve.log" --bind "127.0.0.1:$port" --max-message $((17 << 20))

rm -rf "$out"
"$venv/bin/kosoku" -m fuzzingclient -x '12.*' -x '13.*' -p 2 -o "$out" "127.0.0.1:$port/ws/echo" > "$out.log" 2>&1 || true

python3 - "$out" <<'EOF'
import collections, glob, json, os, sys
out = sys.argv[1]
reports = glob.glob(os.path.join(out, "**", "index.json"), recursive=True)
if not reports:
    print(f"no Autobahn report in {out}: see {out}.log")
    print(open(f"{out}.log").read()[-3000:])
    sys.exit(1)
index = json.load(open(reports[0]))
cases = {case: result for agent in index.values() for case, result in agent.items()}
counts = collections.Counter(r["behavior"] for r in cases.values())
close = collections.Counter(r.get("behaviorClose", "") for r in cases.values())
bad = {c: r["behavior"] for c, r in cases.items() if r["behavior"] not in ("OK", "NON-STRICT", "INFORMATIONAL")}
print(f"Autobahn TestSuite via kosoku against /ws/echo: {len(cases)} cases (12.* and 13.*, compression, left out)")
print("  behaviour: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
print("  closing behaviour: " + ", ".join(f"{k or '-'} {v}" for k, v in sorted(close.items())))
if bad:
    print("  not passed: " + ", ".join(f"{c} {b}" for c, b in sorted(bad.items())))
    sys.exit(1)
EOF
