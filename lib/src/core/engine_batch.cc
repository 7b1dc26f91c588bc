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
// its first record.
#include <array>

#include "core/engine_impl.h"
#include "exactly/engine.h"

namespace exactly {

void Engine::ProcessBatch(std::span<const RecordView> records, DeliverFn deliver, std::span<Outcome> outcomes) {
  impl_->ProcessBatch(records, deliver, outcomes);
}

detail::PartitionData* Engine::Impl::PeekPartition(std::string_view topic, Partition partition) const {
  if (last_used && last_used->partition == partition && detail::EqualBytes(last_used->topic, topic)) [[likely]]
    return last_used;
  const detail::PartitionKeyView key{topic, partition.value()};
  auto it = partitions.find(key);
  return it == partitions.end() ? nullptr : it->second.get();
}

void Engine::Impl::ProcessBatch(std::span<const RecordView> records, DeliverFn deliver, std::span<Outcome> outcomes) {
  // A decision with its producer in cache takes ~80-100 ns here, a DRAM
  // load with a page walk ~150-300 ns: each of the two loads gets about
  // four decisions' time to arrive.
  constexpr std::size_t kSlotAhead = 16;
  constexpr std::size_t kEntryAhead = 8;
  constexpr std::size_t kRing = 32;  // a power of two above kSlotAhead
  static_assert(kRing > kSlotAhead && kSlotAhead > kEntryAhead);

  struct Ahead {
    Envelope env;
    detail::PartitionData* pd = nullptr;  // set only for stamped records of a known partition
    std::uint64_t hash = 0;
  };
  std::array<Ahead, kRing> ring;
  const std::size_t n = records.size();
  const auto look_ahead = [&](std::size_t j) {
    Ahead& a = ring[j % kRing];
    const RecordView& r = records[j];
    a.env = ClassifyTrustingProducer(r.headers, options.limits);
    a.pd = nullptr;
    if (a.env.kind != EnvelopeKind::kStamped) return;
    a.pd = PeekPartition(r.topic, r.partition);
    if (a.pd == nullptr) return;
    a.hash = detail::ProducerMap::Hash(a.env.producer);
    a.pd->producers.PrefetchSlot(a.hash);
  };

  for (std::size_t j = 0; j < std::min(n, kSlotAhead); ++j) look_ahead(j);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) look_ahead(i + kSlotAhead);
    if (i + kEntryAhead < n) {
      const Ahead& a = ring[(i + kEntryAhead) % kRing];
      if (a.pd) a.pd->producers.PrefetchEntry(a.hash);
    }
    const Outcome o = ProcessClassified(records[i], ring[i % kRing].env, deliver);
    if (i < outcomes.size()) outcomes[i] = o;
  }
}

}  // namespace exactly
