#!/usr/bin/env bash
# The test command: install what is missing, configure, build, run every
# test; then the unit tests again under AddressSanitizer + UBSan, each
# fuzz target briefly, and a consumer project built against the installed
# package.
#
#   scripts/check.sh            everything (what CI runs)
#   SKIP_SANITIZE=1 SKIP_FUZZ=1 scripts/check.sh   skip the sanitizer / fuzz passes
#   SANITIZE_ALL=1 scripts/check.sh  the sanitizer pass builds the apps too and
#       runs the replay and integration tests as well (~+10 min on 2 cores)
#   CHECK_DEBUG_INFO=-g1 scripts/check.sh          line tables only (what CI uses):
#       backtraces and sanitizer reports keep file:line, compiling takes
#       about a sixth less and linking much less; default -g
#
# Time (2 cores): most tests wait on an embedded broker (ctest -j2 kept
# the two cores about 9% busy), so ctest runs two tests per core
# (CTEST_JOBS), and the sanitizer and fuzz builds run meanwhile at the
# lowest CPU priority (nice 19), taking only the CPU the tests leave idle;
# their output goes to build/check-*.log, printed if they fail. Each step
# prints the time elapsed so far.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
CTEST_JOBS=${CTEST_JOBS:-$((2 * JOBS))}
start=$SECONDS
step() { echo "== $* [$(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s]"; }

scripts/install-deps.sh

step "build (RelWithDebInfo, warnings as errors)"
DEBUG_INFO=${CHECK_DEBUG_INFO:--g}
export DEBUG_INFO
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXACTLY_WERROR=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $DEBUG_INFO -DNDEBUG"
cmake --build build -j "$JOBS"

# The other builds, in the background (see above). A process group of its
# own, so that a failing test stops it too.
background_builds() {
  set -euo pipefail
  if [ -z "${SKIP_SANITIZE:-}" ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$DEBUG_INFO" \
          -DEXACTLY_SANITIZE=ON -DEXACTLY_WERROR=ON -DEXACTLY_BUILD_APPS="${SANITIZE_APPS:-OFF}" \
          -DEXACTLY_BUILD_BENCHMARKS=OFF \
          >build/check-asan.log 2>&1 ||
      { echo "asan configure failed" >build/check-failed; exit 1; }
    cmake --build build-asan -j "$JOBS" >>build/check-asan.log 2>&1 ||
      { echo "asan build failed" >build/check-failed; exit 1; }
  fi
  if [ -z "${SKIP_FUZZ:-}" ]; then
    FUZZ_BUILD_ONLY=1 scripts/fuzz.sh >build/check-fuzz.log 2>&1 ||
      { echo "fuzz build failed" >build/check-failed; exit 1; }
  fi
}
export -f background_builds
SANITIZE_LABELS=unit
if [ -n "${SANITIZE_ALL:-}" ]; then
  SANITIZE_APPS=ON
  SANITIZE_LABELS="unit|replay|integration"
fi
export JOBS SANITIZE_APPS
rm -f build/check-failed build/check-asan.log build/check-fuzz.log
setsid -w nice -n 19 bash -c background_builds &
bg=$!
trap 'kill -- -$bg 2>/dev/null || true' EXIT

step "tests"
ctest --test-dir build --output-on-failure -j "$CTEST_JOBS" --timeout 600

step "waiting for the sanitizer and fuzz builds"
if ! wait "$bg"; then
  echo "check: $(cat build/check-failed 2>/dev/null || echo 'background build failed')"
  for log in build/check-asan.log build/check-fuzz.log; do
    [ -f "$log" ] && { echo "--- $log (last 60 lines)"; tail -60 "$log"; }
  done
  exit 1
fi
trap - EXIT

if [ -z "${SKIP_SANITIZE:-}" ]; then
  step "tests ($SANITIZE_LABELS) under AddressSanitizer + UndefinedBehaviorSanitizer"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L "$SANITIZE_LABELS" --output-on-failure -j "$JOBS" --timeout 600
fi

if [ -z "${SKIP_FUZZ:-}" ]; then
  step "fuzz targets, ${FUZZ_SECONDS:-15}s each"
  FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz.sh
fi

step "find_package(exactly) from an installed tree"
rm -rf build/stage build-package
cmake --install build --prefix "$PWD/build/stage" >/dev/null
cmake -S tests/package -B build-package -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/stage"
cmake --build build-package -j "$JOBS"
./build-package/exactly_package_consumer
step "check: all passed"
