#!/usr/bin/env bash
# The test command: install what is missing, configure, build, run every
# test; then the unit tests again under AddressSanitizer + UBSan, each
# fuzz target briefly, and a consumer project built against the installed
# package.
#
#   scripts/check.sh            everything (what CI runs)
#   SKIP_SANITIZE=1 SKIP_FUZZ=1 scripts/check.sh   skip the sanitizer / fuzz passes
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh

echo "== build (RelWithDebInfo, warnings as errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXACTLY_WERROR=ON
cmake --build build -j "$JOBS"
echo "== tests"
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 600

if [ -z "${SKIP_SANITIZE:-}" ]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEXACTLY_SANITIZE=ON -DEXACTLY_WERROR=ON \
        -DEXACTLY_BUILD_APPS=OFF -DEXACTLY_BUILD_BENCHMARKS=OFF
  cmake --build build-asan -j "$JOBS"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS" --timeout 600
fi

if [ -z "${SKIP_FUZZ:-}" ]; then
  echo "== fuzz targets, ${FUZZ_SECONDS:-15}s each"
  FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz.sh
fi

echo "== find_package(exactly) from an installed tree"
rm -rf build/stage build-package
cmake --install build --prefix "$PWD/build/stage" >/dev/null
cmake -S tests/package -B build-package -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/stage"
cmake --build build-package -j "$JOBS"
./build-package/exactly_package_consumer
echo "check: all passed"
