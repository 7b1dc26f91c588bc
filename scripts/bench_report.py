#!/usr/bin/env python3
# Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
"""Report generator of scripts/bench.sh (python3 standard library only).

  bench_report.py machine [--build DIR]
      Prints the machine description (CPU, cores, RAM, kernel, OS, compiler,
      build type, library versions from dpkg, commit) as JSON.
  bench_report.py report --results DIR --report FILE --plots DIR [--no-plots]
      Reads the raw results bench.sh left in DIR and writes the generated
      block of FILE (between <!-- bench:begin --> and <!-- bench:end -->;
      the rest of FILE is hand-written and kept) and SVG plots in DIR.

Results layout (one set of files per program NAME, written by bench.sh):
  NAME.kind            "gbench" or "json"
  NAME.gbench.json     Google Benchmark --benchmark_out JSON (gbench)
  NAME.jsonl           JSON lines printed with --json (json)
  NAME.log             console / human output
  NAME.cmd NAME.date NAME.seconds NAME.rc NAME.load-before NAME.load-after
and for the run: command.txt mode.txt date.txt machine.json
load-before.txt load-after.txt.

Every figure is shown beside its baseline from the same run, with the
ratio subject / baseline. For Google Benchmark programs the pairs are the
RULES below (a program without rules gets its benchmarks listed, and
paired with any benchmark named *Baseline*). --json programs carry their
own pairing ("baseline", "ratio", optionally a "target" the ratio must
reach), and "axis" names the field a sweep varies: the report plots ratio
against it, the rows whose axis is "reference" (the point a
one-axis-at-a-time sweep varies around) included on every axis. Rows with
"producers" and fields named *rss* or *restore* also get those plotted
against producers. JSON_TARGETS adds targets on single records.

Targets (a rule's or a record's) are on the ratio, with a direction
(≥ or ≤); the summary says whether each was met. A rule or target that
matches nothing in a program's results is reported in the block and on
stderr, so a renamed benchmark cannot silently leave the report.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

# --- metrics -----------------------------------------------------------------


def fmt_sig(x, digits=3):
    """x with `digits` significant digits, no exponent for everyday sizes."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(x))))
    decimals = max(0, digits - 1 - mag)
    return f"{x:.{decimals}f}"


def fmt_scaled(x, unit, base=1000.0):
    if x is None:
        return "—"
    for prefix in ("", "k", "M", "G", "T"):
        if abs(x) < base * 0.9995 or prefix == "T":
            return f"{fmt_sig(x)} {prefix}{unit}"
        x /= base
    return "—"


def fmt_ns(ns):
    if ns is None:
        return "—"
    for unit, scale in (("ns", 1.0), ("µs", 1e3), ("ms", 1e6)):
        if ns < scale * 999.5:
            return f"{fmt_sig(ns / scale)} {unit}"
    return f"{fmt_sig(ns / 1e9)} s"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.2f}" if abs(r) < 100 else fmt_sig(r)


def fmt_target(target, at_most=False):
    """A target on a ratio with its direction (≥ 0.50, ≤ 1.00): a bare number
    does not say whether the ratio must stay above or below it."""
    return f"{'≤' if at_most else '≥'} {fmt_ratio(target)}"


def target_met(ratio, target, at_most=False):
    if ratio is None:
        return "—"
    return "yes" if (ratio <= target if at_most else ratio >= target) else "**no**"


class Metric:
    def __init__(self, label, fmt, higher_better):
        self.label, self.fmt, self.higher_better = label, fmt, higher_better

    def heading(self):
        return f"{self.label} ({'higher' if self.higher_better else 'lower'} is better)"


METRICS = {
    "items": Metric("items per CPU second", lambda v: fmt_scaled(v, "/s"), True),
    "per_s": Metric("decisions per CPU second", lambda v: fmt_scaled(v, "/s"), True),
    "bytes": Metric("bytes per CPU second", lambda v: fmt_scaled(v, "B/s"), True),
    "real_ns": Metric("wall time per iteration", fmt_ns, False),
    "cpu_ns": Metric("CPU time per iteration", fmt_ns, False),
    "p50_us": Metric("p50 latency", lambda v: fmt_ns(v * 1e3), False),
    "p99_us": Metric("p99 latency", lambda v: fmt_ns(v * 1e3), False),
    "bytes_per_producer": Metric("heap bytes per producer", lambda v: f"{fmt_sig(v)} B", False),
}


def metric(name):
    return METRICS.get(name) or Metric(name, fmt_sig, True)


# --- Google Benchmark results ------------------------------------------------

GBENCH_STANDARD = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "items_per_second", "bytes_per_second", "label", "aggregate_name", "aggregate_unit",
    "error_occurred", "error_message", "skipped", "skip_message", "big_o", "rms",
}
TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


# What Google Benchmark appends to a run name for its own settings; the
# rest, named arguments (zipf:1) included, tells benchmarks apart.
GBENCH_SETTING_PREFIXES = ("min_time:", "min_warmup_time:", "iterations:", "repeats:", "threads:")
GBENCH_SETTING_PARTS = ("real_time", "process_time", "manual_time")


def clean_name(run_name):
    """BM_X/1000/real_time, BM_Y/n:4/iterations:1 -> BM_X/1000, BM_Y/n:4."""
    parts = [p for p in run_name.split("/")
             if not p.startswith(GBENCH_SETTING_PREFIXES) and p not in GBENCH_SETTING_PARTS]
    return "/".join(parts)


class GBench:
    """One benchmark's figures (the median of repetitions when repeated)."""

    def __init__(self, name, row, repetitions):
        self.name = name
        self.label = row.get("label", "")
        self.error = row.get("error_message") if row.get("error_occurred") else None
        self.repetitions = repetitions
        self.iterations = row.get("iterations")
        scale = TIME_UNIT_NS.get(row.get("time_unit", "ns"), 1.0)
        real = row.get("real_time")
        cpu = row.get("cpu_time")
        self.values = {}
        if real is not None:
            self.values["real_ns"] = real * scale
        if cpu is not None:
            self.values["cpu_ns"] = cpu * scale
        # Rates per CPU second: Google Benchmark divides by wall time under
        # UseRealTime and by CPU time otherwise; on a shared machine the CPU
        # time of a single-threaded loop is the figure load disturbs least,
        # and it makes rates of both kinds comparable.
        used = real if "/real_time" in row.get("run_name", row.get("name", "")) else cpu
        for key, out in (("items_per_second", "items"), ("bytes_per_second", "bytes")):
            if row.get(key) is not None and used and cpu:
                self.values[out] = row[key] * used / cpu
        for key, value in row.items():
            if key not in GBENCH_STANDARD and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.values[key] = float(value)

    def display(self):
        return f"`{self.name}` ({self.label})" if self.label else f"`{self.name}`"


def median(values):
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def load_gbench(path):
    """Returns ({clean name: GBench} in run order, context)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    rows = doc.get("benchmarks", [])
    order, by_name = [], {}
    aggregated = any(r.get("run_type") == "aggregate" for r in rows)
    for r in rows:
        name = clean_name(r.get("run_name", r.get("name", "")))
        if name not in by_name:
            order.append(name)
            by_name[name] = []
        by_name[name].append(r)
    out = {}
    for name in order:
        rs = by_name[name]
        errors = [r for r in rs if r.get("error_occurred")]
        if errors:
            out[name] = GBench(name, errors[0], len(rs))
            continue
        if aggregated:
            pick = [r for r in rs if r.get("aggregate_name") == "median"] or \
                   [r for r in rs if r.get("aggregate_name") == "mean"] or rs
            reps = max((r.get("repetitions", 1) for r in rs), default=1)
            out[name] = GBench(name, pick[0], reps)
            out[name].iterations = None  # an aggregate row counts repetitions there
            continue
        # Repetitions without aggregates: the median of every numeric field.
        merged = dict(rs[0])
        for key, value in rs[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "repetitions":
                merged[key] = median([r[key] for r in rs if isinstance(r.get(key), (int, float))])
        out[name] = GBench(name, merged, len(rs))
    return out, doc.get("context", {})


# Issue target: the engine tracking 1M producers decides at least half as
# fast as one tracking 1k.
ENGINE_CURVE_TARGET = 0.5

# Which benchmark is whose baseline, per program: subjects are a regular
# expression on the benchmark name (arguments included, e.g.
# BM_Decisions/1000/0); baseline is a benchmark name, a list of
# (subject regex, baseline name), a fixed value (baseline_value, e.g. a
# budget) or a counter of the subject itself (baseline_counter: for
# benchmarks that measure their own baseline alternately in the same
# process); the last two are named by baseline_label. headline: the
# subjects also listed in the summary at the top. target: what the ratio
# of the headline rows must reach (at least; at most with target_max).
# A rule that matches nothing is reported (unmatched_rules), so a renamed
# benchmark shows up as such instead of silently leaving the report.
RULES = {
    "engine_bench": [
        dict(title="Decisions against classifying the envelope alone",
             subjects=r"BM_Decisions/\d+/\d+", baseline="BM_Classify", metrics=["items"],
             headline=r"BM_Decisions/1000/0"),
        dict(title="Decisions as the producer table grows, against 1k producers (same process, alternating)",
             subjects=r"BM_DecisionCurve/producers:\d+/zipf:\d+/feed:\d+", baseline_counter="per_s_1k",
             baseline_label="1k producers, same benchmark", metrics=["per_s"],
             headline=r"BM_DecisionCurve/producers:1000000/zipf:\d+/feed:[12]", target=ENGINE_CURVE_TARGET),
        dict(title="Reassembly and CRC32C against memcpy of the same 1 MiB in 64 KiB chunks",
             subjects=r"BM_Reassemble|BM_Crc32c.*", baseline="BM_ReassembleBaselineMemcpy", metrics=["bytes"],
             headline=r"BM_Reassemble"),
        dict(title="Reassembly against the same copy-and-check done by hand (the engine's own overhead)",
             subjects=r"BM_Reassemble", baseline="BM_Crc32cCopyChunks", metrics=["bytes"], headline=r".*"),
        dict(title="Engine heap per tracked producer against the budget",
             subjects=r"BM_MemoryPerProducer/\d+", baseline_value=128.0,
             baseline_label="budget (a target, not measured)", metrics=["bytes_per_producer"],
             headline=r"BM_MemoryPerProducer/1000000"),
    ],
    "checkpoint_bench": [
        dict(title="Checkpoint latency against one synced write of the same bytes "
                   "(BM_Checkpoint/changed/pace ms/fold)",
             subjects=r"BM_Checkpoint/.*",
             baseline=[(r"BM_Checkpoint/100/.*", "BM_WriteFloor/1/16"),
                       (r"BM_Checkpoint/10000/.*", "BM_WriteFloor/1/340000")],
             metrics=["p50_us", "p99_us"], headline=r"BM_Checkpoint/10000/100/1"),
        dict(title="One put per producer against a single put (what one delta per partition avoids; "
                   "BM_WriteFloor/puts/bytes)",
             subjects=r"BM_WriteFloor/\d+/16", baseline="BM_WriteFloor/1/16", metrics=["p50_us", "p99_us"]),
        dict(title="Restore of 1M producers against loading folded segments "
                   "(BM_Restore/pending deltas/into engine/with producers)",
             subjects=r"BM_Restore/(20/0/1|0/1/1)", baseline="BM_Restore/0/0/1", metrics=["p50_us"],
             headline=r"BM_Restore/0/1/1"),
        # Issue target: restoring 1M producers takes at most 2 s.
        dict(title="Restore of 1M producers into the engine against the 2 s target",
             subjects=r"BM_Restore/0/1/1", baseline_value=2e6, baseline_label="target (not measured)",
             metrics=["p50_us"], headline=r"BM_Restore/0/1/1", target=1.0, target_max=True),
    ],
    "replay_bench": [
        dict(title="Replay pipeline against reading and parsing alone (the floor)",
             subjects=r"BM_.*", baseline="BM_ParseOnly", metrics=["items"], headline=r"BM_Replay"),
    ],
}


def default_rules(benches):
    """A program without rules: everything against a *Baseline* benchmark."""
    base = [n for n in benches if "baseline" in n.lower()]
    if not base:
        return []
    b = benches[base[0]]
    for m in ("items", "bytes", "cpu_ns"):
        if m in b.values:
            return [dict(title=f"Against {base[0]}", subjects=r".*", baseline=base[0], metrics=[m])]
    return []


def baseline_for(rule, subject):
    b = rule.get("baseline")
    if isinstance(b, list):
        for pattern, name in b:
            if re.fullmatch(pattern, subject):
                return name
        return None
    return b


def baseline_names(rule):
    """The benchmarks a rule names as baselines (none for fixed or counter baselines)."""
    b = rule.get("baseline")
    if isinstance(b, list):
        return [name for _, name in b]
    return [b] if b else []


def comparison_rows(rule, benches):
    """[(subject, metric, value, baseline label, baseline value, ratio, note)]."""
    rows = []
    counter = rule.get("baseline_counter")
    unnamed = "baseline_value" in rule or counter is not None  # no baseline benchmark to look up
    for name, bench in benches.items():
        if not re.fullmatch(rule["subjects"], name):
            continue
        if unnamed:
            base_name, base = rule["baseline_label"], None
        else:
            base_name = baseline_for(rule, name)
            if base_name is None or base_name == name:
                continue
            base = benches.get(base_name)
        for m in rule["metrics"]:
            value = bench.values.get(m)
            if "baseline_value" in rule:
                base_value = rule["baseline_value"]
            elif counter:
                base_value = bench.values.get(counter)
            else:
                base_value = base.values.get(m) if base and not base.error else None
            note = ""
            if bench.error:
                note = f"error: {bench.error}"
            elif counter and base_value is None:
                note = f"no {counter} counter"
            elif base_name and base is None and not unnamed:
                note = "baseline not run"
            elif base is not None and base.error:
                note = f"baseline error: {base.error}"
            ratio = value / base_value if value is not None and base_value and not bench.error else None
            base_display = base.display() if base is not None else (base_name if unnamed else f"`{base_name}`")
            rows.append((bench.display(), m, value, base_display, base_value, ratio, note))
    return rows


def target_cells(spec, ratio):
    """[target, met] for `ratio` against the numeric "target" of `spec` (a
    rule, a JSON_TARGETS entry or a --json record), "target_max" saying at most."""
    at_most = spec.get("target_max", False)
    return [fmt_target(spec["target"], at_most), target_met(ratio, spec["target"], at_most)]


def rule_target_cells(rule, name, ratio):
    """[target, met] of one row: a rule's target holds for its headline rows
    (e.g. the 1M-producer end of a curve), not for every point it shows."""
    if not is_number(rule.get("target")) or not re.fullmatch(rule.get("headline", ".*"), name):
        return ["", ""]
    return target_cells(rule, ratio)


def rule_gaps(rule, benches):
    """What of a rule the results lack: its subjects, a named baseline, its
    baseline counter or its headline ([] when everything is there)."""
    title = rule["title"]
    subjects = [n for n in benches if re.fullmatch(rule["subjects"], n)]
    if not subjects:
        return [f"{title}: no benchmark matches `{rule['subjects']}`"]
    gaps = [f"{title}: baseline `{b}` is not in the results" for b in baseline_names(rule) if b not in benches]
    counter = rule.get("baseline_counter")
    measured = [n for n in subjects if not benches[n].error]
    if counter and measured and not any(counter in benches[n].values for n in measured):
        gaps.append(f"{title}: no benchmark reports the counter `{counter}`")
    if "headline" in rule and not any(re.fullmatch(rule["headline"], n) for n in subjects):
        gaps.append(f"{title}: no benchmark matches the headline `{rule['headline']}`")
    return gaps


# --- JSON-lines results ------------------------------------------------------

# Plots of --json benches beyond the generic ones, by "bench" name: "axis"
# for a bench whose rows vary one field without naming it, "y2" for
# measured fields drawn beside the ratio (their own scale, on the right).
PLOT_HINTS = {
    "relay_checkpoint_interval": dict(axis="interval_ms",
                                      y2=["reread_p50", "reread_p99", "crash_measured"],
                                      y2_label="records re-read after a crash"),
}


# Targets checked on single records of --json programs, beside the pairs
# the records carry themselves, by program: the record of "bench" whose
# fields equal "where"; its "figure" over baseline_value (a fixed value
# named by baseline_label) is the ratio, which must reach target (at least;
# at most with target_max). Shown in the summary; one that matches no
# record is reported like an unmatched rule.
JSON_TARGETS = {
    "producers_bench": [
        # Issue targets: 10M producers in cache mode within a 256 MiB
        # budget; a restore of 1M producers within 2 s.
        dict(bench="producers", where=dict(mode="cache", producers=10_000_000), figure="peak_rss_mib",
             baseline_value=256.0, baseline_label="256 MiB budget (not measured)", target=1.0, target_max=True),
        dict(bench="producers", where=dict(mode="all", producers=1_000_000), figure="restore_s",
             baseline_value=2.0, baseline_label="2 s target (not measured)", target=1.0, target_max=True),
    ],
}


def json_target_name(target):
    where = ", ".join(f"{k}={fmt_field(k, v)}" for k, v in target["where"].items())
    return f"{target['bench']} ({where}): {target['figure']}"


def json_target_record(target, records):
    """The first record of the target's bench whose fields equal its where, or None."""
    for r in records:
        if r.get("bench") == target["bench"] and all(r.get(k) == v for k, v in target["where"].items()):
            return r
    return None


def json_target_gaps(target, records):
    r = json_target_record(target, records)
    if r is None:
        where = ", ".join(f"{k}={v}" for k, v in target["where"].items())
        return [f"{json_target_name(target)}: no {target['bench']} record with {where}"]
    if not is_number(r.get(target["figure"])):
        return [f"{json_target_name(target)}: its record has no {target['figure']}"]
    return []


def load_jsonl(path):
    """Returns (records, lines that did not parse as JSON objects)."""
    records, bad = [], 0
    if not os.path.exists(path):
        return records, bad
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(obj, dict):
                records.append(obj)
            else:
                bad += 1
    return records, bad


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt_field(key, v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if key == "unix_time" and is_number(v):
        return datetime.datetime.fromtimestamp(v, datetime.timezone.utc).strftime("%H:%M:%S")
    if is_number(v):
        if key in ("ratio", "target") or key.endswith("_ratio"):
            return fmt_ratio(v)
        if isinstance(v, int) and abs(v) >= 1000:
            return f"{v:,}"
        if isinstance(v, float) and abs(v) >= 1000:
            return f"{v:,.0f}"
        return fmt_sig(v)
    if isinstance(v, (dict, list)):
        return "`" + json.dumps(v, separators=(",", ":")) + "`"
    return str(v)


def json_columns(records):
    keys = []
    for r in records:
        for k in r:
            if k not in keys and k != "bench":
                keys.append(k)
    first = [k for k in ("axis",) if k in keys]
    # The pairing at the end, then when and under what load it was measured.
    last = [k for k in ("baseline", "ratio", "target", "load1", "cpus", "unix_time") if k in keys]
    return first + [k for k in keys if k not in first and k not in last] + last


# --- plots -------------------------------------------------------------------


class Plotter:
    """Writes gnuplot data and scripts under work_dir, SVGs under plots_dir."""

    def __init__(self, plots_dir, work_dir, enabled):
        self.plots_dir, self.work_dir = plots_dir, work_dir
        self.gnuplot = shutil.which("gnuplot") if enabled else None
        self.made, self.failed = [], []

    def plot(self, stem, title, xlabel, series, logx=False, y2=None, y2_link=None, xtics=None, one_line=False,
             hlines=(), ylabel=None):
        """series: [(label, [(x, y)])] on y1; y2: (axis label, [(label, [(x, y)])]) or None;
        y2_link: (axis label, factor): a second scale for the same line, y2 = y * factor;
        one_line: the series are ratios: draw the baseline (1) and keep it in view;
        ylabel: the y axis (default: the series' label when there is one series)."""
        os.makedirs(self.work_dir, exist_ok=True)
        os.makedirs(self.plots_dir, exist_ok=True)
        svg = os.path.join(self.plots_dir, stem + ".svg")
        lines = [
            "set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'",
            # Paths relative to the script's folder (gnuplot runs there):
            # the scripts are kept with the results and stay valid anywhere.
            f"set output {gp_str(os.path.relpath(svg, self.work_dir))}",
            f"set title {gp_str(title)}",
            f"set xlabel {gp_str(xlabel)}",
            "set grid",
            "set key outside bottom center horizontal",
            "set offsets graph 0.03, graph 0.03, 0, 0",
        ]
        if logx:
            lines += ["set logscale x", "set format x '%.0s%c'"]
        if xtics:
            lines.append("set xtics (" + ", ".join(f"{gp_str(lbl)} {x}" for x, lbl in xtics) + ")")
            lines.append(f"set xrange [{min(x for x, _ in xtics) - 0.5}:{max(x for x, _ in xtics) + 0.5}]")
        if one_line:
            top = max([1.0] + [y for _, pts in series for _, y in pts] + [y for _, y in hlines])
            lines.append(f"set yrange [0:{top * 1.15!r}]")
        else:
            lines.append("set yrange [0:*]")
        plots = []
        all_series = [(s, "x1y1") for s in series]
        if y2:
            top2 = max([y for _, pts in y2[1] for _, y in pts] or [1.0])
            lines += ["set y2tics", f"set y2label {gp_str(y2[0])}", f"set y2range [0:{top2 * 1.1!r}]",
                      "set ytics nomirror"]
            all_series += [(s, "x1y2") for s in y2[1]]
        if y2_link:
            lines += ["set y2tics", "set format y2 '%.2f'", f"set y2label {gp_str(y2_link[0])}", "set ytics nomirror",
                      f"set link y2 via y*{y2_link[1]!r} inverse y/{y2_link[1]!r}"]
        lines.append(f"set ylabel {gp_str(ylabel or (series[0][0] if len(series) == 1 else 'value'))}")
        for i, ((label, points), axes) in enumerate(all_series):
            dat = os.path.join(self.work_dir, f"{stem}.{i}.dat")
            with open(dat, "w", encoding="utf-8") as f:
                for x, y in sorted(points):
                    f.write(f"{x!r} {y!r}\n")
            plots.append(f"{gp_str(os.path.basename(dat))} using 1:2 axes {axes} with linespoints lw 2 pt 7 "
                         f"title {gp_str(label)}")
        if one_line:
            plots.append("1 with lines dt 2 lc rgb 'gray' title 'baseline (ratio 1)'")
        for label, y in hlines:
            plots.append(f"{y!r} with lines dt 3 lw 2 lc rgb 'red' title {gp_str(label)}")
        lines.append("plot " + ", \\\n     ".join(plots))
        script = os.path.join(self.work_dir, stem + ".gp")
        with open(script, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        if not self.gnuplot:
            return None
        run = subprocess.run([self.gnuplot, os.path.basename(script)], capture_output=True, text=True,
                             cwd=self.work_dir)
        if run.returncode != 0 or not os.path.exists(svg):
            self.failed.append((stem, run.stderr.strip()[-300:]))
            return None
        self.made.append(svg)
        return svg


def gp_str(s):
    return "'" + str(s).replace("'", "''") + "'"


# --- machine -----------------------------------------------------------------

LIBRARIES = ["librdkafka-dev", "librocksdb-dev", "libfmt-dev", "libboost-program-options-dev",
             "libsimdjson-dev", "libbenchmark-dev", "libgtest-dev", "libc6"]


def run_text(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def describe_machine(build_dir):
    m = {}
    lscpu = {}
    for line in run_text(["lscpu"]).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            lscpu[k.strip()] = v.strip()
    m["cpu"] = lscpu.get("Model name", platform.processor() or "unknown")
    m["cpus"] = lscpu.get("CPU(s)", str(os.cpu_count()))
    m["threads_per_core"] = lscpu.get("Thread(s) per core", "")
    m["hypervisor"] = lscpu.get("Hypervisor vendor", "")
    flags = set(lscpu.get("Flags", "").split())
    m["cpu_flags"] = [f for f in ("sse4_2", "pclmulqdq", "avx2", "vpclmulqdq", "avx512f") if f in flags]
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
        m["ram_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, AttributeError, ValueError):
        m["ram_gib"] = None
    m["kernel"] = f"{platform.system()} {platform.release()}"
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            m["os"] = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M).group(1)
    except (OSError, AttributeError):
        m["os"] = ""
    cache = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                mt = re.match(r"([A-Za-z_0-9]+):[A-Z]+=(.*)", line.strip())
                if mt:
                    cache[mt.group(1)] = mt.group(2)
    except OSError:
        pass
    cxx = cache.get("CMAKE_CXX_COMPILER", "c++")
    m["compiler"] = (run_text([cxx, "--version"]).splitlines() or ["unknown"])[0]
    bt = cache.get("CMAKE_BUILD_TYPE", "")
    m["build_type"] = bt
    m["cxx_flags"] = " ".join(x for x in (cache.get("CMAKE_CXX_FLAGS", ""),
                                          cache.get(f"CMAKE_CXX_FLAGS_{bt.upper()}", "") if bt else "") if x)
    libs = {}
    out = run_text(["dpkg-query", "-W", "-f=${Package} ${Version}\n"] + LIBRARIES)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            libs[parts[0]] = parts[1]
    m["libraries"] = libs
    m["tmp_fs"] = " ".join(run_text(["findmnt", "-no", "SOURCE,FSTYPE", "--target", "/tmp"]).split())
    commit = run_text(["git", "rev-parse", "--short=12", "HEAD"]).strip()
    if commit and run_text(["git", "status", "--porcelain", "--untracked-files=no"]).strip():
        commit += " (with uncommitted changes)"
    m["commit"] = commit
    return m


def machine_line(m):
    cpu = f"{m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs"
    if m.get("threads_per_core") and m["threads_per_core"] != "1":
        cpu += f" ({m['threads_per_core']} threads per core)"
    if m.get("hypervisor"):
        cpu += f", {m['hypervisor']} VM"
    if m.get("cpu_flags"):
        cpu += " (" + " ".join(m["cpu_flags"]) + ")"
    parts = [cpu]
    if m.get("ram_gib"):
        parts.append(f"{m['ram_gib']} GiB RAM")
    parts.append(m.get("kernel", ""))
    if m.get("os"):
        parts.append(m["os"])
    if m.get("tmp_fs"):
        parts.append(f"/tmp on {m['tmp_fs']}")
    return "; ".join(p for p in parts if p)


# --- report ------------------------------------------------------------------


def read_text(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return default


class Program:
    def __init__(self, results, name):
        self.name = name
        p = lambda ext: os.path.join(results, f"{name}.{ext}")
        self.kind = read_text(p("kind"))
        self.cmd = read_text(p("cmd"))
        self.date = read_text(p("date"))
        self.seconds = read_text(p("seconds"))
        self.rc = read_text(p("rc"), "?")
        self.load_before = read_text(p("load-before"))
        self.load_after = read_text(p("load-after"))
        self.log = read_text(p("log"))
        self.gbench, self.context = {}, {}
        self.records, self.bad_lines = [], 0
        self.load_error = None
        if self.kind == "gbench":
            try:
                self.gbench, self.context = load_gbench(p("gbench.json"))
            except (OSError, ValueError) as e:
                self.load_error = f"no Google Benchmark JSON ({e.__class__.__name__})"
        else:
            self.records, self.bad_lines = load_jsonl(p("jsonl"))


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # A '|' ends a cell even inside backticks: escape it (GitHub renders \| as |).
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def log_tail(text, n=30):
    # librdkafka's own log lines ("%4|...|CONFWARN|...") are noise here.
    lines = [line for line in text.splitlines() if not re.match(r"%\d\|", line)]
    return "\n".join(lines[-n:])


def relpath(path, report):
    return os.path.relpath(path, os.path.dirname(os.path.abspath(report))).replace(os.sep, "/")


def gbench_headlines(prog):
    """[program, figure, baseline, ratio, target, met] rows for the summary."""
    out = []
    for rule in RULES.get(prog.name) or []:
        if "headline" not in rule:
            continue
        for subject, m, value, base_name, _, ratio, note in comparison_rows(rule, prog.gbench):
            name = subject.split("`")[1]
            if re.fullmatch(rule["headline"], name):
                out.append([prog.name, f"{subject}: {metric(m).label}", base_name,
                            f"**{fmt_ratio(ratio)}**" if ratio is not None else note or "—"]
                           + rule_target_cells(rule, name, ratio))
    return out


def json_headlines(prog):
    """The reference point of each sweep, or every row of a short table."""
    out = []
    groups = {}
    for r in prog.records:
        groups.setdefault(str(r.get("bench", prog.name)), []).append(r)
    for bench, records in groups.items():
        rows = [r for r in records if r.get("axis") == "reference"]
        if not rows and len(records) <= 4:
            rows = records
        for r in rows:
            if not is_number(r.get("ratio")):
                continue
            a = r.get("axis", PLOT_HINTS.get(bench, {}).get("axis"))
            if a == "reference":
                what = "reference point"
            elif isinstance(a, str) and a in r:
                what = f"{a}={fmt_field(a, r[a])}"
            else:
                what = ", ".join(f"{k}={v}" for k, v in r.items()
                                 if isinstance(v, str) and k not in ("bench", "baseline", "axis"))
            out.append([prog.name, f"{bench}" + (f" ({what})" if what else ""), str(r.get("baseline", "")),
                        f"**{fmt_ratio(r['ratio'])}**"] + json_target_cells(r))
    return out


def json_target_cells(record):
    """[target, met]: a --json row's numeric target is a ratio to reach at least."""
    if is_number(record.get("target")):
        return target_cells(record, record["ratio"])
    return [fmt_field("target", record["target"]) if "target" in record else "", ""]


def json_target_headlines(prog):
    """Summary rows of the program's JSON_TARGETS that its records have."""
    out = []
    for t in JSON_TARGETS.get(prog.name, []):
        r = json_target_record(t, prog.records)
        value = r.get(t["figure"]) if r else None
        if not is_number(value):
            continue  # reported by unmatched_rules
        ratio = value / t["baseline_value"]
        out.append([prog.name, f"{json_target_name(t)} = {fmt_field(t['figure'], value)}", t["baseline_label"],
                    f"**{fmt_ratio(ratio)}**"] + target_cells(t, ratio))
    return out


def unmatched_rules(prog):
    """What of the program's rules and targets its results do not have.

    Only for a program with results: one without says so already. A
    benchmark renamed without its rule would otherwise vanish silently."""
    if prog.kind == "gbench":
        if not prog.gbench:
            return []
        return [g for rule in RULES.get(prog.name, []) for g in rule_gaps(rule, prog.gbench)]
    if not prog.records:
        return []
    return [g for t in JSON_TARGETS.get(prog.name, []) for g in json_target_gaps(t, prog.records)]


def unmatched_line(prog, gaps):
    # A filtered run (--quick) leaves benchmarks out on purpose: say so
    # rather than stay silent, so a real rename is still visible.
    filtered = " (this run had a --benchmark_filter)" if "--benchmark_filter" in prog.cmd else ""
    return f"Report rules that matched nothing (scripts/bench_report.py){filtered}: " + "; ".join(gaps) + "."


def render_gbench(prog, plotter, report):
    out = []
    rules = RULES.get(prog.name) or default_rules(prog.gbench)
    for rule in rules:
        rows = comparison_rows(rule, prog.gbench)
        if not rows:
            continue
        out += ["", f"**{rule['title']}**", ""]
        targeted = is_number(rule.get("target"))
        table = []
        for subject, m, value, base_name, base_value, ratio, note in rows:
            mt = metric(m)
            row = [subject, mt.heading(), mt.fmt(value) if value is not None else "—", base_name,
                   mt.fmt(base_value) if base_value is not None else "—",
                   f"**{fmt_ratio(ratio)}**" if ratio is not None else "—"]
            if targeted:
                row += rule_target_cells(rule, subject.split("`")[1], ratio)
            table.append(row + [note])
        out += md_table(["benchmark", "figure", "value", "baseline (same run)", "baseline value", "ratio"]
                        + (["target", "met"] if targeted else []) + ["note"], table)
    if prog.name == "engine_bench":
        out += engine_plot(prog, plotter, report)
    # Every benchmark, as measured, for anything the pairs above leave out.
    rows = []
    for b in prog.gbench.values():
        extra = ", ".join(f"{k}={fmt_sig(v)}" for k, v in b.values.items()
                          if k not in ("real_ns", "cpu_ns", "items", "bytes"))
        rows.append([b.display(), b.repetitions, b.iterations if b.iterations is not None else "", fmt_ns(b.values.get("real_ns")),
                     fmt_ns(b.values.get("cpu_ns")),
                     fmt_scaled(b.values["items"], "/s") if "items" in b.values else "",
                     fmt_scaled(b.values["bytes"], "B/s") if "bytes" in b.values else "", extra,
                     f"error: {b.error}" if b.error else ""])
    if rows:
        out += ["", f"<details><summary>Every benchmark of {prog.name} (medians when repeated; "
                    "rates per CPU second)</summary>", ""]
        out += md_table(["benchmark", "repetitions", "iterations", "wall time", "CPU time", "items/s", "bytes/s",
                         "counters", "error"], rows)
        out += ["", "</details>"]
    return out


CURVE_DISTRIBUTIONS = {0: "uniform", 1: "Zipf-like"}
CURVE_FEEDS = {0: "Process()", 1: "ProcessBatch()", 2: "Prefetch + Process()"}


def engine_curve_series(benches):
    """[(label, [(producers, ratio to 1k)])], one series per (distribution, feed)
    of BM_DecisionCurve, each starting at (1000, 1.0): 1k producers is the
    baseline every point was measured against."""
    series = {}
    for name, b in benches.items():
        mt = re.fullmatch(r"BM_DecisionCurve/producers:(\d+)/zipf:(\d+)/feed:(\d+)", name)
        if mt and "ratio_to_1k" in b.values and not b.error:
            key = (int(mt.group(2)), int(mt.group(3)))
            series.setdefault(key, [(1000, 1.0)]).append((int(mt.group(1)), b.values["ratio_to_1k"]))
    return [(f"{CURVE_DISTRIBUTIONS.get(z, f'zipf {z}')}, {CURVE_FEEDS.get(f, f'feed {f}')}", sorted(pts))
            for (z, f), pts in sorted(series.items())]


def engine_plot(prog, plotter, report):
    series = engine_curve_series(prog.gbench)
    if not series:
        return []
    title = "Engine decisions per CPU second vs tracked producers, ratio to 1k producers"
    svg = plotter.plot("engine_decisions_vs_producers", title, "producers (log scale)", series, logx=True,
                       one_line=True, hlines=[(f"target {fmt_target(ENGINE_CURVE_TARGET)} at 1M producers",
                                               ENGINE_CURVE_TARGET)],
                       ylabel="ratio to 1k producers (same process)")
    if not svg:
        return []
    return ["", f"![{title}]({relpath(svg, report)})"]


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "_", str(s)).strip("_").lower() or "x"


def render_json(prog, plotter, report):
    out = []
    if not prog.records:
        out += ["", "No JSON lines from this program (it may predate --json); its output:", "", "```text",
                log_tail(prog.log), "```"]
        return out
    groups = {}
    for r in prog.records:
        groups.setdefault(str(r.get("bench", prog.name)), []).append(r)
    for bench, records in groups.items():
        cols = json_columns(records)
        out += ["", f"**{bench}**", ""]
        rows = [[fmt_field(k, r[k]) if k in r else "" for k in cols] for r in records]
        if "ratio" in cols:
            i = cols.index("ratio")
            for row in rows:
                if row[i]:
                    row[i] = f"**{row[i]}**"
        out += md_table(cols, rows)
        out += json_plots(prog, bench, records, plotter, report)
    if prog.bad_lines:
        out += ["", f"({prog.bad_lines} line(s) looked like JSON but did not parse; see the log.)"]
    return out


def json_plots(prog, bench, records, plotter, report):
    out = []
    hint = PLOT_HINTS.get(bench, {})
    if "axis" in hint and not any("axis" in r for r in records):
        records = [dict(r, axis=hint["axis"]) for r in records]
    axes = []
    for r in records:
        a = r.get("axis")
        if isinstance(a, str) and a not in axes:
            axes.append(a)
    for a in axes:
        # The reference point of a one-axis-at-a-time sweep belongs on every axis.
        rows = [r for r in records
                if r.get("axis") in (a, "reference") and is_number(r.get("ratio")) and r.get(a) is not None]
        pts = [(r[a], r["ratio"]) for r in rows]
        y2 = None
        extra = [k for k in hint.get("y2", []) if any(is_number(r.get(k)) for r in rows)]
        if extra:
            y2 = (hint.get("y2_label", ", ".join(extra)),
                  [(k, [(r[a], r[k]) for r in rows if is_number(r.get(k))]) for k in extra])
        if not pts:
            continue
        base = next((str(r["baseline"]) for r in records if r.get("axis") == a and "baseline" in r), "baseline")
        targets = sorted({r["target"] for r in records
                          if r.get("axis") in (a, "reference") and is_number(r.get("target"))})
        hlines = [(f"target {fmt_sig(t)}", t) for t in targets]
        stem = f"{slug(prog.name)}_{slug(bench)}_{slug(a)}"
        title = f"{bench}: ratio to {base} vs {a}"
        if all(is_number(x) for x, _ in pts):
            xs = [x for x, _ in pts]
            logx = min(xs) > 0 and max(xs) / min(xs) >= 50
            svg = plotter.plot(stem, title, a + (" (log scale)" if logx else ""), [(f"ratio to {base}", pts)],
                               logx=logx, one_line=True, hlines=hlines, y2=y2)
        else:
            labels = []
            for x, _ in pts:
                if str(x) not in labels:
                    labels.append(str(x))
            svg = plotter.plot(stem, title, a, [(f"ratio to {base}", [(labels.index(str(x)), y) for x, y in pts])],
                               xtics=list(enumerate(labels)), one_line=True, hlines=hlines)
        if svg:
            out += ["", f"![{title}]({relpath(svg, report)})"]
    out += resource_plot(prog, bench, records, plotter, report)
    return out


def resource_plot(prog, bench, records, plotter, report):
    """Peak RSS and restore time against producers (log x), when reported."""
    rows = [r for r in records if is_number(r.get("producers"))]
    if not rows:
        return []
    keys = [k for r in rows for k in r if is_number(r[k])]
    rss = next((k for k in keys if "rss" in k.lower()), None)
    restore = next((k for k in keys if "restore" in k.lower()), None)
    if not rss and not restore:
        return []
    series, y2 = [], None
    if rss:
        series = [(rss, [(r["producers"], r[rss]) for r in rows if is_number(r.get(rss))])]
    if restore:
        pts = [(r["producers"], r[restore]) for r in rows if is_number(r.get(restore))]
        if series:
            y2 = (restore, [(restore, pts)])
        else:
            series = [(restore, pts)]
    xs = [r["producers"] for r in rows]
    logx = min(xs) > 0 and max(xs) / min(xs) >= 50
    title = f"{bench}: " + " and ".join(k for k in (rss, restore) if k) + " vs producers"
    svg = plotter.plot(f"{slug(prog.name)}_{slug(bench)}_resources", title,
                       "producers" + (" (log scale)" if logx else ""), series, logx=logx, y2=y2)
    return ["", f"![{title}]({relpath(svg, report)})"] if svg else []


def render_block(results, report, plots_dir, plots_enabled=True):
    names = sorted(f[:-5] for f in os.listdir(results) if f.endswith(".kind"))
    order = ["engine_bench", "replay_bench", "checkpoint_bench", "relay_bench"]
    names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    programs = [Program(results, n) for n in names]
    machine = {}
    try:
        with open(os.path.join(results, "machine.json"), encoding="utf-8") as f:
            machine = json.load(f)
    except (OSError, ValueError):
        pass
    plotter = Plotter(plots_dir, os.path.join(results, "plot-data"), plots_enabled)
    mode = read_text(os.path.join(results, "mode.txt"), "full")
    # Several lines when --only re-ran some programs after a whole run.
    commands = read_text(os.path.join(results, "command.txt"), "scripts/bench.sh").splitlines()
    dates = read_text(os.path.join(results, "date.txt"), "?").splitlines()
    out = [BEGIN,
           "<!-- Generated by scripts/bench.sh (scripts/bench_report.py): edits between the bench markers "
           "are overwritten; write analysis outside them. -->",
           "",
           "## Latest run (generated)",
           "",
           "- **Command**: " + ", then ".join(f"`{c}`" for c in commands)
           + (" — a *quick* smoke run: tiny sizes, not figures to quote" if mode == "quick" else ""),
           "- **Date**: " + ", then ".join(dates)
           + (f"; commit {machine['commit']}" if machine.get("commit") else ""),
           f"- **Machine**: {machine_line(machine)}" if machine else "- **Machine**: not recorded",
           ]
    if machine:
        out.append(f"- **Build**: {machine.get('compiler', '?')}, {machine.get('build_type', '?')}"
                   + (f" (`{machine['cxx_flags']}`)" if machine.get("cxx_flags") else ""))
        libs = machine.get("libraries", {})
        if libs:
            out.append("- **Libraries** (dpkg): " + ", ".join(f"{k} {v}" for k, v in sorted(libs.items())))
    out.append(f"- **Load average** (1, 5, 15 min): {read_text(os.path.join(results, 'load-before.txt'), '?')} "
               f"before, {read_text(os.path.join(results, 'load-after.txt'), '?')} after "
               f"({machine.get('cpus', '?')} CPUs); per program below")
    out += ["",
            "Every figure stands beside a baseline measured in the same run, and the ratio is "
            "subject / baseline: above 1 is faster for rates, slower for times. Rates of Google "
            "Benchmark programs are per CPU second (single-threaded loops: the figure other "
            "processes on a shared machine disturb least); latencies are wall time.",
            ""]
    summary = []
    for p in programs:
        status = "ok" if p.rc == "0" else ("timed out" if p.rc == "124" else f"failed (exit {p.rc})")
        summary.append([p.name, p.kind, p.date, f"{p.seconds} s" if p.seconds else "", f"{p.load_before} → {p.load_after}",
                        status, f"`{p.cmd}`"])
    out += md_table(["program", "kind", "started", "took", "load before → after", "status", "command"], summary)
    headlines = []
    for p in programs:
        headlines += gbench_headlines(p) if p.kind == "gbench" else json_headlines(p) + json_target_headlines(p)
    if headlines:
        out += ["", "**At a glance** (details and every other figure below):", ""]
        out += md_table(["program", "figure", "baseline (same run)", "ratio", "target", "met"], headlines)
    unmatched = []
    for p in programs:
        out += ["", f"### {p.name}", ""]
        if p.rc not in ("0", "?"):
            out += [f"Exited with {p.rc}; the end of its output:", "", "```text", log_tail(p.log, 20), "```"]
        if p.load_error:
            out += ["", p.load_error + "."]
            continue
        out += render_gbench(p, plotter, report) if p.kind == "gbench" else render_json(p, plotter, report)
        gaps = unmatched_rules(p)
        if gaps:
            out += ["", unmatched_line(p, gaps)]
            unmatched += [(p.name, g) for g in gaps]
    if plotter.failed:
        out += ["", "Plots that gnuplot could not draw: " + ", ".join(s for s, _ in plotter.failed)]
    if not plotter.gnuplot and plots_enabled:
        out += ["", "(No plots: gnuplot is not installed; `scripts/install-deps.sh --bench` installs it.)"]
    out += ["", END]
    text = "\n".join(out) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text), plotter, unmatched


def write_report(report, block):
    """Replaces the generated block of `report`, keeping everything else."""
    text = ""
    if os.path.exists(report):
        with open(report, encoding="utf-8") as f:
            text = f.read()
    b, e = text.find(BEGIN), text.find(END)
    if b >= 0 and e > b:
        end = e + len(END)
        if text[end:end + 1] == "\n":
            end += 1
        text = text[:b] + block + text[end:]
    elif text:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        text = "# Benchmarks\n\n" + block
    os.makedirs(os.path.dirname(os.path.abspath(report)), exist_ok=True)
    tmp = report + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, report)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mp = sub.add_parser("machine")
    mp.add_argument("--build", default="build")
    rp = sub.add_parser("report")
    rp.add_argument("--results", required=True)
    rp.add_argument("--report", required=True)
    rp.add_argument("--plots", required=True)
    rp.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "machine":
        json.dump(describe_machine(args.build), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if not os.path.isdir(args.results):
        print(f"bench_report: no results in {args.results}", file=sys.stderr)
        return 1
    block, plotter, unmatched = render_block(args.results, args.report, args.plots, not args.no_plots)
    write_report(args.report, block)
    if plotter.gnuplot and os.path.isdir(args.plots):
        # Plots of programs no longer in the results would be stale.
        made = {os.path.abspath(p) for p in plotter.made}
        for f in os.listdir(args.plots):
            path = os.path.abspath(os.path.join(args.plots, f))
            if f.endswith(".svg") and path not in made:
                os.remove(path)
    for stem, err in plotter.failed:
        print(f"bench_report: plot {stem} failed: {err}", file=sys.stderr)
    for name, gap in unmatched:
        print(f"bench_report: {name}: rule matched nothing: {gap}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
