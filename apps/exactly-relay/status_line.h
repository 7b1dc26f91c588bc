// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's periodic status line: throughput since the previous line,
// totals, and the age of the last checkpoint.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <string>

#include "exactly/kafka/relay.h"

namespace exactly::relay_app {

class StatusLine {
 public:
  using Clock = std::chrono::steady_clock;
  StatusLine() : last_time_(Clock::now()) {}

  // One line (without a newline) describing `s`; rates are since the
  // previous call.
  std::string Format(const kafka::RelayStats& s, Clock::time_point now = Clock::now());

 private:
  Clock::time_point last_time_;
  std::uint64_t last_in_ = 0;
  std::uint64_t last_out_ = 0;
};

// "1.2k", "3.4M": compact counts for status lines.
std::string Compact(double value);

}  // namespace exactly::relay_app
