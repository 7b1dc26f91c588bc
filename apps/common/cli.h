// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Small helpers shared by the exactly command-line apps.
//
// Thread safety: InstallShutdownHandlers() once, from main, before any
// thread starts; ShutdownRequested() from anywhere (async-signal-safe flag).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "exactly/kafka/config.h"
#include "exactly/status.h"

namespace exactly::apps {

// SIGINT and SIGTERM set a flag instead of killing the process. Handlers
// are installed without SA_RESTART, so blocking reads return EINTR and the
// app notices promptly.
void InstallShutdownHandlers();
bool ShutdownRequested() noexcept;
// The signal that requested shutdown, 0 if none.
int ShutdownSignal() noexcept;

// main() of an app: returns run(argc, argv); an exception escaping it
// (bad_alloc, a library throwing) becomes "<app>: <what>" on stderr and
// `failure_status`, rather than std::terminate's abort.
int RunMain(std::string_view app, int (*run)(int, char**), int argc, char** argv, int failure_status = 1);

// Applies each "key=value" (-X) to `config`; the error names the bad one.
Status ApplyProperties(const std::vector<std::string>& pairs, kafka::KafkaConfig& config);

}  // namespace exactly::apps
