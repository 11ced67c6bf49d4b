#!/usr/bin/env bash
# Generates the Swift bindings of passage-ffi with the pinned generator
# (bindings/uniffi-bindgen, same uniffi version as the library; `cargo uniffi-bindgen`
# is the alias in .cargo/config.toml), and puts them where the package and the
# XCFramework script expect them:
#
#   ios/Sources/PassageFFI/PassageFFI.swift   the generated Swift (git-ignored)
#   ios/build/include/PassageFFIC.h            the C header of the Rust library
#   ios/build/include/module.modulemap         its module map (`module PassageFFIC`)
#
# Runs on Linux and macOS; CI (Linux) runs it to check that generation works. By
# default it builds passage-ffi for the host (debug) and reads the interface from that
# library: the interface is the same for every target. `--library PATH` reads an
# already built libpassage_ffi.{so,dylib} instead (scripts/build-xcframework.sh passes
# its macOS release build, to build nothing twice).
#
# Usage: scripts/generate-bindings.sh [--library PATH]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ios="$(dirname "$here")"
repo="$(dirname "$ios")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"

library=""
while [ $# -gt 0 ]; do
  case "$1" in
    --library)
      [ $# -ge 2 ] || { echo "generate-bindings.sh: --library needs a path" >&2; exit 2; }
      library="$2"
      shift 2
      ;;
    -h|--help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "generate-bindings.sh: unknown argument: $1 (see --help)" >&2
      exit 2
      ;;
  esac
done

cd "$repo"

if [ -z "$library" ]; then
  case "$(uname -s)" in
    Darwin) ext=dylib ;;
    *) ext=so ;;
  esac
  echo "generate-bindings.sh: building passage-ffi for this machine (debug)" >&2
  bash "$repo/scripts/build-host.sh"
  library="$CARGO_TARGET_DIR/debug/libpassage_ffi.$ext"
fi
[ -f "$library" ] || { echo "generate-bindings.sh: no library at $library" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# --no-format: the output is the same with or without swiftformat installed.
# The pinned generator, as scripts/build-host.sh builds it (the same invocation as the
# library's, so nothing is built twice).
bash "$repo/scripts/build-host.sh"
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --library "$library" --language swift --out-dir "$out" --no-format

for f in PassageFFI.swift PassageFFIC.h PassageFFIC.modulemap; do
  [ -s "$out/$f" ] || { echo "generate-bindings.sh: the generator wrote no $f (bindings/uniffi.toml changed?)" >&2; exit 1; }
done
grep -q '^open class Store' "$out/PassageFFI.swift" \
  || { echo "generate-bindings.sh: PassageFFI.swift has no Store class" >&2; exit 1; }

mkdir -p "$ios/Sources/PassageFFI" "$ios/build/include"
rm -f "$ios/build/include/"*
cp "$out/PassageFFI.swift" "$ios/Sources/PassageFFI/PassageFFI.swift"
cp "$out/PassageFFIC.h" "$ios/build/include/PassageFFIC.h"
# In an XCFramework the module map must be called module.modulemap, or Swift silently
# cannot import the module (uniffi-rs PR 1473). Its `use "_Builtin_stdbool"` and
# `use "_Builtin_stdint"` lines name Clang builtin modules that Xcode 26 no longer
# provides on its own, which makes `canImport(PassageFFIC)` false and the generated
# Swift fail with "cannot find type 'RustBuffer'" (uniffi-rs issue 2917). They only
# matter under -fmodules-decluse, which nothing here uses: they are dropped. Set
# PASSAGE_KEEP_BUILTIN_USES=1 to keep the generator's module map as it is.
if [ "${PASSAGE_KEEP_BUILTIN_USES:-0}" = 1 ]; then
  cp "$out/PassageFFIC.modulemap" "$ios/build/include/module.modulemap"
else
  grep -v '^[[:space:]]*use "_Builtin_' "$out/PassageFFIC.modulemap" >"$ios/build/include/module.modulemap"
fi
grep -q '^module PassageFFIC' "$ios/build/include/module.modulemap" \
  || { echo "generate-bindings.sh: the module map does not define PassageFFIC" >&2; exit 1; }

echo "generate-bindings.sh: wrote" >&2
echo "  ${ios#"$repo"/}/Sources/PassageFFI/PassageFFI.swift" >&2
echo "  ${ios#"$repo"/}/build/include/PassageFFIC.h" >&2
echo "  ${ios#"$repo"/}/build/include/module.modulemap" >&2
