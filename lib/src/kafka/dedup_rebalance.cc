// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumer: partitions coming and going with group rebalances. Both
// callbacks run inside Consumer::Poll() on the loop's thread; they only
// record errors (Stop), never throw.
#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "dedup_consumer_impl.h"

namespace exactly::kafka {

void DedupConsumer::Impl::OnAssigned(std::span<const TopicPartition> partitions, std::span<Offset> start) noexcept {
  try {
    ++stats.assignments;
    // A partition assigned again while it still has unsaved work (only
    // after a rebalance error): its state is about to be reloaded, so
    // everything derived since the last checkpoint must go.
    const bool unsaved = std::any_of(partitions.begin(), partitions.end(), [&](const TopicPartition& tp) {
      const Entry* e = Find(tp);
      return e != nullptr && (e->dirty || e->pending);
    });
    if (unsaved) Rewind("partitions reassigned with unsaved work");
    for (std::size_t i = 0; i < partitions.size(); ++i) {
      const TopicPartition& tp = partitions[i];
      Entry* e = Find(tp);
      if (e == nullptr) {
        entries.push_back(std::make_unique<Entry>());
        e = entries.back().get();
        e->tp = tp;
      }
      DropPolled(tp);  // from an earlier ownership: consumption starts again where the state says
      e->next.reset();
      e->checkpointed.reset();
      e->first.reset();
      e->dirty = false;
      e->pending = false;
      e->resumed = false;
      e->kafka_commit_due = false;
      if (!stop_error.ok()) continue;  // stopping: do not bother loading
      auto loaded = LoadPartition(tp);
      if (!loaded.ok()) {
        Stop(loaded.status().WithContext(fmt::format("load {} on assignment", tp.ToString())));
        continue;
      }
      if (!loaded->has_value()) {
        // Never checkpointed here: librdkafka starts at the group's
        // committed offset, else at auto.offset.reset (start[i] is left
        // as kOffsetInvalid).
        engine.DropPartition(tp);
        continue;
      }
      LoadedPartition& lp = **loaded;
      if (Status st = engine.Restore(tp, std::move(lp.state)); !st.ok()) {
        Stop(st.WithContext(fmt::format("restore {} on assignment", tp.ToString())));
        continue;
      }
      e->next = e->checkpointed = lp.next_offset;
      // The group's committed offset may be behind the store's (the last
      // owner stopped between its checkpoint and its commit).
      e->kafka_commit_due = true;
      start[i] = lp.next_offset;
    }
    read_ahead_check = 0;  // restored producer tables may be large: ask before the next record
    Log(fmt::format("assigned {} partition(s), {} owned", partitions.size(), entries.size()));
  } catch (const std::exception& ex) {
    Stop(Status::Internal(fmt::format("partition assignment failed: {}", ex.what())));
  } catch (...) {
    Stop(Status::Internal("partition assignment failed"));
  }
}

void DedupConsumer::Impl::OnRevoked(std::span<const TopicPartition> partitions, bool lost) noexcept {
  try {
    ++stats.revocations;
    if (lost) {
      ++stats.lost;
      // Another member may already own them and be checkpointing them:
      // writing their state now could interleave with its checkpoints. A
      // pipelined checkpoint covering them is dropped by the rewind.
      bool unsaved = false;
      for (const TopicPartition& tp : partitions) {
        if (const Entry* e = Find(tp); e != nullptr && (e->dirty || e->pending)) unsaved = true;
        engine.DropPartition(tp);
        Remove(tp);
      }
      // The transaction may hold writes derived from the lost partitions'
      // records, which the new owner will process again.
      if (unsaved) Rewind("partitions lost with unsaved work");
    } else {
      // Save the revoked partitions' work before they go; the checkpoint
      // covers every dirty partition, which is also correct for the rest.
      if (stop_error.ok() && !closed) (void)DoCheckpoint(options.hook_timeout);
      for (const TopicPartition& tp : partitions) {
        engine.DropPartition(tp);
        Remove(tp);
      }
    }
    Log(fmt::format("{} {} partition(s), {} owned", lost ? "lost" : "revoked", partitions.size(), entries.size()));
  } catch (const std::exception& ex) {
    Stop(Status::Internal(fmt::format("partition revocation failed: {}", ex.what())));
  } catch (...) {
    Stop(Status::Internal("partition revocation failed"));
  }
}

void DedupConsumer::Impl::OnCommitFailed(std::span<const TopicPartitionOffset> offsets,
                                         const Status& error) noexcept {
  try {
    // Not retried at once: the coordinator is likely moving or away, and
    // the next checkpoint interval is soon enough for lag tools.
    for (const auto& o : offsets) {
      if (Entry* e = Find(o.tp); e != nullptr) e->kafka_commit_due = true;
    }
    ++stats.offset_commit_failures;
    if (stats.offset_commit_failures <= 10 || stats.offset_commit_failures % 1000 == 0) {
      Log(fmt::format("offset commit to Kafka failed (#{}; the checkpoint is saved, committed again later): {}",
                      stats.offset_commit_failures, error.ToString()));
    }
  } catch (...) {
  }
}

}  // namespace exactly::kafka
