// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Folding watermark deltas into producer-range segments.
//
// A checkpoint writes one delta value per partition (cheap: one put, no
// read). Left alone, deltas would pile up and make restores slow, so a
// fold pass merges them into the segments: it reads all deltas up to
// checkpoint D once, sorts them into an overlay, then walks the segments
// in producer order, rewriting (and splitting) only those the overlay
// touches, a bounded amount per step; the step that finishes the last
// segment also deletes the deltas up to D.
//
// Fold writes skip the WAL: each step leaves the stored state equal to what
// it was (segments + remaining deltas give the same producers), so losing
// unflushed steps in a crash only loses work. Memtables flush in order, so
// a durable delta deletion implies its segment rewrites are durable too.
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

namespace {

bool StartsWith(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

struct Piece {
  std::string first_producer;
  std::string value;
};

// Merges `ops` (sorted, one per producer) into the encoded segment `value`
// (empty: no segment yet) without materializing producer states. When the
// result may exceed `max_bytes`, it is cut into pieces of about half that,
// so the next few folds into a piece do not split it again.
Status MergeSegment(std::string_view value, std::span<const DeltaOp> ops, std::uint64_t through, std::size_t max_bytes,
                    std::vector<Piece>* pieces) {
  std::size_t estimate = value.size();
  for (const DeltaOp& op : ops) estimate += op.producer.size() + 24;
  const std::size_t target = estimate > max_bytes ? max_bytes / 2 : SIZE_MAX;
  SegmentEncoder enc;
  std::string first;
  auto cut = [&] {
    pieces->push_back(Piece{std::move(first), enc.Finish(through)});
    first.clear();
  };
  auto emit = [&](std::string_view producer, const std::optional<EpochSeq>& w, TimestampMs ts) {
    if (enc.bytes() >= target) cut();
    if (enc.count() == 0) first.assign(producer);
    enc.Add(producer, w, ts);
  };
  std::size_t i = 0;
  auto emit_op = [&](const DeltaOp& op) {
    if (!op.erased) emit(op.producer, op.watermark, op.last_seen);
  };
  if (!value.empty()) {
    std::uint64_t applied = 0;
    EXACTLY_RETURN_IF_ERROR(ForEachSegmentEntry(
        value, &applied, [&](std::string_view producer, const std::optional<EpochSeq>& w, TimestampMs ts) {
          while (i < ops.size() && ops[i].producer < producer) emit_op(ops[i++]);
          if (i < ops.size() && ops[i].producer == producer) {
            emit_op(ops[i++]);
          } else {
            emit(producer, w, ts);
          }
        }));
  }
  while (i < ops.size()) emit_op(ops[i++]);
  if (enc.count() > 0) cut();
  return Status::OK();
}

}  // namespace

double CheckpointStore::Impl::FoldThreshold(const PartitionBook& b) const {
  return std::max(static_cast<double>(options.fold_min_bytes), options.fold_ratio * static_cast<double>(b.segment_bytes));
}

bool CheckpointStore::Impl::NeedsFold(const PartitionBook& b) const {
  if (b.delta_count == 0) return false;
  return b.delta_count > options.fold_max_deltas || static_cast<double>(b.delta_bytes) >= FoldThreshold(b);
}

bool CheckpointStore::Impl::FoldBacklogged(const PartitionBook& b) const {
  if (options.fold_backlog_factor == 0 || b.delta_count == 0) return false;
  const double factor = static_cast<double>(options.fold_backlog_factor);
  return static_cast<double>(b.delta_count) > factor * static_cast<double>(options.fold_max_deltas) ||
         static_cast<double>(b.delta_bytes) > factor * FoldThreshold(b);
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
  if (!pass) {
    std::optional<TopicPartition> pick;
    {
      std::lock_guard bl(book_mu);
      std::uint64_t best = 0;
      for (const auto& [tp, book] : books) {
        if ((all ? book.delta_count > 0 : NeedsFold(book)) && (!pick || book.delta_bytes > best)) {
          pick = tp;
          best = book.delta_bytes;
        }
      }
    }
    if (!pick) return false;
    EXACTLY_RETURN_IF_ERROR(StartPass(*pick));
    if (!pass) return true;  // nothing was stored after all; look again
  }
  std::size_t work = 0;
  while (pass && work < budget) {
    auto r = FoldNextSegment(&work);
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
  std::uint64_t cap = 0;
  {
    // Read the generation before the data: a Replace landing in between
    // then makes this pass stale, which the write-time check catches.
    std::lock_guard bl(book_mu);
    const PartitionBook& book = books[tp];
    p.generation = book.generation;
    // A pass takes the oldest deltas up to about the size of the segments
    // (at least fold_min_bytes): memory stays proportional to the
    // partition even when commits outrun the folder.
    cap = std::max<std::uint64_t>({book.segment_bytes, options.fold_min_bytes, 1});
  }
  const std::string dprefix = PartitionPrefix(kWatermarkKind, tp) + kDeltaTag;
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
    Status st = DecodeDelta(d, &p.overlay);
    if (!st.ok()) return st.WithContext(fmt::format("fold of {}", tp.ToString()));
  }
  BuildOverlay(&p.overlay);
  pass = std::move(p);
  return Status::OK();
}

// Folds the overlay into the next segment. Returns true when the pass
// ended (done or abandoned).
Result<bool> CheckpointStore::Impl::FoldNextSegment(std::size_t* work) {
  FoldPass& p = *pass;
  const std::string sprefix = PartitionPrefix(kWatermarkKind, p.tp) + kSegmentTag;
  const std::string key = SegmentKey(p.tp, p.next_lower);

  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->Seek(key);
  bool exists = it->Valid() && View(it->key()) == key;
  if (!exists && !p.at_first) {
    // Our next segment vanished: something rewrote the partition. Give up;
    // a later pass starts over.
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("fold of {}", p.tp.ToString())));
    pass.reset();
    return true;
  }
  std::size_t old_bytes = 0;
  std::string segment_value;
  if (exists) {
    segment_value.assign(View(it->value()));
    old_bytes = segment_value.size();
    it->Next();
  }
  std::optional<std::string> upper;
  if (it->Valid() && StartsWith(it->key(), sprefix)) {
    std::string_view rest = View(it->key()).substr(sprefix.size());
    std::string u;
    if (!ConsumeEscaped(&rest, &u) || !rest.empty()) {
      return Status::Corruption(fmt::format("fold of {}: malformed watermark segment key", p.tp.ToString()));
    }
    upper = std::move(u);
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("fold of {}", p.tp.ToString())));
  it.reset();

  // The overlay ops that fall in [lower, upper).
  const std::size_t from = p.overlay_pos;
  std::size_t to = from;
  while (to < p.overlay.size() && (!upper || p.overlay[to].producer < *upper)) ++to;
  const bool last = !upper;

  rocksdb::WriteBatch b;
  std::size_t new_bytes = old_bytes;
  if (to > from) {
    std::vector<Piece> pieces;
    Status st = MergeSegment(exists ? std::string_view(segment_value) : std::string_view(),
                             std::span(p.overlay).subspan(from, to - from), p.through, options.max_segment_bytes,
                             &pieces);
    if (!st.ok()) return st.WithContext(fmt::format("fold of {}", p.tp.ToString()));
    new_bytes = 0;
    if (pieces.empty()) {
      // An empty range joins the previous segment; the first one stays.
      if (p.at_first) {
        std::string empty = SegmentEncoder().Finish(p.through);
        new_bytes = empty.size();
        (void)b.Put(key, empty);
      } else {
        (void)b.Delete(key);
      }
    }
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      new_bytes += pieces[i].value.size();
      (void)b.Put(i == 0 ? key : SegmentKey(p.tp, pieces[i].first_producer), pieces[i].value);
    }
  }
  if (last) {
    // Every segment now reflects the deltas up to `through`.
    (void)b.DeleteRange(DeltaKey(p.tp, 0), DeltaKey(p.tp, p.through + 1));
  }

  if (b.Count() > 0) {
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
  }
  *work += (to > from ? old_bytes + new_bytes : 0) + 64;
  p.segment_bytes += new_bytes;
  p.overlay_pos = to;
  if (last) {
    std::lock_guard bl(book_mu);
    PartitionBook& book = books[p.tp];
    book.delta_bytes = book.delta_bytes > p.delta_bytes ? book.delta_bytes - p.delta_bytes : 0;
    book.delta_count = book.delta_count > p.delta_count ? book.delta_count - p.delta_count : 0;
    book.segment_bytes = p.segment_bytes;
    book.stats_known = true;
    pass.reset();
    return true;
  }
  p.next_lower = std::move(*upper);
  p.at_first = false;
  return false;
}

}  // namespace exactly
