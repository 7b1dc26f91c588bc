// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Folding watermark deltas into producer keys.
//
// A checkpoint writes one delta value per partition (cheap: one put, no
// read). Left alone, deltas would pile up and make restores slow and the
// pending-change index (overlay.cc) large, so a fold pass writes them out
// as one key per producer: it reads the oldest deltas, through checkpoint
// D, once, keeps each producer's last op, then writes those ops as blind
// puts and deletes of the producers' keys, a bounded batch per step; the
// step that writes the last batch also deletes the deltas up to D. The
// work is proportional to the ops folded, not to the partition's size.
//
// Fold writes skip the WAL: each step leaves the stored state equal to what
// it was (producer keys + remaining deltas give the same producers, see
// watermarks.h), so losing unflushed steps in a crash only loses work.
// Memtables flush in order, so a durable delta deletion implies its key
// writes are durable too.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"
#include "watermarks.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

bool CheckpointStore::Impl::NeedsFold(const PartitionBook& b) const {
  if (b.delta_count == 0) return false;
  return b.delta_count > options.fold_max_deltas || b.delta_bytes >= options.fold_pending_bytes;
}

bool CheckpointStore::Impl::FoldBacklogged(const PartitionBook& b) const {
  if (options.fold_backlog_factor == 0 || b.delta_count == 0) return false;
  const double factor = static_cast<double>(options.fold_backlog_factor);
  return static_cast<double>(b.delta_count) > factor * static_cast<double>(options.fold_max_deltas) ||
         static_cast<double>(b.delta_bytes) > factor * static_cast<double>(options.fold_pending_bytes);
}

void CheckpointStore::Impl::WakeFolder() {
  {
    std::lock_guard lk(book_mu);
    fold_hint = true;
  }
  fold_cv.notify_one();
}

void CheckpointStore::Impl::FoldLoop() {
  // Folding is housekeeping: let the threads that process records and
  // commit checkpoints have the CPU first (Linux: per-thread nice value).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), std::min(19, ::getpriority(PRIO_PROCESS, 0) + 10));
  std::unique_lock lk(book_mu);
  while (!stop.load()) {
    // The timeout only re-checks for work; commits wake the folder.
    fold_cv.wait_for(lk, std::chrono::seconds(1), [this] { return stop.load() || fold_hint; });
    if (stop.load()) break;
    fold_hint = false;
    lk.unlock();
    while (!stop.load()) {
      auto r = FoldStep(options.fold_step_bytes);
      // A failed fold leaves the stored state intact; a failing disk will
      // surface at the next Commit.
      if (!r.ok() || !*r) break;
    }
    lk.lock();
  }
}

Result<bool> CheckpointStore::Impl::FoldStep(std::size_t budget, bool all) {
  std::lock_guard fl(fold_mu);
  struct CountPass {
    Impl* impl;
    ~CountPass() {
      const auto& p = impl->pass;
      impl->pass_bytes.store(p ? p->delta_bytes + p->ops.capacity() * sizeof(DeltaOp) : 0, std::memory_order_relaxed);
    }
  } count_pass{this};
  if (!pass) {
    std::optional<TopicPartition> pick;
    {
      std::lock_guard bl(book_mu);
      std::uint64_t total = 0;
      std::uint64_t best = 0;
      std::optional<TopicPartition> largest;
      for (const auto& [tp, book] : books) {
        total += book.delta_bytes;
        if (book.delta_count > 0 && (!largest || book.delta_bytes > best)) {
          largest = tp;
          best = book.delta_bytes;
        }
        if ((all ? book.delta_count > 0 : NeedsFold(book)) && !pick) pick = tp;
      }
      // The largest first, among those due; all partitions together over
      // their bound make the largest due.
      if (pick || total > options.fold_total_pending_bytes) pick = largest;
    }
    // No folding to do: the housekeeping that may wait, the producer-TTL
    // sweep (not for an explicit Fold(), which only folds).
    if (!pick) return all ? Result<bool>(false) : SweepStep(budget);
    EXACTLY_RETURN_IF_ERROR(StartPass(*pick));
    if (!pass) return true;  // nothing was stored after all; look again
  }
  std::size_t work = 0;
  while (pass && work < budget) {
    auto r = FoldNextBatch(budget - work, &work);
    if (!r.ok()) {
      pass.reset();
      return r.status();
    }
  }
  return true;
}

Status CheckpointStore::Impl::StartPass(const TopicPartition& tp) {
  FoldPass p;
  p.tp = tp;
  {
    // Read the generation before the data: a Replace landing in between
    // then makes this pass stale, which the write-time check catches.
    std::lock_guard bl(book_mu);
    p.generation = books[tp].generation;
  }
  // A pass takes the oldest deltas up to about fold_pending_bytes: its
  // memory stays bounded even when commits outrun the folder.
  const std::uint64_t cap = std::max<std::uint64_t>(options.fold_pending_bytes, 1);
  const std::string dprefix = WatermarkTagPrefix(tp, kDeltaTag);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(dprefix); it->Valid() && StartsWith(it->key(), dprefix) && p.delta_bytes < cap; it->Next()) {
    std::string_view rest = View(it->key()).substr(dprefix.size());
    if (!ConsumeBigEndian64(&rest, &p.through) || !rest.empty()) {
      return Status::Corruption(fmt::format("fold of {}: malformed watermark delta key", tp.ToString()));
    }
    p.delta_values.emplace_back(View(it->value()));
    p.delta_bytes += it->value().size();
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("fold of {}", tp.ToString())));
  p.delta_count = p.delta_values.size();
  if (p.delta_values.empty()) {
    std::lock_guard bl(book_mu);
    PartitionBook& book = books[tp];
    book.delta_bytes = book.delta_count = 0;
    return Status::OK();
  }
  for (const std::string& d : p.delta_values) {
    Status st = DecodeDelta(d, &p.ops);
    if (!st.ok()) return st.WithContext(fmt::format("fold of {}", tp.ToString()));
  }
  BuildOverlay(&p.ops);
  pass = std::move(p);
  return Status::OK();
}

Result<bool> CheckpointStore::Impl::FoldNextBatch(std::size_t budget, std::size_t* work) {
  FoldPass& p = *pass;
  rocksdb::WriteBatch b;
  const std::size_t from = p.pos;
  std::size_t to = from;
  std::size_t bytes = 0;
  while (to < p.ops.size() && (bytes < budget || to == from)) {
    const DeltaOp& op = p.ops[to++];
    const std::string key = ProducerKey(p.tp, op.producer);
    if (op.erased) {
      (void)b.Delete(key);
      bytes += key.size();
    } else {
      const std::string value = EncodeProducerValue(ProducerState{std::string(op.producer), op.watermark, op.last_seen});
      (void)b.Put(key, value);
      bytes += key.size() + value.size();
    }
  }
  const bool last = to == p.ops.size();
  if (last) {
    // Every producer key now reflects the deltas up to `through`.
    (void)b.DeleteRange(DeltaKey(p.tp, 0), DeltaKey(p.tp, p.through + 1));
  }
  {
    std::lock_guard wl(write_mu);
    if (!failed.ok()) return failed;
    {
      std::lock_guard bl(book_mu);
      if (books[p.tp].generation != p.generation) {
        pass.reset();
        return true;
      }
    }
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    EXACTLY_RETURN_IF_ERROR(FromRocks(db->Write(wo, &b), fmt::format("fold of {}", p.tp.ToString())));
    // The keys now hold these ops: their overlay entries (if not newer)
    // are redundant. Still under write_mu, see overlay.cc.
    std::lock_guard ol(overlay_mu);
    if (auto o = overlays.find(p.tp); o != overlays.end()) {
      for (std::size_t i = from; i < to; ++i) o->second->EraseIfFolded(p.ops[i].producer, p.through);
    }
  }
  *work += bytes + 64;
  p.pos = to;
  if (!last) return false;
  {
    std::lock_guard bl(book_mu);
    PartitionBook& book = books[p.tp];
    book.delta_bytes = book.delta_bytes > p.delta_bytes ? book.delta_bytes - p.delta_bytes : 0;
    book.delta_count = book.delta_count > p.delta_count ? book.delta_count - p.delta_count : 0;
  }
  pass.reset();
  return true;
}

}  // namespace exactly
