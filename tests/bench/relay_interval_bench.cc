// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// relay_interval_bench: the relay's checkpoint interval (10, 30, 100, 300,
// 1000 ms; synced RocksDB) against what it costs and what it buys:
// throughput (against the bare consume -> produce pipe of the same round)
// and how many records a crash makes the relay read and forward again.
//
// Input: the reference point of relay_bench (100 B values, 1,000
// producers, 4 partitions, --records records; layout in bench_support.h),
// on the embedded (mock) broker. Each round runs the pipe once, then the
// relay once per interval, each in its own group, output and store.
//
// Re-read, two ways:
// - Sampled: the relay is driven in RunFor slices of random length
//   (uniform 2-20 ms, fixed seed), so the slice ends fall at random phases
//   of the checkpoint cycle. At each slice end the benchmark reads
//   Positions() and sums, over partitions, next offset to process minus
//   the offset the last committed checkpoint recorded: the records a crash
//   at that instant would make the relay process (and forward) again.
//   Reported: mean, median, p99 and max over every sample of every run.
// - Crash and restart (--crashes per interval): a relay on a fresh store
//   runs until it has processed a random 20-80 % of the input; the
//   distance above is noted (`predicted`), then the relay is destroyed
//   without Close() (no flush, no final checkpoint: a crash of the process
//   as far as the store and the group are concerned). A new relay on the
//   same store and group (it waits for the dead member's session to
//   expire) resumes from the store and runs to the end; the records it
//   processes beyond the ones the first never reached are the re-read
//   (`measured`) ones. They are re-forwarded with the same stamps, so a
//   downstream exactly consumer drops them as duplicates. `measured` can be
//   below `predicted` when a checkpoint already being written completes
//   during the destruction.
//
//   relay_interval_bench [--records N (1,000,000)] [--runs R] [--crashes C]
//                        [--intervals 10,30,100,300,1000]
//                        [--queue-messages N] [--json]
//
// --queue-messages sets the relay output producer's
// queue.buffering.max.messages (librdkafka's default: 100,000). A
// checkpoint covers only input whose output is acknowledged, so the
// output still queued or in flight adds to the re-read distance on top of
// one interval's worth of input.
//
// --json: one JSON object per interval on stdout:
//   bench          "relay_checkpoint_interval"
//   interval_ms, sync, size, producers, partitions, records, runs
//   baseline       "pipe"; baseline_rps / subject_rps: median records/s of
//                  the pipe / the relay; ratio, paired_ratio, paired_min,
//                  paired_max as in relay_bench
//   subject_cpu_us median process CPU us per record of the relay
//   checkpoints    median checkpoints per run; checkpoint_ms: median of
//                  the runs' mean trigger-to-commit time
//   reread_mean, reread_p50, reread_p99, reread_max: sampled re-read
//                  distance (records); reread_samples: how many samples;
//                  reread_ms: reread_mean at subject_rps, in milliseconds
//                  of input
//   queue_messages the --queue-messages value (0: librdkafka's default)
//   crashes        crash/restart cycles; crash_predicted, crash_measured:
//                  their mean re-read records by either method
//   load1, cpus, unix_time
#include <fmt/format.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "exactly/checkpoint_store.h"

namespace {

using namespace exactly;
using namespace exactly::bench;
using namespace std::chrono_literals;

struct Crash {
  double predicted = 0, measured = 0;
};

std::pair<std::uint64_t, std::uint64_t> NextAndDistance(const kafka::Relay& relay) {
  std::uint64_t next = 0, distance = 0;
  for (const auto& p : relay.Positions()) {
    const std::int64_t n = p.next ? p.next->value() : 0;
    next += static_cast<std::uint64_t>(n);
    distance += static_cast<std::uint64_t>(n - (p.checkpointed ? p.checkpointed->value() : 0));
  }
  return {next, distance};
}

Crash CrashAndRestart(kafka::MockCluster& cluster, const Input& in, std::chrono::milliseconds interval, int n,
                      std::uint64_t queue_messages, std::mt19937& rng) {
  const std::string tag = fmt::format("crash-{}-{}", interval.count(), n);
  Check(cluster.CreateTopic("out-" + tag, in.spec.partitions), "output topic");
  TempDir dir("exactly-interval-bench");
  auto store = Check(CheckpointStore::Open(dir.path(), StoreOptions{}), "store");
  auto options = RelayOptionsFor(cluster.bootstraps(), "group-" + tag, in.spec.topic, "out-" + tag, interval);
  if (queue_messages != 0) {
    options.producer_config.Set("queue.buffering.max.messages", fmt::format("{}", queue_messages));
  }
  const auto stop_at = static_cast<std::uint64_t>(
      std::uniform_real_distribution<double>(0.2, 0.8)(rng) * static_cast<double>(in.records));
  std::uniform_int_distribution<int> slice(2, 20);
  Crash c;
  std::uint64_t crashed_at = 0;
  {
    auto relay = Check(kafka::Relay::Create(*store, options), "relay");
    for (;;) {
      const auto [next, distance] = NextAndDistance(*relay);
      if (next >= stop_at) {
        crashed_at = next;
        c.predicted = static_cast<double>(distance);
        break;
      }
      Check(relay->RunFor(std::chrono::milliseconds(slice(rng))), "relay");
    }
  }  // destroyed without Close(): a crash
  auto relay = Check(kafka::Relay::Create(*store, options), "restarted relay");
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (NextAndDistance(*relay).first < in.records) {
    if (std::chrono::steady_clock::now() > deadline) Die(Status::TimedOut("restarted relay"), "crash");
    Check(relay->RunFor(20ms), "restarted relay");
  }
  const auto st = relay->stats().consumer;
  const std::uint64_t processed = st.polled - st.skipped;
  c.measured = static_cast<double>(processed) - static_cast<double>(in.records - crashed_at);
  (void)relay->Close(10s);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f(argc, argv, {"records", "runs", "crashes", "intervals", "queue-messages"}, {"json"});
  const std::uint64_t queue_messages = f.U64("queue-messages", 0);
  const bool json = f.Has("json");
  const int runs = static_cast<int>(f.U64("runs", 3));
  const int crashes = static_cast<int>(f.U64("crashes", 1));
  std::vector<std::chrono::milliseconds> intervals;
  for (const std::uint64_t ms : f.U64List("intervals", "10,30,100,300,1000")) {
    if (ms == 0) Die(Status::InvalidArgument("--intervals: 0 ms is not a checkpoint interval"), "flags");
    intervals.emplace_back(static_cast<std::int64_t>(ms));
  }
  std::FILE* human = json ? stderr : stdout;
  auto cluster = Check(kafka::MockCluster::Create(1), "mock cluster");
  InputSpec spec;
  spec.topic = "in";
  spec.records = f.U64("records", 1000000);
  const Input in = ProduceInput(cluster, spec);
  std::fprintf(human, "relay_interval_bench: %llu records of %zu B, %llu producers, %d partitions, %d round(s)\n",
               static_cast<unsigned long long>(in.records), spec.value_bytes,
               static_cast<unsigned long long>(spec.producers), spec.partitions, runs);

  const std::size_t k = intervals.size();
  std::vector<double> pipe;
  std::vector<std::vector<double>> relay(k), cpu(k), checkpoints(k), checkpoint_ms(k), samples(k);
  for (int r = 0; r < runs; ++r) {
    const Measurement p = RunPipe(cluster, in, fmt::format("pipe-{}", r), fmt::format("pipe-out-{}", r));
    pipe.push_back(p.rps);
    std::fprintf(human, "  round %d: pipe %8.0f rec/s\n", r, p.rps);
    for (std::size_t i = 0; i < k; ++i) {
      RelayRun run;
      run.interval = intervals[i];
      run.slice_min_ms = 2;
      run.slice_max_ms = 20;
      run.seed = static_cast<std::uint32_t>(1000 * r + i + 1);
      run.sample_reread = true;
      run.queue_messages = queue_messages;
      const std::string tag = fmt::format("{}-{}", intervals[i].count(), r);
      const Measurement q = RunRelay(cluster, in, "relay-" + tag, "relay-out-" + tag, run);
      relay[i].push_back(q.rps);
      cpu[i].push_back(q.cpu_us);
      checkpoints[i].push_back(static_cast<double>(q.checkpoints));
      checkpoint_ms[i].push_back(q.checkpoint_ms);
      samples[i].insert(samples[i].end(), q.reread_samples.begin(), q.reread_samples.end());
      std::fprintf(human,
                   "    %5lld ms: relay %8.0f rec/s (ratio %.2f), %llu checkpoints, %.0f ms each, re-read mean %.0f "
                   "max %.0f\n",
                   static_cast<long long>(intervals[i].count()), q.rps, q.rps / p.rps,
                   static_cast<unsigned long long>(q.checkpoints), q.checkpoint_ms, Mean(q.reread_samples),
                   Percentile(q.reread_samples, 1.0));
      std::fflush(human);
    }
  }
  std::mt19937 rng(42);
  for (std::size_t i = 0; i < k; ++i) {
    std::vector<Crash> cs;
    for (int n = 0; n < crashes; ++n) {
      cs.push_back(CrashAndRestart(cluster, in, intervals[i], n, queue_messages, rng));
      std::fprintf(human, "  %5lld ms: crash %d: re-read predicted %.0f, measured %.0f\n",
                   static_cast<long long>(intervals[i].count()), n, cs.back().predicted, cs.back().measured);
    }
    double pred = 0, meas = 0;
    for (const Crash& c : cs) {
      pred += c.predicted / static_cast<double>(cs.size());
      meas += c.measured / static_cast<double>(cs.size());
    }
    const Paired s = Summarize(pipe, relay[i]);
    const double mean = Mean(samples[i]);
    std::fprintf(human,
                 "  %5lld ms: relay %.0f rec/s, relay/pipe %.2f (paired %.2f); re-read mean %.0f, p50 %.0f, p99 %.0f, "
                 "max %.0f records (%.0f ms of input)\n",
                 static_cast<long long>(intervals[i].count()), s.subject, s.ratio, s.paired, mean,
                 Percentile(samples[i], 0.5), Percentile(samples[i], 0.99), Percentile(samples[i], 1.0),
                 mean / s.subject * 1000);
    if (!json) continue;
    JsonLine j;
    j.Str("bench", "relay_checkpoint_interval").Int("interval_ms", static_cast<std::uint64_t>(intervals[i].count()));
    j.Bool("sync", true).Int("size", spec.value_bytes).Int("producers", spec.producers);
    j.Int("partitions", static_cast<std::uint64_t>(spec.partitions)).Int("records", in.records);
    j.Int("runs", static_cast<std::uint64_t>(runs)).Str("baseline", "pipe").Num("baseline_rps", s.baseline);
    j.Num("subject_rps", s.subject).Num("ratio", s.ratio).Num("paired_ratio", s.paired);
    j.Num("paired_min", s.paired_min).Num("paired_max", s.paired_max).Num("subject_cpu_us", Median(cpu[i]));
    j.Num("checkpoints", Median(checkpoints[i])).Num("checkpoint_ms", Median(checkpoint_ms[i]));
    j.Num("reread_mean", mean).Num("reread_p50", Percentile(samples[i], 0.5));
    j.Num("reread_p99", Percentile(samples[i], 0.99)).Num("reread_max", Percentile(samples[i], 1.0));
    j.Int("reread_samples", samples[i].size()).Num("reread_ms", mean / s.subject * 1000);
    j.Int("queue_messages", queue_messages);
    j.Int("crashes", static_cast<std::uint64_t>(crashes)).Num("crash_predicted", pred).Num("crash_measured", meas);
    j.Machine().Print();
  }
  return 0;
}
