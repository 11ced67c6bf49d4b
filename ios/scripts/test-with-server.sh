#!/usr/bin/env bash
# Runs the Swift tests with a real passage-server on loopback, so the enrol-and-sync
# tests run instead of skipping. It builds and starts passage-server on a free port with
# a throw-away data directory (scripts/start-test-server.sh, shared with the Kotlin
# tests: a caseworker, a Belgian case, its enrolment codes), and runs the command
# (default: `swift test` in ios/) with the variables the Kotlin tests get:
#
#   PASSAGE_TEST_SERVER_URL    http://127.0.0.1:PORT
#   PASSAGE_TEST_CASE_ID       the case
#   PASSAGE_TEST_TALENT_CODE   the talent's one-time code (also as PASSAGE_TEST_ENROL_CODE)
#   PASSAGE_TEST_FAMILY_CODE   a family member's code
#   PASSAGE_TEST_CASEWORKER_CODES  two codes for devices of the caseworker, space-separated
#   PASSAGE_TEST_ERASE_CASE_ID     a second case, whose medical record the erasure test erases
#   PASSAGE_TEST_ERASE_TALENT_CODE and PASSAGE_TEST_ERASE_CASEWORKER_CODE  its two codes
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
cleanup() {
  if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$repo"
bash "$repo/scripts/build-host.sh"
# The same server, case and codes as the Kotlin tests get (scripts/start-test-server.sh).
bash "$repo/scripts/start-test-server.sh" "$work"
# shellcheck source=/dev/null
source "$work/env"
url="$PASSAGE_TEST_SERVER_URL"
echo "test-with-server.sh: passage-server on $url" >&2
for name in PASSAGE_TEST_SERVER_URL PASSAGE_TEST_CASE_ID PASSAGE_TEST_TALENT_CODE PASSAGE_TEST_FAMILY_CODE \
  PASSAGE_TEST_CASEWORKER_CODES PASSAGE_TEST_ERASE_CASE_ID PASSAGE_TEST_ERASE_TALENT_CODE \
  PASSAGE_TEST_ERASE_CASEWORKER_CODE; do
  echo "  $name=${!name}" >&2
done

"$@"
