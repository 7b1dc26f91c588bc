// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-replay's command line (DESIGN.md §6): parsing and validation.
// ParseCommandLine never exits and never throws; --help is reported as a
// flag so main decides what to print.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/engine.h"
#include "exactly/recorded_log.h"
#include "exactly/status.h"

namespace exactly::replay {

struct ReplayOptions {
  std::vector<std::string> files;   // '-' is stdin
  std::string output = "-";         // -o
  std::string state_dir;            // empty: no resume, no store
  std::uint64_t checkpoint_every = 0;  // 0: only at the end
  std::uint64_t max_records = 0;       // 0: no limit
  std::uint64_t crash_after = 0;       // 0: never
  std::string stats;                // empty: none
  std::string dead_letters;         // empty: none
  bool skip_invalid = false;
  bool progress = true;             // only shown when stderr is a terminal
  EngineOptions engine;
  RecordedLogOptions log;
  bool help = false;
};

// Parses argv. On --help, returns options with help = true and sets
// *help_text. Errors are kInvalidArgument with a message for the user.
Result<ReplayOptions> ParseCommandLine(int argc, const char* const* argv, std::string* help_text);



}  // namespace exactly::replay
