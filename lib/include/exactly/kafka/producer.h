// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Producer: one owner of a librdkafka producer handle.
//
// Contract
// - Create() applies the KafkaConfig; a property librdkafka rejects is
//   reported naming the property. Idempotence is not forced here (see
//   StampedProducer, which forces it).
// - Produce() copies key, value and headers, so the caller's buffers may be
//   reused as soon as it returns. When librdkafka's queue is full it serves
//   delivery reports and retries until `timeout`, then returns kTimedOut.
//   Every kServeReportsEveryRecords records or kServeReportsEveryBytes
//   value bytes it also serves the reports that have arrived: librdkafka
//   frees a copy only once its report is served, so a caller that never
//   polled held every acknowledged copy (up to queue.buffering.max.kbytes).
// - Every delivery report is counted. Flush(timeout) waits until nothing is
//   outstanding and fails if any delivery failed since the previous Flush,
//   naming the first failure's topic, partition and reason; kTimedOut if
//   messages are still outstanding at the deadline.
// - A fatal librdkafka error (for example, the idempotent producer fenced
//   or out of sequence) makes every later call fail with that error.
// - Close(timeout) flushes, then releases the handle. The destructor of an
//   unclosed producer releases the handle without flushing (undelivered
//   messages are lost: call Close() or Flush() to deliver them).
//
// Thread safety: Produce() and Flush() may be called from different
// threads (librdkafka's handle is thread-safe); Close() and destruction
// must not race with anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "exactly/kafka/config.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

struct OutgoingRecord {
  std::string_view topic;
  std::optional<Partition> partition;  // nullopt: librdkafka's partitioner decides
  NullableBytes key;
  NullableBytes value;
  std::span<const HeaderView> headers;
};

struct DeliveryCounters {
  std::uint64_t produced = 0;   // accepted by Produce()
  std::uint64_t delivered = 0;  // acknowledged by the broker
  std::uint64_t failed = 0;     // delivery report with an error
};

class Producer {
 public:
  static constexpr std::uint64_t kServeReportsEveryRecords = 1024;
  static constexpr std::uint64_t kServeReportsEveryBytes = std::uint64_t{16} << 20;

  static Result<Producer> Create(const KafkaConfig& config);

  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer();

  Status Produce(const OutgoingRecord& record, std::chrono::milliseconds timeout);
  Status Flush(std::chrono::milliseconds timeout);
  // Serves delivery reports for up to `timeout`; returns how many were served.
  int Poll(std::chrono::milliseconds timeout);
  Status Close(std::chrono::milliseconds timeout);

  // Partition count of a topic from the cluster's metadata, cached after
  // the first successful lookup. kNotFound for an unknown topic.
  Result<std::int32_t> PartitionCount(std::string_view topic, std::chrono::milliseconds timeout);
  // librdkafka's `message.max.bytes` as configured for this client.
  std::size_t max_message_bytes() const noexcept;
  // Messages produced and not yet acknowledged or failed.
  std::size_t outstanding() const noexcept;
  DeliveryCounters counters() const noexcept;
  // The fatal error, if one occurred (OK otherwise).
  Status fatal_error() const;

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// The partition librdkafka's default partitioner (`consistent_random`)
// gives a non-empty key: CRC32 of the key modulo the partition count.
Partition PartitionForKey(std::string_view key, std::int32_t partition_count) noexcept;

}  // namespace exactly::kafka
