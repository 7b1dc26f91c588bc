// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "parse.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace exactly::apps {

Status NotAnInteger(std::string_view text, bool is_signed) {
  return Status::InvalidArgument(
      fmt::format("'{}' is not {} integer in range", text, is_signed ? "an" : "a non-negative"));
}

Result<std::int64_t> ParseDurationMs(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a duration (e.g. 7d, 12h, 30m, 45s, 500ms, 1h30m, or plain milliseconds)", text));
  };
  if (text.empty()) return bad();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::uint64_t plain = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), plain);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    if (plain > static_cast<std::uint64_t>(kMax)) return bad();
    return static_cast<std::int64_t>(plain);
  }
  std::int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::uint64_t n = 0;
    const auto num = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (num.ec != std::errc() || num.ptr == rest.data()) return bad();
    rest.remove_prefix(static_cast<std::size_t>(num.ptr - rest.data()));
    std::int64_t unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1;
      rest.remove_prefix(2);
    } else if (!rest.empty() && (rest[0] == 's' || rest[0] == 'm' || rest[0] == 'h' || rest[0] == 'd')) {
      unit = rest[0] == 's' ? 1000 : rest[0] == 'm' ? 60'000 : rest[0] == 'h' ? 3'600'000 : 86'400'000;
      rest.remove_prefix(1);
    } else {
      return bad();
    }
    if (n > static_cast<std::uint64_t>(kMax / unit)) return bad();
    const std::int64_t part = static_cast<std::int64_t>(n) * unit;
    if (total > kMax - part) return bad();
    total += part;
  }
  return total;
}

Result<std::uint64_t> ParseByteCount(std::string_view text) {
  std::uint64_t n = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  const auto bad = [&] {
    return Status::InvalidArgument(fmt::format("'{}' is not a byte count (e.g. 1048576, 512KiB, 64MiB, 1GiB)", text));
  };
  if (text.empty() || r.ec != std::errc() || r.ptr == text.data()) return bad();
  const std::string_view suffix(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
  unsigned shift = 0;
  if (suffix == "k" || suffix == "K" || suffix == "KiB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MiB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "GiB") {
    shift = 30;
  } else if (!suffix.empty()) {
    return bad();
  }
  if (shift > 0 && n > (std::numeric_limits<std::uint64_t>::max() >> shift)) return bad();
  return n << shift;
}

}  // namespace exactly::apps
