#!/bin/sh
# Install the Debian packages milrun needs (when run as root and they are missing), then build two
# trees: build/ (optimised) and build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer).
set -eu
cd "$(dirname "$0")/.."
# Keep README.md's list in step with this one.
PKGS="build-essential cmake pkg-config clang libcjson-dev libyaml-dev libutf8proc-dev libpcre2-dev
libcurl4-openssl-dev libssl-dev libzip-dev libmicrohttpd-dev python3 python3-venv
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
# Test-only Python tooling in build/venv: the `openai` client package, a client nobody here wrote,
# for test_tool_serve_openai. The library and the CLI never need it; without it that test reports
# itself skipped.
[ -x build/venv/bin/python ] || python3 -m venv build/venv || echo "setup.sh: no Python venv" >&2
if [ -x build/venv/bin/python ] && ! build/venv/bin/python -c 'import openai' 2>/dev/null; then
  build/venv/bin/pip install -q openai || echo "setup.sh: no openai package; test_tool_serve_openai will be skipped" >&2
fi
JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMILRUN_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS"
# The offline demo model (`milrun generate --model demo`): the bundled Qwen3 trained on Python,
# converted with 8-bit LUTs into the build tree.
[ -d build/demo ] || build/milrun convert tests/fixtures/models/qwen3-tiny-python build/demo --context 256 \
  --lut-ffn 8 --lut-lmhead 8 --tokenizer tests/fixtures/tokenizer --quiet
