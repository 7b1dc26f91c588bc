// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay's modes: the relay itself against a Kafka cluster, and the
// embedded demo (demo.cc). Each returns the process exit status.
#pragma once

#include "options.h"

namespace exactly::kafka {
class KafkaConfig;
class Relay;
}

namespace exactly::relay_app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitVerification = 3;

int RunRelay(const AppOptions& options);
int RunDemo(const AppOptions& options);

// Once `relay` has met a chunked message: TuneAllocatorForLargeMessages,
// said in the log, and, when `consumer_config` leaves librdkafka's fetch
// queue at its defaults, a warning that the queue bounds large messages
// (docs/OPERATIONS.md, "Large messages"). `*done` remembers that it
// happened.
void TuneForLargeMessagesOnce(const kafka::Relay& relay, const kafka::KafkaConfig& consumer_config, bool* done);

// Log lines at info / error level (apps::Logger: text or JSON on stderr).
void Say(std::string_view text);
void SayError(std::string_view text);
struct StatusReport;
void SayReport(const StatusReport& report);

}  // namespace exactly::relay_app
