// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-state's output: text escaping, times, and the JSON lines of
// `dump` (layout in docs/OPERATIONS.md).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exactly/checkpoint_store.h"
#include "exactly/partition_state.h"
#include "exactly/types.h"

namespace exactly::statetool {

// Bytes for a terminal: printable ASCII as is, '\' as \\, the rest \xNN.
std::string Printable(std::string_view bytes);

// "2026-11-21T15:40:01.123Z" (UTC).
std::string FormatUnixMs(std::int64_t ms);
// "3.2s", "4m10s", "2h05m", "3d04h" (negative ages, from clock skew, as "0s").
std::string FormatAge(std::int64_t ms);

// Bytes held by the partition's in-progress messages (chunk values).
std::uint64_t InProgressBytes(const PartitionState& state);

// The "store" line and a "partition" line of `dump`, each ending in '\n'.
std::string StoreJsonLine(const std::string& dir, const StoreInfo& info);
std::string PartitionJsonLine(const TopicPartition& tp, const LoadedPartition& p);

}  // namespace exactly::statetool
