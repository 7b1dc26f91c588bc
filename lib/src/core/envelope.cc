// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/envelope.h"

#include <charconv>
#include <cstring>

namespace exactly {
namespace {

enum Slot : int { kSlotProducer, kSlotEpoch, kSlotSeq, kSlotChunk, kSlotSize, kSlotCrc, kSlotCount };

constexpr std::uint32_t Text32(const char (&t)[5]) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(t[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(t[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(t[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(t[3])) << 24;
}
constexpr std::uint64_t Text64(const char (&t)[9]) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(t[i]);
  return v;
}
inline std::uint32_t Load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian host assumed, as for the SWAR code below
}
inline std::uint64_t Load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Maps a header name to its envelope slot, or -1. Checked on every header
// of every record, so it compares whole words: the length picks the
// candidates, one or two loads (overlapping for odd lengths) decide.
[[gnu::always_inline]] inline int SlotOf(std::string_view name) noexcept {
  const std::size_t n = name.size();
  if (n < 6 || n > 11) return -1;
  const char* p = name.data();
  switch (n) {
    case 6: {  // eo.seq, eo.crc: bytes 0-3 and 2-5
      if ((Load32(p) & 0xFFFFFFu) != (Text32("eo.x") & 0xFFFFFFu)) return -1;
      const std::uint32_t tail = Load32(p + 2);
      if (tail == Text32(".seq")) return kSlotSeq;
      if (tail == Text32(".crc")) return kSlotCrc;
      return -1;
    }
    case 7:  // eo.size
      return Load32(p) == Text32("eo.s") && Load32(p + 3) == Text32("size") ? kSlotSize : -1;
    case 8: {  // eo.epoch, eo.chunk
      const std::uint64_t w = Load64(p);
      if (w == Text64("eo.epoch")) return kSlotEpoch;
      if (w == Text64("eo.chunk")) return kSlotChunk;
      return -1;
    }
    case 11:  // eo.producer
      return Load64(p) == Text64("eo.produ") && Load32(p + 7) == Text32("ucer") ? kSlotProducer : -1;
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
[[gnu::always_inline]] inline bool AnyOutsidePrintable(std::uint64_t x) noexcept {
  const std::uint64_t below = (x - kOnes * 0x21) & ~x & kHighs;
  const std::uint64_t above = ((x + kOnes * (127 - 0x7E)) | x) & kHighs;
  return (below | above) != 0;
}
// True if any byte of `x` is outside '0'-'9'.
[[gnu::always_inline]] inline bool AnyNonDigit(std::uint64_t x) noexcept {
  const std::uint64_t below = (x - kOnes * '0') & ~x & kHighs;
  const std::uint64_t above = ((x + kOnes * (127 - '9')) | x) & kHighs;
  return (below | above) != 0;
}
// The value of 8 ASCII digits (first digit in the lowest byte), combining
// neighbours pairwise: 8 digits -> 4 two-digit -> 2 four-digit -> 1.
[[gnu::always_inline]] inline std::uint64_t EightDigits(std::uint64_t x) noexcept {
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

namespace {
// The n (1-8) bytes at p as a word whose top n bytes hold them in order and
// whose low 8 - n bytes are '0': the value of that word's eight digits is
// the value of the n digits. Reads only [p, p + n), with at most three loads
// and no loop.
[[gnu::always_inline]] inline std::uint64_t DigitsRightAligned(const char* p, std::size_t n) noexcept {
  if (n == 8) return Word(p);
  std::uint64_t x;
  if (n >= 4) {
    // Two overlapping 4-byte loads; the overlap holds equal bytes.
    x = Load32(p) | static_cast<std::uint64_t>(Load32(p + n - 4)) << (8 * (n - 4));
  } else {
    const auto b = [p](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
    x = b(0) | b(n / 2) << (8 * (n / 2)) | b(n - 1) << (8 * (n - 1));
  }
  const unsigned pad = static_cast<unsigned>(8 * (8 - n));  // 8..56
  return (x << pad) | ((kOnes * '0') >> (64 - pad));
}

// The value of the n (0-8) digits at p, or false if one is not a digit.
// Up to three digits go one by one (fewer instructions than the word
// trick); four to eight take one word pass.
[[gnu::always_inline]] inline bool LeadingDigits(const char* p, std::size_t n, std::uint64_t* v) noexcept {
  if (n <= 3) {
    std::uint64_t r = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0');
      if (d > 9) return false;
      r = r * 10 + d;
    }
    *v = r;
    return true;
  }
  const std::uint64_t w = DigitsRightAligned(p, n);
  if (AnyNonDigit(w)) return false;
  *v = EightDigits(w);
  return true;
}

[[gnu::always_inline]] inline std::optional<std::uint64_t> ParseDecimalInline(std::string_view s) noexcept {
  const std::size_t n = s.size();
  if (n == 0 || n > 20 || (s[0] == '0' && n > 1)) return std::nullopt;
  const char* p = s.data();
  std::uint64_t v;
  if (n <= 8) {
    if (!LeadingDigits(p, n, &v)) return std::nullopt;
    return v;
  }
  if (n <= 16) {
    const std::uint64_t lo = Word(p + n - 8);
    if (!LeadingDigits(p, n - 8, &v) || AnyNonDigit(lo)) return std::nullopt;
    return v * 100000000ull + EightDigits(lo);
  }
  if (n == 20) {
    // Only a 20-digit value can overflow: check it digit by digit.
    v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0');
      if (d > 9 || __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v)) return std::nullopt;
    }
    return v;
  }
  // 17-19 digits: at most 10^19 - 1, no overflow.
  const std::uint64_t mid = Word(p + n - 16);
  const std::uint64_t lo = Word(p + n - 8);
  if (!LeadingDigits(p, n - 16, &v) || AnyNonDigit(mid) || AnyNonDigit(lo)) return std::nullopt;
  return (v * 100000000ull + EightDigits(mid)) * 100000000ull + EightDigits(lo);
}

[[gnu::always_inline]] inline bool ValidProducerIdInline(std::string_view id) noexcept {
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

}  // namespace

std::optional<std::uint64_t> ParseDecimal(std::string_view s) noexcept { return ParseDecimalInline(s); }
bool ValidProducerId(std::string_view id) noexcept { return ValidProducerIdInline(id); }

bool IsEnvelopeHeader(std::string_view name) noexcept { return SlotOf(name) >= 0; }

namespace {
// kCheckProducer false: a stamped result's producer id bytes are not
// checked (the caller checks them unless it finds the id among ids it
// already checked); any malformed result still reports kBadProducer when
// the id is bad, as the reasons' order requires.
template <bool kCheckProducer>
[[gnu::always_inline]] inline Envelope ClassifyImpl(std::span<const HeaderView> headers,
                                                    const EnvelopeLimits& limits) noexcept {
  // Every exit returns `e` itself, so it is built in the caller's slot.
  Envelope e;
  const HeaderView* slot[kSlotCount] = {};
  const auto malformed = [&](MalformedReason r) {  // e, and slot when !kCheckProducer
    if constexpr (!kCheckProducer) {
      // Only reached for reasons found after the producer checks (a repeat
      // is found first and wins; a missing or null producer is caught before).
      if (r != MalformedReason::kRepeatedHeader && r != MalformedReason::kMissingProducer &&
          r != MalformedReason::kBadProducer && !ValidProducerIdInline(*slot[kSlotProducer]->value)) {
        r = MalformedReason::kBadProducer;
        e = Envelope{};  // as Classify() leaves it: nothing parsed past the id
      }
    }
    e.kind = EnvelopeKind::kMalformed;
    e.reason = r;
  };
  for (const HeaderView& h : headers) {
    const int s = SlotOf(h.name);
    if (s < 0) continue;
    // A repeat is malformed whatever else is wrong, so it wins.
    if (slot[s]) {
      malformed(MalformedReason::kRepeatedHeader);
      return e;
    }
    slot[s] = &h;
  }
  if (!(slot[kSlotProducer] || slot[kSlotEpoch] || slot[kSlotSeq] || slot[kSlotChunk] || slot[kSlotSize] ||
        slot[kSlotCrc]))
    return e;

  std::optional<std::uint64_t> epoch, seq;
  if (!slot[kSlotProducer]) {
    malformed(MalformedReason::kMissingProducer);
  } else if (!slot[kSlotProducer]->value ||
             (kCheckProducer ? !ValidProducerIdInline(*slot[kSlotProducer]->value)
                             : slot[kSlotProducer]->value->empty() || slot[kSlotProducer]->value->size() > 255)) {
    malformed(MalformedReason::kBadProducer);
  } else if (!slot[kSlotEpoch]) {
    malformed(MalformedReason::kMissingEpoch);
  } else if (!slot[kSlotEpoch]->value || !(epoch = ParseDecimalInline(*slot[kSlotEpoch]->value))) {
    malformed(MalformedReason::kBadEpoch);
  } else if (!slot[kSlotSeq]) {
    malformed(MalformedReason::kMissingSeq);
  } else if (!slot[kSlotSeq]->value || !(seq = ParseDecimalInline(*slot[kSlotSeq]->value))) {
    malformed(MalformedReason::kBadSeq);
  }
  if (e.kind == EnvelopeKind::kMalformed) return e;

  e.kind = EnvelopeKind::kStamped;
  e.producer = *slot[kSlotProducer]->value;
  e.stamp = EpochSeq{Epoch(*epoch), Sequence(*seq)};
  if (!(slot[kSlotChunk] || slot[kSlotSize] || slot[kSlotCrc])) return e;
  if (slot[kSlotChunk]) {
    const auto chunk =
        slot[kSlotChunk]->value ? ParseChunk(*slot[kSlotChunk]->value, limits.max_chunks) : std::nullopt;
    if (!chunk) {
      malformed(MalformedReason::kBadChunk);
    } else if (!slot[kSlotSize]) {
      malformed(MalformedReason::kChunkWithoutSize);
    } else if (!slot[kSlotCrc]) {
      malformed(MalformedReason::kChunkWithoutCrc);
    } else {
      e.chunk = *chunk;
    }
  }
  if (e.kind != EnvelopeKind::kMalformed && slot[kSlotSize]) {
    const auto size = slot[kSlotSize]->value ? ParseDecimalInline(*slot[kSlotSize]->value) : std::nullopt;
    if (!size || *size > limits.max_message_bytes) {
      malformed(MalformedReason::kBadSize);
    } else {
      e.size = *size;
    }
  }
  if (e.kind != EnvelopeKind::kMalformed && slot[kSlotCrc]) {
    const auto crc = slot[kSlotCrc]->value ? ParseCrc(*slot[kSlotCrc]->value) : std::nullopt;
    if (!crc) {
      malformed(MalformedReason::kBadCrc);
    } else {
      e.crc = *crc;
    }
  }
  return e;
}
}  // namespace

Envelope Classify(std::span<const HeaderView> headers, const EnvelopeLimits& limits) noexcept {
  return ClassifyImpl<true>(headers, limits);
}

Envelope ClassifyTrustingProducer(std::span<const HeaderView> headers, const EnvelopeLimits& limits) noexcept {
  return ClassifyImpl<false>(headers, limits);
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
