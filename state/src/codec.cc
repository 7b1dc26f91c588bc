// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "codec.h"

#include <fmt/format.h>

#include <algorithm>

#include "keys.h"

namespace exactly::state {

namespace {
constexpr std::uint8_t kFlagErased = 1;
constexpr std::uint8_t kFlagWatermark = 2;
constexpr char kDeltaType = 'D';
constexpr char kSegmentType = 'S';
// A producer id is at most 255 bytes on the wire; the store accepts more
// but bounds what a corrupt length can make it allocate.
constexpr std::uint64_t kMaxProducerBytes = 1 << 16;

bool GetByte(std::string_view* in, std::uint8_t* b) {
  if (in->empty()) return false;
  *b = static_cast<std::uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return true;
}

Status CheckHeader(std::string_view* in, char type, std::string_view what) {
  std::uint8_t version = 0;
  std::uint8_t t = 0;
  if (!GetByte(in, &version) || !GetByte(in, &t)) return Status::Corruption(fmt::format("{}: truncated header", what));
  if (version != kValueVersion) {
    return Status::Corruption(fmt::format("{}: unknown value version {}", what, version));
  }
  if (t != static_cast<std::uint8_t>(type)) return Status::Corruption(fmt::format("{}: wrong value type", what));
  return Status::OK();
}

void AppendStateFields(std::string* out, const ProducerState& p) {
  out->push_back(static_cast<char>(p.watermark ? kFlagWatermark : 0));
  if (p.watermark) {
    PutVarint(out, p.watermark->epoch.value());
    PutVarint(out, p.watermark->seq.value());
  }
  PutVarint(out, ZigZag(p.last_seen.value()));
}

// Parses flags and the fields after them. *erased is only allowed when
// allow_erase.
bool GetStateFields(std::string_view* in, bool allow_erase, bool* erased, std::optional<EpochSeq>* watermark,
                    TimestampMs* last_seen) {
  std::uint8_t flags = 0;
  if (!GetByte(in, &flags)) return false;
  *erased = false;
  watermark->reset();
  if (flags == kFlagErased && allow_erase) {
    *erased = true;
    return true;
  }
  if ((flags & ~kFlagWatermark) != 0) return false;
  if (flags & kFlagWatermark) {
    std::uint64_t e = 0;
    std::uint64_t s = 0;
    if (!GetVarint(in, &e) || !GetVarint(in, &s)) return false;
    *watermark = EpochSeq{Epoch(e), Sequence(s)};
  }
  std::uint64_t ts = 0;
  if (!GetVarint(in, &ts)) return false;
  *last_seen = TimestampMs(UnZigZag(ts));
  return true;
}
}  // namespace

void PutVarint(std::string* out, std::uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, std::uint64_t* v) {
  std::uint64_t r = 0;
  for (unsigned shift = 0, i = 0; i < in->size() && shift <= 63; shift += 7, ++i) {
    auto b = static_cast<std::uint8_t>((*in)[i]);
    if (shift == 63 && b > 1) return false;  // overflows 64 bits
    r |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *v = r;
      return true;
    }
  }
  return false;
}

std::string EncodeOffsetRecord(const OffsetRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(kValueVersion));
  PutVarint(&out, ZigZag(r.next_offset.value()));
  PutVarint(&out, r.checkpoint);
  PutVarint(&out, ZigZag(r.max_timestamp.value()));
  return out;
}

Status DecodeOffsetRecord(std::string_view in, OffsetRecord* out) {
  std::uint8_t version = 0;
  std::uint64_t off = 0;
  std::uint64_t ck = 0;
  std::uint64_t ts = 0;
  if (!GetByte(&in, &version)) return Status::Corruption("offset record: empty");
  if (version != kValueVersion) return Status::Corruption(fmt::format("offset record: unknown value version {}", version));
  if (!GetVarint(&in, &off) || !GetVarint(&in, &ck) || !GetVarint(&in, &ts) || !in.empty()) {
    return Status::Corruption("offset record: bad encoding");
  }
  out->next_offset = Offset(UnZigZag(off));
  out->checkpoint = ck;
  out->max_timestamp = TimestampMs(UnZigZag(ts));
  return Status::OK();
}

void StartDelta(std::string* out) {
  out->push_back(static_cast<char>(kValueVersion));
  out->push_back(kDeltaType);
}

void AppendDeltaSet(std::string* out, const ProducerState& p) {
  PutVarint(out, p.producer.size());
  out->append(p.producer);
  AppendStateFields(out, p);
}

void AppendDeltaErase(std::string* out, std::string_view producer) {
  PutVarint(out, producer.size());
  out->append(producer);
  out->push_back(static_cast<char>(kFlagErased));
}

Status DecodeDelta(std::string_view in, std::vector<DeltaOp>* ops) {
  EXACTLY_RETURN_IF_ERROR(CheckHeader(&in, kDeltaType, "watermark delta"));
  while (!in.empty()) {
    std::uint64_t len = 0;
    if (!GetVarint(&in, &len) || len > kMaxProducerBytes || len > in.size()) {
      return Status::Corruption(fmt::format("watermark delta: bad producer length after {} ops", ops->size()));
    }
    DeltaOp op;
    op.producer = in.substr(0, len);
    in.remove_prefix(len);
    if (!GetStateFields(&in, true, &op.erased, &op.watermark, &op.last_seen)) {
      return Status::Corruption(fmt::format("watermark delta: bad fields for producer '{}'", Printable(op.producer)));
    }
    ops->push_back(op);
  }
  return Status::OK();
}

void SegmentEncoder::Add(std::string_view producer, const std::optional<EpochSeq>& watermark, TimestampMs last_seen) {
  std::size_t shared = 0;
  const std::size_t limit = std::min(prev_.size(), producer.size());
  while (shared < limit && prev_[shared] == producer[shared]) ++shared;
  PutVarint(&body_, shared);
  PutVarint(&body_, producer.size() - shared);
  body_.append(producer.substr(shared));
  body_.push_back(static_cast<char>(watermark ? kFlagWatermark : 0));
  if (watermark) {
    PutVarint(&body_, watermark->epoch.value());
    PutVarint(&body_, watermark->seq.value());
  }
  PutVarint(&body_, ZigZag(last_seen.value()));
  prev_.assign(producer);
  ++count_;
}

std::string SegmentEncoder::Finish(std::uint64_t applied_through) {
  std::string out;
  out.reserve(body_.size() + 24);
  out.push_back(static_cast<char>(kValueVersion));
  out.push_back(kSegmentType);
  PutVarint(&out, applied_through);
  PutVarint(&out, count_);
  out.append(body_);
  body_.clear();
  prev_.clear();
  count_ = 0;
  return out;
}

std::string EncodeSegment(std::uint64_t applied_through, std::span<const ProducerState> producers) {
  SegmentEncoder enc;
  for (const ProducerState& p : producers) enc.Add(p.producer, p.watermark, p.last_seen);
  return enc.Finish(applied_through);
}

Status ForEachSegmentEntry(std::string_view in, std::uint64_t* applied_through,
                           FunctionRef<void(std::string_view, const std::optional<EpochSeq>&, TimestampMs)> fn) {
  EXACTLY_RETURN_IF_ERROR(CheckHeader(&in, kSegmentType, "watermark segment"));
  std::uint64_t count = 0;
  if (!GetVarint(&in, applied_through) || !GetVarint(&in, &count)) {
    return Status::Corruption("watermark segment: bad header");
  }
  // Each entry takes at least 4 bytes: a count beyond that is a lie.
  if (count > in.size() / 4 + 1) return Status::Corruption("watermark segment: count exceeds its bytes");
  std::string producer;
  std::string prev;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t shared = 0;
    std::uint64_t len = 0;
    if (!GetVarint(&in, &shared) || !GetVarint(&in, &len) || shared > prev.size() || len > kMaxProducerBytes ||
        len > in.size()) {
      return Status::Corruption(fmt::format("watermark segment: bad producer at entry {}", i));
    }
    producer.assign(prev, 0, shared);
    producer.append(in.substr(0, len));
    in.remove_prefix(len);
    bool erased = false;
    std::optional<EpochSeq> watermark;
    TimestampMs last_seen;
    if (!GetStateFields(&in, false, &erased, &watermark, &last_seen)) {
      return Status::Corruption(fmt::format("watermark segment: bad fields for producer '{}'", Printable(producer)));
    }
    if (i > 0 && !(prev < producer)) {
      return Status::Corruption(fmt::format("watermark segment: producers out of order at '{}'", Printable(producer)));
    }
    fn(producer, watermark, last_seen);
    prev.swap(producer);
  }
  if (!in.empty()) return Status::Corruption("watermark segment: trailing bytes");
  return Status::OK();
}

Status DecodeSegment(std::string_view bytes, std::uint64_t* applied_through, std::vector<ProducerState>* out) {
  return ForEachSegmentEntry(bytes, applied_through,
                             [out](std::string_view producer, const std::optional<EpochSeq>& w, TimestampMs ts) {
                               out->push_back(ProducerState{std::string(producer), w, ts});
                             });
}

}  // namespace exactly::state
