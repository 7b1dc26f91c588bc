// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Plain-data snapshots of the engine's state for one (topic, partition):
// the per-producer watermarks W and the in-progress chunked messages P
// (DESIGN.md §3). These are what checkpoints persist and what restores
// give back to the engine.
//
// Encoding: EncodePartitionState/DecodePartitionState give a versioned,
// self-describing byte string for a whole partition. The finer-grained
// Encode/Decode of one producer or one chunk serve stores that write only
// what changed. Every encoding ends in a CRC32C of the bytes before it, so
// damage is detected rather than decoded into different state. Decoders
// validate everything and return kCorruption (never crash, never allocate
// more than the input justifies) on bad bytes.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly {

// What the engine remembers of one producer in one partition.
struct ProducerState {
  std::string producer;
  std::optional<EpochSeq> watermark;  // W; none if nothing delivered yet
  TimestampMs last_seen;              // the partition's clock (largest record
                                      // timestamp) when it last sent (producer TTL)
  friend bool operator==(const ProducerState&, const ProducerState&) = default;
};

// The producer-TTL rule (DESIGN.md §3, engine.h): a producer last seen at
// `last_seen` on its partition's clock is expired, and so unknown, once
// the clock is more than `ttl_ms` past it. The one definition the engine
// and the store's TTL sweep share.
inline bool ProducerExpired(TimestampMs clock, TimestampMs last_seen, std::int64_t ttl_ms) {
  const std::int64_t now = clock.value();
  const std::int64_t then = last_seen.value();
  return now > then &&
         static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(then) > static_cast<std::uint64_t>(ttl_ms);
}

// One received chunk of an in-progress message.
struct ChunkState {
  std::uint32_t index = 0;
  Offset offset;
  TimestampMs timestamp;
  std::optional<std::string> value;  // null chunk = empty chunk
  friend bool operator==(const ChunkState&, const ChunkState&) = default;
};

// A chunk as the engine reports it to a ChangeVisitor: ChunkState with its
// bytes viewed instead of copied. Valid only while the viewed bytes are.
struct ChunkView {
  std::uint32_t index = 0;
  Offset offset;
  TimestampMs timestamp;
  NullableBytes value;  // null chunk = empty chunk
};
inline ChunkView ViewOf(const ChunkState& c) {
  return ChunkView{c.index, c.offset, c.timestamp,
                   c.value ? NullableBytes(std::string_view(*c.value)) : std::nullopt};
}
inline ChunkState OwnedChunk(const ChunkView& c) {
  return ChunkState{c.index, c.offset, c.timestamp,
                    c.value ? std::optional<std::string>(std::string(*c.value)) : std::nullopt};
}

// The identity and claims of an in-progress chunked message (P), without
// its chunks.
struct InProgressHeader {
  std::string producer;
  EpochSeq stamp;
  std::uint32_t count = 0;       // N
  std::uint64_t size = 0;        // eo.size
  std::uint32_t crc = 0;         // eo.crc
  Offset first_offset;           // offset of the first chunk received
  // Key and headers of chunk 0, known once chunk 0 has arrived.
  bool have_chunk0 = false;
  std::optional<std::string> key0;
  std::vector<OwnedHeader> headers0;
  friend bool operator==(const InProgressHeader&, const InProgressHeader&) = default;
};

struct InProgressState {
  InProgressHeader header;
  std::vector<ChunkState> chunks;  // ascending index
  friend bool operator==(const InProgressState&, const InProgressState&) = default;
};

struct PartitionState {
  std::vector<ProducerState> producers;   // any order
  std::vector<InProgressState> in_progress;
  TimestampMs max_timestamp;              // largest record timestamp seen
  // `producers` is not the whole set: the rest are in a ProducerSource
  // (the engine's producer cache evicted them, or a store loaded the
  // partition without them). Not part of the byte encoding below.
  bool producers_omitted = false;
  friend bool operator==(const PartitionState&, const PartitionState&) = default;
};

// Current version of every encoding below.
inline constexpr std::uint8_t kStateFormatVersion = 1;

std::string EncodePartitionState(const PartitionState& state);
Status DecodePartitionState(std::string_view bytes, PartitionState* out);

// Single items, for incremental stores. The producer id is not part of the
// producer value (stores keep it in the key).
std::string EncodeProducerValue(const ProducerState& p);
Status DecodeProducerValue(std::string_view bytes, std::string_view producer, ProducerState* out);
std::string EncodeInProgressHeader(const InProgressHeader& h);
Status DecodeInProgressHeader(std::string_view bytes, InProgressHeader* out);
std::string EncodeChunk(const ChunkState& c);
Status DecodeChunk(std::string_view bytes, ChunkState* out);

// EncodeChunk's bytes in three parts, so that a store can write a chunk
// without copying its value into an encoding first (a relay's checkpoints
// carry megabytes of in-progress chunks): head + value + trailer is
// exactly EncodeChunk's output. `value` views the chunk's bytes.
struct ChunkEncoding {
  std::string head;
  std::string_view value;
  std::array<char, 4> trailer{};
};
ChunkEncoding EncodeChunkParts(const ChunkView& c);

}  // namespace exactly
