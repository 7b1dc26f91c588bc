// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's dead-letter topic: malformed records, a corrupt chunked
// message, an abandoned one (chunk span) and dropped unstamped records
// each arrive with their reason and origin headers, their own headers
// carried along, and an oversized one cut to fit.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "demo_traffic.h"
#include "demo_verify.h"
#include "exactly/checkpoint_store.h"
#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;
namespace rh = kafka::relay_header;

std::optional<std::string> HeaderValue(const OwnedRecord& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return std::nullopt;
}

TEST(RelayDeadLetters, RejectedInputArrivesWithReasons) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  for (const char* t : {"in", "out", "dlq"}) ASSERT_TRUE(cluster->CreateTopic(t, 1).ok());
  auto producer = kafka::Producer::Create(RelayProducerConfig(bs));
  ASSERT_TRUE(producer.ok());

  // One partition, so every offset below is known.
  const Partition p0(0);
  std::int64_t next = 0;
  std::map<std::int64_t, std::string> want_reason;  // offset -> reason of its dead letter
  std::vector<std::int64_t> delivered;
  auto raw = [&](std::vector<HeaderView> headers, std::string_view value, std::string_view reason) {
    ASSERT_TRUE(producer->Produce({"in", p0, std::string_view("k"), value, headers}, 10s).ok());
    if (!reason.empty()) want_reason[next] = std::string(reason);
    ++next;
  };
  auto stamped = [&](std::string_view producer_id, std::uint64_t seq, std::string_view value, std::size_t chunk,
                     std::optional<std::uint32_t> crc, std::string_view reason) {
    relay_demo::StampedSend s;
    s.topic = "in";
    s.partition = p0;
    s.producer = producer_id;
    s.stamp = EpochSeq{Epoch(1), Sequence(seq)};
    s.key = std::string_view("k");
    s.value = value;
    s.chunk_bytes = chunk;
    s.crc = crc;
    auto n = relay_demo::SendStamped(*producer, s);
    ASSERT_TRUE(n.ok());
    for (std::uint32_t i = 0; i < *n; ++i) {
      if (!reason.empty()) want_reason[next] = std::string(reason);
      ++next;
    }
  };

  ASSERT_NO_FATAL_FAILURE(stamped("p1", 0, "fine", 0, std::nullopt, ""));
  delivered.push_back(0);
  ASSERT_NO_FATAL_FAILURE(
      raw({{header::kProducer, "p1"}, {header::kEpoch, "x1"}, {header::kSeq, "1"}, {"trace", "t-1"}}, "bad epoch",
          "malformed"));
  ASSERT_NO_FATAL_FAILURE(raw({{header::kEpoch, "1"}, {header::kSeq, "1"}}, "no producer", "malformed"));
  ASSERT_NO_FATAL_FAILURE(
      raw({{header::kProducer, "p1"}, {header::kEpoch, "1"}, {header::kSeq, "1"}, {header::kChunk, "0/2"}},
          "chunk without size", "malformed"));
  // A chunked message whose eo.crc is wrong: all three chunks.
  const std::string corrupt = relay_demo::FillerText(3000, 5);
  ASSERT_NO_FATAL_FAILURE(stamped("p1", 2, corrupt, 1000, crc32c::Value(corrupt) + 1, "corrupt"));
  ASSERT_NO_FATAL_FAILURE(raw({{"legacy", "yes"}}, "unstamped", "unstamped"));
  // Chunk 0 of 2, then too many records before chunk 1: abandoned.
  const std::string split = relay_demo::FillerText(2000, 6);
  {
    const std::string crc = FormatCrc(crc32c::Value(split));
    ASSERT_NO_FATAL_FAILURE(raw({{header::kProducer, "p2"},
                                 {header::kEpoch, "1"},
                                 {header::kSeq, "0"},
                                 {header::kChunk, "0/2"},
                                 {header::kSize, "2000"},
                                 {header::kCrc, crc}},
                                std::string_view(split).substr(0, 1000), "abandoned"));
  }
  for (std::uint64_t s = 0; s < 6; ++s) {
    delivered.push_back(next);
    ASSERT_NO_FATAL_FAILURE(stamped("p3", s, "filler", 0, std::nullopt, ""));
  }
  // Malformed and larger than the dead-letter producer takes (100 kB).
  const std::string big(300'000, 'z');
  const std::int64_t big_offset = next;
  ASSERT_NO_FATAL_FAILURE(raw({{header::kProducer, "p1"}, {header::kSeq, "9"}}, big, "malformed"));
  ASSERT_TRUE(producer->Flush(10s).ok());

  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto o = RelayTestOptions(bs, "in", "out", "dlq");
  o.engine.unstamped = UnstampedPolicy::kDrop;
  o.engine.max_chunk_span = 3;
  o.producer_config.Set("message.max.bytes", "100000");
  auto relay = kafka::Relay::Create(**store, o);
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  const std::map<std::int32_t, std::int64_t> high = {{0, next}};
  ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                         [&] { return CaughtUp((*relay)->Positions(), high); }, 60s)
                  .ok());
  ASSERT_TRUE((*relay)->Close(30s).ok());
  const auto stats = (*relay)->stats();
  EXPECT_EQ(stats.consumer.engine.malformed, 4u);
  EXPECT_EQ(stats.consumer.engine.corrupt, 1u);
  EXPECT_EQ(stats.consumer.engine.abandoned, 1u);
  EXPECT_EQ(stats.consumer.engine.unstamped_dropped, 1u);

  auto dead = relay_demo::ReadTopic(bs, "dlq", 30s);
  ASSERT_TRUE(dead.ok());
  std::map<std::int64_t, std::string> got_reason;
  for (const OwnedRecord& r : *dead) {
    const auto offset = HeaderValue(r, rh::kDeadLetterOffset);
    ASSERT_TRUE(offset && HeaderValue(r, rh::kDeadLetterReason));
    EXPECT_EQ(HeaderValue(r, rh::kDeadLetterTopic), "in");
    EXPECT_EQ(HeaderValue(r, rh::kDeadLetterPartition), "0");
    EXPECT_TRUE(HeaderValue(r, rh::kDeadLetterDetail).has_value());
    got_reason[std::stoll(*offset)] = *HeaderValue(r, rh::kDeadLetterReason);
    if (std::stoll(*offset) == 1) {
      EXPECT_EQ(HeaderValue(r, "trace"), "t-1");  // the record's own headers carried along
      EXPECT_EQ(HeaderValue(r, rh::kDeadLetterDetail), std::string(MalformedReasonName(MalformedReason::kBadEpoch)));
      EXPECT_EQ(r.value, "bad epoch");
    }
    if (std::stoll(*offset) == big_offset) {
      EXPECT_EQ(HeaderValue(r, rh::kDeadLetterTruncated), "300000");
      ASSERT_TRUE(r.value.has_value());
      EXPECT_LT(r.value->size(), 100'000u);
      EXPECT_GT(r.value->size(), 90'000u);
    }
  }
  EXPECT_EQ(got_reason, want_reason);

  // The good records went through, nothing else.
  auto output = relay_demo::ReadTopic(bs, "out", 30s);
  ASSERT_TRUE(output.ok());
  ASSERT_EQ(output->size(), delivered.size());
  for (std::size_t i = 0; i < delivered.size(); ++i) {
    const Envelope env = Classify((*output)[i].view().headers);
    EXPECT_EQ(env.stamp.seq.value(), static_cast<std::uint64_t>(delivered[i]));
  }
}

}  // namespace
}  // namespace exactly::testing
