// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Engine::ProcessBatch: Process() on each record in turn, software-pipelined.
//
// With more producers than fit in cache, a decision is dominated by two
// dependent memory loads: the producer index slot, then the entry it names
// (each a DRAM miss, plus a page walk). Deciding record i cannot start them
// earlier, but the batch knows the records after it. So, while record i is
// decided, record i + kSlotAhead is classified, its id hashed and its index
// slot prefetched; record i + kEntryAhead's slot, in cache by then, is read
// and its entry prefetched. Record i is then decided by the same code as
// Process(), with the envelope classified ahead.
//
// Decisions cannot differ from Process(): classification reads only the
// record (and the limits), and the look-ahead changes no state (a prefetch
// is a hint; the slot it reads is re-read by the real lookup, so inserts
// and index growth in between only make a hint useless). Partitions are
// looked up ahead but never created ahead, so a partition still appears at
// its first record. A partition whose producer table fits in cache gets no
// look-ahead: its records are decided by Process() as they come.
#include <array>

#include "core/engine_impl.h"
#include "exactly/engine.h"

namespace exactly {

std::size_t Engine::ProcessBatch(std::span<const RecordView> records, DeliverFn deliver, std::span<Outcome> outcomes) {
  return impl_->ProcessBatch(records, deliver, outcomes);
}

detail::PartitionData* Engine::Impl::PeekPartition(std::string_view topic, Partition partition) const {
  if (last_used && last_used->partition == partition && detail::EqualBytes(last_used->topic, topic)) [[likely]]
    return last_used;
  const detail::PartitionKeyView key{topic, partition.value()};
  auto it = partitions.find(key);
  return it == partitions.end() ? nullptr : it->second.get();
}

std::size_t Engine::Impl::ProcessBatch(std::span<const RecordView> records, DeliverFn deliver,
                                       std::span<Outcome> outcomes) {
  // A decision with its producer in cache takes ~80-100 ns here, a DRAM
  // load (with a page walk for a 4 KiB page) a few hundred: each of the
  // two loads gets about eight decisions' time to arrive.
  constexpr std::size_t kSlotAhead = 16;
  constexpr std::size_t kEntryAhead = 8;
  constexpr std::size_t kRing = 32;  // a power of two above kSlotAhead
  static_assert(kRing > kSlotAhead && kSlotAhead > kEntryAhead);

  struct Ahead {
    Envelope env;
    bool classified = false;              // env is set: a partition with a big table
    detail::PartitionData* pd = nullptr;  // set for stamped records among those
    std::uint64_t hash = 0;
  };
  std::array<Ahead, kRing> ring;
  // The partition of the last record looked at, and whether its table is
  // big: batches mostly hold runs of one partition.
  std::string_view topic;
  Partition partition{-1};
  detail::PartitionData* pd = nullptr;
  bool big = false;
  const std::size_t n = records.size();
  // Records of small tables are decided by Process() itself.
  const auto look_ahead = [&](std::size_t j) __attribute__((always_inline)) {
    Ahead& a = ring[j % kRing];
    const RecordView& r = records[j];
    if (r.partition != partition || r.topic.data() != topic.data() || r.topic.size() != topic.size()) [[unlikely]] {
      topic = r.topic;
      partition = r.partition;
      pd = PeekPartition(r.topic, r.partition);
    }
    // Re-read per record: the table grows as records are decided.
    big = pd != nullptr && pd->producers.SlotCount() >= kPrefetchFromSlots;
    a.classified = big;
    a.pd = nullptr;
    if (!big) return;
    a.env = ClassifyTrustingProducer(r.headers, options.limits);
    if (a.env.kind != EnvelopeKind::kStamped) return;
    a.pd = pd;
    a.hash = detail::ProducerMap::Hash(a.env.producer);
    pd->producers.PrefetchSlot(a.hash);
  };

  for (std::size_t j = 0; j < std::min(n, kSlotAhead); ++j) look_ahead(j);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) look_ahead(i + kSlotAhead);
    const Ahead& a = ring[i % kRing];
    Outcome o;
    if (a.classified) {
      if (i + kEntryAhead < n) {
        const Ahead& b = ring[(i + kEntryAhead) % kRing];
        if (b.pd) b.pd->producers.PrefetchEntry(b.hash);
      }
      o = ProcessClassified(records[i], a.env, deliver);
    } else {
      o = Process(records[i], deliver);
    }
    if (i < outcomes.size()) outcomes[i] = o;
    // Later records of the partition must wait for the reload.
    if (o == Outcome::kFailed) [[unlikely]] return i;
  }
  return n;
}

void Engine::Prefetch(const RecordView& upcoming) noexcept { impl_->Prefetch(upcoming); }

bool Engine::PrefetchHelps() const noexcept {
  for (const auto& [key, pd] : impl_->partitions) {
    if (pd->producers.SlotCount() >= Impl::kPrefetchFromSlots) return true;
  }
  return false;
}

void Engine::Impl::Prefetch(const RecordView& upcoming) noexcept {
  // The record hinted kPrefetchDistance / 2 calls ago: its slot has had
  // that long to arrive, so reading it now rarely waits.
  Hint& h = hints[next_hint];
  next_hint = (next_hint + 1) % hints.size();
  if (h.pd != nullptr) h.pd->producers.PrefetchEntry(h.hash);
  h.pd = nullptr;
  detail::PartitionData* pd = PeekPartition(upcoming.topic, upcoming.partition);
  if (pd == nullptr || pd->producers.SlotCount() < kPrefetchFromSlots) return;
  // The id alone, not a classification: Process() classifies anyway, and
  // a wrong hint (a malformed record) only costs a useless load.
  for (const HeaderView& header : upcoming.headers) {
    if (header.name != header::kProducer) continue;
    if (!header.value) return;
    h.pd = pd;
    h.hash = detail::ProducerMap::Hash(*header.value);
    pd->producers.PrefetchSlot(h.hash);
    return;
  }
}

}  // namespace exactly
