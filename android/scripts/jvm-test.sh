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

# A real server on loopback, with one case, a talent code and a family code.
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
server="$CARGO_TARGET_DIR/debug/passage-server"
"$server" serve --data "$work/server" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
addr="$(sed -n 's/^listening on //p' "$work/serve.out")"
test -n "$addr" || { cat "$work/serve.err" >&2; exit 1; }
admin() { "$server" --data "$work/server" "$@"; }
code_of() { awk '/^enrolment code:/ {print $3}'; }
admin caseworker add "Amira Khoury" >/dev/null
case_id="$(admin case create --template be --talent "Rana Haddad" --employer "AZ Sint-Jan Brugge" \
  --job "Registered nurse" --caseworker "Amira Khoury")"
export PASSAGE_TEST_SERVER_URL="http://$addr"
export PASSAGE_TEST_CASE_ID="$case_id"
PASSAGE_TEST_TALENT_CODE="$(admin enrol talent "$case_id" --server "$PASSAGE_TEST_SERVER_URL" | code_of)"
PASSAGE_TEST_FAMILY_CODE="$(admin enrol family "$case_id" --expires-in 30d | code_of)"
# Two more devices of the caseworker, for the conflict test.
PASSAGE_TEST_CASEWORKER_CODES="$(admin enrol caseworker "Amira Khoury" --server "$PASSAGE_TEST_SERVER_URL" | code_of) \
$(admin enrol caseworker "Amira Khoury" --server "$PASSAGE_TEST_SERVER_URL" | code_of)"
export PASSAGE_TEST_TALENT_CODE PASSAGE_TEST_FAMILY_CODE PASSAGE_TEST_CASEWORKER_CODES

tests=()
for f in "$android"/src/test/kotlin/org/passage/*Test.kt; do
  tests+=("org.passage.$(basename "$f" .kt)")
done
run_java org.junit.runner.JUnitCore "${tests[@]}"
