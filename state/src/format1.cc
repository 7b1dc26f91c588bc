// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// On-disk format 1 (folded watermarks in producer-range segments): the
// upgrade to format 2 (one key per producer), and a writer of format-1
// directories for tests (store_format1.h).
#include <algorithm>

#include <fmt/format.h>

#include "exactly/store_format1.h"
#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

// One WriteBatch per partition rewrites its segments as producer keys and
// deletes them, so after a crash each partition is in one layout or the
// other (Load reads both); the version is recorded once every partition is
// done, so an interrupted upgrade resumes at the next writable open.
// Pending deltas stay: they replay over producer keys as over segments.
// Memory: one partition's producers (in the batch), once.
Status CheckpointStore::Impl::UpgradeFromFormat1() {
  const std::string wbegin(1, kWatermarkKind);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->Seek(wbegin);
  while (it->Valid() && StartsWith(it->key(), wbegin)) {
    TopicPartition tp;
    std::string_view rest;
    if (!ParsePartitionPrefix(View(it->key()), kWatermarkKind, &tp, &rest)) {
      return Status::Corruption(fmt::format("state directory {}: malformed watermark key '{}'", dir,
                                            Printable(View(it->key()))));
    }
    const std::string sprefix = WatermarkTagPrefix(tp, kSegmentTag);
    // Skip the partition's deltas (they sort before its segments).
    it->Seek(sprefix);
    rocksdb::WriteBatch b;
    std::size_t segments = 0;
    for (; it->Valid() && StartsWith(it->key(), sprefix); it->Next()) {
      std::uint64_t applied = 0;
      Status st = ForEachSegmentEntry(
          View(it->value()), &applied,
          [&](std::string_view producer, const std::optional<EpochSeq>& w, TimestampMs ts) {
            (void)b.Put(ProducerKey(tp, producer), EncodeProducerValue(ProducerState{std::string(producer), w, ts}));
          });
      if (!st.ok()) {
        return Status::Corruption(fmt::format("state directory {}: upgrading {}: {}", dir, tp.ToString(), st.message()));
      }
      ++segments;
    }
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("state directory {}: upgrading {}", dir, tp.ToString())));
    if (segments > 0) {
      (void)b.DeleteRange(sprefix, PrefixEnd(sprefix));
      EXACTLY_RETURN_IF_ERROR(
          FromRocks(db->Write(wo, &b), fmt::format("state directory {}: upgrading {}", dir, tp.ToString())));
    }
    // On to the next partition.
    it->Seek(PrefixEnd(PartitionPrefix(kWatermarkKind, tp)));
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("state directory {}: upgrading", dir)));
  EXACTLY_RETURN_IF_ERROR(FromRocks(db->Put(wo, MetaKey(kMetaFormatVersion), std::to_string(kStoreFormatVersion)),
                                    fmt::format("state directory {}: writing metadata", dir)));
  info.format_version = kStoreFormatVersion;
  return Status::OK();
}

namespace testing {

Status WriteFormat1Directory(const std::string& dir, const std::vector<Format1Partition>& parts,
                             std::uint64_t checkpoint, std::size_t max_segment_bytes) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  rocksdb::DB* raw = nullptr;
  EXACTLY_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(o, dir, &raw), "format-1 writer"));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteBatch b;
  (void)b.Put(MetaKey(kMetaFormatVersion), "1");
  (void)b.Put(MetaKey(kMetaStoreId), "0123456789abcdef0123456789abcdef");
  (void)b.Put(MetaKey(kMetaCreatedBy), "format-1");
  (void)b.Put(MetaKey(kMetaWrittenBy), "format-1");
  (void)b.Put(MetaKey(kMetaCheckpoint), std::to_string(checkpoint));
  for (const Format1Partition& part : parts) {
    if (part.pending.size() > checkpoint) return Status::InvalidArgument("format-1 writer: more deltas than checkpoints");
    const std::uint64_t folded_through = checkpoint - part.pending.size();
    (void)b.Put(OffsetKey(part.tp), EncodeOffsetRecord(OffsetRecord{part.next_offset, checkpoint, part.folded.max_timestamp}));
    // Segments as format 1's ReplacePartition cut them: pieces of about
    // half the split size, the first with the empty lower bound.
    std::vector<ProducerState> producers = part.folded.producers;
    std::sort(producers.begin(), producers.end(),
              [](const ProducerState& a, const ProducerState& c) { return a.producer < c.producer; });
    const std::size_t target = std::max<std::size_t>(max_segment_bytes / 2, 1);
    std::size_t begin = 0;
    do {
      std::size_t end = begin;
      std::size_t bytes = 0;
      while (end < producers.size() && (bytes < target || end == begin)) {
        bytes += producers[end].producer.size() + 24;
        ++end;
      }
      const std::string lower = begin == 0 ? std::string() : producers[begin].producer;
      (void)b.Put(SegmentKey(part.tp, lower),
                  EncodeSegment(folded_through, std::span(producers).subspan(begin, end - begin)));
      begin = end;
    } while (begin < producers.size());
    for (std::size_t d = 0; d < part.pending.size(); ++d) {
      std::string delta;
      StartDelta(&delta);
      for (const auto& [id, set] : part.pending[d]) {
        if (set) {
          AppendDeltaSet(&delta, *set);
        } else {
          AppendDeltaErase(&delta, id);
        }
      }
      (void)b.Put(DeltaKey(part.tp, folded_through + d + 1), delta);
    }
    for (const InProgressState& m : part.folded.in_progress) {
      (void)b.Put(ChunkHeaderKey(part.tp, m.header.producer, m.header.stamp), EncodeInProgressHeader(m.header));
      for (const ChunkState& c : m.chunks) {
        (void)b.Put(ChunkKey(part.tp, m.header.producer, m.header.stamp, c.index), EncodeChunk(c));
      }
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  EXACTLY_RETURN_IF_ERROR(FromRocks(db->Write(wo, &b), "format-1 writer"));
  return FromRocks(db->Close(), "format-1 writer");
}

}  // namespace testing
}  // namespace exactly
