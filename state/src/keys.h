// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The store's key layout. Every key starts with a one-byte kind, so each
// kind of state lives in its own key range; within a range keys sort by
// topic, then partition, then producer:
//
//   'm' name                                     metadata (text values)
//   'o' T P                                      next offset, checkpoint, max timestamp
//   'w' T P 'd' be64(checkpoint)                 watermark delta of one checkpoint
//   'w' T P 'p' S(producer)                      folded watermark of one producer
//   'w' T P 's' S(lower bound producer)          format 1 only: watermark segment (a producer range)
//   'c' T P S(producer) be64(epoch) be64(seq) 'h'           in-progress message header
//   'c' T P S(producer) be64(epoch) be64(seq) 'k' be32(i)   its chunk i
//   'a' S(app) user-key                          application state
//
// T and S(x) are order-preserving escaped strings (0x00 -> 0x00 0xFF,
// terminated by 0x00 0x01); P is the partition as big-endian with the sign
// bit flipped, so numeric order is byte order.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exactly/types.h"

namespace exactly::state {

inline constexpr char kMetaKind = 'm';
inline constexpr char kOffsetKind = 'o';
inline constexpr char kWatermarkKind = 'w';
inline constexpr char kChunkKind = 'c';
inline constexpr char kAppKind = 'a';

inline constexpr char kDeltaTag = 'd';
inline constexpr char kProducerTag = 'p';
inline constexpr char kSegmentTag = 's';
inline constexpr char kHeaderTag = 'h';
inline constexpr char kChunkTag = 'k';

// Metadata names.
inline constexpr std::string_view kMetaFormatVersion = "format_version";
inline constexpr std::string_view kMetaStoreId = "store_id";
inline constexpr std::string_view kMetaCreatedBy = "created_by";
inline constexpr std::string_view kMetaWrittenBy = "written_by";
inline constexpr std::string_view kMetaCheckpoint = "checkpoint";
// Wall-clock time of the last checkpoint (decimal ms since the Unix epoch).
// Optional: older directories lack it, and readers ignore unknown metadata.
inline constexpr std::string_view kMetaCheckpointTime = "checkpoint_time";

void AppendEscaped(std::string* out, std::string_view s);
// Consumes one escaped string from the front of *in.
bool ConsumeEscaped(std::string_view* in, std::string* out);
void AppendBigEndian32(std::string* out, std::uint32_t v);
void AppendBigEndian64(std::string* out, std::uint64_t v);
bool ConsumeBigEndian32(std::string_view* in, std::uint32_t* v);
bool ConsumeBigEndian64(std::string_view* in, std::uint64_t* v);

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string prefix);

std::string MetaKey(std::string_view name);

// kind T P
std::string PartitionPrefix(char kind, const TopicPartition& tp);
// Parses kind T P from the front of `key`; *rest gets what follows.
bool ParsePartitionPrefix(std::string_view key, char kind, TopicPartition* tp, std::string_view* rest);

inline std::string OffsetKey(const TopicPartition& tp) { return PartitionPrefix(kOffsetKind, tp); }
std::string DeltaKey(const TopicPartition& tp, std::uint64_t checkpoint);
std::string SegmentKey(const TopicPartition& tp, std::string_view lower_bound);
// kind T P tag: the range of one kind of watermark item.
std::string WatermarkTagPrefix(const TopicPartition& tp, char tag);
std::string ProducerKey(const TopicPartition& tp, std::string_view producer);
// 'c' T P S(producer): every in-progress message of the producer.
std::string ChunkProducerPrefix(const TopicPartition& tp, std::string_view producer);
std::string ChunkMessagePrefix(const TopicPartition& tp, std::string_view producer, EpochSeq stamp);
std::string ChunkHeaderKey(const TopicPartition& tp, std::string_view producer, EpochSeq stamp);
std::string ChunkKey(const TopicPartition& tp, std::string_view producer, EpochSeq stamp, std::uint32_t index);

std::string AppPrefix(std::string_view app);
inline std::string AppKey(std::string_view app, std::string_view key) {
  std::string k = AppPrefix(app);
  k.append(key);
  return k;
}

// Printable rendering of a producer or key for error messages.
std::string Printable(std::string_view bytes);

}  // namespace exactly::state
