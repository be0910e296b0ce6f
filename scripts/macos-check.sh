#!/bin/sh
# The macOS check of the Core ML executor, step by step; .github/workflows/macos.yml runs the same
# steps on GitHub's macos-15 runner (Apple silicon), and a developer runs them by hand on a Mac:
#
#   scripts/macos-check.sh            # all steps
#   scripts/macos-check.sh deps       # Homebrew packages
#   scripts/macos-check.sh build      # build/ (RelWithDebInfo)
#   scripts/macos-check.sh test       # the test suite (ctest)
#   scripts/macos-check.sh compare    # convert the tiny Qwen3 to packages, compile them with
#                                     # coremlcompiler, generate on coreml and cpu, compare tokens
#
# Needs macOS 15 or later (Core ML states and multifunction models) and Xcode's command-line tools.
set -eu
cd "$(dirname "$0")/.."
WORK=${MACOS_CHECK_DIR:-build/macos-check}
BREW_PKGS="cmake pkgconf cjson libyaml utf8proc pcre2 curl openssl@3 libzip protobuf-c"

pkg_config_path() {
  # curl and openssl@3 are keg-only: their .pc files are outside Homebrew's default search path.
  p=""
  for k in curl openssl@3; do p="$p:$(brew --prefix "$k")/lib/pkgconfig"; done
  echo "${p#:}${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
}

step_deps() {
  brew install $BREW_PKGS
}

step_build() {
  PKG_CONFIG_PATH=$(pkg_config_path) cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build -j "$(sysctl -n hw.ncpu)"
}

step_test() {
  ctest --test-dir build --output-on-failure -j "$(sysctl -n hw.ncpu)"
}

# Greedy ids of `milrun generate` on MODEL_DIR with BACKEND (and compute units), one per line.
generate_ids() {
  build/milrun generate --model "$1" --backend "$2" --compute-units "$3" --ids 9707,11,1879,0,42 \
    --max-tokens 16 --temperature 0 --ignore-eos --verbose --json >"$WORK/gen-$4.json" 2>"$WORK/gen-$4.log"
  grep -i "compute units\|executor" "$WORK/gen-$4.log" | head -4 >&2 || true
  python3 -c 'import json,sys; print("\n".join(str(i) for i in json.load(open(sys.argv[1]))["ids"]))' "$WORK/gen-$4.json"
}

step_compare() {
  rm -rf "$WORK"
  mkdir -p "$WORK/compiled"
  build/milrun convert tests/fixtures/models/qwen3-tiny-python "$WORK/converted" --context 256 --format both --quiet
  # Apple's compiler turns each package into the .mlmodelc Core ML loads (with coremldata.bin).
  for pkg in "$WORK"/converted/*.mlpackage; do
    xcrun coremlcompiler compile "$pkg" "$WORK/compiled"
  done
  find "$WORK/converted" -maxdepth 1 -type f -exec cp {} "$WORK/compiled/" \;
  mkdir -p "$WORK/packages"
  cp -R "$WORK"/converted/*.mlpackage "$WORK/packages/"
  find "$WORK/converted" -maxdepth 1 -type f -exec cp {} "$WORK/packages/" \;
  generate_ids "$WORK/converted" cpu cpu-and-ne cpu >"$WORK/ids-cpu.txt"
  generate_ids "$WORK/compiled" coreml cpu-and-ne compiled >"$WORK/ids-coreml-compiled.txt"
  generate_ids "$WORK/compiled" coreml cpu compiled-cpu >"$WORK/ids-coreml-cpu.txt"
  # Packages are compiled by Core ML at the first start and cached in .milrun-cache next to them.
  generate_ids "$WORK/packages" coreml cpu-and-ne packages >"$WORK/ids-coreml-packages.txt"
  ls -d "$WORK"/packages/.milrun-cache/*.mlmodelc >/dev/null
  generate_ids "$WORK/packages" coreml cpu-and-ne packages-cached >"$WORK/ids-coreml-packages-cached.txt"
  status=0
  for f in compiled cpu packages packages-cached; do
    if cmp -s "$WORK/ids-cpu.txt" "$WORK/ids-coreml-$f.txt"; then
      echo "coreml ($f): the same $(wc -l <"$WORK/ids-cpu.txt" | tr -d ' ') tokens as cpu"
    else
      echo "coreml ($f): tokens differ from cpu (first line: position 0):"
      diff "$WORK/ids-cpu.txt" "$WORK/ids-coreml-$f.txt" || true
      status=1
    fi
  done
  return $status
}

case "${1:-all}" in
  deps) step_deps ;;
  build) step_build ;;
  test) step_test ;;
  compare) step_compare ;;
  all) step_deps && step_build && step_test && step_compare ;;
  *) echo "usage: $0 [deps|build|test|compare|all]" >&2; exit 2 ;;
esac
