// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumerMetrics / RelayMetrics without a broker: counters follow
// the consumer's cumulative stats (each Update adds what grew), partition
// gauges appear with an owned partition and leave the scrape when it is
// revoked, the checkpoint age is computed at scrape time, and a second
// adapter on the same registry is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exactly/envelope.h"
#include "exactly/kafka/consumer_metrics.h"
#include "exactly/metrics/registry.h"

namespace exactly::kafka {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

PartitionPosition Pos(const char* topic, int partition, std::int64_t next, std::int64_t high, std::size_t producers) {
  PartitionPosition p{TopicPartition{Topic(topic), Partition(partition)}, Offset(next), Offset(next)};
  p.high_watermark = Offset(high);
  p.producers = producers;
  return p;
}

TEST(ConsumerMetrics, CountersFollowStatsAndPartitionsComeAndGo) {
  metrics::Registry r;
  auto m = DedupConsumerMetrics::Create(r);
  ASSERT_TRUE(m.ok()) << m.status().ToString();

  DedupConsumerStats s;
  s.engine.records = 10;
  s.engine.duplicate = 3;
  s.engine.malformed = 1;
  s.engine.malformed_by_reason[static_cast<std::size_t>(MalformedReason::kBadEpoch)] = 1;
  s.engine.delivered = 6;
  s.assigned = 2;
  s.reassembly_reserve_bytes = 8388608;
  std::vector<PartitionPosition> both = {Pos("in", 0, 5, 9, 2), Pos("in", 1, 7, 7, 1)};
  (*m)->Update(s, both);
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "exactly_records_processed_total 10")) << text;
  EXPECT_TRUE(Has(text, "exactly_records_total{outcome=\"duplicate\"} 3")) << text;
  EXPECT_TRUE(Has(text, "exactly_malformed_records_total{reason=\"bad_epoch\"} 1")) << text;
  EXPECT_TRUE(Has(text, "exactly_malformed_records_total{reason=\"missing_producer\"} 0")) << text;
  EXPECT_EQ(text.find("reason=\"none\""), std::string::npos) << text;
  EXPECT_TRUE(Has(text, "exactly_messages_total{outcome=\"delivered\"} 6")) << text;
  EXPECT_TRUE(Has(text, "exactly_consumer_lag_records{topic=\"in\",partition=\"0\"} 4")) << text;
  EXPECT_TRUE(Has(text, "exactly_consumer_lag_records{topic=\"in\",partition=\"1\"} 0")) << text;
  EXPECT_TRUE(Has(text, "exactly_partition_tracked_producers{topic=\"in\",partition=\"0\"} 2")) << text;
  EXPECT_TRUE(Has(text, "exactly_seconds_since_last_checkpoint -1")) << text;
  EXPECT_TRUE(Has(text, "exactly_reassembly_reserve_bytes 8388608")) << text;

  // More records; partition 1 revoked: its series leave the scrape.
  s.engine.records = 25;
  s.engine.duplicate = 4;
  s.assigned = 1;
  s.checkpoints = 1;
  s.offset_commit_failures = 2;
  s.checkpoint_alignments = 5;  // waits ended, 2 of them at a bound
  s.checkpoint_alignments_expired = 2;
  s.last_checkpoint = std::chrono::steady_clock::now() - std::chrono::seconds(3);
  (*m)->Update(s, std::vector<PartitionPosition>{Pos("in", 0, 9, 12, 2)});
  text = r.Render();
  EXPECT_TRUE(Has(text, "exactly_records_processed_total 25")) << text;
  EXPECT_TRUE(Has(text, "exactly_records_total{outcome=\"duplicate\"} 4")) << text;
  EXPECT_TRUE(Has(text, "exactly_consumer_lag_records{topic=\"in\",partition=\"0\"} 3")) << text;
  EXPECT_EQ(text.find("partition=\"1\""), std::string::npos) << text;
  EXPECT_TRUE(Has(text, "exactly_assigned_partitions 1")) << text;
  EXPECT_TRUE(Has(text, "exactly_checkpoints_total{result=\"ok\"} 1")) << text;
  EXPECT_TRUE(Has(text, "exactly_offset_commit_failures_total 2")) << text;
  EXPECT_TRUE(Has(text, "exactly_checkpoint_alignments_total{result=\"aligned\"} 3")) << text;
  EXPECT_TRUE(Has(text, "exactly_checkpoint_alignments_total{result=\"expired\"} 2")) << text;
  // The age is computed when scraped: about 3 s here.
  const std::string series = "\nexactly_seconds_since_last_checkpoint ";
  const auto at = text.find(series);
  ASSERT_NE(at, std::string::npos);
  const double age = std::stod(text.substr(at + series.size()));
  EXPECT_GE(age, 3.0);
  EXPECT_LT(age, 60.0);

  // Assigned again: back, with the current values.
  (*m)->Update(s, both);
  EXPECT_TRUE(Has(r.Render(), "exactly_consumer_lag_records{topic=\"in\",partition=\"1\"} 0"));

  (*m)->ObserveCheckpoint(std::chrono::milliseconds(3));
  EXPECT_TRUE(Has(r.Render(), "exactly_checkpoint_duration_seconds_bucket{le=\"0.004\"} 1"));
  EXPECT_TRUE(Has(r.Render(), "exactly_checkpoint_duration_seconds_count 1"));

  EXPECT_FALSE(DedupConsumerMetrics::Create(r).ok());  // names taken
}

// The lag is measured from the partition's position: the next offset to
// process, else the restored checkpoint, else where librdkafka last
// reported the partition's end; without any of them, or without a high
// watermark, the series is absent rather than a guess.
TEST(ConsumerMetrics, LagFromNextElseCheckpointElseTheEndReached) {
  const TopicPartition tp{Topic("in"), Partition(0)};
  PartitionPosition p{tp, std::nullopt, std::nullopt};
  EXPECT_EQ(p.lag(), std::nullopt);
  p.high_watermark = Offset(100);
  EXPECT_EQ(p.lag(), std::nullopt);
  p.end_reached = Offset(100);
  EXPECT_EQ(p.lag(), 0);
  p.checkpointed = Offset(60);
  EXPECT_EQ(p.lag(), 40);
  p.next = Offset(90);
  EXPECT_EQ(p.lag(), 10);
  p.next = Offset(120);  // a high watermark older than the position
  EXPECT_EQ(p.lag(), 0);

  metrics::Registry r;
  auto m = DedupConsumerMetrics::Create(r);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  PartitionPosition caught_up{tp, std::nullopt, std::nullopt};
  caught_up.high_watermark = Offset(7);
  caught_up.end_reached = Offset(7);
  PartitionPosition unknown{TopicPartition{Topic("in"), Partition(1)}, std::nullopt, std::nullopt};
  unknown.high_watermark = Offset(7);
  const std::vector<PartitionPosition> both = {caught_up, unknown};
  (*m)->Update(DedupConsumerStats{}, both);
  const std::string text = r.Render();
  EXPECT_TRUE(Has(text, "exactly_consumer_lag_records{topic=\"in\",partition=\"0\"} 0")) << text;
  EXPECT_EQ(text.find("exactly_consumer_lag_records{topic=\"in\",partition=\"1\"}"), std::string::npos) << text;
}

TEST(ConsumerMetrics, AdapterMayDieBeforeTheRegistry) {
  metrics::Registry r;
  {
    auto m = RelayMetrics::Create(r);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    RelayStats s;
    s.forwarded = 5;
    s.forwarded_chunked = 2;
    s.consumer.last_checkpoint = std::chrono::steady_clock::now();
    (*m)->Update(s, {});
    const std::string text = r.Render();
    EXPECT_TRUE(Has(text, "exactly_relay_forwarded_messages_total{chunked=\"false\"} 3")) << text;
    EXPECT_TRUE(Has(text, "exactly_relay_forwarded_messages_total{chunked=\"true\"} 2")) << text;
  }
  EXPECT_NE(r.Render().find("exactly_seconds_since_last_checkpoint"), std::string::npos);  // the hook is inert
}

}  // namespace
}  // namespace exactly::kafka
