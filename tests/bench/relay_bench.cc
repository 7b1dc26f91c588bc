// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// relay_bench: the dedup relay against a bare librdkafka consume -> produce
// pipe, side by side in one process, on the embedded (mock) broker, with
// the same client settings, across message sizes, producer counts and
// partition counts. The relay checkpoints every --interval-ms (100) with
// synced RocksDB writes, never covering input whose output is not
// acknowledged.
//
// The sweep varies one axis at a time around the reference point (100 B
// values, 1,000 producers, 4 partitions): sizes 1 KB and 10 KB, producers
// 10 and 100,000, partitions 1 and 16; 7 configurations. Each has its own
// input topic (layout: bench_support.h; --records records, fewer for large
// values so that one input holds at most --max-bytes of values, and at
// most 250,000 a partition). Each measurement consumes the whole input in
// its own consumer group into its own output topic. Runs alternate pipe,
// relay, pipe, relay...; reported are the medians, their ratio, and the
// median of the per-run (paired) ratios, which is less sensitive to a
// machine whose load drifts.
//
//   relay_bench [--records N (1,000,000)] [--runs R] [--max-bytes B]
//               [--interval-ms MS]
//               [--axis all|reference|size|producers|partitions]
//               [--size B --producers P --partitions N]  (one configuration)
//               [--only pipe|relay] [--queue-kbytes K] [--queue-messages N]
//               [--reference-runs R] [--json]
//
// --runs: measurements per side at each point (3); --reference-runs: at
// the reference point, which carries the target (9, or --runs when only
// that is given). Identical runs here spread from 0.66 to 1.29 in
// relay/pipe, and 3 of them do not read the ratio to better than +-0.1.
//
// --queue-kbytes: the consumers' queued.max.messages.kbytes, pipe and
// relay alike (default 262144, 256 MiB: more than any input here holds,
// so neither side ever meets librdkafka 2.0.2's one-second fetch pause
// and both measure themselves; 0: librdkafka's 64 MiB, where the 1 KB
// and 10 KB points measure that pause). See ConsumerConfig
// (bench_support.cc) for the same pause by record count, and
// relay_chunked_bench.
// --queue-messages: the consumers' queued.min.messages, pipe and relay
// alike (default: ConsumerConfig's, 10,000,000; 100000 is librdkafka's
// default, where both sides measure the fetch pause by record count).
//
// --json: besides the human summary (stderr then), one JSON object per
// configuration on stdout, one line each:
//   bench          "relay_vs_pipe"
//   axis           "reference", "size", "producers", "partitions" or "point"
//   size           value bytes per record
//   producers      distinct producer ids in the input
//   partitions     input (and output) partitions
//   interval_ms    relay checkpoint interval; sync: synced RocksDB writes
//   records        input records consumed per run
//   runs           measurements per side
//   queue_kbytes   --queue-kbytes (0: librdkafka's default)
//   queue_messages --queue-messages (0: ConsumerConfig's)
//   baseline       "pipe"; baseline_rps / subject_rps: median records/s of
//                  the pipe / the relay; baseline_bps / subject_bps: the
//                  same in value bytes/s
//   ratio          subject_rps / baseline_rps (ratio of the medians)
//   paired_ratio   median of the per-run relay/pipe ratios; paired_min,
//                  paired_max: their range
//   baseline_cpu_us, subject_cpu_us: median process CPU us per record
//                  (client threads and the in-process broker included)
//   checkpoints    median number of relay checkpoints per run;
//                  checkpoint_ms: median of the runs' mean trigger-to-commit
//   target         the ratio aimed at (reference point only: 0.9)
//   load1, cpus, unix_time: machine load average and cores, when printed
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_support.h"

namespace {

using namespace exactly;
using namespace exactly::bench;
using namespace std::chrono_literals;

constexpr std::uint64_t kMaxRecordsPerPartition = 250000;

struct Point {
  std::string axis;
  std::size_t size;
  std::uint64_t producers;
  int partitions;
};

struct Settings {
  std::uint64_t records, max_bytes;
  int runs, reference_runs;
  std::chrono::milliseconds interval;
  std::string only;
  bool json;
  std::uint64_t queue_kbytes;    // consumers' queued.max.messages.kbytes, both sides (0: librdkafka's)
  std::uint64_t queue_messages;  // consumers' queued.min.messages, both sides (0: ConsumerConfig's)
};

void RunPoint(kafka::MockCluster& cluster, const Point& pt, const Settings& s) {
  const int runs = pt.axis == "reference" ? s.reference_runs : s.runs;
  InputSpec spec;
  spec.topic = fmt::format("in-s{}-p{}-n{}", pt.size, pt.producers, pt.partitions);
  spec.value_bytes = pt.size;
  spec.producers = pt.producers;
  spec.partitions = pt.partitions;
  // At most kMaxRecordsPerPartition a partition: the mock broker keeps
  // about 5 MiB of each, and 1 M lz4-compressed records in one partition
  // overran it.
  const std::uint64_t partition_cap = kMaxRecordsPerPartition * static_cast<std::uint64_t>(pt.partitions);
  spec.records = std::max<std::uint64_t>(1000, std::min({s.records, s.max_bytes / pt.size, partition_cap}));
  const Input in = ProduceInput(cluster, spec);
  std::FILE* human = s.json ? stderr : stdout;
  std::fprintf(human, "%s: %llu records of %zu B, %llu producers, %d partitions, %d run(s) each\n", pt.axis.c_str(),
               static_cast<unsigned long long>(in.records), pt.size, static_cast<unsigned long long>(pt.producers),
               pt.partitions, runs);
  std::vector<double> pipe, relay, pipe_cpu, relay_cpu, pipe_bps, relay_bps, checkpoints, checkpoint_ms;
  for (int r = 0; r < runs; ++r) {
    const std::string tag = fmt::format("{}-{}", spec.topic, r);
    Measurement p, q;
    RelayRun run{s.interval};
    if (s.queue_kbytes != 0) run.consumer_extra.Set("queued.max.messages.kbytes", std::to_string(s.queue_kbytes));
    if (s.queue_messages != 0) run.consumer_extra.Set("queued.min.messages", std::to_string(s.queue_messages));
    if (s.only != "relay") p = RunPipe(cluster, in, "pipe-" + tag, "pipe-out-" + tag, run.consumer_extra);
    if (s.only != "pipe") q = RunRelay(cluster, in, "relay-" + tag, "relay-out-" + tag, run);
    pipe.push_back(p.rps);
    relay.push_back(q.rps);
    pipe_cpu.push_back(p.cpu_us);
    relay_cpu.push_back(q.cpu_us);
    pipe_bps.push_back(p.bytes_per_s);
    relay_bps.push_back(q.bytes_per_s);
    checkpoints.push_back(static_cast<double>(q.checkpoints));
    checkpoint_ms.push_back(q.checkpoint_ms);
    std::fprintf(human,
                 "  run %d: pipe %8.0f rec/s %5.2f us CPU/rec   relay %8.0f rec/s %5.2f us CPU/rec "
                 "(%llu checkpoints, %.0f ms each)   ratio %.2f\n",
                 r, p.rps, p.cpu_us, q.rps, q.cpu_us, static_cast<unsigned long long>(q.checkpoints), q.checkpoint_ms,
                 p.rps > 0 ? q.rps / p.rps : 0.0);
    std::fflush(human);
  }
  const Paired sum = Summarize(pipe, relay);
  std::fprintf(human, "  median: pipe %.0f rec/s, relay %.0f rec/s, relay/pipe = %.2f (paired %.2f, %.2f-%.2f)\n",
               sum.baseline, sum.subject, sum.ratio, sum.paired, sum.paired_min, sum.paired_max);
  if (!s.json) return;
  JsonLine j;
  j.Str("bench", "relay_vs_pipe").Str("axis", pt.axis).Int("size", pt.size).Int("producers", pt.producers);
  j.Int("partitions", static_cast<std::uint64_t>(pt.partitions))
      .Int("interval_ms", static_cast<std::uint64_t>(s.interval.count()))
      .Bool("sync", true)
      .Int("records", in.records)
      .Int("runs", static_cast<std::uint64_t>(runs))
      .Int("queue_kbytes", s.queue_kbytes)
      .Int("queue_messages", s.queue_messages);
  j.Str("baseline", "pipe").Num("baseline_rps", sum.baseline).Num("subject_rps", sum.subject);
  j.Num("baseline_bps", Median(pipe_bps)).Num("subject_bps", Median(relay_bps));
  j.Num("ratio", sum.ratio).Num("paired_ratio", sum.paired).Num("paired_min", sum.paired_min);
  j.Num("paired_max", sum.paired_max).Num("baseline_cpu_us", Median(pipe_cpu)).Num("subject_cpu_us", Median(relay_cpu));
  j.Num("checkpoints", Median(checkpoints)).Num("checkpoint_ms", Median(checkpoint_ms));
  if (pt.axis == "reference") j.Num("target", 0.9);
  j.Machine().Print();
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f(argc, argv,
                {"records", "runs", "max-bytes", "interval-ms", "axis", "size", "producers", "partitions", "only",
                 "queue-kbytes", "queue-messages", "reference-runs"},
                {"json"});
  Settings s;
  s.records = f.U64("records", 1000000);
  s.max_bytes = f.U64("max-bytes", 200000000);
  s.runs = static_cast<int>(f.U64("runs", 3));
  s.reference_runs = static_cast<int>(f.U64("reference-runs", f.Has("runs") ? f.U64("runs", 3) : 9));
  s.interval = std::chrono::milliseconds(f.U64("interval-ms", 100));
  s.only = f.Str("only", "");
  s.queue_kbytes = f.U64("queue-kbytes", 262144);
  s.queue_messages = f.U64("queue-messages", 0);
  s.json = f.Has("json");
  const Point ref{"reference", 100, 1000, 4};
  std::vector<Point> points;
  if (f.Has("size") || f.Has("producers") || f.Has("partitions")) {
    points.push_back({"point", f.U64("size", ref.size), f.U64("producers", ref.producers),
                      static_cast<int>(f.U64("partitions", static_cast<std::uint64_t>(ref.partitions)))});
  } else {
    const std::string axis = f.Str("axis", "all");
    if (axis == "all" || axis == "reference") points.push_back(ref);
    if (axis == "all" || axis == "size") {
      for (std::size_t size : {1000, 10000}) points.push_back({"size", size, ref.producers, ref.partitions});
    }
    if (axis == "all" || axis == "producers") {
      for (std::uint64_t p : {10, 100000}) points.push_back({"producers", ref.size, p, ref.partitions});
    }
    if (axis == "all" || axis == "partitions") {
      for (int n : {1, 16}) points.push_back({"partitions", ref.size, ref.producers, n});
    }
    if (points.empty()) Die(Status::InvalidArgument(axis), "--axis");
  }
  auto cluster = Check(kafka::MockCluster::Create(1), "mock cluster");
  for (const Point& pt : points) RunPoint(cluster, pt, s);
  return 0;
}
