#!/usr/bin/env bash
# The Linux packages users install: the .deb and .rpm bundled by Tauri from the app built by the
# test run (debug profile, to reuse that build: the release workflow builds release ones), their
# metadata, desktop entry and icons checked, then the .deb installed with apt, the installed app
# started under Xvfb and driven far enough to show its embedded server's address, and removed.
# AppImage is tried too: Tauri downloads its AppImage tools from GitHub, which this machine
# cannot reach, so a failure to download is reported, not fatal.
# Called by scripts/test-all.sh after the tests (which build target/debug/duplex-app); needs root
# or sudo for apt, rpm (to read the .rpm), xvfb, tauri-driver and WebKitWebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/linux-packages
mkdir -p "$OUT"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
fail() { echo "FAILED: $*" >&2; exit 1; }

[[ -x target/debug/duplex-app ]] || cargo build --locked -p duplex-app --quiet
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
(cd ui && npm run --silent tauri bundle -- --debug --bundles deb,rpm) >"$OUT/bundle.log" 2>&1 \
  || { cat "$OUT/bundle.log" >&2; fail "tauri bundle (deb, rpm)"; }
deb=target/debug/bundle/deb/Duplex_${version}_amd64.deb
rpm=target/debug/bundle/rpm/Duplex-${version}-1.x86_64.rpm
[[ -f $deb && -f $rpm ]] || fail "no $deb or $rpm"
echo "bundled $deb and $rpm"
if (cd ui && npm run --silent tauri bundle -- --debug --bundles appimage) >"$OUT/appimage.log" 2>&1; then
  echo "bundled the AppImage too"
elif grep -q "Downloading https://github.com" "$OUT/appimage.log"; then
  echo "AppImage: not built here: Tauri downloads its AppImage tools from GitHub, which this machine cannot reach (the release workflow builds it)"
else
  cat "$OUT/appimage.log" >&2
  fail "AppImage bundling failed for another reason"
fi

echo "-- metadata"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == duplex && $(field Version) == "$version" ]] || fail "package name/version: $(field Package) $(field Version)"
[[ $(field Section) == devel ]] || fail "section: $(field Section)"
field Description | grep -q "WebSocket" || fail "description"
field Depends | grep -q "libwebkit2gtk-4.1-0" || fail "depends: $(field Depends)"
rpm -qip "$rpm" >"$OUT/rpm-info.txt" 2>/dev/null || fail "rpm cannot read $rpm"
grep -q "^License *: MIT OR Apache-2.0" "$OUT/rpm-info.txt" || fail "rpm licence"
grep -q "^Version *: $version" "$OUT/rpm-info.txt" || fail "rpm version"
echo "deb: $(field Package) $(field Version), section $(field Section), depends $(field Depends)"
echo "rpm: $(grep -E '^(Name|Version|License) ' "$OUT/rpm-info.txt" | tr -s ' ' | tr '\n' ';')"

echo "-- install with apt"
$sudo apt-get remove -y -qq duplex >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "./$deb" >"$OUT/install.log" 2>&1 \
  || { cat "$OUT/install.log" >&2; fail "apt-get install ./$deb"; }
trap '$sudo apt-get remove -y -qq duplex >/dev/null 2>&1 || true' EXIT
installed=/usr/bin/duplex-app
[[ -x $installed ]] || fail "$installed not installed"
desktop=/usr/share/applications/Duplex.desktop
for line in "Name=Duplex" "Exec=duplex-app" "Icon=duplex-app" "Categories=Development;" "Type=Application" "Terminal=false"; do
  grep -qx "$line" "$desktop" || fail "$desktop lacks $line"
done
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop"; fi
for size in 32 64 128 256 512; do
  icon=/usr/share/icons/hicolor/${size}x${size}/apps/duplex-app.png
  [[ -f $icon ]] || fail "no ${size}px icon ($icon)"
  [[ $(identify -format '%wx%h' "$icon") == "${size}x${size}" ]] || fail "$icon is $(identify -format '%wx%h' "$icon")"
done
# hicolor directories are <size>x<size> or <size>x<size>@<scale>: no other name is looked up.
stray=$(dpkg -L duplex | grep '^/usr/share/icons/hicolor/[^/]*$' | grep -vE '/[0-9]+x[0-9]+(@[0-9]+)?$' || true)
[[ -z $stray ]] || fail "icon folders outside the hicolor layout: $stray"
grep -q "^License: MIT or Apache-2.0" /usr/share/doc/duplex/copyright || fail "no copyright file"
echo "installed: $installed, $desktop, icons 32-512 px, /usr/share/doc/duplex/copyright"

echo "-- the installed app, started under Xvfb"
DUPLEX_INSTALLED_APP=$installed DUPLEX_SCREENSHOT="$PWD/$OUT/installed-app.png" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test --workspace --locked --test e2e -- --ignored --exact \
  the_installed_package_opens_with_its_embedded_server_running 2>&1 | tail -n 3
[[ -s $OUT/installed-app.png ]] || fail "the installed app was not seen"
echo "the installed app showed its embedded server ($OUT/installed-app.png)"

$sudo apt-get remove -y -qq duplex >"$OUT/remove.log" 2>&1 || fail "apt-get remove duplex"
trap - EXIT
[[ ! -e $installed && ! -e $desktop ]] || fail "files left after removal"
echo "removed: no files left"
