// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/message.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <type_traits>
#include <utility>

#include "handles.h"

namespace exactly::kafka {

static_assert(std::is_trivially_copyable_v<HeaderView> && std::is_trivially_destructible_v<HeaderView>,
              "KafkaMessage keeps HeaderViews in uninitialized storage");

KafkaMessage::~KafkaMessage() {
  if (msg_ != nullptr) rd_kafka_message_destroy(msg_);
}

// The views point into librdkafka's message, which moves with msg_.
void KafkaMessage::CopyHeadersFrom(const KafkaMessage& o) noexcept {
  headers_built_ = o.headers_built_;
  header_count_ = o.header_count_;
  if (headers_built_ && spilled_headers_.empty()) {
    std::uninitialized_copy_n(o.inline_headers_.at, header_count_, inline_headers_.at);
  }
}

KafkaMessage::KafkaMessage(KafkaMessage&& o) noexcept
    : msg_(std::exchange(o.msg_, nullptr)), spilled_headers_(std::move(o.spilled_headers_)) {
  CopyHeadersFrom(o);
  o.headers_built_ = false;
  o.header_count_ = 0;
}

KafkaMessage& KafkaMessage::operator=(KafkaMessage&& o) noexcept {
  if (this != &o) {
    if (msg_ != nullptr) rd_kafka_message_destroy(msg_);
    msg_ = std::exchange(o.msg_, nullptr);
    spilled_headers_ = std::move(o.spilled_headers_);
    o.spilled_headers_.clear();
    CopyHeadersFrom(o);
    o.headers_built_ = false;
    o.header_count_ = 0;
  }
  return *this;
}

bool KafkaMessage::ok() const noexcept { return msg_ != nullptr && msg_->err == RD_KAFKA_RESP_ERR_NO_ERROR; }

Status KafkaMessage::status() const {
  if (msg_ == nullptr) return Status::FailedPrecondition("empty message");
  if (msg_->err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  std::string what = "consume";
  if (msg_->rkt != nullptr) {
    what += " ";
    what += rd_kafka_topic_name(msg_->rkt);
    what += "[" + std::to_string(msg_->partition) + "]";
  }
  const char* detail = rd_kafka_message_errstr(msg_);
  if (detail != nullptr && *detail != '\0') {
    what += " (";
    what += detail;
    what += ")";
  }
  return detail::FromError(msg_->err, what);
}

bool KafkaMessage::partition_eof() const noexcept {
  return msg_ != nullptr && msg_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
}

bool KafkaMessage::topic_unknown() const noexcept {
  return msg_ != nullptr &&
         (msg_->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || msg_->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
}

std::string_view KafkaMessage::topic() const noexcept {
  if (msg_ == nullptr || msg_->rkt == nullptr) return {};
  return rd_kafka_topic_name(msg_->rkt);
}

Partition KafkaMessage::partition() const noexcept { return Partition(msg_ ? msg_->partition : -1); }
Offset KafkaMessage::offset() const noexcept { return Offset(msg_ ? msg_->offset : -1); }

TimestampMs KafkaMessage::timestamp() const noexcept {
  if (msg_ == nullptr) return TimestampMs(-1);
  rd_kafka_timestamp_type_t type;
  return TimestampMs(rd_kafka_message_timestamp(msg_, &type));
}

NullableBytes KafkaMessage::key() const noexcept {
  if (msg_ == nullptr || msg_->key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(msg_->key), msg_->key_len);
}

NullableBytes KafkaMessage::value() const noexcept {
  if (msg_ == nullptr || msg_->payload == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(msg_->payload), msg_->len);
}

std::span<const HeaderView> KafkaMessage::headers() const {
  if (!headers_built_) {
    headers_built_ = true;
    header_count_ = 0;
    spilled_headers_.clear();
    rd_kafka_headers_t* hdrs = nullptr;
    // The headers stay owned by the message.
    if (msg_ != nullptr && rd_kafka_message_headers(msg_, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
      const std::size_t count = rd_kafka_header_cnt(hdrs);
      if (count > kInlineHeaders) spilled_headers_.reserve(count);
      const char* name = nullptr;
      const void* val = nullptr;
      size_t size = 0;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        NullableBytes v;
        if (val != nullptr) v = std::string_view(static_cast<const char*>(val), size);
        if (count > kInlineHeaders) {
          spilled_headers_.push_back(HeaderView{name, v});
        } else if (i < kInlineHeaders) {
          std::construct_at(&inline_headers_.at[i], HeaderView{name, v});
          header_count_ = i + 1;
        }
      }
    }
  }
  if (!spilled_headers_.empty()) return spilled_headers_;
  return {inline_headers_.at, header_count_};
}

RecordView KafkaMessage::view() const {
  return RecordView{topic(), partition(), offset(), timestamp(), key(), value(), headers()};
}

rd_kafka_message_s* KafkaMessage::release() noexcept {
  spilled_headers_.clear();
  headers_built_ = false;
  header_count_ = 0;
  return std::exchange(msg_, nullptr);
}

}  // namespace exactly::kafka
