// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-state's command line: a command (ls, show, dump, verify, forget,
// set-offset) and its options. ParseCommandLine never exits and never
// throws; --help is reported as a flag so main decides what to print.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "exactly/status.h"

namespace exactly::statetool {

// Exit statuses (also in --help and docs/OPERATIONS.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;   // the producer or partition is not in the state
inline constexpr int kExitUsage = 2;      // bad command line
inline constexpr int kExitStore = 3;      // the directory is missing or cannot be read or written
inline constexpr int kExitCorrupt = 4;    // verify (or opening) found damage
inline constexpr int kExitBusy = 5;       // a writing command while a process holds the directory

enum class Command { kLs, kShow, kDump, kVerify, kForget, kSetOffset };

struct StateToolOptions {
  Command command = Command::kLs;
  std::string state_dir;
  std::string producer;                 // show, forget
  std::string topic;                    // set-offset
  std::int32_t partition = 0;           // set-offset
  std::int64_t offset = 0;              // set-offset
  bool create = false;                  // set-offset: allow a partition with no checkpoint
  bool help = false;
};

// Parses argv. On --help returns options with help = true and sets
// *help_text. Errors are kInvalidArgument with a message for the user.
Result<StateToolOptions> ParseCommandLine(int argc, const char* const* argv, std::string* help_text);

}  // namespace exactly::statetool
