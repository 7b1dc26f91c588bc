// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's option parser (apps/exactly-relay/options.cc): the
// sample configuration committed in docs/exactly-relay.conf parses, with
// every value where the README says; the metrics, logging and checkpoint
// alignment options are validated.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.h"

namespace exactly::relay_app {
namespace {

Result<AppOptions> ParseArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "exactly-relay");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return Parse(static_cast<int>(argv.size()), argv.data(), nullptr);
}

TEST(RelayOptions, SampleConfigFileParses) {
  const std::string sample = std::string(EXACTLY_SOURCE_DIR) + "/docs/exactly-relay.conf";
  auto o = ParseArgs({"--config", sample});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->brokers, "kafka-1.example.internal:9093,kafka-2.example.internal:9093,kafka-3.example.internal:9093");
  EXPECT_EQ(o->relay.group, "orders-relay");
  EXPECT_EQ(o->relay.relay_id, "orders-relay");
  EXPECT_EQ(o->relay.inputs, (std::vector<std::string>{"orders", "orders-retry"}));
  EXPECT_EQ(o->relay.output, "orders-deduplicated");
  EXPECT_EQ(o->relay.dead_letter_topic, "orders-dead-letters");
  EXPECT_EQ(o->state_dir, "/var/lib/exactly-relay/orders");
  ASSERT_TRUE(o->metrics_port.has_value());
  EXPECT_EQ(*o->metrics_port, 9464);
  EXPECT_EQ(o->metrics_address, "0.0.0.0");
  EXPECT_EQ(o->log_format, apps::LogFormat::kJson);
  EXPECT_EQ(o->log_level, apps::LogLevel::kInfo);
  EXPECT_EQ(o->status_interval_ms, 10000u);
  EXPECT_EQ(o->relay.engine.max_buffer_bytes, 256ull << 20);
  EXPECT_EQ(o->relay.checkpoint_alignment, std::chrono::milliseconds(100));
  for (const auto* config : {&o->relay.consumer_config, &o->relay.producer_config}) {
    EXPECT_EQ(config->Get("security.protocol"), "SASL_SSL");
    EXPECT_EQ(config->Get("sasl.mechanisms"), "SCRAM-SHA-512");
    EXPECT_EQ(config->Get("sasl.username"), "orders-relay");
  }
  EXPECT_EQ(o->relay.producer_config.Get("linger.ms"), "5");
  EXPECT_FALSE(o->relay.consumer_config.Get("linger.ms").has_value());
  EXPECT_EQ(o->relay.consumer_config.Get("fetch.max.bytes"), "52428800");

  // The command line wins over the file.
  auto over = ParseArgs({"--config", sample, "--metrics-port", "0", "--log-format", "text"});
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  EXPECT_EQ(*over->metrics_port, 0);
  EXPECT_EQ(over->log_format, apps::LogFormat::kText);
}

TEST(RelayOptions, MetricsAndLoggingOptions) {
  const std::vector<std::string> base = {"--brokers", "127.0.0.1:9092", "--input", "a", "--output", "b",
                                         "--state-dir", "/tmp/x"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseArgs(args);
  };
  auto defaults = with({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->metrics_port.has_value());  // off unless asked for
  EXPECT_EQ(defaults->metrics_address, "127.0.0.1");
  EXPECT_EQ(defaults->log_format, apps::LogFormat::kText);
  EXPECT_EQ(defaults->log_level, apps::LogLevel::kInfo);
  EXPECT_FALSE(with({"--metrics-port", "65536"}).ok());
  EXPECT_FALSE(with({"--metrics-port", "-1"}).ok());
  EXPECT_FALSE(with({"--log-format", "xml"}).ok());
  EXPECT_FALSE(with({"--log-level", "trace"}).ok());
  EXPECT_EQ(defaults->relay.checkpoint_alignment, std::chrono::milliseconds(100));
  auto off = with({"--checkpoint-alignment-ms", "0"});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->relay.checkpoint_alignment, std::chrono::milliseconds(0));
  EXPECT_FALSE(with({"--checkpoint-alignment-ms", "-5"}).ok());
  const auto too_long = with({"--checkpoint-alignment-ms", "3600001"});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("checkpoint-alignment-ms"), std::string_view::npos);
  auto debug = with({"--log-level", "debug", "--metrics-port", "9464"});
  ASSERT_TRUE(debug.ok());
  EXPECT_EQ(debug->log_level, apps::LogLevel::kDebug);
  EXPECT_EQ(*debug->metrics_port, 9464);
}

TEST(RelayOptions, ConsumerSessionTimeoutDefaultsToTenSecondsAndCanBeOverridden) {
  const std::vector<std::string> base = {"--brokers", "127.0.0.1:9092", "--input", "a", "--output", "b",
                                         "--state-dir", "/tmp/x"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseArgs(args);
  };
  auto defaults = with({});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->relay.consumer_config.Get("session.timeout.ms"), "10000");
  EXPECT_FALSE(defaults->relay.producer_config.Get("session.timeout.ms").has_value());
  auto consumer_x = with({"--consumer-X", "session.timeout.ms=30000"});
  ASSERT_TRUE(consumer_x.ok()) << consumer_x.status().ToString();
  EXPECT_EQ(consumer_x->relay.consumer_config.Get("session.timeout.ms"), "30000");
  auto both_x = with({"-X", "session.timeout.ms=20000"});
  ASSERT_TRUE(both_x.ok()) << both_x.status().ToString();
  EXPECT_EQ(both_x->relay.consumer_config.Get("session.timeout.ms"), "20000");
  // The sample config (docs/exactly-relay.conf) does not set it: the default.
  auto sample = ParseArgs({"--config", std::string(EXACTLY_SOURCE_DIR) + "/docs/exactly-relay.conf"});
  ASSERT_TRUE(sample.ok()) << sample.status().ToString();
  EXPECT_EQ(sample->relay.consumer_config.Get("session.timeout.ms"), "10000");
}

}  // namespace
}  // namespace exactly::relay_app
