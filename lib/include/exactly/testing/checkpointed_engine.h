// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CheckpointedEngine: an Engine whose partitions resume from, and
// checkpoint into, a CheckpointStore — the consumer side of DESIGN.md §4
// with a recorded log standing in for Kafka. exactly-replay and the replay
// harness (replay_harness.h) are built on it.
//
// Use, per input record:
//   Admit(r)   -> loads r's partition from the store the first time it is
//                 seen (Engine::Restore), then says whether r is new:
//                 false for an offset below the checkpointed next offset
//                 (processed before the last checkpoint; skip it);
//   Process(r) -> Engine::Process, and remembers offset + 1 as the
//                 partition's next offset.
// and, once every output caused by the records processed so far is
// durable (§4's invariant is the caller's to keep):
//   Checkpoint(txn) -> one atomic store commit covering every partition
//                 processed since the last checkpoint, plus the
//                 application's staged writes.
//
// Without a store (nullptr) every record is admitted and Checkpoint() only
// counts: the same code path runs with and without --state-dir.
//
// Failure: if a Checkpoint fails, the engine has already handed its
// changes over (see checkpoint_store.h), so this object must be discarded
// and rebuilt from the store; every later call returns kFailedPrecondition.
//
// Thread safety: none; one thread at a time. The store must outlive this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "exactly/record.h"
#include "exactly/status.h"

namespace exactly::testing {

class CheckpointedEngine {
 public:
  CheckpointedEngine(EngineOptions options, DeadLetterSink* dead_letters, CheckpointStore* store);
  ~CheckpointedEngine();
  CheckpointedEngine(const CheckpointedEngine&) = delete;
  CheckpointedEngine& operator=(const CheckpointedEngine&) = delete;

  // true: process `record`; false: already processed before the last
  // checkpoint. Errors: the store's (a failed or corrupt Load/Restore).
  Result<bool> Admit(const RecordView& record);

  // Feeds an admitted record to the engine.
  Outcome Process(const RecordView& record, Engine::DeliverFn deliver);

  // Commits one checkpoint covering every partition processed since the
  // last one, with `txn`'s staged writes if given (txn is consumed; begin
  // a new one afterwards). A no-op commit is skipped when nothing changed
  // and txn is empty.
  Status Checkpoint(AppTransaction* txn = nullptr);

  // Partitions processed since the last checkpoint.
  bool dirty() const noexcept { return !dirty_.empty(); }
  std::uint64_t checkpoints() const noexcept { return checkpoints_; }
  // The partition's next offset: checkpointed or processed, whichever is
  // later; nullopt if the partition has not been seen.
  std::optional<Offset> NextOffset(std::string_view topic, Partition partition) const;

  Engine& engine() noexcept { return engine_; }
  const Engine& engine() const noexcept { return engine_; }

 private:
  struct Entry {
    TopicPartition tp;
    std::optional<Offset> next;  // nullopt: never checkpointed nor processed
    bool dirty = false;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
  };
  using PartitionMap = std::unordered_map<std::int32_t, std::unique_ptr<Entry>>;

  Result<Entry*> Lookup(std::string_view topic, Partition partition);

  Engine engine_;
  CheckpointStore* store_;
  std::unordered_map<std::string, PartitionMap, Hash, std::equal_to<>> partitions_;
  PartitionMap* cached_map_ = nullptr;  // one-entry cache: runs of one topic
  std::string cached_topic_;
  Entry* last_ = nullptr;  // the entry Admit() returned true for
  std::vector<Entry*> dirty_;
  std::uint64_t checkpoints_ = 0;
  Status failed_;
};

}  // namespace exactly::testing
