#!/usr/bin/env bash
# Runs the Kotlin wrapper's tests on the JVM against the host-built library, without
# Gradle or an Android SDK (neither is on the CI machines): builds passage-ffi and the
# server, generates the Kotlin bindings with the pinned generator, compiles the
# generated code, the wrapper (src/main) and the tests (src/test) with kotlinc, starts
# a real passage-server on loopback for the enrolment and sync tests, and runs JUnit.
#
#   android/scripts/jvm-test.sh            the tests (debug build of the library)
#   android/scripts/jvm-test.sh --bench    the binding benchmark instead (release build)
set -euo pipefail
android="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$android/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"
mode="test"
if [ "${1:-}" = "--bench" ]; then mode="bench"; fi

bash "$android/scripts/install-jvm-tools.sh"
kotlin_lib="$root/.tools/kotlin/node_modules/kotlin-compiler/lib"
kotlinc="$root/.tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc"

bash "$root/scripts/build-host.sh"
if [ "$mode" = "bench" ]; then
  cargo build -q --release --locked -p passage-ffi --features bench
  lib_dir="$CARGO_TARGET_DIR/release"
else
  lib_dir="$CARGO_TARGET_DIR/debug"
fi
# The pinned generator (bindings/uniffi-bindgen), as built by build-host.sh.
bindgen="$CARGO_TARGET_DIR/debug/uniffi-bindgen"
build="$android/build/jvm"
rm -rf "$build/generated" "$build/classes"
mkdir -p "$build/generated" "$build/classes"
"$bindgen" generate --library "$lib_dir/libpassage_ffi.so" --language kotlin \
  --out-dir "$build/generated" --no-format >/dev/null

classpath="$kotlin_lib/kotlin-stdlib.jar:$kotlin_lib/kotlinx-coroutines-core-jvm.jar:$kotlin_lib/kotlin-test.jar:$kotlin_lib/kotlin-test-junit.jar:/usr/share/java/jna.jar:/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar"
sources=("$build/generated" "$android/src/main/kotlin")
if [ "$mode" = "bench" ]; then sources+=("$android/src/bench/kotlin"); else sources+=("$android/src/test/kotlin"); fi
echo "kotlinc: compiling the generated bindings, the wrapper and the ${mode} code" >&2
JAVA_OPTS="-Xss8m" "$kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -d "$build/classes" "${sources[@]}" 2>&1 |
  grep -v '^warning' >&2 || true
test -f "$build/classes/org/passage/PassageStore.class" || { echo "kotlinc failed" >&2; exit 1; }

# A fixed, pre-touched heap: the JVM's own heap growth then never shows in the
# process's resident memory, so the memory test measures what the library keeps.
run_java() {
  java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Djna.library.path="$lib_dir" \
    -cp "$build/classes:$classpath" "$@"
}

if [ "$mode" = "bench" ]; then
  run_java org.passage.BindingBenchKt
  exit 0
fi

# A real server on loopback, with one case and the enrolment codes the tests use.
work="$(mktemp -d)"
cleanup() {
  if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
bash "$root/scripts/start-test-server.sh" "$work"
# shellcheck source=/dev/null
source "$work/env"

tests=()
for f in "$android"/src/test/kotlin/org/passage/*Test.kt; do
  tests+=("org.passage.$(basename "$f" .kt)")
done
run_java org.junit.runner.JUnitCore "${tests[@]}"
