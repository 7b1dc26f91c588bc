#!/usr/bin/env python3
# Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
"""Unit test of scripts/bench_report.py on fixed results (no benchmark runs).

  python3 -m unittest -v bench_report_test      (from scripts/)
"""

import json
import os
import shutil
import tempfile
import unittest

import bench_report

# Google Benchmark JSON as engine_bench writes it with repetitions and
# aggregates (numbers chosen so the ratios are exact).
GBENCH = {
    "context": {"num_cpus": 2},
    "benchmarks": [
        {"name": "BM_Decisions/1000/real_time_median", "run_name": "BM_Decisions/1000/real_time",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 3,
         "real_time": 2.0, "cpu_time": 1.0, "time_unit": "ms", "items_per_second": 5e6},
        {"name": "BM_Decisions/1000/real_time_mean", "run_name": "BM_Decisions/1000/real_time",
         "run_type": "aggregate", "aggregate_name": "mean", "repetitions": 3, "iterations": 3,
         "real_time": 9.0, "cpu_time": 9.0, "time_unit": "ms", "items_per_second": 1e6},
        {"name": "BM_Decisions/1000000/real_time_median", "run_name": "BM_Decisions/1000000/real_time",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 3,
         "real_time": 4.0, "cpu_time": 4.0, "time_unit": "ms", "items_per_second": 2.5e6},
        {"name": "BM_Classify_median", "run_name": "BM_Classify", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 100,
         "real_time": 300.0, "cpu_time": 200.0, "time_unit": "us", "items_per_second": 40e6},
        {"name": "BM_MemoryPerProducer/1000/iterations:1_median",
         "run_name": "BM_MemoryPerProducer/1000/iterations:1", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 1, "real_time": 1.0, "cpu_time": 1.0,
         "time_unit": "ms", "bytes_per_producer": 96.0},
        {"name": "BM_ReassembleBaselineMemcpy_median", "run_name": "BM_ReassembleBaselineMemcpy",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 10,
         "real_time": 40.0, "cpu_time": 40.0, "time_unit": "us", "bytes_per_second": 20e9},
        {"name": "BM_Reassemble_median", "run_name": "BM_Reassemble", "run_type": "aggregate",
         "aggregate_name": "median", "repetitions": 3, "iterations": 10, "real_time": 80.0, "cpu_time": 80.0,
         "time_unit": "us", "bytes_per_second": 10e9},
        {"name": "BM_Crc32cImplementation/3_median", "run_name": "BM_Crc32cImplementation/3",
         "run_type": "aggregate", "aggregate_name": "median", "repetitions": 3, "iterations": 0,
         "real_time": 0, "cpu_time": 0, "time_unit": "ns", "label": "vpclmul",
         "error_occurred": True, "error_message": "unsupported on this CPU"},
    ],
}

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
    json.dumps({"bench": "chunked", "axis": "compression", "compression": "lz4", "baseline": "pipe", "ratio": 0.85}),
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

    def generate(self, plots=False):
        args = ["report", "--results", self.results, "--report", self.report, "--plots", self.plots]
        self.assertEqual(bench_report.main(args + ([] if plots else ["--no-plots"])), 0)
        with open(self.report, encoding="utf-8") as f:
            return f.read()

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
        text = self.generate().split("### engine_bench")[1]
        # 5e6/s over 2 ms wall is 10e6 per CPU second (1 ms CPU); classify 40e6.
        row = self.row(text, "`BM_Decisions/1000`", "`BM_Classify`")
        self.assertIn("10.0 M/s", row)
        self.assertIn("**0.25**", row)
        row = self.row(text, "`BM_Decisions/1000000`", "`BM_Decisions/1000`")
        self.assertIn("**0.25**", row)
        self.assertIn("**0.50**", self.row(text, "`BM_Reassemble`", "`BM_ReassembleBaselineMemcpy`"))
        self.assertIn("**0.75**", self.row(text, "`BM_MemoryPerProducer/1000`", "budget"))
        self.assertIn("unsupported on this CPU", self.row(text, "BM_Crc32cImplementation/3", "vpclmul"))

    def test_summary_lists_headline_ratios_and_reference_points(self):
        text = self.generate().split("### ")[0]
        self.assertIn("| engine_bench | `BM_Decisions/1000`: items per CPU second | `BM_Classify` | **0.25** |  |",
                      text)
        self.assertIn("| sweep_bench | relay_vs_pipe (reference point) | pipe | **0.92** | 0.90 |", text)
        self.assertIn("| sweep_bench | relay_vs_recipe (recipe=rocksdb\\|sync) | recipe | **6.25** |  |", text)
        self.assertNotIn("size=10,000", text)  # sweep points stay in the program's section

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
