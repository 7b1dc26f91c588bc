// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: the state of a DedupConsumer, shared by the files that
// implement its loop (dedup_consumer.cc), its checkpoints and rewinds
// (dedup_checkpoint.cc) and its rebalance handling (dedup_rebalance.cc).
// Not installed.
#pragma once

#include <atomic>
#include <future>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "exactly/kafka/consumer.h"
#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/message.h"
#include "polled_ring.h"

namespace exactly::kafka {

// What a polled, unprocessed record counts against the bounds of the
// records held or read ahead: its key and value, librdkafka's message
// and our queue entry.
std::uint64_t PolledBytes(const KafkaMessage& msg) noexcept;

struct DedupConsumer::Impl final : RebalanceListener {
  using Clock = std::chrono::steady_clock;

  // One owned partition.
  struct Entry {
    TopicPartition tp;
    std::optional<Offset> next;          // next offset to process
    std::optional<Offset> checkpointed;  // last checkpointed next offset
    std::optional<Offset> first;         // first offset processed since assignment
    std::optional<Offset> end_reached;   // librdkafka's last end-of-partition event
    bool dirty = false;                  // processed records since the last checkpoint
    bool pending = false;                // covered by the pipelined checkpoint in flight
    bool resumed = false;                // the first record after a (re)start was seen
    // Kafka's committed offset may be behind `checkpointed` (restored
    // from the store, or a commit failed): commit it with the next
    // checkpoint, or on its own when the loop is idle.
    bool kafka_commit_due = false;
    // The engine's change collection in the checkpoint being built or in
    // flight: once committed, the engine may evict what it reported.
    std::uint64_t collection = 0;
    // Aligning: nothing of this partition is left for the due checkpoint
    // to write but producers, so its new records wait in `held`.
    bool aligned = false;
  };

  Impl(CheckpointStore& s, DedupConsumerOptions o, DedupConsumerHooks h)
      : store(s), options(std::move(o)), hooks(std::move(h)), engine(options.engine, hooks.dead_letters) {
    if (Paged()) engine.set_producer_source(&store);
  }
  ~Impl() override;

  // --- RebalanceListener (dedup_rebalance.cc) ---
  void OnAssigned(std::span<const TopicPartition> partitions, std::span<Offset> start) noexcept override;
  void OnRevoked(std::span<const TopicPartition> partitions, bool lost) noexcept override;
  void OnTransientError(const Status& error) noexcept override;
  void OnCommitFailed(std::span<const TopicPartitionOffset> offsets, const Status& error) noexcept override;

  // --- loop (dedup_consumer.cc) ---
  void Process(const RecordView& record);
  void HandleEvent(const KafkaMessage& msg);
  // Logs a transient error, the first ten and then every thousandth.
  void LogTransient(const Status& st, std::string_view source);
  Entry* Lookup(std::string_view topic, Partition partition);
  // With a producer cache, a partition is restored without its producers
  // (the engine fetches each from the store when it sends), so restore
  // time does not grow with the number of producers.
  bool Paged() const { return options.engine.max_resident_producers > 0; }
  Result<std::optional<LoadedPartition>> LoadPartition(const TopicPartition& tp) const;
  Entry* Find(const TopicPartition& tp);
  void Remove(const TopicPartition& tp);
  bool CheckpointDue(Clock::time_point now) const;

  // --- aligned checkpoints (dedup_alignment.cc) ---
  // A polled record waiting for the due checkpoint, unprocessed.
  struct Held {
    KafkaMessage msg;
    std::uint64_t bytes;  // counted against checkpoint_alignment_bytes
  };
  // With a checkpoint due: starts aligning the first time, and says
  // whether the checkpoint is to be taken now (aligned, or a bound hit).
  bool ReadyToCheckpoint(Clock::time_point now);
  // Takes `msg` into `held` when its partition must not process it yet:
  // while aligning, if the partition is aligned; after, while any record
  // still waits (a new alignment starts only once none does, so then only
  // aligned partitions have records waiting). False: process it.
  bool Hold(KafkaMessage& msg);
  // Any checkpoint (or rewind) ends the alignment; held records stay,
  // for ReleaseHeld.
  void EndAlignment();
  // Processes held records, oldest first, until none are left or a
  // rewind or stop intervenes.
  void ReleaseHeld();
  // Forgets the polled, unprocessed records of `tp` (held or read
  // ahead): its position was reset (seek, assignment, removal), so
  // librdkafka delivers them again if it owns it.
  void DropPolled(const TopicPartition& tp);

  // --- read-ahead (dedup_consumer.cc) ---
  // Tops `ahead` up from the consumer, hinting each record to the engine
  // as it arrives; only the first poll, into an empty read-ahead, waits
  // (up to `wait`). False if polling failed (the loop is stopped).
  bool ReadAhead(std::chrono::milliseconds wait);

  // --- checkpoints (dedup_checkpoint.cc) ---
  // A checkpoint built, waiting for its outputs to be acknowledged.
  struct Pending {
    exactly::Checkpoint cp;
    std::uint64_t mark;
    std::vector<TopicPartitionOffset> offsets;
    Clock::time_point started;
  };

  bool Pipelined() const { return hooks.mark_outputs && hooks.outputs_durable && txn->empty(); }
  // Synchronous: hook, then the pending checkpoint (if any), then the rest.
  Status DoCheckpoint(std::chrono::milliseconds hook_timeout);
  // Pipelined: builds the checkpoint and leaves it pending.
  Status StartCheckpoint();
  // Moves the pending checkpoint on: once its outputs are acknowledged it
  // is written by a helper thread, and once written it is done.
  // `flushed`: the hook just ran, so the outputs must be acknowledged, and
  // the write happens (or is awaited) here.
  Status FinishPending(bool flushed);
  // The pending checkpoint's write returned `st`.
  Status PendingWritten(Status st);
  // Reloads every dirty or pending partition from the store, seeks back to
  // it, and drops the pending checkpoint.
  void Rewind(std::string_view why);
  // Commits `offsets` (just checkpointed) and every owned partition's
  // checkpointed offset that Kafka may not have yet, to the group: only
  // for lag tools, the store is the source of truth.
  void CommitToKafka(std::vector<TopicPartitionOffset> offsets);
  // Records the error that stops the loop (the first one wins).
  void Stop(Status st);
  // A failed checkpoint: rewinds, unless retrying cannot help (`st` is
  // kAborted, e.g. the output producer's fatal error), which stops.
  Status FailCheckpoint(Status st);
  void Log(std::string_view text) const;

  CheckpointStore& store;
  DedupConsumerOptions options;
  DedupConsumerHooks hooks;
  Engine engine;
  std::optional<AppTransaction> txn;

  std::vector<std::unique_ptr<Entry>> entries;
  std::vector<Entry*> dirty;
  std::optional<Pending> pending;
  // The pending checkpoint's store write, when it runs on a helper thread
  // (so a synced write does not stall the loop).
  std::future<Status> committing;
  Entry* cached = nullptr;  // the last Lookup hit: runs of one partition are common

  Status stop_error;
  std::atomic<bool> stop_requested{false};
  bool closed = false;

  DedupConsumerStats stats;
  Clock::time_point last_attempt = Clock::now();
  std::uint64_t records_since_checkpoint = 0;
  std::chrono::milliseconds backoff{0};
  Clock::time_point resume_at{};
  Clock::time_point next_pending_check{};
  std::uint64_t consume_errors = 0;

  bool aligning = false;
  bool newly_aligned = false;  // a partition became aligned: time to look again
  Clock::time_point align_started{};
  std::deque<Held> held;
  std::uint64_t held_bytes = 0;

  // Records polled but not looked at yet, oldest first. With more
  // producers than fit in the CPU caches, a decision waits on two
  // dependent loads (index slot, then producer entry); reading about
  // Engine::kPrefetchDistance records ahead of the one being decided, and
  // hinting each to the engine as it arrives (Engine::Prefetch), lets
  // those loads overlap earlier decisions. Bounded by count and bytes.
  // While no partition's producers outgrow the caches, one record at a
  // time: reading ahead would cost without saving anything.
  PolledRing ahead;
  bool read_ahead = false;             // Engine::PrefetchHelps(), as last asked
  std::uint64_t read_ahead_check = 0;  // records polled until it is asked again
  // The last poll found librdkafka's queue empty: take what was read
  // ahead before polling again (a poll of an empty queue per record costs
  // more than a hint saves).
  bool ahead_drained = false;

  // Last: destroyed first, so librdkafka never calls back into a
  // half-destroyed listener.
  std::optional<Consumer> consumer;
};

}  // namespace exactly::kafka
