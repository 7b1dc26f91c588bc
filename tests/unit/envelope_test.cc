// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Envelope v1 (DESIGN.md §2): unstamped, valid stamped, and every malformed
// case, one named test each.
#include "exactly/envelope.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "exactly/crc32c.h"

namespace exactly {
namespace {

// Owns the header strings and gives a HeaderView span over them.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string, std::optional<std::string>>> hs) {
    for (const auto& [n, v] : hs) Add(n, v);
  }
  Headers& Add(std::string name, std::optional<std::string> value) {
    owned_.push_back(OwnedHeader{std::move(name), std::move(value)});
    return *this;
  }
  // Replaces (all occurrences of) a header's value.
  Headers& Set(std::string_view name, std::optional<std::string> value) {
    for (auto& h : owned_) {
      if (h.name == name) h.value = value;
    }
    return *this;
  }
  Headers& Remove(std::string_view name) {
    std::erase_if(owned_, [&](const OwnedHeader& h) { return h.name == name; });
    return *this;
  }
  std::span<const HeaderView> view() const {
    views_.clear();
    for (const auto& h : owned_) {
      views_.push_back(HeaderView{h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
    }
    return views_;
  }
  Envelope Classify(const EnvelopeLimits& limits = {}) const { return exactly::Classify(view(), limits); }
  const std::vector<OwnedHeader>& owned() const { return owned_; }

 private:
  std::vector<OwnedHeader> owned_;
  mutable std::vector<HeaderView> views_;
};

Headers Stamp(std::string producer = "p", std::string epoch = "1", std::string seq = "2") {
  return Headers{{"eo.producer", producer}, {"eo.epoch", epoch}, {"eo.seq", seq}};
}

Headers Chunked(std::string chunk = "0/2", std::string size = "10", std::string crc = "0000abcd") {
  Headers h = Stamp();
  h.Add("eo.chunk", chunk).Add("eo.size", size).Add("eo.crc", crc);
  return h;
}

void ExpectMalformed(const Headers& h, MalformedReason reason, const EnvelopeLimits& limits = {}) {
  const Envelope e = h.Classify(limits);
  EXPECT_EQ(e.kind, EnvelopeKind::kMalformed);
  EXPECT_EQ(MalformedReasonName(e.reason), MalformedReasonName(reason));
}

void ExpectStamped(const Headers& h, const EnvelopeLimits& limits = {}) {
  const Envelope e = h.Classify(limits);
  EXPECT_EQ(e.kind, EnvelopeKind::kStamped) << "reason " << MalformedReasonName(e.reason);
  EXPECT_EQ(e.reason, MalformedReason::kNone);
}

// --- unstamped -------------------------------------------------------------

TEST(EnvelopeClassify, NoHeadersIsUnstamped) {
  const Envelope e = Headers{}.Classify();
  EXPECT_EQ(e.kind, EnvelopeKind::kUnstamped);
  EXPECT_EQ(e.reason, MalformedReason::kNone);
}

TEST(EnvelopeClassify, OtherAndUnknownEoHeadersAreIgnored) {
  const Headers h{{"content-type", "json"},
                  {"eo.trace", "abc"},
                  {"eo.", "x"},
                  {"eo.producerx", "p"},
                  {"eo.seq ", "1"},
                  {"xeo.seq", "1"},
                  {"EO.SEQ", "1"},
                  {"eo.unknown", std::nullopt},
                  {"", "empty name"}};
  EXPECT_EQ(h.Classify().kind, EnvelopeKind::kUnstamped);
}

TEST(EnvelopeClassify, UnknownEoHeadersDoNotDisturbAStamp) {
  Headers h = Stamp("prod", "3", "4");
  h.Add("eo.trace", "whatever").Add("eo.producer2", "not a producer id");
  const Envelope e = h.Classify();
  EXPECT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(e.producer, "prod");
}

// --- valid stamped -----------------------------------------------------------

TEST(EnvelopeClassify, ValidStampWithoutChunk) {
  Headers h{{"x", "1"}, {"eo.seq", "18446744073709551615"}, {"eo.producer", "relay/in/0"}, {"eo.epoch", "0"}};
  const Envelope e = h.Classify();
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(e.producer, "relay/in/0");
  EXPECT_EQ(e.stamp.epoch, Epoch(0));
  EXPECT_EQ(e.stamp.seq, Sequence(UINT64_MAX));
  EXPECT_FALSE(e.chunk.has_value());
  EXPECT_FALSE(e.size.has_value());
  EXPECT_FALSE(e.crc.has_value());
}

TEST(EnvelopeClassify, ProducerViewPointsIntoTheHeaders) {
  const Headers h = Stamp("abc");
  const std::span<const HeaderView> v = h.view();
  const Envelope e = Classify(v);
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(e.producer.data(), v[0].value->data());
}

TEST(EnvelopeClassify, ValidChunkedStamp) {
  const Envelope e = Chunked("3/7", "123", "DEADbeef").Classify();
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  ASSERT_TRUE(e.chunk.has_value());
  EXPECT_EQ(e.chunk->index, 3u);
  EXPECT_EQ(e.chunk->count, 7u);
  EXPECT_EQ(e.size, 123u);
  EXPECT_EQ(e.crc, 0xDEADBEEFu);
  EXPECT_EQ(e.stamp.epoch, Epoch(1));
  EXPECT_EQ(e.stamp.seq, Sequence(2));
}

TEST(EnvelopeClassify, CrcHexInEitherCase) {
  EXPECT_EQ(Chunked("0/1", "0", "abcdef01").Classify().crc, 0xABCDEF01u);
  EXPECT_EQ(Chunked("0/1", "0", "ABCDEF01").Classify().crc, 0xABCDEF01u);
  EXPECT_EQ(Chunked("0/1", "0", "aBcDeF01").Classify().crc, 0xABCDEF01u);
  EXPECT_EQ(Chunked("0/1", "0", "00000000").Classify().crc, 0u);
  EXPECT_EQ(Chunked("0/1", "0", "ffffffff").Classify().crc, 0xFFFFFFFFu);
}

TEST(EnvelopeClassify, SizeAndCrcOnUnchunkedRecordAreParsed) {
  Headers h = Stamp();
  h.Add("eo.size", "5").Add("eo.crc", "0a0b0c0d");
  const Envelope e = h.Classify();
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_FALSE(e.chunk.has_value());
  EXPECT_EQ(e.size, 5u);
  EXPECT_EQ(e.crc, 0x0A0B0C0Du);
  Headers size_only = Stamp();
  size_only.Add("eo.size", "0");
  EXPECT_EQ(size_only.Classify().size, 0u);
  Headers crc_only = Stamp();
  crc_only.Add("eo.crc", "00000001");
  EXPECT_EQ(crc_only.Classify().crc, 1u);
}

TEST(EnvelopeClassify, ChunkBoundsAtTheLimits) {
  ExpectStamped(Chunked("0/1"));
  ExpectStamped(Chunked("65535/65536"));
  ExpectStamped(Chunked("0/65536"));
  EnvelopeLimits small;
  small.max_chunks = 4;
  ExpectStamped(Chunked("3/4"), small);
  ExpectMalformed(Chunked("0/5"), MalformedReason::kBadChunk, small);
}

TEST(EnvelopeClassify, SizeAtTheLimit) {
  ExpectStamped(Chunked("0/2", "67108864"));
  EnvelopeLimits small;
  small.max_message_bytes = 10;
  ExpectStamped(Chunked("0/2", "10"), small);
  ExpectMalformed(Chunked("0/2", "11"), MalformedReason::kBadSize, small);
}

TEST(EnvelopeClassify, ProducerEdgeBytes) {
  ExpectStamped(Stamp(std::string(255, 'x')));
  ExpectStamped(Stamp("!"));
  ExpectStamped(Stamp("~"));
  std::string all;
  for (int c = 0x21; c <= 0x7E; ++c) all.push_back(static_cast<char>(c));
  ExpectStamped(Stamp(all));
}

// --- malformed: missing --------------------------------------------------------

TEST(EnvelopeMalformed, MissingProducer) {
  ExpectMalformed(Stamp().Remove("eo.producer"), MalformedReason::kMissingProducer);
  ExpectMalformed(Headers{{"eo.chunk", "0/1"}, {"eo.epoch", "0"}, {"eo.seq", "0"}, {"eo.size", "0"},
                          {"eo.crc", "00000000"}},
                  MalformedReason::kMissingProducer);
}

TEST(EnvelopeMalformed, MissingEpoch) { ExpectMalformed(Stamp().Remove("eo.epoch"), MalformedReason::kMissingEpoch); }

TEST(EnvelopeMalformed, MissingSeq) { ExpectMalformed(Stamp().Remove("eo.seq"), MalformedReason::kMissingSeq); }

TEST(EnvelopeMalformed, AnySingleEnvelopeHeaderMakesTheRecordStamped) {
  for (const char* name : {"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc"}) {
    SCOPED_TRACE(name);
    const Headers h{{name, "1"}};
    EXPECT_EQ(h.Classify().kind, EnvelopeKind::kMalformed);
  }
}

// --- malformed: bad producer ---------------------------------------------------

TEST(EnvelopeMalformed, BadProducerEmpty) { ExpectMalformed(Stamp(""), MalformedReason::kBadProducer); }

TEST(EnvelopeMalformed, BadProducer256Bytes) {
  ExpectMalformed(Stamp(std::string(256, 'x')), MalformedReason::kBadProducer);
}

TEST(EnvelopeMalformed, BadProducerSpace) { ExpectMalformed(Stamp("a b"), MalformedReason::kBadProducer); }

TEST(EnvelopeMalformed, BadProducerDel) { ExpectMalformed(Stamp("a\x7F"), MalformedReason::kBadProducer); }

TEST(EnvelopeMalformed, BadProducerControlAndNul) {
  ExpectMalformed(Stamp("a\tb"), MalformedReason::kBadProducer);
  ExpectMalformed(Stamp(std::string("a\0b", 3)), MalformedReason::kBadProducer);
}

TEST(EnvelopeMalformed, BadProducerNonAscii) {
  ExpectMalformed(Stamp("caf\xC3\xA9"), MalformedReason::kBadProducer);
  ExpectMalformed(Stamp("\x80"), MalformedReason::kBadProducer);
  ExpectMalformed(Stamp("\xFF"), MalformedReason::kBadProducer);
}

TEST(EnvelopeMalformed, BadProducerNull) {
  ExpectMalformed(Stamp().Set("eo.producer", std::nullopt), MalformedReason::kBadProducer);
}

// --- malformed: bad decimals -----------------------------------------------------

const std::vector<std::optional<std::string>>& BadDecimals() {
  static const std::vector<std::optional<std::string>> v = {
      "01",
      "00",
      "+1",
      "-1",
      "-0",
      "100000000000000000000",   // 21 digits
      "000000000000000000001",   // 21 digits, leading zeros
      "18446744073709551616",    // 2^64
      "99999999999999999999",    // 20 digits, overflows
      "",
      " 1",
      "1 ",
      "1 2",
      "1a",
      "0x1",
      "1.0",
      "1e3",
      "\xD9\xA1",                // ARABIC-INDIC DIGIT ONE
      std::nullopt,
  };
  return v;
}

TEST(EnvelopeMalformed, BadEpochDecimals) {
  for (const auto& d : BadDecimals()) {
    SCOPED_TRACE(d ? "'" + *d + "'" : "null");
    ExpectMalformed(Stamp().Set("eo.epoch", d), MalformedReason::kBadEpoch);
  }
}

TEST(EnvelopeMalformed, BadSeqDecimals) {
  for (const auto& d : BadDecimals()) {
    SCOPED_TRACE(d ? "'" + *d + "'" : "null");
    ExpectMalformed(Stamp().Set("eo.seq", d), MalformedReason::kBadSeq);
  }
}

TEST(EnvelopeMalformed, BadSizeDecimals) {
  for (const auto& d : BadDecimals()) {
    SCOPED_TRACE(d ? "'" + *d + "'" : "null");
    ExpectMalformed(Chunked().Set("eo.size", d), MalformedReason::kBadSize);
    Headers unchunked = Stamp();
    unchunked.Add("eo.size", d);
    ExpectMalformed(unchunked, MalformedReason::kBadSize);
  }
}

TEST(EnvelopeMalformed, BadSizeOverMaxMessageBytes) {
  ExpectMalformed(Chunked("0/2", "67108865"), MalformedReason::kBadSize);
  ExpectMalformed(Chunked("0/2", "18446744073709551615"), MalformedReason::kBadSize);
  Headers unchunked = Stamp();
  unchunked.Add("eo.size", "67108865");
  ExpectMalformed(unchunked, MalformedReason::kBadSize);
}

// --- malformed: repeated ----------------------------------------------------------

TEST(EnvelopeMalformed, RepeatedHeaderEachOfTheSix) {
  for (const char* name : {"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc"}) {
    SCOPED_TRACE(name);
    Headers h = Chunked("0/2", "10", "0000abcd");
    std::optional<std::string> value;
    for (const auto& o : h.owned()) {
      if (o.name == name) value = o.value;
    }
    h.Add(name, value);  // the identical value again
    ExpectMalformed(h, MalformedReason::kRepeatedHeader);
  }
}

TEST(EnvelopeMalformed, RepeatedHeaderWithDifferentValues) {
  Headers h = Stamp("p", "1", "2");
  h.Add("eo.seq", "3");
  ExpectMalformed(h, MalformedReason::kRepeatedHeader);
}

// --- malformed: chunk -------------------------------------------------------------

TEST(EnvelopeMalformed, BadChunkValues) {
  for (const char* c : {"2/2", "5/2", "0/0", "1/0", "0/65537", "0/4294967296", "1/", "/2", "/", "", "a/b", "1/2/3",
                        "01/2", "1/02", "00/2", "-1/2", "+1/2", " 0/2", "0/2 ", "0 /2", "0/ 2", "0\\2", "0-2", "1",
                        "0/18446744073709551616"}) {
    SCOPED_TRACE(std::string("'") + c + "'");
    ExpectMalformed(Chunked(c), MalformedReason::kBadChunk);
  }
}

TEST(EnvelopeMalformed, BadChunkNull) {
  ExpectMalformed(Chunked().Set("eo.chunk", std::nullopt), MalformedReason::kBadChunk);
}

TEST(EnvelopeMalformed, ChunkWithoutSize) {
  ExpectMalformed(Chunked().Remove("eo.size"), MalformedReason::kChunkWithoutSize);
}

TEST(EnvelopeMalformed, ChunkWithoutCrc) {
  ExpectMalformed(Chunked().Remove("eo.crc"), MalformedReason::kChunkWithoutCrc);
}

TEST(EnvelopeMalformed, ChunkWithoutSizeOrCrc) {
  const Envelope e = Chunked().Remove("eo.size").Remove("eo.crc").Classify();
  EXPECT_EQ(e.kind, EnvelopeKind::kMalformed);
  EXPECT_TRUE(e.reason == MalformedReason::kChunkWithoutSize || e.reason == MalformedReason::kChunkWithoutCrc)
      << MalformedReasonName(e.reason);
}

// --- malformed: crc ----------------------------------------------------------------

TEST(EnvelopeMalformed, BadCrcValues) {
  for (const char* c : {"1234567", "123456789", "1234567g", "0x123456", "0x12345678", "", " 1234567", "1234567 ",
                        "-1234567", "+1234567", "1234 678", "ABCDEFGH", "0000000\xC3"}) {
    SCOPED_TRACE(std::string("'") + c + "'");
    ExpectMalformed(Chunked("0/2", "10", c), MalformedReason::kBadCrc);
    Headers unchunked = Stamp();
    unchunked.Add("eo.crc", c);
    ExpectMalformed(unchunked, MalformedReason::kBadCrc);
  }
}

TEST(EnvelopeMalformed, BadCrcNull) {
  ExpectMalformed(Chunked().Set("eo.crc", std::nullopt), MalformedReason::kBadCrc);
}

// --- ParseDecimal / ValidProducerId -------------------------------------------------

// Every length from 1 to 20 digits (the word-at-a-time paths split at 8
// and 16), against a digit-by-digit reference; and one non-digit byte at
// every position is rejected.
TEST(ParseDecimal, AgreesWithDigitByDigitParsingAtEveryLength) {
  constexpr std::uint64_t kSeed = 0xdec1'3a1;
  std::mt19937_64 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  for (int iter = 0; iter < 4000; ++iter) {
    const std::size_t n = 1 + static_cast<std::size_t>(iter % 20);
    std::string s;
    s.push_back(static_cast<char>(n == 1 ? '0' + rng() % 10 : '1' + rng() % 9));
    while (s.size() < n) s.push_back(static_cast<char>('0' + rng() % 10));
    std::uint64_t expected = 0;
    bool overflow = false;
    for (char c : s) {
      overflow |= __builtin_mul_overflow(expected, 10u, &expected);
      overflow |= __builtin_add_overflow(expected, static_cast<unsigned>(c - '0'), &expected);
    }
    // A copy without slack after it, so reads past the end would be caught
    // by the sanitizers.
    const std::string exact(s);
    if (overflow) {
      EXPECT_EQ(ParseDecimal(exact), std::nullopt) << s;
    } else {
      ASSERT_EQ(ParseDecimal(exact), expected) << s;
    }
    std::string bad = s;
    const char junk[] = {'/', ':', ' ', 'a', '\0', '\x80'};
    bad[rng() % n] = junk[rng() % sizeof junk];
    EXPECT_EQ(ParseDecimal(bad), std::nullopt) << bad;
  }
}

// ClassifyTrustingProducer() differs from Classify() only on a stamped
// result whose producer id has a byte outside 0x21-0x7E (which the caller
// then checks): random header sets mixing good and bad values of every
// envelope header, absent, null and repeated headers.
TEST(EnvelopeClassifyTrustingProducer, AgreesWithClassifyExceptUncheckedIdBytes) {
  constexpr std::uint64_t kSeed = 0x7e57'1d5;
  std::mt19937_64 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  const std::vector<std::pair<std::string, std::vector<std::optional<std::string>>>> choices = {
      {"eo.producer", {"p", "producer-17", "a b", "x\x7F", "", std::string(256, 'q'), std::string(255, 'q'),
                       "\x80\x81", std::nullopt}},
      {"eo.epoch", {"1", "1000000000", "01", "x", "", std::nullopt}},
      {"eo.seq", {"0", "42", "-1", "18446744073709551616", std::nullopt}},
      {"eo.chunk", {"0/2", "2/2", "x", std::nullopt}},
      {"eo.size", {"10", "99999999999", std::nullopt}},
      {"eo.crc", {"0000abcd", "xyz", std::nullopt}},
  };
  int stamped_bad_bytes = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Headers h;
    if (rng() % 2) h.Add("traceparent", "00-ab");
    for (const auto& [name, values] : choices) {
      const int copies = static_cast<int>(rng() % 8 == 0 ? 2 : rng() % 4 == 0 ? 0 : 1);
      for (int c = 0; c < copies; ++c) h.Add(name, values[rng() % values.size()]);
    }
    const Envelope full = exactly::Classify(h.view());
    const Envelope trusting = ClassifyTrustingProducer(h.view());
    if (full.kind == EnvelopeKind::kMalformed && full.reason == MalformedReason::kBadProducer &&
        trusting.kind == EnvelopeKind::kStamped) {
      // Only the id bytes were left unchecked.
      ASSERT_FALSE(trusting.producer.empty());
      ASSERT_LE(trusting.producer.size(), 255u);
      ASSERT_FALSE(ValidProducerId(trusting.producer));
      ++stamped_bad_bytes;
      continue;
    }
    ASSERT_EQ(static_cast<int>(trusting.kind), static_cast<int>(full.kind)) << iter;
    ASSERT_EQ(MalformedReasonName(trusting.reason), MalformedReasonName(full.reason)) << iter;
    ASSERT_EQ(trusting.producer, full.producer);
    ASSERT_EQ(trusting.stamp, full.stamp);
    ASSERT_EQ(trusting.size, full.size);
    ASSERT_EQ(trusting.crc, full.crc);
    ASSERT_EQ(trusting.chunk.has_value(), full.chunk.has_value());
  }
  EXPECT_GT(stamped_bad_bytes, 0);  // the one difference was exercised
}

TEST(ParseDecimal, AcceptsTheDesignGrammar) {
  EXPECT_EQ(ParseDecimal("0"), 0u);
  EXPECT_EQ(ParseDecimal("1"), 1u);
  EXPECT_EQ(ParseDecimal("10"), 10u);
  EXPECT_EQ(ParseDecimal("4294967296"), 4294967296u);
  EXPECT_EQ(ParseDecimal("18446744073709551614"), UINT64_MAX - 1);
  EXPECT_EQ(ParseDecimal("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseDecimal("9999999999999999999"), 9999999999999999999u);
  EXPECT_EQ(ParseDecimal("10000000000000000000"), 10000000000000000000u);
}

TEST(ParseDecimal, RejectsEverythingElse) {
  for (const auto& d : BadDecimals()) {
    if (!d) continue;
    SCOPED_TRACE("'" + *d + "'");
    EXPECT_EQ(ParseDecimal(*d), std::nullopt);
  }
  EXPECT_EQ(ParseDecimal("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseDecimal("18446744073709551620"), std::nullopt);
  EXPECT_EQ(ParseDecimal("28446744073709551615"), std::nullopt);
  EXPECT_EQ(ParseDecimal(std::string_view("1\0", 2)), std::nullopt);
}

TEST(ParseDecimal, RoundTripsRandomValues) {
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t v = x >> (i % 64);
    EXPECT_EQ(ParseDecimal(std::to_string(v)), v);
  }
}

TEST(ValidProducerId, Bounds) {
  EXPECT_TRUE(ValidProducerId("p"));
  EXPECT_TRUE(ValidProducerId(std::string(255, '~')));
  EXPECT_FALSE(ValidProducerId(""));
  EXPECT_FALSE(ValidProducerId(std::string(256, 'a')));
  EXPECT_FALSE(ValidProducerId("a b"));
  EXPECT_FALSE(ValidProducerId("\x7F"));
  EXPECT_FALSE(ValidProducerId("\x20"));
  EXPECT_TRUE(ValidProducerId("\x21"));
  EXPECT_TRUE(ValidProducerId("\x7E"));
  EXPECT_FALSE(ValidProducerId("\xC3\xA9"));
}

// --- formatting -------------------------------------------------------------------------

TEST(FormatCrc, EightLowerCaseHexDigits) {
  EXPECT_EQ(FormatCrc(0), "00000000");
  EXPECT_EQ(FormatCrc(0xE3069283u), "e3069283");
  EXPECT_EQ(FormatCrc(0xABCDu), "0000abcd");
  EXPECT_EQ(FormatCrc(0xFFFFFFFFu), "ffffffff");
}

TEST(FormatStamp, UnchunkedRoundTripsThroughClassify) {
  StampSpec spec;
  spec.producer = "relay-1/orders/3";
  spec.stamp = EpochSeq{Epoch(UINT64_MAX), Sequence(0)};
  const StampHeaders sh = FormatStamp(spec);
  EXPECT_EQ(sh.producer, "relay-1/orders/3");
  EXPECT_EQ(sh.epoch, "18446744073709551615");
  EXPECT_EQ(sh.seq, "0");
  EXPECT_FALSE(sh.chunk.has_value());
  EXPECT_FALSE(sh.size.has_value());
  EXPECT_FALSE(sh.crc.has_value());
  std::vector<OwnedHeader> owned;
  sh.AppendTo(owned);
  ASSERT_EQ(owned.size(), 3u);
  EXPECT_EQ(owned[0].name, "eo.producer");
  EXPECT_EQ(owned[1].name, "eo.epoch");
  EXPECT_EQ(owned[2].name, "eo.seq");
  std::vector<HeaderView> views;
  for (const auto& h : owned) views.push_back(HeaderView{h.name, *h.value});
  const Envelope e = Classify(views);
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(e.producer, spec.producer);
  EXPECT_EQ(e.stamp, spec.stamp);
  EXPECT_FALSE(e.chunk.has_value());
}

TEST(FormatStamp, ChunkedRoundTripsThroughClassifyInDesignOrder) {
  for (std::uint32_t crc : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) {
    StampSpec spec;
    spec.producer = "p";
    spec.stamp = EpochSeq{Epoch(7), Sequence(12345678901234567890ull)};
    spec.chunk = ChunkInfo{65535, 65536};
    spec.size = 67108864;
    spec.crc = crc;
    const StampHeaders sh = FormatStamp(spec);
    EXPECT_EQ(sh.chunk, "65535/65536");
    EXPECT_EQ(sh.size, "67108864");
    EXPECT_EQ(sh.crc, FormatCrc(crc));
    std::vector<OwnedHeader> owned;
    sh.AppendTo(owned);
    std::vector<std::string> names;
    for (const auto& h : owned) names.push_back(h.name);
    EXPECT_EQ(names, (std::vector<std::string>{"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc"}));
    std::vector<HeaderView> views;
    for (const auto& h : owned) views.push_back(HeaderView{h.name, *h.value});
    const Envelope e = Classify(views);
    ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
    EXPECT_EQ(e.stamp, spec.stamp);
    ASSERT_TRUE(e.chunk.has_value());
    EXPECT_EQ(e.chunk->index, 65535u);
    EXPECT_EQ(e.chunk->count, 65536u);
    EXPECT_EQ(e.size, spec.size);
    EXPECT_EQ(e.crc, spec.crc);
  }
}

TEST(FormatStamp, SizeAndCrcOnSingleRecordRoundTrip) {
  StampSpec spec;
  spec.producer = "p";
  spec.stamp = EpochSeq{Epoch(0), Sequence(1)};
  spec.size = 9;
  spec.crc = crc32c::Value("123456789");
  const StampHeaders sh = FormatStamp(spec);
  EXPECT_FALSE(sh.chunk.has_value());
  EXPECT_EQ(sh.size, "9");
  EXPECT_EQ(sh.crc, "e3069283");
  std::vector<OwnedHeader> owned;
  sh.AppendTo(owned);
  std::vector<HeaderView> views;
  for (const auto& h : owned) views.push_back(HeaderView{h.name, *h.value});
  const Envelope e = Classify(views);
  ASSERT_EQ(e.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(e.size, 9u);
  EXPECT_EQ(e.crc, 0xE3069283u);
}

TEST(IsEnvelopeHeader, ExactlyTheSix) {
  for (const char* name : {"eo.producer", "eo.epoch", "eo.seq", "eo.chunk", "eo.size", "eo.crc"}) {
    EXPECT_TRUE(IsEnvelopeHeader(name)) << name;
  }
  for (const char* name : {"eo.trace", "eo.", "eo", "eo.producer ", "EO.SEQ", "producer", ""}) {
    EXPECT_FALSE(IsEnvelopeHeader(name)) << name;
  }
}

TEST(MalformedReasonName, DistinctAndNonEmpty) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kMalformedReasonCount; ++i) {
    const std::string_view n = MalformedReasonName(static_cast<MalformedReason>(i));
    EXPECT_FALSE(n.empty()) << i;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kMalformedReasonCount);
  EXPECT_EQ(static_cast<std::size_t>(MalformedReason::kChunkMismatch) + 1, kMalformedReasonCount);
}

}  // namespace
}  // namespace exactly
