#!/usr/bin/env bash
# macOS, as far as a Linux machine allows: the whole workspace (engine, CLI, app with its
# WKWebView glue, the battery plugin) type-checked and linted for Apple silicon and Intel Macs.
# No macOS SDK can be had here, so C code is not compiled: scripts/check-cc/cc stands in for the
# C compiler and writes empty objects, and nothing is linked. Only the Rust is checked, including
# the code that exists on macOS alone (the battery through starship-battery, sysinfo's IOKit).
# Called by scripts/test-all.sh; needs clang and llvm (llvm-ar).
set -euo pipefail
cd "$(dirname "$0")/.."
cc="$PWD/scripts/check-cc/cc"
for target in aarch64-apple-darwin x86_64-apple-darwin; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >/dev/null
  var=${target//-/_}
  echo "-- $target: cargo clippy --workspace -D warnings (C compiled for checking only: nothing linked)"
  env "CC_$var=$cc" "CXX_$var=$cc" "AR_$var=llvm-ar" \
    cargo clippy --workspace --target "$target" --locked --quiet -- -D warnings
  echo "$target: the workspace type-checks and lints clean"
done
