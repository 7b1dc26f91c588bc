// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace exactly {
namespace {

// A bit-at-a-time CRC32C straight from the definition (reflected
// polynomial 0x82F63B78, initial and final xor 0xFFFFFFFF), to check the
// library's table-driven and hardware paths against.
std::uint32_t ReferenceExtend(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::vector<unsigned char> RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

TEST(Crc32c, Rfc3720Vectors) {
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8A9136AAu);
  std::string ones(32, '\xFF');
  EXPECT_EQ(crc32c::Value(ones), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c::Value(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c::Value(descending), 0x113FDB5Cu);
}

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::ExtendPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32c, EmptyInputLeavesCrcUnchanged) {
  EXPECT_EQ(crc32c::Value(""), 0u);
  EXPECT_EQ(crc32c::Extend(0, nullptr, 0), 0u);
  EXPECT_EQ(crc32c::Extend(0xE3069283u, "", 0), 0xE3069283u);
  EXPECT_EQ(crc32c::ExtendPortable(0x12345678u, "", 0), 0x12345678u);
}

TEST(Crc32c, ReferenceImplementationAgreesWithKnownVector) {
  const std::string s = "123456789";
  EXPECT_EQ(ReferenceExtend(0, reinterpret_cast<const unsigned char*>(s.data()), s.size()), 0xE3069283u);
}

// Lengths that cover byte tails, word and 3-stream block boundaries of any
// plausible implementation, and large inputs.
std::vector<std::size_t> InterestingLengths(std::mt19937_64& rng) {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 300; ++n) lengths.push_back(n);
  for (std::size_t p = 512; p <= 65536; p *= 2) {
    for (std::size_t d : {p - 1, p, p + 1, p * 3 - 1, p * 3, p * 3 + 1}) lengths.push_back(d);
  }
  for (int i = 0; i < 20; ++i) lengths.push_back(rng() % 100001);
  lengths.push_back(100000);
  return lengths;
}

TEST(Crc32c, ExtendComposesAtManySplitPointsAndAlignments) {
  std::mt19937_64 rng(20240601);
  const std::vector<std::size_t> lengths = InterestingLengths(rng);
  const std::size_t longest = *std::max_element(lengths.begin(), lengths.end());
  const std::vector<unsigned char> pool = RandomBytes(rng, longest + 64);
  for (std::size_t n : lengths) {
    for (std::size_t align : {0u, 1u, 3u, 7u, 13u}) {
      SCOPED_TRACE("length " + std::to_string(n) + " start offset " + std::to_string(align));
      const unsigned char* data = pool.data() + align;
      const std::uint32_t whole = crc32c::Extend(0, data, n);
      ASSERT_EQ(whole, ReferenceExtend(0, data, n));
      std::vector<std::size_t> splits = {0, n, n / 2, n / 3};
      if (n > 0) splits.push_back(n - 1);
      if (n > 1) splits.push_back(1);
      splits.push_back(n == 0 ? 0 : rng() % (n + 1));
      for (std::size_t k : splits) {
        SCOPED_TRACE("split " + std::to_string(k));
        ASSERT_EQ(crc32c::Extend(crc32c::Extend(0, data, k), data + k, n - k), whole);
      }
    }
  }
}

TEST(Crc32c, ExtendComposesOverManySmallPieces) {
  std::mt19937_64 rng(7);
  const std::vector<unsigned char> data = RandomBytes(rng, 20000);
  const std::uint32_t whole = ReferenceExtend(0, data.data(), data.size());
  std::uint32_t crc = 0;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t len = std::min<std::size_t>(data.size() - pos, rng() % 70);
    crc = crc32c::Extend(crc, data.data() + pos, len);
    pos += len;
  }
  EXPECT_EQ(crc, whole);
}

TEST(Crc32c, HardwarePathEqualsPortablePathOnRandomBuffers) {
  RecordProperty("hardware_accelerated", crc32c::HardwareAccelerated() ? "yes" : "no");
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 200; ++iter) {
      const std::size_t n = iter < 100 ? rng() % 200 : rng() % 70000;
      const std::size_t align = rng() % 16;
      const std::vector<unsigned char> buf = RandomBytes(rng, n + align);
      const std::uint32_t init = static_cast<std::uint32_t>(rng());
      const unsigned char* data = buf.data() + align;
      ASSERT_EQ(crc32c::Extend(init, data, n), crc32c::ExtendPortable(init, data, n))
          << "length " << n << " align " << align;
      ASSERT_EQ(crc32c::ExtendPortable(init, data, n), ReferenceExtend(init, data, n))
          << "length " << n << " align " << align;
    }
  }
}

TEST(Crc32c, PortableComposes) {
  std::mt19937_64 rng(99);
  const std::vector<unsigned char> data = RandomBytes(rng, 5000);
  for (std::size_t k : {0u, 1u, 7u, 8u, 9u, 1000u, 4999u, 5000u}) {
    EXPECT_EQ(crc32c::ExtendPortable(crc32c::ExtendPortable(0, data.data(), k), data.data() + k, data.size() - k),
              crc32c::ExtendPortable(0, data.data(), data.size()));
  }
}

constexpr crc32c::Implementation kAllImplementations[] = {
    crc32c::Implementation::kPortable, crc32c::Implementation::kSse42, crc32c::Implementation::kClmul,
    crc32c::Implementation::kVclmul, crc32c::Implementation::kHybrid};

// Lengths at the block boundaries of the kHybrid kernel (2 KiB and 16 KiB
// blocks), for both tests below.
void AddHybridBoundaries(std::vector<std::size_t>& lengths) {
  for (std::size_t block : {2048u, 16384u}) {
    for (std::size_t k : {1u, 2u, 3u, 4u, 7u, 8u}) {
      for (std::size_t d : {0u, 1u, 31u, 32u, 33u, 63u}) {
        lengths.push_back(k * block + d);
        lengths.push_back(k * block - d);
      }
    }
  }
}

// Every implementation this CPU supports against the portable one, on
// random lengths (covering the folding stride, lane and tail boundaries),
// alignments and initial registers.
TEST(Crc32c, EveryImplementationEqualsPortableOnRandomInputs) {
  constexpr std::uint64_t kSeed = 0x5eed'c3c2'0001ull;
  std::mt19937_64 rng(kSeed);
  const std::vector<unsigned char> pool = RandomBytes(rng, 300000 + 64);
  for (crc32c::Implementation impl : kAllImplementations) {
    if (!crc32c::Supported(impl)) {
      std::printf("crc32c implementation %s unsupported here: skipped\n",
                  std::string(crc32c::ImplementationName(impl)).c_str());
      continue;
    }
    SCOPED_TRACE("implementation " + std::string(crc32c::ImplementationName(impl)) + ", seed " +
                 std::to_string(kSeed));
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 600; ++n) lengths.push_back(n);
    for (std::size_t n : {255u, 256u, 257u, 271u, 272u, 383u, 384u, 385u, 1023u, 1024u, 1025u, 4095u, 10239u,
                          10240u, 10241u, 12287u, 12288u, 12289u, 20480u, 65536u, 65537u, 300000u})
      lengths.push_back(n);
    AddHybridBoundaries(lengths);
    for (int i = 0; i < 300; ++i) lengths.push_back(rng() % 300001);
    for (std::size_t n : lengths) {
      const std::size_t align = rng() % 64;
      const unsigned char* data = pool.data() + align;
      const auto init = static_cast<std::uint32_t>(rng());
      ASSERT_EQ(crc32c::ExtendWith(impl, init, data, n), crc32c::ExtendPortable(init, data, n))
          << "length " << n << " align " << align << " init " << init;
    }
  }
}

// Known vectors through every implementation and its copying loop: the
// check value, and long inputs (past every block size) against the
// bit-at-a-time definition.
TEST(Crc32c, EveryImplementationMatchesKnownVectors) {
  std::vector<unsigned char> pattern(3 * 65536 + 77);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<unsigned char>(i * 2654435761u >> 24);
  const std::vector<unsigned char> zeros(65536, 0);
  const std::uint32_t pattern_crc = ReferenceExtend(0, pattern.data(), pattern.size());
  const std::uint32_t zeros_crc = ReferenceExtend(0, zeros.data(), zeros.size());
  std::vector<unsigned char> out(pattern.size());
  for (crc32c::Implementation impl : kAllImplementations) {
    if (!crc32c::Supported(impl)) continue;
    SCOPED_TRACE("implementation " + std::string(crc32c::ImplementationName(impl)));
    EXPECT_EQ(crc32c::ExtendWith(impl, 0, "123456789", 9), 0xE3069283u);
    EXPECT_EQ(crc32c::ExtendWith(impl, 0, pattern.data(), pattern.size()), pattern_crc);
    EXPECT_EQ(crc32c::ExtendWith(impl, 0, zeros.data(), zeros.size()), zeros_crc);
    EXPECT_EQ(crc32c::ExtendCopyWith(impl, 0, out.data(), pattern.data(), pattern.size()), pattern_crc);
    EXPECT_EQ(out, pattern);
  }
}

TEST(Crc32c, ActiveImplementationIsSupportedAndUsedByExtend) {
  const crc32c::Implementation active = crc32c::ActiveImplementation();
  std::printf("active crc32c implementation: %s\n", std::string(crc32c::ImplementationName(active)).c_str());
  ASSERT_TRUE(crc32c::Supported(active));
  EXPECT_EQ(crc32c::HardwareAccelerated(), active != crc32c::Implementation::kPortable);
  std::mt19937_64 rng(11);
  const std::vector<unsigned char> data = RandomBytes(rng, 100000);
  EXPECT_EQ(crc32c::Extend(5, data.data(), data.size()), crc32c::ExtendWith(active, 5, data.data(), data.size()));
}

TEST(Crc32c, ExtendCopyCopiesAndChecksOnRandomInputs) {
  constexpr std::uint64_t kSeed = 0x5eed'c3c2'0002ull;
  std::mt19937_64 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  const std::vector<unsigned char> pool = RandomBytes(rng, 200000 + 64);
  std::vector<unsigned char> out(200000 + 128);
  for (int iter = 0; iter < 600; ++iter) {
    const std::size_t n = iter < 400 ? static_cast<std::size_t>(iter) : rng() % 200001;
    const std::size_t src_align = rng() % 64;
    const std::size_t dst_align = rng() % 64;
    const auto init = static_cast<std::uint32_t>(rng());
    std::fill(out.begin(), out.end(), 0xA5);
    const unsigned char* src = pool.data() + src_align;
    ASSERT_EQ(crc32c::ExtendCopy(init, out.data() + dst_align, src, n), crc32c::ExtendPortable(init, src, n))
        << "length " << n;
    ASSERT_TRUE(std::equal(src, src + n, out.data() + dst_align)) << "length " << n;
    // Nothing written outside [dst, dst + n).
    ASSERT_TRUE(std::all_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(dst_align),
                            [](unsigned char c) { return c == 0xA5; }));
    ASSERT_TRUE(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(dst_align + n), out.end(),
                            [](unsigned char c) { return c == 0xA5; }));
  }
}

// The fused copy-and-check loop of every implementation against the
// portable CRC and memcpy, on random lengths and both alignments.
TEST(Crc32c, EveryImplementationCopiesAndChecksOnRandomInputs) {
  constexpr std::uint64_t kSeed = 0x5eed'c3c2'0003ull;
  std::mt19937_64 rng(kSeed);
  const std::vector<unsigned char> pool = RandomBytes(rng, 140000 + 64);
  std::vector<unsigned char> out(140000 + 128);
  for (crc32c::Implementation impl : kAllImplementations) {
    if (!crc32c::Supported(impl)) {
      std::printf("crc32c implementation %s unsupported here: skipped\n",
                  std::string(crc32c::ImplementationName(impl)).c_str());
      continue;
    }
    SCOPED_TRACE("implementation " + std::string(crc32c::ImplementationName(impl)) + ", seed " +
                 std::to_string(kSeed));
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n < 600; ++n) lengths.push_back(n);
    AddHybridBoundaries(lengths);
    for (int i = 0; i < 300; ++i) lengths.push_back(rng() % 140001);
    for (std::size_t n : lengths) {
      const std::size_t src_align = rng() % 64;
      const std::size_t dst_align = rng() % 64;
      const auto init = static_cast<std::uint32_t>(rng());
      std::fill(out.begin(), out.end(), 0xA5);
      const unsigned char* src = pool.data() + src_align;
      unsigned char* dst = out.data() + dst_align;
      ASSERT_EQ(crc32c::ExtendCopyWith(impl, init, dst, src, n), crc32c::ExtendPortable(init, src, n))
          << "length " << n << " src align " << src_align << " dst align " << dst_align;
      ASSERT_TRUE(std::equal(src, src + n, dst)) << "length " << n;
      ASSERT_TRUE(std::all_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(dst_align),
                              [](unsigned char c) { return c == 0xA5; }));
      ASSERT_TRUE(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(dst_align + n), out.end(),
                              [](unsigned char c) { return c == 0xA5; }))
          << "length " << n;
    }
  }
}

}  // namespace
}  // namespace exactly
