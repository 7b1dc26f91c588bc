// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Value encodings of the store (keys are in keys.h). All values start with
// a version byte (kValueVersion) so the format can evolve; decoders check
// every length and return kCorruption naming what is wrong.
//
//   offset record:  v | zigzag(next offset) | checkpoint | zigzag(max timestamp)
//   delta:          v 'D' | op*              (in the order reported; last op wins)
//       op:         len | producer | flags | [epoch | seq] | zigzag(last seen)
//                   flags: 1 = erased (nothing follows), 2 = has watermark
//   segment:        v 'S' | applied-through checkpoint | count | entry*   (format 1 only)
//       entry:      shared | len | suffix | flags | [epoch | seq] | zigzag(last seen)
//                   producers strictly ascending, prefix-compressed
//
// Folded producers (format 2) are stored one per key, valued with
// EncodeProducerValue (partition_state.h).
//
// Integers are LEB128 varints. Deltas are written on the checkpoint's hot
// path, so they are appended to as changes arrive, unsorted, with no
// per-producer allocation. Segments were format 1's folded watermarks; they
// are read to load and upgrade such directories (and written by the
// format-1 writer of tests).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/function_ref.h"
#include "exactly/partition_state.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::state {

inline constexpr std::uint8_t kValueVersion = 1;

void PutVarint(std::string* out, std::uint64_t v);
bool GetVarint(std::string_view* in, std::uint64_t* v);
inline std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

struct OffsetRecord {
  Offset next_offset;
  std::uint64_t checkpoint = 0;
  TimestampMs max_timestamp;
};
std::string EncodeOffsetRecord(const OffsetRecord& r);
Status DecodeOffsetRecord(std::string_view bytes, OffsetRecord* out);

// One watermark change; `producer` views the decoded bytes.
struct DeltaOp {
  std::string_view producer;
  bool erased = false;
  std::optional<EpochSeq> watermark;
  TimestampMs last_seen;
};

void StartDelta(std::string* out);
void AppendDeltaSet(std::string* out, const ProducerState& p);
void AppendDeltaErase(std::string* out, std::string_view producer);
// Appends the ops of `bytes` to *ops, in order.
Status DecodeDelta(std::string_view bytes, std::vector<DeltaOp>* ops);

// Builds a segment from entries added in strictly ascending producer
// order (not checked here; decoders check it).
class SegmentEncoder {
 public:
  void Add(std::string_view producer, const std::optional<EpochSeq>& watermark, TimestampMs last_seen);
  std::size_t count() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return body_.size(); }
  // The finished value; the encoder is empty again afterwards.
  std::string Finish(std::uint64_t applied_through);

 private:
  std::string body_;
  std::string prev_;
  std::size_t count_ = 0;
};

// `producers` must be sorted by producer, without duplicates.
std::string EncodeSegment(std::uint64_t applied_through, std::span<const ProducerState> producers);

// Calls `fn(producer, watermark, last_seen)` for each entry in order; the
// producer view is valid during the call only.
Status ForEachSegmentEntry(std::string_view bytes, std::uint64_t* applied_through,
                           FunctionRef<void(std::string_view, const std::optional<EpochSeq>&, TimestampMs)> fn);
// Appends the segment's producers to *out.
Status DecodeSegment(std::string_view bytes, std::uint64_t* applied_through, std::vector<ProducerState>* out);

}  // namespace exactly::state
