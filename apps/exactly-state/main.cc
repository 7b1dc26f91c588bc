// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-state: inspects and repairs a state directory (the checkpoint
// store of exactly-relay and exactly-replay). Commands and exit statuses:
// --help and docs/OPERATIONS.md.
#include <cstdio>
#include <string>

#include "commands.h"
#include "options.h"

int main(int argc, char** argv) {
  using namespace exactly::statetool;
  std::string help;
  auto options = ParseCommandLine(argc, argv, &help);
  if (!options.ok()) {
    std::fprintf(stderr, "exactly-state: %s\nTry 'exactly-state --help'.\n",
                 std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(help.c_str(), stdout);
    return kExitOk;
  }
  return RunCommand(*options, stdout, stderr);
}
