// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's operator-facing output: `--demo --log-format json
// --metrics-port 0` writes only JSON lines on stderr (each parses, with
// ts, level and msg; status and summary lines carry their figures as
// number fields), logs the metrics URL with the bound port and serves
// /metrics there while it runs; `--log-level warn` silences info lines;
// librdkafka's own lines come through the same logger, as JSON. Chunked
// input at librdkafka's default fetch queue gets one warning naming the
// setting that holds large messages back; with the queue set, none. The
// first chunked message gets one line on malloc's tuning: done, or (under
// AddressSanitizer, whose allocator refuses mallopt) why not. A relay held
// by librdkafka's fetch pause (small records, the queue's record count)
// gets one warning naming queued.min.messages; one that is not, none.
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include <csignal>
#include <string>
#include <vector>

#include "address_sanitizer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/stamped_producer.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

// The relay's line on malloc once chunked messages arrive (it is built
// with the same sanitizers as this test).
constexpr std::string_view kMallocLine = test_build::kAddressSanitizer
                                             ? "chunked messages: malloc's thresholds not tuned: this process's allocator"
                                             : "chunked messages: malloc's mmap threshold raised to 4 MiB";

#ifdef EXACTLY_RELAY_BIN

// The relay's stderr lines (stdout discarded), read until it exits.
class StderrRun {
 public:
  // `env`: assignments and `-u NAME`s for env(1) before the relay's path.
  explicit StderrRun(const std::string& args, const std::string& env = "") {
    auto child = Subprocess::Spawn({"/bin/sh", "-c", "exec env " + env + " '" + std::string(EXACTLY_RELAY_BIN) + "' " +
                                                         args + " 2>&1 >/dev/null"});
    EXPECT_TRUE(child.ok());
    if (child.ok()) {
      child_.emplace(std::move(*child));
      child_->CloseStdin();
    }
  }
  // The next line, or nullopt at the end of output or the deadline.
  std::optional<std::string> Next(std::chrono::steady_clock::time_point deadline) {
    if (!child_) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = child_->ReadLine(left);
    if (!line.ok()) return std::nullopt;
    return *line;
  }
  // The next line, parsed as JSON into `*doc` (valid until the next call);
  // nullopt at the end of output or the deadline. A line that is not JSON
  // fails the test and ends the reading.
  std::optional<std::string> NextJson(std::chrono::steady_clock::time_point deadline, simdjson::dom::element* doc) {
    auto line = Next(deadline);
    if (!line) return std::nullopt;
    if (parser_.parse(*line).get(*doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not a JSON line: " << *line;
      return std::nullopt;
    }
    return line;
  }
  void Signal(int sig) {
    if (child_) child_->Signal(sig);
  }
  int Wait() {
    if (!child_) return -1;
    auto st = child_->Wait(10s);
    return st.ok() ? *st : -1;
  }

 private:
  std::optional<Subprocess> child_;
  simdjson::dom::parser parser_;
};

TEST(RelayCliLog, DemoWritesJsonLinesAndServesMetrics) {
  StderrRun run("--demo --demo-messages 300 --status-interval-ms 500 --metrics-port 0 --log-format json");
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  int lines = 0;
  bool scraped = false, summary = false, tuned = false;
  simdjson::dom::element doc;
  while (auto line = run.NextJson(deadline, &doc)) {
    ++lines;
    std::string_view ts, level, msg;
    ASSERT_EQ(doc["ts"].get_string().get(ts), simdjson::SUCCESS) << *line;
    ASSERT_EQ(doc["level"].get_string().get(level), simdjson::SUCCESS) << *line;
    ASSERT_EQ(doc["msg"].get_string().get(msg), simdjson::SUCCESS) << *line;
    EXPECT_EQ(ts.size(), 24u) << *line;  // 2026-11-21T16:30:00.123Z
    EXPECT_TRUE(level == "info" || level == "warn" || level == "error") << *line;
    if (msg.starts_with("metrics at ")) {
      std::uint64_t port = 0;
      ASSERT_EQ(doc["metrics_port"].get_uint64().get(port), simdjson::SUCCESS) << *line;
      ASSERT_GT(port, 0u);
      httplib::Client http("127.0.0.1", static_cast<int>(port));
      auto res = http.Get("/metrics");
      ASSERT_TRUE(res && res->status == 200);
      EXPECT_NE(res->body.find("# TYPE exactly_records_total counter"), std::string::npos) << res->body;
      EXPECT_NE(res->body.find("# TYPE exactly_relay_forwarded_messages_total counter"), std::string::npos);
      EXPECT_NE(res->body.find("\nexactly_build_info{version=\"" EXACTLY_VERSION "\"} 1\n"), std::string::npos)
          << res->body;
      scraped = true;
    }
    // The demo's traffic has chunked messages over 1 MB.
    if (msg.starts_with(kMallocLine)) tuned = true;
    if (msg.starts_with("summary: ")) {
      summary = true;
      std::uint64_t records = 0, duplicates = 0, checkpoints = 0;
      EXPECT_EQ(doc["records_in"].get_uint64().get(records), simdjson::SUCCESS) << *line;
      EXPECT_EQ(doc["duplicates"].get_uint64().get(duplicates), simdjson::SUCCESS) << *line;
      EXPECT_EQ(doc["checkpoints"].get_uint64().get(checkpoints), simdjson::SUCCESS) << *line;
      std::uint64_t alignments = 0, expired = 0;
      EXPECT_EQ(doc["checkpoint_alignments"].get_uint64().get(alignments), simdjson::SUCCESS) << *line;
      EXPECT_EQ(doc["checkpoint_alignments_expired"].get_uint64().get(expired), simdjson::SUCCESS) << *line;
      EXPECT_LE(expired, alignments);
      EXPECT_GT(records, 0u);
      EXPECT_GT(duplicates, 0u);  // the demo's retried windows
      EXPECT_GT(checkpoints, 0u);
    }
  }
  EXPECT_EQ(run.Wait(), 0);
  EXPECT_GT(lines, 5);
  EXPECT_TRUE(scraped);
  EXPECT_TRUE(summary);
  EXPECT_TRUE(tuned);
}

TEST(RelayCliLog, WarnLevelSilencesInfoLines) {
  // At warn level the demo's progress, status and summary lines (all
  // info) are filtered out; its verdict still goes to stdout.
  StderrRun run("--demo --demo-messages 100 --log-level warn --log-format json");
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  simdjson::dom::element doc;
  while (auto line = run.NextJson(deadline, &doc)) {
    std::string_view level;
    ASSERT_EQ(doc["level"].get_string().get(level), simdjson::SUCCESS);
    EXPECT_NE(level, "info") << *line;
  }
  EXPECT_EQ(run.Wait(), 0);
}

TEST(RelayCliLog, LibrdkafkaLinesGoThroughTheSameLogger) {
  // No broker listens on port 1: librdkafka logs its connection failures.
  TempDir dir;
  StderrRun run("--brokers 127.0.0.1:1 --input a --output b --state-dir '" + dir.sub("s") + "' --log-format json");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool seen = false;
  simdjson::dom::element doc;
  while (!seen) {
    auto line = run.NextJson(deadline, &doc);
    if (!line) break;
    std::string_view facility, client, msg;
    if (doc["facility"].get_string().get(facility) != simdjson::SUCCESS) continue;
    EXPECT_EQ(doc["client"].get_string().get(client), simdjson::SUCCESS) << *line;
    EXPECT_EQ(doc["msg"].get_string().get(msg), simdjson::SUCCESS) << *line;
    EXPECT_TRUE(msg.starts_with("librdkafka ")) << *line;
    seen = true;
  }
  EXPECT_TRUE(seen) << "no librdkafka line within 30 s";
}  // the relay is killed with its Subprocess

// exactly-relay from topic "in" to "out" of `cluster`, its state under
// `dir`, logging JSON, with the consumer settings the mock wants.
std::string RelayArgs(const kafka::MockCluster& cluster, TempDir& dir) {
  return "--brokers " + cluster.bootstraps() + " --input in --output out --state-dir '" + dir.sub("s") +
         "' --log-format json --consumer-X session.timeout.ms=6000 --consumer-X fetch.wait.max.ms=10";
}

// Whether `msg` (of the JSON line `doc`, `line`) starts with `prefix`; if
// so, it must be at warn level.
bool IsWarning(const simdjson::dom::element& doc, std::string_view msg, std::string_view prefix,
               const std::string& line) {
  if (!msg.starts_with(prefix)) return false;
  std::string_view level;
  EXPECT_EQ(doc["level"].get_string().get(level), simdjson::SUCCESS) << line;
  EXPECT_EQ(level, "warn") << line;
  return true;
}

// Chunked input through the relay itself (not the demo, which sets the
// queue): one warning about librdkafka's fetch queue, logged before the
// malloc line, unless the operator set the queue.
void ExpectFetchQueueHint(const std::vector<std::string>& extra_args, bool expected) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE(cluster->CreateTopic("in", 1).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", 1).ok());
  {
    kafka::StampedProducerOptions po;
    po.producer_id = ProducerId("uploader");
    po.epoch = Epoch(1);
    po.chunk_bytes = 100'000;
    auto producer = kafka::StampedProducer::Open(
        kafka::KafkaConfig{{"bootstrap.servers", cluster->bootstraps()}, {"compression.type", "lz4"}}, po);
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    const std::string value(1'500'000, 'x');
    for (int i = 0; i < 2; ++i) {
      auto sent = producer->Send({"in", Partition(0), std::nullopt, std::string_view(value), {}, std::nullopt}, 10s);
      ASSERT_TRUE(sent.ok()) << sent.status().ToString();
      ASSERT_GT(sent->chunks, 1u);
    }
    ASSERT_TRUE(producer->Flush(30s).ok());
  }
  TempDir dir;
  std::string args = RelayArgs(*cluster, dir);
  for (const auto& a : extra_args) args += " " + a;
  // The malloc line is the marker, so malloc must not be tuned from outside.
  StderrRun run(args, "-u MALLOC_MMAP_THRESHOLD_");
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int hints = 0;
  bool tuned = false;
  simdjson::dom::element doc;
  while (!tuned) {
    auto line = run.NextJson(deadline, &doc);
    if (!line) break;
    std::string_view msg;
    if (doc["msg"].get_string().get(msg) != simdjson::SUCCESS) continue;
    if (IsWarning(doc, msg, "chunked messages with the consumer's default queued.max.messages.kbytes", *line)) {
      EXPECT_NE(msg.find("--consumer-X queued.max.messages.kbytes"), std::string_view::npos) << *line;
      ++hints;
    }
    if (msg.starts_with(kMallocLine)) tuned = true;
  }
  EXPECT_TRUE(tuned) << "the relay did not report chunked messages within 60 s";
  EXPECT_EQ(hints, expected ? 1 : 0);
  run.Signal(SIGTERM);
  EXPECT_EQ(run.Wait(), 0);
}

TEST(RelayCliLog, ChunkedInputAtTheDefaultFetchQueueWarnsOnce) { ExpectFetchQueueHint({}, true); }

TEST(RelayCliLog, ChunkedInputWithTheFetchQueueSetDoesNotWarn) {
  ExpectFetchQueueHint({"--consumer-X queued.max.messages.kbytes=262144"}, false);
}

// Small records through the relay with librdkafka's fetch queue held to
// `queue_messages` records: at 1,000 the consumer stops fetching for a
// second after each 2,000-record batch and the relay, done with the batch
// in milliseconds, waits with records at the broker, so it warns once,
// naming the setting. With the queue out of the way it reads the input
// through without a warning.
void ExpectFetchStallWarning(const std::string& queue_messages, bool expected) {
  constexpr int kBatches = 8, kPerBatch = 2000;
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE(cluster->CreateTopic("in", 1).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", 1).ok());
  {
    auto producer = kafka::Producer::Create(
        kafka::KafkaConfig{{"bootstrap.servers", cluster->bootstraps()}, {"compression.type", "lz4"}});
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    const std::string value(100, 'v');
    for (int b = 0; b < kBatches; ++b) {
      for (int i = 0; i < kPerBatch; ++i) {
        ASSERT_TRUE(producer->Produce({"in", Partition(0), std::nullopt, std::string_view(value), {}}, 10s).ok());
      }
      ASSERT_TRUE(producer->Flush(30s).ok());  // one batch each
    }
  }
  TempDir dir;
  StderrRun run(RelayArgs(*cluster, dir) + " --status-interval-ms 200 --consumer-X queued.min.messages=" +
                queue_messages);
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  int warnings = 0;
  std::uint64_t records_in = 0;
  simdjson::dom::element doc;
  while (expected ? warnings == 0 : records_in < kBatches * kPerBatch) {
    auto line = run.NextJson(deadline, &doc);
    if (!line) break;
    std::string_view msg;
    if (doc["msg"].get_string().get(msg) != simdjson::SUCCESS) continue;
    if (IsWarning(doc, msg, "the consumer received nothing for up to", *line)) {
      EXPECT_NE(msg.find("queued.min.messages records (" + queue_messages + ")"), std::string_view::npos) << *line;
      EXPECT_NE(msg.find("--consumer-X queued.min.messages"), std::string_view::npos) << *line;
      ++warnings;
    }
    std::uint64_t in = 0;
    if (doc["records_in"].get_uint64().get(in) == simdjson::SUCCESS) records_in = in;
  }
  if (expected) {
    EXPECT_EQ(warnings, 1) << "no fetch-stall warning within 90 s";
  } else {
    EXPECT_EQ(records_in, static_cast<std::uint64_t>(kBatches * kPerBatch)) << "the relay did not read its input";
    EXPECT_EQ(warnings, 0);
  }
  run.Signal(SIGTERM);
  EXPECT_EQ(run.Wait(), 0);
}

TEST(RelayCliLog, RelayHeldByTheFetchPauseWarnsOnce) { ExpectFetchStallWarning("1000", true); }

TEST(RelayCliLog, RelayWithTheFetchQueueOutOfTheWayDoesNotWarn) { ExpectFetchStallWarning("10000000", false); }

#endif

}  // namespace
}  // namespace exactly::testing
