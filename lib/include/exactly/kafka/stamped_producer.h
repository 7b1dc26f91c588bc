// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// StampedProducer: produces messages carrying the envelope of DESIGN.md §2
// (eo.producer, eo.epoch, eo.seq), splitting large ones into chunks
// (eo.chunk, eo.size, eo.crc).
//
// Contract
// - Identity: a stable producer id (validated: 1-255 bytes 0x21-0x7E); an
//   epoch given by the application or taken from an EpochDirectory (bumped
//   and synced on every Open, locked while this producer lives); sequences
//   from `first_seq` (default 0), +1 per message, unless a message names
//   its own sequence (which must then exceed the previous one).
// - A value larger than chunk_bytes() becomes N records (N <= max_chunks),
//   chunk I holding bytes [I*chunk, (I+1)*chunk). All chunks carry the key
//   and the same stamp; chunk 0 alone carries the caller's headers. The
//   partition is chosen once per message: the explicit one, else by key
//   hash as librdkafka's default partitioner does, else round-robin; so
//   every chunk lands in the same partition.
// - enable.idempotence=true is forced (and checked not to be overridden),
//   so chunks and messages stay in order under retries.
// - Caller headers named like an envelope header are kInvalidArgument.
// - Flush(timeout)/Close(timeout) report failed deliveries (see Producer).
//   A message is durable only once a Flush after its Send returned OK.
//
// Thread safety: not thread-safe (the sequence counter is unsynchronised).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "exactly/envelope.h"
#include "exactly/kafka/config.h"
#include "exactly/kafka/producer.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

struct StampedProducerOptions {
  ProducerId producer_id;
  // Exactly one of these: an explicit epoch, or a directory managing it.
  std::optional<Epoch> epoch;
  std::string epoch_dir;
  Sequence first_seq{0};
  // Bytes of message value per chunk. 0: message.max.bytes minus room for
  // the key, headers and record overhead (kChunkRoom).
  std::size_t chunk_bytes = 0;
  EnvelopeLimits limits;  // max chunks and max message size accepted
};

inline constexpr std::size_t kChunkRoom = 16 * 1024;

struct StampedMessage {
  std::string_view topic;
  std::optional<Partition> partition;
  NullableBytes key;
  NullableBytes value;  // null: a single record with a null value
  std::span<const HeaderView> headers;
  std::optional<Sequence> seq;  // nullopt: the next sequence
};

// Where a sent message went and with which stamp.
struct SentMessage {
  EpochSeq stamp;
  Partition partition;
  std::uint32_t chunks = 0;  // 0: a single unchunked record
};

class StampedProducer {
 public:
  static Result<StampedProducer> Open(const KafkaConfig& config, StampedProducerOptions options);

  StampedProducer(StampedProducer&&) noexcept;
  StampedProducer& operator=(StampedProducer&&) noexcept;
  StampedProducer(const StampedProducer&) = delete;
  StampedProducer& operator=(const StampedProducer&) = delete;
  ~StampedProducer();

  // Queues one message (all its chunks). `timeout` bounds waiting for queue
  // space and the first metadata lookup of a topic.
  Result<SentMessage> Send(const StampedMessage& message, std::chrono::milliseconds timeout);
  Status Flush(std::chrono::milliseconds timeout);
  Status Close(std::chrono::milliseconds timeout);

  const ProducerId& producer_id() const noexcept;
  Epoch epoch() const noexcept;
  Sequence next_seq() const noexcept;
  std::size_t chunk_bytes() const noexcept;
  Producer& producer() noexcept;

 private:
  struct Impl;
  explicit StampedProducer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka
