// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "fetch_stall.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "exactly/kafka/config.h"

namespace exactly::relay_app {

bool FetchStallDetector::Observe(Clock::time_point now, std::uint64_t received, std::optional<std::uint64_t> waiting) {
  const bool progressed = received != received_;
  received_ = received;
  const auto previous = std::exchange(last_, now);
  if (progressed || !waiting || *waiting < options_.min_waiting || !previous) {
    // Receiving, caught up, or nothing to compare with: not a stall.
    stalled_.reset();
    return false;
  }
  // Nothing arrived since the previous observation while records wait: the
  // stall began then, at the latest.
  if (!stalled_) stalled_ = *previous;
  const auto length = std::chrono::duration_cast<std::chrono::milliseconds>(now - *stalled_);
  longest_ = std::max(longest_, length);
  // A stall becomes an episode at the observation where it reaches
  // `stall`, once however long it lasts; the count passes `episodes` once.
  if (length < options_.stall || *previous - *stalled_ >= options_.stall) return false;
  return ++episodes_ == options_.episodes;
}

std::string FetchStallWarning(const FetchStallDetector& detector, std::uint64_t waiting,
                              const kafka::KafkaConfig& consumer_config) {
  const std::string messages = consumer_config.Get("queued.min.messages").value_or("100000, the default");
  const std::string kbytes = consumer_config.Get("queued.max.messages.kbytes").value_or("65536, the default");
  return fmt::format(
      "the consumer received nothing for up to {} ms, {} times, while {} records waited at the broker: librdkafka "
      "before 2.2 stops fetching for a second each time its queue holds queued.min.messages records ({}) or "
      "queued.max.messages.kbytes ({}), and a relay faster than that waits out the rest of the second; for small "
      "records at full speed set --consumer-X queued.min.messages to about a second of input, e.g. 500000 "
      "(docs/OPERATIONS.md, \"Small records at full speed\"); a slow or failing broker looks the same",
      detector.longest().count(), detector.episodes(), waiting, messages, kbytes);
}

}  // namespace exactly::relay_app
