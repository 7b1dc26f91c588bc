// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "cli.h"

#include "exactly/allocator_tuning.h"

#include <csignal>
#include <exception>
#include <iostream>

namespace exactly::apps {

namespace {
volatile std::sig_atomic_t g_signal = 0;

extern "C" void OnSignal(int sig) { g_signal = sig; }
}  // namespace

void InstallShutdownHandlers() {
  struct sigaction sa {};
  sa.sa_handler = &OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupt blocking reads
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is an error to report, not a death
}

bool ShutdownRequested() noexcept { return g_signal != 0; }
int ShutdownSignal() noexcept { return g_signal; }

int RunMain(std::string_view app, int (*run)(int, char**), int argc, char** argv, int failure_status) {
  TuneAllocatorForLongRunningProcess();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << app << ": " << e.what() << "\n";
    return failure_status;
  }
}

Status ApplyProperties(const std::vector<std::string>& pairs, kafka::KafkaConfig& config) {
  for (const auto& p : pairs) EXACTLY_RETURN_IF_ERROR(config.SetPair(p));
  return Status::OK();
}

}  // namespace exactly::apps
