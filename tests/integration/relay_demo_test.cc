// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// `exactly-relay --demo` verifies itself and exits 0 with lost = 0; and
// the app refuses bad options and bad librdkafka properties with exit 2.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "exactly/kafka/consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;

#ifdef EXACTLY_RELAY_BIN

struct AppRun {
  int status = -1;
  std::vector<std::string> stdout_lines;
};

AppRun RunRelay(std::vector<std::string> args, std::chrono::seconds timeout) {
  args.insert(args.begin(), EXACTLY_RELAY_BIN);
  AppRun run;
  auto child = Subprocess::Spawn(args);
  EXPECT_TRUE(child.ok());
  if (!child.ok()) return run;
  child->CloseStdin();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto line = child->ReadLine(left);
    if (!line.ok()) break;  // end of output (or the deadline)
    run.stdout_lines.push_back(*line);
  }
  auto status = child->Wait(5s);
  EXPECT_TRUE(status.ok()) << "exactly-relay did not exit in time";
  if (status.ok()) run.status = *status;
  return run;
}

TEST(RelayApp, DemoVerifiesWithNothingLost) {
  const AppRun run = RunRelay({"--demo", "--demo-messages", "2000", "--status-interval-ms", "1000"}, 90s);
  EXPECT_EQ(run.status, 0);
  ASSERT_FALSE(run.stdout_lines.empty());
  const std::string& verdict = run.stdout_lines.back();
  EXPECT_NE(verdict.find("verified:"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("lost 0, extra 0"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("OK"), std::string::npos) << verdict;
}

TEST(RelayApp, BadOptionsExitTwo) {
  EXPECT_EQ(RunRelay({"--input", "a", "--output", "b", "--state-dir", "/tmp/x"}, 10s).status, 2);  // no brokers
  EXPECT_EQ(RunRelay({"--brokers", "127.0.0.1:1", "--output", "b", "--state-dir", "/tmp/x"}, 10s).status, 2);
  EXPECT_EQ(RunRelay({"--brokers", "127.0.0.1:1", "--input", "a", "--output", "b", "--state-dir", "/tmp/x",
                      "--unstamped", "maybe"},
                     10s)
                .status,
            2);
  EXPECT_EQ(RunRelay({"--brokers", "127.0.0.1:1", "--input", "a", "--output", "b", "--state-dir", "/tmp/x", "-X",
                      "no.such.property=1"},
                     10s)
                .status,
            2);
  EXPECT_EQ(RunRelay({"--brokers", "127.0.0.1:1", "--input", "a", "--output", "b", "--state-dir", "/tmp/x",
                      "--producer-ttl", "soon"},
                     10s)
                .status,
            2);
  EXPECT_EQ(RunRelay({"--demo", "--brokers", "127.0.0.1:1"}, 10s).status, 2);
  EXPECT_EQ(RunRelay({"--no-such-option"}, 10s).status, 2);
  EXPECT_EQ(RunRelay({"--config", "/nonexistent/relay.conf"}, 10s).status, 2);
  EXPECT_EQ(RunRelay({"--help"}, 10s).status, 0);
}

TEST(RelayApp, ConfigFileIsReadAndCommandLineWins) {
  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  for (const char* t : {"a", "b"}) ASSERT_TRUE(cluster->CreateTopic(t, 1).ok());
  auto producer = kafka::Producer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}});
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(producer->Produce({"a", Partition(0), std::nullopt, std::string_view("hello"), {}}, 5s).ok());
  ASSERT_TRUE(producer->Flush(5s).ok());

  TempDir dir;
  const std::string conf = dir.sub("relay.conf");
  {
    std::FILE* f = std::fopen(conf.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f,
                 "# relay settings\nbrokers = %s\ninput = a\noutput = b\ngroup = conf\nunstamped = sometimes\n"
                 "consumer-X = fetch.wait.max.ms=10\nconsumer-X = session.timeout.ms=6000\n",
                 bs.c_str());
    std::fclose(f);
  }
  // The file's bad --unstamped is reported...
  EXPECT_EQ(RunRelay({"--config", conf, "--state-dir", dir.sub("s")}, 10s).status, 2);
  // ...unless the command line overrides it: then it relays until SIGTERM,
  // which it answers with a final checkpoint and exit status 0.
  auto child = Subprocess::Spawn({EXACTLY_RELAY_BIN, "--config", conf, "--state-dir", dir.sub("s"), "--unstamped",
                                  "pass", "--checkpoint-interval-ms", "100"});
  ASSERT_TRUE(child.ok());
  auto group = kafka::Consumer::Create(kafka::KafkaConfig{{"bootstrap.servers", bs}, {"group.id", "conf"}});
  ASSERT_TRUE(group.ok());
  const std::vector<TopicPartition> tps = {{Topic("a"), Partition(0)}};
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::int64_t committed = -1;
  while (committed < 1 && std::chrono::steady_clock::now() < deadline) {
    auto c = group->Committed(tps, 5s);
    if (c.ok()) committed = (*c)[0].offset.value();
    if (committed < 1) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(committed, 1);
  child->Signal(SIGTERM);
  auto status = child->Wait(30s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, 0);
  auto out = ReadAll(bs, "b", 1);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].value, "hello");
}

#endif

}  // namespace
}  // namespace exactly::testing
