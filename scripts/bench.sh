#!/usr/bin/env bash
# Runs every benchmark program of the project and writes the report:
# docs/BENCHMARKS.md (command, machine, date, load, every figure beside the
# baseline measured in the same run, the ratio) and SVG plots (gnuplot).
#
#   scripts/bench.sh                 full run: figures into docs/ (minutes to tens of minutes)
#   scripts/bench.sh --quick         tiny sizes, a smoke run (~3 min); output into build/bench-quick/
#   scripts/bench.sh --only NAME     run only NAME (repeatable, or a,b); the other programs'
#                                    earlier results in the output dir are kept and re-reported
#   scripts/bench.sh --out DIR       write DIR/BENCHMARKS.md, DIR/bench/*.svg, DIR/bench/results/
#   scripts/bench.sh --build DIR     build tree to use (default: build, configured if missing)
#   scripts/bench.sh --no-build      run the programs already built in <build>/tests/bench/
#   scripts/bench.sh --report-only   regenerate the report and plots from DIR/bench/results/
#
# Where the generated text goes: between the markers
#   <!-- bench:begin --> ... <!-- bench:end -->
# in <out>/BENCHMARKS.md. Everything outside the markers is hand-written
# analysis (why each figure is what it is) and is never touched, so the
# analysis and the figures it explains live in one file and one diff shows
# both. A report file without the markers gets the block appended; a missing
# one is created.
#
# Raw results stay beside the plots (<out>/bench/results/: Google Benchmark
# JSON, JSON lines, logs, load averages, the machine description), so the
# report can be regenerated (--report-only) and any figure traced back.
#
# Programs: every executable in <build>/tests/bench/. Two kinds:
# - Google Benchmark programs (they accept --benchmark_format): run with
#   --benchmark_out=<json>; the report pairs each benchmark with its baseline
#   (rules per program in scripts/bench_report.py);
# - --json programs: given --json (last on the command line) they print one
#   JSON object per line per measured configuration, with at least "bench",
#   the configuration fields, "baseline" (the baseline's name), "ratio"
#   (subject / baseline, same run) and optionally "axis" (the varied field:
#   the x axis of a plot; rows with axis "reference" are the point a sweep
#   varies around and go on every axis) and "target". Rows with "producers"
#   and fields named *rss* / *restore* are also plotted against producers.
#   Lines that are not JSON are human output and go to the log. With
#   --quick they get the sizes in QUICK_ARGS below or, if absent there,
#   --quick when their binary contains the word; else their defaults.
# The kind comes from KIND below; an unknown program is a Google Benchmark
# one when its binary contains the flag name "benchmark_format", else a
# --json one.
#
# Ratios, not absolute numbers: this is run on shared machines, so every
# figure is printed beside a baseline from the same process or run, and the
# load average before and after each program is recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# --- per-program table ------------------------------------------------------
# A program missing here still runs (kind guessed, its own default sizes);
# add it here to give it --quick sizes.
declare -A KIND=(
  [engine_bench]=gbench [checkpoint_bench]=gbench [replay_bench]=gbench
  [relay_bench]=json [relay_recipe_bench]=json [relay_chunked_bench]=json [relay_interval_bench]=json
  [producers_bench]=json
)
# Extra arguments of a full run (none: the program's own defaults).
declare -A FULL_ARGS=(
  [engine_bench]="--benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
  [replay_bench]="--benchmark_repetitions=3 --benchmark_report_aggregates_only=true"
)
# Extra arguments of a --quick run (small sizes; seconds per program).
# --json programs reject flags they do not know, so only known ones here.
declare -A QUICK_ARGS=(
  [engine_bench]="--benchmark_min_time=0.01"
  [replay_bench]="--benchmark_min_time=0.01"
  [checkpoint_bench]="--benchmark_filter=BM_Checkpoint/100/|BM_WriteFloor/1/|BM_Restore/0/0"
  [relay_bench]="--records 10000 --runs 1"
  [relay_recipe_bench]="--records 20000 --runs 1 --per-record-records 2000"
  [relay_chunked_bench]="--messages 8 --runs 1"
  [relay_interval_bench]="--records 10000 --runs 1 --crashes 1 --intervals 10,100,1000"
  [producers_bench]="--producers 1000,100000"
)
# Wall-clock limit per program, so one hung program cannot stall the run.
FULL_TIMEOUT=${BENCH_TIMEOUT:-1800}
QUICK_TIMEOUT=${BENCH_TIMEOUT:-300}

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

quick=0
report_only=0
no_build=0
out=""
build=build
only=()
command_line="scripts/bench.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) [ $# -ge 2 ] || { usage >&2; exit 2; }; IFS=, read -r -a names <<<"$2"; only+=("${names[@]}"); shift ;;
    --only=*) IFS=, read -r -a names <<<"${1#--only=}"; only+=("${names[@]}") ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --build) [ $# -ge 2 ] || { usage >&2; exit 2; }; build=$2; shift ;;
    --build=*) build=${1#--build=} ;;
    --report-only) report_only=1 ;;
    --no-build) no_build=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$out" ]; then
  # A smoke run never overwrites the committed figures unless asked to.
  if [ $quick -eq 1 ]; then out=$build/bench-quick; else out=docs; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
results=$out/bench/results
plots=$out/bench
report=$out/BENCHMARKS.md
mode=full
[ $quick -eq 1 ] && mode=quick

generate() {
  python3 "$ROOT/scripts/bench_report.py" report --results "$results" --report "$report" --plots "$plots"
}

if [ $report_only -eq 1 ]; then
  generate
  exit 0
fi

# --- tools ------------------------------------------------------------------
scripts/install-deps.sh --bench ||
  echo "bench: could not install the report's tools; carrying on (no plots without gnuplot)" >&2
command -v python3 >/dev/null || { echo "bench: python3 is needed for the report" >&2; exit 1; }

# --- build ------------------------------------------------------------------
if [ $no_build -eq 0 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
  if [ "$build_type" != "RelWithDebInfo" ] && [ "$build_type" != "Release" ]; then
    echo "bench: warning: $build is a '$build_type' build; figures will not be representative" >&2
  fi
  echo "== build the benchmark programs ($build)"
  cmake --build "$build" --target tests/bench/all 2>/dev/null || {
    # Generators without per-directory targets: one target per *_bench.cc.
    targets=()
    for src in tests/bench/*_bench.cc; do targets+=("$(basename "$src" .cc)"); done
    cmake --build "$build" --target "${targets[@]}"
  }
fi

bench_dir=$build/tests/bench
programs=()
for exe in "$bench_dir"/*; do
  if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then continue; fi
  case "$(basename "$exe")" in *.*) continue ;; esac  # libraries, scripts
  programs+=("$(basename "$exe")")
done
if [ ${#only[@]} -gt 0 ]; then
  for name in "${only[@]}"; do
    [ -x "$bench_dir/$name" ] || { echo "bench: no program $bench_dir/$name" >&2; exit 2; }
  done
  programs=("${only[@]}")
fi
[ ${#programs[@]} -gt 0 ] || { echo "bench: no benchmark programs in $bench_dir" >&2; exit 1; }

# --- run --------------------------------------------------------------------
if [ ${#only[@]} -eq 0 ]; then
  # A whole run replaces every earlier result: no stale figures survive.
  rm -rf "$results"
fi
mkdir -p "$results"
# --only adds to the results of earlier runs: keep their commands and dates.
[ ${#only[@]} -gt 0 ] || rm -f "$results/command.txt" "$results/date.txt"
printf '%s\n' "$command_line" >>"$results/command.txt"
date -u +%Y-%m-%dT%H:%M:%SZ >>"$results/date.txt"
printf '%s\n' "$mode" >"$results/mode.txt"
python3 scripts/bench_report.py machine --build "$build" >"$results/machine.json"
cut -d' ' -f1-3 /proc/loadavg >"$results/load-before.txt"

kind_of() {
  local name=$1
  if [ -n "${KIND[$name]:-}" ]; then
    echo "${KIND[$name]}"
  elif grep -qa -- benchmark_format "$bench_dir/$name"; then
    echo gbench
  else
    echo json
  fi
}

args_of() {
  local name=$1 kind=$2
  if [ $quick -eq 1 ]; then
    if [ -n "${QUICK_ARGS[$name]+set}" ]; then
      echo "${QUICK_ARGS[$name]}"
    elif [ "$kind" = json ] && grep -qaE -- '--quick|\bquick\b' "$bench_dir/$name"; then
      echo --quick
    elif [ "$kind" = gbench ]; then
      echo --benchmark_min_time=0.01
    fi
  else
    echo "${FULL_ARGS[$name]:-}"
  fi
}

failed=()
for name in "${programs[@]}"; do
  kind=$(kind_of "$name")
  read -r -a extra <<<"$(args_of "$name" "$kind")"
  # The ARGS tables are split on blanks: no quoting inside them.
  if [ "$kind" = gbench ]; then
    cmd=("$bench_dir/$name" --benchmark_format=console --benchmark_out="$results/$name.gbench.json"
         --benchmark_out_format=json "${extra[@]}")
  else
    # --json last: a program that parses "--flag value" pairs still sees its pairs.
    cmd=("$bench_dir/$name" "${extra[@]}" --json)
  fi
  timeout_s=$FULL_TIMEOUT
  [ $quick -eq 1 ] && timeout_s=$QUICK_TIMEOUT
  rm -f "$results/$name".*
  printf '%s\n' "$kind" >"$results/$name.kind"
  printf '%s\n' "${cmd[*]}" | sed "s|$ROOT/||g" >"$results/$name.cmd"
  cut -d' ' -f1-3 /proc/loadavg >"$results/$name.load-before"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$results/$name.date"
  echo "== $name ($kind): ${cmd[*]}"
  start=$(date +%s)
  rc=0
  if [ "$kind" = gbench ]; then
    set +e
    timeout "$timeout_s" "${cmd[@]}" 2>&1 | tee "$results/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
  else
    # JSON lines to .jsonl, everything else (and stderr) to the log;
    # stderr is also shown as it comes (the progress of long sweeps).
    set +e
    { timeout "$timeout_s" "${cmd[@]}" 2>&1 1>&3 3>&- | tee "$results/$name.stderr" >&2; } 3>"$results/$name.stdout"
    rc=${PIPESTATUS[0]}
    set -e
    grep -v '^[[:space:]]*{' "$results/$name.stdout" || true
    grep '^[[:space:]]*{' "$results/$name.stdout" >"$results/$name.jsonl" || true
    { grep -v '^[[:space:]]*{' "$results/$name.stdout" || true; cat "$results/$name.stderr"; } >"$results/$name.log"
    rm -f "$results/$name.stdout" "$results/$name.stderr"
  fi
  echo $(( $(date +%s) - start )) >"$results/$name.seconds"
  cut -d' ' -f1-3 /proc/loadavg >"$results/$name.load-after"
  echo "$rc" >"$results/$name.rc"
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name exited with $rc (see $results/$name.log)" >&2
    failed+=("$name")
  fi
done
cut -d' ' -f1-3 /proc/loadavg >"$results/load-after.txt"

echo "== report"
generate
echo "bench: wrote $report and plots in $plots"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
