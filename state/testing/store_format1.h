// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Test support: writes a state directory in on-disk format 1, where folded
// watermarks were kept in producer-range segments (the layout of the
// releases before format 2), so that tests can check that such a
// directory still loads and is upgraded correctly. Not for production.
//
// Thread safety: a plain function; `dir` must not be open elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exactly/partition_state.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::testing {

// One watermark change of a format-1 delta: a set, or an erase (nullopt).
using Format1Op = std::pair<std::string, std::optional<ProducerState>>;

struct Format1Partition {
  TopicPartition tp;
  Offset next_offset;
  // Folded into segments (split every `max_segment_bytes`); its
  // in_progress messages and max_timestamp are written too.
  PartitionState folded;
  // Pending deltas, oldest first, one per checkpoint.
  std::vector<std::vector<Format1Op>> pending;
};

// Creates `dir` (which must not hold a database) in format 1, as of
// checkpoint `checkpoint` (>= the number of pending deltas of any partition).
Status WriteFormat1Directory(const std::string& dir, const std::vector<Format1Partition>& parts,
                             std::uint64_t checkpoint, std::size_t max_segment_bytes = 1024);

}  // namespace exactly::testing
