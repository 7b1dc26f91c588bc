// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "bench_support.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include "exactly/checkpoint_store.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/producer.h"

namespace exactly::bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void Die(const Status& st, std::string_view what) {
  std::fprintf(stderr, "bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(), st.ToString().c_str());
  std::exit(1);
}

void Check(const Status& st, std::string_view what) {
  if (!st.ok()) Die(st, what);
}

Flags::Flags(int argc, char** argv, std::vector<std::string> known, std::vector<std::string> switches) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) Die(Status::InvalidArgument(name), "expected a --flag");
    name = name.substr(2);
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      values_[name] = "1";
      continue;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) Die(Status::InvalidArgument(name), "unknown flag");
    if (i + 1 >= argc) Die(Status::InvalidArgument(name), "flag without a value");
    values_[name] = argv[++i];
  }
}

std::uint64_t Flags::U64(std::string_view name, std::uint64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const auto v = std::strtoull(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || *end != '\0') Die(Status::InvalidArgument(it->second), name);
  return v;
}

std::string Flags::Str(std::string_view name, std::string fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::uint64_t> Flags::U64List(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(name);
  return ParseU64List(it == values_.end() ? fallback : std::string_view(it->second), fmt::format("--{}", name));
}

std::vector<std::uint64_t> ParseU64List(std::string_view text, std::string_view what) {
  std::vector<std::uint64_t> out;
  for (;;) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
      Die(Status::InvalidArgument(fmt::format("'{}' is not a count", item)), what);
    }
    out.push_back(v);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

bool Flags::Has(std::string_view name) const { return values_.find(name) != values_.end(); }

kafka::KafkaConfig ConsumerConfig(const std::string& bs, const std::string& group) {
  // queued.min.messages: librdkafka before 2.2 stops fetching for a fixed
  // second once a consumer holds that many fetched records (100,000 by
  // default), and does not resume when the application drains them. A
  // loop that copies small records faster than 100,000 a second then sits
  // idle for most of that second, so every pipeline here (pipe, relay,
  // recipe alike) measured the pause, not itself (docs/BENCHMARKS.md,
  // "The fetch pause"). At 10 M the queue's byte bound
  // (queued.max.messages.kbytes) is what stops fetching, as for large
  // records; the inputs here are at most 1 M records.
  return kafka::KafkaConfig{{"bootstrap.servers", bs},         {"group.id", group},
                            {"fetch.wait.max.ms", "10"},       {"session.timeout.ms", "6000"},
                            {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
                            {"auto.offset.reset", "earliest"}, {"queued.min.messages", "10000000"}};
}

kafka::KafkaConfig ProducerConfig(const std::string& bs) {
  return kafka::KafkaConfig{{"bootstrap.servers", bs}, {"linger.ms", "5"}, {"enable.idempotence", "true"}};
}

Input ProduceInput(kafka::MockCluster& cluster, const InputSpec& spec) {
  Check(cluster.CreateTopic(spec.topic, spec.partitions), "input topic");
  auto conf = ProducerConfig(cluster.bootstraps());
  conf.Set("compression.type", "lz4");
  auto producer = Check(kafka::Producer::Create(conf), "input producer");
  Input in{spec, 0, 0};
  std::string value(spec.value_bytes, 'v');
  std::vector<HeaderView> headers;
  for (std::uint64_t i = 0; i < spec.records; ++i) {
    const auto p = static_cast<std::int32_t>(i % static_cast<std::uint64_t>(spec.partitions));
    const std::string id = fmt::format("bench-{}", i % spec.producers);
    const StampHeaders stamp = FormatStamp(StampSpec{id, EpochSeq{Epoch(1), Sequence(i / spec.producers)}, {}, {}, {}});
    headers = {{header::kProducer, stamp.producer}, {header::kEpoch, stamp.epoch}, {header::kSeq, stamp.seq}};
    const std::string prefix = fmt::format("record {} ", i);
    std::copy_n(prefix.data(), std::min(prefix.size(), value.size()), value.data());
    const std::string key = fmt::format("key-{}", i % 1000);
    const int copies = spec.dup_every != 0 && (i + 1) % spec.dup_every == 0 ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      Check(producer.Produce({spec.topic, Partition(p), std::string_view(key), std::string_view(value), headers}, 60s),
            "produce input");
      ++in.records;
      in.value_bytes += value.size();
    }
  }
  Check(producer.Flush(120s), "flush input");
  auto consumer = Check(kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", cluster.bootstraps()}}),
                        "watermarks");
  std::uint64_t total = 0;
  for (int p = 0; p < spec.partitions; ++p) {
    auto wm = Check(consumer.QueryWatermarks(TopicPartition{Topic(spec.topic), Partition(p)}, 10s), "watermarks");
    if (wm.low.value() != 0) Die(Status::Corruption("the mock dropped input (retention): use fewer records"), "input");
    total += static_cast<std::uint64_t>(wm.high.value());
  }
  if (total != in.records) Die(Status::Corruption(fmt::format("{} records in the topic, {} produced", total, in.records)), "input");
  return in;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double LoadAverage1() {
  double l[1] = {0};
  return ::getloadavg(l, 1) == 1 ? l[0] : -1;
}

std::uint64_t DiskWriteBytes() {
  std::FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[128];
  unsigned long long v = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "write_bytes: %llu", &v) == 1) break;
  }
  std::fclose(f);
  return v;
}

void Finish(Measurement& m, const Input& in, std::chrono::steady_clock::time_point t0, double c0, std::uint64_t disk0,
            const ThreadSample& threads0) {
  const ThreadSample threads1 = SampleThreads();
  m.cpu_s_by_role = CpuByRole(threads0, threads1, CpuSeconds() - c0);
  m.minor_faults = threads1.minor_faults - threads0.minor_faults;
  if (disk0 != 0) m.disk_write_bytes = DiskWriteBytes() - disk0;
  m.secs = std::chrono::duration<double>(Clock::now() - t0).count();
  m.rps = static_cast<double>(in.records) / m.secs;
  m.bytes_per_s = static_cast<double>(in.value_bytes) / m.secs;
  m.cpu_us = (CpuSeconds() - c0) * 1e6 / static_cast<double>(in.records);
}

std::uint64_t CopyRecords(kafka::Consumer& consumer, kafka::Producer& producer, const std::string& output,
                          std::uint64_t records, const std::function<void()>& on_first) {
  std::uint64_t n = 0, bytes = 0;
  while (n < records) {
    auto msg = Check(consumer.Poll(100ms), "poll");
    if (msg.empty() || !msg.ok()) continue;
    if (n == 0) on_first();
    // Produce() itself serves the delivery reports that free the copies
    // (kafka::Producer::kServeReportsEveryRecords / kServeReportsEveryBytes).
    Check(producer.Produce({output, msg.partition(), msg.key(), msg.value(), msg.headers()}, 60s), "pipe produce");
    bytes += msg.value() ? msg.value()->size() : 0;
    ++n;
  }
  return bytes;
}

Measurement RunPipe(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                    const std::string& output, const kafka::KafkaConfig& consumer_extra) {
  const std::string& bs = cluster.bootstraps();
  Check(cluster.CreateTopic(output, input.spec.partitions), "output topic");
  kafka::KafkaConfig cconf = ConsumerConfig(bs, group);
  for (const auto& [k, v] : consumer_extra.pairs()) cconf.Set(k, v);
  auto consumer = Check(kafka::Consumer::Create(cconf), "pipe consumer");
  auto producer = Check(kafka::Producer::Create(ProducerConfig(bs)), "pipe producer");
  // Learn the output topic's leaders before the clock starts, as the relay
  // does when it is created. Without this the first produce waits for a
  // metadata round of the new topic, ~0.9 s on the mock: a fixed cost
  // inside the pipe's window that dominated short runs (10 KB values,
  // --quick) and made the relay look several times faster.
  Check(producer.PartitionCount(output, 10s), "pipe output metadata");
  Check(consumer.Subscribe({input.spec.topic}), "subscribe");
  Clock::time_point t0;
  double c0 = 0;
  ThreadSample threads0;
  (void)CopyRecords(consumer, producer, output, input.records, [&] {
    t0 = Clock::now();
    c0 = CpuSeconds();
    threads0 = SampleThreads();
  });
  Check(producer.Flush(120s), "pipe flush");
  Measurement m;
  Finish(m, input, t0, c0, 0, threads0);
  m.output_records = producer.counters().delivered;
  (void)consumer.Close(10s);
  return m;
}

kafka::RelayOptions RelayOptionsFor(const std::string& bs, const std::string& group, const std::string& input,
                                    const std::string& output, std::chrono::milliseconds interval) {
  kafka::RelayOptions o;
  o.consumer_config = ConsumerConfig(bs, "unused");
  o.producer_config = ProducerConfig(bs);
  o.group = group;
  o.relay_id = "bench";
  o.inputs = {input};
  o.output = output;
  o.checkpoint_interval = interval;
  o.log = [](std::string_view) {};
  return o;
}

Measurement RunRelay(kafka::MockCluster& cluster, const Input& input, const std::string& group,
                     const std::string& output, const RelayRun& run) {
  Check(cluster.CreateTopic(output, input.spec.partitions), "output topic");
  TempDir dir("exactly-relay-bench");
  Measurement m;
  StoreOptions so;
  so.sync = run.sync;
  auto store = Check(CheckpointStore::Open(dir.path(), so), "store");
  auto options = RelayOptionsFor(cluster.bootstraps(), group, input.spec.topic, output, run.interval);
  for (const auto& [k, v] : run.consumer_extra.pairs()) options.consumer_config.Set(k, v);
  if (run.alignment) options.checkpoint_alignment = *run.alignment;
  if (run.queue_messages != 0) {
    options.producer_config.Set("queue.buffering.max.messages", fmt::format("{}", run.queue_messages));
  }
  auto relay = Check(kafka::Relay::Create(*store, std::move(options)), "relay");
  std::mt19937 rng(run.seed);
  std::uniform_int_distribution<int> slice(run.slice_min_ms, run.slice_max_ms);
  // Join the group first; the clock starts with the slice that received
  // the first record.
  Clock::time_point t0;
  double c0 = 0;
  std::uint64_t disk0 = 0;
  ThreadSample threads0;
  while (relay->stats().consumer.polled == 0) {
    t0 = Clock::now();
    c0 = CpuSeconds();
    disk0 = DiskWriteBytes();
    threads0 = SampleThreads();
    Check(relay->RunFor(1ms), "relay");
  }
  std::chrono::microseconds in_checkpoints{0};
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t processed = 0, reread = 0;
    for (const auto& p : relay->Positions()) {
      const std::int64_t next = p.next ? p.next->value() : 0;
      processed += static_cast<std::uint64_t>(next);
      reread += static_cast<std::uint64_t>(next - (p.checkpointed ? p.checkpointed->value() : 0));
    }
    if (run.sample_reread) m.reread_samples.push_back(static_cast<double>(reread));
    if (processed >= input.records) break;
    Check(relay->RunFor(std::chrono::milliseconds(slice(rng))), "relay");
    const auto st = relay->stats().consumer;
    if (st.checkpoints != seen) {
      seen = st.checkpoints;
      in_checkpoints += st.last_checkpoint_duration;
    }
  }
  Check(relay->Checkpoint(), "final checkpoint");
  Finish(m, input, t0, c0, disk0, threads0);
  m.checkpoints = relay->stats().consumer.checkpoints;
  m.alignments = relay->stats().consumer.checkpoint_alignments;
  m.alignments_expired = relay->stats().consumer.checkpoint_alignments_expired;
  if (m.alignments > 0) {
    m.alignment_wait_ms = static_cast<double>(relay->stats().consumer.checkpoint_alignment_wait.count()) / 1000.0 /
                          static_cast<double>(m.alignments);
  }
  m.checkpoint_ms = seen ? static_cast<double>(in_checkpoints.count()) / 1000.0 / static_cast<double>(seen) : 0.0;
  m.output_records = relay->stats().output_records;
  m.reassembly_allocations = relay->stats().consumer.engine.reassembly_allocations;
  (void)relay->Close(10s);
  return m;
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

TempDir::TempDir(std::string_view prefix) {
  path_ = (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
  if (::mkdtemp(path_.data()) == nullptr) Die(Status::IoError("mkdtemp"), path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void JsonLine::Key(std::string_view key) {
  text_ += text_.empty() ? "{" : ",";
  text_ += fmt::format("\"{}\":", key);
}

JsonLine& JsonLine::Str(std::string_view key, std::string_view value) {
  Key(key);
  text_ += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') text_ += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      text_ += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    text_ += c;
  }
  text_ += '"';
  return *this;
}

JsonLine& JsonLine::Num(std::string_view key, double value) {
  Key(key);
  text_ += std::isfinite(value) ? fmt::format("{:.6g}", value) : "null";
  return *this;
}

JsonLine& JsonLine::Int(std::string_view key, std::uint64_t value) {
  Key(key);
  text_ += fmt::format("{}", value);
  return *this;
}

JsonLine& JsonLine::Bool(std::string_view key, bool value) {
  Key(key);
  text_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::Machine() {
  Num("load1", LoadAverage1());
  Int("cpus", std::thread::hardware_concurrency());
  Int("unix_time", static_cast<std::uint64_t>(std::time(nullptr)));
  return *this;
}

void JsonLine::Print() const {
  std::printf("%s}\n", text_.c_str());
  std::fflush(stdout);
}

Paired Summarize(const std::vector<double>& baseline, const std::vector<double>& subject) {
  Paired s;
  s.baseline = Median(baseline);
  s.subject = Median(subject);
  s.ratio = s.subject / s.baseline;
  std::vector<double> r;
  for (std::size_t i = 0; i < baseline.size() && i < subject.size(); ++i) r.push_back(subject[i] / baseline[i]);
  s.paired = Median(r);
  s.paired_min = r.empty() ? 0 : *std::min_element(r.begin(), r.end());
  s.paired_max = r.empty() ? 0 : *std::max_element(r.begin(), r.end());
  return s;
}

}  // namespace exactly::bench
