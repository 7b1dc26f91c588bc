#!/usr/bin/env python3
# Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
"""Unit test of scripts/bench_report.py on fixed results (no benchmark runs).

  python3 -m unittest -v bench_report_test      (from scripts/)
"""

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import bench_report

# Google Benchmark JSON as engine_bench writes it with repetitions and
# aggregates (numbers chosen so the ratios are exact).
def curve(producers, zipf, feed, per_s, per_s_1k, aggregate="median"):
    """A BM_DecisionCurve aggregate row: its own 1k-producer baseline as a counter."""
    run = f"BM_DecisionCurve/producers:{producers}/zipf:{zipf}/feed:{feed}/min_time:1.000"
    return {"name": f"{run}_{aggregate}", "run_name": run, "run_type": "aggregate", "aggregate_name": aggregate,
            "repetitions": 3, "iterations": 3, "real_time": 7.0, "cpu_time": 7.0, "time_unit": "ms",
            "per_s": per_s, "per_s_1k": per_s_1k, "ratio_to_1k": per_s / per_s_1k}


GBENCH = {
    "context": {"num_cpus": 2},
    "benchmarks": [
        {"name": "BM_Decisions/1000/0/real_time_median", "run_name": "BM_Decisions/1000/0/real_time",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 3,
         "real_time": 2.0, "cpu_time": 1.0, "time_unit": "ms", "items_per_second": 5e6},
        {"name": "BM_Decisions/1000/0/real_time_mean", "run_name": "BM_Decisions/1000/0/real_time",
         "run_type": "aggregate", "aggregate_name": "mean", "repetitions": 3, "iterations": 3,
         "real_time": 9.0, "cpu_time": 9.0, "time_unit": "ms", "items_per_second": 1e6},
        {"name": "BM_Decisions/1/1/real_time_median", "run_name": "BM_Decisions/1/1/real_time",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 3,
         "real_time": 4.0, "cpu_time": 4.0, "time_unit": "ms", "items_per_second": 8e6},
        # Two distributions and feeds, at two table sizes (the 1k baseline is in each row).
        curve(10000, 0, 0, 8e6, 10e6),
        curve(1000000, 0, 0, 2.5e6, 10e6),
        curve(1000000, 0, 0, 9e6, 9e6, aggregate="mean"),
        curve(10000, 1, 2, 9e6, 10e6),
        curve(1000000, 1, 2, 6e6, 10e6),
        {"name": "BM_Classify_median", "run_name": "BM_Classify", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 100,
         "real_time": 300.0, "cpu_time": 200.0, "time_unit": "us", "items_per_second": 40e6},
        {"name": "BM_MemoryPerProducer/1000/iterations:1_median",
         "run_name": "BM_MemoryPerProducer/1000/iterations:1", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 1, "real_time": 1.0, "cpu_time": 1.0,
         "time_unit": "ms", "bytes_per_producer": 96.0},
        {"name": "BM_MemoryPerProducer/1000000/iterations:1_median",
         "run_name": "BM_MemoryPerProducer/1000000/iterations:1", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 1, "real_time": 500.0, "cpu_time": 500.0,
         "time_unit": "ms", "bytes_per_producer": 80.0},
        {"name": "BM_ReassembleBaselineMemcpy_median", "run_name": "BM_ReassembleBaselineMemcpy",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 10,
         "real_time": 40.0, "cpu_time": 40.0, "time_unit": "us", "bytes_per_second": 20e9},
        {"name": "BM_Reassemble_median", "run_name": "BM_Reassemble", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 10, "real_time": 80.0, "cpu_time": 80.0,
         "time_unit": "us", "bytes_per_second": 10e9},
        {"name": "BM_Crc32cCopyChunks_median", "run_name": "BM_Crc32cCopyChunks",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 10,
         "real_time": 64.0, "cpu_time": 64.0, "time_unit": "us", "bytes_per_second": 12.5e9},
        {"name": "BM_Crc32cImplementation/3_median", "run_name": "BM_Crc32cImplementation/3",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 0,
         "real_time": 0, "cpu_time": 0, "time_unit": "ns", "label": "vpclmul",
         "error_occurred": True, "error_message": "unsupported on this CPU"},
    ],
}


def latency(run_name, p50_us, p99_us=None):
    """A checkpoint_bench row (no repetitions: one row per benchmark)."""
    return {"name": run_name, "run_name": run_name, "run_type": "iteration", "repetitions": 1, "iterations": 5,
            "real_time": p50_us / 1e3, "cpu_time": p50_us / 1e3, "time_unit": "ms",
            "p50_us": p50_us, "p99_us": p99_us if p99_us is not None else p50_us * 2}


# checkpoint_bench as it names its benchmarks: BM_Restore/deltas/into engine/with producers.
CHECKPOINT = {
    "context": {"num_cpus": 2},
    "benchmarks": [
        latency("BM_Checkpoint/100/0/1/iterations:2000", 400.0),
        latency("BM_Checkpoint/10000/100/1/iterations:300", 3000.0),
        latency("BM_WriteFloor/1/16/iterations:2000", 200.0),
        latency("BM_WriteFloor/1/340000/iterations:1000", 1500.0),
        latency("BM_Restore/0/0/1/iterations:5", 1e6),
        latency("BM_Restore/20/0/1/iterations:5", 1.5e6),
        latency("BM_Restore/0/1/1/iterations:5", 1.2e6),
        latency("BM_Restore/20/0/0/iterations:5", 10.0),
    ],
}

# producers_bench's rows (docs/bench/results/producers_bench.jsonl): the
# 10M cache-mode RSS within its budget, the 1M restore over its 2 s.
PRODUCERS = [
    {"bench": "producers", "mode": "cache", "producers": 1000000, "budget": 1000000, "peak_rss_mib": 144.3,
     "restore_s": 0.007},
    {"bench": "producers", "mode": "all", "producers": 1000000, "budget": 0, "peak_rss_mib": 232.8,
     "restore_s": 2.5},
    {"bench": "producers", "mode": "cache", "producers": 10000000, "budget": 1000000, "peak_rss_mib": 230.4,
     "restore_s": 0.0286},
    {"bench": "producers", "mode": "all", "producers": 10000000, "budget": 0, "peak_rss_mib": 1906.3,
     "restore_s": 16.1},
    {"bench": "producers_ratio", "axis": "producers", "producers": 10000000, "baseline": "all",
     "rss_ratio": 0.121, "ratio": 0.121},
]

JSONL = "\n".join([
    json.dumps({"bench": "relay_vs_pipe", "axis": "reference", "size": 1000, "partitions": 4,
                "baseline": "pipe", "baseline_rps": 50000.0, "subject_rps": 46000.0, "ratio": 0.92, "target": 0.9}),
    json.dumps({"bench": "relay_vs_pipe", "axis": "size", "size": 100, "partitions": 4,
                "baseline": "pipe", "baseline_rps": 100000.0, "subject_rps": 90000.0, "ratio": 0.9}),
    json.dumps({"bench": "relay_vs_pipe", "axis": "size", "size": 10000, "partitions": 4,
                "baseline": "pipe", "baseline_rps": 10000.0, "subject_rps": 9500.0, "ratio": 0.95}),
    "{not json: a human line that starts with a brace",
    json.dumps({"bench": "relay_vs_recipe", "recipe": "rocksdb|sync", "baseline": "recipe", "ratio": 6.25}),
    json.dumps({"bench": "chunked", "axis": "compression", "compression": "none", "baseline": "pipe", "ratio": 0.8}),
    json.dumps({"bench": "chunked", "axis": "compression", "compression": "lz4", "baseline": "pipe", "ratio": 0.85,
                "target": 0.9}),
    json.dumps({"bench": "relay_checkpoint_interval", "interval_ms": 10, "baseline": "pipe", "ratio": 0.7,
                "reread_p50": 900, "reread_p99": 2000}),
    json.dumps({"bench": "relay_checkpoint_interval", "interval_ms": 1000, "baseline": "pipe", "ratio": 0.95,
                "reread_p50": 90000, "reread_p99": 150000}),
    json.dumps({"bench": "producers", "producers": 1000, "peak_rss_mib": 10.0, "restore_ms": 1.0}),
    json.dumps({"bench": "producers", "producers": 10000000, "peak_rss_mib": 900.0, "restore_ms": 9000.0}),
]) + "\n"

HAND_WRITTEN_TOP = "# Benchmarks\n\nWhy each figure is what it is.\n\n"
HAND_WRITTEN_BOTTOM = "\n## Analysis\n\nKept as written.\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class BenchReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bench-report-test-")
        self.results = os.path.join(self.dir, "results")
        os.makedirs(self.results)
        r = lambda f: os.path.join(self.results, f)
        write(r("engine_bench.kind"), "gbench\n")
        write(r("engine_bench.gbench.json"), json.dumps(GBENCH))
        write(r("engine_bench.rc"), "0\n")
        write(r("engine_bench.load-before"), "0.50 0.40 0.30\n")
        write(r("engine_bench.load-after"), "0.90 0.50 0.35\n")
        write(r("engine_bench.cmd"), "build/tests/bench/engine_bench --benchmark_repetitions=3\n")
        self.write_gbench("checkpoint_bench", CHECKPOINT)
        self.write_json("producers_bench", PRODUCERS)
        write(r("sweep_bench.kind"), "json\n")
        write(r("sweep_bench.jsonl"), JSONL)
        write(r("sweep_bench.rc"), "0\n")
        write(r("old_bench.kind"), "json\n")
        write(r("old_bench.log"), "old_bench: median ratio 0.83\n")
        write(r("old_bench.rc"), "0\n")
        write(r("broken_bench.kind"), "gbench\n")
        write(r("broken_bench.rc"), "134\n")
        write(r("broken_bench.log"), "terminate called after throwing\n")
        write(r("command.txt"), "scripts/bench.sh --quick\n")
        write(r("mode.txt"), "quick\n")
        write(r("load-before.txt"), "0.50 0.40 0.30\n")
        write(r("machine.json"), json.dumps({"cpu": "Test CPU", "cpus": "2", "ram_gib": 8.0,
                                             "kernel": "Linux 6.1", "compiler": "g++ 12",
                                             "build_type": "RelWithDebInfo",
                                             "libraries": {"librocksdb-dev": "7.8.3-2"}}))
        self.report = os.path.join(self.dir, "BENCHMARKS.md")
        write(self.report, HAND_WRITTEN_TOP + bench_report.BEGIN + "\nold figures\n" + bench_report.END + "\n"
              + HAND_WRITTEN_BOTTOM)
        self.plots = os.path.join(self.dir, "plots")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write_gbench(self, name, doc, cmd=None):
        r = lambda f: os.path.join(self.results, f)
        write(r(f"{name}.kind"), "gbench\n")
        write(r(f"{name}.gbench.json"), json.dumps(doc))
        write(r(f"{name}.rc"), "0\n")
        write(r(f"{name}.cmd"), (cmd or f"build/tests/bench/{name}") + "\n")

    def write_json(self, name, records):
        r = lambda f: os.path.join(self.results, f)
        write(r(f"{name}.kind"), "json\n")
        write(r(f"{name}.jsonl"), "".join(json.dumps(x) + "\n" for x in records))
        write(r(f"{name}.rc"), "0\n")

    def generate(self, plots=False):
        """The report file; what went to stderr is in self.stderr."""
        args = ["report", "--results", self.results, "--report", self.report, "--plots", self.plots]
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(bench_report.main(args + ([] if plots else ["--no-plots"])), 0)
        self.stderr = err.getvalue()
        with open(self.report, encoding="utf-8") as f:
            return f.read()

    def section(self, text, program):
        return text.split(f"### {program}\n")[1].split("\n### ")[0]

    def row(self, text, *needles):
        rows = [line for line in text.splitlines() if all(n in line for n in needles)]
        self.assertTrue(rows, f"no line with {needles} in:\n{text}")
        return rows[0]

    def test_keeps_hand_written_text_and_replaces_the_block(self):
        text = self.generate()
        self.assertTrue(text.startswith(HAND_WRITTEN_TOP))
        self.assertTrue(text.endswith(HAND_WRITTEN_BOTTOM))
        self.assertNotIn("old figures", text)
        self.assertEqual(text.count(bench_report.BEGIN), 1)
        self.assertEqual(text, self.generate())  # regenerating is stable

    def test_header_has_command_machine_and_load(self):
        text = self.generate()
        self.assertIn("`scripts/bench.sh --quick`", text)
        self.assertIn("Test CPU, 2 CPUs", text)
        self.assertIn("librocksdb-dev 7.8.3-2", text)
        self.assertIn("0.50 0.40 0.30 → 0.90 0.50 0.35", text)

    def test_gbench_pairs_use_medians_and_cpu_time_rates(self):
        text = self.section(self.generate(), "engine_bench")
        # 5e6/s over 2 ms wall is 10e6 per CPU second (1 ms CPU); classify 40e6.
        row = self.row(text, "`BM_Decisions/1000/0`", "`BM_Classify`")
        self.assertIn("10.0 M/s", row)
        self.assertIn("**0.25**", row)
        self.assertIn("**0.20**", self.row(text, "`BM_Decisions/1/1`", "`BM_Classify`"))
        self.assertIn("**0.50**", self.row(text, "`BM_Reassemble`", "`BM_ReassembleBaselineMemcpy`"))
        self.assertIn("**0.80**", self.row(text, "`BM_Reassemble`", "`BM_Crc32cCopyChunks`"))
        self.assertIn("**0.75**", self.row(text, "`BM_MemoryPerProducer/1000`", "budget"))
        self.assertIn("unsupported on this CPU", self.row(text, "BM_Crc32cImplementation/3", "vpclmul"))

    def test_summary_lists_headline_ratios_and_reference_points(self):
        text = self.generate().split("### ")[0]
        self.assertIn("| program | figure | baseline (same run) | ratio | target | met |", text)
        self.assertIn("| engine_bench | `BM_Decisions/1000/0`: items per CPU second | `BM_Classify` | **0.25** |  |  |",
                      text)
        self.assertNotIn("`BM_Decisions/1/1`", text)  # not a headline
        self.assertIn("| sweep_bench | relay_vs_pipe (reference point) | pipe | **0.92** | ≥ 0.90 | yes |", text)
        self.assertIn("| sweep_bench | relay_vs_recipe (recipe=rocksdb\\|sync) | recipe | **6.25** |  |  |", text)
        self.assertNotIn("size=10,000", text)  # sweep points stay in the program's section

    def test_named_arguments_are_kept_and_run_settings_dropped(self):
        clean = bench_report.clean_name
        self.assertEqual(clean("BM_DecisionCurve/producers:1000000/zipf:1/feed:2/min_time:1.000"),
                         "BM_DecisionCurve/producers:1000000/zipf:1/feed:2")
        self.assertEqual(clean("BM_X/4/iterations:1/repeats:3/threads:2/min_warmup_time:0.500/real_time"), "BM_X/4")
        self.assertEqual(clean("BM_Y/n:8/process_time"), "BM_Y/n:8")
        self.assertEqual(clean("BM_Z/manual_time"), "BM_Z")
        # Each named variant is its own benchmark in the report, not one merged name.
        text = self.section(self.generate(), "engine_bench")
        for name in ("producers:10000/zipf:0/feed:0", "producers:1000000/zipf:0/feed:0",
                     "producers:10000/zipf:1/feed:2", "producers:1000000/zipf:1/feed:2"):
            self.row(text, f"| `BM_DecisionCurve/{name}` | 3 |")
        self.assertNotIn("min_time", text)

    def test_curve_against_its_own_1k_counter_with_the_target_on_1m(self):
        text = self.generate()
        engine = self.section(text, "engine_bench")
        self.assertIn("**Decisions as the producer table grows, against 1k producers (same process, alternating)**",
                      engine)
        self.assertIn("| benchmark | figure | value | baseline (same run) | baseline value | ratio | target | met "
                      "| note |", engine)
        # The medians (not the mean row), per CPU second, against the 1k counter of the same row.
        # Process() alone, one record at a time: shown, but not what the target is about
        # (ProcessBatch() and Prefetch() + Process(), the way the library's consumer feeds it).
        self.assertIn("| `BM_DecisionCurve/producers:1000000/zipf:0/feed:0` | decisions per CPU second "
                      "(higher is better) | 2.50 M/s | 1k producers, same benchmark | 10.0 M/s | **0.25** "
                      "|  |  |  |", engine)
        self.assertIn("| **0.60** | ≥ 0.50 | yes |", self.row(engine, "`BM_DecisionCurve/producers:1000000/zipf:1"))
        # The target is about 1M producers: the 10k points carry none.
        self.assertIn("| **0.80** |  |  |  |", self.row(engine, "`BM_DecisionCurve/producers:10000/zipf:0"))
        summary = text.split("### ")[0]
        self.assertIn("| engine_bench | `BM_DecisionCurve/producers:1000000/zipf:1/feed:2`: decisions per CPU second "
                      "| 1k producers, same benchmark | **0.60** | ≥ 0.50 | yes |", summary)
        self.assertNotIn("producers:10000/", summary)
        self.assertNotIn("feed:0", summary)

    def test_curve_plot_is_the_ratio_to_1k_per_distribution_and_feed(self):
        benches, _ = bench_report.load_gbench(os.path.join(self.results, "engine_bench.gbench.json"))
        self.assertEqual(bench_report.engine_curve_series(benches), [
            ("uniform, Process()", [(1000, 1.0), (10000, 0.8), (1000000, 0.25)]),
            ("Zipf-like, Prefetch + Process()", [(1000, 1.0), (10000, 0.9), (1000000, 0.6)]),
        ])
        self.generate()  # without gnuplot the plot's data and script are still written
        data = os.path.join(self.results, "plot-data", "engine_decisions_vs_producers")
        with open(data + ".gp", encoding="utf-8") as f:
            script = f.read()
        self.assertIn("set logscale x", script)
        self.assertIn("0.5 with lines dt 3 lw 2 lc rgb 'red'", script)
        self.assertIn("title 'Zipf-like, Prefetch + Process()'", script)
        with open(data + ".0.dat", encoding="utf-8") as f:
            self.assertEqual(f.read().split(), ["1000", "1.0", "10000", "0.8", "1000000", "0.25"])

    def test_restore_against_loading_and_against_the_2s_target(self):
        text = self.generate()
        checkpoint = self.section(text, "checkpoint_bench")
        self.assertIn("**1.20**", self.row(checkpoint, "| `BM_Restore/0/1/1`", "| `BM_Restore/0/0/1`"))
        self.assertIn("**1.50**", self.row(checkpoint, "| `BM_Restore/20/0/1`", "| `BM_Restore/0/0/1`"))
        self.assertNotIn("| `BM_Restore/0/0/1` | p50", checkpoint)  # the baseline is not its own subject
        self.assertNotIn("baseline not run", checkpoint)
        self.assertIn("| `BM_Restore/0/1/1` | p50 latency (lower is better) | 1.20 s | target (not measured) | 2.00 s "
                      "| **0.60** | ≤ 1.00 | yes |  |", checkpoint)
        summary = text.split("### ")[0]
        self.assertIn("| checkpoint_bench | `BM_Restore/0/1/1`: p50 latency | `BM_Restore/0/0/1` | **1.20** |  |  |",
                      summary)
        self.assertIn("| checkpoint_bench | `BM_Restore/0/1/1`: p50 latency | target (not measured) | **0.60** "
                      "| ≤ 1.00 | yes |", summary)

    def test_targets_have_a_direction_and_say_whether_met(self):
        self.assertEqual(bench_report.fmt_target(0.5), "≥ 0.50")
        self.assertEqual(bench_report.fmt_target(1.0, at_most=True), "≤ 1.00")
        self.assertEqual(bench_report.target_met(0.5, 0.5), "yes")
        self.assertEqual(bench_report.target_met(0.49, 0.5), "**no**")
        self.assertEqual(bench_report.target_met(1.0, 1.0, at_most=True), "yes")
        self.assertEqual(bench_report.target_met(1.01, 1.0, at_most=True), "**no**")
        self.assertEqual(bench_report.target_met(None, 1.0), "—")
        summary = self.generate().split("### ")[0]
        # A --json row's target is a ratio to reach at least.
        self.assertIn("| sweep_bench | chunked (compression=lz4) | pipe | **0.85** | ≥ 0.90 | **no** |", summary)

    def test_producers_targets_from_its_records(self):
        summary = self.generate().split("### ")[0]
        self.assertIn("| producers_bench | producers (mode=cache, producers=10,000,000): peak_rss_mib = 230 "
                      "| 256 MiB budget (not measured) | **0.90** | ≤ 1.00 | yes |", summary)
        self.assertIn("| producers_bench | producers (mode=all, producers=1,000,000): restore_s = 2.50 "
                      "| 2 s target (not measured) | **1.25** | ≤ 1.00 | **no** |", summary)

    def test_complete_results_report_no_unmatched_rules(self):
        text = self.generate()
        self.assertNotIn("matched nothing", text)
        self.assertEqual(self.stderr, "")

    def test_rules_that_match_nothing_are_reported(self):
        # Benchmarks renamed under the rules: the old curve names, another classify.
        doc = json.loads(json.dumps(GBENCH))
        doc["benchmarks"] = [b for b in doc["benchmarks"] if not b["name"].startswith("BM_DecisionCurve")]
        for b in doc["benchmarks"]:
            if b["run_name"] == "BM_Classify":
                b["run_name"] = b["name"] = "BM_ClassifyEnvelope"
        doc["benchmarks"].append({"name": "BM_DecisionCurve/zipf:0/batch:0/min_time:1.000_median",
                                  "run_name": "BM_DecisionCurve/zipf:0/batch:0/min_time:1.000",
                                  "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3,
                                  "iterations": 3, "real_time": 7.0, "cpu_time": 7.0, "time_unit": "ms",
                                  "per_s_1M": 2.5e6, "per_s_1k": 10e6, "ratio_1M_1k": 0.25})
        self.write_gbench("engine_bench", doc)
        # A filtered run without the restore into the engine; producers_bench at small sizes.
        doc = json.loads(json.dumps(CHECKPOINT))
        doc["benchmarks"] = [b for b in doc["benchmarks"] if "BM_Restore/0/1/1" not in b["run_name"]]
        self.write_gbench("checkpoint_bench", doc, cmd="build/tests/bench/checkpoint_bench --benchmark_filter=x")
        self.write_json("producers_bench", [r for r in PRODUCERS if r["producers"] != 10000000])
        text = self.generate()
        engine = self.row(self.section(text, "engine_bench"), "Report rules that matched nothing")
        self.assertIn("Decisions against classifying the envelope alone: baseline `BM_Classify` is not in the results",
                      engine)
        self.assertIn("Decisions as the producer table grows, against 1k producers (same process, alternating): "
                      "no benchmark matches `BM_DecisionCurve/producers:", engine)
        self.assertNotIn("Reassembly", engine)
        checkpoint = self.row(self.section(text, "checkpoint_bench"), "Report rules that matched nothing")
        self.assertIn("(this run had a --benchmark_filter)", checkpoint)
        self.assertIn("no benchmark matches the headline `BM_Restore/0/1/1`", checkpoint)
        self.assertIn("Restore of 1M producers into the engine against the 2 s target: no benchmark matches",
                      checkpoint)
        producers = self.row(self.section(text, "producers_bench"), "Report rules that matched nothing")
        self.assertIn("producers (mode=cache, producers=10,000,000): peak_rss_mib: no producers record with "
                      "mode=cache, producers=10000000", producers)
        self.assertNotIn("restore_s", producers)
        # The same on stderr, one line each, so a run's console shows them too.
        self.assertIn("bench_report: engine_bench: rule matched nothing: Decisions against classifying the "
                      "envelope alone: baseline `BM_Classify` is not in the results\n", self.stderr)
        self.assertEqual(self.stderr.count("bench_report: "), 5, self.stderr)

    def test_json_lines_become_tables_with_every_field(self):
        text = self.generate()
        self.assertIn("| axis | size | partitions | baseline_rps | subject_rps | baseline | ratio | target |", text)
        self.assertIn("| size | 10,000 | 4 | 10,000 | 9,500 | pipe | **0.95** |  |", text)
        self.assertIn("| reference | 1,000 | 4 | 50,000 | 46,000 | pipe | **0.92** | 0.90 |", text)
        self.assertIn("rocksdb\\|sync", self.row(text, "**6.25**"))
        self.assertIn("1 line(s) looked like JSON but did not parse", text)

    def test_programs_without_json_or_failing_show_their_output(self):
        text = self.generate()
        self.assertIn("old_bench: median ratio 0.83", text)
        self.assertIn("failed (exit 134)", text)
        self.assertIn("terminate called after throwing", text)

    @unittest.skipUnless(shutil.which("gnuplot"), "gnuplot not installed")
    def test_plots_axis_sweeps_producers_and_engine_scale(self):
        text = self.generate(plots=True)
        for stem in ("sweep_bench_relay_vs_pipe_size", "sweep_bench_producers_resources",
                     "sweep_bench_chunked_compression",  # categorical x axis
                     "engine_decisions_vs_producers"):
            svg = os.path.join(self.plots, stem + ".svg")
            self.assertTrue(os.path.getsize(svg) > 0, stem)
            self.assertIn(f"](plots/{stem}.svg)", text)
        data = os.path.join(self.results, "plot-data", "sweep_bench_relay_vs_pipe_size")
        with open(data + ".gp", encoding="utf-8") as f:
            self.assertIn("set logscale x", f.read())  # 100 .. 10000 is plotted on a log axis
        with open(data + ".0.dat", encoding="utf-8") as f:
            # The sweep's two points and the reference point, in x order.
            self.assertEqual(f.read().split(), ["100", "0.9", "1000", "0.92", "10000", "0.95"])
        # No "axis" in its rows: the known field, with the re-read distance on the right.
        with open(os.path.join(self.results, "plot-data", "sweep_bench_relay_checkpoint_interval_interval_ms.gp"),
                  encoding="utf-8") as f:
            script = f.read()
        self.assertIn("axes x1y2", script)
        self.assertIn("set logscale x", script)
        write(os.path.join(self.plots, "stale.svg"), "<svg/>")
        self.generate(plots=True)
        self.assertFalse(os.path.exists(os.path.join(self.plots, "stale.svg")))


if __name__ == "__main__":
    unittest.main()
