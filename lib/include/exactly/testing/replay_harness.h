// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Replay harness for stream-processor authors: runs a recorded log
// (recorded_log.h) through YOUR message handler with the full engine and a
// real checkpoint store, optionally "crashing" and restoring along the way,
// and checks that the handler's committed effects are exactly those of a
// crash-free run.
//
// The handler is called for every delivered message with the application
// transaction of the current checkpoint (app_state.h). Everything the
// handler wants to survive a crash must go through that transaction: it is
// committed atomically with the input offsets and the engine's watermarks.
// Anything else the handler does (counters in memory, files, calls out)
// happens at least once, not exactly once — which is what the harness is
// there to reveal.
//
// A simulated crash does what a SIGKILL leaves behind: the engine and the
// uncommitted transaction are dropped, the store is closed and reopened,
// and reading restarts from the beginning of the log, every partition
// skipping the records below its checkpointed next offset (exactly as
// exactly-replay --state-dir resumes). Crash points are positions in the
// log: each fires once, the first time processing reaches it, so a run
// always finishes however crash and checkpoint intervals relate.
//
// Determinism: a handler that is a function of the messages and of what it
// reads from the transaction gives identical committed state with and
// without crashes. CheckCrashConsistency() verifies this, together with
// the engine's own checkpointed state (offsets, watermarks, in-progress
// chunks), for each crash schedule you give it.
//
// Example (docs/TESTING.md has a complete GoogleTest):
//   auto handler = [](const Message& m, AppTransaction& txn) -> Status {
//     auto sum = txn.Get("sum");  ...  txn.Put("sum", ...);  return Status::OK();
//   };
//   ReplayHarnessOptions opt;  opt.checkpoint_every = 50;
//   EXPECT_TRUE(CheckCrashConsistency("tests/data/orders.jsonl", handler, opt, {7, 100, 333}).ok());
//
// Error convention: Status/Result. A handler error aborts the run and is
// returned with the position of the message that caused it.
//
// Thread safety: each call is self-contained; concurrent calls must use
// distinct state directories (the default, a fresh temporary one, is).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/engine.h"
#include "exactly/partition_state.h"
#include "exactly/record.h"
#include "exactly/recorded_log.h"
#include "exactly/status.h"

namespace exactly::testing {

// Called for each delivered message. Return an error to abort the run.
using MessageHandler = std::function<Status(const Message& message, AppTransaction& txn)>;

struct ReplayHarnessOptions {
  EngineOptions engine;
  // Application name for the transaction (CheckpointStore::BeginApp).
  std::string app = "app";
  // Checkpoint after every N processed records (and always at the end).
  std::uint64_t checkpoint_every = 100;
  // Crash after every k-th record of the log (0: never). Combined with
  // crash_after below.
  std::uint64_t crash_every = 0;
  // Crash right after processing the record at these 1-based positions in
  // the log (counting every record of the log, in order).
  std::vector<std::uint64_t> crash_after;
  // State directory; empty: a fresh temporary directory, removed after.
  // A given directory must not exist or be empty.
  std::string state_dir;
  RecordedLogOptions log;
};

// A partition as the final checkpoint left it. The state is normalized for
// comparison: producers sorted by id, in-progress messages by (producer,
// stamp), and producers the TTL has expired (idle longer than
// producer_ttl_ms before the partition's largest timestamp, nothing in
// progress) left out, since whether they were purged yet depends on when
// checkpoints ran, not on any decision.
struct CheckpointedPartition {
  Offset next_offset;
  PartitionState state;
  friend bool operator==(const CheckpointedPartition&, const CheckpointedPartition&) = default;
};

struct ReplayRun {
  // The application's committed keys and values after the final checkpoint.
  std::map<std::string, std::string> committed;
  // Every message the handler was called with, replays after crashes
  // included (at-least-once delivery to the handler).
  std::vector<OwnedRecord> handled;
  // Engine counters summed over all lives of the run.
  Counters counters;
  std::uint64_t crashes = 0;
  std::uint64_t checkpoints = 0;
  // From the store after the final checkpoint, by "topic[partition]".
  std::map<std::string, CheckpointedPartition> partitions;
};

// Runs the log once. The log is read in full first (it is a test input).
Result<ReplayRun> RunReplay(const std::vector<OwnedRecord>& log, const MessageHandler& handler,
                            const ReplayHarnessOptions& options);
Result<ReplayRun> RunReplay(const std::string& log_path, const MessageHandler& handler,
                            const ReplayHarnessOptions& options);

// Reads a whole recorded log into memory (kcat -J layout).
Result<std::vector<OwnedRecord>> ReadRecordedLog(const std::string& path, const RecordedLogOptions& options = {});

// Runs the log crash-free, then once per crash interval in `crash_every`
// (each run also honours options.crash_after), and compares each run's
// committed application state and checkpointed engine state with the
// crash-free run's. Every run uses a fresh temporary state directory
// (options.state_dir is ignored). OK if all are equal; otherwise kAborted describing the
// first difference (key, expected and actual values).
Status CheckCrashConsistency(const std::vector<OwnedRecord>& log, const MessageHandler& handler,
                             const ReplayHarnessOptions& options, const std::vector<std::uint64_t>& crash_every);
Status CheckCrashConsistency(const std::string& log_path, const MessageHandler& handler,
                             const ReplayHarnessOptions& options, const std::vector<std::uint64_t>& crash_every);

}  // namespace exactly::testing
