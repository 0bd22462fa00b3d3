#!/usr/bin/env bash
# Windows, as far as a Linux machine allows: Duplex built for x86_64-pc-windows-gnu with mingw-w64
# and run under Wine.
#   1. the engine's crates' and the CLI's tests, run under Wine (cargo's target runner);
#   2. duplex.exe bench beside the Linux build's, on the same plan;
#   3. across the Wine boundary on 127.0.0.1: a Windows server with a Linux client, and back;
#   4. Ctrl-C (SIGINT from here, which Wine turns into CTRL_C_EVENT) cancels duplex.exe's run and
#      keeps its samples;
#   5. the app (duplex-app.exe, Tauri + WebView2) is built, and started under Xvfb: Wine cannot
#      run Microsoft Edge WebView2, so the app must say so in a message box, not crash.
# Called by scripts/test-all.sh; needs Debian's gcc-mingw-w64-x86-64 and wine64, and the Linux
# build of duplex (target/debug/duplex) for part 3.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
WINE=/usr/lib/wine/wine64
OUT=target/windows-check
mkdir -p "$OUT"
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET" >/dev/null
[[ -x $WINE ]] || { echo "Wine is missing: apt-get install wine64" >&2; exit 1; }

# A Wine prefix of our own (never ~/.wine), with the ProcessPrng stand-in that Rust's standard
# library needs and Wine 8 lacks (scripts/wine/bcryptprimitives.c: for testing only).
export WINEPREFIX="$PWD/target/wine-prefix" WINEDEBUG=-all
# A wine server left from an earlier run keeps the X display it started with: start afresh, and
# stop it when done (it would otherwise linger, bound to an Xvfb that is gone).
/usr/lib/wine/wineserver -k 2>/dev/null || true
trap '/usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT
if [[ ! -f $WINEPREFIX/system.reg ]]; then
  "$WINE" wineboot -i >/dev/null 2>&1
fi
x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"

echo "-- 1. engine and CLI tests for $TARGET, run under $("$WINE" --version)"
# DUPLEX_EXPECT_WINE: the tests that check Wine is detected expect it. The interoperability and
# browser tests need Linux programs a Windows process cannot start; they skip, saying why.
DUPLEX_EXPECT_WINE=1 DUPLEX_REQUIRE_EXTERNAL='' \
  cargo test --locked --target "$TARGET" -p duplex-model -p duplex-platform -p duplex-server -p duplex-clients -p duplex-core -p duplex-cli -- --show-output 2>&1 | tee "$OUT/tests.log" \
  | grep -E '^test result:|^skipped|FAILED|panicked|^warning' || true
if grep -q -E '^test result: FAILED|error: test failed' "$OUT/tests.log" || ! grep -q '^test result:' "$OUT/tests.log"; then
  echo "FAILED: the Windows tests under Wine (full log: $OUT/tests.log)" >&2
  exit 1
fi
if grep -q '^warning' "$OUT/tests.log"; then
  grep -A8 '^warning' "$OUT/tests.log" >&2
  echo "FAILED: the Windows build has compiler warnings" >&2
  exit 1
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^skipped/ { s++ }
     END { printf "windows tests under wine: %d passed, %d failed; %d checks skipped (reasons above)\n", p, f, s }' \
  "$OUT/tests.log" | tee "$OUT/count.txt"
echo "(the CLI's Ctrl-C test is Unix-only: a test process cannot send Ctrl-C to one child on Windows; part 4 checks it)"

EXE=target/$TARGET/debug/duplex.exe
LINUX=target/debug/duplex
[[ -x $LINUX ]] || cargo build --locked -p duplex-cli --quiet
wine_exe() { "$WINE" "$EXE" "$@"; }

echo "-- 2. duplex.exe bench next to the Linux build (same plan, same debug profile, this machine)"
plan=(-s 5 -n 200 --warmup 20 --power-ms 0 --no-history)
# A report folder with a space and an accent, as Windows users have them, in Windows' own form.
reports="$OUT/Résultats Windows"
rm -rf "$reports"
wine_exe bench "${plan[@]}" --csv "Z:$(realpath -m "$reports" | tr / '\\')" 2>/dev/null | tee "$OUT/bench-windows.txt"
grep -q "under Wine" "$OUT/bench-windows.txt" || { echo "FAILED: the platform is not recorded as under Wine" >&2; exit 1; }
ls "$reports"/*-samples.csv >/dev/null
"$LINUX" bench "${plan[@]}" --no-csv 2>/dev/null | tee "$OUT/bench-linux.txt" | grep -E '^(transport|ws |http)'

echo "-- 3. across the Wine boundary on 127.0.0.1"
serve_and_wait() { # program...: starts `program serve` as the coprocess SERVER; sets addr
  coproc SERVER { exec "$@" serve --bind 127.0.0.1:0 2>&1; }
  local line
  while read -r line <&"${SERVER[0]}"; do
    if [[ $line == "duplex echo server on "* ]]; then
      addr=${line#duplex echo server on }
      return
    fi
  done
  echo "FAILED: the server did not start" >&2
  exit 1
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}
client_summary() { # json report, label
  python3 - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["run"]["status"] == "complete" and v["run"]["topology"] == "separate-process", v["run"]["status"]
cells = ", ".join(f'{t["transport"]} p50 {t["overall"]["p50_us"]:.0f} µs' for t in v["report"]["transports"])
print(f"{sys.argv[2]}: complete, {cells}")
EOF
}
serve_and_wait "$WINE" "$EXE"
"$LINUX" bench --target "ws://$addr" -s 2 -n 50 --no-csv --no-history --json >"$OUT/linux-client.json"
stop_server
client_summary "$OUT/linux-client.json" "Windows server (Wine), Linux client"
serve_and_wait "$LINUX"
wine_exe bench --target "ws://$addr" -s 2 -n 50 --no-csv --no-history --json >"$OUT/windows-client.json"
stop_server
client_summary "$OUT/windows-client.json" "Linux server, Windows client (Wine)"

echo "-- 4. Ctrl-C cancels duplex.exe's run and keeps its samples"
# The last run's files go first: the redirections below truncate them only once the background
# job has started, and the wait for a progress line must not read the last run's (it did, on a
# warm rerun: Ctrl-C went to a Wine still starting, which left both files empty).
rm -rf "$OUT/cancelled" "$OUT/cancelled.err" "$OUT/cancelled.txt"
wine_exe bench -t ws,http -s 100 -n 1000 --interval-ms 1 --power-ms 0 --no-history \
  --csv "Z:$(realpath -m "$OUT/cancelled" | tr / '\\')" >"$OUT/cancelled.txt" 2>"$OUT/cancelled.err" &
bench=$!
# Its stderr is a file, so it reports progress in plain lines: wait for calls to be measured.
# Wine's first start in a busy CI can take over a minute, so wait up to 5 minutes, and say
# which of the two went wrong if none came: the run ended first, or it never measured.
progressed=no
for _ in $(seq 3000); do
  grep -qE '^[1-9][0-9]*/[0-9]+ calls' "$OUT/cancelled.err" && { progressed=yes; break; }
  kill -0 "$bench" 2>/dev/null || break
  sleep 0.1
done
if [[ $progressed == no ]]; then
  kill -0 "$bench" 2>/dev/null && why="no progress line in 300 s" || why="it ended before measuring"
  echo "FAILED: duplex.exe bench cannot be interrupted mid-run: $why; its stderr:" >&2
  cat "$OUT/cancelled.err" >&2
  exit 1
fi
pkill -INT -f 'duplex.exe bench -t ws,http' || { echo "FAILED: no duplex.exe to interrupt" >&2; exit 1; }
code=0
wait "$bench" || code=$?
if ! grep -q '^cancelling' "$OUT/cancelled.err"; then
  echo "FAILED: no cancelling message (exit code $code); its stderr, then its stdout:" >&2
  cat "$OUT/cancelled.err" "$OUT/cancelled.txt" >&2
  exit 1
fi
((code == 130)) || { echo "FAILED: exit code $code after Ctrl-C, not 130" >&2; exit 1; }
samples=$(($(cat "$OUT"/cancelled/*-samples.csv | wc -l) - 1))
((samples > 0)) || { echo "FAILED: no samples kept after Ctrl-C" >&2; exit 1; }
echo "Ctrl-C: exit 130, cancelled, $samples samples kept in the report"

echo "-- 5. the app for Windows: duplex-app.exe built; started under Wine (no WebView2 there)"
cargo build --locked --target "$TARGET" -p duplex-app --quiet
ls -l "target/$TARGET/debug/duplex-app.exe" | awk '{ printf "built %s (%d MB)\n", $NF, $5 / 1e6 }'
# Under Xvfb: wait for the message box (by its title), photograph it, close the app.
xvfb-run -a -s "-screen 0 1024x600x24" bash -c '
  DUPLEX_DATA_DIR="$1/app-data" "$2" "$3" >"$1/app.log" 2>&1 &
  app=$!
  rm -f "$1/box-seen"
  for _ in $(seq 120); do
    xwininfo -root -tree | grep -q "Duplex needs WebView2" && { touch "$1/box-seen"; break; }
    sleep 0.5
  done
  sleep 1
  import -window root "$1/app-under-wine.png"
  kill $app; wait $app' _ "$OUT" "$WINE" "target/$TARGET/debug/duplex-app.exe" || true
if [[ -f $OUT/box-seen ]] && grep -q "Duplex could not start: Duplex draws its window with Microsoft Edge WebView2" "$OUT/app.log"; then
  echo "app under Wine: says WebView2 is missing, in a message box ($OUT/app-under-wine.png); no crash"
else
  echo "FAILED: the app under Wine did not explain the missing WebView2:" >&2
  cat "$OUT/app.log" >&2
  exit 1
fi
