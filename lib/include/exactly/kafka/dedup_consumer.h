// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumer: the exactly-once consumer loop. A librdkafka high-level
// consumer in a group, every record through the dedup Engine, every
// delivered message to the application's handler together with its
// application-state transaction, and periodic atomic checkpoints into a
// CheckpointStore (DESIGN.md §4).
//
// Contract
// - Offsets: auto commit and auto offset store are off (setting either to
//   true is kInvalidArgument). On assignment each partition's state is
//   loaded from the store (Load + Engine::Restore) and consumption starts
//   at its checkpointed next offset; a partition the store has never
//   checkpointed starts at the group's committed offset, else where
//   `auto.offset.reset` says (the DedupConsumer defaults it to
//   `earliest`). The store is the source of truth; the offsets committed
//   to Kafka only let standard lag tools see progress. It also defaults
//   `enable.partition.eof` to true: the end-of-partition event gives a
//   partition with nothing to process a position (PartitionPosition::
//   end_reached), so its lag is known.
// - Checkpoint = pre-checkpoint hook (the application flushes its outputs
//   and waits for their acknowledgement) -> one atomic store Commit
//   covering every partition that processed records since the last one,
//   plus the staged AppTransaction -> asynchronous Kafka offset commit of
//   the same offsets. It runs every `checkpoint_interval` and/or every
//   `checkpoint_records` records, before partitions are revoked, on
//   Checkpoint() and on Close(). No record is processed between the hook
//   and the Commit, so a checkpoint never records an input offset as
//   consumed before the hook confirmed every output caused below it.
// - Pipelined checkpoints: with the mark_outputs / outputs_durable hooks,
//   periodic checkpoints do not stop the loop. At the trigger the loop
//   marks the outputs produced so far and builds the checkpoint (offsets
//   and engine changes as of that instant), keeps processing, and commits
//   it once outputs_durable(mark) confirms every output up to the mark;
//   at most one such checkpoint is in flight. The invariant is the same:
//   what a checkpoint records as consumed has all its outputs
//   acknowledged. The store write itself then runs on a short-lived helper
//   thread, so a synced write does not stall the loop either; it is
//   awaited before any rewind or synchronous checkpoint, and by the
//   destructor. This needs an empty AppTransaction at the trigger (a
//   staged write would be invisible to later Gets until committed), so a
//   checkpoint with staged application writes is synchronous. Revocation,
//   Checkpoint() and Close() are always synchronous.
// - Aligned checkpoints: a checkpoint holds the chunks of messages still
//   in progress (DESIGN.md §4), which with large messages makes up most
//   of what it writes. So a checkpoint that falls due (by interval or
//   record count) while some partition has chunks no checkpoint holds yet
//   first lets those messages complete, for at most
//   `checkpoint_alignment`: such partitions go on processing until they
//   have none, while each partition that has none processes nothing
//   more; its newly polled records wait, unprocessed, until the
//   checkpoint is taken (as a stream processor aligns checkpoint
//   barriers). Past the time bound, or once the waiting records reach
//   `checkpoint_alignment_bytes`, the checkpoint is taken as it stands,
//   chunks included. Partitions without chunked input are aligned at
//   once, so they never wait. Revocation, Checkpoint() and Close() do not
//   wait. Waiting records are processed next, in order; a partition
//   whose position is reset (rewind, assignment, revocation) drops its
//   waiting records and librdkafka delivers them again from there.
// - Rewind: if the hook fails (other than kAborted), a retryable handler
//   error occurs, or the
//   store Commit fails retryably, nothing is checkpointed; every partition
//   that processed records since the last checkpoint is reloaded from the
//   store and the consumer seeks back to its checkpointed offset (or, if
//   never checkpointed, to the first offset it processed), the
//   transaction's staged writes are dropped and `on_rewind` runs. Those
//   records are then processed again: outputs emitted twice carry the same
//   stamps when they are a function of the input, as the relay's are.
//   Processing resumes after a backoff (100 ms, doubling up to 5 s while
//   failures repeat). A pipelined checkpoint whose outputs are not
//   confirmed within `hook_timeout` fails the same way.
// - Stop: a non-retryable handler error, a failed state load, a store
//   Commit failing non-retryably (the store is then unusable: reopen it),
//   a hook failing with kAborted (retrying cannot help, e.g. the output
//   producer's fatal error), consumption reaching a reset offset (data
//   lost to retention), a subscribed topic the cluster reports unknown
//   (kNotFound naming it, after librdkafka's first metadata answer), or a
//   fatal librdkafka error (kAborted) stops the loop: RunFor/Run return
//   the error, and so does every later call. Transient client and
//   consumer errors (broker down, leader changes) are logged (the first
//   ten, then every thousandth) and librdkafka retries them.
// - Rebalances (eager and cooperative protocols): revoked partitions are
//   checkpointed (hook first) and dropped from the engine; partitions
//   reported lost are dropped without a checkpoint, and if they had
//   unsaved work everything else rewinds too, since the application's
//   transaction may hold writes derived from them.
// - Several DedupConsumers may share one store (e.g. group members in one
//   process): partitions never overlap within a group. Different groups
//   reading the same topic need different stores. When partitions move
//   between processes with different state directories, the new owner
//   resumes from its own store (an older checkpoint is correct, only
//   slower) or, without one, from the group's committed offset with empty
//   dedup state: duplicates of records before that offset then pass.
// - Close(timeout) writes a final checkpoint (not after a stop error) and
//   leaves the group. Destroying an unclosed DedupConsumer writes nothing
//   and skips the group handshake: for the state directory this is a crash,
//   and a restart replays from the last checkpoint. Destructors never throw.
// - Every blocking step is bounded: polls by `poll_timeout`, the hook by
//   `hook_timeout`, seeks by `seek_timeout`, Close by its argument.
//
// Thread safety: one thread drives the loop (RunFor, Run, Checkpoint,
// Close, stats, Positions); the handler, the hooks and the dead-letter
// sink run on it (only the store write of a pipelined checkpoint runs
// elsewhere, touching nothing but the store). RequestStop() may be called
// from any thread (not from a signal handler: use a flag and RunFor). The
// store must outlive this.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/app_state.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "exactly/kafka/config.h"
#include "exactly/kafka/consumer.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

struct DedupConsumerOptions {
  // librdkafka properties; `bootstrap.servers` and `group.id` are required.
  KafkaConfig config;
  std::vector<std::string> topics;
  EngineOptions engine;
  // Application namespace of the AppTransaction handed to the handler.
  std::string app = "default";
  // Checkpoint triggers; at least one must be non-zero.
  std::chrono::milliseconds checkpoint_interval{1000};
  std::uint64_t checkpoint_records = 0;
  // Aligned checkpoints (see above): how long a due checkpoint may wait
  // for the chunked messages in progress to complete, and how many bytes
  // of records of partitions already aligned may wait meanwhile. Past
  // either bound it is taken with their chunks. 0 ms: never wait.
  std::chrono::milliseconds checkpoint_alignment{100};
  std::uint64_t checkpoint_alignment_bytes = 64ull << 20;
  std::chrono::milliseconds hook_timeout{30000};
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds seek_timeout{10000};
  // Commit checkpointed offsets to the group as well (asynchronously), for
  // lag tools; the store stays the source of truth. A commit the group
  // refused, or a partition restored from a checkpoint the group has not
  // seen, is committed again with the next checkpoint, or when the loop
  // next finds no input.
  bool commit_to_kafka = true;
  // Diagnostics (transient errors, rewinds); default: stderr.
  std::function<void(std::string_view)> log;
  // Optional: after every successful checkpoint, on the loop thread, with
  // its duration (as stats().last_checkpoint_duration). For metrics.
  std::function<void(std::chrono::microseconds)> on_checkpoint;
};

struct DedupConsumerHooks {
  // Every delivered message, with the transaction the next checkpoint
  // commits. An error rewinds (retryable) or stops the loop (otherwise).
  std::function<Status(const Message&, AppTransaction&)> on_message;
  // Before every checkpoint: make every output caused so far durable,
  // within `timeout`. An error means no checkpoint, and a rewind.
  std::function<Status(std::chrono::milliseconds timeout)> pre_checkpoint;
  // After a rewind: forget anything derived from records since the last
  // checkpoint that does not live in the transaction.
  std::function<void()> on_rewind;
  // Optional, both or neither: pipelined checkpoints (see above).
  // mark_outputs() names everything produced so far; outputs_durable(mark)
  // must not block: true once every output up to `mark` is acknowledged,
  // false while some are in flight, an error if one failed.
  std::function<std::uint64_t()> mark_outputs;
  std::function<Result<bool>(std::uint64_t mark)> outputs_durable;
  // Rejected records (malformed, corrupt, abandoned, dropped unstamped).
  DeadLetterSink* dead_letters = nullptr;
};

struct DedupConsumerStats {
  Counters engine;                   // cumulative, replays included
  std::uint64_t polled = 0;          // records received from Kafka
  std::uint64_t skipped = 0;         // below their partition's position
  // Records read ahead of the one being decided and hinted to the engine
  // (Engine::Prefetch): only while some partition tracks more producers
  // than fit in the CPU caches.
  std::uint64_t hinted = 0;
  std::uint64_t checkpoints = 0;     // store commits
  std::uint64_t checkpoint_failures = 0;
  std::uint64_t rewinds = 0;
  // Due checkpoints that found chunks not yet checkpointed and waited for
  // their messages to complete (counted when the wait ends); and those of
  // them taken with chunks after all, a bound of the wait being reached.
  std::uint64_t checkpoint_alignments = 0;
  std::uint64_t checkpoint_alignments_expired = 0;
  std::chrono::microseconds checkpoint_alignment_wait{0};  // their waits, summed
  std::size_t waiting_records = 0;   // polled, waiting for an aligned checkpoint
  std::uint64_t offset_commit_failures = 0;  // group offset commits refused or not sent (made again later)
  std::uint64_t assignments = 0;     // rebalance callbacks
  std::uint64_t revocations = 0;     // lost ones included
  std::uint64_t lost = 0;            // revocations of partitions already lost (no checkpoint)
  std::size_t assigned = 0;          // partitions currently owned
  std::size_t tracked_producers = 0;     // producers with state, all owned partitions
  std::size_t in_progress_messages = 0;  // chunked messages being reassembled
  std::uint64_t in_progress_bytes = 0;   // bytes they hold
  // Reassembly buffers kept for reuse, or lent from that reserve to
  // messages in progress (Engine::ReassemblyReserveBytes: at most 64 MiB).
  std::uint64_t reassembly_reserve_bytes = 0;
  // steady_clock time of the last successful checkpoint, if any.
  std::optional<std::chrono::steady_clock::time_point> last_checkpoint;
  // Trigger to commit: hook + commit, or for a pipelined checkpoint the
  // wait for its outputs' acknowledgements too.
  std::chrono::microseconds last_checkpoint_duration{0};
};

// An owned partition and the next offset to process (nullopt: neither
// checkpointed nor processed yet).
struct PartitionPosition {
  TopicPartition tp;
  std::optional<Offset> next;
  std::optional<Offset> checkpointed;
  // The partition's high watermark as of librdkafka's last fetch response
  // (nullopt before one); see lag().
  std::optional<Offset> high_watermark = std::nullopt;
  std::size_t producers = 0;  // tracked producers
  // Where librdkafka last reported the end of the partition (its
  // enable.partition.eof event, on unless the configuration turns it off):
  // the position of a partition that had nothing to process since it was
  // assigned, which has neither `next` nor (without a local checkpoint)
  // `checkpointed`.
  std::optional<Offset> end_reached = std::nullopt;

  // high_watermark minus the partition's position (next, else
  // checkpointed, else end_reached), at least 0; nullopt while either is
  // unknown.
  std::optional<std::int64_t> lag() const noexcept;
};

class DedupConsumer {
 public:
  static Result<std::unique_ptr<DedupConsumer>> Create(CheckpointStore& store, DedupConsumerOptions options,
                                                       DedupConsumerHooks hooks);
  ~DedupConsumer();
  DedupConsumer(const DedupConsumer&) = delete;
  DedupConsumer& operator=(const DedupConsumer&) = delete;

  // Polls and processes for `duration` (or until RequestStop). OK when the
  // time is up or a stop was requested; the stop error otherwise.
  Status RunFor(std::chrono::milliseconds duration);
  // RunFor until RequestStop(), then OK; or the stop error.
  Status Run();
  void RequestStop() noexcept;
  bool stop_requested() const noexcept;

  // Checkpoints now (hook, store, Kafka commit); on failure rewinds.
  Status Checkpoint();
  // Final checkpoint, then leaves the group, within `timeout`. The first
  // error is returned; the consumer is closed either way.
  Status Close(std::chrono::milliseconds timeout);

  DedupConsumerStats stats() const;
  std::vector<PartitionPosition> Positions() const;
  // The error that stopped the loop, OK while running.
  Status stop_error() const;

 private:
  struct Impl;
  explicit DedupConsumer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka
