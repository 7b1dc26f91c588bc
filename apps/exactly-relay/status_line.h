// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's periodic status line (throughput since the previous line,
// consumer lag, drops, dead letters, the age of the last checkpoint) and
// the summary printed at shutdown. Each comes as a message plus the same
// figures as log fields, so --log-format json carries them as numbers.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "exactly/kafka/relay.h"
#include "log.h"

namespace exactly::relay_app {

struct StatusReport {
  std::string message;
  std::vector<apps::LogField> fields;
};

// Sum over the partitions of high watermark - next offset; nullopt while
// no partition has both.
std::optional<std::uint64_t> TotalLag(std::span<const kafka::PartitionPosition> positions);

class StatusLine {
 public:
  using Clock = std::chrono::steady_clock;
  StatusLine() : start_(Clock::now()), last_time_(start_) {}

  // Rates are since the previous call.
  StatusReport Format(const kafka::RelayStats& s, std::span<const kafka::PartitionPosition> positions,
                      Clock::time_point now = Clock::now());
  // Totals by outcome, checkpoints and the time since construction.
  StatusReport Summary(const kafka::RelayStats& s, Clock::time_point now = Clock::now()) const;

 private:
  Clock::time_point start_;
  Clock::time_point last_time_;
  std::uint64_t last_in_ = 0;
  std::uint64_t last_out_ = 0;
};

// "1.2k", "3.4M": compact counts for status lines.
std::string Compact(double value);

}  // namespace exactly::relay_app
