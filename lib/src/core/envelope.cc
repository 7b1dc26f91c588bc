// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/envelope.h"

#include <charconv>
#include <cstring>

namespace exactly {
namespace {

enum Slot : int { kSlotProducer, kSlotEpoch, kSlotSeq, kSlotChunk, kSlotSize, kSlotCrc, kSlotCount };

// Maps a header name to its envelope slot, or -1. Checked on every header
// of every record, so reject the common non-envelope case on the prefix.
int SlotOf(std::string_view name) noexcept {
  if (name.size() < 6 || name.size() > 11 || name[0] != 'e' || name[1] != 'o' || name[2] != '.') return -1;
  const std::string_view rest = name.substr(3);
  switch (rest.size()) {
    case 3:
      if (rest == "seq") return kSlotSeq;
      if (rest == "crc") return kSlotCrc;
      return -1;
    case 4:
      return rest == "size" ? kSlotSize : -1;
    case 5:
      if (rest == "epoch") return kSlotEpoch;
      if (rest == "chunk") return kSlotChunk;
      return -1;
    case 8:
      return rest == "producer" ? kSlotProducer : -1;
    default:
      return -1;
  }
}

int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::uint32_t> ParseCrc(std::string_view s) noexcept {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    const int d = HexDigit(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

std::optional<ChunkInfo> ParseChunk(std::string_view s, std::uint32_t max_chunks) noexcept {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto i = ParseDecimal(s.substr(0, slash));
  const auto n = ParseDecimal(s.substr(slash + 1));
  if (!i || !n) return std::nullopt;
  if (*n < 1 || *n > max_chunks || *i >= *n) return std::nullopt;
  return ChunkInfo{static_cast<std::uint32_t>(*i), static_cast<std::uint32_t>(*n)};
}


}  // namespace

std::string_view MalformedReasonName(MalformedReason r) noexcept {
  switch (r) {
    case MalformedReason::kNone: return "none";
    case MalformedReason::kMissingProducer: return "missing_producer";
    case MalformedReason::kBadProducer: return "bad_producer";
    case MalformedReason::kMissingEpoch: return "missing_epoch";
    case MalformedReason::kBadEpoch: return "bad_epoch";
    case MalformedReason::kMissingSeq: return "missing_seq";
    case MalformedReason::kBadSeq: return "bad_seq";
    case MalformedReason::kRepeatedHeader: return "repeated_header";
    case MalformedReason::kBadChunk: return "bad_chunk";
    case MalformedReason::kChunkWithoutSize: return "chunk_without_size";
    case MalformedReason::kChunkWithoutCrc: return "chunk_without_crc";
    case MalformedReason::kBadSize: return "bad_size";
    case MalformedReason::kBadCrc: return "bad_crc";
    case MalformedReason::kChunkMismatch: return "chunk_mismatch";
  }
  return "unknown";
}

namespace {
// SWAR range check: true if any byte of `x` is outside 0x21-0x7E. Uses the
// exact "has byte less than n" / "has byte greater than n" word tricks.
constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;
inline bool AnyOutsidePrintable(std::uint64_t x) noexcept {
  const std::uint64_t below = (x - kOnes * 0x21) & ~x & kHighs;
  const std::uint64_t above = ((x + kOnes * (127 - 0x7E)) | x) & kHighs;
  return (below | above) != 0;
}
// True if any byte of `x` is outside '0'-'9'.
inline bool AnyNonDigit(std::uint64_t x) noexcept {
  const std::uint64_t below = (x - kOnes * '0') & ~x & kHighs;
  const std::uint64_t above = ((x + kOnes * (127 - '9')) | x) & kHighs;
  return (below | above) != 0;
}
// The value of 8 ASCII digits (first digit in the lowest byte), combining
// neighbours pairwise: 8 digits -> 4 two-digit -> 2 four-digit -> 1.
inline std::uint64_t EightDigits(std::uint64_t x) noexcept {
  x -= kOnes * '0';
  x = (x * 10) + (x >> 8);
  x = (((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
  return x;
}
inline std::uint64_t Word(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace

std::optional<std::uint64_t> ParseDecimal(std::string_view s) noexcept {
  const std::size_t n = s.size();
  if (n == 0 || n > 20 || (s[0] == '0' && n > 1)) return std::nullopt;
  const char* p = s.data();
  std::uint64_t v = 0;
  if (n == 20) {
    // Only a 20-digit value can overflow: check it digit by digit.
    for (std::size_t i = 0; i < n; ++i) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0');
      if (d > 9 || __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v)) return std::nullopt;
    }
    return v;
  }
  std::size_t i = 0;
  for (; i < n % 8; ++i) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0');
    if (d > 9) return std::nullopt;
    v = v * 10 + d;
  }
  for (; i < n; i += 8) {
    const std::uint64_t w = Word(p + i);
    if (AnyNonDigit(w)) return std::nullopt;
    v = v * 100000000ull + EightDigits(w);
  }
  return v;
}

bool ValidProducerId(std::string_view id) noexcept {
  const std::size_t n = id.size();
  if (n == 0 || n > 255) return false;
  const char* p = id.data();
  if (n < 8) {
    for (char c : id)
      if (static_cast<unsigned char>(static_cast<unsigned char>(c) - 0x21) > 0x5D) return false;
    return true;
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8)
    if (AnyOutsidePrintable(Word(p + i))) return false;
  return !AnyOutsidePrintable(Word(p + n - 8));  // tail, overlapping
}

bool IsEnvelopeHeader(std::string_view name) noexcept { return SlotOf(name) >= 0; }

Envelope Classify(std::span<const HeaderView> headers, const EnvelopeLimits& limits) noexcept {
  Envelope e;  // the one object returned, so it is built in place
  const auto malformed = [&e](MalformedReason r) -> Envelope& {
    e.kind = EnvelopeKind::kMalformed;
    e.reason = r;
    return e;
  };
  std::string_view value[kSlotCount];
  unsigned present = 0;  // bit per slot
  unsigned null = 0;     // bit per slot whose value is null
  for (const HeaderView& h : headers) {
    const int s = SlotOf(h.name);
    if (s < 0) continue;
    const unsigned bit = 1u << s;
    // A repeat is malformed whatever else is wrong, so it wins.
    if (present & bit) return malformed(MalformedReason::kRepeatedHeader);
    present |= bit;
    if (h.value) {
      value[s] = *h.value;
    } else {
      null |= bit;
    }
  }
  if (present == 0) return e;
  const auto has = [&](int s) { return (present >> s) & 1u; };
  const auto text = [&](int s) -> std::optional<std::string_view> {
    if ((null >> s) & 1u) return std::nullopt;
    return value[s];
  };

  if (!has(kSlotProducer)) return malformed(MalformedReason::kMissingProducer);
  const auto producer = text(kSlotProducer);
  if (!producer || !ValidProducerId(*producer)) return malformed(MalformedReason::kBadProducer);
  if (!has(kSlotEpoch)) return malformed(MalformedReason::kMissingEpoch);
  const auto epoch_text = text(kSlotEpoch);
  const auto epoch = epoch_text ? ParseDecimal(*epoch_text) : std::nullopt;
  if (!epoch) return malformed(MalformedReason::kBadEpoch);
  if (!has(kSlotSeq)) return malformed(MalformedReason::kMissingSeq);
  const auto seq_text = text(kSlotSeq);
  const auto seq = seq_text ? ParseDecimal(*seq_text) : std::nullopt;
  if (!seq) return malformed(MalformedReason::kBadSeq);

  e.kind = EnvelopeKind::kStamped;
  e.producer = *producer;
  e.stamp = EpochSeq{Epoch(*epoch), Sequence(*seq)};
  if (has(kSlotChunk)) {
    const auto chunk_text = text(kSlotChunk);
    const auto chunk = chunk_text ? ParseChunk(*chunk_text, limits.max_chunks) : std::nullopt;
    if (!chunk) return malformed(MalformedReason::kBadChunk);
    if (!has(kSlotSize)) return malformed(MalformedReason::kChunkWithoutSize);
    if (!has(kSlotCrc)) return malformed(MalformedReason::kChunkWithoutCrc);
    e.chunk = *chunk;
  }
  if (has(kSlotSize)) {
    const auto size_text = text(kSlotSize);
    const auto size = size_text ? ParseDecimal(*size_text) : std::nullopt;
    if (!size || *size > limits.max_message_bytes) return malformed(MalformedReason::kBadSize);
    e.size = *size;
  }
  if (has(kSlotCrc)) {
    const auto crc_text = text(kSlotCrc);
    const auto crc = crc_text ? ParseCrc(*crc_text) : std::nullopt;
    if (!crc) return malformed(MalformedReason::kBadCrc);
    e.crc = *crc;
  }
  return e;
}

std::string FormatCrc(std::uint32_t crc) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = kHex[crc & 0xF];
    crc >>= 4;
  }
  return s;
}

namespace {
std::string Decimal(std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
}  // namespace

StampHeaders FormatStamp(const StampSpec& spec) {
  StampHeaders h;
  h.producer = std::string(spec.producer);
  h.epoch = Decimal(spec.stamp.epoch.value());
  h.seq = Decimal(spec.stamp.seq.value());
  if (spec.chunk) h.chunk = Decimal(spec.chunk->index) + "/" + Decimal(spec.chunk->count);
  if (spec.size) h.size = Decimal(*spec.size);
  if (spec.crc) h.crc = FormatCrc(*spec.crc);
  return h;
}

}  // namespace exactly
