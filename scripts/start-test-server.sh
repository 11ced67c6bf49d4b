#!/usr/bin/env bash
# Starts a real passage-server on a free loopback port for the binding tests, with one
# Belgian case and the enrolment codes the tests use, and writes what they need to
# know as shell `export` lines to DIR/env (source it). The server's PID is in DIR/pid;
# its data, output and log are in DIR. Shared by android/scripts/jvm-test.sh and
# ios/scripts/test-with-server.sh; the server binary is the one scripts/build-host.sh
# builds.
#
#   scripts/start-test-server.sh DIR
#
# The variables: PASSAGE_TEST_SERVER_URL, PASSAGE_TEST_CASE_ID,
# PASSAGE_TEST_TALENT_CODE (also as PASSAGE_TEST_ENROL_CODE), PASSAGE_TEST_FAMILY_CODE,
# PASSAGE_TEST_CASEWORKER_CODES (two codes for devices of the caseworker), and for a
# second case whose medical record the erasure test erases, PASSAGE_TEST_ERASE_CASE_ID,
# PASSAGE_TEST_ERASE_TALENT_CODE and PASSAGE_TEST_ERASE_CASEWORKER_CODE.
set -euo pipefail
dir="${1:?usage: start-test-server.sh DIR}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"
server="$CARGO_TARGET_DIR/debug/passage-server"
[ -x "$server" ] || { echo "start-test-server.sh: no $server; run scripts/build-host.sh" >&2; exit 1; }
mkdir -p "$dir"
export PASSAGE_SERVER_DATA="$dir/server"

"$server" serve --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
echo $! >"$dir/pid"
for _ in $(seq 1 300); do
  grep -q '^listening on ' "$dir/serve.out" 2>/dev/null && break
  sleep 0.1
done
addr="$(sed -n 's/^listening on //p' "$dir/serve.out")"
[ -n "$addr" ] || { echo "start-test-server.sh: the server did not start:" >&2; cat "$dir/serve.err" >&2; exit 1; }
url="http://$addr"

code_of() { awk '/^enrolment code:/ {print $3}'; }
"$server" caseworker add "Amira Khoury" >/dev/null
case_id="$("$server" case create --template be --talent "Rana Haddad" --employer "AZ Sint-Jan Brugge" \
  --job "Registered nurse" --caseworker "Amira Khoury")"
talent="$("$server" enrol talent "$case_id" --server "$url" | code_of)"
family="$("$server" enrol family "$case_id" --expires-in 30d | code_of)"
laptop="$("$server" enrol caseworker "Amira Khoury" --server "$url" | code_of)"
tablet="$("$server" enrol caseworker "Amira Khoury" --server "$url" | code_of)"
erase_case="$("$server" case create --template be --talent "Omar Khalil" --employer "AZ Sint-Jan Brugge" \
  --job "Physiotherapist" --caseworker "Amira Khoury")"
erase_talent="$("$server" enrol talent "$erase_case" --server "$url" | code_of)"
erase_caseworker="$("$server" enrol caseworker "Amira Khoury" --server "$url" | code_of)"
for code in "$talent" "$family" "$laptop" "$tablet" "$erase_talent" "$erase_caseworker"; do
  [ -n "$code" ] || { echo "start-test-server.sh: an enrolment code is missing" >&2; exit 1; }
done

cat >"$dir/env" <<VARS
export PASSAGE_TEST_SERVER_URL="$url"
export PASSAGE_TEST_CASE_ID="$case_id"
export PASSAGE_TEST_TALENT_CODE="$talent"
export PASSAGE_TEST_ENROL_CODE="$talent"
export PASSAGE_TEST_FAMILY_CODE="$family"
export PASSAGE_TEST_CASEWORKER_CODES="$laptop $tablet"
export PASSAGE_TEST_ERASE_CASE_ID="$erase_case"
export PASSAGE_TEST_ERASE_TALENT_CODE="$erase_talent"
export PASSAGE_TEST_ERASE_CASEWORKER_CODE="$erase_caseworker"
VARS
echo "start-test-server.sh: passage-server on $url (pid $(cat "$dir/pid"))" >&2
