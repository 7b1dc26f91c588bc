// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Folding watermark deltas over a base of producer states, shared by
// restore (Load) and the background fold.
//
// Replaying a suffix of deltas over a base that already contains some of
// them is harmless: each producer ends with its last op in the replayed
// range, which is its last op overall. So a reader may apply every delta
// still stored over every producer key (or format-1 segment), whatever
// checkpoint each was folded through, as long as deltas are only ever
// deleted oldest first and a deletion of deltas is durable only once the
// key writes that folded them are.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <vector>

#include "codec.h"
#include "exactly/partition_state.h"

namespace exactly::state {

// Sorts `ops` (given in commit order) by producer, keeping each
// producer's last op only.
void BuildOverlay(std::vector<DeltaOp>* ops);

// Merges `overlay` (sorted, unique) into `base` (sorted, unique): sets
// replace or insert, erases remove.
void ApplyOverlay(std::vector<ProducerState>* base, std::span<const DeltaOp> overlay);

}  // namespace exactly::state
