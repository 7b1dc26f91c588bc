// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Replayer: the exactly-replay run loop. Reads the recorded logs in order,
// skips what the state directory says was processed, feeds the rest to the
// engine, appends deliveries and dead letters to their files, and
// checkpoints per DESIGN.md §4: output and dead letters are flushed and
// fsynced BEFORE each checkpoint commit, so no checkpoint covers a record
// whose outputs are not durable.
//
// --crash-after simulates SIGKILL: _exit() with whatever was only buffered
// in memory lost and no checkpoint.
//
// Thread safety: one thread; one Replayer per process (signal handlers).
#pragma once

#include <memory>
#include <optional>

#include "exactly/status.h"
#include "options.h"
#include "stats.h"

namespace exactly::replay {

enum ExitStatus : int {
  kExitOk = 0,
  kExitInvalidInput = 1,
  kExitUsage = 2,
  kExitFailure = 3,      // I/O, state store
  kExitInterrupted = 130,
  kExitCrashed = 137,    // --crash-after: what a shell reports for SIGKILL
};

class Replayer {
 public:
  explicit Replayer(ReplayOptions options);
  ~Replayer();
  // Runs to the end (or a limit, an error, an interrupt); writes --stats;
  // returns the exit status. Never returns for --crash-after.
  int Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Installs SIGINT/SIGTERM handlers that ask the run to stop at the next
// record boundary (after a final checkpoint); a second signal kills.
void InstallInterruptHandlers();

}  // namespace exactly::replay
