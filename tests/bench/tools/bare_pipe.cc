// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// bare_pipe: the baseline of scripts/bench_relay_binary.py, a process of its
// own beside exactly-relay. It copies every record of --input, as it is
// (key, value, headers, partition), to --output with librdkafka's consumer
// and producer, with the in-process benchmarks' pipe loop (CopyRecords in
// bench_support.cc), with exactly-relay's defaults for both clients (group
// consumer without auto-commit, idempotent producer) and the same malloc
// settings as exactly-relay carrying chunked messages.
//
//   bare_pipe --brokers B --input T --output T [--group G] [--queue-kbytes K]
//
// It copies up to the input's high watermarks, read at start, then prints
// one line and exits 0:
//   records R bytes B seconds S cpu_s C faults F peak_rss_kib K
// R, B: records and value bytes copied; S, C, F: wall time, process CPU
// and minor page faults from the first record consumed to the last one
// handed to the producer (as exactly-relay's forwarded counter counts), so
// the script can set them beside the relay's; K: the process's peak RSS. Then it flushes (not timed).
// Errors: a message on stderr, exit 1.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "bench_support.h"
#include "exactly/allocator_tuning.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"

namespace {

using namespace std::chrono_literals;
using namespace exactly;
using namespace exactly::bench;
using Clock = std::chrono::steady_clock;

std::uint64_t PeakRssKib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocatorForLongRunningProcess();
  (void)TuneAllocatorForLargeMessages();
  const Flags f(argc, argv, {"brokers", "input", "output", "group", "queue-kbytes"}, {});
  const std::string bs = f.Str("brokers", ""), input = f.Str("input", ""), output = f.Str("output", "");
  if (bs.empty() || input.empty() || output.empty()) {
    Die(Status::InvalidArgument("--brokers, --input and --output are required"), "flags");
  }
  kafka::KafkaConfig cconf{{"bootstrap.servers", bs},
                           {"group.id", f.Str("group", "bare-pipe")},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           {"auto.offset.reset", "earliest"}};
  if (f.Has("queue-kbytes")) cconf.Set("queued.max.messages.kbytes", fmt::format("{}", f.U64("queue-kbytes", 0)));
  auto consumer = Check(kafka::Consumer::Create(cconf), "consumer");
  auto producer =
      Check(kafka::Producer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}, {"enable.idempotence", "true"}}),
            "producer");
  // Learn the output's leaders before the clock starts, as the relay does
  // when it is created.
  Check(producer.PartitionCount(output, 10s), "output metadata");
  const std::int32_t partitions = Check(producer.PartitionCount(input, 10s), "input metadata");
  std::uint64_t records = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto wm = Check(consumer.QueryWatermarks(TopicPartition{Topic(input), Partition(p)}, 10s), "watermarks");
    records += static_cast<std::uint64_t>(std::max<std::int64_t>(wm.high.value() - wm.low.value(), 0));
  }
  Check(consumer.Subscribe({input}), "subscribe");
  Clock::time_point t0;
  double c0 = 0;
  std::uint64_t faults0 = 0;
  const std::uint64_t bytes = CopyRecords(consumer, producer, output, records, [&] {
    t0 = Clock::now();
    c0 = CpuSeconds();
    faults0 = MinorFaults();
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - c0;
  const std::uint64_t faults = MinorFaults() - faults0;
  std::printf("records %llu bytes %llu seconds %.6f cpu_s %.6f faults %llu peak_rss_kib %llu\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(bytes), seconds, cpu,
              static_cast<unsigned long long>(faults), static_cast<unsigned long long>(PeakRssKib()));
  std::fflush(stdout);
  Check(producer.Flush(120s), "flush");
  (void)consumer.Close(10s);
  return 0;
}
