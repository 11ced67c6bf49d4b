#!/usr/bin/env bash
# Builds, for this machine (debug), everything the scripts run: the bindings library
# (libpassage_ffi), the pinned binding generator, the server and the terminal device.
# One cargo invocation for all of them, and the same one in every script, so that
# cargo resolves the same features each time and builds each crate once (a separate
# `cargo build -p passage-ffi` would resolve uniffi without the generator's features
# and build it, and everything above it, a second time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/passage-target}"
cargo build -q --locked -p passage-ffi -p uniffi-bindgen -p passage-server -p passage-cli
