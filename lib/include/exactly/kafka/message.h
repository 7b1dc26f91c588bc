// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// KafkaMessage: one consumed record, owning the underlying librdkafka
// message (released in the destructor). Move-only: there is exactly one
// owner of each librdkafka message.
//
// The accessors return views into librdkafka's memory, valid while the
// KafkaMessage lives and is not moved from. view() gives the core's
// RecordView of the same record; its header span is built once per message
// and cached, inline (no allocation) for up to kInlineHeaders headers.
//
// A KafkaMessage may also carry a consumer-side event instead of a record
// (librdkafka reports partition EOF and per-partition errors as messages):
// then ok() is false and status() says what happened.
//
// A KafkaMessage must not outlive its Consumer's Close() or destruction:
// librdkafka keeps the client handle alive for it, so closing waits for it
// to be destroyed, forever. Copy out what must be kept longer.
//
// Thread safety: one owner; not for concurrent use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

// librdkafka's message struct. Forward-declared (not included) so that this
// header does not pull in rdkafka.h; wrapping it behind a pimpl would cost
// an allocation per consumed record.
struct rd_kafka_message_s;

namespace exactly::kafka {

class KafkaMessage {
 public:
  // Headers kept without an allocation: a stamped record has three
  // envelope headers, a relayed one four; more spill to the heap.
  static constexpr std::size_t kInlineHeaders = 8;

  KafkaMessage() noexcept = default;
  // Takes ownership of a message from rd_kafka_consumer_poll().
  explicit KafkaMessage(rd_kafka_message_s* msg) noexcept : msg_(msg) {}
  ~KafkaMessage();
  KafkaMessage(KafkaMessage&& o) noexcept;
  KafkaMessage& operator=(KafkaMessage&& o) noexcept;
  KafkaMessage(const KafkaMessage&) = delete;
  KafkaMessage& operator=(const KafkaMessage&) = delete;

  bool empty() const noexcept { return msg_ == nullptr; }
  // False for an event or error carried as a message.
  bool ok() const noexcept;
  Status status() const;
  // True for the "reached the end of the partition" event.
  bool partition_eof() const noexcept;
  // True for librdkafka's report that a topic does not exist on the
  // cluster (UNKNOWN_TOPIC_OR_PART, as a subscribed topic missing is
  // reported, or __UNKNOWN_TOPIC); false for a partition the client's
  // metadata does not have (__UNKNOWN_PARTITION), which newer metadata
  // resolves. Both have status() kNotFound.
  bool topic_unknown() const noexcept;

  std::string_view topic() const noexcept;
  Partition partition() const noexcept;
  Offset offset() const noexcept;
  TimestampMs timestamp() const noexcept;  // -1 when the broker gave none
  NullableBytes key() const noexcept;
  NullableBytes value() const noexcept;
  std::span<const HeaderView> headers() const;
  RecordView view() const;

  // Relinquishes ownership (for handing back to librdkafka).
  rd_kafka_message_s* release() noexcept;

 private:
  void CopyHeadersFrom(const KafkaMessage& o) noexcept;

  // Left uninitialized: a KafkaMessage is built per consumed record, and
  // HeaderView is trivially copyable and destructible.
  union InlineHeaders {
    InlineHeaders() noexcept {}
    HeaderView at[kInlineHeaders];
  };

  rd_kafka_message_s* msg_ = nullptr;
  mutable bool headers_built_ = false;
  mutable std::size_t header_count_ = 0;  // in inline_headers_, unless spilled
  mutable InlineHeaders inline_headers_;
  mutable std::vector<HeaderView> spilled_headers_;  // more than kInlineHeaders
};

}  // namespace exactly::kafka
