// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: the relay's output side. RelayOutput turns one delivered
// message into the output records of DESIGN.md §5 (re-stamped, re-chunked
// when too large, partitioned deterministically) and queues them on the
// producer. Not installed.
//
// Thread safety: one thread at a time (scratch buffers are reused).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/engine.h"
#include "exactly/envelope.h"
#include "exactly/kafka/producer.h"
#include "tracked_producer.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

struct RelayOutputSpec {
  std::string topic;
  std::string relay_id;
  Epoch epoch;
  std::int32_t partitions = 1;  // of the output topic
  EnvelopeLimits limits;        // what downstream consumers accept
  std::chrono::milliseconds produce_timeout{30000};
};

class RelayOutput {
 public:
  RelayOutput(TrackedProducer& producer, RelayOutputSpec spec);

  // Queues the output records of `m`. Errors are Produce's (retryable when
  // librdkafka's queue stayed full), or kInvalidArgument when the message
  // cannot be represented under the output's limits.
  Status Forward(const Message& m);

  std::uint64_t forwarded() const noexcept { return forwarded_; }
  std::uint64_t forwarded_chunked() const noexcept { return forwarded_chunked_; }
  std::uint64_t records() const noexcept { return records_; }

 private:
  const std::string& ProducerIdFor(std::string_view topic, Partition partition);
  Partition OutputPartition(const Message& m, std::string_view producer_id) const;

  TrackedProducer& producer_;
  RelayOutputSpec spec_;
  std::string epoch_text_;
  // Cache of the last input partition's producer id: runs of one
  // partition are the common case.
  std::string cached_topic_;
  Partition cached_partition_{-1};
  std::string cached_id_;
  // Scratch, reused per message.
  std::vector<HeaderView> headers_;
  std::vector<HeaderView> carried_;
  std::string origin_;                 // the exactly.origin value
  std::array<char, 20> number_buf_{};  // the eo.seq value
  std::uint64_t forwarded_ = 0;
  std::uint64_t forwarded_chunked_ = 0;
  std::uint64_t records_ = 0;
};

// Bytes librdkafka counts for headers against message.max.bytes, rounded up.
std::size_t HeaderBytes(std::span<const HeaderView> headers) noexcept;

}  // namespace exactly::kafka
