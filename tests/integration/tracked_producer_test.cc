// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's output producer (lib/src/kafka/tracked_producer.h, private)
// against the mock cluster: it keeps a few topic handles and replaces the
// oldest when more topics come. Records produced round-robin to more
// topics than it keeps, with earlier records of an evicted topic still in
// flight, all arrive in order, each batch reported durable.
#include "tracked_producer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "exactly/kafka/mock_cluster.h"
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

}  // namespace
}  // namespace exactly::testing
