// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint::AddPartition for the Engine, in its own translation unit so
// that users of AddPartitionChanges alone do not link the engine.
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"
#include "store_impl.h"

namespace exactly {

Status Checkpoint::AddPartition(const TopicPartition& tp, Offset next_offset, Engine& engine) {
  if (!impl_) return Status::FailedPrecondition("checkpoint was committed or moved from");
  EXACTLY_RETURN_IF_ERROR(impl_->CheckNew(tp));
  // Budgeted: erasures reach the store through CollectChanges below, so
  // producer-TTL purges never need a scan of the store.
  const std::size_t budget = impl_->store->options.purge_budget;
  if (budget > 0) (void)engine.PurgeExpired(tp, budget);
  // The partition clock is decision state (producer TTL) and moves with
  // records that report no change (unstamped, malformed): pass it on.
  EXACTLY_RETURN_IF_ERROR(AddPartitionChanges(
      tp, next_offset, [&](ChangeVisitor& v) { engine.CollectChanges(tp, v); }, engine.MaxTimestamp(tp)));
  // The store's TTL sweep of producers the engine does not hold uses the
  // engine's TTL (StoreOptions::purge_sweep_interval).
  impl_->parts.back().producer_ttl_ms = engine.options().producer_ttl_ms;
  return Status::OK();
}

}  // namespace exactly
