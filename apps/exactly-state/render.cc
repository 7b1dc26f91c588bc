// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "render.h"

#include <fmt/format.h>

#include <ctime>

#include "exactly/recorded_log.h"

namespace exactly::statetool {

std::string Printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      out += ch;
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::string FormatUnixMs(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (ms < 0 || ::gmtime_r(&secs, &tm) == nullptr) return fmt::format("{}ms", ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string FormatAge(std::int64_t ms) {
  if (ms < 0) ms = 0;
  const std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}.{}s", s, (ms % 1000) / 100);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::uint64_t InProgressBytes(const PartitionState& state) {
  std::uint64_t n = 0;
  for (const InProgressState& m : state.in_progress) {
    for (const ChunkState& c : m.chunks) n += c.value ? c.value->size() : 0;
  }
  return n;
}

namespace {

void AppendOptionalString(std::string& out, const std::optional<std::string>& s) {
  if (s) {
    AppendJsonString(out, *s);
  } else {
    out += "null";
  }
}

}  // namespace

std::string StoreJsonLine(const std::string& dir, const StoreInfo& info) {
  std::string out = "{\"type\":\"store\",\"dir\":";
  AppendJsonString(out, dir);
  out += fmt::format(",\"format_version\":{},\"store_id\":", info.format_version);
  AppendJsonString(out, info.store_id);
  out += ",\"created_by\":";
  AppendJsonString(out, info.created_by);
  out += ",\"written_by\":";
  AppendJsonString(out, info.written_by);
  out += fmt::format(",\"last_checkpoint\":{},\"last_checkpoint_unix_ms\":", info.last_checkpoint);
  out += info.last_checkpoint_unix_ms > 0 ? std::to_string(info.last_checkpoint_unix_ms) : "null";
  out += "}\n";
  return out;
}

std::string PartitionJsonLine(const TopicPartition& tp, const LoadedPartition& p) {
  std::string out = "{\"type\":\"partition\",\"topic\":";
  AppendJsonString(out, tp.topic.name());
  out += fmt::format(",\"partition\":{},\"next_offset\":{},\"checkpoint\":{},\"max_timestamp\":{},\"producers\":[",
                     tp.partition.value(), p.next_offset.value(), p.checkpoint, p.state.max_timestamp.value());
  bool first = true;
  for (const ProducerState& s : p.state.producers) {
    if (!first) out += ',';
    first = false;
    out += "{\"producer\":";
    AppendJsonString(out, s.producer);
    out += ",\"watermark\":";
    out += s.watermark ? fmt::format("{{\"epoch\":{},\"seq\":{}}}", s.watermark->epoch.value(), s.watermark->seq.value())
                       : std::string("null");
    out += fmt::format(",\"last_seen\":{}}}", s.last_seen.value());
  }
  out += "],\"in_progress\":[";
  first = true;
  for (const InProgressState& m : p.state.in_progress) {
    if (!first) out += ',';
    first = false;
    const InProgressHeader& h = m.header;
    out += "{\"producer\":";
    AppendJsonString(out, h.producer);
    out += fmt::format(",\"epoch\":{},\"seq\":{},\"count\":{},\"size\":{},\"crc\":{},\"first_offset\":{},\"key\":",
                       h.stamp.epoch.value(), h.stamp.seq.value(), h.count, h.size, h.crc, h.first_offset.value());
    if (h.have_chunk0) {
      AppendOptionalString(out, h.key0);
    } else {
      out += "null";
    }
    out += ",\"headers\":";
    if (!h.have_chunk0) {
      out += "null";
    } else {
      out += '[';
      for (std::size_t i = 0; i < h.headers0.size(); ++i) {
        if (i > 0) out += ',';
        out += '[';
        AppendJsonString(out, h.headers0[i].name);
        out += ',';
        AppendOptionalString(out, h.headers0[i].value);
        out += ']';
      }
      out += ']';
    }
    out += ",\"chunks\":[";
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
      const ChunkState& c = m.chunks[i];
      if (i > 0) out += ',';
      out += fmt::format("{{\"index\":{},\"offset\":{},\"timestamp\":{},\"value\":", c.index, c.offset.value(),
                         c.timestamp.value());
      AppendOptionalString(out, c.value);
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace exactly::statetool
