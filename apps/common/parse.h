// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Option values shared by the exactly command-line apps: integers,
// durations and byte counts. Errors are kInvalidArgument quoting the text and showing
// the accepted forms; the caller adds the option's name as context.
//
// Thread safety: pure functions.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "exactly/status.h"

namespace exactly::apps {

// The kInvalidArgument of ParseInteger (out of line: keeps fmt out of
// this header).
Status NotAnInteger(std::string_view text, bool is_signed);

// The whole of `text` as a T in decimal: no sign for unsigned types, no
// '+', no spaces, in T's range.
template <std::integral T>
Result<T> ParseInteger(std::string_view text) {
  T v{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return NotAnInteger(text, std::signed_integral<T>);
  }
  return v;
}

// "7d", "12h", "30m", "45s", "500ms", "1h30m" (parts add up), or plain
// milliseconds. No sign, no fractions; at most INT64_MAX milliseconds.
Result<std::int64_t> ParseDurationMs(std::string_view text);

// Plain bytes, or with a suffix k/K/KiB, M/MiB, G/GiB (powers of 1024);
// at most UINT64_MAX bytes.
Result<std::uint64_t> ParseByteCount(std::string_view text);

}  // namespace exactly::apps
