// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The demo's traffic generator: stamped input with everything the dedup
// relay exists for. Several producers, each of which now and then re-sends
// its last few messages (a retried window: duplicates); one that restarts
// with a bumped epoch while its old instance keeps sending (a zombie: stale
// records); chunked messages over 1 MB (one of them re-sent); a chunked
// message with a wrong eo.crc (corrupt); malformed records; unstamped ones.
//
// Stamps are written by hand (FormatStamp), not with StampedProducer,
// because re-sending an old stamp is the point. Everything goes through
// one idempotent producer, so each partition's log order is send order.
// The output is deterministic for a given seed.
//
// Also used by the relay's integration tests. Thread safety: one thread
// per call; `progress` and `stop` may be touched by other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/kafka/producer.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::relay_demo {

struct TrafficOptions {
  std::string topic;
  std::int32_t partitions = 1;
  int producers = 4;
  std::string producer_prefix = "orders";  // producer ids are <prefix>-<i>
  std::uint64_t messages = 4000;  // per producer, first sends
  std::size_t value_bytes = 120;
  std::size_t chunk_bytes = 256 << 10;  // chunk size of the large messages
  // Large messages, sent chunked by producer 0 (the first one twice).
  std::vector<std::size_t> large_messages = {1'500'000, 2'600'000};
  int retry_percent = 2;      // chance per message of re-sending a window
  int max_retry_window = 8;   // messages per re-sent window
  bool zombie = true;         // producer 1 restarts half-way; the old one keeps going
  int malformed = 5;
  bool corrupt = true;        // producer 2 sends one chunked message with a bad eo.crc
  int unstamped = 5;
  std::uint32_t seed = 42;
  // Records per second, for live demos; 0: as fast as possible.
  std::uint64_t records_per_second = 0;
};

struct TrafficReport {
  std::uint64_t records = 0;     // input records produced
  std::uint64_t messages = 0;    // first sends of stamped messages
  std::uint64_t resent = 0;      // records re-sent in retried windows
  std::uint64_t zombie = 0;      // records from the fenced old instance
  std::uint64_t large = 0;       // messages over chunk_bytes
  std::uint64_t malformed = 0;
  std::uint64_t corrupt_chunks = 0;
  std::uint64_t unstamped = 0;
};

// Produces the traffic and flushes it. `progress` counts records queued.
Status GenerateTraffic(kafka::Producer& producer, const TrafficOptions& options, TrafficReport* report,
                       std::atomic<std::uint64_t>* progress = nullptr, const std::atomic<bool>* stop = nullptr);

// One stamped message, as one record or as chunks of `chunk_bytes`.
struct StampedSend {
  std::string_view topic;
  Partition partition;
  std::string_view producer;
  EpochSeq stamp;
  NullableBytes key;
  std::string_view value;
  std::size_t chunk_bytes = 0;              // 0 or >= value size: one record
  std::span<const HeaderView> headers;      // user headers (chunk 0 only)
  std::optional<std::uint32_t> crc;         // override eo.crc (to corrupt a message)
};
// Queues the records; returns how many.
Result<std::uint32_t> SendStamped(kafka::Producer& producer, const StampedSend& send);

// Compressible, deterministic text of `size` bytes.
std::string FillerText(std::size_t size, std::uint64_t tag);

}  // namespace exactly::relay_demo
