// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Byte-level helpers for the recorded-log JSON text: UTF-8 validation, the
// string unescaper with the surrogateescape convention of recorded_log.h,
// and the rewrite of raw invalid UTF-8 (as kcat writes it) into escapes.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace exactly::logfmt {

// Length (1-4) of the well-formed UTF-8 sequence at p[0..avail), or 0 if
// p[0] does not start one (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF). avail must be >= 1.
inline std::size_t ValidUtf8Length(const unsigned char* p, std::size_t avail) noexcept {
  const unsigned c = p[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;  // a continuation byte, or the overlong leads C0/C1
  if (c < 0xE0) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c < 0xF0) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c < 0xF5) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Index of the first '\\' or byte below 0x20 in s, or s.size(). Strings
// without either need no unescaping and are handed out in place.
std::size_t FindEscapeOrControl(std::string_view s) noexcept;

// Decodes the contents of a JSON string literal (between the quotes) into
// `out`, which must have room for raw.size() bytes (decoding never grows).
// Returns nullptr and sets *out_len, or a static error text.
const char* UnescapeJsonString(std::string_view raw, char* out, std::size_t* out_len) noexcept;

// Upper bound of the bytes WriteJsonString writes for n input bytes: every
// byte may take six (\uXXXX), plus the quotes.
constexpr std::size_t JsonStringBound(std::size_t n) noexcept { return 6 * n + 2; }

// Writes `bytes` as a JSON string literal (quotes included, escapes as in
// recorded_log.h) at dst, which must have JsonStringBound(bytes.size())
// bytes of room. Returns the end of what was written.
char* WriteJsonString(char* dst, std::string_view bytes) noexcept;

// Copies `in` to `out`, replacing every byte that is not part of a
// well-formed UTF-8 sequence by the text \uDCXX (0xDC00 + byte), so that
// a kcat line carrying raw binary becomes valid JSON that decodes to the
// same bytes.
void EscapeInvalidUtf8(std::string_view in, std::string& out);

}  // namespace exactly::logfmt
