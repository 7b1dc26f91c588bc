// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// ProducerSource: where an Engine with a bounded producer cache finds the
// producers it evicted (EngineOptions::max_resident_producers).
//
// Contract
// - FetchProducer(tp, producer) returns the producer's state as of the last
//   committed checkpoint that covered tp, or nullopt when none recorded it
//   (never seen, or forgotten by a producer-TTL purge). The engine only
//   evicts producers whose state is already in a committed checkpoint, so
//   what this returns is exactly what the engine held when it evicted.
// - An error (I/O, corruption) leaves the record undecided: the engine
//   returns Outcome::kFailed and keeps the error in Engine::failure().
// - Must not call back into the Engine.
//
// Thread safety: an implementation is called from the thread running the
// engine; a store shared by several engines must make it safe to call
// concurrently with its own writes.
#pragma once

#include <optional>
#include <string_view>

#include "exactly/partition_state.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly {

class ProducerSource {
 public:
  virtual ~ProducerSource() = default;
  virtual Result<std::optional<ProducerState>> FetchProducer(const TopicPartition& tp,
                                                             std::string_view producer) const = 0;
};

}  // namespace exactly
