#!/usr/bin/env bash
# Runs every check and test of Duplex: the README's test command; .ci/run calls it.
# On a fresh Debian/Ubuntu machine it first installs what the desktop app's build and its
# end-to-end test need (Debian packages, tauri-driver, the UI's npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(build-essential pkg-config curl wget file libssl-dev libwebkit2gtk-4.1-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver chromium python3-websockets
  clang llvm libc6-dev-arm64-cross)

echo "== prerequisites"
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs), then re-run" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'; then
  echo "Node.js 20.19 or newer is needed for the UI (Vite 8): https://nodejs.org or your distribution" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  echo "installing tauri-driver"
  cargo install tauri-driver --locked --version 2.1.0 --quiet
fi

echo "== UI: install, type-check, build, unit tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && NO_COLOR=1 npx vitest run) 2>&1 | tee -a "$log"

echo "== format"
cargo fmt --all --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== Android: the workspace checked for aarch64-linux-android (no NDK here: C code is compiled"
echo "   with clang against the arm64 glibc headers, for checking only; nothing is linked)"
if rustup target list --installed 2>/dev/null | grep -qx aarch64-linux-android \
  || rustup target add aarch64-linux-android >/dev/null 2>&1; then
  CC_aarch64_linux_android=clang AR_aarch64_linux_android=llvm-ar \
    CFLAGS_aarch64_linux_android="--target=aarch64-linux-android24 -isystem /usr/aarch64-linux-gnu/include" \
    cargo clippy --workspace --target aarch64-linux-android --locked -- -D warnings
else
  echo "   SKIPPED: the aarch64-linux-android Rust target cannot be installed here (no access to the"
  echo "   Rust distribution server); install it with rustup to run this check"
fi
echo "== tests (the app's end-to-end test runs under Xvfb; browser join under headless Chromium)"
# Here the browser-join and interoperability tests have their browser, built UI, curl and
# python3-websockets: they must not skip.
export DUPLEX_REQUIRE_EXTERNAL=1
xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked 2>&1 | tee -a "$log"
# One total over every test binary and the UI's tests.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^ +Tests +[0-9]+/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "passed") p += $i; if ($(i+1) == "failed") f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
