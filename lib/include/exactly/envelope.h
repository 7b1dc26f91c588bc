// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Envelope v1 (DESIGN.md §2): the `eo.*` record headers that stamp a
// record with its producer, epoch and sequence, and describe chunks.
//
// Classify() reads a record's headers and says whether it is unstamped,
// validly stamped, or malformed (with the reason). It allocates nothing:
// the returned Envelope's producer view points into the headers.
// FormatStamp() writes the headers for a stamp, for producers and relays.
//
// Thread safety: pure functions; safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "exactly/record.h"
#include "exactly/types.h"

namespace exactly {

namespace header {
inline constexpr std::string_view kProducer = "eo.producer";
inline constexpr std::string_view kEpoch = "eo.epoch";
inline constexpr std::string_view kSeq = "eo.seq";
inline constexpr std::string_view kChunk = "eo.chunk";
inline constexpr std::string_view kSize = "eo.size";
inline constexpr std::string_view kCrc = "eo.crc";
}  // namespace header

struct EnvelopeLimits {
  std::uint32_t max_chunks = 65536;                 // N in `eo.chunk: I/N`
  std::uint64_t max_message_bytes = 64ull << 20;    // `eo.size`
};

// Why a stamped record is malformed. Stable: the names appear in counters,
// dead-letter headers and stats files.
enum class MalformedReason : std::uint8_t {
  kNone = 0,
  kMissingProducer,   // stamped but no eo.producer
  kBadProducer,       // empty, > 255 bytes, a byte outside 0x21-0x7E, or null
  kMissingEpoch,
  kBadEpoch,          // not a valid decimal (or null)
  kMissingSeq,
  kBadSeq,
  kRepeatedHeader,    // an eo.* header of the six appears twice
  kBadChunk,          // not `I/N` with 0 <= I < N, 1 <= N <= max-chunks
  kChunkWithoutSize,  // eo.chunk without eo.size
  kChunkWithoutCrc,   // eo.chunk without eo.crc
  kBadSize,           // not a decimal, or over max-message-bytes
  kBadCrc,            // not exactly 8 hex digits
  kChunkMismatch,     // rule 4: N, size or crc differ from the message in progress
};
inline constexpr std::size_t kMalformedReasonCount = 14;
std::string_view MalformedReasonName(MalformedReason r) noexcept;

enum class EnvelopeKind : std::uint8_t { kUnstamped, kStamped, kMalformed };

struct ChunkInfo {
  std::uint32_t index = 0;  // I
  std::uint32_t count = 1;  // N
};

struct Envelope {
  EnvelopeKind kind = EnvelopeKind::kUnstamped;
  MalformedReason reason = MalformedReason::kNone;
  std::string_view producer;  // points into the record's headers
  EpochSeq stamp;
  std::optional<ChunkInfo> chunk;
  std::optional<std::uint64_t> size;  // eo.size
  std::optional<std::uint32_t> crc;   // eo.crc
};

Envelope Classify(std::span<const HeaderView> headers, const EnvelopeLimits& limits = {}) noexcept;

// Classify() for a caller that keeps a set of producer ids it has already
// validated: a kStamped result's producer is only known to be 1-255 bytes,
// and the caller must check ValidProducerId() on any id not in its set
// (and treat a failure as kBadProducer). Every other result is Classify()'s.
Envelope ClassifyTrustingProducer(std::span<const HeaderView> headers, const EnvelopeLimits& limits = {}) noexcept;

// Parses a DESIGN.md §2 decimal: 1-20 digits, no sign, no leading zero
// unless the value is 0, at most 2^64-1.
std::optional<std::uint64_t> ParseDecimal(std::string_view s) noexcept;

// True for a valid producer id: 1-255 bytes, each 0x21-0x7E.
bool ValidProducerId(std::string_view id) noexcept;

// Header values for a stamp, owning. Chunk fields are set for chunked
// messages (and may be set on a single record to have its size and crc
// verified).
struct StampHeaders {
  std::string producer, epoch, seq;
  std::optional<std::string> chunk, size, crc;
  // Appends the headers, in the order of DESIGN.md §2, to `out`.
  template <class Vec>
  void AppendTo(Vec& out) const;
};

struct StampSpec {
  std::string_view producer;
  EpochSeq stamp;
  std::optional<ChunkInfo> chunk;
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> crc;
};
StampHeaders FormatStamp(const StampSpec& spec);

// `eo.crc` text: 8 lower-case hex digits.
std::string FormatCrc(std::uint32_t crc);

template <class Vec>
void StampHeaders::AppendTo(Vec& out) const {
  out.push_back({std::string(header::kProducer), producer});
  out.push_back({std::string(header::kEpoch), epoch});
  out.push_back({std::string(header::kSeq), seq});
  if (chunk) out.push_back({std::string(header::kChunk), *chunk});
  if (size) out.push_back({std::string(header::kSize), *size});
  if (crc) out.push_back({std::string(header::kCrc), *crc});
}

// True if `name` is one of the six envelope headers.
bool IsEnvelopeHeader(std::string_view name) noexcept;

}  // namespace exactly
