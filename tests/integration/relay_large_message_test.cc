// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Messages of several MB across the relay: reassembled from the input's
// chunks, re-chunked to the output's message.max.bytes with chunk headers
// describing the output message, and delivered whole downstream.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "demo_traffic.h"
#include "exactly/checkpoint_store.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "exactly/envelope.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

std::string RandomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(RelayLargeMessage, SeveralMegabytesCrossTheRelay) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  for (const char* t : {"in", "out"}) ASSERT_TRUE(cluster->CreateTopic(t, 1).ok());
  auto producer = kafka::Producer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}, {"linger.ms", "5"}});
  ASSERT_TRUE(producer.ok());

  // Incompressible, so nothing is helped by compression: 3.5 MB in
  // 512 KiB chunks, and 600 kB in 300 kB chunks that fits one output record.
  const std::string large = RandomBytes(3'500'000, 1);
  const std::string medium = RandomBytes(600'000, 2);
  const std::vector<HeaderView> user = {{"content-type", "application/octet-stream"}};
  for (const auto& [value, chunk, seq] : {std::tuple{&large, std::size_t{512 * 1024}, 10u},
                                          std::tuple{&medium, std::size_t{300'000}, 11u}}) {
    relay_demo::StampedSend s;
    s.topic = "in";
    s.partition = Partition(0);
    s.producer = "uploader";
    s.stamp = EpochSeq{Epoch(2), Sequence(seq)};
    s.key = std::string_view("file");
    s.value = *value;
    s.chunk_bytes = chunk;
    s.headers = user;
    ASSERT_TRUE(relay_demo::SendStamped(*producer, s).ok());
  }
  ASSERT_TRUE(producer->Flush(30s).ok());
  auto high = HighWatermarks(bs, "in", 1);
  ASSERT_TRUE(high.ok());
  EXPECT_EQ((*high)[0], 7 + 2);

  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto o = RelayTestOptions(bs, "in", "out", "");
  o.producer_config.Set("compression.type", "none");
  auto relay = kafka::Relay::Create(**store, o);
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  ASSERT_TRUE(DriveUntil({[&] { return (*relay)->RunFor(50ms); }},
                         [&] { return CaughtUp((*relay)->Positions(), *high); }, 60s)
                  .ok());
  // The 3.5 MB message's buffer is kept for the next one (which took it,
  // and gave it back): the reserve the metrics export.
  EXPECT_GE((*relay)->stats().consumer.reassembly_reserve_bytes, large.size());
  EXPECT_LE((*relay)->stats().consumer.reassembly_reserve_bytes, std::uint64_t{64} << 20);
  ASSERT_TRUE((*relay)->Close(30s).ok());
  EXPECT_EQ((*relay)->stats().forwarded, 2u);
  EXPECT_EQ((*relay)->stats().forwarded_chunked, 1u);

  auto output = ReadAll(bs, "out", 1);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  // Every output record fits librdkafka's default message.max.bytes.
  for (const auto& r : *output) EXPECT_LE(r.value.value_or("").size(), 1'000'000u);
  auto messages = ReassembleByHand(*output);  // checks eo.chunk/size/crc of the output
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 2u);
  const auto& big = (*messages)[0];
  EXPECT_EQ(big.producer, "relay-test/in/0");
  EXPECT_EQ(big.stamp, (EpochSeq{Epoch(0), Sequence(6)}));  // completed by input offset 6 (chunk 6 of 7)
  EXPECT_EQ(big.chunks, 4u);
  EXPECT_TRUE(big.value == large);
  EXPECT_EQ(big.key, "file");
  ASSERT_EQ(big.headers.size(), 2u);  // the origin stamp + the user's
  EXPECT_EQ(big.headers[0], (OwnedHeader{"exactly.origin", "uploader 2 10"}));
  EXPECT_EQ(big.headers[1], (OwnedHeader{"content-type", "application/octet-stream"}));
  const auto& mid = (*messages)[1];
  EXPECT_EQ(mid.chunks, 0u);  // reassembled from two input chunks, fits one output record
  EXPECT_EQ(mid.stamp, (EpochSeq{Epoch(0), Sequence(8)}));
  EXPECT_TRUE(mid.value == medium);

  // Downstream, through the library.
  Engine downstream;
  std::vector<std::string> values;
  for (const auto& r : *output) {
    (void)downstream.Process(r.view(), [&](const Message& m) { values.emplace_back(m.value.value_or("")); });
  }
  ASSERT_EQ(values.size(), 2u);
  EXPECT_TRUE(values[0] == large);
  EXPECT_TRUE(values[1] == medium);
}

}  // namespace
}  // namespace exactly::testing
