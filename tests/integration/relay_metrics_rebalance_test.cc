// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Per-partition metrics follow the assignment: a relay alone in its group
// exports lag and offsets for every input partition; once a second member
// joins and takes some, the first one's scrape no longer has them (and the
// second's has exactly those), so summing over the group never counts a
// partition twice.
//
// A partition's lag is exported once its position is known: from the local
// checkpoint, or from the first record processed. The second relay has no
// checkpoint of its own and starts at the group's offset, which the test
// lets the first relay commit before the second joins (had the commit lost
// the race to the join, the second would re-read from the start instead).
// So one more record per partition is sent after the rebalance, and every
// owner processes one.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "demo_traffic.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/consumer.h"
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
  auto send_one_per_partition = [&](std::int64_t seq) {
    for (int p = 0; p < kPartitions; ++p) {
      const std::string producer_id = fmt::format("p{}", p);  // StampedSend holds views
      relay_demo::StampedSend s;
      s.topic = "in";
      s.partition = Partition(p);
      s.producer = producer_id;
      s.stamp = EpochSeq{Epoch(1), Sequence(seq)};
      s.value = "v";
      ASSERT_TRUE(relay_demo::SendStamped(*producer, s).ok());
    }
    ASSERT_TRUE(producer->Flush(10s).ok());
  };
  send_one_per_partition(0);

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
  // Kept for the failure message: the rebalance's course is the first
  // thing to look at when a condition below is not reached.
  std::vector<std::string> log;
  const auto t0 = std::chrono::steady_clock::now();
  auto log_as = [&](const char* who) {
    return [&log, t0, who](std::string_view line) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      log.push_back(fmt::format("{:>6} ms {}: {}", ms.count(), who, line));
    };
  };
  auto diagnostics = [&] {
    return fmt::format("relay log:\n{}\nscrape of a:\n{}\nscrape of b:\n{}", fmt::join(log, "\n"), reg_a.Render(),
                       reg_b.Render());
  };
  options.log = log_as("a");
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
  auto group_committed = [&] {
    std::map<std::int32_t, std::int64_t> out;
    auto reader = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}, {"group.id", options.group}});
    if (!reader.ok()) return out;
    std::vector<TopicPartition> tps;
    for (int p = 0; p < kPartitions; ++p) tps.push_back({Topic("in"), Partition(p)});
    if (auto committed = reader->Committed(tps, 5s); committed.ok()) {
      for (const auto& c : *committed) out[c.tp.partition.value()] = c.offset.value();
    }
    (void)reader->Close(5s);
    return out;
  };
  ASSERT_TRUE(DriveUntil({step(a->get(), m_a->get())}, [&] { return group_committed() == high; }, 60s).ok())
      << diagnostics();

  options.log = log_as("b");
  auto b = kafka::Relay::Create(**store_b, options);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const std::vector<std::function<Status()>> both = {step(a->get(), m_a->get()), step(b->get(), m_b->get())};
  Status st = DriveUntil(both, [&] {
    const auto sa = (*a)->stats().consumer, sb = (*b)->stats().consumer;
    return sa.assigned > 0 && sb.assigned > 0 && sa.assigned + sb.assigned == kPartitions;
  }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << diagnostics();

  send_one_per_partition(1);
  const std::map<std::int32_t, std::int64_t> high2 = {{0, 2}, {1, 2}, {2, 2}, {3, 2}};
  st = DriveUntil(both, [&] {
    auto positions = (*a)->Positions();
    for (auto& p : (*b)->Positions()) positions.push_back(std::move(p));
    // A partition shows in the scrape once its high watermark is known
    // (after its first fetch), so wait for that too.
    return CaughtUp(positions, high2) && LagPartitions(reg_a.Render()).size() + LagPartitions(reg_b.Render()).size() ==
                                             static_cast<std::size_t>(kPartitions);
  }, 60s);
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << diagnostics();
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
