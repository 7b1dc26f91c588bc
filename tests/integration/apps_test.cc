// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-broker and exactly-produce as subprocesses, the way scripts and
// other tests use them.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "exactly/kafka/stamped_producer.h"
#include "kafka_support.h"

namespace exactly::kafka {
namespace {

using namespace std::chrono_literals;
using testing::Subprocess;

#if defined(EXACTLY_BROKER_BIN) && defined(EXACTLY_PRODUCE_BIN)

TEST(Apps, BrokerProduceConsumeAndFaults) {
  auto broker = Subprocess::Spawn({EXACTLY_BROKER_BIN, "--brokers", "2", "--topic", "lines:2", "--topic", "big:1"});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto first = broker->ReadLine(30s);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string bootstraps = *first;
  ASSERT_NE(bootstraps.find("127.0.0.1:"), std::string::npos) << bootstraps;

  // Fault commands are answered one line each.
  auto command = [&](const std::string& line) -> std::string {
    EXPECT_TRUE(broker->Write(line + "\n").ok());
    auto answer = broker->ReadLine(10s);
    return answer.ok() ? *answer : answer.status().ToString();
  };
  EXPECT_EQ(command("rtt 1 5"), "ok");
  EXPECT_EQ(command("rtt 1 0"), "ok");
  EXPECT_EQ(command("down 7"), "error: no broker 7 (brokers are 1..2)");
  EXPECT_EQ(command("frobnicate"), "error: unknown command 'frobnicate' (try: help)");
  EXPECT_EQ(command("errors Produce 2 NOT_LEADER_FOR_PARTITION"), "ok");  // the producer retries through them
  EXPECT_EQ(command("leader lines 0 2"), "ok");

  // exactly-produce: one stamped message per stdin line.
  {
    auto produce = Subprocess::Spawn({EXACTLY_PRODUCE_BIN, "--brokers", bootstraps, "-t", "lines", "-p", "1",
                                      "--producer-id", "cli", "--epoch", "3", "--first-seq", "10", "-k", "K", "-H",
                                      "origin=test", "-X", "reconnect.backoff.max.ms=500"});
    ASSERT_TRUE(produce.ok());
    ASSERT_TRUE(produce->Write("one\ntwo\nthree\n").ok());
    produce->CloseStdin();
    auto rc = produce->Wait(60s);
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(*rc, 0);
  }
  // The library producer, through the same broker, with a chunked message.
  const std::string big(300 * 1024, 'x');
  {
    StampedProducerOptions opts;
    opts.producer_id = ProducerId("lib");
    opts.epoch = Epoch(1);
    opts.chunk_bytes = 100 * 1024;
    auto p = StampedProducer::Open(testing::ProducerConfig(bootstraps), opts);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(p->Send({"big", std::nullopt, std::nullopt, std::string_view(big), {}, std::nullopt}, 10s).ok());
    ASSERT_TRUE(p->Close(30s).ok());
  }

  auto lines = testing::ReadAll(bootstraps, "lines", 2);
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  auto messages = testing::ReassembleByHand(*lines);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 3u);
  const char* expected[] = {"one", "two", "three"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& m = (*messages)[i];
    EXPECT_EQ(m.partition, Partition(1));
    EXPECT_EQ(m.producer, "cli");
    EXPECT_EQ(m.stamp, (EpochSeq{Epoch(3), Sequence(10 + i)}));
    EXPECT_EQ(m.value, expected[i]);
    EXPECT_EQ(m.key, std::optional<std::string>("K"));
    EXPECT_EQ(m.headers, (std::vector<OwnedHeader>{{"origin", "test"}}));
  }
  auto big_records = testing::ReadAll(bootstraps, "big", 1);
  ASSERT_TRUE(big_records.ok()) << big_records.status().ToString();
  EXPECT_EQ(big_records->size(), 3u);
  auto big_messages = testing::ReassembleByHand(*big_records);
  ASSERT_TRUE(big_messages.ok()) << big_messages.status().ToString();
  ASSERT_EQ(big_messages->size(), 1u);
  EXPECT_TRUE((*big_messages)[0].value == big);

  // A bad -X names the property and exits 2 without producing.
  {
    auto bad = Subprocess::Spawn({EXACTLY_PRODUCE_BIN, "--brokers", bootstraps, "-t", "lines", "--producer-id", "cli",
                                  "--epoch", "0", "-X", "no.such.thing=1"});
    ASSERT_TRUE(bad.ok());
    bad->CloseStdin();
    auto rc = bad->Wait(30s);
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(*rc, 2);
  }

  // SIGTERM stops the broker cleanly.
  broker->Signal(SIGTERM);
  auto rc = broker->Wait(30s);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(*rc, 0);
}

#else
TEST(Apps, BrokerProduceConsumeAndFaults) { GTEST_SKIP() << "apps not built"; }
#endif

}  // namespace
}  // namespace exactly::kafka
