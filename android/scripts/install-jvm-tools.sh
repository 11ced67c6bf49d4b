#!/usr/bin/env bash
# Installs what the Kotlin tests need on the JVM, idempotently: the Kotlin compiler
# (npm package kotlin-compiler, into .tools/ at the root of the clone, git-ignored),
# and JNA and JUnit 4 (Debian packages). A JDK 17 must already be on the machine.
# The compiler comes from npm because CI reaches only the package registries.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kotlin_version="2.4.20"
kotlin_dir="$root/.tools/kotlin"

if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
  echo "install-jvm-tools: a JDK (java and javac, 17 or later) is needed" >&2
  exit 1
fi

installed="$(node -p "require('$kotlin_dir/node_modules/kotlin-compiler/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$kotlin_version" ]; then
  mkdir -p "$kotlin_dir"
  npm install --prefix "$kotlin_dir" --no-audit --no-fund --no-save "kotlin-compiler@$kotlin_version" >&2
fi

if [ ! -f /usr/share/java/jna.jar ] || [ ! -f /usr/share/java/junit4.jar ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get install -y -q libjna-java junit4 >&2 || {
    $sudo apt-get update -q >&2
    $sudo apt-get install -y -q libjna-java junit4 >&2
  }
fi
