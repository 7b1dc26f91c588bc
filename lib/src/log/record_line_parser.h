// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// RecordLineParser: one recorded-log line -> RecordView, with simdjson's
// On-Demand API. Strings without escapes are handed out in place (views
// into the caller's line); escaped ones are decoded into a scratch buffer
// owned by the parser. Either way the views are valid until the next
// Parse() call and as long as the line's memory is unchanged.
//
// Thread safety: not thread-safe; one parser per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/record.h"
#include "exactly/status.h"

namespace exactly::logfmt {

// Readable bytes the parser needs after the end of every line it is given
// (simdjson reads whole SIMD blocks). Equals SIMDJSON_PADDING.
std::size_t LinePadding() noexcept;

class RecordLineParser {
 public:
  RecordLineParser();
  ~RecordLineParser();
  RecordLineParser(const RecordLineParser&) = delete;
  RecordLineParser& operator=(const RecordLineParser&) = delete;

  // Parses `line`; `capacity` >= line.size() + LinePadding() bytes starting
  // at line.data() must be readable. On error the Status message carries
  // no position: the caller prefixes it.
  Status Parse(std::string_view line, std::size_t capacity, RecordView* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::logfmt
