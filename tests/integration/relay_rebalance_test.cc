// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Two relays in one consumer group, sharing one state directory, with the
// eager (range) and the cooperative (cooperative-sticky) protocols: a
// second member joins mid-stream, later leaves; every partition move
// checkpoints on revocation and reloads on assignment, and the output
// still equals the reference.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 4;

class RelayRebalance : public ::testing::TestWithParam<const char*> {};

void Generate(kafka::Producer& producer, const std::string& prefix) {
  relay_demo::TrafficOptions traffic;
  traffic.topic = "in";
  traffic.partitions = kPartitions;
  traffic.producers = 3;
  traffic.producer_prefix = prefix;
  traffic.messages = 600;
  traffic.retry_percent = 5;
  traffic.large_messages = {};
  traffic.malformed = 2;
  traffic.unstamped = 2;
  relay_demo::TrafficReport report;
  const Status st = relay_demo::GenerateTraffic(producer, traffic, &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST_P(RelayRebalance, MembersJoinAndLeaveMidStream) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", kPartitions).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", kPartitions).ok());
  ASSERT_TRUE(cluster->CreateTopic("dlq", 1).ok());
  auto pconf = RelayProducerConfig(bs);
  pconf.Set("enable.idempotence", "true");
  auto producer = kafka::Producer::Create(pconf);
  ASSERT_TRUE(producer.ok());

  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());  // shared by both members
  ASSERT_TRUE(store.ok());
  auto options = RelayTestOptions(bs, "in", "out", "dlq");
  options.consumer_config.Set("partition.assignment.strategy", GetParam());
  auto a = kafka::Relay::Create(**store, options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();

  std::map<std::int32_t, std::int64_t> high;  // of the input, after each burst of traffic
  auto generate = [&](const std::string& prefix) {
    ASSERT_NO_FATAL_FAILURE(Generate(*producer, prefix));
    auto wm = HighWatermarks(bs, "in", kPartitions);
    ASSERT_TRUE(wm.ok());
    high = *wm;
  };
  auto caught_up = [&](std::vector<kafka::Relay*> relays) {
    std::vector<kafka::PartitionPosition> positions;
    for (auto* r : relays) {
      for (auto& p : r->Positions()) positions.push_back(p);
    }
    return CaughtUp(positions, high);
  };
  auto step = [](kafka::Relay* r) { return [r] { return r->RunFor(20ms); }; };

  // A alone.
  ASSERT_NO_FATAL_FAILURE(generate("one"));
  ASSERT_TRUE(DriveUntil({step(a->get())}, [&] { return caught_up({a->get()}); }, 60s).ok());

  // B joins: the partitions are split between them.
  auto b = kafka::Relay::Create(**store, options);
  ASSERT_TRUE(b.ok());
  Status st = DriveUntil({step(a->get()), step(b->get())}, [&] {
    const auto sa = (*a)->stats().consumer, sb = (*b)->stats().consumer;
    return sb.assigned > 0 && sa.assigned > 0 && sa.assigned + sb.assigned == kPartitions;
  }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE((*a)->stats().consumer.revocations, 1u);
  ASSERT_NO_FATAL_FAILURE(generate("two"));
  st = DriveUntil({step(a->get()), step(b->get())}, [&] { return caught_up({a->get(), b->get()}); }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GT((*b)->stats().forwarded, 0u);

  // B leaves (final checkpoint, group leave): A takes everything back.
  ASSERT_NO_FATAL_FAILURE(generate("three"));
  ASSERT_TRUE((*b)->Close(30s).ok());
  st = DriveUntil({step(a->get())}, [&] { return (*a)->stats().consumer.assigned == kPartitions; }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(DriveUntil({step(a->get())}, [&] { return caught_up({a->get()}); }, 60s).ok());
  ASSERT_TRUE((*a)->Close(30s).ok());
  EXPECT_EQ((*a)->stats().consumer.rewinds + (*b)->stats().consumer.rewinds, 0u);

  auto input = relay_demo::ReadTopic(bs, "in", 30s);
  auto output = relay_demo::ReadTopic(bs, "out", 30s);
  auto dead = relay_demo::ReadTopic(bs, "dlq", 30s);
  ASSERT_TRUE(input.ok() && output.ok() && dead.ok());
  const auto ref = relay_demo::ComputeReference(*input);
  const auto index = relay_demo::IndexOutput(*output, "relay-test", Epoch(0));
  const auto v = relay_demo::Compare(ref, index);
  for (const auto& e : v.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(v.ok());
  // Revocations checkpoint first, so nothing was relayed twice.
  EXPECT_EQ(index.repeats, 0u);
  const auto dl = relay_demo::CompareDeadLetters(ref, *dead);
  for (const auto& e : dl.examples) ADD_FAILURE() << e;
  EXPECT_TRUE(dl.ok());
}

INSTANTIATE_TEST_SUITE_P(Protocols, RelayRebalance, ::testing::Values("range", "cooperative-sticky"),
                         [](const auto& param_info) {
                           return std::string(param_info.param) == "range" ? std::string("Eager")
                                                                     : std::string("Cooperative");
                         });

}  // namespace
}  // namespace exactly::testing
