// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: single-owner RAII wrappers over librdkafka's C handles and the
// conversions shared by the kafka layer. Not installed.
//
// Every deleter is noexcept and tolerates null. rd_kafka_t handles are
// destroyed with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE so a destructor never
// blocks on a group handshake; orderly shutdown is the owners' Close().
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "exactly/kafka/config.h"
#include "exactly/kafka/producer.h"
#include "exactly/status.h"

namespace exactly::kafka::detail {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};
struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept { rd_kafka_topic_partition_list_destroy(l); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const noexcept { rd_kafka_headers_destroy(h); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const noexcept { rd_kafka_error_destroy(e); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using TopicPartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// Sets one property; kInvalidArgument naming it and librdkafka's reason.
Status SetProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value);
// A new configuration with every pair of `config` applied in order.
Result<ConfPtr> BuildConf(const KafkaConfig& config);
// Creates a client, taking ownership of `conf` on success and failure.
Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf);

// A producer client: `config` applied, `opaque` handed to both callbacks.
// Also reads back `message.max.bytes` as librdkafka resolved it; a value
// that is not a plain decimal is kInvalidArgument (never an exception).
struct ProducerHandle {
  HandlePtr rk;
  std::size_t max_message_bytes = 0;
};
using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);
using ErrorCallback = void (*)(rd_kafka_t*, int, const char*, void*);
Result<ProducerHandle> NewProducer(const KafkaConfig& config, void* opaque, DeliveryCallback on_delivery,
                                   ErrorCallback on_error);

// A decimal size property ("message.max.bytes" = "1000000").
Result<std::size_t> ParseSizeProperty(std::string_view key, std::string_view text);

// For error callbacks: the client's fatal error (rd_kafka_fatal_error) as
// kAborted, naming `client` and librdkafka's reason.
Status FatalErrorStatus(rd_kafka_t* rk, std::string_view client, const char* reason);

// Queues a copy of `record` (key, value and headers) with `opaque` as the
// message's opaque; librdkafka's error code, e.g. __QUEUE_FULL.
rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* rk, const std::string& topic, const OutgoingRecord& record,
                                void* opaque);
// The same with a topic handle of `rk` (record.topic is not read): spares
// librdkafka a lookup of the topic by name, under its client lock, per
// message.
rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* rk, rd_kafka_topic_t* topic, const OutgoingRecord& record, void* opaque);

// When a producer serves the delivery reports that have arrived while it
// produces: every Producer::kServeReportsEveryRecords records or
// kServeReportsEveryBytes value bytes. librdkafka frees a copy only once
// its report is served. Thread-safe: producers racing on it may serve one
// time more or fewer, no harm.
class ReportCadence {
 public:
  // After a record of `value_bytes` was queued on `rk`.
  void Produced(rd_kafka_t* rk, std::uint64_t value_bytes) noexcept;

 private:
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

// Maps a librdkafka error code to a Status (OK for NO_ERROR), prefixed
// with `what`. Transport, timeout and leadership errors are retryable.
Status FromError(rd_kafka_resp_err_t err, std::string_view what);
// As FromError, for an rd_kafka_error_t (fatal / retriable flags honoured).
// Takes ownership of `error`.
Status FromErrorObject(rd_kafka_error_t* error, std::string_view what);

inline int TimeoutMs(std::chrono::milliseconds t) noexcept {
  if (t.count() < 0) return 0;
  if (t.count() > 0x7fffffff) return 0x7fffffff;
  return static_cast<int>(t.count());
}

}  // namespace exactly::kafka::detail
