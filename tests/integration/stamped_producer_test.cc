// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The stamped producer against an in-process mock cluster: what lands in
// the topic, read back, is the ground truth.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "exactly/engine.h"
#include "exactly/envelope.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/stamped_producer.h"
#include "kafka_support.h"

namespace exactly::kafka {
namespace {

using namespace std::chrono_literals;
using testing::ProducerConfig;
using testing::ReadAll;
using testing::ReassembleByHand;

std::string Bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

struct Sent {
  std::string key;
  bool has_key = false;
  std::string value;
  SentMessage sent;
};

TEST(StampedProducer, ChunkedMessagesRoundTrip) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ASSERT_TRUE(cluster->CreateTopic("chunks", 2).ok());

  StampedProducerOptions opts;
  opts.producer_id = ProducerId("writer-1");
  opts.epoch = Epoch(7);
  opts.first_seq = Sequence(100);
  opts.chunk_bytes = 64 * 1024;
  auto producer = StampedProducer::Open(ProducerConfig(cluster->bootstraps()), opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  EXPECT_EQ(producer->epoch(), Epoch(7));

  const std::vector<HeaderView> user_headers = {{"trace", "abc"}, {"nullable", std::nullopt}};
  // Sizes around the chunk boundary, plus one of several MB in partition 0
  // (under the mock's ~5 MiB retention per partition).
  const std::vector<std::size_t> sizes = {0, 1, 1000, 64 * 1024, 64 * 1024 + 1, 200 * 1024, 3 * 1024 * 1024 + 7};
  std::vector<Sent> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Sent s;
    s.value = Bytes(sizes[i], static_cast<std::uint32_t>(i));
    s.has_key = i % 2 == 0;
    s.key = "key-" + std::to_string(i);
    StampedMessage m;
    m.topic = "chunks";
    if (sizes[i] > 1024 * 1024) m.partition = Partition(0);
    if (s.has_key) m.key = std::string_view(s.key);
    m.value = std::string_view(s.value);
    m.headers = user_headers;
    auto r = producer->Send(m, 10s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    s.sent = *r;
    EXPECT_EQ(r->stamp, (EpochSeq{Epoch(7), Sequence(100 + i)}));
    EXPECT_EQ(r->chunks, sizes[i] > opts.chunk_bytes ? (sizes[i] + opts.chunk_bytes - 1) / opts.chunk_bytes : 0u);
    sent.push_back(std::move(s));
  }
  ASSERT_TRUE(producer->Flush(30s).ok());
  EXPECT_EQ(producer->producer().counters().failed, 0u);
  ASSERT_TRUE(producer->Close(10s).ok());

  auto records = ReadAll(cluster->bootstraps(), "chunks", 2);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  std::size_t expected_records = 0;
  for (const auto& s : sent) expected_records += s.sent.chunks == 0 ? 1 : s.sent.chunks;
  EXPECT_EQ(records->size(), expected_records);

  auto messages = ReassembleByHand(*records);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), sent.size());
  std::vector<bool> seen(sent.size());
  for (const auto& m : *messages) {
    ASSERT_EQ(m.producer, "writer-1");
    ASSERT_EQ(m.stamp.epoch, Epoch(7));
    const std::size_t i = m.stamp.seq.value() - 100;
    ASSERT_LT(i, sent.size());
    EXPECT_FALSE(seen[i]);
    seen[i] = true;
    EXPECT_EQ(m.partition, sent[i].sent.partition);
    EXPECT_EQ(m.chunks, sent[i].sent.chunks);
    EXPECT_EQ(m.value.size(), sent[i].value.size());
    EXPECT_TRUE(m.value == sent[i].value) << "message " << i;
    EXPECT_EQ(m.key.has_value(), sent[i].has_key);
    if (sent[i].has_key) {
      EXPECT_EQ(*m.key, sent[i].key);
    }
    ASSERT_EQ(m.headers.size(), 2u);
    EXPECT_EQ(m.headers[0], (OwnedHeader{"trace", "abc"}));
    EXPECT_EQ(m.headers[1], (OwnedHeader{"nullable", std::nullopt}));
  }

  // The same records through the dedup engine deliver each message once.
  Engine engine;
  std::size_t delivered = 0;
  for (const auto& r : *records) {
    (void)engine.Process(r.view(), [&](const Message& m) {
      const std::size_t i = m.stamp.seq.value() - 100;
      ASSERT_LT(i, sent.size());
      EXPECT_TRUE(m.value && *m.value == sent[i].value) << "message " << i;
      ++delivered;
    });
  }
  EXPECT_EQ(delivered, sent.size());
  EXPECT_EQ(engine.counters().corrupt, 0u);
  EXPECT_EQ(engine.counters().malformed, 0u);
}

TEST(StampedProducer, DefaultChunkSizeFitsMessageMaxBytes) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("big", 1).ok());
  KafkaConfig conf = ProducerConfig(cluster->bootstraps());
  conf.Set("message.max.bytes", "200000");
  StampedProducerOptions opts;
  opts.producer_id = ProducerId("p");
  opts.epoch = Epoch(0);
  auto producer = StampedProducer::Open(conf, opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  EXPECT_EQ(producer->chunk_bytes(), 200000u - kChunkRoom);
  const std::string value = Bytes(1'000'000, 42);
  auto r = producer->Send({"big", std::nullopt, "k", std::string_view(value), {}, std::nullopt}, 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->chunks, (value.size() + producer->chunk_bytes() - 1) / producer->chunk_bytes());
  ASSERT_TRUE(producer->Close(30s).ok());
  auto records = ReadAll(cluster->bootstraps(), "big", 1);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  auto messages = ReassembleByHand(*records);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_TRUE((*messages)[0].value == value);
}

TEST(StampedProducer, RejectsBadInputNamingIt) {
  StampedProducerOptions opts;
  opts.producer_id = ProducerId("has space");
  opts.epoch = Epoch(0);
  auto bad_id = StampedProducer::Open({}, opts);
  ASSERT_FALSE(bad_id.ok());
  EXPECT_NE(bad_id.status().message().find("has space"), std::string_view::npos);

  opts.producer_id = ProducerId("ok");
  auto bad_prop = StampedProducer::Open({{"no.such.property", "1"}}, opts);
  ASSERT_FALSE(bad_prop.ok());
  EXPECT_EQ(bad_prop.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_prop.status().message().find("no.such.property"), std::string_view::npos);

  auto no_idem = StampedProducer::Open({{"enable.idempotence", "false"}}, opts);
  ASSERT_FALSE(no_idem.ok());
  EXPECT_NE(no_idem.status().message().find("enable.idempotence"), std::string_view::npos);

  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("t", 1).ok());
  auto producer = StampedProducer::Open(ProducerConfig(cluster->bootstraps()), opts);
  ASSERT_TRUE(producer.ok());
  const std::vector<HeaderView> reserved = {{"eo.seq", "5"}};
  auto r = producer->Send({"t", Partition(0), std::nullopt, "v", reserved, std::nullopt}, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("eo.seq"), std::string_view::npos);
  // An explicit sequence may skip ahead, never go back.
  ASSERT_TRUE(producer->Send({"t", Partition(0), std::nullopt, "v", {}, Sequence(10)}, 5s).ok());
  EXPECT_EQ(producer->next_seq(), Sequence(11));
  EXPECT_FALSE(producer->Send({"t", Partition(0), std::nullopt, "v", {}, Sequence(10)}, 5s).ok());
  ASSERT_TRUE(producer->Close(10s).ok());
}

TEST(Producer, FlushReportsFailedDeliveries) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("t", 1).ok());
  auto conf = ProducerConfig(cluster->bootstraps());
  auto producer = Producer::Create(conf);
  ASSERT_TRUE(producer.ok());
  // Partition 5 does not exist: librdkafka fails the message once it knows.
  ASSERT_TRUE(producer->Produce({"t", Partition(5), std::nullopt, "x", {}}, 5s).ok());
  ASSERT_TRUE(producer->Produce({"t", Partition(0), std::nullopt, "y", {}}, 5s).ok());
  Status st = producer->Flush(30s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("t[5]"), std::string_view::npos) << st.ToString();
  EXPECT_EQ(producer->counters().failed, 1u);
  EXPECT_EQ(producer->counters().delivered, 1u);
  // Reported once: the next flush is clean.
  EXPECT_TRUE(producer->Flush(5s).ok());
  EXPECT_TRUE(producer->Close(5s).ok());
}

TEST(Producer, KeyPartitioningMatchesLibrdkafka) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("keys", 7).ok());
  auto producer = Producer::Create(ProducerConfig(cluster->bootstraps()));
  ASSERT_TRUE(producer.ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.push_back("k" + std::to_string(i * 7919));
  for (const auto& k : keys) {
    ASSERT_TRUE(producer->Produce({"keys", std::nullopt, std::string_view(k), k, {}}, 5s).ok());
  }
  ASSERT_TRUE(producer->Close(30s).ok());
  auto records = ReadAll(cluster->bootstraps(), "keys", 7);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), keys.size());
  for (const auto& r : *records) {
    EXPECT_EQ(r.partition, PartitionForKey(*r.key, 7)) << *r.key;
  }
}

}  // namespace
}  // namespace exactly::kafka
