// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// One record as a JSON line. The line is written through a raw pointer
// into space reserved once for its worst case (every byte escaped): one
// reservation per record instead of dozens of small appends.
#include <charconv>
#include <cstdint>
#include <cstring>

#include "exactly/recorded_log.h"
#include "log/json_text.h"
#include "log/record_line_writer.h"

namespace exactly {
namespace {

constexpr std::size_t kIntBound = 20;  // digits and sign of any int64

char* Literal(char* dst, std::string_view s) noexcept {
  std::memcpy(dst, s.data(), s.size());
  return dst + s.size();
}

char* Int(char* dst, std::int64_t v) noexcept { return std::to_chars(dst, dst + kIntBound, v).ptr; }

char* Nullable(char* dst, const NullableBytes& b) noexcept {
  return b ? logfmt::WriteJsonString(dst, *b) : Literal(dst, "null");
}

std::size_t NullableBound(const NullableBytes& b) noexcept { return b ? logfmt::JsonStringBound(b->size()) : 4; }

std::size_t HeadersBound(std::span<const HeaderView> headers) noexcept {
  std::size_t n = 0;
  for (const HeaderView& h : headers) n += logfmt::JsonStringBound(h.name.size()) + NullableBound(h.value) + 2;
  return n;
}

char* Headers(char* dst, std::span<const HeaderView> headers, bool& first) noexcept {
  for (const HeaderView& h : headers) {
    if (!first) *dst++ = ',';
    first = false;
    dst = logfmt::WriteJsonString(dst, h.name);
    *dst++ = ',';
    dst = Nullable(dst, h.value);
  }
  return dst;
}

}  // namespace

namespace logfmt {

std::size_t RecordLineBound(const RecordView& record, std::span<const HeaderView> extra_headers) noexcept {
  return 96 + 3 * kIntBound + JsonStringBound(record.topic.size()) + NullableBound(record.key) +
         NullableBound(record.value) + HeadersBound(record.headers) + HeadersBound(extra_headers);
}

char* WriteRecordLine(char* p, const RecordView& record, std::span<const HeaderView> extra_headers) noexcept {
  // Field order as kcat prints it, without kcat's tstype and broker.
  p = Literal(p, "{\"topic\":");
  p = WriteJsonString(p, record.topic);
  p = Literal(p, ",\"partition\":");
  p = Int(p, record.partition.value());
  p = Literal(p, ",\"offset\":");
  p = Int(p, record.offset.value());
  p = Literal(p, ",\"ts\":");
  p = Int(p, record.timestamp.value());
  if (!record.headers.empty() || !extra_headers.empty()) {
    p = Literal(p, ",\"headers\":[");
    bool first = true;
    p = Headers(p, record.headers, first);
    p = Headers(p, extra_headers, first);
    *p++ = ']';
  }
  p = Literal(p, ",\"key\":");
  p = Nullable(p, record.key);
  p = Literal(p, ",\"payload\":");
  p = Nullable(p, record.value);
  return Literal(p, "}\n");
}

}  // namespace logfmt

void AppendRecordLine(std::string& out, const RecordView& record, std::span<const HeaderView> extra_headers) {
  const std::size_t old = out.size();
  out.resize(old + logfmt::RecordLineBound(record, extra_headers));
  char* end = logfmt::WriteRecordLine(out.data() + old, record, extra_headers);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace exactly
