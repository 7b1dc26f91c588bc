// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The engine's bounded producer cache: fetching non-resident producers from
// the ProducerSource, and evicting committed ones (a CLOCK sweep over the
// producer table's index).
//
// Why eviction waits for a commit: an evicted producer is later fetched
// from the store, which returns the last committed checkpoint. Evicting a
// producer whose latest state is only in a checkpoint built but not yet
// committed (the relay commits after its outputs are acknowledged) would
// fetch an older watermark and deliver duplicates. So each producer
// remembers the collection that last reported it, and only producers
// reported in a committed collection, clean since, and with no message in
// progress (P stays in memory) are evicted.
#include "core/engine_impl.h"
#include "exactly/engine.h"

namespace exactly {

using detail::PartitionData;
using detail::ProducerEntry;

namespace {

TopicPartition TpOf(const PartitionData& pd) { return TopicPartition{Topic(pd.topic), pd.partition}; }

// A fetched producer is resident again exactly as it was evicted: clean,
// and already durable.
ProducerEntry* Install(PartitionData& pd, const ProducerState& state) {
  ProducerEntry* e = pd.producers.FindOrInsert(state.producer).first;
  e->has_watermark = state.watermark.has_value();
  if (state.watermark) e->watermark = *state.watermark;
  e->last_seen = state.last_seen;
  e->set_reported_in(pd.committed);
  return e;
}

}  // namespace

Status Engine::Impl::FetchFromSource(PartitionData& pd, std::string_view id, ProducerEntry** out) {
  ++counters.producer_cache_misses;
  auto fetched = producer_source->FetchProducer(TpOf(pd), id);
  if (!fetched.ok()) return fetched.status().WithContext("fetching producer state for " + TpOf(pd).ToString());
  *out = nullptr;
  if (!fetched.value()) return Status::OK();
  ++counters.producers_fetched;
  ProducerState& state = *fetched.value();
  state.producer.assign(id);  // the source's copy of the id is not trusted over the record's
  *out = Install(pd, state);
  return Status::OK();
}

ProducerEntry* Engine::Impl::FetchOrInsert(PartitionData& pd, std::string_view id, bool* fresh) {
  if (pd.cold && producer_source != nullptr) {
    ProducerEntry* e = nullptr;
    if (Status st = FetchFromSource(pd, id, &e); !st.ok()) {
      failure = std::move(st);
      return nullptr;
    }
    if (e != nullptr) {
      *fresh = false;
      return e;
    }
  }
  *fresh = true;
  return pd.producers.FindOrInsert(id).first;
}

std::size_t Engine::MarkCommitted(const TopicPartition& tp, std::uint64_t collection) {
  PartitionData* pd = impl_->FindPartition(tp);
  if (!pd) return 0;
  if (collection > pd->committed && collection <= pd->collections) pd->committed = collection;
  const std::size_t budget = impl_->options.max_resident_producers;
  if (budget == 0 || impl_->producer_source == nullptr) return 0;
  const std::size_t total = TotalProducerCount();
  const std::size_t mine = pd->producers.size();
  if (total <= budget || mine == 0) return 0;
  // This partition's share of the excess, in proportion to its size, so
  // that one partition's commit does not evict everyone else's producers.
  const std::size_t want = ((total - budget) * mine + total - 1) / total;

  std::size_t evicted = 0;
  const std::size_t slots = pd->producers.SlotCount();
  // Two turns of the hand: the first may only clear reference bits.
  for (std::size_t visited = 0; visited < 2 * slots && evicted < want; ++visited) {
    // In the table's scattered sweep order, not index order (see SweepSlot).
    const std::size_t i = pd->producers.SweepSlot(pd->evict_slot);
    ProducerEntry* e = pd->producers.AtSlot(i);
    if (e == nullptr || e->dirty || e->in_progress || e->reported_in() > pd->committed) {
      ++pd->evict_slot;
      continue;
    }
    if (e->referenced) {
      e->referenced = false;
      ++pd->evict_slot;
      continue;
    }
    // Erasing may shift a later entry into slot i: the hand stays on it.
    pd->producers.Erase(e);
    ++evicted;
  }
  if (evicted > 0) pd->cold = true;
  impl_->counters.producers_evicted += evicted;
  return evicted;
}

std::uint64_t Engine::LastCollection(const TopicPartition& tp) const {
  const PartitionData* pd = impl_->FindPartition(tp);
  return pd ? pd->collections : 0;
}

}  // namespace exactly
