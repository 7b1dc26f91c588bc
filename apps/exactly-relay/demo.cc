// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// `exactly-relay --demo`: an embedded Kafka cluster (librdkafka's mock),
// generated traffic with duplicates, a zombie, a restarted producer,
// chunked messages, malformed and corrupt input; the relay; and a
// verification of the output against the input as read back.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "cli.h"
#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "run.h"
#include "metrics_endpoint.h"
#include "status_line.h"

namespace exactly::relay_app {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kInput = "demo.orders";
constexpr const char* kOutput = "demo.orders.dedup";
constexpr const char* kDeadLetters = "demo.orders.dlq";
constexpr int kPartitions = 4;
constexpr auto kDemoDeadline = 50s;

// A temporary state directory, removed at the end unless the user chose one.
class StateDir {
 public:
  explicit StateDir(const std::string& chosen) {
    if (!chosen.empty()) {
      path_ = chosen;
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "exactly-relay-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
      owned_ = true;
    }
  }
  ~StateDir() {
    std::error_code ec;
    if (owned_) std::filesystem::remove_all(path_, ec);
  }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool owned_ = false;
};

void Print(std::string_view text) { Say(fmt::format("demo: {}", text)); }

// Partition -> high watermark of the input, once the generator is done.
Result<std::map<std::int32_t, std::int64_t>> InputWatermarks(kafka::Consumer& consumer) {
  std::map<std::int32_t, std::int64_t> high;
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    auto wm = consumer.QueryWatermarks(TopicPartition{Topic(kInput), Partition(p)}, 10s);
    if (!wm.ok()) return wm.status();
    high[p] = wm->high.value();
  }
  return high;
}

bool CaughtUp(const std::vector<kafka::PartitionPosition>& positions, const std::map<std::int32_t, std::int64_t>& high) {
  for (const auto& [p, h] : high) {
    if (h == 0) continue;
    bool done = false;
    for (const auto& pos : positions) {
      if (pos.tp.partition.value() == p && pos.next && pos.next->value() >= h) done = true;
    }
    if (!done) return false;
  }
  return true;
}

int Verify(const std::string& bootstraps, const kafka::RelayOptions& relay, const kafka::RelayStats& stats) {
  Print("reading back the input, the output and the dead letters to verify");
  auto input = relay_demo::ReadTopic(bootstraps, kInput, 30s);
  auto output = relay_demo::ReadTopic(bootstraps, kOutput, 30s);
  auto dead = relay_demo::ReadTopic(bootstraps, kDeadLetters, 30s);
  for (const auto* r : {&input, &output, &dead}) {
    if (!r->ok()) {
      Print(fmt::format("cannot read back: {}", r->status().ToString()));
      return kExitFailure;
    }
  }
  const relay_demo::Reference ref = relay_demo::ComputeReference(*input, relay.engine.unstamped, relay.engine.limits);
  const relay_demo::OutputIndex index = relay_demo::IndexOutput(*output, relay.relay_id, relay.output_epoch);
  const relay_demo::Verdict v = relay_demo::Compare(ref, index);
  const relay_demo::DeadLetterVerdict dl = relay_demo::CompareDeadLetters(ref, *dead);
  const Counters& c = stats.consumer.engine;

  Print(fmt::format("input: {} records: {} messages ({} unstamped), {} duplicates, {} stale (zombie), {} malformed, "
                    "{} corrupt message(s)",
                    ref.records, ref.messages.size(), ref.unstamped, ref.duplicates, ref.stale, ref.malformed,
                    ref.corrupt_messages));
  Print(fmt::format("relay: {} delivered, {} duplicates + {} duplicate chunks + {} stale dropped, {} dead letters, "
                    "{} checkpoints",
                    c.delivered, c.duplicate, c.chunk_duplicate, c.stale, c.dead_lettered, stats.consumer.checkpoints));
  Print(fmt::format("output: {} records, {} messages, {} repeated; dead-letter topic: {} records ({} expected)",
                    index.records, index.messages.size(), index.repeats, dl.records, dl.expected));
  for (const auto& e : v.examples) Print(fmt::format("  {}", e));
  for (const auto& e : dl.examples) Print(fmt::format("  {}", e));
  const bool ok = v.ok() && dl.ok();
  std::string line = fmt::format("unique messages in {}, delivered {}, duplicates dropped {}, lost {}, extra {}",
                                 v.expected, v.delivered, ref.duplicates + ref.stale, v.lost,
                                 v.extra + v.mismatched + v.invalid);
  if (!dl.ok()) line += fmt::format(", dead letters missing {} unexpected {}", dl.missing, dl.unexpected + dl.invalid);
  // The verdict goes to stdout (progress went to stderr), for scripts.
  std::printf("verified: %s: %s\n", line.c_str(), ok ? "OK" : "FAILED");
  std::fflush(stdout);
  return ok ? kExitOk : kExitVerification;
}

}  // namespace

int RunDemo(const AppOptions& o) {
  const auto started = Clock::now();
  Print("starting an embedded Kafka cluster (librdkafka's mock cluster, in this process)");
  auto cluster = kafka::MockCluster::Create(1);
  if (!cluster.ok()) {
    Print(cluster.status().ToString());
    return kExitFailure;
  }
  for (auto [topic, partitions] : {std::pair{kInput, kPartitions}, {kOutput, kPartitions}, {kDeadLetters, 1}}) {
    if (Status st = cluster->CreateTopic(topic, partitions); !st.ok()) {
      Print(st.ToString());
      return kExitFailure;
    }
  }
  {
    // The demo's cluster is new every time: an old checkpoint would point
    // into topics that no longer exist.
    std::error_code ec;
    if (!o.state_dir.empty() && std::filesystem::exists(o.state_dir, ec) &&
        !std::filesystem::is_empty(o.state_dir, ec)) {
      Print(fmt::format("--state-dir {} is not empty: the demo needs a fresh state directory", o.state_dir));
      return kExitUsage;
    }
  }
  StateDir state_dir(o.state_dir);
  if (state_dir.path().empty()) {
    Print("cannot create a temporary state directory");
    return kExitFailure;
  }

  // Settings that suit the mock broker: short fetch waits (an empty fetch
  // waits the full fetch.wait.max.ms), a short session (joins wait for
  // it), compression (it keeps only ~5 MiB per partition). The demo's
  // traffic has chunked messages: the fetch queue large messages need
  // (docs/OPERATIONS.md, "Large messages").
  kafka::KafkaConfig base{{"bootstrap.servers", cluster->bootstraps()}, {"reconnect.backoff.max.ms", "500"}};
  kafka::KafkaConfig consumer_base = base;
  consumer_base.Set("fetch.wait.max.ms", "10").Set("session.timeout.ms", "6000");
  consumer_base.Set("queued.max.messages.kbytes", "262144");
  kafka::KafkaConfig producer_base = base;
  producer_base.Set("linger.ms", "5").Set("compression.type", "lz4");
  auto consumer_config = BuildClientConfig(consumer_base, o.properties, o.consumer_properties, "consumer");
  auto producer_config = BuildClientConfig(producer_base, o.properties, o.producer_properties, "producer");
  for (const auto* c : {&consumer_config, &producer_config}) {
    if (!c->ok()) {
      Print(c->status().ToString());
      return kExitUsage;
    }
  }

  kafka::RelayOptions relay_options = o.relay;
  relay_options.consumer_config = *consumer_config;
  relay_options.producer_config = *producer_config;
  relay_options.inputs = {kInput};
  relay_options.output = kOutput;
  relay_options.dead_letter_topic = kDeadLetters;
  relay_options.log = [](std::string_view line) { Print(fmt::format("relay: {}", line)); };

  StoreOptions store_options;
  store_options.sync = o.sync;
  auto store = CheckpointStore::Open(state_dir.path(), store_options);
  if (!store.ok()) {
    Print(store.status().ToString());
    return kExitFailure;
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (o.metrics_port) {
    auto m = MetricsEndpoint::Create();
    Status started_metrics = m.ok() ? (*m)->Start(o.metrics_address, *o.metrics_port) : m.status();
    if (!started_metrics.ok()) {
      Print(started_metrics.ToString());
      return kExitFailure;
    }
    metrics = std::move(*m);
    relay_options.on_checkpoint = metrics->CheckpointObserver();
  }
  auto relay = kafka::Relay::Create(**store, relay_options);
  if (!relay.ok()) {
    Print(relay.status().ToString());
    return kExitFailure;
  }
  auto watermarks = kafka::Consumer::Create(base);
  kafka::KafkaConfig generator_config = *producer_config;
  generator_config.Set("enable.idempotence", "true");
  auto generator_producer = kafka::Producer::Create(generator_config);
  if (!watermarks.ok() || !generator_producer.ok()) {
    Print((watermarks.ok() ? generator_producer.status() : watermarks.status()).ToString());
    return kExitFailure;
  }

  relay_demo::TrafficOptions traffic;
  traffic.topic = kInput;
  traffic.partitions = kPartitions;
  traffic.messages = o.demo_messages;
  // Spread over about four seconds, so the progress lines show the relay
  // keeping up with live traffic (about 1.1 records per message).
  traffic.records_per_second = std::max<std::uint64_t>(1000, o.demo_messages * traffic.producers * 11 / 40);
  Print(fmt::format("generating traffic into '{}' ({} partitions): {} producers x {} messages, retried windows, a "
                    "zombie, a restarted producer, chunked messages of {:.1f} and {:.1f} MB, malformed and corrupt "
                    "input; relaying to '{}', dead letters to '{}'",
                    kInput, kPartitions, traffic.producers, traffic.messages, traffic.large_messages[0] / 1e6,
                    traffic.large_messages[1] / 1e6, kOutput, kDeadLetters));
  relay_demo::TrafficReport report;
  std::atomic<std::uint64_t> generated{0};
  std::atomic<bool> generator_done{false}, stop_generator{false}, relay_ready{false};
  Status generator_status;
  std::thread generator([&] {
    // Traffic starts once the relay owns its partitions (the group join
    // takes a few seconds), so the progress lines show it keeping pace.
    while (!relay_ready && !stop_generator) std::this_thread::sleep_for(20ms);
    generator_status = relay_demo::GenerateTraffic(*generator_producer, traffic, &report, &generated, &stop_generator);
    generator_done = true;
  });
  Print("waiting for the relay to join its consumer group");

  StatusLine status;
  auto next_progress = Clock::now() + 1s;
  std::optional<std::map<std::int32_t, std::int64_t>> high;
  Status failure;
  bool interrupted = false;
  bool large_messages_seen = false;
  for (;;) {
    const Status ran = (*relay)->RunFor(100ms);
    if (metrics) metrics->Update(**relay);
    TuneForLargeMessagesOnce(**relay, relay_options.consumer_config, &large_messages_seen);
    if (!ran.ok()) {
      failure = ran;
      break;
    }
    if (apps::ShutdownRequested()) {
      interrupted = true;
      break;
    }
    const auto now = Clock::now();
    if (!relay_ready && (*relay)->stats().consumer.assigned == kPartitions) relay_ready = true;
    if (now >= next_progress) {
      Print(fmt::format("generated {} records{} | {}", generated.load(), generator_done ? " (done)" : "",
                        status.Format((*relay)->stats(), (*relay)->Positions()).message));
      next_progress += 1s;
    }
    if (generator_done && !high) {
      if (!generator_status.ok()) {
        failure = generator_status.WithContext("traffic generator");
        break;
      }
      auto wm = InputWatermarks(*watermarks);
      if (!wm.ok()) {
        failure = wm.status();
        break;
      }
      high = std::move(*wm);
    }
    if (high && CaughtUp((*relay)->Positions(), *high)) break;
    if (now - started > kDemoDeadline) {
      failure = Status::TimedOut(fmt::format("the relay did not catch up within {} s", kDemoDeadline.count()));
      break;
    }
  }
  stop_generator = true;
  generator.join();
  Print("closing the relay (final checkpoint)");
  const Status closed = (*relay)->Close(30s);
  if (metrics) metrics->Update(**relay);
  const kafka::RelayStats stats = (*relay)->stats();
  SayReport(status.Summary(stats));
  if (interrupted) {
    Print("interrupted");
    return kExitFailure;
  }
  if (!failure.ok() || !closed.ok()) {
    Print(fmt::format("failed: {}", (!failure.ok() ? failure : closed).ToString()));
    return kExitFailure;
  }
  Print(fmt::format("generated {} records ({} re-sent, {} from the zombie, {} large messages, {} malformed, {} "
                    "unstamped) in {:.1f} s",
                    report.records, report.resent, report.zombie, report.large, report.malformed, report.unstamped,
                    std::chrono::duration<double>(Clock::now() - started).count()));
  return Verify(cluster->bootstraps(), relay_options, stats);
}

}  // namespace exactly::relay_app
