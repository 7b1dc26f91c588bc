// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Reading checkpoints back: Load, ListPartitions, LoadOffset, Verify.
// Every read of one partition goes through one iterator, so it sees one
// consistent database state even while a fold or a commit runs.
#include <set>

#include <fmt/format.h>

#include "keys.h"
#include "store_impl.h"
#include "watermarks.h"

namespace exactly {

using namespace state;  // NOLINT: this file implements the state layer

namespace {

Status Bad(const TopicPartition& tp, std::string_view what) {
  return Status::Corruption(fmt::format("checkpoint of {}: {}", tp.ToString(), what));
}

// The partition's producers: its producer keys (or, in a format-1
// directory, its segments) with every pending delta replayed over them.
// Deltas (tag 'd', ascending checkpoint) sort before producer keys ('p',
// ascending producer) and segments ('s').
Status LoadProducers(rocksdb::Iterator* it, const TopicPartition& tp, std::vector<ProducerState>* producers) {
  const std::string wprefix = PartitionPrefix(kWatermarkKind, tp);
  std::vector<DeltaOp> ops;
  std::vector<std::string> deltas;  // owns the bytes `ops` views
  std::string producer;
  bool have_keys = false;
  Status st;
  for (it->Seek(wprefix); it->Valid() && StartsWith(it->key(), wprefix); it->Next()) {
    std::string_view rest = View(it->key()).substr(wprefix.size());
    const char tag = rest.empty() ? '\0' : rest[0];
    rest.remove_prefix(rest.empty() ? 0 : 1);
    if (tag == kDeltaTag) {
      std::uint64_t ck = 0;
      if (!ConsumeBigEndian64(&rest, &ck) || !rest.empty()) return Bad(tp, "malformed watermark delta key");
      deltas.emplace_back(View(it->value()));
    } else if (tag == kProducerTag) {
      if (!ConsumeEscaped(&rest, &producer) || !rest.empty()) return Bad(tp, "malformed producer key");
      have_keys = true;
      producers->emplace_back();
      st = DecodeProducerValue(View(it->value()), producer, &producers->back());
      if (!st.ok()) return Bad(tp, fmt::format("producer '{}': {}", Printable(producer), st.message()));
    } else if (tag == kSegmentTag) {
      std::string lower;
      if (!ConsumeEscaped(&rest, &lower) || !rest.empty()) return Bad(tp, "malformed watermark segment key");
      if (have_keys) return Bad(tp, "both producer keys and format-1 segments are stored");
      const std::size_t first = producers->size();
      std::uint64_t applied = 0;
      st = DecodeSegment(View(it->value()), &applied, producers);
      if (!st.ok()) return Bad(tp, fmt::format("{} (segment '{}')", st.message(), Printable(lower)));
      if (first < producers->size()) {
        const std::string& head = (*producers)[first].producer;
        if (head < lower || (first > 0 && !((*producers)[first - 1].producer < head))) {
          return Bad(tp, fmt::format("watermark segments overlap at producer '{}'", Printable(head)));
        }
      }
    } else {
      return Bad(tp, "unknown watermark item");
    }
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("loading {}", tp.ToString())));

  // Every stored delta is replayed over the folded state (see watermarks.h).
  for (const std::string& d : deltas) {
    st = DecodeDelta(d, &ops);
    if (!st.ok()) return Bad(tp, st.message());
  }
  BuildOverlay(&ops);
  ApplyOverlay(producers, ops);
  return Status::OK();
}

}  // namespace

Result<std::optional<OffsetRecord>> CheckpointStore::Impl::ReadOffset(const TopicPartition& tp) const {
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), OffsetKey(tp), &v);
  if (s.IsNotFound()) return std::optional<OffsetRecord>();
  if (!s.ok()) return FromRocks(s, fmt::format("reading the offset of {}", tp.ToString()));
  OffsetRecord r;
  Status st = DecodeOffsetRecord(v, &r);
  if (!st.ok()) return st.WithContext(fmt::format("checkpoint of {}", tp.ToString()));
  return std::optional<OffsetRecord>(r);
}

Result<TimestampMs> CheckpointStore::Impl::StoredMaxTimestamp(const TopicPartition& tp) {
  {
    std::lock_guard lk(book_mu);
    auto it = books.find(tp);
    if (it != books.end() && it->second.max_timestamp) return *it->second.max_timestamp;
  }
  auto r = ReadOffset(tp);
  if (!r.ok()) return r.status();
  // An unknown partition starts where the engine starts: below every time.
  const TimestampMs ts = *r ? (*r)->max_timestamp : TimestampMs(INT64_MIN);
  std::lock_guard lk(book_mu);
  auto& book = books[tp];
  if (!book.max_timestamp) book.max_timestamp = ts;
  return *book.max_timestamp;
}

Result<std::optional<LoadedPartition>> CheckpointStore::Impl::Load(const TopicPartition& tp,
                                                                   const LoadOptions& lo) const {
  // One iterator = one implicit snapshot for every read below.
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  const std::string okey = OffsetKey(tp);
  it->Seek(okey);
  if (!it->Valid() || View(it->key()) != okey) {
    EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("loading {}", tp.ToString())));
    return std::optional<LoadedPartition>();
  }
  OffsetRecord rec;
  Status st = DecodeOffsetRecord(View(it->value()), &rec);
  if (!st.ok()) return Bad(tp, st.message());

  LoadedPartition out;
  out.next_offset = rec.next_offset;
  out.checkpoint = rec.checkpoint;
  out.state.max_timestamp = rec.max_timestamp;

  if (lo.producers) EXACTLY_RETURN_IF_ERROR(LoadProducers(it.get(), tp, &out.state.producers));

  // In-progress messages: a header, then its chunks in index order.
  const std::string cprefix = PartitionPrefix(kChunkKind, tp);
  std::string producer;
  for (it->Seek(cprefix); it->Valid() && StartsWith(it->key(), cprefix); it->Next()) {
    std::string_view rest = View(it->key()).substr(cprefix.size());
    std::uint64_t e = 0;
    std::uint64_t s = 0;
    if (!ConsumeEscaped(&rest, &producer) || !ConsumeBigEndian64(&rest, &e) || !ConsumeBigEndian64(&rest, &s) ||
        rest.empty()) {
      return Bad(tp, "malformed in-progress key");
    }
    const EpochSeq stamp{Epoch(e), Sequence(s)};
    const char tag = rest[0];
    rest.remove_prefix(1);
    if (tag == kHeaderTag && rest.empty()) {
      InProgressState m;
      st = DecodeInProgressHeader(View(it->value()), &m.header);
      if (!st.ok()) return Bad(tp, fmt::format("in-progress header of '{}': {}", Printable(producer), st.message()));
      if (m.header.producer != producer || m.header.stamp != stamp) {
        return Bad(tp, fmt::format("in-progress header of '{}' does not match its key", Printable(producer)));
      }
      out.state.in_progress.push_back(std::move(m));
      continue;
    }
    std::uint32_t index = 0;
    if (tag != kChunkTag || !ConsumeBigEndian32(&rest, &index) || !rest.empty()) {
      return Bad(tp, "malformed in-progress key");
    }
    if (out.state.in_progress.empty() || out.state.in_progress.back().header.producer != producer ||
        out.state.in_progress.back().header.stamp != stamp) {
      return Bad(tp, fmt::format("chunk {} of '{}' has no message header", index, Printable(producer)));
    }
    ChunkState c;
    st = DecodeChunk(View(it->value()), &c);
    if (!st.ok()) return Bad(tp, fmt::format("chunk {} of '{}': {}", index, Printable(producer), st.message()));
    if (c.index != index) return Bad(tp, fmt::format("chunk {} of '{}' does not match its key", index, Printable(producer)));
    out.state.in_progress.back().chunks.push_back(std::move(c));
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("loading {}", tp.ToString())));
  for (const InProgressState& m : out.state.in_progress) {
    if (m.chunks.empty()) {
      return Bad(tp, fmt::format("in-progress message of '{}' has no chunks", Printable(m.header.producer)));
    }
  }

  {
    std::lock_guard lk(book_mu);
    books[tp].max_timestamp = rec.max_timestamp;
  }
  return std::optional<LoadedPartition>(std::move(out));
}

Result<std::optional<LoadedPartition>> CheckpointStore::Load(const TopicPartition& tp) const {
  return impl_->Load(tp, LoadOptions{});
}

Result<std::optional<LoadedPartition>> CheckpointStore::Load(const TopicPartition& tp, const LoadOptions& options) const {
  return impl_->Load(tp, options);
}

Result<std::optional<Offset>> CheckpointStore::LoadOffset(const TopicPartition& tp) const {
  auto r = impl_->ReadOffset(tp);
  if (!r.ok()) return r.status();
  if (!*r) return std::optional<Offset>();
  return std::optional<Offset>((*r)->next_offset);
}

Result<std::vector<TopicPartition>> CheckpointStore::ListPartitions() const {
  std::vector<TopicPartition> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kOffsetKind);
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    TopicPartition tp;
    std::string_view rest;
    if (!ParsePartitionPrefix(View(it->key()), kOffsetKind, &tp, &rest) || !rest.empty()) {
      return Status::Corruption(fmt::format("state directory {}: malformed offset key '{}'", impl_->dir,
                                            Printable(View(it->key()))));
    }
    out.push_back(std::move(tp));
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), "listing partitions"));
  return out;
}

Result<WatermarkLayout> CheckpointStore::DescribeWatermarks(const TopicPartition& tp) const {
  WatermarkLayout out;
  const std::string wprefix = PartitionPrefix(kWatermarkKind, tp);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(wprefix); it->Valid() && StartsWith(it->key(), wprefix); it->Next()) {
    const char tag = it->key().size() > wprefix.size() ? it->key()[wprefix.size()] : '\0';
    if (tag == kDeltaTag) {
      ++out.deltas;
      out.delta_bytes += it->value().size();
    } else if (tag == kProducerTag) {
      ++out.producer_keys;
      out.producer_bytes += it->key().size() + it->value().size();
    } else if (tag == kSegmentTag) {
      ++out.segments;
      out.segment_bytes += it->value().size();
    }
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("describing {}", tp.ToString())));
  std::lock_guard ol(impl_->overlay_mu);
  if (auto o = impl_->overlays.find(tp); o != impl_->overlays.end()) {
    out.overlay_producers = o->second->entries.size();
    out.overlay_bytes = o->second->bytes;
  }
  return out;
}

Status CheckpointStore::Verify() const {
  // Pass 1: every key has a known kind and parses; collect partitions.
  std::set<TopicPartition> with_offset;
  std::set<TopicPartition> with_state;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    TopicPartition tp;
    std::string_view rest;
    if (key.empty()) return Status::Corruption("empty key");
    switch (key[0]) {
      case kMetaKind:
        break;
      case kOffsetKind:
        if (!ParsePartitionPrefix(key, kOffsetKind, &tp, &rest) || !rest.empty()) {
          return Status::Corruption(fmt::format("malformed offset key '{}'", Printable(key)));
        }
        with_offset.insert(tp);
        break;
      case kWatermarkKind:
      case kChunkKind:
        if (!ParsePartitionPrefix(key, key[0], &tp, &rest)) {
          return Status::Corruption(fmt::format("malformed state key '{}'", Printable(key)));
        }
        with_state.insert(tp);
        break;
      case kAppKind: {
        std::string app;
        rest = key.substr(1);
        if (!ConsumeEscaped(&rest, &app)) return Status::Corruption(fmt::format("malformed app key '{}'", Printable(key)));
        break;
      }
      default:
        return Status::Corruption(fmt::format("unknown key '{}'", Printable(key)));
    }
  }
  EXACTLY_RETURN_IF_ERROR(FromRocks(it->status(), "verifying"));
  for (const TopicPartition& tp : with_state) {
    if (!with_offset.count(tp)) return Bad(tp, "state stored without an offset record");
  }
  // Pass 2: every partition decodes completely.
  for (const TopicPartition& tp : with_offset) {
    auto r = impl_->Load(tp, LoadOptions{});
    if (!r.ok()) return r.status();
  }
  return Status::OK();
}

}  // namespace exactly
