#!/usr/bin/env bash
# Builds ios/build/PassageFFIC.xcframework: passage-ffi as a static library for
#
#   iOS devices        aarch64-apple-ios
#   iOS simulators     aarch64-apple-ios-sim + x86_64-apple-ios      (one lipo-ed library)
#   macOS              aarch64-apple-darwin + x86_64-apple-darwin    (one lipo-ed library)
#
# each with the C header and module.modulemap of the generated bindings, which it
# generates first (scripts/generate-bindings.sh). The macOS slice is what `swift test`
# links on a Mac.
#
# macOS only: it needs Xcode (xcodebuild, lipo, the iOS and macOS SDKs). Elsewhere it
# says so and stops; only scripts/generate-bindings.sh runs on Linux.
#
# Usage: scripts/build-xcframework.sh [--macos-only]
#   --macos-only   only this Mac's architecture, for a quick `swift test`
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ios="$(dirname "$here")"
repo="$(dirname "$ios")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"
# The C parts (SQLite, ring) are compiled for the package's oldest platforms too, so the
# linker does not warn that objects were built for a newer OS than the app.
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

macos_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --macos-only) macos_only=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-xcframework.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(uname -s)" != Darwin ]; then
  echo "build-xcframework.sh: this builds the XCFramework and needs macOS with Xcode" >&2
  echo "(xcodebuild, lipo, the Apple SDKs); this machine runs $(uname -s)." >&2
  echo "On Linux only scripts/generate-bindings.sh runs." >&2
  exit 1
fi

for tool in xcodebuild lipo cargo; do
  command -v "$tool" >/dev/null || { echo "build-xcframework.sh: $tool not found" >&2; exit 1; }
done

case "$(uname -m)" in
  arm64) host_target=aarch64-apple-darwin ;;
  x86_64) host_target=x86_64-apple-darwin ;;
  *) echo "build-xcframework.sh: unknown Mac architecture $(uname -m)" >&2; exit 1 ;;
esac

if [ "$macos_only" = 1 ]; then
  ios_device=()
  ios_simulator=()
  macos=("$host_target")
else
  ios_device=(aarch64-apple-ios)
  ios_simulator=(aarch64-apple-ios-sim x86_64-apple-ios)
  macos=(aarch64-apple-darwin x86_64-apple-darwin)
fi
targets=("${ios_device[@]+"${ios_device[@]}"}" "${ios_simulator[@]+"${ios_simulator[@]}"}" "${macos[@]}")

# The Rust standard library for each target, from the toolchain's own client.
if command -v rustup >/dev/null; then
  installed="$(rustup target list --installed)"
  for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
  done
fi

cd "$repo"
for t in "${targets[@]}"; do
  echo "build-xcframework.sh: cargo build --release for $t" >&2
  cargo build --locked --release --lib -p passage-ffi --target "$t"
done

# Bindings from the macOS release library just built (the interface is the same for
# every target).
"$here/generate-bindings.sh" --library "$CARGO_TARGET_DIR/$host_target/release/libpassage_ffi.dylib"

lib() { echo "$CARGO_TARGET_DIR/$1/release/libpassage_ffi.a"; }
fat="$ios/build/lipo"
rm -rf "$fat"
mkdir -p "$fat/macos"
lipo_into() {
  local out="$1"
  shift
  local inputs=()
  for t in "$@"; do inputs+=("$(lib "$t")"); done
  if [ "${#inputs[@]}" = 1 ]; then
    cp "${inputs[0]}" "$out"
  else
    lipo -create "${inputs[@]}" -output "$out"
  fi
}
lipo_into "$fat/macos/libpassage_ffi.a" "${macos[@]}"
args=(-library "$fat/macos/libpassage_ffi.a" -headers "$ios/build/include")
if [ "$macos_only" = 0 ]; then
  mkdir -p "$fat/ios-simulator"
  lipo_into "$fat/ios-simulator/libpassage_ffi.a" "${ios_simulator[@]}"
  args+=(-library "$(lib aarch64-apple-ios)" -headers "$ios/build/include")
  args+=(-library "$fat/ios-simulator/libpassage_ffi.a" -headers "$ios/build/include")
fi

framework="$ios/build/PassageFFIC.xcframework"
rm -rf "$framework"
xcodebuild -create-xcframework "${args[@]}" -output "$framework"

echo "build-xcframework.sh: wrote ${framework#"$repo"/}" >&2
if [ "$macos_only" = 1 ]; then
  echo "(macOS $host_target only: enough for \`swift test\`, not for an iOS app)" >&2
fi
