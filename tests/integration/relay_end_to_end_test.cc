// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay end to end on an in-process mock cluster: input with retried
// windows, a zombie, a restarted producer, chunked messages, malformed and
// corrupt records; the output read back must equal the reference computed
// from the input read back, both by hand and through the library's engine.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

TEST(RelayEndToEnd, OutputEqualsReference) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", 3).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", 3).ok());
  ASSERT_TRUE(cluster->CreateTopic("dlq", 1).ok());

  // Input first, read back as ground truth afterwards.
  auto pconf = RelayProducerConfig(bs);
  pconf.Set("enable.idempotence", "true");
  auto producer = kafka::Producer::Create(pconf);
  ASSERT_TRUE(producer.ok());
  relay_demo::TrafficOptions traffic;
  traffic.topic = "in";
  traffic.partitions = 3;
  traffic.producers = 3;
  traffic.messages = 1500;
  traffic.retry_percent = 5;
  traffic.large_messages = {1'300'000, 700'000};
  relay_demo::TrafficReport report;
  ASSERT_TRUE(relay_demo::GenerateTraffic(*producer, traffic, &report).ok());
  EXPECT_GT(report.resent, 0u);
  EXPECT_GT(report.zombie, 0u);

  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  kafka::RelayOptions options = RelayTestOptions(bs, "in", "out", "dlq");
  auto relay = kafka::Relay::Create(**store, options);
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  auto high = HighWatermarks(bs, "in", 3);
  ASSERT_TRUE(high.ok());
  Status st = DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                         [&] { return CaughtUp((*relay)->Positions(), *high); }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE((*relay)->Close(30s).ok());
  const kafka::RelayStats stats = (*relay)->stats();
  EXPECT_GE(stats.consumer.checkpoints, 1u);
  EXPECT_EQ(stats.consumer.rewinds, 0u);
  EXPECT_EQ(stats.producer.failed, 0u);

  auto input = relay_demo::ReadTopic(bs, "in", 30s);
  auto output = relay_demo::ReadTopic(bs, "out", 30s);
  auto dead = relay_demo::ReadTopic(bs, "dlq", 30s);
  ASSERT_TRUE(input.ok() && output.ok() && dead.ok());
  const relay_demo::Reference ref = relay_demo::ComputeReference(*input);
  EXPECT_GT(ref.duplicates, 0u);
  EXPECT_GT(ref.stale, 0u);
  EXPECT_EQ(ref.corrupt_messages, 1u);
  EXPECT_EQ(ref.incomplete, 0u);

  // By hand: every expected message, nothing else, byte for byte.
  const relay_demo::OutputIndex index = relay_demo::IndexOutput(*output, "relay-test", Epoch(0));
  const relay_demo::Verdict v = relay_demo::Compare(ref, index);
  for (const auto& e : v.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.delivered, ref.messages.size());
  EXPECT_EQ(index.repeats, 0u);  // no crash, no rewind: each output once

  // The chunked messages were re-chunked for the output (1 MB records).
  std::size_t chunked = 0;
  for (const auto& [src, m] : index.messages) chunked += m.chunks > 0 ? 1 : 0;
  EXPECT_GE(chunked, 1u);

  // Dead letters: the malformed records and the corrupt message's chunks.
  const relay_demo::DeadLetterVerdict dl = relay_demo::CompareDeadLetters(ref, *dead);
  for (const auto& e : dl.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(dl.ok());
  EXPECT_EQ(dl.expected, report.malformed + report.corrupt_chunks);

  // Through the library: a downstream exactly consumer of the output
  // delivers exactly the reference's messages.
  Engine downstream;
  std::map<relay_demo::Source, std::string> delivered;
  for (const OwnedRecord& r : *output) {
    (void)downstream.Process(r.view(), [&](const Message& m) {
      ASSERT_TRUE(m.stamped);
      const std::string id(m.producer);
      const auto slash = id.rfind('/');
      relay_demo::Source src{id.substr(std::string("relay-test/").size(),
                                             slash - std::string("relay-test/").size()),
                             std::stoi(id.substr(slash + 1)), static_cast<std::int64_t>(m.stamp.seq.value())};
      EXPECT_TRUE(delivered.emplace(src, std::string(m.value.value_or(""))).second);
    });
  }
  EXPECT_EQ(downstream.counters().malformed, 0u);
  EXPECT_EQ(downstream.counters().duplicate, 0u);
  ASSERT_EQ(delivered.size(), ref.messages.size());
  for (const auto& [src, want] : ref.messages) {
    auto it = delivered.find(src);
    ASSERT_NE(it, delivered.end());
    EXPECT_TRUE(it->second == want.value.value_or("")) << src.partition << "@" << src.offset;
  }
}

TEST(RelayEndToEnd, RejectsBadOptions) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("in", 1).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", 1).ok());
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string bs = cluster->bootstraps();

  auto o = RelayTestOptions(bs, "in", "in", "");
  EXPECT_EQ(kafka::Relay::Create(**store, o).status().code(), Code::kInvalidArgument);  // loop

  // (A missing output topic is kNotFound against a real broker; the mock
  // creates every topic a client asks about, so it cannot be tested here.)

  o = RelayTestOptions(bs, "in", "out", "");
  o.relay_id = "has space";
  EXPECT_EQ(kafka::Relay::Create(**store, o).status().code(), Code::kInvalidArgument);

  o = RelayTestOptions(bs, "in", "out", "");
  o.producer_config.Set("enable.idempotence", "false");
  EXPECT_EQ(kafka::Relay::Create(**store, o).status().code(), Code::kInvalidArgument);

  o = RelayTestOptions(bs, "in", "out", "");
  o.consumer_config.Set("no.such.property", "1");
  const Status bad = kafka::Relay::Create(**store, o).status();
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("no.such.property"), std::string_view::npos) << bad.ToString();
}

}  // namespace
}  // namespace exactly::testing
