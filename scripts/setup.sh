#!/bin/sh
# Install the Debian packages milrun needs (when run as root and they are missing), then build two
# trees: build/ (optimised) and build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer).
set -eu
cd "$(dirname "$0")/.."
PKGS="build-essential cmake pkg-config clang libcjson-dev libyaml-dev libutf8proc-dev libpcre2-dev
libcurl4-openssl-dev zlib1g-dev libzip-dev python3 espeak-ng libprotobuf-c-dev protobuf-c-compiler"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  else
    echo "setup.sh: please install:$missing" >&2
    exit 1
  fi
fi
# Test-only Python tooling (coremltools as an independent reader/writer of Core ML packages); the
# library and the CLI never need it, and the interop test skips itself when this fails.
if [ ! -x build/venv/bin/python ]; then
  python3 -m venv build/venv && build/venv/bin/pip install -q coremltools numpy ||
    echo "setup.sh: no coremltools venv; test_coremltools_interop will be skipped" >&2
fi
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMILRUN_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS"
