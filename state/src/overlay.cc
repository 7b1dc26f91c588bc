// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// FetchProducer: one producer's committed state without loading its
// partition.
//
// A producer's state is its last op among the partition's pending deltas
// if it has one, else its producer key (absent: never recorded, or erased
// and folded). The overlay indexes the pending deltas by producer so that
// a fetch is a hash lookup, else one point read.
//
// Why an overlay and the keys always agree with the last commit: every
// change to them happens under write_mu, in this order:
// - BuildOverlayLocked reads all pending deltas of the partition while no
//   write can happen;
// - Commit writes its delta, then records its ops in the overlay;
// - a fold step writes producer keys (the last op of each producer among
//   deltas <= D), then drops the overlay entries taken from deltas <= D:
//   such an entry equals the key just written, and an entry from a later
//   delta is newer than it and stays;
// - Replace/RemovePartition delete every delta, then empty the overlay.
// A fetch reads the overlay, then (on a miss) the key; it returns a state
// the producer had at some instant during the call.
#include <algorithm>

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

namespace state {

namespace {

// Heap bytes of one entry: the node (key, value, next pointer, cached
// hash), its bucket slot, and the key's own buffer when it does not fit
// the small-string buffer.
std::size_t EntryBytes(std::string_view producer) {
  constexpr std::size_t kNode = sizeof(std::pair<const std::string, OverlayEntry>) + 2 * sizeof(void*);
  constexpr std::size_t kSmall = 15;
  return kNode + sizeof(void*) + (producer.size() > kSmall ? producer.size() + 1 : 0);
}

}  // namespace

void Overlay::Set(std::string_view producer, const OverlayEntry& e) {
  auto it = entries.find(producer);
  if (it != entries.end()) {
    it->second = e;
    return;
  }
  entries.emplace(std::string(producer), e);
  bytes += EntryBytes(producer);
}

void Overlay::EraseIfFolded(std::string_view producer, std::uint64_t through) {
  auto it = entries.find(producer);
  if (it == entries.end() || it->second.checkpoint > through) return;
  entries.erase(it);
  bytes -= std::min(bytes, EntryBytes(producer));
}

}  // namespace state

namespace {

OverlayEntry EntryOf(const DeltaOp& op, std::uint64_t checkpoint) {
  return OverlayEntry{checkpoint, op.erased, op.watermark, op.last_seen};
}

}  // namespace

Status CheckpointStore::Impl::BuildOverlayLocked(const TopicPartition& tp) const {
  auto overlay = std::make_unique<Overlay>();
  const std::string dprefix = WatermarkTagPrefix(tp, kDeltaTag);
  std::uint64_t bytes = 0;
  std::uint64_t count = 0;
  std::vector<DeltaOp> ops;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(dprefix); it->Valid() && StartsWith(it->key(), dprefix); it->Next()) {
    std::string_view rest = View(it->key()).substr(dprefix.size());
    std::uint64_t ck = 0;
    if (!ConsumeBigEndian64(&rest, &ck) || !rest.empty()) {
      return Status::Corruption(fmt::format("checkpoint of {}: malformed watermark delta key", tp.ToString()));
    }
    ops.clear();
    Status st = DecodeDelta(View(it->value()), &ops);
    if (!st.ok()) return st.WithContext(fmt::format("checkpoint of {}", tp.ToString()));
    for (const DeltaOp& op : ops) overlay->Set(op.producer, EntryOf(op, ck));
    bytes += it->value().size();
    ++count;
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("reading the pending watermarks of {}", tp.ToString())));
  {
    // What is stored now is exact: let the folder see it (a partition this
    // process never committed to is otherwise unknown to it).
    std::lock_guard bl(book_mu);
    PartitionBook& book = books[tp];
    book.delta_bytes = bytes;
    book.delta_count = count;
  }
  std::lock_guard ol(overlay_mu);
  overlays[tp] = std::move(overlay);
  return Status::OK();
}

Status CheckpointStore::Impl::ApplyCommittedDelta(const TopicPartition& tp, std::uint64_t checkpoint,
                                                  std::string_view delta) {
  {
    std::lock_guard ol(overlay_mu);
    auto it = overlays.find(tp);
    if (it == overlays.end()) return Status::OK();
    if (delta.size() > options.fold_pending_bytes / 4) {
      // A large delta (a checkpoint of many producers, e.g. 100k new ones)
      // is usually folded soon after, by backpressure right in Commit:
      // indexing it entry by entry first only to drop the entries again
      // cost ~150 bytes per producer at the peak (15 MiB per 100k). Drop
      // the index instead; the next fetch rebuilds it from what is still
      // pending then (BuildOverlayLocked).
      overlays.erase(it);
      return Status::OK();
    }
  }
  // Decode outside overlay_mu so fetches wait only for the inserts. The
  // overlay cannot vanish meanwhile: only writers (under write_mu, held
  // by our caller) replace or drop it.
  std::vector<DeltaOp> ops;
  Status st = DecodeDelta(delta, &ops);
  std::lock_guard ol(overlay_mu);
  auto it = overlays.find(tp);
  if (it == overlays.end()) return Status::OK();
  if (!st.ok()) {
    // We encoded it ourselves, so this is a bug; do not serve a partial
    // index: drop it, the next fetch rebuilds it from the database.
    overlays.erase(it);
    return st;
  }
  for (const DeltaOp& op : ops) it->second->Set(op.producer, EntryOf(op, checkpoint));
  return Status::OK();
}

Result<std::optional<ProducerState>> CheckpointStore::Impl::FetchProducer(const TopicPartition& tp,
                                                                          std::string_view producer) const {
  if (info.format_version < 2) {
    return Status::NotSupported(fmt::format(
        "state directory {} is in format version {}: FetchProducer needs version {}; open it for writing once to "
        "upgrade it",
        dir, info.format_version, kStoreFormatVersion));
  }
  for (;;) {
    {
      std::lock_guard ol(overlay_mu);
      auto it = overlays.find(tp);
      if (it != overlays.end()) {
        auto e = it->second->entries.find(producer);
        if (e == it->second->entries.end()) break;
        if (e->second.erased) return std::optional<ProducerState>();
        return std::optional<ProducerState>(ProducerState{std::string(producer), e->second.watermark, e->second.last_seen});
      }
    }
    // First fetch in this partition: index its pending deltas, with
    // writes held off so that none is missed or applied twice.
    std::lock_guard wl(write_mu);
    {
      std::lock_guard ol(overlay_mu);
      if (overlays.count(tp)) continue;
    }
    EXACTLY_RETURN_IF_ERROR(BuildOverlayLocked(tp));
  }
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), ProducerKey(tp, producer), &v);
  if (s.IsNotFound()) return std::optional<ProducerState>();
  if (!s.ok()) return FromRocks(s, fmt::format("reading producer '{}' of {}", Printable(producer), tp.ToString()));
  ProducerState out;
  Status st = DecodeProducerValue(v, producer, &out);
  if (!st.ok()) {
    return Status::Corruption(
        fmt::format("checkpoint of {}: producer '{}': {}", tp.ToString(), Printable(producer), st.message()));
  }
  return std::optional<ProducerState>(std::move(out));
}

Result<std::optional<ProducerState>> CheckpointStore::FetchProducer(const TopicPartition& tp,
                                                                    std::string_view producer) const {
  return impl_->FetchProducer(tp, producer);
}

}  // namespace exactly
