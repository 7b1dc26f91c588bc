// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's fetch-stall detector (apps/exactly-relay/fetch_stall.h)
// on made-up observations, no broker: it fires once, after the configured
// number of stalls of the configured length in which nothing arrived while
// records waited; never for a relay that keeps receiving, has caught up or
// is only a few offsets behind; and its warning names the queue settings
// in force. The end-to-end case
// (a relay held by librdkafka's fetch pause) is in relay_cli_log_test.
#include <gtest/gtest.h>

#include "exactly/kafka/config.h"
#include "fetch_stall.h"

namespace exactly::relay_app {
namespace {

using namespace std::chrono_literals;
using Clock = FetchStallDetector::Clock;

// Drives a detector in 50 ms slices, as exactly-relay's loop does.
struct Loop {
  FetchStallDetector detector{FetchStallDetector::Options{300ms, 3, 1000}};
  Clock::time_point now = Clock::time_point{} + 1h;
  std::uint64_t received = 0;
  int fired = 0;

  void Slice(std::uint64_t arrived, std::optional<std::uint64_t> waiting) {
    now += 50ms;
    received += arrived;
    if (detector.Observe(now, received, waiting)) ++fired;
  }
  // `ms` of slices in which nothing arrives while `waiting` records wait.
  void Stall(std::chrono::milliseconds ms, std::uint64_t waiting) {
    for (auto t = 0ms; t < ms; t += 50ms) Slice(0, waiting);
  }
};

TEST(FetchStallDetector, FiresOnceAtTheThirdStallOfThreeHundredMilliseconds) {
  Loop loop;
  loop.Slice(1000, 50000);
  for (int i = 0; i < 2; ++i) {
    loop.Stall(900ms, 50000);  // the rest of a paused second
    loop.Slice(1000, 49000);   // the next fetch
  }
  EXPECT_EQ(loop.fired, 0);
  EXPECT_EQ(loop.detector.episodes(), 2);
  loop.Stall(900ms, 48000);
  EXPECT_EQ(loop.fired, 1);
  EXPECT_EQ(loop.detector.episodes(), 3);
  EXPECT_EQ(loop.detector.longest(), 900ms);
  for (int i = 0; i < 5; ++i) {
    loop.Slice(1000, 47000);
    loop.Stall(900ms, 47000);
  }
  EXPECT_EQ(loop.fired, 1) << "it warns once per process";
  EXPECT_EQ(loop.detector.episodes(), 8);
}

TEST(FetchStallDetector, ALongStallCountsOnce) {
  Loop loop;
  loop.Slice(10, 1000);
  loop.Stall(10s, 1000);
  EXPECT_EQ(loop.detector.episodes(), 1);
  EXPECT_EQ(loop.fired, 0);
}

TEST(FetchStallDetector, ShortGapsAreNotStalls) {
  Loop loop;
  for (int i = 0; i < 100; ++i) {
    loop.Slice(500, 100000);
    loop.Stall(250ms, 100000);  // under 300 ms counting from the last arrival
  }
  EXPECT_EQ(loop.detector.episodes(), 0);
  EXPECT_EQ(loop.fired, 0);
}

TEST(FetchStallDetector, ACaughtUpRelayIsNeverStalled) {
  Loop loop;
  for (int i = 0; i < 10; ++i) {
    loop.Slice(100, 0);
    loop.Stall(2s, 0);  // nothing arrives because nothing waits
  }
  EXPECT_EQ(loop.detector.episodes(), 0);
}

TEST(FetchStallDetector, AFewOffsetsAheadAreNotAStall) {
  // A caught-up relay on transactional input: the commit markers after
  // its last record keep each partition's lag at 1 or so.
  Loop loop;
  for (int i = 0; i < 10; ++i) {
    loop.Slice(1, 4);
    loop.Stall(2s, 4);
  }
  EXPECT_EQ(loop.detector.episodes(), 0);
  loop.Slice(1, 999);
  loop.Stall(2s, 999);
  EXPECT_EQ(loop.detector.episodes(), 0);
  loop.Slice(1, 1000);
  loop.Stall(2s, 1000);
  EXPECT_EQ(loop.detector.episodes(), 1);
}

TEST(FetchStallDetector, UnknownLagIsNotAStall) {
  Loop loop;
  for (int i = 0; i < 60; ++i) loop.Slice(0, std::nullopt);  // before any fetch response
  EXPECT_EQ(loop.detector.episodes(), 0);
}

TEST(FetchStallDetector, AnArrivalEndsTheStall) {
  Loop loop;
  loop.Slice(1, 2000);
  loop.Stall(250ms, 2000);
  loop.Slice(1, 2000);
  loop.Stall(250ms, 2000);
  EXPECT_EQ(loop.detector.episodes(), 0);
  loop.Stall(100ms, 2000);  // 350 ms since the last arrival
  EXPECT_EQ(loop.detector.episodes(), 1);
}

TEST(FetchStallDetector, WarningNamesTheQueueSettingsInForce) {
  Loop loop;
  for (int i = 0; i < 3; ++i) {
    loop.Slice(1, 5000);
    loop.Stall(400ms, 5000);
  }
  ASSERT_EQ(loop.fired, 1);
  const std::string defaults = FetchStallWarning(loop.detector, 5000, kafka::KafkaConfig{});
  EXPECT_NE(defaults.find("up to 400 ms, 3 times, while 5000 records waited"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("queued.min.messages records (100000, the default)"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("queued.max.messages.kbytes (65536, the default)"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("--consumer-X queued.min.messages"), std::string::npos) << defaults;
  const std::string set = FetchStallWarning(
      loop.detector, 5000,
      kafka::KafkaConfig{{"queued.min.messages", "1000"}, {"queued.max.messages.kbytes", "262144"}});
  EXPECT_NE(set.find("queued.min.messages records (1000)"), std::string::npos) << set;
  EXPECT_NE(set.find("queued.max.messages.kbytes (262144)"), std::string::npos) << set;
}

}  // namespace
}  // namespace exactly::relay_app
