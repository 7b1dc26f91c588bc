// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-replay: feeds recorded logs (kcat -C -J layout) through the
// exactly engine without Kafka. Command line: DESIGN.md §6, and --help.
#include <cstdio>
#include <string>

#include "options.h"
#include "replay.h"

int main(int argc, char** argv) {
  using namespace exactly::replay;
  std::string help;
  auto options = ParseCommandLine(argc, argv, &help);
  if (!options.ok()) {
    std::fprintf(stderr, "exactly-replay: %s\nTry 'exactly-replay --help'.\n",
                 std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(help.c_str(), stdout);
    return kExitOk;
  }
  InstallInterruptHandlers();
  Replayer replayer(std::move(*options));
  return replayer.Run();
}
