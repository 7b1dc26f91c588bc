// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// On-disk format 1 (folded watermarks in producer-range segments): the
// upgrade to format 2 (one key per producer). Tests write format-1
// directories with state/testing/store_format1.h.
#include <fmt/format.h>

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
}  // namespace exactly
