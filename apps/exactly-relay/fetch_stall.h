// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Recognises a relay that sits idle while its input waits at the broker:
// librdkafka before 2.2 stops fetching for a fixed second once its queue
// holds queued.min.messages records (or queued.max.messages.kbytes), and
// does not resume when the application drains the queue. A relay faster
// than that queue per second then spends the rest of each second waiting
// (docs/OPERATIONS.md, "Small records at full speed").
//
// The signature, seen from the relay's loop: slices in which no record
// arrived although the partitions' high watermarks (as of the last fetch
// responses) are ahead of the relay, lasting at least `stall` in a row,
// `episodes` separate times. A relay that has caught up or that keeps
// receiving is never counted, nor fewer than `min_waiting` records at the
// broker: offsets that hold no record for the relay (transaction markers
// after the last record) keep a caught-up relay's lag above zero. A
// broker that is slow or failing over can look the same for a while,
// which is why one stall is not enough.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace exactly::kafka {
class KafkaConfig;
}

namespace exactly::relay_app {

class FetchStallDetector {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds stall{300};
    int episodes = 3;
    std::uint64_t min_waiting = 1000;
  };

  FetchStallDetector() : FetchStallDetector(Options{}) {}
  explicit FetchStallDetector(Options options) : options_(options) {}

  // After each slice of the loop: the records received so far (cumulative)
  // and how many wait at the broker (nullopt: not known yet). True exactly
  // once, at the observation that completes the `episodes`-th stall.
  bool Observe(Clock::time_point now, std::uint64_t received, std::optional<std::uint64_t> waiting);

  int episodes() const noexcept { return episodes_; }
  // The longest stall seen so far.
  std::chrono::milliseconds longest() const noexcept { return longest_; }

 private:
  Options options_;
  std::optional<Clock::time_point> last_;      // previous observation
  std::optional<Clock::time_point> stalled_;   // start of the current stall
  std::uint64_t received_ = 0;
  int episodes_ = 0;
  std::chrono::milliseconds longest_{0};
};

// The warning exactly-relay logs when the detector fires: what was seen,
// the consumer's queue settings in `consumer_config` (or librdkafka's
// defaults), and the setting to raise.
std::string FetchStallWarning(const FetchStallDetector& detector, std::uint64_t waiting,
                              const kafka::KafkaConfig& consumer_config);

}  // namespace exactly::relay_app
