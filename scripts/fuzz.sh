#!/bin/sh
# Build the libFuzzer harnesses (fuzz/fuzz_*.c) with clang and run each for SECONDS (default 180)
# starting from its saved corpus (fuzz/corpus/<name>/). New inputs go to build-fuzz/corpus/<name>;
# a crash leaves its input in build-fuzz/ and stops the script.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-180}
[ $# -gt 0 ] && shift
CC=clang cmake -S . -B build-fuzz -DMILRUN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
export MR_FUZZ_TOKENIZER="$PWD/tests/fixtures/tokenizer"  # the tokenizer harnesses load it
names=${*:-$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')}
for h in $names; do
  corpus=fuzz/corpus/${h#fuzz_}
  work=build-fuzz/corpus/${h#fuzz_}
  mkdir -p "$work"
  echo "== $h for ${SECS}s (seed corpus $corpus)"
  (cd build-fuzz && ./"$h" -max_total_time="$SECS" -print_final_stats=1 "../$work" "../$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)" || true)
  ls build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* 2>/dev/null && { echo "finding in $h"; exit 1; }
done
echo "no findings"
