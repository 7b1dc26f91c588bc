// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's output producer (lib/src/kafka/tracked_producer.h, private)
// against the mock cluster: it keeps a few topic handles and replaces the
// oldest when more topics come. Records produced round-robin to more
// topics than it keeps, with earlier records of an evicted topic still in
// flight, all arrive in order, each batch reported durable. And it serves
// delivery reports as it produces, so acknowledged copies are freed
// between checkpoints rather than held until the next Durable() (and so
// does the public kafka::Producer, without Poll()).
#include "tracked_producer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "kafka_support.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

TEST(TrackedProducer, MoreTopicsThanItKeepsHandlesForAllArriveInOrder) {
  // More than the handles kept (8), so every round replaces each handle.
  constexpr int kTopics = 13;
  constexpr int kRounds = 40;
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  for (int t = 0; t < kTopics; ++t) ASSERT_TRUE(cluster->CreateTopic(fmt::format("out-{}", t), 1).ok());
  auto producer = kafka::TrackedProducer::Create(ProducerConfig(cluster->bootstraps()));
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::uint64_t> marks;
  for (int r = 0; r < kRounds; ++r) {
    for (int t = 0; t < kTopics; ++t) {
      const std::string topic = fmt::format("out-{}", t);
      const std::string value = fmt::format("{}/{}", topic, r);
      const std::string round = std::to_string(r);
      const HeaderView header{"round", std::string_view(round)};
      Status st = (*producer)->Produce({topic, Partition(0), std::string_view("k"), std::string_view(value),
                                        std::span<const HeaderView>(&header, 1)},
                                       10s);
      ASSERT_TRUE(st.ok()) << topic << " round " << r << ": " << st.ToString();
    }
    marks.push_back((*producer)->Mark());
  }
  ASSERT_TRUE((*producer)->Flush(30s).ok());
  for (std::uint64_t mark : marks) {
    auto durable = (*producer)->Durable(mark);
    ASSERT_TRUE(durable.ok()) << durable.status().ToString();
    EXPECT_TRUE(*durable) << "batch " << mark;
  }
  EXPECT_EQ((*producer)->counters().delivered, std::uint64_t{kTopics * kRounds});
  EXPECT_EQ((*producer)->counters().failed, 0u);
  ASSERT_TRUE((*producer)->Close(10s).ok());

  for (int t = 0; t < kTopics; ++t) {
    const std::string topic = fmt::format("out-{}", t);
    auto records = ReadAll(cluster->bootstraps(), topic, 1, 30s);
    ASSERT_TRUE(records.ok()) << topic << ": " << records.status().ToString();
    ASSERT_EQ(records->size(), std::size_t{kRounds}) << topic;
    for (int r = 0; r < kRounds; ++r) {
      const OwnedRecord& rec = (*records)[static_cast<std::size_t>(r)];
      EXPECT_EQ(rec.value, fmt::format("{}/{}", topic, r)) << topic << " offset " << r;
      ASSERT_EQ(rec.headers.size(), 1u);
      EXPECT_EQ(rec.headers[0].value, std::to_string(r));
    }
  }
}

// Without a Durable(), Flush(), Poll() or a full queue, a producer still
// serves the reports that arrived (every kServeReportsEveryRecords records
// or kServeReportsEveryBytes bytes), so acknowledged copies are released:
// the relay calls Durable() once per checkpoint interval, and until then
// every acknowledged output stayed in librdkafka's memory. The same holds
// for the public kafka::Producer. Rounds of records go out, each after the
// broker holds all of the previous ones; the reports of a round are served
// during a later one.
struct ServeCase {
  std::size_t value_bytes;
  std::uint64_t records_per_round;
};

// Under message.max.bytes (1,000,000), and enough of them per round to pass
// the byte threshold long before the record count.
constexpr std::size_t kLargeValue = 900'000;

const auto kServeCases = ::testing::Values(
    ServeCase{10, kafka::Producer::kServeReportsEveryRecords},
    ServeCase{kLargeValue, kafka::Producer::kServeReportsEveryBytes / kLargeValue + 1});

std::string ServeCaseName(const ::testing::TestParamInfo<ServeCase>& param) {
  return param.param.value_bytes < 1024 ? std::string("SmallRecords") : std::string("MegabyteRecords");
}

kafka::KafkaConfig NeverFullQueue(const std::string& bootstraps) {
  auto config = ProducerConfig(bootstraps);
  // A full queue would serve reports too.
  config.Set("queue.buffering.max.messages", "10000000");
  config.Set("queue.buffering.max.kbytes", "2097151");
  return config;
}

// Produces rounds of `c` to topic "out" of `cluster` through `producer`
// (a TrackedProducer or a Producer) until it counts a delivered report
// (at most 20 rounds), then flushes and expects every record delivered.
template <class P>
void ExpectReportsServedWhileProducing(kafka::MockCluster& cluster, const ServeCase& c, P& producer) {
  auto reader = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", cluster.bootstraps()}});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const std::string value(c.value_bytes, 'v');
  constexpr int kMaxRounds = 20;
  std::int64_t sent = 0;
  int round = 0;
  for (; round < kMaxRounds && producer.counters().delivered == 0; ++round) {
    for (std::uint64_t i = 0; i < c.records_per_round; ++i) {
      ASSERT_TRUE(producer.Produce({"out", Partition(0), std::nullopt, std::string_view(value), {}}, 10s).ok());
      ++sent;
    }
    // The broker holds every record so far before the next round, so their
    // acknowledgements are on their way back.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      auto wm = reader->QueryWatermarks(TopicPartition{Topic("out"), Partition(0)}, 5s);
      ASSERT_TRUE(wm.ok()) << wm.status().ToString();
      if (wm->high.value() >= sent) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the broker did not get " << sent << " records";
    }
  }
  EXPECT_GT(producer.counters().delivered, 0u)
      << "no delivery report served in " << round << " rounds of " << c.records_per_round << " records";
  (void)reader->Close(5s);
  ASSERT_TRUE(producer.Flush(30s).ok());
  EXPECT_EQ(producer.counters().delivered, static_cast<std::uint64_t>(sent));
  ASSERT_TRUE(producer.Close(10s).ok());
}

// A mock cluster with the topic "out".
class ReportsTest : public ::testing::TestWithParam<ServeCase> {
 protected:
  void SetUp() override {
    auto c = kafka::MockCluster::Create(1);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_.emplace(std::move(c).value());
    ASSERT_TRUE(cluster_->CreateTopic("out", 1).ok());
  }
  std::optional<kafka::MockCluster> cluster_;
};

class TrackedProducerReports : public ReportsTest {};

TEST_P(TrackedProducerReports, AreServedAsItProducesWithoutDurable) {
  auto producer = kafka::TrackedProducer::Create(NeverFullQueue(cluster_->bootstraps()));
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  ExpectReportsServedWhileProducing(*cluster_, GetParam(), **producer);
}

INSTANTIATE_TEST_SUITE_P(ByCountAndBySize, TrackedProducerReports, kServeCases, ServeCaseName);

class ProducerReports : public ReportsTest {};

TEST_P(ProducerReports, AreServedAsItProducesWithoutPoll) {
  auto producer = kafka::Producer::Create(NeverFullQueue(cluster_->bootstraps()));
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  ExpectReportsServedWhileProducing(*cluster_, GetParam(), *producer);
}

INSTANTIATE_TEST_SUITE_P(ByCountAndBySize, ProducerReports, kServeCases, ServeCaseName);

}  // namespace
}  // namespace exactly::testing
