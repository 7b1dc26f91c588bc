// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The producer-TTL sweep: deletes stored producers whose TTL has expired.
//
// The engine purges expired producers it holds, and the deletions reach
// the store with its checkpoints. Producers it evicted, or never loaded
// (producer cache), live only in the store and would stay there for good.
// A sweep reads a partition's producer keys in key order, a bounded batch
// per step, and deletes those expired on the partition's stored clock.
//
// Why a deletion is always safe:
// - The stored clock is the committed partition clock, which never goes
//   back, and the engine's clock is at least as far. A producer expired
//   on the stored clock is expired for the engine too, and the engine
//   treats an expired producer as unknown whether or not it is stored
//   (engine.h). So no decision changes.
// - Only the producer's folded key is deleted. A newer state of it in a
//   pending delta stays there, and replaying the deltas over the keys
//   (loads, fetches, the fold) still gives that newer state.
// - Each candidate is read again and judged again under write_mu, right
//   before its deletion. No commit, fold step or Replace can then have
//   changed it in between.
// - A producer with an in-progress message is kept. Its chunks and its
//   message go together, by the engine's own rules.
// Deletions skip the WAL, like the fold's writes: losing them in a crash
// only loses work.
#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

namespace {

struct Candidate {
  std::string key;
  std::string producer;
};

}  // namespace

Result<bool> CheckpointStore::Impl::SweepStep(std::size_t budget) {
  if (!sweep) {
    if (options.purge_sweep_interval.count() <= 0) return false;
    const auto now = std::chrono::steady_clock::now();
    std::optional<TopicPartition> pick;
    {
      std::lock_guard bl(book_mu);
      for (auto& [tp, book] : books) {
        if (book.producer_ttl_ms <= 0 || !book.max_timestamp || now < book.next_sweep) continue;
        // One sweep per interval, counted from its start: a sweep that
        // finds nothing costs one read of the partition's keys.
        book.next_sweep = now + options.purge_sweep_interval;
        pick = tp;
        break;
      }
    }
    if (!pick) return false;
    sweep = SweepPass{*pick, WatermarkTagPrefix(*pick, kProducerTag)};
  }
  auto done = SweepNextBatch(budget);
  if (!done.ok()) {
    sweep.reset();
    return done.status();
  }
  if (*done) sweep.reset();
  return true;
}

Result<bool> CheckpointStore::Impl::SweepNextBatch(std::size_t budget) {
  SweepPass& s = *sweep;
  std::int64_t ttl = 0;
  std::optional<TimestampMs> clock;
  {
    std::lock_guard bl(book_mu);
    if (auto b = books.find(s.tp); b != books.end()) {
      ttl = b->second.producer_ttl_ms;
      clock = b->second.max_timestamp;
    }
  }
  if (ttl <= 0 || !clock) return true;  // removed meanwhile: nothing to sweep

  // Read: the expired producers among the next keys.
  const std::string prefix = WatermarkTagPrefix(s.tp, kProducerTag);
  const std::string end = PrefixEnd(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;  // a sweep reads every key once: keep the cache for lookups
  std::vector<Candidate> candidates;
  bool reached_end = true;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    std::size_t read = 0;
    for (it->Seek(s.cursor); it->Valid(); it->Next()) {
      if (read >= budget) {
        s.cursor.assign(it->key().data(), it->key().size());
        reached_end = false;
        break;
      }
      read += it->key().size() + it->value().size() + 16;
      std::string_view rest = View(it->key()).substr(prefix.size());
      std::string producer;
      ProducerState state;
      // Undecodable keys are left for Verify and Load to report.
      if (!ConsumeEscaped(&rest, &producer) || !rest.empty()) continue;
      if (!DecodeProducerValue(View(it->value()), producer, &state).ok()) continue;
      if (ProducerExpired(*clock, state.last_seen, ttl)) candidates.push_back({std::string(View(it->key())), producer});
    }
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("TTL sweep of {}", s.tp.ToString())));
  }
  if (candidates.empty()) return reached_end;

  // Judge again and delete, under write_mu (see the top of this file).
  std::lock_guard wl(write_mu);
  if (!failed.ok()) return failed;
  {
    std::lock_guard bl(book_mu);
    auto b = books.find(s.tp);
    if (b == books.end() || !b->second.max_timestamp) return true;
    clock = b->second.max_timestamp;
    ttl = b->second.producer_ttl_ms;
  }
  rocksdb::WriteBatch batch;
  std::uint64_t deleted = 0;
  std::unique_ptr<rocksdb::Iterator> chunks(db->NewIterator(rocksdb::ReadOptions()));
  for (const Candidate& c : candidates) {
    std::string value;
    rocksdb::Status got = db->Get(rocksdb::ReadOptions(), c.key, &value);
    if (got.IsNotFound()) continue;
    EXACTLY_RETURN_IF_ERROR(FromRocks(got, fmt::format("TTL sweep of {}", s.tp.ToString())));
    ProducerState state;
    if (!DecodeProducerValue(value, c.producer, &state).ok() || !ProducerExpired(*clock, state.last_seen, ttl)) continue;
    const std::string chunk_prefix = ChunkProducerPrefix(s.tp, c.producer);
    chunks->Seek(chunk_prefix);
    EXACTLY_RETURN_IF_ERROR(FromRocks(chunks->status(), fmt::format("TTL sweep of {}", s.tp.ToString())));
    if (chunks->Valid() && StartsWith(chunks->key(), chunk_prefix)) continue;  // a message in progress
    (void)batch.Delete(c.key);
    ++deleted;
  }
  if (deleted > 0) {
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    EXACTLY_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), fmt::format("TTL sweep of {}", s.tp.ToString())));
    swept.fetch_add(deleted, std::memory_order_relaxed);
  }
  return reached_end;
}

Status CheckpointStore::SweepExpired() {
  if (impl_->options.read_only) return Status::FailedPrecondition("SweepExpired: store opened read-only");
  std::lock_guard fl(impl_->fold_mu);
  std::vector<TopicPartition> due;
  {
    std::lock_guard bl(impl_->book_mu);
    for (const auto& [tp, book] : impl_->books) {
      if (book.producer_ttl_ms > 0 && book.max_timestamp) due.push_back(tp);
    }
  }
  // A sweep the background thread has under way is finished first.
  while (impl_->sweep) EXACTLY_RETURN_IF_ERROR(impl_->SweepStep(impl_->options.fold_step_bytes).status());
  for (const TopicPartition& tp : due) {
    impl_->sweep = SweepPass{tp, WatermarkTagPrefix(tp, kProducerTag)};
    while (impl_->sweep) EXACTLY_RETURN_IF_ERROR(impl_->SweepStep(impl_->options.fold_step_bytes).status());
  }
  return Status::OK();
}

std::uint64_t CheckpointStore::SweptProducerCount() const noexcept {
  return impl_->swept.load(std::memory_order_relaxed);
}

}  // namespace exactly
