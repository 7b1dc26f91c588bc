// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// What one exactly-replay run did, and its rendering as the --stats JSON
// object. Counters cover this process only (engine counters are metrics,
// not checkpointed state), so a resumed run reports what it did itself.
//
// Thread safety: plain data and a pure function.
#pragma once

#include <cstdint>
#include <string>

#include "exactly/engine.h"

namespace exactly::replay {

struct RunStats {
  std::uint64_t files = 0;              // input files opened
  std::uint64_t input_records = 0;      // valid record lines read
  std::uint64_t records_skipped = 0;    // below the checkpointed next offset
  std::uint64_t records_processed = 0;  // fed to the engine
  std::uint64_t invalid_lines = 0;      // skipped by --skip-invalid (all kinds)
  std::uint64_t offsets_not_increasing = 0;  // of which: offset order violations
  std::uint64_t output_records = 0;     // lines appended to the output
  std::uint64_t dead_letter_records = 0;
  std::uint64_t checkpoints = 0;        // checkpoints committed by this run
  std::uint64_t input_bytes = 0;        // bytes of input consumed
  std::uint64_t in_progress_messages = 0;  // chunked messages still incomplete at exit
  std::uint64_t buffered_bytes = 0;        // their bytes
  std::uint64_t producers = 0;             // producers tracked at exit
  bool max_records_reached = false;
  bool interrupted = false;
  double seconds = 0;
  int exit_status = 0;
  std::string error;  // the error that ended the run, if any
  Counters engine;
};

// One JSON object, newline-terminated. Engine counters appear under their
// Counters field names; malformed_by_reason maps every MalformedReasonName
// to its count.
std::string StatsJson(const RunStats& stats);

}  // namespace exactly::replay
