// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CheckpointStore: durable, atomic checkpoints of the engine's per-partition
// state (DESIGN.md §4), kept in a RocksDB database in one state directory.
// It knows RocksDB, not Kafka; no RocksDB type appears in this header.
//
// What a checkpoint holds, for each partition it covers:
// - the next offset to consume;
// - the watermarks (producer states) that changed since the previous
//   checkpoint, and the producers the engine forgot (TTL purge);
// - the chunks of in-progress messages received since the previous
//   checkpoint (each chunk is written once; a message's chunks are deleted
//   when the engine reports it delivered, corrupt or abandoned);
// plus whatever applications staged through AppTransaction (app_state.h).
//
// Contract
// - One Commit() = one RocksDB WriteBatch, synced when StoreOptions::sync
//   (the default). After a crash at any instant, every partition loads
//   from exactly one checkpoint: the last one whose Commit returned OK, or
//   the one in flight when the process died. Never a mix.
// - Load(tp) gives back exactly the offset and PartitionState that the
//   last committed checkpoint covering tp recorded; feed the state to
//   Engine::Restore and seek the consumer to next_offset.
// - Incremental: AddPartition(tp, ..., engine) calls engine.CollectChanges,
//   which marks the partition clean. So if Commit fails, the engine no
//   longer knows what it did not persist: the caller MUST reload (Load +
//   Engine::Restore + seek) every partition the checkpoint covered, and
//   rebuild any application state derived from the failed checkpoint.
//   A checkpoint that was built but never committed has the same effect.
// - A Commit that fails in the write itself (I/O error, disk full) puts
//   the store in a failed state: later Commits return kFailedPrecondition.
//   Destroy the store, Open() it again, and reload from it. After
//   reopening, the failed checkpoint is absent (or, if the OS reported a
//   failed sync for data that did reach the disk, present as a whole).
// - Checkpoints covering the same partition must be committed in the
//   order they were built (one at a time is the normal use).
// - Watermarks are stored as one delta value per partition and checkpoint
//   (Commit stays one put per partition, whatever the number of changed
//   producers), folded in the background (or inline, see StoreOptions)
//   into one key per producer. Folding never changes what Load or
//   FetchProducer return. If commits outrun the fold, Commit applies
//   backpressure (one fold step per commit) so that restore time, disk use
//   and memory stay bounded.
// - As a ProducerSource, the store answers FetchProducer(tp, producer)
//   with the producer's state as of the last committed checkpoint: from
//   an in-memory index of the partition's pending (unfolded) deltas, else
//   with one point read of the producer's key. The index of a partition is
//   built on its first fetch and is bounded by the fold thresholds
//   (StoreOptions::fold_pending_bytes, fold_total_pending_bytes), as is a
//   fold pass. Beyond those, the store holds per-producer state in memory
//   only for what a call hands over (a full Load's result, a
//   ReplacePartition) and, once, while upgrading a format-1 directory (one
//   partition at a time): memory does not grow with the producers stored.
// - Errors: kBusy (retryable) when another process has the directory
//   open; kNotSupported for a directory written in a newer on-disk format;
//   kCorruption naming the damaged item (see README "Recovering a corrupt
//   state directory"); kIoError for failed reads and writes; kNotFound when
//   the directory does not exist and create_if_missing is false.
//
// Thread safety: every CheckpointStore method may be called concurrently
// from several threads; Commits are serialized. A Checkpoint (like an
// AppTransaction) is used by one thread at a time. The store must outlive
// every Checkpoint and AppTransaction created from it. Every call is
// bounded: none waits on another process (a held lock fails at once with
// kBusy); Commit and the destructor wait for at most one fold step.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/engine.h"
#include "exactly/function_ref.h"
#include "exactly/partition_state.h"
#include "exactly/producer_source.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly {

class StoreFaultInjector;  // store_fault_injection.h (tests)
class CheckpointStore;

// The store's on-disk format version. A directory with a larger version is
// refused with kNotSupported; a smaller one is upgraded when opened for
// writing. Version 1 kept folded watermarks in producer-range segments;
// version 2 keeps one key per producer. A version-1 directory opened
// read-only still Loads (its segments are read), but FetchProducer on it
// returns kNotSupported: open it for writing once to upgrade it.
inline constexpr std::uint32_t kStoreFormatVersion = 2;

struct StoreOptions {
  bool create_if_missing = true;
  // Inspection only: no lock is taken, no write is made, Commit fails.
  // Sees the directory as of Open (a concurrent writer is not followed).
  bool read_only = false;
  // fsync the write-ahead log at every Commit. Turning it off keeps
  // checkpoints atomic but lets a machine crash (not a process crash) lose
  // the latest ones.
  bool sync = true;

  // AddPartition(tp, offset, engine) first calls engine.PurgeExpired(tp,
  // purge_budget), so producer-TTL purges reach the store a bounded amount
  // at a time. 0 disables.
  std::size_t purge_budget = 1024;

  // Producer-TTL purge of what only the store holds. Producers the engine
  // evicted (or, with a producer cache, never loaded) are not seen by its
  // own purge above, so they would stay on disk for good. A background
  // sweep deletes a partition's stored producers whose TTL has expired on
  // the partition's stored clock (the TTL is the one of the engine last
  // checkpointed through AddPartition in this process; none, no sweep), at
  // most once per this interval per partition, a bounded batch per step.
  // Producers with an in-progress message are kept. An expired producer is
  // unknown to the engine whether or not it is stored, so this changes no
  // decision; it frees disk. (Raising the TTL later cannot bring purged
  // producers back.) 0 disables.
  std::chrono::milliseconds purge_sweep_interval{std::chrono::minutes(10)};

  // --- watermark folding (tuning; defaults suit 1 to 10^7 producers) ---
  // Fold in a store-owned background thread. When false, Commit runs one
  // bounded fold step itself after the checkpoint is durable, and Fold()
  // may be called by the owner at any time.
  bool background_fold = true;
  // A partition's pending deltas are folded into its producer keys once
  // they exceed fold_pending_bytes or there are more than fold_max_deltas
  // of them. This bounds the partition's in-memory index of pending
  // changes (about 3x these bytes) and the deltas a restore replays.
  std::size_t fold_pending_bytes = 1 << 20;
  std::size_t fold_max_deltas = 1024;
  // The same bound over all partitions together: past it the partition
  // with the most pending bytes is folded, whatever its own thresholds.
  std::size_t fold_total_pending_bytes = 64 << 20;
  // Delta bytes folded per fold step (a bound on each step's work).
  std::size_t fold_step_bytes = 512 << 10;
  // Backpressure: when a partition's unfolded deltas exceed this many times
  // the fold threshold (commits outrunning the background fold), each
  // Commit covering it also waits for one fold step. Keeps restore time,
  // disk use and memory bounded. 0 disables.
  std::size_t fold_backlog_factor = 3;

  // RocksDB block cache (data, index and bloom filter blocks), shared by
  // Load, FetchProducer and the fold. FetchProducer stays a few µs as long
  // as the partition's index and filter blocks fit.
  std::size_t block_cache_bytes = 32 << 20;
  // RocksDB write buffer (memtable) size; up to four are held while older
  // ones flush. The fold writes one key per producer through them.
  std::size_t write_buffer_bytes = 16 << 20;

  // Tests: inject write/sync failures below RocksDB. Null in production.
  std::shared_ptr<StoreFaultInjector> fault_injector;
};

// The metadata every state directory carries.
struct StoreInfo {
  std::uint32_t format_version = 0;
  std::string store_id;            // random, fixed at creation (32 hex digits)
  std::string created_by;          // library version that created the directory
  std::string written_by;          // library version that last opened it for writing
  std::uint64_t last_checkpoint = 0;  // sequence number of the last Commit (0: none)
  // Wall-clock time of the last Commit, milliseconds since the Unix epoch
  // (for operators: the age of the state). 0: no checkpoint yet, or the
  // last one was written by a version that did not record it.
  std::int64_t last_checkpoint_unix_ms = 0;
};

// How a partition's watermarks are laid out on disk (inspection, tests).
struct WatermarkLayout {
  std::size_t producer_keys = 0;   // folded producers, one key each
  std::size_t producer_bytes = 0;  // their keys and values
  std::size_t segments = 0;        // format-1 producer-range segments (not upgraded yet)
  std::size_t segment_bytes = 0;
  std::size_t deltas = 0;          // per-checkpoint deltas not folded yet
  std::size_t delta_bytes = 0;
  // The partition's in-memory index of pending changes (FetchProducer),
  // in this process: producers in it and approximate bytes (0 until the
  // partition's first fetch).
  std::size_t overlay_producers = 0;
  std::size_t overlay_bytes = 0;
};

// Where the store's memory is, in this process (approximate bytes; for
// operators and benchmarks). Everything here is bounded by StoreOptions,
// independent of the number of producers stored.
struct StoreMemory {
  std::size_t memtables = 0;        // RocksDB write buffers, unflushed and being flushed
  std::size_t block_cache = 0;      // data, index and filter blocks cached (<= block_cache_bytes)
  std::size_t table_readers = 0;    // RocksDB table readers outside the block cache
  std::size_t pending_index = 0;    // the pending-change index of every partition (FetchProducer)
  std::size_t fold_pass = 0;        // the deltas and ops of the fold pass under way
  std::size_t kept_batch = 0;       // the last checkpoint's write batch, kept for the next (<= 32 MiB)
};

// What Load reads.
struct LoadOptions {
  // false: the offset, the clock and the in-progress messages only, in time
  // independent of the number of stored producers (state.producers stays
  // empty; page producers in through FetchProducer).
  bool producers = true;
};

struct LoadedPartition {
  Offset next_offset;           // where the consumer resumes
  std::uint64_t checkpoint = 0; // sequence number of the checkpoint that recorded it
  PartitionState state;         // feed to Engine::Restore
};

// One checkpoint under construction. Obtain from BeginCheckpoint(), fill,
// then pass to CheckpointStore::Commit(). Nothing is visible until Commit.
// Movable, not copyable.
class Checkpoint {
 public:
  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  // Covers `tp`: records next_offset, everything engine.CollectChanges
  // reports for it (after a budgeted engine.PurgeExpired, see
  // StoreOptions::purge_budget) and the partition's clock
  // (engine.MaxTimestamp). A partition may be added once per checkpoint
  // (kFailedPrecondition otherwise).
  Status AddPartition(const TopicPartition& tp, Offset next_offset, Engine& engine);

  // The same, from any source of changes: `collect` must report to the
  // visitor exactly the changes since the state last loaded or committed
  // for tp (what Engine::CollectChanges does). The partition's largest
  // record timestamp is carried forward as the maximum of the stored one,
  // the changes' timestamps and `max_timestamp` if given.
  Status AddPartitionChanges(const TopicPartition& tp, Offset next_offset,
                             FunctionRef<void(ChangeVisitor&)> collect,
                             std::optional<TimestampMs> max_timestamp = std::nullopt);

  // Covers `tp` with a full state, replacing everything stored for it
  // (for tools, migrations and tests; costs a full rewrite).
  Status ReplacePartition(const TopicPartition& tp, Offset next_offset, const PartitionState& state);

  // Removes everything stored for `tp` (e.g. a deleted topic).
  Status RemovePartition(const TopicPartition& tp);

  // Moves an application's staged writes into this checkpoint; `txn` is
  // consumed. Do not process further records between Stage and Commit.
  Status Stage(AppTransaction&& txn);

  // Partitions covered so far, in the order added.
  const std::vector<TopicPartition>& partitions() const noexcept;
  // Approximate bytes of the write so far.
  std::size_t ApproximateBytes() const noexcept;

 private:
  friend class CheckpointStore;
  struct Impl;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class CheckpointStore final : public ProducerSource {
 public:
  // Opens (or creates) the state directory `dir`.
  static Result<std::unique_ptr<CheckpointStore>> Open(const std::string& dir, const StoreOptions& options = {});

  ~CheckpointStore() override;
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  const std::string& dir() const noexcept;
  StoreInfo Info() const;

  // --- reading ----------------------------------------------------------
  // Partitions that have a checkpointed offset, in (topic, partition) order.
  Result<std::vector<TopicPartition>> ListPartitions() const;
  // The checkpointed state of `tp`, or nullopt if no checkpoint covered it.
  Result<std::optional<LoadedPartition>> Load(const TopicPartition& tp) const;
  Result<std::optional<LoadedPartition>> Load(const TopicPartition& tp, const LoadOptions& options) const;
  // ProducerSource: the producer's state as of the last committed
  // checkpoint covering tp; nullopt if none recorded it or it was erased.
  // A few µs with a warm block cache, whatever the partition's size (the
  // first call for a partition also reads its pending deltas). Safe
  // alongside Commit and the fold.
  Result<std::optional<ProducerState>> FetchProducer(const TopicPartition& tp,
                                                     std::string_view producer) const override;
  // Only the next offset (cheap: one point read).
  Result<std::optional<Offset>> LoadOffset(const TopicPartition& tp) const;
  // Counts the partition's producer keys and pending deltas.
  Result<WatermarkLayout> DescribeWatermarks(const TopicPartition& tp) const;
  // Where this store's memory is now. Cheap (no I/O); safe from any thread.
  StoreMemory MemoryUsage() const;
  // Reads and decodes every stored item; kCorruption names the first bad
  // one. Takes time proportional to the store's size (tools, not hot path).
  Status Verify() const;

  // --- writing ----------------------------------------------------------
  Checkpoint BeginCheckpoint();
  // Writes the checkpoint as one synced WriteBatch. See the contract above
  // for what a failure means to the caller.
  Status Commit(Checkpoint&& checkpoint);
  // Folds the pending watermark deltas of every partition (whatever the
  // thresholds) until none is left or about `max_bytes` of deltas were
  // processed. For tools and tests; the store folds by itself otherwise.
  // Safe alongside Commit and the background fold.
  Status Fold(std::size_t max_bytes = SIZE_MAX);
  // Runs the producer-TTL sweep (purge_sweep_interval) over every
  // partition with a known TTL now, whatever the interval. For tools and
  // tests; safe alongside Commit and the background fold.
  Status SweepExpired();
  // Stored producers deleted by the TTL sweep since Open.
  std::uint64_t SweptProducerCount() const noexcept;

  // --- application state (app_state.h) ----------------------------------
  // A transaction over application `app`'s keys (app: 1-255 bytes).
  Result<AppTransaction> BeginApp(std::string_view app) const;
  // Committed value of `key` in `app` (staged writes are not seen here).
  Result<std::optional<std::string>> GetApp(std::string_view app, std::string_view key) const;
  // Visits committed keys of `app` starting with `prefix`, in key order,
  // until `fn` returns false.
  Status ScanApp(std::string_view app, std::string_view prefix,
                 FunctionRef<bool(std::string_view key, std::string_view value)> fn) const;

 private:
  friend class Checkpoint;
  friend class AppTransaction;
  struct Impl;
  explicit CheckpointStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly
