// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private definitions shared by the store's translation units: the pimpls
// of CheckpointStore and Checkpoint, the per-partition bookkeeping that
// drives folding, the pending-change index FetchProducer reads, and the
// fold pass.
//
// Locking (acquire in this order; never the other way round):
//   fold_mu     one folder at a time (background thread or Fold()); owns `pass`
//               and `sweep`
//   write_mu    serializes every database write; guards failed, last_checkpoint
//   book_mu     guards books, fold_hint
//   overlay_mu  guards overlays (held only for map operations)
// Fold steps compute outside write_mu and take it only to check that no
// Replace/RemovePartition happened since the pass began (generation) and
// to write. Every change to an overlay is made under write_mu, right after
// the database write it mirrors, so an overlay plus the producer keys
// always give the last committed state (see overlay.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include "checkpoint_mark.h"
#include "codec.h"
#include "exactly/checkpoint_store.h"
#include "lock_file.h"

namespace exactly {

namespace state {

// What the store knows of one partition's stored watermarks, to decide
// when to fold. Heuristic except `generation` and `max_timestamp`.
struct PartitionBook {
  std::uint64_t delta_bytes = 0;
  std::uint64_t delta_count = 0;
  // Bumped by every committed Replace/RemovePartition: a fold pass begun
  // before must not write.
  std::uint64_t generation = 0;
  // The committed max timestamp, once read or written.
  std::optional<TimestampMs> max_timestamp;
  // Producer TTL of the engine last checkpointed through AddPartition in
  // this process (0: none seen, no sweep), and when the partition's next
  // TTL sweep may begin (sweep.cc).
  std::int64_t producer_ttl_ms = 0;
  std::chrono::steady_clock::time_point next_sweep{};
};

// A producer's last change among a partition's pending deltas.
struct OverlayEntry {
  std::uint64_t checkpoint = 0;  // the delta that holds it
  bool erased = false;
  std::optional<EpochSeq> watermark;
  TimestampMs last_seen;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// The pending (unfolded) changes of one partition, by producer: what
// FetchProducer consults before the producer's key.
struct Overlay {
  std::unordered_map<std::string, OverlayEntry, StringHash, std::equal_to<>> entries;
  std::size_t bytes = 0;  // approximate heap bytes

  void Set(std::string_view producer, const OverlayEntry& e);
  // Drops the producer's entry if it is from a checkpoint <= `through`.
  void EraseIfFolded(std::string_view producer, std::uint64_t through);
};

// One pass folds all deltas up to `through` into the partition's producer
// keys, a bounded batch of producers per step, then deletes them.
struct FoldPass {
  TopicPartition tp;
  std::uint64_t generation = 0;
  std::uint64_t through = 0;
  std::uint64_t delta_bytes = 0;
  std::uint64_t delta_count = 0;
  std::vector<std::string> delta_values;  // owns the bytes `ops` views
  std::vector<DeltaOp> ops;               // sorted, one op per producer
  std::size_t pos = 0;                    // next op to fold
};

// One producer-TTL sweep of a partition's producer keys, a bounded batch
// per step, from `cursor` (the next key to look at) to the end.
struct SweepPass {
  TopicPartition tp;
  std::string cursor;
};

Status FromRocks(const rocksdb::Status& s, std::string_view context);

// Iterating key ranges: does `s` start with `prefix`, and its bytes as a view.
inline bool StartsWith(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}
inline std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

}  // namespace state

struct CheckpointStore::Impl {
  CheckpointStore* owner = nullptr;
  std::string dir;
  StoreOptions options;
  state::LockFile lock;
  std::unique_ptr<rocksdb::Env> env;  // only with a fault injector; outlives db
  std::unique_ptr<rocksdb::DB> db;
  StoreInfo info;  // fixed after Open except last_checkpoint (under write_mu)
  // With sync on, every commit records its number in the checkpoint mark
  // (checkpoint_mark.h; under write_mu).
  state::CheckpointMarkWriter mark_writer;

  std::shared_ptr<rocksdb::Cache> block_cache;  // also held by the table factory

  std::mutex fold_mu;
  std::optional<state::FoldPass> pass;
  std::atomic<std::size_t> pass_bytes{0};  // pass's memory, for MemoryUsage
  std::optional<state::SweepPass> sweep;   // under fold_mu, like `pass`
  std::atomic<std::uint64_t> swept{0};     // producers deleted by sweeps

  mutable std::mutex write_mu;
  Status failed;

  // The last committed checkpoint's batch, cleared, for the next one. A
  // relay's checkpoints carry megabytes of in-progress chunks, and a fresh
  // batch grew by doubling (1, 2, 4, 8, 16 MB) into newly mapped memory at
  // every checkpoint: page faults and copies for each byte written. Kept
  // only up to kMaxSpareBatchBytes of capacity.
  static constexpr std::size_t kMaxSpareBatchBytes = 32u << 20;
  std::mutex spare_batch_mu;
  std::optional<rocksdb::WriteBatch> spare_batch;
  void RecycleBatch(rocksdb::WriteBatch&& batch);

  // Mutable: const reads (Load, FetchProducer) refresh the bookkeeping.
  mutable std::mutex book_mu;
  mutable std::map<TopicPartition, state::PartitionBook> books;
  mutable std::mutex overlay_mu;
  mutable std::map<TopicPartition, std::unique_ptr<state::Overlay>> overlays;
  bool fold_hint = false;
  std::condition_variable fold_cv;
  std::atomic<bool> stop{false};
  std::thread fold_thread;

  ~Impl();

  // `mark`: the checkpoint mark found at Open, checked against the
  // checkpoint the database recovered to.
  Status InitMeta(const std::optional<state::CheckpointMark>& mark);
  // kCorruption: `mark` is ahead of the `recovered` checkpoint.
  Status LostCheckpoints(const state::CheckpointMark& mark, std::uint64_t recovered) const;
  // Rewrites format-1 segments as producer keys, then records version 2.
  Status UpgradeFromFormat1();
  Result<std::optional<LoadedPartition>> Load(const TopicPartition& tp, const LoadOptions& lo) const;
  Result<std::optional<ProducerState>> FetchProducer(const TopicPartition& tp, std::string_view producer) const;
  // Reads tp's pending deltas into a new overlay (caller holds write_mu).
  Status BuildOverlayLocked(const TopicPartition& tp) const;
  // Mirrors a committed delta into tp's overlay, if it has one (caller
  // holds write_mu).
  Status ApplyCommittedDelta(const TopicPartition& tp, std::uint64_t checkpoint, std::string_view delta);
  Result<std::optional<state::OffsetRecord>> ReadOffset(const TopicPartition& tp) const;
  Result<TimestampMs> StoredMaxTimestamp(const TopicPartition& tp);
  Status Commit(Checkpoint::Impl& cp);

  // Folding (fold.cc). FoldStep does up to `budget` bytes of work and
  // returns whether there may be more to do.
  // `all`: fold every partition with deltas, ignoring the thresholds.
  Result<bool> FoldStep(std::size_t budget, bool all = false);
  bool NeedsFold(const state::PartitionBook& b) const;
  // Whether the partition's backlog calls for backpressure on commits.
  bool FoldBacklogged(const state::PartitionBook& b) const;
  void FoldLoop();
  void WakeFolder();

  // Producer-TTL sweeps (sweep.cc), under fold_mu. SweepStep starts a due
  // sweep if none is under way and runs one batch of up to `budget` bytes
  // of keys read; it returns whether there may be more to do.
  Result<bool> SweepStep(std::size_t budget);
  // One batch of the current sweep; true when it reached the end.
  Result<bool> SweepNextBatch(std::size_t budget);

 private:
  Status StartPass(const TopicPartition& tp);
  // Folds the next batch of the pass; true when the pass ended.
  Result<bool> FoldNextBatch(std::size_t budget, std::size_t* work);
};

struct Checkpoint::Impl {
  enum class Mode { kChanges, kReplace, kRemove };
  struct Part {
    TopicPartition tp;
    Mode mode = Mode::kChanges;
    Offset next_offset;
    TimestampMs max_timestamp;
    std::string delta;            // kChanges: encoded delta (header only if empty)
    std::size_t delta_ops = 0;
    PartitionState replacement;   // kReplace: producers sorted by id
    std::int64_t producer_ttl_ms = 0;  // AddPartition: the engine's TTL (for the sweep)
  };

  CheckpointStore::Impl* store = nullptr;
  rocksdb::WriteBatch batch;  // chunk and application writes, in order
  std::vector<Part> parts;
  std::vector<TopicPartition> tps;

  Status CheckNew(const TopicPartition& tp) const;
};

}  // namespace exactly
