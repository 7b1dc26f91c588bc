// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "status_line.h"

#include <fmt/format.h>

namespace exactly::relay_app {

std::string Compact(double v) {
  if (v >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string StatusLine::Format(const kafka::RelayStats& s, Clock::time_point now) {
  const double secs = std::chrono::duration<double>(now - last_time_).count();
  const std::uint64_t in = s.consumer.engine.records;
  const std::uint64_t out = s.forwarded;
  const double in_rate = secs > 0 ? static_cast<double>(in - last_in_) / secs : 0;
  const double out_rate = secs > 0 ? static_cast<double>(out - last_out_) / secs : 0;
  last_time_ = now;
  last_in_ = in;
  last_out_ = out;

  const Counters& c = s.consumer.engine;
  std::string checkpoint = "no checkpoint yet";
  if (s.consumer.last_checkpoint) {
    const double age = std::chrono::duration<double>(now - *s.consumer.last_checkpoint).count();
    checkpoint = fmt::format("checkpoint #{} {:.1f}s ago", s.consumer.checkpoints, age);
  }
  std::string line = fmt::format(
      "in {} rec ({}/s) | out {} msg ({}/s), {} chunked | dropped: {} dup, {} stale, {} dup chunks | "
      "dead letters {} | {} partition(s) | {}",
      Compact(static_cast<double>(in)), Compact(in_rate), Compact(static_cast<double>(out)), Compact(out_rate),
      s.forwarded_chunked, c.duplicate, c.stale, c.chunk_duplicate, c.dead_lettered, s.consumer.assigned, checkpoint);
  if (s.consumer.rewinds > 0) line += fmt::format(" | {} rewind(s)", s.consumer.rewinds);
  return line;
}

}  // namespace exactly::relay_app
