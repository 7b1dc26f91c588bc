// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CRC32C with three implementations:
// - portable: slicing-by-8 tables (built at compile time);
// - SSE4.2: the crc32 instruction has a 3-cycle latency but a 1-cycle
//   throughput, so long inputs are split into three interleaved streams
//   whose CRCs are combined afterwards ("advance a CRC register over L zero
//   bytes" is a linear map over GF(2), tabulated once per block length).
//   The same loop can store the words it loads (ExtendCopy), so a
//   reassembled message is written and checked in one pass;
// - PCLMULQDQ folding (with SSE4.2): eight 16-byte lanes are multiplied
//   forward by x^1024 (mod P) and xored into the next 128 bytes, with no
//   serial dependency between lanes; the lanes are then folded into one
//   and the last 16 bytes reduced with the crc32 instruction;
// - VPCLMULQDQ folding on 256-bit registers, alone, or side by side with
//   four crc32 streams in one loop (kHybrid): the two instructions use
//   different execution units, so together they go faster than either.
// The default is chosen once at run time (see Detect).
//
// All work on the raw register (inverted on entry and exit), so
// Extend(crc, ...) composes.
#include "exactly/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
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

template <bool kCopy>
__attribute__((target("sse4.2"))) std::uint32_t RawHwSingle(std::uint32_t reg, unsigned char* dst,
                                                             const unsigned char* p, std::size_t n) {
  std::uint64_t r = reg;
  while (n >= 8) {
    const std::uint64_t w = Load64(p);
    if constexpr (kCopy) {
      std::memcpy(dst, &w, 8);
      dst += 8;
    }
    r = _mm_crc32_u64(r, w);
    p += 8;
    n -= 8;
  }
  auto r32 = static_cast<std::uint32_t>(r);
  while (n--) {
    if constexpr (kCopy) *dst++ = *p;
    r32 = _mm_crc32_u8(r32, *p++);
  }
  return r32;
}

__attribute__((target("sse4.2"))) std::uint32_t RawHwSingle(std::uint32_t reg, const unsigned char* p,
                                                             std::size_t n) {
  return RawHwSingle<false>(reg, nullptr, p, n);
}

// shift[k][b]: the register (b << 8k) advanced over `block` zero bytes.
struct ShiftTable {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  explicit ShiftTable(std::size_t block) {
    // The map is linear, so tabulate the 32 single-bit images and combine.
    static const unsigned char zeros[4096] = {};
    std::array<std::uint32_t, 32> bit{};
    for (int i = 0; i < 32; ++i) {
      std::uint32_t r = 1u << i;
      for (std::size_t left = block; left > 0;) {
        const std::size_t step = left < sizeof zeros ? left : sizeof zeros;
        r = RawHwSingle(r, zeros, step);
        left -= step;
      }
      bit[i] = r;
    }
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

// Long and short stream lengths: a 64 KiB chunk runs five long rounds and
// five short ones, leaving 256 bytes for the single stream.
constexpr std::size_t kLongBlock = 4096;
constexpr std::size_t kShortBlock = 256;

__attribute__((target("sse4.2"))) inline void Copy32(unsigned char* dst, const unsigned char* src) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), lo);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), hi);
}

// Three streams of `block` bytes each, interleaved: the crc32 instruction's
// latency is three times its throughput.
template <bool kCopy>
__attribute__((target("sse4.2"))) inline std::uint32_t ThreeStreams(std::uint32_t reg, unsigned char* dst,
                                                                    const unsigned char* p, std::size_t block,
                                                                    const ShiftTable& shift) {
  std::uint64_t a = reg, b = 0, c = 0;
  const unsigned char* pa = p;
  const unsigned char* pb = p + block;
  const unsigned char* pc = p + 2 * block;
  // 32 bytes per stream and step; the copy moves them as 16-byte vectors
  // (fewer stores than the 8-byte words the crc32 instruction takes). The
  // crc32 loads come before the step's stores (4K aliasing, see kHybrid)
  // and are written out (GCC at -O2 keeps a 4-trip loop).
  static_assert(kLongBlock % 32 == 0 && kShortBlock % 32 == 0);
  for (std::size_t i = 0; i < block; i += 32) {
    a = _mm_crc32_u64(a, Load64(pa + i));
    b = _mm_crc32_u64(b, Load64(pb + i));
    c = _mm_crc32_u64(c, Load64(pc + i));
    a = _mm_crc32_u64(a, Load64(pa + i + 8));
    b = _mm_crc32_u64(b, Load64(pb + i + 8));
    c = _mm_crc32_u64(c, Load64(pc + i + 8));
    a = _mm_crc32_u64(a, Load64(pa + i + 16));
    b = _mm_crc32_u64(b, Load64(pb + i + 16));
    c = _mm_crc32_u64(c, Load64(pc + i + 16));
    a = _mm_crc32_u64(a, Load64(pa + i + 24));
    b = _mm_crc32_u64(b, Load64(pb + i + 24));
    c = _mm_crc32_u64(c, Load64(pc + i + 24));
    if constexpr (kCopy) {
      Copy32(dst + i, pa + i);
      Copy32(dst + block + i, pb + i);
      Copy32(dst + 2 * block + i, pc + i);
    }
  }
  // reg(A|B|C) = shift2(a) ^ shift(b) ^ c
  const std::uint32_t ab = shift.Shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b);
  return shift.Shift(ab) ^ static_cast<std::uint32_t>(c);
}

template <bool kCopy>
__attribute__((target("sse4.2"))) std::uint32_t RawHwStreams(std::uint32_t reg, unsigned char* dst,
                                                              const unsigned char* p, std::size_t n) {
  if (n >= 3 * kShortBlock) {
    static const ShiftTable long_shift(kLongBlock);
    static const ShiftTable short_shift(kShortBlock);
    while (n >= 3 * kLongBlock) {
      reg = ThreeStreams<kCopy>(reg, dst, p, kLongBlock, long_shift);
      p += 3 * kLongBlock;
      if constexpr (kCopy) dst += 3 * kLongBlock;
      n -= 3 * kLongBlock;
    }
    while (n >= 3 * kShortBlock) {
      reg = ThreeStreams<kCopy>(reg, dst, p, kShortBlock, short_shift);
      p += 3 * kShortBlock;
      if constexpr (kCopy) dst += 3 * kShortBlock;
      n -= 3 * kShortBlock;
    }
  }
  return RawHwSingle<kCopy>(reg, dst, p, n);
}

__attribute__((target("sse4.2"))) std::uint32_t RawHw(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  return RawHwStreams<false>(reg, nullptr, p, n);
}

// --- PCLMULQDQ folding -----------------------------------------------------
//
// A 16-byte lane V read little-endian holds, in the reflected convention,
// bit j as the coefficient of x^(127-j): its low qword L carries x^127..x^64
// and its high qword H x^63..x^0. Moving V forward by D bits (mod P) is
//   L * x^(64+D) + H * x^D.
// clmul of a reflected qword with a constant stored as reflect32(k) << 1
// (bit j <-> x^(32-j)) lands coefficient x^e at bit 95-e, i.e. it multiplies
// by an extra x^-32 relative to the lane's x^(127-j) convention; so the
// constants are x^(D+32) and x^(D-32) mod P.

// x^e mod P in the normal (non-reflected) form, P = 0x1EDC6F41 plus x^32.
constexpr std::uint32_t XPowModP(std::uint64_t e) {
  std::uint32_t r = 1;  // x^0
  for (std::uint64_t i = 0; i < e; ++i) r = (r & 0x80000000u) ? (r << 1) ^ 0x1EDC6F41u : r << 1;
  return r;
}
constexpr std::uint64_t FoldConstant(std::uint64_t e) {
  const std::uint32_t k = XPowModP(e);
  std::uint32_t rev = 0;
  for (int i = 0; i < 32; ++i)
    if (k & (1u << i)) rev |= 1u << (31 - i);
  return static_cast<std::uint64_t>(rev) << 1;
}

constexpr std::size_t kLanes = 8;
constexpr std::size_t kStride = 16 * kLanes;  // bytes folded per iteration

// {low qword, high qword} constants for a fold distance of `bits`.
struct FoldPair {
  std::uint64_t lo, hi;
};
constexpr FoldPair Fold(std::uint64_t bits) { return {FoldConstant(bits + 32), FoldConstant(bits - 32)}; }
constexpr FoldPair kFoldStride = Fold(8 * kStride);
constexpr FoldPair kFold128 = Fold(128);

#define EXACTLY_CLMUL_TARGET __attribute__((target("sse4.2,pclmul")))

EXACTLY_CLMUL_TARGET inline __m128i FoldLane(__m128i v, __m128i k) {
  // k: low qword multiplies v's low qword, high qword v's high qword.
  return _mm_xor_si128(_mm_clmulepi64_si128(v, k, 0x00), _mm_clmulepi64_si128(v, k, 0x11));
}

// Folds n bytes (n >= kStride), optionally copying them to `dst`.
// Returns the register after them; any tail (< 16 bytes) is left to the
// caller via *consumed.
EXACTLY_CLMUL_TARGET std::uint32_t RawClmulBody(std::uint32_t reg, const unsigned char* p, std::size_t n,
                                                std::size_t* consumed) {
  __m128i x[kLanes];
  for (std::size_t i = 0; i < kLanes; ++i) {
    x[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
  }
  // The register enters as the first 4 bytes xored in (linearity).
  x[0] = _mm_xor_si128(x[0], _mm_cvtsi32_si128(static_cast<int>(reg)));
  std::size_t at = kStride;
  const __m128i ks = _mm_set_epi64x(static_cast<long long>(kFoldStride.hi), static_cast<long long>(kFoldStride.lo));
  while (n - at >= kStride) {
    for (std::size_t i = 0; i < kLanes; ++i) {
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 16 * i));
      x[i] = _mm_xor_si128(FoldLane(x[i], ks), d);
    }
    at += kStride;
  }
  // Fold the lanes into one, 16 bytes at a time.
  const __m128i k1 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  __m128i acc = x[0];
  for (std::size_t i = 1; i < kLanes; ++i) acc = _mm_xor_si128(FoldLane(acc, k1), x[i]);
  while (n - at >= 16) {
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    acc = _mm_xor_si128(FoldLane(acc, k1), d);
    at += 16;
  }
  // The folded 16 bytes have the same CRC (from a zero register) as
  // everything folded into them.
  std::uint64_t r = _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc)));
  r = _mm_crc32_u64(r, static_cast<std::uint64_t>(_mm_extract_epi64(acc, 1)));
  *consumed = at;
  return static_cast<std::uint32_t>(r);
}

// Below this, setting up the lanes costs more than it saves.
constexpr std::size_t kClmulMin = 2 * kStride;

EXACTLY_CLMUL_TARGET std::uint32_t RawClmul(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  if (n < kClmulMin) return RawHwSingle(reg, p, n);
  std::size_t done = 0;
  reg = RawClmulBody(reg, p, n, &done);
  return RawHwSingle(reg, p + done, n - done);
}


// --- VPCLMULQDQ folding (256-bit) ------------------------------------------
//
// The same fold on 32-byte registers: each holds two 16-byte lanes and one
// vpclmulqdq multiplies both, so a multiply moves 32 bytes instead of 16.
// Four registers (eight lanes, 128 bytes) are in flight, which covers the
// multiply's latency; every lane moves forward by the stride, so one
// constant pair serves all. The loads can also feed stores (kCopy): the
// message is written and checked in one pass.

constexpr std::size_t kWideRegs = 4;
constexpr std::size_t kWideStride = 32 * kWideRegs;  // 128 bytes per step
constexpr FoldPair kFoldWideStride = Fold(8 * kWideStride);

#define EXACTLY_VCLMUL_TARGET __attribute__((target("sse4.2,pclmul,avx2,vpclmulqdq")))

EXACTLY_VCLMUL_TARGET inline __m256i FoldWide(__m256i v, __m256i k) {
  return _mm256_xor_si256(_mm256_clmulepi64_epi128(v, k, 0x00), _mm256_clmulepi64_epi128(v, k, 0x11));
}

// Folds the whole 16-byte blocks of n bytes (n >= 2 * kWideStride),
// optionally copying them to `dst`; returns the register after them and
// sets *consumed (the < 16-byte tail is the caller's).
template <bool kCopy>
EXACTLY_VCLMUL_TARGET std::uint32_t RawVclmulBody(std::uint32_t reg, unsigned char* dst, const unsigned char* p,
                                                  std::size_t n, std::size_t* consumed) {
  __m256i x[kWideRegs];
  for (std::size_t i = 0; i < kWideRegs; ++i) {
    x[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
    if constexpr (kCopy) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * i), x[i]);
  }
  // The register enters as the first 4 bytes xored in (linearity).
  x[0] = _mm256_xor_si256(x[0], _mm256_zextsi128_si256(_mm_cvtsi32_si128(static_cast<int>(reg))));
  std::size_t at = kWideStride;
  const __m256i ks = _mm256_set_epi64x(
      static_cast<long long>(kFoldWideStride.hi), static_cast<long long>(kFoldWideStride.lo),
      static_cast<long long>(kFoldWideStride.hi), static_cast<long long>(kFoldWideStride.lo));
  while (n - at >= kWideStride) {
    for (std::size_t i = 0; i < kWideRegs; ++i) {
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at + 32 * i));
      if constexpr (kCopy) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + at + 32 * i), d);
      x[i] = _mm256_xor_si256(FoldWide(x[i], ks), d);
    }
    at += kWideStride;
  }
  // Fold the eight 16-byte lanes, in byte order, into one.
  const __m128i k1 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  __m128i acc = _mm256_castsi256_si128(x[0]);
  acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_extracti128_si256(x[0], 1));
  for (std::size_t i = 1; i < kWideRegs; ++i) {
    acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_castsi256_si128(x[i]));
    acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_extracti128_si256(x[i], 1));
  }
  while (n - at >= 16) {
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    if constexpr (kCopy) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + at), d);
    acc = _mm_xor_si128(FoldLane(acc, k1), d);
    at += 16;
  }
  std::uint64_t r = _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc)));
  r = _mm_crc32_u64(r, static_cast<std::uint64_t>(_mm_extract_epi64(acc, 1)));
  *consumed = at;
  return static_cast<std::uint32_t>(r);
}

// Below this the crc32 instruction alone is as fast.
constexpr std::size_t kVclmulMin = 2 * kWideStride;

template <bool kCopy>
EXACTLY_VCLMUL_TARGET std::uint32_t RawVclmulCopy(std::uint32_t reg, unsigned char* dst, const unsigned char* p,
                                                  std::size_t n) {
  if (n < kVclmulMin) return RawHwSingle<kCopy>(reg, dst, p, n);
  std::size_t done = 0;
  reg = RawVclmulBody<kCopy>(reg, dst, p, n, &done);
  return RawHwSingle<kCopy>(reg, kCopy ? dst + done : nullptr, p + done, n - done);
}

EXACTLY_VCLMUL_TARGET std::uint32_t RawVclmul(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  return RawVclmulCopy<false>(reg, nullptr, p, n);
}

// --- crc32 streams and VPCLMULQDQ folding side by side --------------------
//
// The crc32 instruction and the carry-less multiply run on different
// execution units, so a block is split between them: four crc32 streams of
// `lane` bytes each (the instruction's latency is three times its
// throughput), then 4 * lane bytes folded in four 256-bit registers. Every
// step takes 32 bytes from each stream and 128 from the folded part; the
// parts are combined at the end of the block by shifting each stream's
// register over the bytes after it (a table per lane length).
//
// In the copying variant all of a step's loads come before its stores:
// when the destination sits at the source's offset modulo 4 KiB (two
// large allocations usually do), a load placed after a store to the same
// page offset waits for it (4K aliasing). The destination is not aligned
// first: a 64 KiB chunk is then exactly four 16 KiB blocks, and that
// measured ~6% faster than aligned stores plus a slower tail.

constexpr std::size_t kHybridStep = 32;                   // per crc32 stream and step (written out below)
constexpr std::size_t kHybridLongSteps = 64;              // 16 KiB blocks
constexpr std::size_t kHybridShortSteps = 8;              // 2 KiB blocks
constexpr std::size_t HybridBlockBytes(std::size_t steps) { return 8 * kHybridStep * steps; }

template <bool kCopy, std::size_t kSteps>
EXACTLY_VCLMUL_TARGET std::uint32_t HybridBlock(std::uint32_t reg, unsigned char* dst, const unsigned char* p,
                                                const ShiftTable& lane_shift) {
  constexpr std::size_t kLane = kHybridStep * kSteps;
  const unsigned char* folded = p + 4 * kLane;
  std::uint64_t a = reg, b = 0, c = 0, e = 0;
  // Zero registers fold to zero, so the first step needs no special case.
  __m256i x0 = _mm256_setzero_si256(), x1 = x0, x2 = x0, x3 = x0;
  const __m256i ks = _mm256_set_epi64x(
      static_cast<long long>(kFoldWideStride.hi), static_cast<long long>(kFoldWideStride.lo),
      static_cast<long long>(kFoldWideStride.hi), static_cast<long long>(kFoldWideStride.lo));
  for (std::size_t step = 0; step < kSteps; ++step) {
    const std::size_t i = step * kHybridStep;
    const unsigned char* q = folded + 4 * i;
    const __m256i d0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const __m256i d1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32));
    const __m256i d2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64));
    const __m256i d3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 96));
    __m256i va{}, vb{}, vc{}, ve{};
    if constexpr (kCopy) {
      va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
      vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kLane + i));
      vc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2 * kLane + i));
      ve = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 3 * kLane + i));
    }
    // Written out: GCC at -O2 keeps a 4-trip loop here, and with it the
    // two units measured no faster than the crc32 streams alone.
    const unsigned char* pa = p + i;
    a = _mm_crc32_u64(a, Load64(pa));
    b = _mm_crc32_u64(b, Load64(pa + kLane));
    c = _mm_crc32_u64(c, Load64(pa + 2 * kLane));
    e = _mm_crc32_u64(e, Load64(pa + 3 * kLane));
    a = _mm_crc32_u64(a, Load64(pa + 8));
    b = _mm_crc32_u64(b, Load64(pa + kLane + 8));
    c = _mm_crc32_u64(c, Load64(pa + 2 * kLane + 8));
    e = _mm_crc32_u64(e, Load64(pa + 3 * kLane + 8));
    a = _mm_crc32_u64(a, Load64(pa + 16));
    b = _mm_crc32_u64(b, Load64(pa + kLane + 16));
    c = _mm_crc32_u64(c, Load64(pa + 2 * kLane + 16));
    e = _mm_crc32_u64(e, Load64(pa + 3 * kLane + 16));
    a = _mm_crc32_u64(a, Load64(pa + 24));
    b = _mm_crc32_u64(b, Load64(pa + kLane + 24));
    c = _mm_crc32_u64(c, Load64(pa + 2 * kLane + 24));
    e = _mm_crc32_u64(e, Load64(pa + 3 * kLane + 24));
    x0 = _mm256_xor_si256(FoldWide(x0, ks), d0);
    x1 = _mm256_xor_si256(FoldWide(x1, ks), d1);
    x2 = _mm256_xor_si256(FoldWide(x2, ks), d2);
    x3 = _mm256_xor_si256(FoldWide(x3, ks), d3);
    if constexpr (kCopy) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), va);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + kLane + i), vb);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2 * kLane + i), vc);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 3 * kLane + i), ve);
      unsigned char* dq = dst + 4 * kLane + 4 * i;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dq), d0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dq + 32), d1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dq + 64), d2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dq + 96), d3);
    }
  }
  // The eight 16-byte lanes, in byte order, folded into one; its CRC from
  // a zero register is that of the whole folded part.
  const __m128i k1 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  __m128i acc = _mm256_castsi256_si128(x0);
  acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_extracti128_si256(x0, 1));
  for (const __m256i& x : {x1, x2, x3}) {
    acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_castsi256_si128(x));
    acc = _mm_xor_si128(FoldLane(acc, k1), _mm256_extracti128_si256(x, 1));
  }
  std::uint64_t d = _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc)));
  d = _mm_crc32_u64(d, static_cast<std::uint64_t>(_mm_extract_epi64(acc, 1)));
  // reg(A|B|C|E|D) = shift^4(shift^3(a) ^ shift^2(b) ^ shift(c) ^ e) ^ d.
  std::uint32_t r = lane_shift.Shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b);
  r = lane_shift.Shift(r) ^ static_cast<std::uint32_t>(c);
  r = lane_shift.Shift(r) ^ static_cast<std::uint32_t>(e);
  for (int k = 0; k < 4; ++k) r = lane_shift.Shift(r);
  return r ^ static_cast<std::uint32_t>(d);
}

template <bool kCopy>
EXACTLY_VCLMUL_TARGET std::uint32_t RawHybridCopy(std::uint32_t reg, unsigned char* dst, const unsigned char* p,
                                                  std::size_t n) {
  constexpr std::size_t kLong = HybridBlockBytes(kHybridLongSteps);
  constexpr std::size_t kShort = HybridBlockBytes(kHybridShortSteps);
  if (n < kShort) return RawHwStreams<kCopy>(reg, dst, p, n);
  static const ShiftTable long_shift(kHybridStep * kHybridLongSteps);
  static const ShiftTable short_shift(kHybridStep * kHybridShortSteps);
  while (n >= kLong) {
    reg = HybridBlock<kCopy, kHybridLongSteps>(reg, dst, p, long_shift);
    p += kLong;
    if constexpr (kCopy) dst += kLong;
    n -= kLong;
  }
  while (n >= kShort) {
    reg = HybridBlock<kCopy, kHybridShortSteps>(reg, dst, p, short_shift);
    p += kShort;
    if constexpr (kCopy) dst += kShort;
    n -= kShort;
  }
  return RawHwStreams<kCopy>(reg, dst, p, n);
}

EXACTLY_VCLMUL_TARGET std::uint32_t RawHybrid(std::uint32_t reg, const unsigned char* p, std::size_t n) {
  return RawHybridCopy<false>(reg, nullptr, p, n);
}

#endif

using RawFn = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t);

RawFn RawFor(Implementation impl) {
  switch (impl) {
    case Implementation::kPortable: return RawPortable;
#if defined(__x86_64__)
    case Implementation::kSse42: return RawHw;
    case Implementation::kClmul: return RawClmul;
    case Implementation::kVclmul: return RawVclmul;
    case Implementation::kHybrid: return RawHybrid;
#else
    default: break;
#endif
  }
  return RawPortable;
}

Implementation Detect() {
#if defined(__x86_64__)
  // On AMD EPYC (Zen 3) the crc32 streams and the 256-bit fold side by
  // side measured ~1.3x the crc32 streams alone, both for the CRC and
  // fused with the copy (docs/BENCHMARKS.md). PCLMULQDQ folding alone is half the crc32
  // instruction's speed there (one carry-less multiply per two cycles),
  // so it is never the default; it stays selectable (ExtendWith).
  if (Supported(Implementation::kHybrid)) return Implementation::kHybrid;
  if (__builtin_cpu_supports("sse4.2")) return Implementation::kSse42;
#endif
  return Implementation::kPortable;
}

const Implementation kBest = Detect();
const RawFn kBestRaw = RawFor(kBest);

}  // namespace

std::uint32_t ExtendPortable(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  return ~RawPortable(~crc, static_cast<const unsigned char*>(data), n);
}

Implementation ActiveImplementation() noexcept { return kBest; }

bool Supported(Implementation impl) noexcept {
  switch (impl) {
    case Implementation::kPortable: return true;
#if defined(__x86_64__)
    case Implementation::kSse42: return __builtin_cpu_supports("sse4.2");
    case Implementation::kClmul: return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
    case Implementation::kVclmul:
    case Implementation::kHybrid:
      return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
#else
    default: return false;
#endif
  }
  return false;
}

std::string_view ImplementationName(Implementation impl) noexcept {
  switch (impl) {
    case Implementation::kPortable: return "portable";
    case Implementation::kSse42: return "sse4.2";
    case Implementation::kClmul: return "pclmul";
    case Implementation::kVclmul: return "vpclmul";
    case Implementation::kHybrid: return "crc32+vpclmul";
  }
  return "unknown";
}

std::uint32_t ExtendWith(Implementation impl, std::uint32_t crc, const void* data, std::size_t n) noexcept {
  if (!Supported(impl)) impl = Implementation::kPortable;
  return ~RawFor(impl)(~crc, static_cast<const unsigned char*>(data), n);
}

bool HardwareAccelerated() noexcept { return kBest != Implementation::kPortable; }

std::uint32_t Extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  // kBestRaw is a namespace-scope constant: an Extend() run during another
  // translation unit's static initialization may still see it null.
  const RawFn raw = kBestRaw ? kBestRaw : RawFor(Detect());
  return ~raw(~crc, static_cast<const unsigned char*>(data), n);
}

std::uint32_t ExtendCopyWith(Implementation impl, std::uint32_t crc, void* dst, const void* src,
                             std::size_t n) noexcept {
  if (!Supported(impl)) impl = Implementation::kPortable;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
#if defined(__x86_64__)
  // The fused loops: every byte is loaded once, and the load feeds both the
  // store and the CRC.
  if (impl == Implementation::kSse42) return ~RawHwStreams<true>(~crc, d, s, n);
  if (impl == Implementation::kVclmul) return ~RawVclmulCopy<true>(~crc, d, s, n);
  if (impl == Implementation::kHybrid) return ~RawHybridCopy<true>(~crc, d, s, n);
#endif
  if (n) std::memcpy(d, s, n);
  return ~RawFor(impl)(~crc, d, n);
}

std::uint32_t ExtendCopy(std::uint32_t crc, void* dst, const void* src, std::size_t n) noexcept {
  return ExtendCopyWith(kBest, crc, dst, src, n);
}

}  // namespace exactly::crc32c
