// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "relay_dead_letters.h"

#include <fmt/format.h>

#include <exception>
#include <string>
#include <utility>

#include "exactly/kafka/relay.h"
#include "relay_output.h"

namespace exactly::kafka {

namespace {
// Room for the dead-letter headers and librdkafka's record overhead.
constexpr std::size_t kRoom = 1024;
}  // namespace

void RelayDeadLetters::OnRejected(const Rejected& rejected) noexcept {
  if (topic_.empty()) return;
  try {
    Send(rejected);
  } catch (const std::exception& ex) {
    if (error_.ok()) error_ = Status::Internal(fmt::format("dead letter: {}", ex.what()));
  } catch (...) {
    if (error_.ok()) error_ = Status::Internal("dead letter: unknown failure");
  }
}

void RelayDeadLetters::Send(const Rejected& rejected) {
  const RecordView& r = rejected.record;
  const std::string partition = std::to_string(r.partition.value());
  const std::string offset = std::to_string(r.offset.value());
  headers_.assign(r.headers.begin(), r.headers.end());
  headers_.push_back({relay_header::kDeadLetterReason, RejectReasonName(rejected.reason)});
  headers_.push_back({relay_header::kDeadLetterDetail, rejected.detail});
  headers_.push_back({relay_header::kDeadLetterTopic, r.topic});
  headers_.push_back({relay_header::kDeadLetterPartition, partition});
  headers_.push_back({relay_header::kDeadLetterOffset, offset});

  // A rejected record may be larger than the dead-letter topic takes (it
  // came from elsewhere, with other limits): keep its head and say so,
  // rather than failing every checkpoint on it.
  NullableBytes value = r.value;
  std::string original_size;
  const std::size_t limit = producer_.max_message_bytes();
  const std::size_t overhead = (r.key ? r.key->size() : 0) + HeaderBytes(headers_) + kRoom;
  if (value && value->size() + overhead > limit) {
    original_size = std::to_string(value->size());
    value = value->substr(0, limit > overhead ? limit - overhead : 0);
    headers_.push_back({relay_header::kDeadLetterTruncated, original_size});
  }
  Status st = producer_.Produce(OutgoingRecord{topic_, std::nullopt, r.key, value, headers_}, timeout_);
  if (!st.ok()) {
    if (error_.ok()) {
      error_ = st.WithContext(fmt::format("dead letter for {}[{}]@{}", r.topic, partition, offset));
    }
    return;
  }
  ++sent_;
}

Status RelayDeadLetters::TakeError() { return std::exchange(error_, Status::OK()); }

}  // namespace exactly::kafka
