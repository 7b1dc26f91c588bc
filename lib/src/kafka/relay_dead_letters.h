// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: the relay's dead-letter sink. Forwards each rejected record to
// the dead-letter topic with headers naming the reason and where the
// record came from. The engine calls it synchronously and it must not
// throw, so a failure is kept and reported by the next pre-checkpoint hook
// (which then fails, rewinding the relay). Not installed.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "exactly/engine.h"
#include "exactly/kafka/producer.h"
#include "tracked_producer.h"
#include "exactly/status.h"

namespace exactly::kafka {

class RelayDeadLetters final : public DeadLetterSink {
 public:
  // An empty `topic` counts rejected records without sending them.
  RelayDeadLetters(TrackedProducer& producer, std::string topic, std::chrono::milliseconds produce_timeout)
      : producer_(producer), topic_(std::move(topic)), timeout_(produce_timeout) {}

  void OnRejected(const Rejected& rejected) noexcept override;

  // The first failure since the last call, then OK until the next one.
  Status TakeError();
  std::uint64_t sent() const noexcept { return sent_; }

 private:
  void Send(const Rejected& rejected);

  TrackedProducer& producer_;
  std::string topic_;
  std::chrono::milliseconds timeout_;
  Status error_;
  std::uint64_t sent_ = 0;
  std::vector<HeaderView> headers_;  // scratch
};

}  // namespace exactly::kafka
