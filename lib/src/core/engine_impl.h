// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The engine's internal state, shared by engine.cc (the decision rules) and
// engine_state.cc (snapshots, restores, change tracking, purge).
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/producer_table.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"

namespace exactly::detail {

struct HeldChunk {
  std::uint32_t index = 0;
  Offset offset;
  TimestampMs timestamp;
  bool null = false;
  bool reported = false;   // handed to a ChangeVisitor already
  bool in_prefix = false;  // its bytes are in InProgress::prefix at `at`
  std::uint64_t at = 0;
  std::uint64_t len = 0;
  std::string bytes;       // its own bytes, when not in the prefix
};

class BufferPool;

// The message being reassembled, contiguous from chunk 0. Grows only by
// bytes that arrived (never by what a record claims): doubling, but never
// past the claimed size unless the bytes themselves go past it, so an
// honest message ends with no slack and a lying one holds at most twice
// what it sent. A buffer lent by a BufferPool counts against the pool's
// bound until it is given back, grown past or freed.
struct MessageBuffer {
  std::unique_ptr<char[]> data;
  std::uint64_t size = 0;
  std::uint64_t capacity = 0;
  BufferPool* lender = nullptr;

  MessageBuffer() = default;
  MessageBuffer(MessageBuffer&& o) noexcept
      : data(std::move(o.data)),
        size(std::exchange(o.size, 0)),
        capacity(std::exchange(o.capacity, 0)),
        lender(std::exchange(o.lender, nullptr)) {}
  MessageBuffer& operator=(MessageBuffer&& o) noexcept {
    if (this != &o) {
      EndLoan();
      data = std::move(o.data);
      size = std::exchange(o.size, 0);
      capacity = std::exchange(o.capacity, 0);
      lender = std::exchange(o.lender, nullptr);
    }
    return *this;
  }
  ~MessageBuffer() { EndLoan(); }

  // Returns whether it had to allocate.
  bool Reserve(std::uint64_t need, std::uint64_t claimed) {
    if (need <= capacity) return false;
    const std::uint64_t cap = std::max(need, std::min(2 * capacity, claimed));
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (size) std::memcpy(bigger.get(), data.get(), size);
    EndLoan();  // the lent bytes are freed below
    data = std::move(bigger);
    capacity = cap;
    return true;
  }

  inline void EndLoan() noexcept;
};

// Finished messages' buffers, handed to messages that start, so that
// reassembly writes into memory that is already mapped instead of growing
// a fresh allocation by doubling: each growth is a copy of everything so
// far, and each fresh page a fault that the kernel zeroes. An 8 MiB message
// built from nothing allocates 15 MiB and copies 7 MiB on the way. One spare
// was not enough: a consumer of several partitions has a message in
// progress on each at once.
//
// Bounded by kMaxBuffers idle buffers and kMaxBytes bytes in all, idle and
// lent together (the smallest idle ones go first). Lent buffers count
// because a message that takes one may hold far more than it sent: without
// that, a producer could finish large messages and start tiny ones that
// claim large sizes, over and over, each tiny one keeping a large buffer
// outside max-buffer-bytes. Which buffer a message gets may follow its
// claimed size, since that only chooses among buffers that exist: a claim
// never allocates.
class BufferPool {
 public:
  static constexpr std::size_t kMaxBuffers = 16;
  static constexpr std::uint64_t kMaxBytes = 64u << 20;

  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The smallest buffer of at least `want` bytes, else the largest there
  // is; an empty buffer when the pool is.
  MessageBuffer Take(std::uint64_t want) {
    if (buffers_.empty()) return {};
    auto it = FirstOfAtLeast(want);
    if (it == buffers_.end()) --it;
    return Lend(it);
  }

  // The smallest buffer of at least `need` bytes, or an empty one.
  MessageBuffer TakeAtLeast(std::uint64_t need) {
    auto it = FirstOfAtLeast(need);
    if (it == buffers_.end()) return {};
    return Lend(it);
  }

  void Give(MessageBuffer b) {
    b.EndLoan();
    // Too large even with every idle buffer gone: keep the idle ones.
    if (b.capacity == 0 || lent_ + b.capacity > kMaxBytes) return;
    while (idle_ + lent_ + b.capacity > kMaxBytes || buffers_.size() >= kMaxBuffers) {
      idle_ -= buffers_.front().capacity;
      buffers_.erase(buffers_.begin());
    }
    b.size = 0;
    idle_ += b.capacity;
    auto it = std::upper_bound(buffers_.begin(), buffers_.end(), b.capacity,
                               [](std::uint64_t c, const MessageBuffer& x) { return c < x.capacity; });
    buffers_.insert(it, std::move(b));
  }

  void Returned(std::uint64_t capacity) noexcept { lent_ -= capacity; }

  // Idle and lent buffers' bytes: at most kMaxBytes.
  std::uint64_t bytes() const noexcept { return idle_ + lent_; }

 private:
  std::vector<MessageBuffer>::iterator FirstOfAtLeast(std::uint64_t bytes) {
    return std::lower_bound(buffers_.begin(), buffers_.end(), bytes,
                            [](const MessageBuffer& b, std::uint64_t n) { return b.capacity < n; });
  }
  MessageBuffer Lend(std::vector<MessageBuffer>::iterator it) {
    MessageBuffer b = std::move(*it);
    buffers_.erase(it);
    idle_ -= b.capacity;
    lent_ += b.capacity;
    b.lender = this;
    return b;
  }

  std::vector<MessageBuffer> buffers_;  // idle, by capacity, ascending
  std::uint64_t idle_ = 0;              // their capacities
  std::uint64_t lent_ = 0;              // capacities of buffers lent out
};

inline void MessageBuffer::EndLoan() noexcept {
  if (lender != nullptr) std::exchange(lender, nullptr)->Returned(capacity);
}

struct ProducerEntry;

// P: a chunked message in progress.
//
// Chunks [0, prefix_chunks) are all present and laid down in order in
// `prefix`, their CRC32C folded into crc_prefix as they were copied (one
// pass over each byte). An in-order chunk is written there on arrival; a
// chunk that arrives early waits in its own string until the gap before it
// closes. Completing the message appends the rest, so the delivered value
// is `prefix` itself.
struct InProgress {
  InProgressHeader header;
  // By index. A map, not a sorted vector: a hostile producer may send tens
  // of thousands of chunks in descending order, and vector inserts at the
  // front would make that quadratic.
  std::map<std::uint32_t, HeldChunk> chunks;
  std::uint64_t bytes = 0;        // payload bytes held
  // Chunk 0's key and headers, kept for the delivered message: they are
  // held in P too, so they count against max-buffer-bytes beside `bytes`.
  std::uint64_t meta_bytes = 0;
  std::uint64_t HeldBytes() const { return bytes + meta_bytes; }
  MessageBuffer prefix;
  std::uint32_t crc_prefix = 0;
  std::uint32_t prefix_chunks = 0;
  bool reported = false;  // some chunk reached a ChangeVisitor: removal must be reported
  std::uint32_t uncollected = 0;  // chunks held that no ChangeVisitor has seen
  ProducerEntry* owner = nullptr;

  std::string_view View(const HeldChunk& c) const {
    return c.in_prefix ? std::string_view(prefix.data.get() + c.at, c.len) : std::string_view(c.bytes);
  }

  // Copies `b` to the end of the prefix, extending the CRC. Returns how
  // many buffers that allocated (0 or 1).
  std::uint64_t AppendToPrefix(std::string_view b) {
    const bool allocated = prefix.Reserve(prefix.size + b.size(), header.size);
    crc_prefix = crc32c::ExtendCopy(crc_prefix, prefix.data.get() + prefix.size, b.data(), b.size());
    prefix.size += b.size();
    return allocated ? 1 : 0;
  }

  // Moves held chunks that now continue the prefix into it. Returns how
  // many buffers that allocated.
  std::uint64_t AbsorbContiguous() {
    std::uint64_t allocated = 0;
    for (auto it = chunks.find(prefix_chunks); it != chunks.end() && it->first == prefix_chunks; ++it) {
      HeldChunk& c = it->second;
      c.at = prefix.size;
      c.len = c.bytes.size();
      allocated += AppendToPrefix(c.bytes);
      c.in_prefix = true;
      std::string().swap(c.bytes);
      ++prefix_chunks;
    }
    return allocated;
  }
};

// W and bookkeeping for one producer: 64 bytes, one cache line (the
// table's pages are line-aligned), with ids of up to 24 bytes inside it,
// longer ones on the heap. Built in place by the ProducerTable; never
// copied or moved (the engine keeps pointers to entries).
struct alignas(64) ProducerEntry {
  static constexpr std::size_t kInlineId = 24;

  // `id`: 1-255 bytes (ValidProducerId), as every caller checks.
  // (Longer ones are cut, never overrun.)
  explicit ProducerEntry(std::string_view id) : id_size_(std::min<std::size_t>(id.size(), 255)) {
    const std::size_t n = id_size_;
    char* out = inline_id_;
    if (n > kInlineId) out = heap_id_ = new char[n];
    std::memcpy(out, id.data(), n);
  }
  ~ProducerEntry() {
    if (id_size_ > kInlineId) delete[] heap_id_;
  }
  ProducerEntry(const ProducerEntry&) = delete;
  ProducerEntry& operator=(const ProducerEntry&) = delete;

  std::string_view id() const noexcept {
    return std::string_view(id_size_ > kInlineId ? heap_id_ : inline_id_, id_size_);
  }

  // The CollectChanges that last reported this producer: once a committed
  // checkpoint holds that collection, the producer may be evicted.
  // Collections are numbered from 1 per partition, one per checkpoint:
  // 52 bits do not run out.
  std::uint64_t reported_in() const noexcept { return reported_in_; }
  void set_reported_in(std::uint64_t collection) noexcept { reported_in_ = collection & kReportedMask; }

 private:
  static constexpr std::uint64_t kReportedMask = (std::uint64_t{1} << 52) - 1;
  union {
    char inline_id_[kInlineId];
    char* heap_id_;
  };

 public:
  EpochSeq watermark;
  TimestampMs last_seen;
  std::unique_ptr<InProgress> in_progress;
  // One word: the flags, the id's size and reported_in.
  std::uint64_t has_watermark : 1 = 0;
  std::uint64_t dirty : 1 = 0;
  std::uint64_t doomed : 1 = 0;      // being erased by PurgeExpired
  std::uint64_t referenced : 1 = 0;  // used since the eviction sweep last passed (CLOCK)

 private:
  std::uint64_t id_size_ : 8;
  std::uint64_t reported_in_ : 52 = 0;
};
static_assert(sizeof(ProducerEntry) == 64);

using ProducerMap = ProducerTable<ProducerEntry>;

struct PartitionData {
  std::string topic;
  Partition partition;
  ProducerMap producers;
  // In-progress messages by first offset: the order both bounds abandon in.
  std::map<std::int64_t, InProgress*> by_first_offset;
  std::uint64_t buffered_bytes = 0;
  std::size_t uncollected_chunks = 0;  // the sum of InProgress::uncollected
  TimestampMs max_timestamp{INT64_MIN};
  // Change tracking for CollectChanges. Pointers into `producers` stay valid
  // because its entries never move; entries are erased only by
  // PurgeExpired, which removes them from `dirty` first.
  std::vector<ProducerEntry*> dirty;
  std::vector<std::string> erased;
  std::vector<std::pair<std::string, EpochSeq>> removed_messages;
  std::size_t purge_slot = 0;  // where PurgeExpired's sweep resumes
  // Producer cache: collections numbered from 1; `committed` is the last
  // one known durable. `cold`: some producers of this partition live only
  // in the ProducerSource, so a producer not resident must be fetched.
  std::uint64_t collections = 0;
  std::uint64_t committed = 0;
  bool cold = false;
  std::uint64_t evict_slot = 0;  // the eviction sweep's (CLOCK hand's) step, see SweepSlot

  void MarkDirty(ProducerEntry& e) {
    if (!e.dirty) {
      e.dirty = true;
      dirty.push_back(&e);
    }
  }
};

struct PartitionKey {
  std::string topic;
  std::int32_t partition;
};
struct PartitionKeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    const int c = std::string_view(a.topic).compare(std::string_view(b.topic));
    return c < 0 || (c == 0 && a.partition < b.partition);
  }
};
struct PartitionKeyView {
  std::string_view topic;
  std::int32_t partition;
};

// The bytes of chunk 0's key and headers (names and values), which an
// in-progress message keeps for the delivered message. Computed the same
// way from the record on arrival and from the header on restore.
inline std::uint64_t MetadataBytes(const RecordView& rec) {
  std::uint64_t n = rec.key ? rec.key->size() : 0;
  for (const HeaderView& h : rec.headers) n += h.name.size() + (h.value ? h.value->size() : 0);
  return n;
}
inline std::uint64_t MetadataBytes(const InProgressHeader& h) {
  if (!h.have_chunk0) return 0;
  std::uint64_t n = h.key0 ? h.key0->size() : 0;
  for (const OwnedHeader& o : h.headers0) n += o.name.size() + (o.value ? o.value->size() : 0);
  return n;
}

}  // namespace exactly::detail

namespace exactly {

struct Engine::Impl {
  EngineOptions options;
  DeadLetterSink* dead_letters = nullptr;
  ProducerSource* producer_source = nullptr;
  Status failure;
  Counters counters;
  // Before `partitions`, so it outlives the buffers it lent to the
  // messages in progress there (members are destroyed in reverse order).
  detail::BufferPool spares;
  std::map<detail::PartitionKey, std::unique_ptr<detail::PartitionData>, detail::PartitionKeyLess> partitions;
  detail::PartitionData* last_used = nullptr;  // most recently used partition

  std::vector<HeaderView> header_scratch;

  // Prefetch(): the records hinted in the last kPrefetchDistance / 2
  // calls whose index slot was prefetched, oldest at `next_hint`. Cleared
  // when a partition is dropped (the pointers would dangle).
  struct Hint {
    detail::PartitionData* pd = nullptr;
    std::uint64_t hash = 0;
  };
  std::array<Hint, Engine::kPrefetchDistance / 2> hints{};
  std::size_t next_hint = 0;

  // The per-record path is inlined into Process (one call per record
  // instead of five: prologues were a tenth of a decision).
  [[gnu::always_inline]] inline detail::PartitionData& PartitionFor(std::string_view topic, Partition partition) {
    if (last_used && last_used->partition == partition && detail::EqualBytes(last_used->topic, topic)) [[likely]]
      return *last_used;
    return PartitionForSlow(topic, partition);
  }
  detail::PartitionData& PartitionForSlow(std::string_view topic, Partition partition);
  detail::PartitionData* FindPartition(const TopicPartition& tp) const;

  Outcome Process(const RecordView& rec, DeliverFn deliver);
  // Process() for a record whose envelope was classified already
  // (ClassifyTrustingProducer: classification reads only the record).
  Outcome ProcessClassified(const RecordView& rec, const Envelope& env, DeliverFn deliver);
  [[gnu::always_inline]] inline Outcome Decide(const RecordView& rec, const Envelope& env, DeliverFn deliver);
  // engine_batch.cc: Process() on each record in turn, with the producer
  // lookups of the records ahead prefetched.
  std::size_t ProcessBatch(std::span<const RecordView> records, DeliverFn deliver, std::span<Outcome> outcomes);
  void Prefetch(const RecordView& upcoming) noexcept;
  // Below this many index slots (reached at ~6.1k producers, ~0.5 MiB of
  // index and entries) a producer table stays in cache and look-ahead only
  // costs.
  static constexpr std::size_t kPrefetchFromSlots = 16384;
  // The partition's data if it exists; never creates it.
  detail::PartitionData* PeekPartition(std::string_view topic, Partition partition) const;
  // Counts and rejects a malformed record.
  Outcome Malformed(MalformedReason reason, const RecordView& rec);
  [[gnu::always_inline]] inline Outcome ProcessStamped(detail::PartitionData& pd, const RecordView& rec, const Envelope& env, DeliverFn deliver);
  [[gnu::always_inline]] inline Outcome DeliverSingle(detail::PartitionData& pd, detail::ProducerEntry& pe,
                        const RecordView& rec, const Envelope& env, DeliverFn deliver);
  Outcome AddChunk(detail::PartitionData& pd, detail::ProducerEntry& pe, const RecordView& rec,
                   const Envelope& env, DeliverFn deliver);
  Outcome Complete(detail::PartitionData& pd, detail::ProducerEntry& pe, const RecordView& rec,
                   std::uint32_t index, DeliverFn deliver);

  // A producer not resident: fetched from the ProducerSource when the
  // partition has cold producers, else inserted new. Null on a failed
  // fetch (recorded in `failure`). *fresh: the entry holds no state.
  detail::ProducerEntry* FetchOrInsert(detail::PartitionData& pd, std::string_view id, bool* fresh);
  // Reads `id` from the ProducerSource (which must be set) and makes it
  // resident: *out null when the source does not have it.
  Status FetchFromSource(detail::PartitionData& pd, std::string_view id, detail::ProducerEntry** out);
  void EnforceChunkSpan(detail::PartitionData& pd, Offset offset);
  // Frees room for `incoming` more bytes, abandoning messages other than
  // `keep` oldest first.
  void MakeRoom(detail::PartitionData& pd, std::uint64_t incoming, const detail::InProgress* keep);
  void Abandon(detail::PartitionData& pd, detail::ProducerEntry& pe, std::string_view why);
  void RemoveInProgress(detail::PartitionData& pd, detail::ProducerEntry& pe);
  void RejectHeld(detail::PartitionData& pd, const detail::InProgress& p, RejectReason reason,
                  std::string_view why);
  void Reject(RejectReason reason, std::string_view why, const RecordView& rec);
  [[gnu::always_inline]] inline void NoteDelivery(detail::ProducerEntry& pe, EpochSeq stamp, bool* gap);
};

}  // namespace exactly
