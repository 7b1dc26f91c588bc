// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The persisted encodings of partition_state.h: round trips of every field,
// the version byte, and hostile input (truncation at every length, bit
// flips, absurd counts) which must give kCorruption, never a crash or a
// huge allocation.
#include "exactly/partition_state.h"

#include "exactly/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace exactly {
namespace {

std::string Binary(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

PartitionState RichState() {
  PartitionState s;
  s.max_timestamp = TimestampMs(1'700'000'000'123);
  s.producers.push_back(ProducerState{"alpha", EpochSeq{Epoch(0), Sequence(0)}, TimestampMs(0)});
  s.producers.push_back(ProducerState{"beta", std::nullopt, TimestampMs(-1)});
  s.producers.push_back(ProducerState{std::string(255, '~'),
                                      EpochSeq{Epoch(UINT64_MAX), Sequence(UINT64_MAX)},
                                      TimestampMs(std::numeric_limits<std::int64_t>::max())});
  s.producers.push_back(ProducerState{"min-ts", EpochSeq{Epoch(1), Sequence(2)},
                                      TimestampMs(std::numeric_limits<std::int64_t>::min())});
  {
    InProgressState m;
    m.header.producer = "alpha";
    m.header.stamp = EpochSeq{Epoch(0), Sequence(1)};
    m.header.count = 4;
    m.header.size = 12345;
    m.header.crc = 0xFFFFFFFFu;
    m.header.first_offset = Offset(42);
    m.header.have_chunk0 = true;
    m.header.key0 = std::string("key\0zero", 8);
    m.header.headers0 = {OwnedHeader{"eo.producer", "alpha"}, OwnedHeader{"x-null", std::nullopt},
                         OwnedHeader{"x-empty", ""}, OwnedHeader{"", "empty name"},
                         OwnedHeader{"bin", Binary(40, 1)}};
    m.chunks.push_back(ChunkState{0, Offset(43), TimestampMs(5), std::string("a\0b", 3)});
    m.chunks.push_back(ChunkState{2, Offset(42), TimestampMs(-5), std::nullopt});
    m.chunks.push_back(ChunkState{3, Offset(std::numeric_limits<std::int64_t>::max()), TimestampMs(7), ""});
    s.in_progress.push_back(m);
  }
  {
    InProgressState m;
    m.header.producer = "beta";
    m.header.stamp = EpochSeq{Epoch(UINT64_MAX), Sequence(7)};
    m.header.count = UINT32_MAX;
    m.header.size = UINT64_MAX;
    m.header.crc = 0;
    m.header.first_offset = Offset(std::numeric_limits<std::int64_t>::min());
    m.header.have_chunk0 = false;
    m.header.key0 = std::nullopt;
    m.chunks.push_back(ChunkState{UINT32_MAX - 1, Offset(-1), TimestampMs(0), Binary(70000, 2)});
    s.in_progress.push_back(m);
  }
  {
    InProgressState m;  // chunk 0 arrived with a null key, and an empty key elsewhere
    m.header.producer = "gamma";
    m.header.stamp = EpochSeq{Epoch(3), Sequence(4)};
    m.header.count = 2;
    m.header.have_chunk0 = true;
    m.header.key0 = std::nullopt;
    m.chunks.push_back(ChunkState{0, Offset(1), TimestampMs(1), "x"});
    s.in_progress.push_back(m);
  }
  {
    InProgressState m;
    m.header.producer = "delta";
    m.header.stamp = EpochSeq{Epoch(3), Sequence(5)};
    m.header.count = 1;
    m.header.have_chunk0 = true;
    m.header.key0 = "";
    s.in_progress.push_back(m);
  }
  return s;
}

TEST(PartitionStateCodec, EmptyStateRoundTrips) {
  const PartitionState empty;
  const std::string bytes = EncodePartitionState(empty);
  PartitionState out = RichState();
  const Status st = DecodePartitionState(bytes, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, empty);
}

TEST(PartitionStateCodec, EveryFieldRoundTrips) {
  const PartitionState s = RichState();
  const std::string bytes = EncodePartitionState(s);
  PartitionState out;
  const Status st = DecodePartitionState(bytes, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, s);
  // Each field individually distinguishes (a change is not lost).
  EXPECT_EQ(out.in_progress[0].header.key0, std::string("key\0zero", 8));
  EXPECT_EQ(out.in_progress[0].chunks[1].value, std::nullopt);
  EXPECT_EQ(out.in_progress[0].chunks[2].value, std::optional<std::string>(""));
  EXPECT_EQ(out.in_progress[2].header.key0, std::nullopt);
  EXPECT_EQ(out.in_progress[3].header.key0, std::optional<std::string>(""));
  EXPECT_EQ(out.producers[1].watermark, std::nullopt);
  EXPECT_EQ(EncodePartitionState(out), bytes) << "the encoding is deterministic";
}

TEST(PartitionStateCodec, SeededRandomStatesRoundTrip) {
  std::mt19937_64 rng(4242);
  auto u64 = [&] {
    switch (rng() % 4) {
      case 0: return std::uint64_t{0};
      case 1: return UINT64_MAX;
      case 2: return rng() % 300;
      default: return static_cast<std::uint64_t>(rng());
    }
  };
  auto i64 = [&] { return static_cast<std::int64_t>(u64()); };
  auto opt_str = [&]() -> std::optional<std::string> {
    if (rng() % 4 == 0) return std::nullopt;
    return Binary(rng() % 20, rng());
  };
  for (int iter = 0; iter < 300; ++iter) {
    PartitionState s;
    s.max_timestamp = TimestampMs(i64());
    for (std::uint64_t i = 0, n = rng() % 5; i < n; ++i) {
      ProducerState p;
      p.producer = "p" + std::to_string(i);
      if (rng() % 3 != 0) p.watermark = EpochSeq{Epoch(u64()), Sequence(u64())};
      p.last_seen = TimestampMs(i64());
      s.producers.push_back(p);
    }
    for (std::uint64_t i = 0, n = rng() % 4; i < n; ++i) {
      InProgressState m;
      m.header.producer = "p" + std::to_string(i);
      m.header.stamp = EpochSeq{Epoch(u64()), Sequence(u64())};
      m.header.count = static_cast<std::uint32_t>(u64());
      m.header.size = u64();
      m.header.crc = static_cast<std::uint32_t>(rng());
      m.header.first_offset = Offset(i64());
      m.header.have_chunk0 = rng() % 2 == 0;
      m.header.key0 = opt_str();
      for (std::uint64_t k = 0, nh = rng() % 4; k < nh; ++k) {
        m.header.headers0.push_back(OwnedHeader{Binary(rng() % 6, rng()), opt_str()});
      }
      for (std::uint64_t k = 0, nc = rng() % 5; k < nc; ++k) {
        m.chunks.push_back(ChunkState{static_cast<std::uint32_t>(k * 3), Offset(i64()), TimestampMs(i64()), opt_str()});
      }
      s.in_progress.push_back(m);
    }
    PartitionState out;
    const Status st = DecodePartitionState(EncodePartitionState(s), &out);
    ASSERT_TRUE(st.ok()) << "iteration " << iter << ": " << st.ToString();
    ASSERT_EQ(out, s) << "iteration " << iter;
  }
}

TEST(PartitionStateCodec, SingleItemEncodingsRoundTrip) {
  const PartitionState s = RichState();
  for (const ProducerState& p : s.producers) {
    ProducerState out;
    const Status st = DecodeProducerValue(EncodeProducerValue(p), p.producer, &out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(out, p);
  }
  {
    // The producer id is not part of the value: it comes from the caller.
    ProducerState out;
    ASSERT_TRUE(DecodeProducerValue(EncodeProducerValue(s.producers[0]), "renamed", &out).ok());
    EXPECT_EQ(out.producer, "renamed");
    EXPECT_EQ(out.watermark, s.producers[0].watermark);
  }
  for (const InProgressState& m : s.in_progress) {
    InProgressHeader out;
    const Status st = DecodeInProgressHeader(EncodeInProgressHeader(m.header), &out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(out, m.header);
    for (const ChunkState& c : m.chunks) {
      ChunkState cout;
      const Status cst = DecodeChunk(EncodeChunk(c), &cout);
      ASSERT_TRUE(cst.ok()) << cst.ToString();
      EXPECT_EQ(cout, c);
    }
  }
}

// A store writes chunks from EncodeChunkParts without an encoded copy: the
// parts must be EncodeChunk's bytes exactly, for null, empty and large
// values, and the value part must view the chunk's own bytes.
TEST(PartitionStateCodec, ChunkPartsAreTheChunkEncoding) {
  std::vector<ChunkState> chunks = {
      ChunkState{0, Offset(0), TimestampMs(0), std::nullopt},
      ChunkState{1, Offset(5), TimestampMs(-3), std::string()},
      ChunkState{7, Offset(1ll << 40), TimestampMs(1'700'000'000'000), std::string("abc\0def", 7)},
      ChunkState{4'000'000'000u, Offset(9), TimestampMs(9), std::string(1 << 20, 'x')},
  };
  for (char& c : *chunks[3].value) c = static_cast<char>(&c - chunks[3].value->data());
  for (const ChunkState& c : chunks) {
    const ChunkView view = ViewOf(c);
    const ChunkEncoding e = EncodeChunkParts(view);
    const std::string joined = e.head + std::string(e.value) + std::string(e.trailer.data(), e.trailer.size());
    EXPECT_EQ(joined, EncodeChunk(c)) << "chunk " << c.index;
    if (c.value && !c.value->empty()) {
      EXPECT_EQ(e.value.data(), c.value->data()) << "chunk " << c.index;
    }
    ChunkState back;
    ASSERT_TRUE(DecodeChunk(joined, &back).ok()) << "chunk " << c.index;
    EXPECT_EQ(back, c);
    EXPECT_EQ(OwnedChunk(view), c);
  }
}

// --- version byte -----------------------------------------------------------

std::vector<std::string> AllEncodings() {
  const PartitionState s = RichState();
  return {EncodePartitionState(s), EncodeProducerValue(s.producers[2]), EncodeInProgressHeader(s.in_progress[0].header),
          EncodeChunk(s.in_progress[0].chunks[0])};
}

Status DecodeAny(std::size_t kind, std::string_view bytes) {
  switch (kind) {
    case 0: {
      PartitionState out;
      return DecodePartitionState(bytes, &out);
    }
    case 1: {
      ProducerState out;
      return DecodeProducerValue(bytes, "p", &out);
    }
    case 2: {
      InProgressHeader out;
      return DecodeInProgressHeader(bytes, &out);
    }
    default: {
      ChunkState out;
      return DecodeChunk(bytes, &out);
    }
  }
}

const char* const kKindNames[] = {"partition state", "producer value", "in-progress header", "chunk"};

TEST(PartitionStateCodec, EveryEncodingStartsWithTheVersionByte) {
  const std::vector<std::string> encodings = AllEncodings();
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    ASSERT_FALSE(encodings[k].empty());
    EXPECT_EQ(static_cast<std::uint8_t>(encodings[k][0]), kStateFormatVersion);
    EXPECT_TRUE(DecodeAny(k, encodings[k]).ok());
  }
}

TEST(PartitionStateCodec, NewerVersionIsRefusedAndVersionZeroIsCorrupt) {
  const std::vector<std::string> encodings = AllEncodings();
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    std::string newer = encodings[k];
    newer[0] = static_cast<char>(kStateFormatVersion + 1);
    const Status st = DecodeAny(k, newer);
    EXPECT_FALSE(st.ok());
    EXPECT_TRUE(st.code() == Code::kNotSupported || st.code() == Code::kCorruption) << st.ToString();
    EXPECT_FALSE(st.retryable());
    std::string ff = encodings[k];
    ff[0] = static_cast<char>(0xFF);
    EXPECT_FALSE(DecodeAny(k, ff).ok());
    std::string zero = encodings[k];
    zero[0] = 0;
    EXPECT_EQ(DecodeAny(k, zero).code(), Code::kCorruption);
  }
}

// --- hostile input -------------------------------------------------------------

TEST(PartitionStateCodec, EmptyInputIsCorrupt) {
  for (std::size_t k = 0; k < 4; ++k) {
    SCOPED_TRACE(kKindNames[k]);
    EXPECT_EQ(DecodeAny(k, "").code(), Code::kCorruption);
  }
}

TEST(PartitionStateCodec, TruncationAtEveryLengthIsCorrupt) {
  const std::vector<std::string> encodings = AllEncodings();
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    const std::string& full = encodings[k];
    for (std::size_t len = 0; len < full.size(); ++len) {
      const Status st = DecodeAny(k, std::string_view(full).substr(0, len));
      ASSERT_EQ(st.code(), Code::kCorruption) << "prefix of " << len << " of " << full.size() << " bytes";
    }
  }
}

TEST(PartitionStateCodec, TrailingBytesAreCorrupt) {
  const std::vector<std::string> encodings = AllEncodings();
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    EXPECT_EQ(DecodeAny(k, encodings[k] + '\0').code(), Code::kCorruption);
    EXPECT_EQ(DecodeAny(k, encodings[k] + "xyz").code(), Code::kCorruption);
  }
}

// Flips every bit (for the small encodings) or seeded random bits (for the
// whole partition state): decoding must never crash, and when it fails it
// says kCorruption (or kNotSupported for a version byte made newer).
TEST(PartitionStateCodec, BitFlipsNeverCrashAndFailAsCorruption) {
  const std::vector<std::string> encodings = AllEncodings();
  std::mt19937_64 rng(77);
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    const std::string& full = encodings[k];
    for (int iter = 0; iter < 20000; ++iter) {
      std::string bytes = full;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        // Bias towards the structural front of the encoding.
        const std::size_t pos = rng() % 2 == 0 ? rng() % std::min<std::size_t>(bytes.size(), 200) : rng() % bytes.size();
        bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << (rng() % 8)));
      }
      const Status st = DecodeAny(k, bytes);
      if (!st.ok()) {
        ASSERT_TRUE(st.code() == Code::kCorruption || st.code() == Code::kNotSupported)
            << "iteration " << iter << ": " << st.ToString();
      }
    }
  }
}

// The contract asked of the codec: a flipped bit anywhere is detected. This
// needs a checksum over the encoding.
TEST(PartitionStateCodec, EverySingleBitFlipIsDetected) {
  const std::vector<std::string> encodings = AllEncodings();
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    SCOPED_TRACE(kKindNames[k]);
    const std::string& full = encodings[k];
    std::size_t undetected = 0;
    std::size_t first_undetected = full.size();
    const std::size_t n = std::min<std::size_t>(full.size(), 4096);
    for (std::size_t pos = 0; pos < n; ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bytes = full;
        bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
        if (DecodeAny(k, bytes).ok()) {
          ++undetected;
          first_undetected = std::min(first_undetected, pos);
        }
      }
    }
    EXPECT_EQ(undetected, 0u) << "of " << n * 8 << " single-bit flips decoded as valid; first at byte "
                              << first_undetected;
  }
}

// Varint writer for hand-made hostile encodings.
void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// These follow the layout documented in partition_state.cc: version, 'P',
// max_timestamp, producer count, ..., message count, ...
// Every encoding ends in a CRC32C trailer. Tests that hand-craft damaged
// layouts strip it, edit the body, and seal the result again, so that the
// damage they mean to test is reached rather than caught by the checksum.
std::string Unsealed(const std::string& bytes) { return bytes.substr(0, bytes.size() - 4); }
std::string Sealed(std::string bytes) {
  const std::uint32_t crc = crc32c::Value(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return bytes;
}

TEST(PartitionStateCodec, AbsurdProducerCountIsRejectedNotReserved) {
  const std::string empty = Unsealed(EncodePartitionState(PartitionState{}));
  ASSERT_EQ(empty.size(), 5u) << "layout changed; update this test";
  std::string bytes = empty.substr(0, 3);
  PutVarint(bytes, std::uint64_t{1} << 40);
  bytes += std::string(3, '\0');
  ASSERT_LE(bytes.size(), 12u);
  PartitionState out;
  EXPECT_EQ(DecodePartitionState(Sealed(bytes), &out).code(), Code::kCorruption);
  std::string max = empty.substr(0, 3);
  PutVarint(max, UINT64_MAX);
  EXPECT_EQ(DecodePartitionState(Sealed(max), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, AbsurdMessageCountIsRejectedNotReserved) {
  const std::string empty = Unsealed(EncodePartitionState(PartitionState{}));
  ASSERT_EQ(empty.size(), 5u) << "layout changed; update this test";
  std::string bytes = empty.substr(0, 4);
  PutVarint(bytes, std::uint64_t{1} << 40);
  bytes += std::string(4, '\0');
  PartitionState out;
  EXPECT_EQ(DecodePartitionState(Sealed(bytes), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, AbsurdChunkCountIsRejectedNotReserved) {
  PartitionState s;
  InProgressState m;
  m.header.producer = "p";
  m.header.count = 2;
  s.in_progress.push_back(m);
  std::string bytes = Unsealed(EncodePartitionState(s));
  ASSERT_EQ(bytes.back(), '\0') << "layout changed: the chunk count is expected last";
  bytes.pop_back();
  PutVarint(bytes, std::uint64_t{1} << 40);
  bytes += std::string(2, '\x01');
  PartitionState out;
  EXPECT_EQ(DecodePartitionState(Sealed(bytes), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, AbsurdHeaderCountIsRejectedNotReserved) {
  InProgressHeader h;
  h.producer = "p";
  h.count = 2;
  std::string bytes = Unsealed(EncodeInProgressHeader(h));
  ASSERT_EQ(bytes.back(), '\0') << "layout changed: the header count is expected last";
  bytes.pop_back();
  PutVarint(bytes, std::uint64_t{1} << 40);
  bytes += std::string(3, '\x01');
  InProgressHeader out;
  EXPECT_EQ(DecodeInProgressHeader(Sealed(bytes), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, HugeStringLengthIsRejected) {
  // A producer id claiming 2^62 bytes.
  const std::string empty = Unsealed(EncodePartitionState(PartitionState{}));
  std::string bytes = empty.substr(0, 3);
  PutVarint(bytes, 1);
  PutVarint(bytes, std::uint64_t{1} << 62);
  bytes += "abc";
  PartitionState out;
  EXPECT_EQ(DecodePartitionState(Sealed(bytes), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, OverlongVarintIsRejected) {
  const std::string empty = Unsealed(EncodePartitionState(PartitionState{}));
  std::string bytes = empty.substr(0, 2);
  bytes += std::string(11, '\xFF');  // more than 64 bits of varint
  bytes += '\x01';
  PartitionState out;
  EXPECT_EQ(DecodePartitionState(Sealed(bytes), &out).code(), Code::kCorruption);
}

TEST(PartitionStateCodec, OutOfRangeFieldsAreRejected) {
  // A chunk index above 2^32 - 1.
  {
    std::string bytes(1, static_cast<char>(kStateFormatVersion));
    PutVarint(bytes, std::uint64_t{1} << 32);
    PutVarint(bytes, 0);  // offset
    PutVarint(bytes, 0);  // timestamp
    bytes += '\0';        // no value
    PutVarint(bytes, 0);
    ChunkState c;
    EXPECT_EQ(DecodeChunk(Sealed(bytes), &c).code(), Code::kCorruption);
  }
  // A producer value with unknown flags.
  {
    std::string bytes = Unsealed(EncodeProducerValue(ProducerState{"p", std::nullopt, TimestampMs(0)}));
    bytes[1] = static_cast<char>(0x80 | 0x01);
    ProducerState p;
    EXPECT_EQ(DecodeProducerValue(Sealed(bytes), "p", &p).code(), Code::kCorruption);
  }
}

}  // namespace
}  // namespace exactly
