// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's command line and config file: parsing and validation.
// Parse never exits and never throws; --help is reported as a flag so
// main decides what to print.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/engine.h"
#include "exactly/kafka/config.h"
#include "exactly/kafka/relay.h"
#include "exactly/status.h"
#include "log.h"

namespace exactly::relay_app {

// The consumer's session.timeout.ms unless -X / --consumer-X sets it
// (librdkafka's default is 45 s): how long a crashed relay's partitions
// wait before the group gives them to another member.
inline constexpr std::string_view kDefaultSessionTimeoutMs = "10000";

struct AppOptions {
  bool help = false;
  bool demo = false;
  std::string brokers;             // empty: only allowed with --demo
  std::string state_dir;
  std::string relay_id;
  std::uint64_t status_interval_ms = 5000;
  std::uint64_t close_timeout_ms = 60000;
  bool sync = true;
  // Prometheus /metrics (off unless --metrics-port; 0: an ephemeral port).
  std::optional<std::uint16_t> metrics_port;
  std::string metrics_address = "127.0.0.1";
  apps::LogFormat log_format = apps::LogFormat::kText;
  apps::LogLevel log_level = apps::LogLevel::kInfo;
  // Demo only.
  std::uint64_t demo_messages = 4000;  // per generator producer
  // -X (both clients), --consumer-X, --producer-X, in the order given.
  std::vector<std::string> properties, consumer_properties, producer_properties;
  // Everything the relay itself takes (topics, group, bounds...). The
  // client configs hold only the user's properties, bootstrap.servers and
  // (consumer) the default session.timeout.ms.
  kafka::RelayOptions relay;
};

// Parses argv (and the --config file, whose values come after the command
// line's: the command line wins for single-valued options, repeatable ones
// are merged). Errors are kInvalidArgument with a message for the user.
Result<AppOptions> Parse(int argc, const char* const* argv, std::string* help_text);


// Applies the -X lists to a base config: `properties` first, then the
// client-specific ones. Validates every property against librdkafka.
Result<kafka::KafkaConfig> BuildClientConfig(const kafka::KafkaConfig& base, const std::vector<std::string>& common,
                                             const std::vector<std::string>& specific, std::string_view role);

}  // namespace exactly::relay_app
