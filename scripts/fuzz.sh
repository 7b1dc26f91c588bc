#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# from its seed corpus under tests/fuzz/corpus/. New inputs go to a scratch
# copy, never into the tree; a crash leaves its reproducer in build-fuzz/.
#
#   scripts/fuzz.sh                 every target, FUZZ_SECONDS (default 20) each
#
# Targets (one per corpus folder): engine, envelope, state (state_decode_fuzz),
# recorded_log (the JSON-lines reader and writer).
#   FUZZ_SECONDS=600 scripts/fuzz.sh engine
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh   build the targets, run nothing
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-$(nproc)}
command -v clang++ >/dev/null || { echo "fuzz: needs clang++ (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXACTLY_BUILD_FUZZERS=ON \
  -DEXACTLY_BUILD_TESTS=OFF -DEXACTLY_BUILD_APPS=OFF -DEXACTLY_BUILD_BENCHMARKS=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=()
  for d in tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
names=()
for t in "${targets[@]}"; do
  case "$t" in state) names+=(state_decode_fuzz) ;; *) names+=("${t}_fuzz") ;; esac
done
cmake --build build-fuzz -j "$JOBS" --target "${names[@]}"
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

status=0
for i in "${!targets[@]}"; do
  t=${targets[$i]} bin=build-fuzz/tests/fuzz/${names[$i]}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "== fuzz $t for ${SECONDS_EACH}s"
  if (cd build-fuzz && "../$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 "$work" \
        >"fuzz-$t.log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^Done' "build-fuzz/fuzz-$t.log" | tr '\n' ' '; echo
  else
    echo "fuzz $t FAILED: see build-fuzz/fuzz-$t.log and build-fuzz/crash-*"; tail -30 "build-fuzz/fuzz-$t.log"
    status=1
  fi
  rm -rf "$work"
done
exit $status
