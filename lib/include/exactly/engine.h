// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Engine: the deduplication and reassembly engine of DESIGN.md §3.
//
// Feed it records with Process(); it classifies each record's envelope,
// applies the six decision rules per (topic, partition, producer), holds
// chunks of in-progress messages, and hands every delivered message to the
// caller's callback. Rejected data (malformed, corrupt, abandoned, dropped
// unstamped) goes to the DeadLetterSink, if any, and is always counted.
//
// Determinism: decisions depend only on the records fed, in order, per
// partition: never on the wall clock, on thread timing, or on when state
// was snapshotted, restored or purged. Partitions are fully independent
// (the buffer-bytes bound is per partition for this reason).
//
// Producer TTL runs on the partition's clock, its largest record timestamp
// so far: a producer is treated as unknown once that clock (this record's
// timestamp included) is more than producer-ttl past the clock when the
// producer last sent a valid stamped record. DESIGN.md §3 says "older than
// producer-ttl than the new record"; the two agree while timestamps rise.
// The partition clock never goes back, so an expired producer stays expired
// and purging it (PurgeExpired, at any checkpoint schedule) never changes a
// decision; and a producer whose own clock lags is not expired by the lag.
//
// Memory: bounded by what was received plus the configured bounds; a
// record's claims (N, size) never cause an allocation by themselves. A
// message's in-order chunks are laid down in one buffer that grows by
// doubling, so its capacity is at most twice the bytes held (and never past
// the claimed size while the bytes stay within it). Finished messages'
// buffers are kept for reuse: up to 16 of them and 64 MiB in all, those
// lent again to messages in progress included, so a message that takes
// one larger than what it sent holds at most that reserve.
//
// Producer cache: with EngineOptions::max_resident_producers set and a
// ProducerSource attached (normally the CheckpointStore), producers beyond
// the budget are evicted once their state is in a committed checkpoint
// (MarkCommitted) and fetched back from the source when they send again.
// Decisions never depend on it: a fetched producer is exactly what was
// evicted. Snapshot and ProducerCount see resident producers only.
//
// Thread safety: not thread-safe. Use one Engine per thread, or lock.
// Callbacks are invoked synchronously from Process() and must not call
// back into the same Engine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/envelope.h"
#include "exactly/function_ref.h"
#include "exactly/partition_state.h"
#include "exactly/producer_source.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly {

enum class UnstampedPolicy : std::uint8_t { kPass, kDrop };

struct EngineOptions {
  EnvelopeLimits limits;                                  // --max-chunks, --max-message-bytes
  UnstampedPolicy unstamped = UnstampedPolicy::kPass;     // --unstamped
  std::uint64_t max_chunk_span = 100000;                  // --max-chunk-span (offsets)
  // --max-buffer-bytes, per partition: held chunk values plus chunk 0's
  // key and headers (names and values), which are kept for the message.
  std::uint64_t max_buffer_bytes = 256ull << 20;
  std::int64_t producer_ttl_ms = 7ll * 24 * 3600 * 1000;  // --producer-ttl
  // Producers kept in memory, over all partitions; beyond it, committed
  // producers are evicted to the ProducerSource (set_producer_source;
  // without one nothing is evicted). 0: no bound. About 80 bytes each
  // (a 64-byte entry, ids up to 24 bytes inside it, and its index slot).
  std::size_t max_resident_producers = 1'000'000;
  Status Validate() const;
};

// What happened to one input record.
enum class Outcome : std::uint8_t {
  kDelivered,         // delivered (alone, or as the chunk completing a message)
  kBuffered,          // a chunk held for its message
  kDuplicate,         // rule 3
  kStale,             // rule 2
  kMalformed,         // §2 or rule 4 mismatch
  kChunkDuplicate,    // rule 4: index already held
  kCorrupt,           // completed a message that failed size/crc (rule 5)
  kAbandoned,         // a chunk too large to ever fit the buffer
  kUnstampedPassed,
  kUnstampedDropped,
  // Not decided: fetching the producer from the ProducerSource failed
  // (Engine::failure() says why). The partition's clock may have moved, so
  // reload the partition from the last checkpoint before going on.
  kFailed,
};
std::string_view OutcomeName(Outcome o) noexcept;

// Counters, cumulative since construction (they are metrics, not state:
// snapshots and restores do not carry them). Record counts count input
// records; message counts count (possibly multi-chunk) messages.
struct Counters {
  std::uint64_t records = 0;              // input records processed
  std::uint64_t delivered = 0;            // messages delivered, stamped or not
  std::uint64_t delivered_chunked = 0;    // of which reassembled from N >= 2 chunks
  std::uint64_t duplicate = 0;            // records
  std::uint64_t stale = 0;                // records
  std::uint64_t malformed = 0;            // records
  std::array<std::uint64_t, kMalformedReasonCount> malformed_by_reason{};
  std::uint64_t corrupt = 0;              // messages
  std::uint64_t abandoned = 0;            // messages
  std::uint64_t abandoned_chunks = 0;     // records held by abandoned messages
  std::uint64_t chunk_duplicate = 0;      // records
  std::uint64_t unstamped = 0;            // records (passed + dropped)
  std::uint64_t unstamped_dropped = 0;    // records
  std::uint64_t gaps = 0;                 // deliveries with s > W.seq + 1 in W's epoch
  std::uint64_t producers_expired = 0;    // forgotten by producer TTL
  std::uint64_t dead_lettered = 0;        // records handed to the dead-letter sink
  // Producer cache (EngineOptions::max_resident_producers).
  std::uint64_t producer_cache_hits = 0;    // stamped records whose producer was resident
  std::uint64_t producer_cache_misses = 0;  // lookups sent to the ProducerSource
  std::uint64_t producers_fetched = 0;      // of which found there
  std::uint64_t producers_evicted = 0;
  // Buffers allocated, or grown, to reassemble chunked messages. Finished
  // messages' buffers are reused, so in a steady stream this stays flat.
  std::uint64_t reassembly_allocations = 0;
  Counters& operator+=(const Counters& o);
};

// A delivered message. Views are valid only during the callback.
struct Message {
  std::string_view topic;
  Partition partition;
  Offset offset;           // of the record that completed it
  TimestampMs timestamp;   // of the record that completed it
  NullableBytes key;       // chunk 0's key for reassembled messages
  NullableBytes value;     // reassembled: never null
  std::span<const HeaderView> headers;  // reassembled: chunk 0's minus eo.chunk/size/crc
  bool stamped = false;    // false: an unstamped record passed through
  std::string_view producer;
  EpochSeq stamp;
  std::uint32_t chunks = 0;  // N for a chunked message, 0 for a single record
  bool gap = false;          // s > W.seq + 1 within W's epoch
  // The value's CRC32C when the record(s) carried eo.crc (always for
  // reassembled messages): checked already, so a consumer that forwards
  // the message need not compute it again.
  std::optional<std::uint32_t> crc;
};

enum class RejectReason : std::uint8_t { kMalformed, kCorrupt, kAbandoned, kUnstamped };
std::string_view RejectReasonName(RejectReason r) noexcept;

// A record the engine will not deliver. `detail` says why in words (for
// malformed records, the MalformedReasonName). For corrupt and abandoned
// messages, one Rejected per held chunk is emitted; their records carry the
// stamp and chunk headers reconstructed from the message (chunk 0 keeps its
// own headers), chunk 0's key, and the chunk's own offset, timestamp and
// bytes. The record being processed when that happens, if it belongs to the
// message, follows as it came.
struct Rejected {
  RejectReason reason;
  std::string_view detail;
  RecordView record;
};

// Receives every rejected record. Called synchronously from Process() (or
// from the calls that abandon messages). Must not throw.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void OnRejected(const Rejected& rejected) noexcept = 0;
};

// Receives the changes to one partition's state since the last
// CollectChanges, for incremental checkpoints. Views are valid only during
// the call.
class ChangeVisitor {
 public:
  virtual ~ChangeVisitor() = default;
  virtual void ProducerChanged(const ProducerState& state) = 0;
  virtual void ProducerErased(std::string_view producer) = 0;
  // A chunk received since the last collection, of a message still in
  // progress. The header is repeated for every chunk of the same message.
  // The chunk's bytes are the engine's: copy them to keep them.
  virtual void ChunkAdded(const InProgressHeader& message, const ChunkView& chunk) = 0;
  // A message that was in progress at the last collection (so some of its
  // chunks may have been reported) is gone: delivered, corrupt or abandoned.
  virtual void InProgressRemoved(std::string_view producer, EpochSeq stamp) = 0;
};

class Engine {
 public:
  using DeliverFn = FunctionRef<void(const Message&)>;

  explicit Engine(EngineOptions options = {}, DeadLetterSink* dead_letters = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  const EngineOptions& options() const noexcept;
  void set_dead_letter_sink(DeadLetterSink* sink) noexcept;
  // Where evicted producers are fetched from. Must outlive the engine's
  // use of it. Without one, nothing is evicted.
  void set_producer_source(ProducerSource* source) noexcept;
  // Why the last Outcome::kFailed happened (OK if none since construction).
  const Status& failure() const noexcept;

  // Decides one record, calling `deliver` for each message it delivers (at
  // most one). Records of one partition must come in offset order.
  Outcome Process(const RecordView& record, DeliverFn deliver);

  // Process() on each record in order: the same outcomes, deliveries, dead
  // letters and counters, in the same order. Faster when a partition
  // tracks more producers than fit in the CPU caches, as it starts loading
  // the producer state of the next few records while deciding the current
  // one. outcomes[i], for i below outcomes.size(), receives record i's
  // outcome (pass an empty span to discard them). Stops at a record left
  // undecided (Outcome::kFailed): returns how many records were decided,
  // records.size() unless one failed.
  std::size_t ProcessBatch(std::span<const RecordView> records, DeliverFn deliver, std::span<Outcome> outcomes = {});

  // For callers that see records a while before deciding them one at a
  // time, as a consumer reading ahead of its loop does: says that
  // `upcoming` will be passed to Process() after about kPrefetchDistance
  // other records, and starts loading the producer state it will need.
  // The same look-ahead as ProcessBatch(), streamed: the index slot of
  // `upcoming` now, the entry of the record hinted kPrefetchDistance / 2
  // calls earlier. A hint only: changes no state and decides nothing, so
  // a hinted record that is never processed costs only the hint, and
  // Process() decides the same with or without it. Nothing is done for
  // partitions whose producers fit in the CPU caches. `upcoming` need not
  // outlive the call.
  void Prefetch(const RecordView& upcoming) noexcept;
  static constexpr std::size_t kPrefetchDistance = 16;
  // Whether Prefetch() does anything now: some partition tracks enough
  // producers (from ~6k) for its table to outgrow the CPU caches. A
  // caller may skip reading ahead otherwise. Linear in the number of
  // partitions: for now and then, not for every record.
  bool PrefetchHelps() const noexcept;

  const Counters& counters() const noexcept;

  // --- partition state -------------------------------------------------
  std::vector<TopicPartition> Partitions() const;
  bool HasPartition(const TopicPartition& tp) const;
  // A full copy of one partition's state (empty if unknown).
  PartitionState Snapshot(const TopicPartition& tp) const;
  // Replaces the partition's state. Validates it (kCorruption on
  // inconsistent input, leaving the partition empty). Marks it clean for
  // CollectChanges. With state.producers_omitted, producers are fetched
  // from the ProducerSource when they send (and, for in-progress
  // messages, at once: kFailedPrecondition without a source).
  Status Restore(const TopicPartition& tp, PartitionState state);
  // Forgets a partition (on revocation). Nothing is dead-lettered: the
  // state lives on in the last checkpoint.
  void DropPartition(const TopicPartition& tp);

  // Reports what changed in the partition since the last CollectChanges
  // (or Restore) and marks it clean. Returns the collection's number
  // (rising per partition), for MarkCommitted.
  std::uint64_t CollectChanges(const TopicPartition& tp, ChangeVisitor& visitor);

  // Tells the engine that the checkpoint holding collection `collection`
  // of `tp` (and every earlier one) is committed, then evicts producers of
  // `tp` whose state that checkpoint holds (least recently used first, no
  // message in progress) while the engine is over its resident budget; tp
  // gives up its share of the excess. Returns how many were evicted.
  std::size_t MarkCommitted(const TopicPartition& tp, std::uint64_t collection);
  // The number of the last CollectChanges of `tp` (0: none yet), for callers
  // that collect through a store (Checkpoint::AddPartition).
  std::uint64_t LastCollection(const TopicPartition& tp) const;
  // Chunks held in `tp`'s messages in progress that no CollectChanges has
  // reported yet: what the partition's next checkpoint would have to
  // write besides producers (0 for an unknown partition). Constant time,
  // for a caller choosing when to checkpoint.
  std::size_t UncollectedChunks(const TopicPartition& tp) const;

  // Forgets producers idle longer than the TTL, judged against the
  // largest record timestamp seen in the partition (never the wall clock),
  // inspecting at most `budget` producers from where the last call
  // stopped. Returns how many were erased (reported by CollectChanges).
  std::size_t PurgeExpired(const TopicPartition& tp, std::size_t budget);

  // The largest record timestamp seen in the partition (INT64_MIN if
  // none). Part of the decision state (producer TTL): an incremental store
  // must persist it beside what CollectChanges reports.
  TimestampMs MaxTimestamp(const TopicPartition& tp) const;

  // Resident producers, and bytes held in in-progress messages (as counted
  // against max_buffer_bytes).
  std::size_t ProducerCount(const TopicPartition& tp) const;
  std::size_t TotalProducerCount() const;
  std::size_t InProgressCount() const;
  std::uint64_t BufferedBytes() const;
  // Bytes of finished messages' buffers kept for reuse, including those
  // lent to messages now in progress: at most 64 MiB ("Memory" above).
  std::uint64_t ReassemblyReserveBytes() const noexcept;

  // Bytes the producer tables of every Engine in the process hold in
  // memory mapped outside malloc (2 MiB blocks on transparent huge pages),
  // so missing from malloc's statistics: add them for the engines' heap.
  static std::size_t MappedBytes() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly
