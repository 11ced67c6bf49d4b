#!/usr/bin/env bash
# Every test of the project, as the README gives it:
#   1. the Rust tests of every crate (core, terminal device, server, bindings);
#   2. the Kotlin wrapper's tests on the JVM, against the host-built library and a real
#      passage-server on loopback (android/scripts/jvm-test.sh; it installs the Kotlin
#      compiler into .tools/ with npm, and JNA and JUnit with apt, if missing);
#   3. the Swift bindings generated with the pinned generator, which checks generation.
#      The Swift tests themselves need macOS (ios/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "Rust: cargo test --workspace"
cargo test --workspace --locked

step "Kotlin on the JVM: android/scripts/jvm-test.sh"
bash android/scripts/jvm-test.sh

step "Swift: the bindings are generated (ios/scripts/generate-bindings.sh)"
bash ios/scripts/generate-bindings.sh
test -s ios/Sources/PassageFFI/PassageFFI.swift
