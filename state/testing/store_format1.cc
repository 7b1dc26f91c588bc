// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// A writer of format-1 state directories, for the upgrade tests. It knows
// the store's private key and value codecs, so it is built beside the state
// layer, but only with the tests, and is neither in the library nor
// installed.
#include "store_format1.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "codec.h"
#include "keys.h"
#include "store_impl.h"

namespace exactly {

using namespace state;  // NOLINT: writes the state layer's private format

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
