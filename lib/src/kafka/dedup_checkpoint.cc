// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumer: checkpoints (hook -> store -> Kafka commit), pipelined
// checkpoints (mark -> build -> keep going -> commit once acknowledged),
// and rewinds to the last checkpoint when one cannot be written.
#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <future>

#include "dedup_consumer_impl.h"

namespace exactly::kafka {

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

// Runs a user hook, turning an escaping exception into a Status.
template <class F>
auto Guard(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& ex) {
    return Status::Internal(fmt::format("{} threw: {}", what, ex.what()));
  } catch (...) {
    return Status::Internal(fmt::format("{} threw", what));
  }
}
}  // namespace

Status DedupConsumer::Impl::DoCheckpoint(std::chrono::milliseconds hook_timeout) {
  const auto start = Clock::now();
  EndAlignment();
  last_attempt = start;
  records_since_checkpoint = 0;
  if (!stop_error.ok()) return stop_error;
  if (dirty.empty() && txn->empty() && !pending) {
    CommitToKafka({});
    return Status::OK();
  }

  // §4: every output caused by the records below the offsets about to be
  // recorded must be acknowledged first. Nothing is processed from here
  // to the Commit, so the hook covers everything the checkpoint covers.
  if (hooks.pre_checkpoint) {
    Status st = Guard("pre-checkpoint hook", [&] { return hooks.pre_checkpoint(hook_timeout); });
    if (!st.ok()) return FailCheckpoint(st.WithContext("pre-checkpoint hook"));
  }
  if (pending) EXACTLY_RETURN_IF_ERROR(FinishPending(/*flushed=*/true));
  if (dirty.empty() && txn->empty()) return Status::OK();

  exactly::Checkpoint cp = store.BeginCheckpoint();
  std::vector<TopicPartitionOffset> offsets;
  offsets.reserve(dirty.size());
  Status st;
  for (Entry* e : dirty) {
    st = cp.AddPartition(e->tp, *e->next, engine);
    if (!st.ok()) break;
    e->collection = engine.LastCollection(e->tp);
    offsets.push_back({e->tp, *e->next});
  }
  if (st.ok() && !txn->empty()) st = cp.Stage(std::move(*txn));
  if (st.ok()) st = store.Commit(std::move(cp));
  // The transaction was consumed (or must be dropped): start the next one.
  auto next_txn = store.BeginApp(options.app);
  if (!next_txn.ok()) {
    Stop(next_txn.status().WithContext("application state"));
    return stop_error;
  }
  txn.emplace(std::move(*next_txn));
  if (!st.ok()) {
    ++stats.checkpoint_failures;
    st = st.WithContext("checkpoint");
    if (!st.retryable()) {
      // E.g. an I/O error: the store refuses further commits until it is
      // reopened, which only its owner can do.
      Stop(st);
      return st;
    }
    Rewind(st.ToString());
    return st;
  }

  for (Entry* e : dirty) {
    e->checkpointed = e->next;
    e->dirty = false;
    engine.MarkCommitted(e->tp, e->collection);
  }
  dirty.clear();
  ++stats.checkpoints;
  stats.last_checkpoint = Clock::now();
  stats.last_checkpoint_duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (options.on_checkpoint) options.on_checkpoint(stats.last_checkpoint_duration);
  backoff = std::chrono::milliseconds(0);
  CommitToKafka(std::move(offsets));
  return Status::OK();
}

void DedupConsumer::Impl::CommitToKafka(std::vector<TopicPartitionOffset> offsets) {
  if (!options.commit_to_kafka) return;
  // Without this, a partition whose last commit failed (or whose
  // checkpoint was restored with the group behind it) would show lag
  // forever once its input stops: nothing new means no new checkpoint.
  for (auto& owned : entries) {
    Entry* e = owned.get();
    if (!e->kafka_commit_due) continue;
    e->kafka_commit_due = false;
    const bool listed = std::any_of(offsets.begin(), offsets.end(), [&](const auto& o) { return o.tp == e->tp; });
    if (!listed && e->checkpointed) offsets.push_back({e->tp, *e->checkpointed});
  }
  if (offsets.empty()) return;
  // A failed commit is not worth stopping for; one refused here or by the
  // coordinator (OnCommitFailed) is due again.
  if (Status c = consumer->Commit(offsets, /*async=*/true); !c.ok()) {
    ++stats.offset_commit_failures;
    Log(fmt::format("offset commit to Kafka failed (the checkpoint is saved; retried with the next one): {}",
                    c.ToString()));
    for (const auto& o : offsets) {
      if (Entry* e = Find(o.tp); e != nullptr) e->kafka_commit_due = true;
    }
  }
}

Status DedupConsumer::Impl::StartCheckpoint() {
  const auto start = Clock::now();
  EndAlignment();
  last_attempt = start;
  records_since_checkpoint = 0;
  if (!stop_error.ok()) return stop_error;
  if (dirty.empty()) {
    CommitToKafka({});
    return Status::OK();
  }
  // The mark first: every output of the records below the offsets taken
  // next was produced before it.
  std::uint64_t mark = 0;
  try {
    mark = hooks.mark_outputs();
  } catch (...) {
    ++stats.checkpoint_failures;
    Rewind("mark_outputs hook threw");
    return Status::Internal("mark_outputs hook threw");
  }
  exactly::Checkpoint cp = store.BeginCheckpoint();
  std::vector<TopicPartitionOffset> offsets;
  offsets.reserve(dirty.size());
  for (Entry* e : dirty) {
    if (Status st = cp.AddPartition(e->tp, *e->next, engine); !st.ok()) {
      ++stats.checkpoint_failures;
      st = st.WithContext("checkpoint");
      Rewind(st.ToString());  // the engine already handed over some changes
      return st;
    }
    e->collection = engine.LastCollection(e->tp);
    offsets.push_back({e->tp, *e->next});
  }
  pending.emplace(Pending{std::move(cp), mark, std::move(offsets), start});
  for (Entry* e : dirty) {
    e->dirty = false;
    e->pending = true;
  }
  dirty.clear();
  return Status::OK();
}

Status DedupConsumer::Impl::FinishPending(bool flushed) {
  if (committing.valid()) {
    if (!flushed && committing.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return Status::OK();
    return PendingWritten(committing.get());
  }
  auto durable = Guard("outputs_durable hook", [&]() -> Result<bool> { return hooks.outputs_durable(pending->mark); });
  Status st = durable.status();
  if (st.ok() && !*durable) {
    if (!flushed && Clock::now() - pending->started <= options.hook_timeout) return Status::OK();  // not yet
    st = Status::TimedOut(fmt::format("outputs not acknowledged within {} ms", options.hook_timeout.count()));
  }
  if (!st.ok()) return FailCheckpoint(st.WithContext("checkpoint outputs"));
  if (flushed) return PendingWritten(store.Commit(std::move(pending->cp)));
  // Every output below the checkpoint is acknowledged: write it while the
  // loop goes on. Nothing else touches the Checkpoint or the covered
  // partitions' stored state until the write is collected.
  committing = std::async(std::launch::async, [this, cp = std::move(pending->cp)]() mutable -> Status {
    try {
      return store.Commit(std::move(cp));
    } catch (...) {
      return Status::Internal("checkpoint write threw");
    }
  });
  return Status::OK();
}

Status DedupConsumer::Impl::PendingWritten(Status st) {
  if (!st.ok()) {
    ++stats.checkpoint_failures;
    st = st.WithContext("checkpoint");
    if (!st.retryable()) {
      Stop(st);
      return st;
    }
    Rewind(st.ToString());
    return st;
  }
  for (const auto& o : pending->offsets) {
    if (Entry* e = Find(o.tp); e != nullptr) {
      e->checkpointed = o.offset;
      e->pending = false;
      engine.MarkCommitted(e->tp, e->collection);
    }
  }
  ++stats.checkpoints;
  stats.last_checkpoint = Clock::now();
  stats.last_checkpoint_duration =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - pending->started);
  if (options.on_checkpoint) options.on_checkpoint(stats.last_checkpoint_duration);
  backoff = std::chrono::milliseconds(0);
  std::vector<TopicPartitionOffset> offsets = std::move(pending->offsets);
  pending.reset();
  CommitToKafka(std::move(offsets));
  return Status::OK();
}

Status DedupConsumer::Impl::FailCheckpoint(Status st) {
  ++stats.checkpoint_failures;
  if (st.code() == Code::kAborted) {
    // Rewinding would only fail the same way, forever: stop, and say why.
    // The state directory still holds the last good checkpoint.
    Stop(st);
    return st;
  }
  Rewind(st.ToString());
  return st;
}

void DedupConsumer::Impl::Rewind(std::string_view why) {
  ++stats.rewinds;
  Log(fmt::format("rewinding to the last checkpoint: {}", why));
  // A checkpoint write in flight must land (or fail) before the state is
  // reloaded, or the reload could miss it and later deltas would build on
  // the wrong base. Whatever it returned, the store says what is saved.
  if (committing.valid()) (void)committing.get();
  EndAlignment();
  std::vector<TopicPartitionOffset> seeks;
  for (auto& owned : entries) {
    Entry* e = owned.get();
    // Records of a partition left where it was may still wait, to be
    // processed in order; the others are delivered again after the seek.
    if (!e->dirty && !e->pending) continue;
    DropPolled(e->tp);
    e->dirty = false;
    e->pending = false;
    e->resumed = false;
    auto loaded = LoadPartition(e->tp);
    if (!loaded.ok()) {
      Stop(loaded.status().WithContext(fmt::format("reload {}", e->tp.ToString())));
      continue;
    }
    if (loaded->has_value()) {
      LoadedPartition& lp = **loaded;
      if (Status st = engine.Restore(e->tp, std::move(lp.state)); !st.ok()) {
        Stop(st.WithContext(fmt::format("restore {}", e->tp.ToString())));
        continue;
      }
      e->next = e->checkpointed = lp.next_offset;
    } else {
      // Never checkpointed: back to the first record processed.
      engine.DropPartition(e->tp);
      e->next = e->first;
    }
    if (e->next) seeks.push_back({e->tp, *e->next});
  }
  dirty.clear();
  pending.reset();
  txn->Clear();
  records_since_checkpoint = 0;
  if (!seeks.empty() && stop_error.ok()) {
    if (Status st = consumer->Seek(seeks, options.seek_timeout); !st.ok()) {
      // Without a confirmed seek, records from the old position could
      // still arrive out of order.
      Stop(st.WithContext("seek back to the last checkpoint"));
    }
  }
  if (hooks.on_rewind) {
    try {
      hooks.on_rewind();
    } catch (...) {
      Stop(Status::Internal("rewind hook threw"));
    }
  }
  backoff = backoff.count() == 0 ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
  resume_at = Clock::now() + backoff;
}

}  // namespace exactly::kafka
