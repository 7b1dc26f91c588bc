// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "log/json_text.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "exactly/recorded_log.h"

namespace exactly {
namespace logfmt {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

// Bytes the writer cannot copy as they are: quote, backslash, controls,
// and every non-ASCII byte (which needs a UTF-8 check).
constexpr std::array<bool, 256> MakeSpecialTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecialTable();

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// SWAR: nonzero iff some byte of x is below n (n <= 128).
constexpr std::uint64_t HasByteLess(std::uint64_t x, std::uint8_t n) { return (x - kOnes * n) & ~x & kHighs; }
constexpr std::uint64_t HasByte(std::uint64_t x, std::uint8_t b) { return HasByteLess(x ^ (kOnes * b), 1); }

int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the four hex digits after "\u" at raw[i..i+4).
bool ReadHex4(std::string_view raw, std::size_t i, std::uint32_t* cp) noexcept {
  if (i + 4 > raw.size()) return false;
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int d = HexValue(raw[i + k]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  *cp = v;
  return true;
}

std::size_t EncodeUtf8(std::uint32_t cp, char* out) noexcept {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

char* WriteByteEscape(char* dst, unsigned hi, unsigned char c) noexcept {
  dst[0] = '\\';
  dst[1] = 'u';
  dst[2] = kHexUpper[(hi >> 4) & 0xF];
  dst[3] = kHexUpper[hi & 0xF];
  dst[4] = kHexUpper[c >> 4];
  dst[5] = kHexUpper[c & 0xF];
  return dst + 6;
}

}  // namespace

std::size_t FindEscapeOrControl(std::string_view s) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  // SSE2 is part of x86-64 itself: no run-time dispatch needed.
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below = _mm_set1_epi8(0x1F);
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, backslash), _mm_cmpeq_epi8(_mm_max_epu8(x, below), below));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, p + i, 8);
    if (HasByteLess(x, 0x20) | HasByte(x, '\\')) break;
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '\\') return i;
  }
  return n;
}

// Index of the first byte the writer must look at (see kSpecial), or n.
// Used for what the 16-byte loop leaves: short strings (topics, header
// names and values, keys) and tails, where a plain table walk is fastest.
inline std::size_t FindSpecial(const unsigned char* p, std::size_t n) noexcept {
  std::size_t i = 0;
  while (i < n && !kSpecial[p[i]]) ++i;
  return i;
}

const char* UnescapeJsonString(std::string_view raw, char* out, std::size_t* out_len) noexcept {
  std::size_t w = 0;
  std::size_t i = 0;
  const std::size_t n = raw.size();
  while (i < n) {
#if defined(__SSE2__)
    // Copy 16 bytes at a time (w <= i, so the output has room) up to the
    // next backslash or control character.
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i below = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(raw.data() + i));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + w), x);
      const int mask = _mm_movemask_epi8(
          _mm_or_si128(_mm_cmpeq_epi8(x, backslash), _mm_cmpeq_epi8(_mm_max_epu8(x, below), below)));
      if (mask == 0) {
        i += 16;
        w += 16;
        continue;
      }
      const auto k = static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      i += k;
      w += k;
      break;
    }
    if (i + 16 > n) {
#endif
      const std::size_t run = FindEscapeOrControl(raw.substr(i));
      std::memmove(out + w, raw.data() + i, run);
      w += run;
      i += run;
#if defined(__SSE2__)
    }
#endif
    if (i == n) break;
    if (static_cast<unsigned char>(raw[i]) < 0x20) return "unescaped control character in string";
    // raw[i] == '\\'
    if (i + 1 >= n) return "unterminated escape in string";
    const char e = raw[i + 1];
    i += 2;
    switch (e) {
      case '"': out[w++] = '"'; break;
      case '\\': out[w++] = '\\'; break;
      case '/': out[w++] = '/'; break;
      case 'b': out[w++] = '\b'; break;
      case 'f': out[w++] = '\f'; break;
      case 'n': out[w++] = '\n'; break;
      case 'r': out[w++] = '\r'; break;
      case 't': out[w++] = '\t'; break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!ReadHex4(raw, i, &cp)) return "bad \\u escape in string";
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo = 0;
          if (i + 6 > n || raw[i] != '\\' || raw[i + 1] != 'u' || !ReadHex4(raw, i + 2, &lo) || lo < 0xDC00 ||
              lo > 0xDFFF) {
            return "unpaired high surrogate escape in string";
          }
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          w += EncodeUtf8(cp, out + w);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          // A lone low surrogate: \uDC80-\uDCFF is one raw byte (the
          // surrogateescape convention); the rest are not text at all.
          if (cp < 0xDC80 || cp > 0xDCFF) return "unpaired low surrogate escape in string";
          out[w++] = static_cast<char>(cp - 0xDC00);
        } else {
          w += EncodeUtf8(cp, out + w);
        }
        break;
      }
      default:
        return "bad escape in string";
    }
  }
  *out_len = w;
  return nullptr;
}

void EscapeInvalidUtf8(std::string_view in, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const std::size_t len = ValidUtf8Length(p + i, n - i);
    if (len == 0) {
      char e[6];
      WriteByteEscape(e, 0xDC, p[i]);
      out.append(e, 6);
      ++i;
    } else {
      out.append(in.data() + i, len);
      i += len;
    }
  }
}

namespace {

// Writes the special byte (or well-formed UTF-8 sequence) at p[i] and
// returns the index after it.
std::size_t WriteSpecial(const unsigned char* p, std::size_t n, std::size_t i, char** dst_io) noexcept {
  char* dst = *dst_io;
  const unsigned char c = p[i];
  if (c >= 0x80) {
    const std::size_t len = ValidUtf8Length(p + i, n - i);
    if (len != 0) {
      std::memcpy(dst, p + i, len);
      *dst_io = dst + len;
      return i + len;
    }
    *dst_io = WriteByteEscape(dst, 0xDC, c);
    return i + 1;
  }
  char short_escape = 0;
  switch (c) {
    case '"': short_escape = '"'; break;
    case '\\': short_escape = '\\'; break;
    case '\b': short_escape = 'b'; break;
    case '\f': short_escape = 'f'; break;
    case '\n': short_escape = 'n'; break;
    case '\r': short_escape = 'r'; break;
    case '\t': short_escape = 't'; break;
    default: break;
  }
  if (short_escape != 0) {
    dst[0] = '\\';
    dst[1] = short_escape;
    *dst_io = dst + 2;
  } else {
    *dst_io = WriteByteEscape(dst, 0x00, c);  // other controls, as kcat: \u00XX
  }
  return i + 1;
}

}  // namespace

char* WriteJsonString(char* dst, std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  *dst++ = '"';
  std::size_t i = 0;
#if defined(__SSE2__)
  // Copy 16 bytes at a time, unconditionally (the output has room for six
  // times the input), and stop at the first byte that needs attention.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below = _mm_set1_epi8(0x1F);
  while (i + 16 <= n) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), x);
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                     _mm_cmpeq_epi8(_mm_max_epu8(x, below), below));
    const int mask = _mm_movemask_epi8(_mm_or_si128(hit, x));  // the top bit: bytes >= 0x80
    if (mask == 0) {
      i += 16;
      dst += 16;
      continue;
    }
    const auto k = static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    dst += k;
    i = WriteSpecial(p, n, i + k, &dst);
  }
#endif
  while (i < n) {
    const std::size_t run = FindSpecial(p + i, n - i);
    std::memcpy(dst, p + i, run);
    dst += run;
    i += run;
    if (i < n) i = WriteSpecial(p, n, i, &dst);
  }
  *dst++ = '"';
  return dst;
}

}  // namespace logfmt

void AppendJsonString(std::string& out, std::string_view bytes) {
  const std::size_t old = out.size();
  out.resize(old + logfmt::JsonStringBound(bytes.size()));
  char* end = logfmt::WriteJsonString(out.data() + old, bytes);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace exactly
