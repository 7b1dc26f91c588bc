// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The DedupConsumer loop on its own: application state kept in the
// AppTransaction advances exactly once per delivered message through
// failed pre-checkpoint hooks, retryable handler errors, a broker outage
// (logged, retried) and a consumer destroyed without its final
// checkpoint; a partition with nothing to process still has a known lag;
// and bad options are refused. The rewinds and the restart are also run
// with thousands of producers per partition, where the loop reads ahead
// and hints the engine: records read ahead of a rewound partition must be
// dropped, not decided out of order.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;
using kafka::DedupConsumer;
using kafka::DedupConsumerHooks;
using kafka::DedupConsumerOptions;

constexpr int kPartitions = 2;

// Counts delivered messages per producer in the transaction; the expected
// counts come from the reference over the input read back.
struct Counting {
  std::uint64_t calls = 0;
  Status operator()(const Message& m, AppTransaction& txn) {
    ++calls;
    IncrementCount(txn, "count/" + std::string(m.stamped ? m.producer : "unstamped"));
    return Status::OK();
  }
};

class DedupConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = kafka::MockCluster::Create(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = std::make_unique<kafka::MockCluster>(std::move(*cluster));
    ASSERT_TRUE(cluster_->CreateTopic("in", kPartitions).ok());
    auto pconf = RelayProducerConfig(bs());
    pconf.Set("enable.idempotence", "true");
    auto producer = kafka::Producer::Create(pconf);
    ASSERT_TRUE(producer.ok());
    relay_demo::TrafficOptions traffic;
    traffic.topic = "in";
    traffic.partitions = kPartitions;
    traffic.producers = producers_;
    traffic.messages = messages_per_producer_;
    traffic.retry_percent = 5;
    traffic.large_messages = {300'000};
    traffic.chunk_bytes = 64 * 1024;
    relay_demo::TrafficReport report;
    ASSERT_TRUE(relay_demo::GenerateTraffic(*producer, traffic, &report).ok());
    auto high = HighWatermarks(bs(), "in", kPartitions);
    ASSERT_TRUE(high.ok());
    high_ = *high;
    auto input = relay_demo::ReadTopic(bs(), "in", 30s);
    ASSERT_TRUE(input.ok());
    for (const auto& [src, m] : relay_demo::ComputeReference(*input).messages) {
      ++expected_["count/" + (m.stamped ? m.producer : std::string("unstamped"))];
    }
  }

  std::string bs() const { return cluster_->bootstraps(); }

  DedupConsumerOptions Options() const {
    DedupConsumerOptions o;
    o.config = GroupConsumerConfig(bs());
    o.config.Set("group.id", "dedup-test");
    o.topics = {"in"};
    o.app = "counts";
    o.checkpoint_interval = 0ms;
    o.checkpoint_records = 500;
    o.log = [](std::string_view) {};
    return o;
  }

  Status RunToEnd(DedupConsumer& c) {
    return DriveUntil({[&] { return c.RunFor(20ms); }}, [&] { return CaughtUp(c.Positions(), high_); }, 60s);
  }

  void ExpectCommittedCounts(CheckpointStore& store) { EXPECT_EQ(CommittedCounts(store, "counts", "count/"), expected_); }

  // A retryable handler error half-way and a failed pre-checkpoint hook:
  // two rewinds, replays, and every message counted once. *hinted: the
  // records hinted to the engine.
  void ExpectRewindsCountOnce(std::uint64_t* hinted) {
    TempDir dir;
    auto store = CheckpointStore::Open(dir.path());
    ASSERT_TRUE(store.ok());
    Counting counting;
    int hook_calls = 0;
    int rewinds_seen = 0;
    bool handler_failed = false;
    DedupConsumerHooks hooks;
    hooks.on_message = [&](const Message& m, AppTransaction& txn) -> Status {
      // Once, half-way: a retryable failure (e.g. an output queue full).
      if (!handler_failed && counting.calls == fail_handler_at_) {
        handler_failed = true;
        return Status::Unavailable("output queue full");
      }
      return counting(m, txn);
    };
    hooks.pre_checkpoint = [&](std::chrono::milliseconds) -> Status {
      // The second checkpoint's outputs "fail delivery".
      return ++hook_calls == fail_hook_at_ ? Status::IoError("1 message(s) failed delivery") : Status::OK();
    };
    hooks.on_rewind = [&] { ++rewinds_seen; };
    auto consumer = DedupConsumer::Create(**store, Options(), hooks);
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    const Status st = RunToEnd(**consumer);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*consumer)->Close(30s).ok());
    const auto stats = (*consumer)->stats();
    *hinted = stats.hinted;
    EXPECT_EQ(stats.rewinds, 2u);
    EXPECT_EQ(rewinds_seen, 2);
    EXPECT_EQ(stats.checkpoint_failures, 1u);
    std::uint64_t unique = 0;
    for (const auto& [k, n] : expected_) unique += n;
    EXPECT_GT(counting.calls, unique);  // replays happened...
    ASSERT_NO_FATAL_FAILURE(ExpectCommittedCounts(**store));  // ...and were not counted twice
    for (const auto& [p, h] : high_) {
      auto offset = (*store)->LoadOffset(TopicPartition{Topic("in"), Partition(p)});
      ASSERT_TRUE(offset.ok() && offset->has_value());
      EXPECT_EQ((*offset)->value(), h);
    }
  }

  // A consumer destroyed between two checkpoints, then restarted: every
  // message counted once. *hinted: the records both hinted to the engine.
  void ExpectRestartCountsOnce(std::uint64_t* hinted) {
    TempDir dir;
    Counting first, second;
    {
      auto store = CheckpointStore::Open(dir.path());
      ASSERT_TRUE(store.ok());
      DedupConsumer* self = nullptr;
      DedupConsumerHooks hooks;
      hooks.on_message = [&](const Message& m, AppTransaction& txn) {
        Status st = first(m, txn);
        // Stop between two checkpoints (every 500 records), with unsaved work.
        if (first.calls == stop_at_) self->RequestStop();
        return st;
      };
      auto consumer = DedupConsumer::Create(**store, Options(), hooks);
      ASSERT_TRUE(consumer.ok());
      self = consumer->get();
      ASSERT_TRUE(DriveUntil({[&] { return (*consumer)->RunFor(20ms); }},
                             [&] { return (*consumer)->stop_requested(); }, 60s)
                      .ok());
      EXPECT_GE((*consumer)->stats().checkpoints, 2u);
      ASSERT_FALSE(CaughtUp((*consumer)->Positions(), high_));
      *hinted = (*consumer)->stats().hinted;
      // Destroyed here: the writes since the last checkpoint are lost.
    }
    auto store = CheckpointStore::Open(dir.path());
    ASSERT_TRUE(store.ok());
    DedupConsumerHooks hooks;
    hooks.on_message = std::ref(second);
    auto consumer = DedupConsumer::Create(**store, Options(), hooks);
    ASSERT_TRUE(consumer.ok());
    const Status st = RunToEnd(**consumer);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*consumer)->Close(30s).ok());
    *hinted += (*consumer)->stats().hinted;
    std::uint64_t unique = 0;
    for (const auto& [k, n] : expected_) unique += n;
    EXPECT_GT(first.calls + second.calls, unique);
    ASSERT_NO_FATAL_FAILURE(ExpectCommittedCounts(**store));
  }

  // The group's committed offsets, as a lag tool reads them; empty on a
  // failed query (the caller retries).
  std::map<std::int32_t, std::int64_t> GroupCommitted() const {
    auto reader = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs()}, {"group.id", "dedup-test"}});
    if (!reader.ok()) return {};
    std::vector<TopicPartition> tps;
    for (int p = 0; p < kPartitions; ++p) tps.push_back({Topic("in"), Partition(p)});
    auto committed = reader->Committed(tps, 5s);
    (void)reader->Close(5s);
    std::map<std::int32_t, std::int64_t> out;
    if (!committed.ok()) return out;
    for (const auto& c : *committed) out[c.tp.partition.value()] = c.offset.value();
    return out;
  }

  // A few busy producers: producer tables that stay in the CPU caches.
  int producers_ = 3;
  std::uint64_t messages_per_producer_ = 1000;
  // When the failures happen, in handler calls and pre-checkpoint hook
  // calls (a checkpoint every 500 records), and the stop before a restart.
  std::uint64_t fail_handler_at_ = 1500;
  int fail_hook_at_ = 2;
  std::uint64_t stop_at_ = 1700;
  std::unique_ptr<kafka::MockCluster> cluster_;
  std::map<std::int32_t, std::int64_t> high_;
  std::map<std::string, std::uint64_t> expected_;
};


TEST_F(DedupConsumerTest, FailedHooksAndHandlerErrorsRewindWithoutDoubleCounting) {
  std::uint64_t hinted = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectRewindsCountOnce(&hinted));
  EXPECT_EQ(hinted, 0u) << "three producers: nothing to read ahead for";
}

TEST_F(DedupConsumerTest, DestroyedWithoutCloseThenRestartedCountsOnce) {
  std::uint64_t hinted = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectRestartCountsOnce(&hinted));
  EXPECT_EQ(hinted, 0u);
}

// 10,000 producers, 3 messages each: from ~15k records on, both
// partitions' producer tables are past the engine's look-ahead threshold
// (~6.2k producers) and the loop reads ahead; the failures and the stop
// come after that.
class DedupConsumerReadAheadTest : public DedupConsumerTest {
 protected:
  DedupConsumerReadAheadTest() {
    producers_ = 10'000;
    messages_per_producer_ = 3;
    fail_handler_at_ = 22'000;
    fail_hook_at_ = 40;
    stop_at_ = 23'000;
  }
};

TEST_F(DedupConsumerReadAheadTest, FailedHooksAndHandlerErrorsRewindWithoutDoubleCounting) {
  std::uint64_t hinted = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectRewindsCountOnce(&hinted));
  EXPECT_GT(hinted, 1000u) << "the loop did not read ahead: this test would not test it";
}

TEST_F(DedupConsumerReadAheadTest, DestroyedWithoutCloseThenRestartedCountsOnce) {
  std::uint64_t hinted = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectRestartCountsOnce(&hinted));
  EXPECT_GT(hinted, 1000u);
}

TEST_F(DedupConsumerTest, PipelinedCheckpointsRewindOnFailedOrLateAcknowledgement) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  // A stand-in for an output producer: what was "sent", in order.
  std::vector<relay_demo::Source> sent;
  int durable_calls = 0;
  std::optional<std::uint64_t> stalled_mark;
  DedupConsumerHooks hooks;
  hooks.on_message = [&](const Message& m, AppTransaction&) {
    sent.push_back({std::string(m.topic), m.partition.value(), m.offset.value()});
    // Slow enough for several checkpoints while the input lasts.
    if (sent.size() % 100 == 0) std::this_thread::sleep_for(5ms);
    return Status::OK();
  };
  hooks.pre_checkpoint = [](std::chrono::milliseconds) { return Status::OK(); };
  hooks.mark_outputs = [&] { return static_cast<std::uint64_t>(sent.size()); };
  hooks.outputs_durable = [&](std::uint64_t mark) -> Result<bool> {
    // The second checkpoint's outputs fail...
    if (++durable_calls == 2) return Status::IoError("1 output message(s) failed delivery");
    // ...and a later one's are never acknowledged (past hook_timeout).
    if (!stalled_mark && mark > 2000) stalled_mark = mark;
    return mark != stalled_mark;
  };
  auto options = Options();
  options.checkpoint_records = 0;
  options.checkpoint_interval = 20ms;
  options.hook_timeout = 300ms;
  auto consumer = DedupConsumer::Create(**store, options, hooks);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  // Until everything is checkpointed, not merely processed: the stalled
  // checkpoint times out and its range is processed again.
  auto checkpointed = [&] {
    std::vector<kafka::PartitionPosition> saved = (*consumer)->Positions();
    for (auto& p : saved) p.next = p.checkpointed;
    return CaughtUp(saved, high_);
  };
  const Status st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }}, checkpointed, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  const auto stats = (*consumer)->stats();
  EXPECT_TRUE(stalled_mark.has_value());
  EXPECT_EQ(stats.rewinds, 2u);
  EXPECT_EQ(stats.checkpoint_failures, 2u);
  EXPECT_GE(stats.checkpoints, 2u);
  // Everything was sent at least once, some of it twice.
  std::set<relay_demo::Source> distinct(sent.begin(), sent.end());
  std::uint64_t unique = 0;
  for (const auto& [k, n] : expected_) unique += n;
  EXPECT_EQ(distinct.size(), unique);
  EXPECT_GT(sent.size(), unique);
  for (const auto& [p, h] : high_) {
    auto offset = (*store)->LoadOffset(TopicPartition{Topic("in"), Partition(p)});
    ASSERT_TRUE(offset.ok() && offset->has_value());
    EXPECT_EQ((*offset)->value(), h);
  }
}

TEST_F(DedupConsumerTest, BrokerOutageIsLoggedAndRetried) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  Counting counting;
  DedupConsumerHooks hooks;
  hooks.on_message = std::ref(counting);
  std::vector<std::string> log;
  auto options = Options();
  options.log = [&](std::string_view line) { log.emplace_back(line); };
  auto consumer = DedupConsumer::Create(**store, options, hooks);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  // Joined and consuming...
  Status st = DriveUntil({[&] { return (*consumer)->RunFor(10ms); }}, [&] { return counting.calls > 0; }, 30s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  // ...when the only broker goes away: a transient error, logged, while
  // the loop keeps running (shorter than the session timeout).
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  const auto logged = [&] {
    for (const auto& line : log) {
      // From the client's error callback (e.g. "Connect to ... failed").
      if (line.starts_with("client error") && line.find("librdkafka retries") != std::string::npos) return true;
    }
    return false;
  };
  st = DriveUntil({[&] { return (*consumer)->RunFor(10ms); }}, logged, 15s);
  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  ASSERT_TRUE(st.ok()) << st.ToString();
  // Back: it catches up, with nothing counted twice.
  st = RunToEnd(**consumer);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectCommittedCounts(**store));
}

// The group's committed offsets are only for lag tools, but a lag tool
// must not show lag forever: an offset commit the coordinator refused is
// made again, even once the input has stopped (nothing new to checkpoint).
TEST_F(DedupConsumerTest, RefusedOffsetCommitsAreMadeAgainWhenTheInputIsIdle) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto api = kafka::MockCluster::ApiKeyByName("OffsetCommit");
  auto refused = kafka::MockCluster::ErrorCodeByName("OFFSET_METADATA_TOO_LARGE");
  ASSERT_TRUE(api.ok() && refused.ok());
  ASSERT_TRUE(cluster_->PushRequestErrors(*api, 100'000, *refused).ok());
  std::vector<std::string> log;
  auto options = Options();
  options.checkpoint_interval = 50ms;
  options.log = [&](std::string_view line) { log.emplace_back(line); };
  auto consumer = DedupConsumer::Create(**store, options, {});
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  // Everything processed and checkpointed; every commit so far refused.
  Status st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }},
                         [&] {
                           for (const auto& pos : (*consumer)->Positions()) {
                             const auto h = high_.at(pos.tp.partition.value());
                             if (!pos.checkpointed || pos.checkpointed->value() != h) return false;
                           }
                           return (*consumer)->Positions().size() == kPartitions;
                         },
                         60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto refused_logged = [&] {
    return std::any_of(log.begin(), log.end(),
                       [](const std::string& l) { return l.starts_with("offset commit to Kafka failed"); });
  };
  st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }}, refused_logged, 30s);
  ASSERT_TRUE(st.ok()) << "no refused commit reported: " << st.ToString();
  EXPECT_GT((*consumer)->stats().offset_commit_failures, 0u);
  for (const auto& [p, offset] : GroupCommitted()) {
    EXPECT_LT(offset, high_.at(p)) << "partition " << p << ": a commit went through while refused";
  }
  // The coordinator takes commits again; no new input arrives.
  cluster_->ClearRequestErrors(*api);
  st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }}, [&] { return GroupCommitted() == high_; }, 30s);
  EXPECT_TRUE(st.ok()) << "the group's offsets stayed behind the checkpoint: " << st.ToString();
  ASSERT_TRUE((*consumer)->Close(30s).ok());
}

// A consumer stopped between its checkpoint and its offset commit leaves
// the group behind the store. The next one commits what it restored,
// with no input left to process.
TEST_F(DedupConsumerTest, RestoredCheckpointIsCommittedToTheGroupWithoutNewInput) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  {
    auto options = Options();
    options.commit_to_kafka = false;  // as if stopped before each commit
    auto first = DedupConsumer::Create(**store, options, {});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    Status st = RunToEnd(**first);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*first)->Close(30s).ok());
  }
  for (const auto& [p, offset] : GroupCommitted()) {
    EXPECT_LT(offset, 0) << "partition " << p << " was committed by a consumer that does not commit";
  }
  // Options() checkpoints by record count only: no checkpoint will come
  // without input, and the commit must not wait for one.
  auto second = DedupConsumer::Create(**store, Options(), {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  Status st = DriveUntil({[&] { return (*second)->RunFor(20ms); }}, [&] { return GroupCommitted() == high_; }, 30s);
  EXPECT_TRUE(st.ok()) << "the group's offsets stayed behind the restored checkpoint: " << st.ToString();
  EXPECT_EQ((*second)->stats().engine.records, 0u) << "records were processed again";
  EXPECT_EQ((*second)->stats().checkpoints, 0u);
  ASSERT_TRUE((*second)->Close(30s).ok());
}

// A consumer that takes over partitions already caught up (the group's
// offsets at the end) with a state directory of its own has no record to
// process and no checkpoint for them: the end-of-partition event still
// gives it a position, so its lag is known (0), not missing.
TEST_F(DedupConsumerTest, PartitionsTakenOverCaughtUpWithoutACheckpointReportTheirLag) {
  {
    TempDir first_dir;
    auto first_store = CheckpointStore::Open(first_dir.path());
    ASSERT_TRUE(first_store.ok());
    auto first = DedupConsumer::Create(**first_store, Options(), {});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    Status st = RunToEnd(**first);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*first)->Close(30s).ok());
  }
  ASSERT_EQ(GroupCommitted(), high_);

  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto second = DedupConsumer::Create(**store, Options(), {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const auto all_known = [&] {
    const auto positions = (*second)->Positions();
    if (positions.size() != static_cast<std::size_t>(kPartitions)) return false;
    return std::all_of(positions.begin(), positions.end(), [](const auto& p) { return p.lag().has_value(); });
  };
  Status st = DriveUntil({[&] { return (*second)->RunFor(20ms); }}, all_known, 30s);
  ASSERT_TRUE(st.ok()) << "the lag of a partition with nothing to process stayed unknown: " << st.ToString();
  for (const auto& p : (*second)->Positions()) {
    const std::string where = p.tp.ToString();
    EXPECT_FALSE(p.next.has_value()) << where;
    EXPECT_FALSE(p.checkpointed.has_value()) << where;
    ASSERT_TRUE(p.end_reached.has_value()) << where;
    EXPECT_EQ(p.end_reached->value(), high_.at(p.tp.partition.value())) << where;
    EXPECT_EQ(p.lag(), 0) << where;
  }
  EXPECT_EQ((*second)->stats().engine.records, 0u);
  ASSERT_TRUE((*second)->Close(30s).ok());
}

TEST(DedupConsumerOptions, BadOptionsAreRefused) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto options = [] {
    DedupConsumerOptions o;
    o.config = kafka::KafkaConfig{{"bootstrap.servers", "127.0.0.1:1"}, {"group.id", "g"}};
    o.topics = {"t"};
    return o;
  };
  auto create = [&](DedupConsumerOptions o) { return DedupConsumer::Create(**store, std::move(o), {}).status(); };
  EXPECT_TRUE(create(options()).ok());
  auto o = options();
  o.config = kafka::KafkaConfig{{"bootstrap.servers", "127.0.0.1:1"}};
  EXPECT_EQ(create(o).code(), Code::kInvalidArgument);  // no group.id
  o = options();
  o.config.Set("enable.auto.commit", "true");
  EXPECT_EQ(create(o).code(), Code::kInvalidArgument);
  o = options();
  o.topics.clear();
  EXPECT_EQ(create(o).code(), Code::kInvalidArgument);
  o = options();
  o.checkpoint_interval = 0ms;
  EXPECT_EQ(create(o).code(), Code::kInvalidArgument);  // no checkpoint trigger
  o = options();
  o.checkpoint_alignment = -1ms;
  EXPECT_EQ(create(o).code(), Code::kInvalidArgument);
  o = options();
  o.checkpoint_alignment = 0ms;  // off
  EXPECT_TRUE(create(o).ok());
  o = options();
  o.app = "";
  EXPECT_FALSE(create(o).ok());
  o = options();
  o.config.Set("session.timeout.ms", "banana");
  const Status bad = create(o);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("session.timeout.ms"), std::string_view::npos) << bad.ToString();
}

}  // namespace
}  // namespace exactly::testing
