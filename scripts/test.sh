#!/bin/sh
# Run the test suite: first in the sanitizer build, then in the optimised build. Each ctest run
# ends with its summary line; the script fails if either does.
set -eu
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
cmake --build build-asan -j "$JOBS" >/dev/null
cmake --build build -j "$JOBS" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
ctest --test-dir build-asan --output-on-failure -j "$JOBS" || status=1
ctest --test-dir build --output-on-failure -j "$JOBS" || status=1
exit $status
