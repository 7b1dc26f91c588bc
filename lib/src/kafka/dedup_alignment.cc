// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumer: aligned checkpoints. A due checkpoint waits (boundedly)
// for chunked messages in progress to complete, so that it need not
// write their chunks; partitions with nothing left to write hold their
// new records meanwhile (dedup_consumer.h, "Aligned checkpoints").
#include <algorithm>

#include "dedup_consumer_impl.h"

namespace exactly::kafka {

namespace {
// librdkafka's message and our queue entry.
constexpr std::uint64_t kHeldOverhead = 256;
}  // namespace

std::uint64_t PolledBytes(const KafkaMessage& msg) noexcept {
  const NullableBytes key = msg.key();
  const NullableBytes value = msg.value();
  return kHeldOverhead + (key ? key->size() : 0) + (value ? value->size() : 0);
}

bool DedupConsumer::Impl::ReadyToCheckpoint(Clock::time_point now) {
  if (options.checkpoint_alignment.count() == 0) return true;
  bool all = true;
  for (auto& owned : entries) {
    Entry& e = *owned;
    if (!e.aligned) e.aligned = engine.UncollectedChunks(e.tp) == 0;
    all = all && e.aligned;
  }
  newly_aligned = false;
  if (!aligning) {
    if (all) return true;  // nothing in progress: no wait, nothing held
    aligning = true;
    align_started = now;
    return false;
  }
  const auto waited = now - align_started;
  const bool expired =
      !all && (waited >= options.checkpoint_alignment || held_bytes >= options.checkpoint_alignment_bytes);
  if (!all && !expired) return false;
  ++stats.checkpoint_alignments;
  if (expired) ++stats.checkpoint_alignments_expired;
  stats.checkpoint_alignment_wait += std::chrono::duration_cast<std::chrono::microseconds>(waited);
  return true;
}

bool DedupConsumer::Impl::Hold(KafkaMessage& msg) {
  if (!aligning && held.empty()) return false;
  Entry* e = Lookup(msg.topic(), msg.partition());
  // Not owned: Process skips it anyway. Once the alignment is over, every
  // record waits behind those still waiting, which keeps each partition
  // in order until ReleaseHeld has run.
  if (e == nullptr || (aligning && !e->aligned)) return false;
  const std::uint64_t bytes = PolledBytes(msg);
  held.push_back(Held{std::move(msg), bytes});
  held_bytes += bytes;
  return true;
}

void DedupConsumer::Impl::EndAlignment() {
  aligning = false;
  newly_aligned = false;
  for (auto& owned : entries) owned->aligned = false;
}

void DedupConsumer::Impl::ReleaseHeld() {
  if (resume_at > Clock::now()) return;  // backing off after a rewind
  const std::uint64_t rewinds = stats.rewinds;
  while (!held.empty()) {
    if (!stop_error.ok() || stats.rewinds != rewinds) return;  // the backoff after a rewind comes first
    Held h = std::move(held.front());
    held.pop_front();
    held_bytes -= h.bytes;
    Process(h.msg.view());
  }
}

void DedupConsumer::Impl::DropPolled(const TopicPartition& tp) {
  const auto of_tp = [&tp](const KafkaMessage& m) {
    return m.partition() == tp.partition && m.topic() == tp.topic.name();
  };
  std::erase_if(held, [&](const Held& h) {
    if (!of_tp(h.msg)) return false;
    held_bytes -= h.bytes;
    return true;
  });
  ahead.EraseIf([&](const PolledRing::Slot& s) { return of_tp(s.msg); });
}

}  // namespace exactly::kafka
