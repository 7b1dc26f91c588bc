// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "stats.h"

#include <fmt/format.h>

#include "exactly/envelope.h"
#include "exactly/recorded_log.h"

namespace exactly::replay {

std::string StatsJson(const RunStats& s) {
  std::string out = "{";
  bool first = true;
  auto field = [&](std::string_view name, std::uint64_t v) {
    out += fmt::format("{}\"{}\":{}", first ? "" : ",", name, v);
    first = false;
  };
  field("files", s.files);
  field("input_records", s.input_records);
  field("records_skipped", s.records_skipped);
  field("records_processed", s.records_processed);
  field("invalid_lines", s.invalid_lines);
  field("offsets_not_increasing", s.offsets_not_increasing);
  field("output_records", s.output_records);
  field("dead_letter_records", s.dead_letter_records);
  field("checkpoints", s.checkpoints);
  field("input_bytes", s.input_bytes);
  field("in_progress_messages", s.in_progress_messages);
  field("buffered_bytes", s.buffered_bytes);
  field("producers", s.producers);
  const Counters& c = s.engine;
  field("records", c.records);
  field("delivered", c.delivered);
  field("delivered_chunked", c.delivered_chunked);
  field("duplicate", c.duplicate);
  field("stale", c.stale);
  field("malformed", c.malformed);
  out += ",\"malformed_by_reason\":{";
  for (std::size_t i = 1; i < kMalformedReasonCount; ++i) {
    out += fmt::format("{}\"{}\":{}", i == 1 ? "" : ",", MalformedReasonName(static_cast<MalformedReason>(i)),
                       c.malformed_by_reason[i]);
  }
  out += "}";
  field("corrupt", c.corrupt);
  field("abandoned", c.abandoned);
  field("abandoned_chunks", c.abandoned_chunks);
  field("chunk_duplicate", c.chunk_duplicate);
  field("unstamped", c.unstamped);
  field("unstamped_dropped", c.unstamped_dropped);
  field("gaps", c.gaps);
  field("producers_expired", c.producers_expired);
  field("dead_lettered", c.dead_lettered);
  out += fmt::format(",\"max_records_reached\":{},\"interrupted\":{},\"seconds\":{:.3f},\"exit_status\":{}",
                     s.max_records_reached, s.interrupted, s.seconds, s.exit_status);
  out += ",\"error\":";
  if (s.error.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, s.error);
  }
  out += "}\n";
  return out;
}

}  // namespace exactly::replay
