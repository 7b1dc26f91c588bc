#!/usr/bin/env bash
# The main job on the embedded broker: installs what is missing, builds
# exactly-relay, and runs its demo (an in-process Kafka mock cluster, a
# traffic generator with retries, a zombie producer, a restart and chunked
# messages over 1 MB, the relay, and a verification line at the end).
# Extra arguments go to exactly-relay, e.g. scripts/demo.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j "${JOBS:-$(nproc)}" --target exactly-relay | grep -vE '^\[[0-9]+/[0-9]+\]' || true
exec build/apps/exactly-relay --demo "$@"
