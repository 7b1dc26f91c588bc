// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// KafkaMessage's header views, read from records the mock cluster really
// stored: every header count around the inline capacity (none, some, the
// capacity, one more, many), null and empty values, order and duplicate
// names preserved, and the views still valid after the message is moved.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exactly/kafka/consumer.h"
#include "exactly/kafka/message.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "kafka_support.h"

namespace exactly::kafka {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Header i of the record with `count` headers: a few names repeat, every
// fifth value is null and every seventh empty.
OwnedHeader HeaderOf(std::size_t count, std::size_t i) {
  OwnedHeader h;
  h.name = i % 3 == 2 ? "dup" : "h" + std::to_string(count) + "-" + std::to_string(i);
  if (i % 5 != 4) h.value = i % 7 == 6 ? "" : std::string(i + 1, static_cast<char>('a' + i % 26));
  return h;
}

std::vector<OwnedHeader> ToOwned(std::span<const HeaderView> views) {
  std::vector<OwnedHeader> out;
  for (const HeaderView& h : views) {
    OwnedHeader o{std::string(h.name), std::nullopt};
    if (h.value) o.value = std::string(*h.value);
    out.push_back(std::move(o));
  }
  return out;
}

TEST(KafkaMessage, HeadersAroundTheInlineCapacity) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE(cluster->CreateTopic("headers", 1).ok());

  constexpr std::size_t kCap = KafkaMessage::kInlineHeaders;
  const std::vector<std::size_t> counts = {0, 1, 3, kCap - 1, kCap, kCap + 1, 3 * kCap + 5};
  std::vector<std::vector<OwnedHeader>> sent;
  {
    auto producer = Producer::Create(testing::ProducerConfig(cluster->bootstraps()));
    ASSERT_TRUE(producer.ok()) << producer.status().ToString();
    for (std::size_t count : counts) {
      std::vector<OwnedHeader> owned;
      for (std::size_t i = 0; i < count; ++i) owned.push_back(HeaderOf(count, i));
      std::vector<HeaderView> views;
      for (const OwnedHeader& h : owned) {
        views.push_back({h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
      }
      const std::string value = "record-" + std::to_string(count);
      ASSERT_TRUE(producer->Produce({"headers", Partition(0), std::nullopt, value, views}, 10s).ok());
      sent.push_back(std::move(owned));
    }
    ASSERT_TRUE(producer->Flush(10s).ok());
  }

  auto consumer = Consumer::Create(testing::ConsumerConfig(cluster->bootstraps()));
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  const TopicPartitionOffset start{TopicPartition{Topic("headers"), Partition(0)}, kOffsetBeginning};
  ASSERT_TRUE(consumer->Assign(std::span(&start, 1)).ok());
  // The previous record, its header views built: the next one is
  // move-assigned over it.
  KafkaMessage held;
  std::size_t read = 0;
  const auto deadline = Clock::now() + 30s;
  while (read < counts.size() && Clock::now() < deadline) {
    auto msg = consumer->Poll(100ms);
    ASSERT_TRUE(msg.ok()) << msg.status().ToString();
    if (msg->empty() || !msg->ok()) continue;
    const std::size_t i = read++;
    SCOPED_TRACE("record with " + std::to_string(counts[i]) + " headers");
    EXPECT_EQ(msg->value(), NullableBytes("record-" + std::to_string(counts[i])));
    EXPECT_EQ(ToOwned(msg->headers()), sent[i]);
    EXPECT_EQ(ToOwned(msg->view().headers), sent[i]);
    KafkaMessage moved(std::move(*msg));
    EXPECT_TRUE(msg->empty());
    EXPECT_TRUE(msg->headers().empty());
    EXPECT_EQ(ToOwned(moved.headers()), sent[i]);
    if (i > 0) {
      EXPECT_EQ(ToOwned(held.headers()), sent[i - 1]);
    }
    held = std::move(moved);
    EXPECT_TRUE(moved.empty());
    EXPECT_EQ(ToOwned(held.headers()), sent[i]);
    EXPECT_EQ(ToOwned(held.view().headers), sent[i]);
  }
  ASSERT_EQ(read, counts.size()) << "records not read back within the deadline";
  // librdkafka's close waits for every message of the client to be released.
  held = KafkaMessage();
  (void)consumer->Close(5s);
}

}  // namespace
}  // namespace exactly::kafka
