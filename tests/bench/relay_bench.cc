// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// relay_bench: the dedup relay against a bare librdkafka consume -> produce
// pipe, side by side in one run, on the embedded (mock) broker, with the
// same client settings. The relay checkpoints every 100 ms with synced
// RocksDB writes, flushing its output before each checkpoint.
//
// Each measurement consumes the same pre-produced input (N stamped records
// of 100 bytes with the three envelope headers, over 4 partitions) in its
// own consumer group and writes its own output topic. Time runs from the
// first consumed record to the output flushed (the relay: its final
// checkpoint written). Runs alternate pipe, relay, pipe, relay...; the
// medians are reported with their ratio, and the median of the per-run
// (paired) ratios.
//
//   relay_bench [--records N] [--runs R] [--interval-ms MS] [--only pipe|relay]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "exactly/checkpoint_store.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"

namespace {

using namespace exactly;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 4;
constexpr std::size_t kValueBytes = 100;

[[noreturn]] void Die(const Status& st, std::string_view what) {
  std::fprintf(stderr, "relay_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(), st.ToString().c_str());
  std::exit(1);
}

template <class T>
T Check(Result<T> r, std::string_view what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

void Check(const Status& st, std::string_view what) {
  if (!st.ok()) Die(st, what);
}

// The settings both pipelines share.
kafka::KafkaConfig ConsumerConfig(const std::string& bs, const std::string& group) {
  return kafka::KafkaConfig{{"bootstrap.servers", bs},         {"group.id", group},
                            {"fetch.wait.max.ms", "10"},       {"session.timeout.ms", "6000"},
                            {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
                            {"auto.offset.reset", "earliest"}};
}
kafka::KafkaConfig ProducerConfig(const std::string& bs) {
  return kafka::KafkaConfig{{"bootstrap.servers", bs}, {"linger.ms", "5"}, {"enable.idempotence", "true"}};
}

void ProduceInput(const std::string& bs, std::uint64_t records) {
  auto conf = ProducerConfig(bs);
  conf.Set("compression.type", "lz4");  // stays under the mock's ~5 MiB per partition
  auto producer = Check(kafka::Producer::Create(conf), "input producer");
  std::string value(kValueBytes, 'v');
  std::vector<HeaderView> headers;
  for (std::uint64_t i = 0; i < records; ++i) {
    const auto p = static_cast<std::int32_t>(i % kPartitions);
    const std::string id = fmt::format("bench-{}", p);
    const StampHeaders stamp = FormatStamp(StampSpec{id, EpochSeq{Epoch(1), Sequence(i / kPartitions)}, {}, {}, {}});
    headers = {{header::kProducer, stamp.producer}, {header::kEpoch, stamp.epoch}, {header::kSeq, stamp.seq}};
    std::snprintf(value.data(), value.size(), "record %llu", static_cast<unsigned long long>(i));
    const std::string key = fmt::format("key-{}", i % 1000);
    Check(producer.Produce({"in", Partition(p), std::string_view(key), std::string_view(value), headers}, 30s),
          "produce input");
  }
  Check(producer.Flush(60s), "flush input");
  auto consumer = Check(kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}}), "watermarks");
  for (int p = 0; p < kPartitions; ++p) {
    auto wm = Check(consumer.QueryWatermarks(TopicPartition{Topic("in"), Partition(p)}, 10s), "watermarks");
    if (wm.low.value() != 0) Die(Status::Corruption("the mock dropped input (retention)"), "input");
  }
}

// CPU time of the whole process (client threads and the mock broker).
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Records per second of a bare consume -> produce pipe; *cpu: process CPU
// microseconds per record over the same window.
double Pipe(const std::string& bs, std::uint64_t records, int run, double* cpu) {
  auto consumer = Check(kafka::Consumer::Create(ConsumerConfig(bs, fmt::format("pipe-{}", run))), "pipe consumer");
  auto producer = Check(kafka::Producer::Create(ProducerConfig(bs)), "pipe producer");
  Check(consumer.Subscribe({"in"}), "subscribe");
  const std::string out = fmt::format("pipe-out-{}", run);
  std::uint64_t n = 0;
  Clock::time_point t0;
  double c0 = 0;
  while (n < records) {
    auto msg = Check(consumer.Poll(100ms), "poll");
    if (msg.empty() || !msg.ok()) continue;
    if (n == 0) {
      t0 = Clock::now();
      c0 = CpuSeconds();
    }
    Check(producer.Produce({out, msg.partition(), msg.key(), msg.value(), msg.headers()}, 30s), "pipe produce");
    if (++n % 1024 == 0) (void)producer.Poll(0ms);
  }
  Check(producer.Flush(60s), "pipe flush");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  *cpu = (CpuSeconds() - c0) * 1e6 / static_cast<double>(records);
  (void)consumer.Close(10s);
  return static_cast<double>(records) / secs;
}

// Records per second of the relay, checkpointing every 100 ms (synced).
double Relay(const std::string& bs, std::uint64_t records, int run, std::chrono::milliseconds interval,
             std::uint64_t* checkpoints, double* cpu) {
  std::string dir = (std::filesystem::temp_directory_path() / "exactly-relay-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) Die(Status::IoError("mkdtemp"), "state dir");
  double rate = 0;
  {
    StoreOptions so;
    so.sync = true;
    auto store = Check(CheckpointStore::Open(dir, so), "store");
    kafka::RelayOptions o;
    o.consumer_config = ConsumerConfig(bs, "unused");
    o.producer_config = ProducerConfig(bs);
    o.group = fmt::format("relay-{}", run);
    o.relay_id = "bench";
    o.inputs = {"in"};
    o.output = fmt::format("relay-out-{}", run);
    o.checkpoint_interval = interval;
    o.log = [](std::string_view) {};
    auto relay = Check(kafka::Relay::Create(*store, o), "relay");
    auto processed = [&] {
      std::uint64_t total = 0;
      for (const auto& p : relay->Positions()) total += p.next ? static_cast<std::uint64_t>(p.next->value()) : 0;
      return total;
    };
    // Join the group first; the clock starts with the slice that
    // received the first record.
    Clock::time_point t0;
    double c0 = 0;
    while (relay->stats().consumer.polled == 0) {
      t0 = Clock::now();
      c0 = CpuSeconds();
      Check(relay->RunFor(1ms), "relay");
    }
    std::chrono::microseconds in_checkpoints{0};
    std::uint64_t seen = 0;
    while (processed() < records) {
      Check(relay->RunFor(10ms), "relay");
      const auto st = relay->stats().consumer;
      if (st.checkpoints != seen) {
        seen = st.checkpoints;
        in_checkpoints += st.last_checkpoint_duration;
      }
    }
    std::fprintf(stderr, "  (checkpoints took %.1f ms on average)\n",
                 seen ? static_cast<double>(in_checkpoints.count()) / 1000.0 / static_cast<double>(seen) : 0.0);
    Check(relay->Checkpoint(), "final checkpoint");
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    *cpu = (CpuSeconds() - c0) * 1e6 / static_cast<double>(records);
    rate = static_cast<double>(records) / secs;
    *checkpoints = relay->stats().consumer.checkpoints;
    (void)relay->Close(10s);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rate;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t records = 200000;
  int runs = 3;
  std::chrono::milliseconds interval = 100ms;
  std::string only;  // "pipe" or "relay": run one side alone (for profiling)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--records") records = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    if (flag == "--only") only = argv[i + 1];
    if (flag == "--interval-ms") interval = std::chrono::milliseconds(std::atoll(argv[i + 1]));
  }
  auto cluster = Check(kafka::MockCluster::Create(1), "mock cluster");
  const std::string bs = cluster.bootstraps();
  Check(cluster.CreateTopic("in", kPartitions), "topic");
  for (int r = 0; r < runs; ++r) {
    Check(cluster.CreateTopic(fmt::format("pipe-out-{}", r), kPartitions), "topic");
    Check(cluster.CreateTopic(fmt::format("relay-out-{}", r), kPartitions), "topic");
  }
  ProduceInput(bs, records);
  std::printf("relay_bench: %llu records of %zu B, %d partitions, mock broker, %d run(s) each\n",
              static_cast<unsigned long long>(records), kValueBytes, kPartitions, runs);
  std::vector<double> pipe, relay, pipe_cpu, relay_cpu;
  for (int r = 0; r < runs; ++r) {
    double cpu = 0;
    pipe.push_back(only == "relay" ? 1.0 : Pipe(bs, records, r, &cpu));
    pipe_cpu.push_back(cpu);
    std::uint64_t checkpoints = 0;
    relay.push_back(only == "pipe" ? 1.0 : Relay(bs, records, r, interval, &checkpoints, &cpu));
    relay_cpu.push_back(cpu);
    std::printf("  run %d: pipe %8.0f rec/s %5.2f us CPU/rec   relay %8.0f rec/s %5.2f us CPU/rec (%llu checkpoints)"
                "   ratio %.2f\n",
                r, pipe.back(), pipe_cpu.back(), relay.back(), relay_cpu.back(),
                static_cast<unsigned long long>(checkpoints), relay.back() / pipe.back());
    std::fflush(stdout);
  }
  std::vector<double> ratios;
  for (std::size_t i = 0; i < pipe.size(); ++i) ratios.push_back(relay[i] / pipe[i]);
  const double p = Median(pipe), q = Median(relay);
  // The paired ratio (each relay run against the pipe run just before it)
  // is less sensitive to a machine whose load drifts during the runs.
  std::printf("median: pipe %.0f rec/s, relay %.0f rec/s, relay/pipe = %.2f (median of paired ratios %.2f)\n", p, q,
              q / p, Median(ratios));
  std::printf("median CPU per record: pipe %.2f us, relay %.2f us (relay/pipe %.2f)\n", Median(pipe_cpu),
              Median(relay_cpu), Median(relay_cpu) / Median(pipe_cpu));
  return 0;
}
