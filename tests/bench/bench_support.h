// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// bench_support: what the relay benchmarks share. A mock cluster and its
// topics, stamped input produced once per configuration, the bare
// consume -> produce pipe (the baseline), one relay run, medians, the
// command-line flags and the one-line JSON objects the benchmarks print
// with --json.
//
// Input layout (ProduceInput): record i (0-based) of N has producer id
// `bench-<i mod P>`, epoch 1, seq `i div P`, partition `i mod partitions`,
// key `key-<i mod 1000>` and a value of `value_bytes` bytes (a unique
// prefix, then one repeated letter: lz4 keeps it under the mock broker's
// ~5 MiB per partition). Every `dup_every`-th record is produced a second
// time right after itself (same stamp, same partition): a producer retry.
//
// Timing: a run's clock starts when its first record is consumed (group
// join excluded) and stops when every output is acknowledged (the relay:
// its final checkpoint written). CPU time is the whole process's (client
// threads and the in-process mock broker) over the same window.
//
// Thread safety: none; one benchmark thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/kafka/config.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "exactly/status.h"
#include "thread_cpu.h"

namespace exactly::bench {

[[noreturn]] void Die(const Status& st, std::string_view what);

// "1000,100000" -> {1000, 100000}; exits naming `what` on anything else.
std::vector<std::uint64_t> ParseU64List(std::string_view text, std::string_view what);

template <class T>
T Check(Result<T> r, std::string_view what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}
void Check(const Status& st, std::string_view what);

// --name value pairs and bare --name switches. Unknown flags are an error
// (a typo must not silently run the default configuration).
class Flags {
 public:
  // `switches`: the flags that take no value.
  Flags(int argc, char** argv, std::vector<std::string> known, std::vector<std::string> switches);
  std::uint64_t U64(std::string_view name, std::uint64_t fallback) const;
  std::string Str(std::string_view name, std::string fallback) const;
  // A comma-separated list of counts ("262144,0"); exits naming the flag
  // on anything else.
  std::vector<std::uint64_t> U64List(std::string_view name, std::string_view fallback) const;
  bool Has(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// The settings every pipeline in the benchmarks shares.
kafka::KafkaConfig ConsumerConfig(const std::string& bootstraps, const std::string& group);
kafka::KafkaConfig ProducerConfig(const std::string& bootstraps);

struct InputSpec {
  std::string topic;
  std::uint64_t records = 200000;  // distinct messages (duplicates come on top)
  std::size_t value_bytes = 100;
  std::uint64_t producers = 1000;
  int partitions = 4;
  std::uint64_t dup_every = 0;  // 0: no duplicates
};

struct Input {
  InputSpec spec;
  std::uint64_t records = 0;  // records in the topic, duplicates included
  std::uint64_t value_bytes = 0;  // sum of the values
};

// Produces the input topic (created here) and checks the mock kept all of it.
Input ProduceInput(kafka::MockCluster& cluster, const InputSpec& spec);

// Process CPU seconds (user + system).
double CpuSeconds();
double LoadAverage1();
// /proc/self/io write_bytes (0 where unavailable).
std::uint64_t DiskWriteBytes();

struct Measurement {
  double secs = 0;
  double rps = 0;            // input records per second
  double bytes_per_s = 0;    // input value bytes per second
  double cpu_us = 0;         // process CPU microseconds per input record
  std::uint64_t checkpoints = 0;
  // Of the due checkpoints, those that waited for chunked messages in
  // progress, and those of them that reached a bound first.
  std::uint64_t alignments = 0;
  std::uint64_t alignments_expired = 0;
  double alignment_wait_ms = 0;  // mean wait of those checkpoints
  double checkpoint_ms = 0;  // mean trigger-to-commit time of the checkpoints
  std::uint64_t output_records = 0;
  // Bytes the process caused to be written to storage over the window
  // (/proc/self/io write_bytes; the mock broker keeps its log in memory,
  // so this is the checkpoint store's writes, WAL included).
  std::uint64_t disk_write_bytes = 0;
  // Relay only: re-read distance sampled at the ends of the RunFor slices:
  // sum over partitions of (next offset to process - last checkpointed).
  std::vector<double> reread_samples;
  // Process CPU seconds over the window by thread role (thread_cpu.h),
  // kExitedThreads for threads gone by its end.
  std::map<std::string, double, std::less<>> cpu_s_by_role;
  std::uint64_t minor_faults = 0;  // the process's page faults over the window
  // Relay only: buffers the engine allocated or grew to reassemble messages.
  std::uint64_t reassembly_allocations = 0;
};

// Stops the clock of `m`, started at `t0` with `c0` CPU seconds (and the
// threads as in `threads0`), over the whole input.
void Finish(Measurement& m, const Input& input, std::chrono::steady_clock::time_point t0, double c0,
            std::uint64_t disk0, const ThreadSample& threads0);

// The bare pipe's loop: copies `records` records from `consumer` to
// `output` as they are (partition, key, value, headers), the producer
// serving delivery reports as it goes (every 1024 records or 16 MiB, as
// kafka::Producer does by itself); `on_first` runs once the first
// record is consumed, before it is produced (where a clock starts).
// Returns the value bytes copied. Exits the process on an error.
std::uint64_t CopyRecords(kafka::Consumer& consumer, kafka::Producer& producer, const std::string& output,
                          std::uint64_t records, const std::function<void()>& on_first);

// Bare consume -> produce pipe over the whole input, in group `group`, to
// topic `output` (created here with the input's partition count).
// `consumer_extra`: librdkafka properties set on top of ConsumerConfig
// (give the relay the same in RelayRun::consumer_extra).
Measurement RunPipe(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                    const std::string& output, const kafka::KafkaConfig& consumer_extra = {});

struct RelayRun {
  std::chrono::milliseconds interval{100};
  bool sync = true;
  // Slice lengths of RunFor: uniform in [min, max] ms (random instants for
  // the re-read samples; a fixed 10 ms when both are 10).
  int slice_min_ms = 10;
  int slice_max_ms = 10;
  std::uint32_t seed = 1;
  bool sample_reread = false;
  // librdkafka's queue.buffering.max.messages for the relay's output
  // producer (0: librdkafka's default, 100,000): bounds how far consumption
  // runs ahead of acknowledged output.
  std::uint64_t queue_messages = 0;
  // RelayOptions::checkpoint_alignment (nullopt: the library's default).
  std::optional<std::chrono::milliseconds> alignment = std::nullopt;
  // librdkafka properties set on top of the relay's consumer settings.
  kafka::KafkaConfig consumer_extra{};
};

// The relay's options as every benchmark sets them (no dead-letter topic,
// logs dropped).
kafka::RelayOptions RelayOptionsFor(const std::string& bootstraps, const std::string& group, const std::string& input,
                                    const std::string& output, std::chrono::milliseconds interval);

// The relay over the whole input into a fresh synced (per `run`) store.
Measurement RunRelay(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                     const std::string& output, const RelayRun& run);

double Median(std::vector<double> v);
double Percentile(std::vector<double> v, double p);
double Mean(const std::vector<double>& v);

// A fresh directory under the temp dir; removed by the destructor.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// One JSON object on one line: {"k":v,...}. Keys are plain identifiers.
class JsonLine {
 public:
  JsonLine& Str(std::string_view key, std::string_view value);
  JsonLine& Num(std::string_view key, double value);
  JsonLine& Int(std::string_view key, std::uint64_t value);
  JsonLine& Bool(std::string_view key, bool value);
  // Adds the machine fields every object carries: load1, cpus, unix_time.
  JsonLine& Machine();
  void Print() const;  // to stdout, flushed

 private:
  void Key(std::string_view key);
  std::string text_;
};

// The relay-vs-baseline summary of alternating runs: medians, the ratio of
// medians and the median of the paired (same-iteration) ratios.
struct Paired {
  double baseline = 0, subject = 0, ratio = 0, paired = 0, paired_min = 0, paired_max = 0;
};
Paired Summarize(const std::vector<double>& baseline, const std::vector<double>& subject);

}  // namespace exactly::bench
