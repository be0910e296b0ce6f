#!/bin/sh
# Install the Debian packages milrun needs (when run as root and they are missing), then build two
# trees: build/ (optimised) and build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer).
set -eu
cd "$(dirname "$0")/.."
# Keep README.md's list in step with this one.
PKGS="build-essential cmake pkg-config clang libcjson-dev libyaml-dev libutf8proc-dev libpcre2-dev
libcurl4-openssl-dev libssl-dev libzip-dev libobjc-12-dev python3 python3-venv libprotobuf-c-dev
protobuf-c-compiler
gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
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
# Test-only Python tooling (coremltools as an independent reader and writer of Core ML packages).
# The library and the CLI never need it. Without a network this warns and goes on; the interop
# test then reports itself skipped. A venv that cannot import coremltools is made again next time.
VENV=build/venv
if ! "$VENV/bin/python" -c 'import coremltools, numpy' >/dev/null 2>&1; then
  rm -rf "$VENV"
  if python3 -m venv "$VENV" >/dev/null 2>&1 &&
     "$VENV/bin/pip" install -q --disable-pip-version-check --retries 1 --timeout 20 coremltools numpy; then :
  else
    rm -rf "$VENV"
    echo "setup.sh: warning: could not make $VENV with coremltools (no network?);" \
      "test_coremltools_interop will be skipped" >&2
  fi
fi
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMILRUN_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS"
