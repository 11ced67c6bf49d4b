#!/usr/bin/env bash
# Runs the Swift tests with a real passage-server on loopback, so the enrol-and-sync
# tests run instead of skipping. It builds and starts passage-server on a free port with
# a throw-away data directory, creates a caseworker and a Belgian case, issues a talent
# and a family enrolment code for it, and runs the command (default: `swift test` in
# ios/) with the variables android/scripts/jvm-test.sh sets for the Kotlin tests:
#
#   PASSAGE_TEST_SERVER_URL    http://127.0.0.1:PORT
#   PASSAGE_TEST_CASE_ID       the case
#   PASSAGE_TEST_TALENT_CODE   the talent's one-time code (also as PASSAGE_TEST_ENROL_CODE)
#   PASSAGE_TEST_FAMILY_CODE   a family member's code
#   PASSAGE_TEST_CASEWORKER_CODES  two codes for devices of the caseworker, space-separated
#
# The server half runs anywhere; `swift test` needs macOS with Xcode and the
# XCFramework (scripts/build-xcframework.sh). To run the tests from Xcode instead,
# run `scripts/test-with-server.sh -- sleep 3600` and copy the printed variables into
# the test scheme's environment.
#
# Usage: scripts/test-with-server.sh [-- COMMAND [ARGS...]]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ios="$(dirname "$here")"
repo="$(dirname "$ios")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"

if [ $# -gt 0 ]; then
  [ "$1" = -- ] || { echo "usage: scripts/test-with-server.sh [-- COMMAND [ARGS...]]" >&2; exit 2; }
  shift
fi
if [ $# -eq 0 ]; then
  set -- swift test --package-path "$ios"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$repo"
bash "$repo/scripts/build-host.sh"
server="$CARGO_TARGET_DIR/debug/passage-server"
# --data (PASSAGE_SERVER_DATA) rather than XDG_DATA_HOME: macOS keeps data elsewhere.
export PASSAGE_SERVER_DATA="$work/server"

"$server" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
addr="$(sed -n 's/^listening on //p' "$work/serve.out")"
[ -n "$addr" ] || { echo "test-with-server.sh: the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
url="http://$addr"

"$server" caseworker add "Amira Khoury" >/dev/null
case_id="$("$server" case create --template be --talent "Rana Haddad" \
  --employer "AZ Sint-Jan Brugge" --job "Registered nurse" --caseworker "Amira Khoury")"
code_of() { awk '/^enrolment code:/ {print $3}'; }
talent="$("$server" enrol talent "$case_id" --server "$url" | code_of)"
family="$("$server" enrol family "$case_id" --expires-in 30d | code_of)"
[ -n "$talent" ] && [ -n "$family" ] || { echo "test-with-server.sh: no enrolment codes" >&2; exit 1; }
# Two more devices of the caseworker, for the conflict test.
caseworkers="$("$server" enrol caseworker "Amira Khoury" --server "$url" | code_of) \
$("$server" enrol caseworker "Amira Khoury" --server "$url" | code_of)"

export PASSAGE_TEST_SERVER_URL="$url"
export PASSAGE_TEST_CASE_ID="$case_id"
export PASSAGE_TEST_TALENT_CODE="$talent"
export PASSAGE_TEST_ENROL_CODE="$talent"
export PASSAGE_TEST_FAMILY_CODE="$family"
export PASSAGE_TEST_CASEWORKER_CODES="$caseworkers"
echo "test-with-server.sh: passage-server on $url" >&2
for name in PASSAGE_TEST_SERVER_URL PASSAGE_TEST_CASE_ID PASSAGE_TEST_TALENT_CODE PASSAGE_TEST_FAMILY_CODE; do
  echo "  $name=${!name}" >&2
done

"$@"
