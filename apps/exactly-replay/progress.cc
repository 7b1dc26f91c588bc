// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace exactly::replay {

Progress::Progress(bool wanted, std::optional<std::uint64_t> total_bytes)
    : enabled_(wanted && ::isatty(STDERR_FILENO) == 1),
      total_(total_bytes),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::Draw(std::uint64_t records, std::uint64_t bytes, bool final) {
  const auto now = std::chrono::steady_clock::now();
  if (!final && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(records) / secs : 0.0;
  std::string line = fmt::format("\r{} records, {:.0f} records/s", records, rate);
  if (total_ && *total_ > 0) {
    line += fmt::format(", {:.1f}% of input", 100.0 * static_cast<double>(bytes) / static_cast<double>(*total_));
  }
  line += "\x1b[K";  // clear what a longer previous line left
  std::fputs(line.c_str(), stderr);
  drawn_ = true;
}

void Progress::Finish(std::uint64_t records, std::uint64_t bytes) {
  if (!enabled_) return;
  Draw(records, bytes, true);
  if (drawn_) std::fputc('\n', stderr);
}

}  // namespace exactly::replay
