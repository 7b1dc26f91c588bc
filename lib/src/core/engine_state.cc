// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Engine state management: snapshots, restores, incremental change
// collection for checkpoints, and the producer-TTL purge.
#include <algorithm>
#include <set>

#include "core/engine_impl.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"

namespace exactly {

using detail::HeldChunk;
using detail::InProgress;
using detail::PartitionData;
using detail::ProducerEntry;

namespace {

ProducerState ToState(const ProducerEntry& e) {
  ProducerState s;
  s.producer = e.id();
  if (e.has_watermark) s.watermark = e.watermark;
  s.last_seen = e.last_seen;
  return s;
}

ChunkView ViewOf(const InProgress& p, const HeldChunk& c) {
  ChunkView v;
  v.index = c.index;
  v.offset = c.offset;
  v.timestamp = c.timestamp;
  if (!c.null) v.value = p.View(c);
  return v;
}

bool Expired(const PartitionData& pd, const ProducerEntry& e, std::int64_t ttl) {
  return ProducerExpired(pd.max_timestamp, e.last_seen, ttl);
}

}  // namespace

std::vector<TopicPartition> Engine::Partitions() const {
  std::vector<TopicPartition> out;
  out.reserve(impl_->partitions.size());
  for (const auto& [key, pd] : impl_->partitions) out.push_back(TopicPartition{Topic(pd->topic), pd->partition});
  return out;
}

bool Engine::HasPartition(const TopicPartition& tp) const { return impl_->FindPartition(tp) != nullptr; }

PartitionState Engine::Snapshot(const TopicPartition& tp) const {
  PartitionState s;
  const PartitionData* pd = impl_->FindPartition(tp);
  if (!pd) return s;
  s.max_timestamp = pd->max_timestamp;
  s.producers_omitted = pd->cold;
  s.producers.reserve(pd->producers.size());
  pd->producers.ForEach([&s](const ProducerEntry& e) { s.producers.push_back(ToState(e)); });
  for (const auto& [first, p] : pd->by_first_offset) {
    InProgressState m;
    m.header = p->header;
    m.chunks.reserve(p->chunks.size());
    for (const auto& [i, c] : p->chunks) m.chunks.push_back(OwnedChunk(ViewOf(*p, c)));
    s.in_progress.push_back(std::move(m));
  }
  return s;
}

void Engine::DropPartition(const TopicPartition& tp) {
  const detail::PartitionKeyView key{tp.topic.name(), tp.partition.value()};
  auto it = impl_->partitions.find(key);
  if (it == impl_->partitions.end()) return;
  if (impl_->last_used == it->second.get()) impl_->last_used = nullptr;
  impl_->hints.fill({});
  impl_->partitions.erase(it);
}

Status Engine::Restore(const TopicPartition& tp, PartitionState state) {
  DropPartition(tp);
  auto pd = std::make_unique<PartitionData>();
  pd->topic = tp.topic.name();
  pd->partition = tp.partition;
  pd->max_timestamp = state.max_timestamp;
  pd->cold = state.producers_omitted;
  const auto bad = [&tp](const std::string& what) {
    return Status::Corruption("inconsistent state for " + tp.ToString() + ": " + what);
  };

  pd->producers.Reserve(state.producers.size());
  for (ProducerState& p : state.producers) {
    if (!ValidProducerId(p.producer)) return bad("invalid producer id");
    const auto [e, inserted] = pd->producers.FindOrInsert(p.producer);
    if (!inserted) return bad("producer listed twice");
    e->has_watermark = p.watermark.has_value();
    if (p.watermark) e->watermark = *p.watermark;
    e->last_seen = p.last_seen;
  }
  for (InProgressState& m : state.in_progress) {
    InProgressHeader& h = m.header;
    ProducerEntry* found = pd->producers.Find(h.producer);
    if (!found && state.producers_omitted) {
      if (!ValidProducerId(h.producer)) return bad("invalid producer id");
      if (impl_->producer_source == nullptr) {
        return Status::FailedPrecondition("restoring " + tp.ToString() +
                                          " without its producers needs a producer source");
      }
      EXACTLY_RETURN_IF_ERROR(impl_->FetchFromSource(*pd, h.producer, &found));
    }
    if (!found) return bad("in-progress message of an untracked producer " + h.producer);
    ProducerEntry& e = *found;
    if (e.in_progress) return bad("two in-progress messages for producer " + h.producer);
    if (e.has_watermark && !(e.watermark < h.stamp)) return bad("in-progress message not above its watermark");
    if (h.count < 2 || h.count > impl_->options.limits.max_chunks) return bad("in-progress chunk count out of range");
    if (m.chunks.empty() || m.chunks.size() >= h.count) return bad("in-progress message with no or all chunks");
    if (pd->by_first_offset.count(h.first_offset.value())) return bad("two in-progress messages at one offset");
    auto p = std::make_unique<InProgress>();
    p->owner = &e;
    p->reported = true;  // it came from a checkpoint
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
      ChunkState& c = m.chunks[i];
      if (c.index >= h.count || (i > 0 && c.index <= m.chunks[i - 1].index)) return bad("chunk indexes out of order");
      if (c.offset < h.first_offset) return bad("chunk below its message's first offset");
      HeldChunk hc;
      hc.index = c.index;
      hc.offset = c.offset;
      hc.timestamp = c.timestamp;
      hc.null = !c.value.has_value();
      hc.reported = true;
      if (c.value) hc.bytes = std::move(*c.value);
      hc.len = hc.bytes.size();
      p->bytes += hc.len;
      p->chunks.emplace_hint(p->chunks.end(), hc.index, std::move(hc));
    }
    p->header = std::move(h);
    p->meta_bytes = detail::MetadataBytes(p->header);
    impl_->counters.reassembly_allocations += p->AbsorbContiguous();  // needs header.size
    pd->buffered_bytes += p->HeldBytes();
    pd->by_first_offset[p->header.first_offset.value()] = p.get();
    e.in_progress = std::move(p);
  }
  impl_->partitions.emplace(detail::PartitionKey{pd->topic, tp.partition.value()}, std::move(pd));
  return Status::OK();
}

std::uint64_t Engine::CollectChanges(const TopicPartition& tp, ChangeVisitor& visitor) {
  PartitionData* pd = impl_->FindPartition(tp);
  if (!pd) return 0;
  const std::uint64_t collection = ++pd->collections;
  for (const std::string& id : pd->erased) visitor.ProducerErased(id);
  pd->erased.clear();
  // Removals before additions: a corrupt message may be re-sent under the
  // same stamp and restart in progress within one checkpoint interval.
  for (const auto& [id, stamp] : pd->removed_messages) visitor.InProgressRemoved(id, stamp);
  pd->removed_messages.clear();
  for (ProducerEntry* e : pd->dirty) {
    e->dirty = false;
    e->set_reported_in(collection);
    visitor.ProducerChanged(ToState(*e));
  }
  pd->dirty.clear();
  for (const auto& [first, p] : pd->by_first_offset) {
    if (p->uncollected == 0) continue;  // all reported already
    for (auto& [i, c] : p->chunks) {
      if (c.reported) continue;
      visitor.ChunkAdded(p->header, ViewOf(*p, c));
      c.reported = true;
      p->reported = true;
    }
    pd->uncollected_chunks -= p->uncollected;
    p->uncollected = 0;
  }
  return collection;
}

std::size_t Engine::UncollectedChunks(const TopicPartition& tp) const {
  const PartitionData* pd = impl_->FindPartition(tp);
  return pd ? pd->uncollected_chunks : 0;
}

std::size_t Engine::PurgeExpired(const TopicPartition& tp, std::size_t budget) {
  PartitionData* pd = impl_->FindPartition(tp);
  if (!pd || pd->producers.empty()) return 0;
  const std::size_t slots = pd->producers.SlotCount();
  std::vector<ProducerEntry*> doomed;
  std::size_t inspected = 0;
  for (std::size_t visited = 0; visited < slots && inspected < budget; ++visited) {
    ProducerEntry* e = pd->producers.AtSlot(pd->purge_slot++ % slots);
    if (!e) continue;
    ++inspected;
    // A producer with a message in progress stays: dropping that message
    // early would free buffer room and change later decisions.
    if (!e->in_progress && Expired(*pd, *e, impl_->options.producer_ttl_ms)) {
      e->doomed = true;
      doomed.push_back(e);
    }
  }
  if (doomed.empty()) return 0;
  std::erase_if(pd->dirty, [](const ProducerEntry* d) { return d->doomed; });
  // Erasing moves index slots, never entries, so the pointers stay good.
  for (ProducerEntry* e : doomed) {
    if (e->has_watermark) ++impl_->counters.producers_expired;
    pd->erased.emplace_back(e->id());
    pd->producers.Erase(e);
  }
  return doomed.size();
}

TimestampMs Engine::MaxTimestamp(const TopicPartition& tp) const {
  const PartitionData* pd = impl_->FindPartition(tp);
  return pd ? pd->max_timestamp : TimestampMs(INT64_MIN);
}

std::size_t Engine::ProducerCount(const TopicPartition& tp) const {
  const PartitionData* pd = impl_->FindPartition(tp);
  return pd ? pd->producers.size() : 0;
}

std::size_t Engine::TotalProducerCount() const {
  std::size_t n = 0;
  for (const auto& [key, pd] : impl_->partitions) n += pd->producers.size();
  return n;
}

std::size_t Engine::InProgressCount() const {
  std::size_t n = 0;
  for (const auto& [key, pd] : impl_->partitions) n += pd->by_first_offset.size();
  return n;
}

std::uint64_t Engine::ReassemblyReserveBytes() const noexcept { return impl_->spares.bytes(); }

std::uint64_t Engine::BufferedBytes() const {
  std::uint64_t n = 0;
  for (const auto& [key, pd] : impl_->partitions) n += pd->buffered_bytes;
  return n;
}

}  // namespace exactly
