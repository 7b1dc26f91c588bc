#!/usr/bin/env bash
# Installs every Debian package that building and testing exactly needs.
# Idempotent: packages already present are skipped, and apt is not touched
# at all when nothing is missing.
#
#   scripts/install-deps.sh           build and test dependencies
#   scripts/install-deps.sh --bench   ... and what scripts/bench.sh needs for
#                                     its report (gnuplot for the plots, python3)
set -euo pipefail

with_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) with_bench=1 ;;
    *) echo "install-deps: unknown option $arg (known: --bench)" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  librdkafka-dev librocksdb-dev libfmt-dev libboost-program-options-dev libsimdjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  kcat
  libcpp-httplib-dev prometheus
  clang libclang-rt-14-dev
)
if [ $with_bench -eq 1 ]; then
  PACKAGES+=(gnuplot-nox python3)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
