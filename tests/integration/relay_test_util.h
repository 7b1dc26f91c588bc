// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the relay and dedup-consumer integration tests: client
// settings for the mock, relay options, scratch directories, and driving
// loops until a condition holds (traffic and the comparison against the
// reference are in kafka_support.h).
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/config.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/relay.h"
#include "exactly/status.h"
#include "kafka_support.h"

namespace exactly::testing {

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "exactly-relay-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Consumer settings for a group member against the mock: short fetch
// waits, a session short enough for joins to take seconds, not minutes.
inline kafka::KafkaConfig GroupConsumerConfig(const std::string& bootstraps) {
  return kafka::KafkaConfig{{"bootstrap.servers", bootstraps},
                            {"fetch.wait.max.ms", "10"},
                            {"session.timeout.ms", "6000"},
                            {"heartbeat.interval.ms", "500"},
                            {"reconnect.backoff.max.ms", "500"},
                            {"auto.offset.reset", "earliest"}};
}

inline kafka::KafkaConfig RelayProducerConfig(const std::string& bootstraps) {
  return kafka::KafkaConfig{{"bootstrap.servers", bootstraps},
                            {"linger.ms", "5"},
                            {"compression.type", "lz4"},
                            {"reconnect.backoff.max.ms", "500"}};
}

inline kafka::RelayOptions RelayTestOptions(const std::string& bootstraps, const std::string& input,
                                            const std::string& output, const std::string& dead_letters) {
  kafka::RelayOptions o;
  o.consumer_config = GroupConsumerConfig(bootstraps);
  o.producer_config = RelayProducerConfig(bootstraps);
  o.group = "relay-test";
  o.relay_id = "relay-test";
  o.inputs = {input};
  o.output = output;
  o.dead_letter_topic = dead_letters;
  o.checkpoint_interval = std::chrono::milliseconds(200);
  o.log = [](std::string_view) {};  // keep test output readable
  return o;
}

// Partition -> high watermark.
inline Result<std::map<std::int32_t, std::int64_t>> HighWatermarks(const std::string& bootstraps,
                                                                   const std::string& topic, int partitions) {
  auto consumer = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bootstraps}});
  if (!consumer.ok()) return consumer.status();
  std::map<std::int32_t, std::int64_t> high;
  for (int p = 0; p < partitions; ++p) {
    auto wm = consumer->QueryWatermarks(TopicPartition{Topic(topic), Partition(p)}, std::chrono::seconds(10));
    if (!wm.ok()) return wm.status();
    high[p] = wm->high.value();
  }
  return high;
}

// True when, for every partition with data, one of `positions` is at or
// past its high watermark.
inline bool CaughtUp(const std::vector<kafka::PartitionPosition>& positions,
                     const std::map<std::int32_t, std::int64_t>& high) {
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

// Drives `steps` in turn (each runs a loop for a short slice) until `done`
// or the deadline; one thread, so group members take turns polling.
inline Status DriveUntil(const std::vector<std::function<Status()>>& steps, const std::function<bool()>& done,
                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::TimedOut(fmt::format("condition not reached within {} ms", timeout.count()));
    }
    for (const auto& step : steps) EXACTLY_RETURN_IF_ERROR(step());
  }
  return Status::OK();
}

// Adds one to the decimal count the transaction holds at `key` (absent: 0),
// for handlers whose exactly-once state is a count per message or producer.
inline void IncrementCount(AppTransaction& txn, const std::string& key) {
  const Result<std::optional<std::string>> v = txn.Get(key);
  std::uint64_t n = 0;
  if (v.ok() && v->has_value()) std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), n);
  txn.Put(key, std::to_string(n + 1));
}

// The counts IncrementCount left under `prefix` in application `app`'s
// committed state, by key (a failed scan is a test failure).
inline std::map<std::string, std::uint64_t> CommittedCounts(CheckpointStore& store, std::string_view app,
                                                            std::string_view prefix) {
  std::map<std::string, std::uint64_t> got;
  const Status st = store.ScanApp(app, prefix, [&](std::string_view k, std::string_view v) {
    std::uint64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    got[std::string(k)] = n;
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return got;
}

}  // namespace exactly::testing
