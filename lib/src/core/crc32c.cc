// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CRC32C with two implementations:
// - portable: slicing-by-8 tables (built at compile time);
// - x86-64 SSE4.2: the crc32 instruction has a 3-cycle latency but a
//   1-cycle throughput, so long inputs are split into three interleaved
//   streams whose CRCs are combined afterwards. Combining needs "advance a
//   CRC register over L zero bytes", a linear map over GF(2) that we
//   tabulate once per block length.
//
// Both work on the raw register (inverted on entry and exit), so
// Extend(crc, ...) composes.
#include "exactly/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace exactly::crc32c {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli

using Table = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Table MakeTables() {
  Table t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}
constexpr Table kTables = MakeTables();

inline std::uint64_t Load64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // little-endian host assumed (x86-64, aarch64)
}

std::uint32_t RawPortable(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  while (n >= 8) {
    const std::uint64_t v = Load64(p) ^ reg;
    reg = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
          kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
          kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) reg = (reg >> 8) ^ kTables[0][(reg ^ *p++) & 0xFF];
  return reg;
}

#if defined(__x86_64__)

// Block length of each of the three streams. Inputs shorter than 3 blocks
// use one stream.
constexpr std::size_t kBlock = 4096;

__attribute__((target("sse4.2"))) std::uint32_t RawHwSingle(std::uint32_t reg, const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t r = reg;
  while (n >= 8) {
    r = _mm_crc32_u64(r, Load64(p));
    p += 8;
    n -= 8;
  }
  auto r32 = static_cast<std::uint32_t>(r);
  while (n--) r32 = _mm_crc32_u8(r32, *p++);
  return r32;
}

// shift[k][b]: the register (b << 8k) advanced over kBlock zero bytes.
struct ShiftTable {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  ShiftTable() {
    // The map is linear, so tabulate the 32 single-bit images and combine.
    static const unsigned char zeros[kBlock] = {};
    std::array<std::uint32_t, 32> bit{};
    for (int i = 0; i < 32; ++i) bit[i] = RawHwSingle(1u << i, zeros, kBlock);
    for (int k = 0; k < 4; ++k) {
      for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t v = 0;
        for (int i = 0; i < 8; ++i)
          if (b & (1u << i)) v ^= bit[8 * k + i];
        t[k][b] = v;
      }
    }
  }
  std::uint32_t Shift(std::uint32_t r) const {
    return t[0][r & 0xFF] ^ t[1][(r >> 8) & 0xFF] ^ t[2][(r >> 16) & 0xFF] ^ t[3][r >> 24];
  }
};

__attribute__((target("sse4.2"))) std::uint32_t RawHw(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  if (n >= 3 * kBlock) {
    static const ShiftTable shift;
    while (n >= 3 * kBlock) {
      std::uint64_t a = reg, b = 0, c = 0;
      const unsigned char* pa = p;
      const unsigned char* pb = p + kBlock;
      const unsigned char* pc = p + 2 * kBlock;
      for (std::size_t i = 0; i < kBlock; i += 8) {
        a = _mm_crc32_u64(a, Load64(pa + i));
        b = _mm_crc32_u64(b, Load64(pb + i));
        c = _mm_crc32_u64(c, Load64(pc + i));
      }
      // reg(A|B|C) = shift2(a) ^ shift(b) ^ c
      const std::uint32_t ab = shift.Shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b);
      reg = shift.Shift(ab) ^ static_cast<std::uint32_t>(c);
      p += 3 * kBlock;
      n -= 3 * kBlock;
    }
  }
  return RawHwSingle(reg, p, n);
}

bool DetectHw() { return __builtin_cpu_supports("sse4.2"); }
#endif

}  // namespace

std::uint32_t ExtendPortable(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  return ~RawPortable(~crc, static_cast<const unsigned char*>(data), n);
}

bool HardwareAccelerated() noexcept {
#if defined(__x86_64__)
  static const bool hw = DetectHw();
  return hw;
#else
  return false;
#endif
}

std::uint32_t Extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
#if defined(__x86_64__)
  if (HardwareAccelerated()) return ~RawHw(~crc, static_cast<const unsigned char*>(data), n);
#endif
  return ExtendPortable(crc, data, n);
}

}  // namespace exactly::crc32c
