// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The decision rules of DESIGN.md §3. Rule numbers in comments refer to it.
#include "exactly/engine.h"

#include <algorithm>
#include <cstring>

#include "core/engine_impl.h"
#include "exactly/crc32c.h"

namespace exactly {

using detail::InProgress;
using detail::PartitionData;
using detail::ProducerEntry;

namespace {

std::string_view Bytes(const NullableBytes& b) { return b ? *b : std::string_view(); }

// True when `later` is more than `span` above `earlier`, without overflow
// on hostile offsets.
bool Exceeds(std::int64_t later, std::int64_t earlier, std::uint64_t span) {
  return later > earlier && static_cast<std::uint64_t>(later) - static_cast<std::uint64_t>(earlier) > span;
}

bool IsChunkHeader(std::string_view name) {
  return name == header::kChunk || name == header::kSize || name == header::kCrc;
}

}  // namespace

Status EngineOptions::Validate() const {
  if (limits.max_chunks < 1) return Status::InvalidArgument("max-chunks must be at least 1");
  if (limits.max_chunks > (1u << 24)) return Status::InvalidArgument("max-chunks must be at most 16777216");
  if (max_chunk_span < 1) return Status::InvalidArgument("max-chunk-span must be at least 1");
  if (max_buffer_bytes < 1) return Status::InvalidArgument("max-buffer-bytes must be at least 1");
  if (producer_ttl_ms < 1) return Status::InvalidArgument("producer-ttl must be positive");
  return Status::OK();
}

std::string_view OutcomeName(Outcome o) noexcept {
  switch (o) {
    case Outcome::kDelivered: return "delivered";
    case Outcome::kBuffered: return "buffered";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kStale: return "stale";
    case Outcome::kMalformed: return "malformed";
    case Outcome::kChunkDuplicate: return "chunk_duplicate";
    case Outcome::kCorrupt: return "corrupt";
    case Outcome::kAbandoned: return "abandoned";
    case Outcome::kUnstampedPassed: return "unstamped_passed";
    case Outcome::kUnstampedDropped: return "unstamped_dropped";
    case Outcome::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view RejectReasonName(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kCorrupt: return "corrupt";
    case RejectReason::kAbandoned: return "abandoned";
    case RejectReason::kUnstamped: return "unstamped";
  }
  return "unknown";
}

Counters& Counters::operator+=(const Counters& o) {
  records += o.records;
  delivered += o.delivered;
  delivered_chunked += o.delivered_chunked;
  duplicate += o.duplicate;
  stale += o.stale;
  malformed += o.malformed;
  for (std::size_t i = 0; i < malformed_by_reason.size(); ++i) malformed_by_reason[i] += o.malformed_by_reason[i];
  corrupt += o.corrupt;
  abandoned += o.abandoned;
  abandoned_chunks += o.abandoned_chunks;
  chunk_duplicate += o.chunk_duplicate;
  unstamped += o.unstamped;
  unstamped_dropped += o.unstamped_dropped;
  gaps += o.gaps;
  producers_expired += o.producers_expired;
  dead_lettered += o.dead_lettered;
  producer_cache_hits += o.producer_cache_hits;
  producer_cache_misses += o.producer_cache_misses;
  producers_fetched += o.producers_fetched;
  producers_evicted += o.producers_evicted;
  reassembly_allocations += o.reassembly_allocations;
  return *this;
}

// --- Engine facade ------------------------------------------------------

Engine::Engine(EngineOptions options, DeadLetterSink* dead_letters) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->dead_letters = dead_letters;
}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const EngineOptions& Engine::options() const noexcept { return impl_->options; }
void Engine::set_dead_letter_sink(DeadLetterSink* sink) noexcept { impl_->dead_letters = sink; }
void Engine::set_producer_source(ProducerSource* source) noexcept { impl_->producer_source = source; }
const Status& Engine::failure() const noexcept { return impl_->failure; }
const Counters& Engine::counters() const noexcept { return impl_->counters; }
Outcome Engine::Process(const RecordView& record, DeliverFn deliver) { return impl_->Process(record, deliver); }

// --- partitions -----------------------------------------------------------

PartitionData& Engine::Impl::PartitionForSlow(std::string_view topic, Partition partition) {
  const detail::PartitionKeyView key{topic, partition.value()};
  auto it = partitions.find(key);
  if (it == partitions.end()) {
    auto pd = std::make_unique<PartitionData>();
    pd->topic = std::string(topic);
    pd->partition = partition;
    it = partitions.emplace(detail::PartitionKey{pd->topic, partition.value()}, std::move(pd)).first;
  }
  last_used = it->second.get();
  return *last_used;
}

PartitionData* Engine::Impl::FindPartition(const TopicPartition& tp) const {
  const detail::PartitionKeyView key{tp.topic.name(), tp.partition.value()};
  auto it = partitions.find(key);
  return it == partitions.end() ? nullptr : it->second.get();
}

// --- the rules --------------------------------------------------------------

Outcome Engine::Impl::Process(const RecordView& rec, DeliverFn deliver) {
  // The producer table holds only valid ids, so the id's bytes are checked
  // only when the table does not have it (ProcessStamped).
  return Decide(rec, ClassifyTrustingProducer(rec.headers, options.limits), deliver);
}

Outcome Engine::Impl::ProcessClassified(const RecordView& rec, const Envelope& env, DeliverFn deliver) {
  return Decide(rec, env, deliver);
}

Outcome Engine::Impl::Decide(const RecordView& rec, const Envelope& env, DeliverFn deliver) {
  ++counters.records;
  PartitionData& pd = PartitionFor(rec.topic, rec.partition);
  if (rec.timestamp > pd.max_timestamp) pd.max_timestamp = rec.timestamp;
  EnforceChunkSpan(pd, rec.offset);

  switch (env.kind) {
    case EnvelopeKind::kUnstamped: {
      ++counters.unstamped;
      if (options.unstamped == UnstampedPolicy::kDrop) {
        ++counters.unstamped_dropped;
        Reject(RejectReason::kUnstamped, "unstamped", rec);
        return Outcome::kUnstampedDropped;
      }
      Message m;
      m.topic = rec.topic;
      m.partition = rec.partition;
      m.offset = rec.offset;
      m.timestamp = rec.timestamp;
      m.key = rec.key;
      m.value = rec.value;
      m.headers = rec.headers;
      ++counters.delivered;
      deliver(m);
      return Outcome::kUnstampedPassed;
    }
    case EnvelopeKind::kMalformed:
      return Malformed(env.reason, rec);
    case EnvelopeKind::kStamped:
      break;
  }
  return ProcessStamped(pd, rec, env, deliver);
}

Outcome Engine::Impl::Malformed(MalformedReason reason, const RecordView& rec) {
  ++counters.malformed;
  ++counters.malformed_by_reason[static_cast<std::size_t>(reason)];
  Reject(RejectReason::kMalformed, MalformedReasonName(reason), rec);
  return Outcome::kMalformed;
}

Outcome Engine::Impl::ProcessStamped(PartitionData& pd, const RecordView& rec, const Envelope& env,
                                     DeliverFn deliver) {
  // Producer TTL runs on the partition's clock: its largest record
  // timestamp so far, this record's included. A producer's last_seen is that
  // clock when it last sent, so it expires once the clock has moved more than
  // producer-ttl past it. Judged this way, an expired producer stays expired
  // (so purging it at any checkpoint schedule changes no decision), and a
  // producer whose own clock lags the others' is not expired by the lag.
  ProducerEntry* entry = pd.producers.Find(env.producer);
  bool inserted = false;
  if (entry == nullptr) [[unlikely]] {
    if (!ValidProducerId(env.producer)) return Malformed(MalformedReason::kBadProducer, rec);
    entry = FetchOrInsert(pd, env.producer, &inserted);
    if (entry == nullptr) return Outcome::kFailed;
  } else {
    ++counters.producer_cache_hits;
  }
  ProducerEntry& pe = *entry;
  pe.referenced = true;
  if (!inserted &&
      ProducerExpired(pd.max_timestamp, pe.last_seen, options.producer_ttl_ms)) {
    if (pe.in_progress) Abandon(pd, pe, "producer expired (producer-ttl)");
    if (pe.has_watermark) ++counters.producers_expired;
    pe.has_watermark = false;
  }
  const std::string_view id = pe.id();
  pe.last_seen = pd.max_timestamp;
  pd.MarkDirty(pe);

  const EpochSeq s = env.stamp;
  InProgress* p = pe.in_progress.get();
  // M = max(W, P); P, when present, is always above W.
  const bool known = p != nullptr || pe.has_watermark;
  if (known) {
    const EpochSeq m = p ? p->header.stamp : pe.watermark;
    if (s.epoch < m.epoch) {  // rule 2
      ++counters.stale;
      return Outcome::kStale;
    }
    if (s < m || (pe.has_watermark && s == pe.watermark)) {  // rule 3
      ++counters.duplicate;
      return Outcome::kDuplicate;
    }
    if (p && s == p->header.stamp) {  // rule 4
      const ChunkInfo ci = env.chunk.value_or(ChunkInfo{0, 1});
      if (!env.chunk || ci.count != p->header.count || env.size != p->header.size || env.crc != p->header.crc) {
        ++counters.malformed;
        ++counters.malformed_by_reason[static_cast<std::size_t>(MalformedReason::kChunkMismatch)];
        Reject(RejectReason::kMalformed, MalformedReasonName(MalformedReason::kChunkMismatch), rec);
        return Outcome::kMalformed;
      }
      if (p->chunks.count(ci.index)) {
        ++counters.chunk_duplicate;
        return Outcome::kChunkDuplicate;
      }
      return AddChunk(pd, pe, rec, env, deliver);
    }
  }
  // Rules 1 and 6: a stamp above everything seen.
  if (p) Abandon(pd, pe, "superseded by a newer stamp");
  if (env.chunk && env.chunk->count > 1) {
    auto np = std::make_unique<InProgress>();
    np->header.producer = id;
    np->header.stamp = s;
    np->header.count = env.chunk->count;
    np->header.size = *env.size;
    np->header.crc = *env.crc;
    np->header.first_offset = rec.offset;
    np->owner = &pe;
    // Offsets rise within a partition, so no other message can have started
    // at this one; if the caller breaks that (a re-seek without Restore),
    // the older message is abandoned rather than lost from the books.
    if (const auto clash = pd.by_first_offset.find(rec.offset.value()); clash != pd.by_first_offset.end())
      Abandon(pd, *clash->second->owner, "offset reused (records out of order)");
    pe.in_progress = std::move(np);
    // Registered in the span/buffer order before the first chunk is added,
    // so MakeRoom can tell it apart from the messages it may abandon.
    pd.by_first_offset[rec.offset.value()] = pe.in_progress.get();
    return AddChunk(pd, pe, rec, env, deliver);
  }
  return DeliverSingle(pd, pe, rec, env, deliver);
}

// An unchunked record, or a one-chunk message (rule 6, "N = 1 completes at
// once"): verified against eo.size / eo.crc where present, then delivered.
Outcome Engine::Impl::DeliverSingle(PartitionData& pd, ProducerEntry& pe,
                                    const RecordView& rec, const Envelope& env, DeliverFn deliver) {
  (void)pd;
  const std::string_view value = Bytes(rec.value);
  if (env.size && value.size() != *env.size) {
    ++counters.corrupt;
    Reject(RejectReason::kCorrupt, "size mismatch", rec);
    return Outcome::kCorrupt;
  }
  if (env.crc && crc32c::Value(value) != *env.crc) {
    ++counters.corrupt;
    Reject(RejectReason::kCorrupt, "crc mismatch", rec);
    return Outcome::kCorrupt;
  }
  Message m;
  m.topic = rec.topic;
  m.partition = rec.partition;
  m.offset = rec.offset;
  m.timestamp = rec.timestamp;
  m.key = rec.key;
  m.value = rec.value;
  m.headers = rec.headers;
  m.stamped = true;
  m.producer = pe.id();
  m.stamp = env.stamp;
  m.crc = env.crc;
  if (env.chunk) {
    // A one-chunk message is a reassembled message: never null, and without
    // the chunk headers.
    m.value = value;
    m.chunks = 1;
    header_scratch.clear();
    for (const HeaderView& h : rec.headers)
      if (!IsChunkHeader(h.name)) header_scratch.push_back(h);
    m.headers = header_scratch;
  }
  NoteDelivery(pe, env.stamp, &m.gap);
  deliver(m);
  return Outcome::kDelivered;
}

Outcome Engine::Impl::AddChunk(PartitionData& pd, ProducerEntry& pe, const RecordView& rec, const Envelope& env,
                               DeliverFn deliver) {
  InProgress& p = *pe.in_progress;
  const std::uint32_t index = env.chunk->index;
  const std::uint64_t len = Bytes(rec.value).size();
  // What holding this chunk costs: its value, and for chunk 0 also the key
  // and headers kept for the delivered message.
  const std::uint64_t meta = index == 0 ? detail::MetadataBytes(rec) : 0;
  const std::uint64_t cost = len + meta;
  if (p.HeldBytes() + cost > options.max_buffer_bytes) {
    // Can never fit, even with every other message gone.
    RejectHeld(pd, p, RejectReason::kAbandoned, "message exceeds max-buffer-bytes");
    Reject(RejectReason::kAbandoned, "message exceeds max-buffer-bytes", rec);
    ++counters.abandoned;
    counters.abandoned_chunks += p.chunks.size() + 1;
    RemoveInProgress(pd, pe);
    return Outcome::kAbandoned;
  }
  MakeRoom(pd, cost, &p);

  if (p.chunks.size() + 1 == p.header.count) return Complete(pd, pe, rec, index, deliver);

  const std::string_view value = Bytes(rec.value);
  detail::HeldChunk c;
  c.index = index;
  c.offset = rec.offset;
  c.timestamp = rec.timestamp;
  c.null = !rec.value.has_value();
  c.len = value.size();
  if (index == p.prefix_chunks) {
    // In order: straight into the message, checked as it is copied.
    if (p.prefix.capacity == 0) p.prefix = spares.Take(p.header.size);
    c.at = p.prefix.size;
    c.in_prefix = true;
    counters.reassembly_allocations += p.AppendToPrefix(value);
    ++p.prefix_chunks;
  } else {
    c.bytes.assign(value);
  }
  p.chunks.emplace(index, std::move(c));
  ++p.uncollected;
  ++pd.uncollected_chunks;
  p.bytes += len;
  p.meta_bytes += meta;
  pd.buffered_bytes += cost;
  if (index == 0) {
    p.header.have_chunk0 = true;
    p.header.key0 = rec.key ? std::optional<std::string>(std::string(*rec.key)) : std::nullopt;
    p.header.headers0.clear();
    for (const HeaderView& h : rec.headers) {
      p.header.headers0.push_back(
          OwnedHeader{std::string(h.name), h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
    }
  }
  counters.reassembly_allocations += p.AbsorbContiguous();
  return Outcome::kBuffered;
}

// Rule 5: the chunk at `index` (carried by `rec`) is the last one missing.
Outcome Engine::Impl::Complete(PartitionData& pd, ProducerEntry& pe, const RecordView& rec, std::uint32_t index,
                               DeliverFn deliver) {
  InProgress& p = *pe.in_progress;
  const std::string_view last = Bytes(rec.value);
  const std::uint64_t total = p.bytes + last.size();
  const char* why = nullptr;
  if (total != p.header.size) {
    why = "size mismatch";
  } else {
    // Everything has arrived, so `total` bytes are real, not a claim.
    if (p.prefix.capacity == 0) p.prefix = spares.TakeAtLeast(total);
    if (p.prefix.Reserve(total, total)) ++counters.reassembly_allocations;
    // Lay down the chunks after the prefix in order (every index from
    // prefix_chunks on is held, but `index` is this record).
    auto held = p.chunks.lower_bound(p.prefix_chunks);
    for (std::uint32_t i = p.prefix_chunks; i < p.header.count; ++i) {
      std::string_view b;
      if (i == index) {
        b = last;
      } else {
        b = held->second.bytes;
        ++held;
      }
      counters.reassembly_allocations += p.AppendToPrefix(b);
    }
    if (p.crc_prefix != p.header.crc) why = "crc mismatch";
  }
  if (why) {
    ++counters.corrupt;
    RejectHeld(pd, p, RejectReason::kCorrupt, why);
    Reject(RejectReason::kCorrupt, why, rec);
    RemoveInProgress(pd, pe);
    return Outcome::kCorrupt;
  }

  Message m;
  m.topic = rec.topic;
  m.partition = rec.partition;
  m.offset = rec.offset;
  m.timestamp = rec.timestamp;
  m.value = std::string_view(p.prefix.data.get(), total);
  m.stamped = true;
  m.producer = p.header.producer;
  m.stamp = p.header.stamp;
  m.chunks = p.header.count;
  m.crc = p.header.crc;
  header_scratch.clear();
  if (index == 0) {
    m.key = rec.key;
    for (const HeaderView& h : rec.headers)
      if (!IsChunkHeader(h.name)) header_scratch.push_back(h);
  } else {
    m.key = p.header.key0 ? NullableBytes(*p.header.key0) : std::nullopt;
    for (const OwnedHeader& h : p.header.headers0) {
      if (IsChunkHeader(h.name)) continue;
      header_scratch.push_back(HeaderView{h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
    }
  }
  m.headers = header_scratch;
  NoteDelivery(pe, p.header.stamp, &m.gap);
  ++counters.delivered_chunked;
  // Deliver before releasing P: the message's key and headers live in it.
  deliver(m);
  RemoveInProgress(pd, pe);
  return Outcome::kDelivered;
}

void Engine::Impl::NoteDelivery(ProducerEntry& pe, EpochSeq stamp, bool* gap) {
  *gap = pe.has_watermark && stamp.epoch == pe.watermark.epoch && stamp.seq.value() > pe.watermark.seq.value() + 1;
  if (*gap) ++counters.gaps;
  pe.watermark = stamp;
  pe.has_watermark = true;
  ++counters.delivered;
}

// --- bounds and abandonment ---------------------------------------------

void Engine::Impl::EnforceChunkSpan(PartitionData& pd, Offset offset) {
  while (!pd.by_first_offset.empty()) {
    const auto first = pd.by_first_offset.begin();
    if (!Exceeds(offset.value(), first->first, options.max_chunk_span)) break;
    Abandon(pd, *first->second->owner, "exceeded max-chunk-span");
  }
}

void Engine::Impl::MakeRoom(PartitionData& pd, std::uint64_t incoming, const InProgress* keep) {
  auto it = pd.by_first_offset.begin();
  while (pd.buffered_bytes + incoming > options.max_buffer_bytes && it != pd.by_first_offset.end()) {
    InProgress* victim = it->second;
    ++it;
    if (victim == keep) continue;
    Abandon(pd, *victim->owner, "evicted by max-buffer-bytes");
  }
}

void Engine::Impl::Abandon(PartitionData& pd, ProducerEntry& pe, std::string_view why) {
  const InProgress& p = *pe.in_progress;
  ++counters.abandoned;
  counters.abandoned_chunks += p.chunks.size();
  RejectHeld(pd, p, RejectReason::kAbandoned, why);
  RemoveInProgress(pd, pe);
}

void Engine::Impl::RemoveInProgress(PartitionData& pd, ProducerEntry& pe) {
  InProgress& p = *pe.in_progress;
  pd.by_first_offset.erase(p.header.first_offset.value());
  pd.buffered_bytes -= p.HeldBytes();
  pd.uncollected_chunks -= p.uncollected;
  if (p.reported) pd.removed_messages.emplace_back(p.header.producer, p.header.stamp);
  spares.Give(std::move(p.prefix));
  pe.in_progress.reset();
}

void Engine::Impl::RejectHeld(PartitionData& pd, const InProgress& p, RejectReason reason, std::string_view why) {
  if (!dead_letters || p.chunks.empty()) return;
  // Held chunks lost their original headers (only chunk 0's are kept), so
  // each is re-stamped from the message's identity.
  const StampHeaders common = FormatStamp(StampSpec{p.header.producer, p.header.stamp, ChunkInfo{0, p.header.count},
                                                    p.header.size, p.header.crc});
  std::vector<HeaderView> headers;
  for (const auto& [i, c] : p.chunks) {
    const std::string chunk_text = std::to_string(c.index) + "/" + std::to_string(p.header.count);
    headers.clear();
    if (c.index == 0 && p.header.have_chunk0) {
      for (const OwnedHeader& h : p.header.headers0)
        headers.push_back(HeaderView{h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
    } else {
      headers.push_back({header::kProducer, common.producer});
      headers.push_back({header::kEpoch, common.epoch});
      headers.push_back({header::kSeq, common.seq});
      headers.push_back({header::kChunk, chunk_text});
      headers.push_back({header::kSize, *common.size});
      headers.push_back({header::kCrc, *common.crc});
    }
    RecordView r;
    r.topic = pd.topic;
    r.partition = pd.partition;
    r.offset = c.offset;
    r.timestamp = c.timestamp;
    r.key = p.header.key0 ? NullableBytes(*p.header.key0) : std::nullopt;
    r.value = c.null ? std::nullopt : NullableBytes(p.View(c));
    r.headers = headers;
    Reject(reason, why, r);
  }
}

void Engine::Impl::Reject(RejectReason reason, std::string_view why, const RecordView& rec) {
  if (!dead_letters) return;
  ++counters.dead_lettered;
  dead_letters->OnRejected(Rejected{reason, why, rec});
}

}  // namespace exactly
