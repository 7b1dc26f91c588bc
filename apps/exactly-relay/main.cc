// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-relay: the dedup relay (see --help and docs/RELAY.md).

#include <cstdio>
#include <iostream>
#include <string>

#include "cli.h"
#include "exactly/kafka/log.h"
#include "log.h"
#include "options.h"
#include "run.h"

namespace {

int Main(int argc, char** argv) {
  using namespace exactly::relay_app;
  std::string help;
  auto options = Parse(argc, argv, &help);
  if (!options.ok()) {
    std::cerr << "exactly-relay: " << options.status().message() << "\n(see --help)\n";
    return kExitUsage;
  }
  if (options->help) {
    std::cout << help;
    return kExitOk;
  }
  exactly::apps::Logger::Get().Configure("exactly-relay", options->log_format, options->log_level);
  // librdkafka's lines in the same format and filtered by the same level.
  static exactly::apps::LoggerKafkaSink kafka_log;
  exactly::kafka::SetKafkaLogSink(&kafka_log);
  exactly::apps::InstallShutdownHandlers();
  return options->demo ? RunDemo(*options) : RunRelay(*options);
}

}  // namespace

int main(int argc, char** argv) {
  return exactly::apps::RunMain("exactly-relay", &Main, argc, argv, exactly::relay_app::kExitFailure);
}
