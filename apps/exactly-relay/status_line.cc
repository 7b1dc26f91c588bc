// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "status_line.h"

#include <fmt/format.h>

namespace exactly::relay_app {

using apps::Field;

std::string Compact(double v) {
  if (v >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::optional<std::uint64_t> TotalLag(std::span<const kafka::PartitionPosition> positions) {
  std::optional<std::uint64_t> total;
  for (const auto& p : positions) {
    if (const auto lag = p.lag()) total = total.value_or(0) + static_cast<std::uint64_t>(*lag);
  }
  return total;
}

StatusReport StatusLine::Format(const kafka::RelayStats& s, std::span<const kafka::PartitionPosition> positions,
                                Clock::time_point now) {
  const double secs = std::chrono::duration<double>(now - last_time_).count();
  const std::uint64_t in = s.consumer.engine.records;
  const std::uint64_t out = s.forwarded;
  const double in_rate = secs > 0 ? static_cast<double>(in - last_in_) / secs : 0;
  const double out_rate = secs > 0 ? static_cast<double>(out - last_out_) / secs : 0;
  last_time_ = now;
  last_in_ = in;
  last_out_ = out;

  const Counters& c = s.consumer.engine;
  const std::optional<std::uint64_t> lag = TotalLag(positions);
  StatusReport r;
  std::string checkpoint = "no checkpoint yet";
  if (s.consumer.last_checkpoint) {
    const double age = std::chrono::duration<double>(now - *s.consumer.last_checkpoint).count();
    checkpoint = fmt::format("checkpoint #{} {:.1f}s ago", s.consumer.checkpoints, age);
    r.fields.push_back(Field("checkpoint_age_s", age));
  }
  r.message = fmt::format(
      "in {} rec ({}/s) | out {} msg ({}/s), {} chunked | lag {} | dropped: {} dup, {} stale, {} dup chunks | "
      "dead letters {} | {} partition(s) | {}",
      Compact(static_cast<double>(in)), Compact(in_rate), Compact(static_cast<double>(out)), Compact(out_rate),
      s.forwarded_chunked, lag ? Compact(static_cast<double>(*lag)) : std::string("?"), c.duplicate, c.stale,
      c.chunk_duplicate, c.dead_lettered, s.consumer.assigned, checkpoint);
  if (s.consumer.rewinds > 0) r.message += fmt::format(" | {} rewind(s)", s.consumer.rewinds);
  r.fields.insert(r.fields.end(),
                  {Field("records_in", in), Field("records_in_per_s", in_rate), Field("messages_out", out),
                   Field("messages_out_per_s", out_rate), Field("duplicates", c.duplicate), Field("stale", c.stale),
                   Field("chunk_duplicates", c.chunk_duplicate), Field("dead_letters", c.dead_lettered),
                   Field("partitions", static_cast<std::uint64_t>(s.consumer.assigned)),
                   Field("checkpoints", s.consumer.checkpoints), Field("rewinds", s.consumer.rewinds)});
  if (lag) r.fields.push_back(Field("lag", *lag));
  return r;
}

StatusReport StatusLine::Summary(const kafka::RelayStats& s, Clock::time_point now) const {
  const double runtime = std::chrono::duration<double>(now - start_).count();
  const Counters& c = s.consumer.engine;
  StatusReport r;
  r.message = fmt::format(
      "summary: ran {:.1f}s | {} records in | {} messages delivered ({} chunked), {} forwarded | dropped: {} duplicate, "
      "{} stale, {} duplicate chunks, {} unstamped | rejected: {} malformed, {} corrupt, {} abandoned; {} dead letters "
      "| {} gaps | {} checkpoints ({} failed), {} rewinds",
      runtime, c.records, c.delivered, c.delivered_chunked, s.forwarded, c.duplicate, c.stale, c.chunk_duplicate,
      c.unstamped_dropped, c.malformed, c.corrupt, c.abandoned, c.dead_lettered, c.gaps, s.consumer.checkpoints,
      s.consumer.checkpoint_failures, s.consumer.rewinds);
  if (s.consumer.checkpoint_alignments > 0) {
    r.message += fmt::format(" | {} checkpoints waited for chunked messages in progress ({} in vain)",
                             s.consumer.checkpoint_alignments, s.consumer.checkpoint_alignments_expired);
  }
  r.fields = {Field("runtime_s", runtime),        Field("records_in", c.records),
              Field("delivered", c.delivered),    Field("delivered_chunked", c.delivered_chunked),
              Field("forwarded", s.forwarded),    Field("duplicates", c.duplicate),
              Field("stale", c.stale),            Field("chunk_duplicates", c.chunk_duplicate),
              Field("unstamped_dropped", c.unstamped_dropped), Field("malformed", c.malformed),
              Field("corrupt", c.corrupt),        Field("abandoned", c.abandoned),
              Field("dead_letters", c.dead_lettered), Field("gaps", c.gaps),
              Field("checkpoints", s.consumer.checkpoints), Field("checkpoint_failures", s.consumer.checkpoint_failures),
              Field("rewinds", s.consumer.rewinds),
              Field("checkpoint_alignments", s.consumer.checkpoint_alignments),
              Field("checkpoint_alignments_expired", s.consumer.checkpoint_alignments_expired)};
  return r;
}

}  // namespace exactly::relay_app
