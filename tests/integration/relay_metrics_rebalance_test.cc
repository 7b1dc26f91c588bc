// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Per-partition metrics follow the assignment: a relay alone in its group
// exports lag and offsets for every input partition; once a second member
// joins and takes some, the first one's scrape no longer has them (and the
// second's has exactly those), so summing over the group never counts a
// partition twice.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "demo_traffic.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/consumer_metrics.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

// The partitions with a lag series in `text`.
std::set<std::string> LagPartitions(const std::string& text) {
  std::set<std::string> out;
  const std::string prefix = "\nexactly_consumer_lag_records{topic=\"in\",partition=\"";
  for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const auto start = at + prefix.size();
    out.insert(text.substr(start, text.find('"', start) - start));
  }
  return out;
}

TEST(RelayMetricsRebalance, RevokedPartitionsLeaveTheScrape) {
  constexpr int kPartitions = 4;
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", kPartitions).ok());
  ASSERT_TRUE(cluster->CreateTopic("out", kPartitions).ok());
  ASSERT_TRUE(cluster->CreateTopic("dlq", 1).ok());
  auto producer = kafka::Producer::Create(RelayProducerConfig(bs));
  ASSERT_TRUE(producer.ok());
  for (int p = 0; p < kPartitions; ++p) {
    relay_demo::StampedSend s;
    s.topic = "in";
    s.partition = Partition(p);
    s.producer = "p";
    s.stamp = EpochSeq{Epoch(1), Sequence(0)};
    s.value = "v";
    ASSERT_TRUE(relay_demo::SendStamped(*producer, s).ok());
  }
  ASSERT_TRUE(producer->Flush(10s).ok());

  TempDir dir;
  auto store_a = CheckpointStore::Open(dir.sub("a"));
  auto store_b = CheckpointStore::Open(dir.sub("b"));
  ASSERT_TRUE(store_a.ok() && store_b.ok());
  metrics::Registry reg_a, reg_b;
  auto m_a = kafka::RelayMetrics::Create(reg_a);
  auto m_b = kafka::RelayMetrics::Create(reg_b);
  ASSERT_TRUE(m_a.ok() && m_b.ok());
  auto options = RelayTestOptions(bs, "in", "out", "dlq");
  options.consumer_config.Set("partition.assignment.strategy", "range");
  auto a = kafka::Relay::Create(**store_a, options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto step = [](kafka::Relay* relay, kafka::RelayMetrics* m) {
    return [relay, m] {
      Status st = relay->RunFor(50ms);
      m->Update(*relay);
      return st;
    };
  };
  const std::map<std::int32_t, std::int64_t> high = {{0, 1}, {1, 1}, {2, 1}, {3, 1}};
  ASSERT_TRUE(DriveUntil({step(a->get(), m_a->get())}, [&] { return CaughtUp((*a)->Positions(), high); }, 60s).ok());
  EXPECT_EQ(LagPartitions(reg_a.Render()), (std::set<std::string>{"0", "1", "2", "3"})) << reg_a.Render();

  auto b = kafka::Relay::Create(**store_b, options);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const Status st = DriveUntil({step(a->get(), m_a->get()), step(b->get(), m_b->get())}, [&] {
    const auto sa = (*a)->stats().consumer, sb = (*b)->stats().consumer;
    // A newly assigned partition shows in the scrape once its high
    // watermark is known (after its first fetch), so wait for that too.
    return sa.assigned > 0 && sb.assigned > 0 && sa.assigned + sb.assigned == kPartitions &&
           LagPartitions(reg_a.Render()).size() + LagPartitions(reg_b.Render()).size() ==
               static_cast<std::size_t>(kPartitions);
  }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::set<std::string> in_a = LagPartitions(reg_a.Render()), in_b = LagPartitions(reg_b.Render());
  std::set<std::string> owned_a;
  for (const auto& p : (*a)->Positions()) owned_a.insert(std::to_string(p.tp.partition.value()));
  EXPECT_EQ(in_a, owned_a) << reg_a.Render();
  EXPECT_EQ(in_a.size() + in_b.size(), static_cast<std::size_t>(kPartitions));
  for (const auto& p : in_b) EXPECT_EQ(in_a.count(p), 0u) << "partition " << p << " in both scrapes";
  const std::string text_a = reg_a.Render();
  EXPECT_NE(text_a.find("exactly_rebalance_events_total{kind=\"revoked\"} "), std::string::npos);
  EXPECT_EQ(text_a.find("exactly_rebalance_events_total{kind=\"revoked\"} 0\n"), std::string::npos) << text_a;
  ASSERT_TRUE((*b)->Close(30s).ok());
  ASSERT_TRUE((*a)->Close(30s).ok());
}

}  // namespace
}  // namespace exactly::testing
