// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Consumer: one owner of a librdkafka high-level consumer handle.
//
// Contract
// - Create() applies the KafkaConfig (errors name the bad property).
//   `group.id` is required by librdkafka's consumer; when absent a private
//   one is generated, which suits manual assignment.
// - Assign() takes explicit partitions and start offsets (no group
//   rebalancing); Subscribe() joins the configured group and lets librdkafka
//   assign partitions.
// - Poll(timeout) returns an empty KafkaMessage on timeout, a record, or a
//   per-partition event (KafkaMessage::ok() false, e.g. partition EOF).
//   A fatal client error (rd_kafka_fatal_error) is returned as a kAborted
//   Status by that Poll() and every later one.
// - Close(timeout) leaves the group and releases the handle, bounded by
//   `timeout` (librdkafka's blocking close is avoided). The destructor of an
//   unclosed consumer releases the handle without the group handshake.
//   Both then wait, with no bound, until every KafkaMessage this consumer
//   returned is destroyed (librdkafka keeps the handle alive for them):
//   destroy the messages you hold before closing.
//   Partitions revoked by Close itself are not reported to a
//   RebalanceListener: the owner finishes its work before calling Close.
// - With a RebalanceListener (Create's second argument), group
//   assignments and revocations are reported to it from inside Poll(), and
//   the Consumer then applies them (rd_kafka_assign for the eager
//   protocols, rd_kafka_incremental_assign/unassign for cooperative ones)
//   with the start offsets the listener chose. A failure to apply them is
//   returned by that Poll() as an error Status. Offset commits that fail
//   (async or not) are reported to it too, from a later Poll().
//
// Thread safety: Poll() from one thread at a time; the query calls
// (Watermarks, Committed) may run concurrently with it. Listener callbacks
// run on the thread calling Poll().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "exactly/kafka/config.h"
#include "exactly/kafka/message.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

// Kafka's logical offsets, as librdkafka spells them.
inline constexpr Offset kOffsetBeginning{-2};
inline constexpr Offset kOffsetEnd{-1};
inline constexpr Offset kOffsetStored{-1000};
inline constexpr Offset kOffsetInvalid{-1001};

struct TopicPartitionOffset {
  TopicPartition tp;
  Offset offset;
};

struct Watermarks {
  Offset low;   // first offset still in the log
  Offset high;  // next offset to be written
};

// Receives the group's rebalance decisions (subscribed consumers only).
// Both calls are made from inside Consumer::Poll(), on its thread, and
// must not throw. The listener may call the Consumer's Commit(), Seek()
// and query methods, but not Poll() or Close().
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // `partitions` were added to this member's assignment (the whole new
  // assignment for eager protocols, the increment for cooperative ones).
  // `start` has one entry per partition, preset to kOffsetInvalid (the
  // group's committed offset, else auto.offset.reset); set an entry to an
  // absolute offset to start there instead.
  virtual void OnAssigned(std::span<const TopicPartition> partitions, std::span<Offset> start) noexcept = 0;
  // `partitions` are about to be taken away; they are still assigned
  // during the call and unassigned right after it. `lost`: the group
  // already gave them to another member (session timeout, fencing,
  // rebalance error); committing offsets for them may fail, and any work
  // done for them now races with the new owner.
  virtual void OnRevoked(std::span<const TopicPartition> partitions, bool lost) noexcept = 0;
  // A transient client error (brokers unreachable, a connection reset...)
  // that librdkafka retries by itself; fatal ones are returned by Poll().
  // Without a listener they go to stderr.
  virtual void OnTransientError(const Status& error) noexcept { (void)error; }
  // An offset commit failed for `offsets` (those of one Commit() call that
  // the group coordinator did not take, e.g. the coordinator moved or was
  // unreachable). librdkafka does not retry it: committing again is the
  // listener's choice.
  virtual void OnCommitFailed(std::span<const TopicPartitionOffset> offsets, const Status& error) noexcept {
    (void)offsets;
    (void)error;
  }
};

class Consumer {
 public:
  static Result<Consumer> Create(const KafkaConfig& config);
  // As above, reporting rebalances to `listener`, which must outlive the
  // consumer (or its Close()).
  static Result<Consumer> Create(const KafkaConfig& config, RebalanceListener* listener);

  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer();

  Status Subscribe(const std::vector<std::string>& topics);
  Status Assign(std::span<const TopicPartitionOffset> partitions);
  Result<KafkaMessage> Poll(std::chrono::milliseconds timeout);

  Result<Watermarks> QueryWatermarks(const TopicPartition& tp, std::chrono::milliseconds timeout);
  // The high watermark librdkafka last saw in a fetch response for `tp`
  // (no request, never blocks); nullopt before the first fetch.
  std::optional<Offset> CachedHighWatermark(const TopicPartition& tp) const;
  // The group's committed offsets for `tps` (kOffsetInvalid where none).
  Result<std::vector<TopicPartitionOffset>> Committed(std::span<const TopicPartition> tps,
                                                      std::chrono::milliseconds timeout);
  // Commits `offsets` (the next offsets to consume). Synchronous unless
  // `async`, in which case errors reach the RebalanceListener's
  // OnCommitFailed from a later Poll() (without a listener, only
  // librdkafka's log).
  Status Commit(std::span<const TopicPartitionOffset> offsets, bool async);
  Result<std::vector<TopicPartition>> Assignment();
  // Moves the fetch position of assigned partitions. Waits up to `timeout`
  // for the fetcher to apply it, which guarantees that no record fetched
  // from the old position is returned by a later Poll(); kTimedOut if it
  // did not (the position is then unknown: seek again).
  Status Seek(std::span<const TopicPartitionOffset> offsets, std::chrono::milliseconds timeout);
  // "EAGER", "COOPERATIVE", or "NONE" before joining a group.
  std::string RebalanceProtocol();

  Status Close(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka
