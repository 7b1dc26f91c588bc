// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Relay: the dedup relay behind `exactly-relay`. Consumes input topics
// through a DedupConsumer, forwards every delivered message to an output
// topic re-stamped per DESIGN.md §5, and sends rejected records to a
// dead-letter topic.
//
// Contract
// - Output stamp: producer `<relay-id>/<input-topic>/<input-partition>`,
//   epoch `output_epoch`, seq = the input offset of the record that
//   completed the message. The original stamp is kept in one header,
//   exactly.origin = "<producer> <epoch> <seq>" (producer ids hold no
//   spaces; absent for unstamped input passed through). Key and user
//   headers are carried over; the input's envelope headers are not. Outputs are thus a pure function of the
//   input and the options: a restarted or duplicated relay emits the same
//   records, which any exactly consumer drops as duplicates.
// - Chunking: a message whose record would exceed the output producer's
//   `message.max.bytes` is split into chunks whose eo.chunk / eo.size /
//   eo.crc describe the output message; chunk 0 alone carries the user
//   and origin headers, every chunk the key. The chunk size depends only
//   on `message.max.bytes` and the message's key and headers: keep
//   `message.max.bytes` fixed for a given relay id and output epoch (or
//   bump the epoch when changing it).
// - Output partition: the input partition when the output topic has more
//   partitions than that number; otherwise by key hash (librdkafka's
//   default partitioner), or by the hash of the output producer id for
//   messages without a key. The partition count is read once, at Create.
// - Dead letters: each rejected record (malformed, corrupt, abandoned,
//   dropped unstamped) goes to `dead_letter_topic`, if set, with its key,
//   value and headers, plus exactly.dead-letter.reason, .detail, .topic,
//   .partition and .offset. A value too large to fit is cut and
//   exactly.dead-letter.truncated gives its original size. Dead letters
//   are not stamped: after a crash they may repeat (their topic /
//   partition / offset headers identify repeats).
// - Checkpoints (§4): pipelined. At each checkpoint interval the relay
//   marks the output produced so far and keeps relaying; the checkpoint is
//   committed once every output record (and dead letter) before the mark
//   is acknowledged by the brokers. Any failed delivery fails that
//   checkpoint, and the DedupConsumer rewinds to the last one instead of
//   recording offsets whose outputs are not durable; so does a mark not
//   acknowledged within `flush_timeout`. Checkpoints at revocation,
//   Checkpoint() and Close() flush the producer first (synchronous). A
//   periodic checkpoint first waits, up to `checkpoint_alignment`, for
//   chunked messages in progress to complete, so that it need not write
//   their chunks (aligned checkpoints, dedup_consumer.h).
// - The output producer is idempotent (enable.idempotence=true is forced;
//   false is kInvalidArgument), so retries never reorder a partition.
// - Errors: kInvalidArgument for bad options (a missing topic, an invalid
//   relay id, output equal to an input), kNotFound for a topic the cluster
//   does not have; run-time errors as DedupConsumer's.
//
// Thread safety: as DedupConsumer: one thread drives it; RequestStop()
// from any thread. The store must outlive the Relay.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "exactly/kafka/config.h"
#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/producer.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

namespace relay_header {
// "<producer> <epoch> <seq>": the stamp of the input message.
inline constexpr std::string_view kOrigin = "exactly.origin";
inline constexpr std::string_view kDeadLetterReason = "exactly.dead-letter.reason";
inline constexpr std::string_view kDeadLetterDetail = "exactly.dead-letter.detail";
inline constexpr std::string_view kDeadLetterTopic = "exactly.dead-letter.topic";
inline constexpr std::string_view kDeadLetterPartition = "exactly.dead-letter.partition";
inline constexpr std::string_view kDeadLetterOffset = "exactly.dead-letter.offset";
inline constexpr std::string_view kDeadLetterTruncated = "exactly.dead-letter.truncated";
}  // namespace relay_header

struct RelayOptions {
  // Client properties (bootstrap.servers required in both). The relay
  // sets group.id, the offset settings and enable.idempotence itself.
  KafkaConfig consumer_config;
  KafkaConfig producer_config;
  std::string group;
  std::vector<std::string> inputs;
  std::string output;
  std::string dead_letter_topic;  // empty: rejected records are only counted
  std::string relay_id;
  Epoch output_epoch{0};
  std::chrono::milliseconds checkpoint_interval{1000};
  std::uint64_t checkpoint_records = 0;  // 0: by time only
  // As DedupConsumerOptions (aligned checkpoints; 0 ms: never wait).
  std::chrono::milliseconds checkpoint_alignment{100};
  std::uint64_t checkpoint_alignment_bytes = 64ull << 20;
  std::chrono::milliseconds flush_timeout{30000};
  std::chrono::milliseconds metadata_timeout{10000};
  EngineOptions engine;
  std::function<void(std::string_view)> log;  // default: stderr
  // As DedupConsumerOptions::on_checkpoint (loop thread, after each one).
  std::function<void(std::chrono::microseconds)> on_checkpoint;
};

struct RelayStats {
  DedupConsumerStats consumer;
  std::uint64_t forwarded = 0;          // messages sent to the output (replays included)
  std::uint64_t forwarded_chunked = 0;  // of which split into several records
  std::uint64_t output_records = 0;
  std::uint64_t dead_lettered = 0;      // records sent to the dead-letter topic
  DeliveryCounters producer;            // output and dead-letter records
};

// `<relay-id>/<topic>/<partition>`: the producer id of the relay's output
// for one input partition.
std::string RelayProducerId(std::string_view relay_id, std::string_view topic, Partition partition);

// The exactly.origin header value for an input stamp.
std::string FormatOrigin(std::string_view producer, EpochSeq stamp);

class Relay {
 public:
  static Result<std::unique_ptr<Relay>> Create(CheckpointStore& store, RelayOptions options);
  // Without Close(): nothing is flushed or checkpointed (as a crash).
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  Status RunFor(std::chrono::milliseconds duration);
  Status Run();
  void RequestStop() noexcept;
  Status Checkpoint();
  // Final checkpoint (flushing the output), leaves the group, closes the
  // producer; within `timeout`.
  Status Close(std::chrono::milliseconds timeout);

  RelayStats stats() const;
  std::vector<PartitionPosition> Positions() const;
  std::int32_t output_partitions() const noexcept;

 private:
  struct Impl;
  explicit Relay(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka
