// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: the relay's output producer. An idempotent librdkafka producer
// whose messages are grouped into numbered batches, one per checkpoint
// interval, so the relay can ask "is every message produced before this
// mark acknowledged?" without stopping to flush. That lets a checkpoint be
// committed while newer output is still in flight (DESIGN.md §4 asks only
// that the outputs *below* the checkpointed offsets be acknowledged).
// Not installed.
//
// Contract
// - Produce() copies the record and tags it with the current batch; when
//   librdkafka's queue is full it serves delivery reports and retries
//   until the timeout (kResourceExhausted, retryable). The topic handle
//   is looked up once per topic (a few topics kept), not per record.
//   Every kServeReportsEveryRecords records or kServeReportsEveryBytes
//   value bytes it also serves the delivery reports that have arrived:
//   librdkafka frees a copy only once its report is served, so without
//   this every copy acknowledged since the last Durable() (one checkpoint
//   interval of output) stayed in memory, and its pages were returned
//   and faulted in again each interval.
// - Mark() closes the current batch and returns its number.
// - Durable(mark) serves pending delivery reports without blocking, then
//   says whether every message of every batch <= mark is acknowledged; an
//   error if one of them failed (naming the first failure).
// - Flush(timeout) waits for everything, and fails if any message
//   produced since the last ForgetFailures() failed.
// - ForgetFailures(): after a rewind the failed range is produced again;
//   failures of messages produced before this call no longer count.
// - A fatal librdkafka error (e.g. the idempotent producer out of
//   sequence) makes every later call fail with it.
// - The destructor releases the handle without flushing (a crash, as far
//   as the outputs are concerned).
//
// Thread safety: one thread produces and asks; delivery reports are
// served on that thread (by Produce, Durable and Flush).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "exactly/kafka/config.h"
#include "exactly/kafka/producer.h"
#include "exactly/status.h"

namespace exactly::kafka {

class TrackedProducer {
 public:
  // `config` must not disable idempotence; it is enabled here.
  static Result<std::unique_ptr<TrackedProducer>> Create(const KafkaConfig& config);
  ~TrackedProducer();
  TrackedProducer(const TrackedProducer&) = delete;
  TrackedProducer& operator=(const TrackedProducer&) = delete;

  Status Produce(const OutgoingRecord& record, std::chrono::milliseconds timeout);
  std::uint64_t Mark();
  Result<bool> Durable(std::uint64_t mark);
  Status Flush(std::chrono::milliseconds timeout);
  void ForgetFailures();
  Status Close(std::chrono::milliseconds timeout);

  std::size_t max_message_bytes() const noexcept { return max_message_bytes_; }

  // As kafka::Producer's.
  static constexpr std::uint64_t kServeReportsEveryRecords = Producer::kServeReportsEveryRecords;
  static constexpr std::uint64_t kServeReportsEveryBytes = Producer::kServeReportsEveryBytes;
  DeliveryCounters counters() const;

 private:
  struct Batch {
    std::uint64_t outstanding = 0;
    std::uint64_t failed = 0;
    std::string first_failure;
  };
  struct Impl;
  TrackedProducer() = default;

  void OnDelivery(std::uint64_t batch, bool ok, std::string_view failure) noexcept;
  Status FirstFailure(std::uint64_t up_to);

  std::size_t max_message_bytes_ = 1000000;
  mutable std::mutex mu_;  // guards everything below (reports come from librdkafka)
  std::uint64_t current_ = 1;
  std::uint64_t floor_ = 0;  // failures of batches below this are forgotten
  std::map<std::uint64_t, Batch> batches_;
  DeliveryCounters counters_;
  Status fatal_;
  std::unique_ptr<Impl> impl_;  // the librdkafka handle; last, destroyed first
};

}  // namespace exactly::kafka
