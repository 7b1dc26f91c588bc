// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumer: creation, the poll loop and per-record processing.
#include "exactly/kafka/dedup_consumer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>
#include <utility>

#include "dedup_consumer_impl.h"

namespace exactly::kafka {

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kPendingCheckInterval = std::chrono::milliseconds(2);

// Rounded up: a wait truncated to 0 ms would turn the loop into a spin.
milliseconds Until(Clock::time_point t, Clock::time_point now) {
  return std::chrono::ceil<milliseconds>(t - now);
}

Status CheckOptions(const DedupConsumerOptions& o) {
  if (!o.config.Has("bootstrap.servers")) return Status::InvalidArgument("bootstrap.servers is required");
  if (!o.config.Has("group.id") || o.config.Get("group.id")->empty()) {
    return Status::InvalidArgument("group.id is required: the consumer loop joins a consumer group");
  }
  for (const char* key : {"enable.auto.commit", "enable.auto.offset.store"}) {
    if (auto v = o.config.Get(key); v && *v != "false") {
      return Status::InvalidArgument(
          fmt::format("{}={} is not allowed: offsets advance only with checkpoints", key, *v));
    }
  }
  if (o.topics.empty()) return Status::InvalidArgument("no topic to consume");
  for (const auto& t : o.topics) {
    if (t.empty()) return Status::InvalidArgument("empty topic name");
  }
  if (o.checkpoint_interval.count() < 0 || o.hook_timeout.count() < 0 || o.poll_timeout.count() < 0 ||
      o.seek_timeout.count() <= 0) {
    return Status::InvalidArgument("negative or zero timeout in the consumer options");
  }
  if (o.checkpoint_alignment.count() < 0) {
    return Status::InvalidArgument("negative checkpoint_alignment (0 turns aligned checkpoints off)");
  }
  if (o.checkpoint_interval.count() == 0 && o.checkpoint_records == 0) {
    return Status::InvalidArgument("give a checkpoint interval, a checkpoint record count, or both");
  }
  return o.engine.Validate();
}
}  // namespace

// Waiting records are librdkafka messages: destroyed before the consumer
// handle, whatever the member order.
DedupConsumer::Impl::~Impl() {
  held.clear();
  ahead.Clear();
}

void DedupConsumer::Impl::Log(std::string_view text) const {
  if (options.log) {
    try {
      options.log(text);
    } catch (...) {
    }
    return;
  }
  std::fprintf(stderr, "exactly: %.*s\n", static_cast<int>(text.size()), text.data());
}

void DedupConsumer::Impl::Stop(Status st) {
  if (st.ok() || !stop_error.ok()) return;
  Log(fmt::format("consumer loop stopped: {}", st.ToString()));
  stop_error = std::move(st);
}

DedupConsumer::Impl::Entry* DedupConsumer::Impl::Find(const TopicPartition& tp) {
  for (auto& e : entries) {
    if (e->tp == tp) return e.get();
  }
  return nullptr;
}

DedupConsumer::Impl::Entry* DedupConsumer::Impl::Lookup(std::string_view topic, Partition partition) {
  if (cached != nullptr && cached->tp.partition == partition && cached->tp.topic.name() == topic) return cached;
  for (auto& e : entries) {
    if (e->tp.partition == partition && e->tp.topic.name() == topic) return cached = e.get();
  }
  return nullptr;
}

void DedupConsumer::Impl::Remove(const TopicPartition& tp) {
  DropPolled(tp);
  cached = nullptr;
  std::erase_if(dirty, [&](const Entry* e) { return e->tp == tp; });
  std::erase_if(entries, [&](const std::unique_ptr<Entry>& e) { return e->tp == tp; });
}

bool DedupConsumer::Impl::CheckpointDue(Clock::time_point now) const {
  if (options.checkpoint_records > 0 && records_since_checkpoint >= options.checkpoint_records) return true;
  return options.checkpoint_interval.count() > 0 && now - last_attempt >= options.checkpoint_interval;
}

Result<std::optional<LoadedPartition>> DedupConsumer::Impl::LoadPartition(const TopicPartition& tp) const {
  auto loaded = store.Load(tp, LoadOptions{.producers = !Paged()});
  if (loaded.ok() && loaded->has_value()) (*loaded)->state.producers_omitted = Paged();
  return loaded;
}

void DedupConsumer::Impl::Process(const RecordView& record) {
  ++stats.polled;
  Entry* e = Lookup(record.topic, record.partition);
  // Records of partitions we no longer own, or below the position a seek
  // moved back to, are leftovers of an earlier fetch: never process twice.
  if (e == nullptr || (e->next && record.offset < *e->next)) {
    ++stats.skipped;
    return;
  }
  if (!e->resumed) {
    e->resumed = true;
    if (e->next && record.offset != *e->next) {
      Log(fmt::format("{}: resumed at offset {}, not {}: records in between were deleted (retention or compaction)",
                      e->tp.ToString(), record.offset.value(), e->next->value()));
    }
  }
  if (!e->first) e->first = record.offset;

  Status handled;
  const Outcome outcome = engine.Process(record, [&](const Message& m) {
    if (!handled.ok() || !hooks.on_message) return;
    try {
      handled = hooks.on_message(m, *txn);
    } catch (const std::exception& ex) {
      handled = Status::Internal(fmt::format("message handler threw: {}", ex.what()));
    } catch (...) {
      handled = Status::Internal("message handler threw");
    }
  });
  if (!e->dirty) {
    e->dirty = true;  // also when undecided: the engine's clock moved, so a rewind must reload it
    dirty.push_back(e);
  }
  if (outcome == Outcome::kFailed) {
    // The producer cache could not fetch from the store: the record is not
    // decided and must be processed again after a reload.
    const Status failed = engine.failure().WithContext(
        fmt::format("undecided record at {}@{}", e->tp.ToString(), record.offset.value()));
    if (failed.retryable()) {
      Rewind(failed.ToString());
    } else {
      Stop(failed);
    }
    return;
  }
  e->next = Offset(record.offset.value() + 1);
  ++records_since_checkpoint;
  if (aligning && !e->aligned && engine.UncollectedChunks(e->tp) == 0) {
    e->aligned = true;  // its messages in progress completed: from now on it waits
    newly_aligned = true;
  }
  if (!handled.ok()) {
    const std::string where = fmt::format("handler failed at {}@{}", e->tp.ToString(), record.offset.value());
    if (handled.retryable()) {
      Rewind(fmt::format("{}: {}", where, handled.ToString()));
    } else {
      Stop(handled.WithContext(where));
    }
  }
}

bool DedupConsumer::Impl::ReadAhead(milliseconds wait) {
  // Chunks of large messages are ~1 MiB each: a few are look-ahead enough.
  constexpr std::uint64_t kAheadBytes = 4 << 20;
  // Tables grow as producers arrive: ask again now and then.
  constexpr std::uint64_t kCheckEvery = 4096;
  if (!ahead.empty() && ahead_drained) return true;
  ahead_drained = false;
  while (!ahead.full() && ahead.bytes() < kAheadBytes && (ahead.empty() || read_ahead)) {
    auto msg = consumer->Poll(ahead.empty() ? wait : milliseconds(0));
    if (!msg.ok()) {
      Stop(msg.status());
      return false;
    }
    if (msg->empty()) {
      ahead_drained = true;
      break;
    }
    if (read_ahead_check == 0) {
      read_ahead = engine.PrefetchHelps();
      read_ahead_check = kCheckEvery;
    }
    --read_ahead_check;
    // One record at a time needs no byte count.
    const std::uint64_t bytes = read_ahead ? PolledBytes(*msg) : 0;
    PolledRing::Slot& slot = ahead.Push(std::move(*msg), bytes);
    if (read_ahead && slot.msg.ok()) {
      slot.view = slot.msg.view();
      engine.Prefetch(*slot.view);
      ++stats.hinted;
    }
  }
  return true;
}

void DedupConsumer::Impl::HandleEvent(const KafkaMessage& msg) {
  if (msg.partition_eof()) {
    if (Entry* e = Lookup(msg.topic(), msg.partition())) e->end_reached = msg.offset();
    return;
  }
  const Status st = msg.status();
  // With auto.offset.reset=error librdkafka reports an out-of-range
  // position instead of jumping: input was lost (e.g. to retention), and
  // going on would silently skip it.
  if (st.message().find("_AUTO_OFFSET_RESET") != std::string_view::npos) {
    Stop(Status::Aborted(fmt::format("{} (input records were deleted before they were consumed; restart from "
                                     "a later offset deliberately, or set auto.offset.reset)",
                                     st.message())));
    return;
  }
  // A subscribed topic the cluster does not have: librdkafka would wait
  // for it forever, which looks like a hang. Reported after the first
  // metadata answer, so this is bounded by the metadata round trip. (A
  // partition missing from the client's metadata is kNotFound too, but
  // transient: logged below, as librdkafka catches up by itself.)
  if (msg.topic_unknown()) {
    const std::string topic(msg.topic());
    Stop(Status::NotFound(fmt::format("input topic '{}' does not exist on the cluster (create it first): {}",
                                      topic.empty() ? std::string("?") : topic, st.message())));
    return;
  }
  LogTransient(st, "consumer error");
}

void DedupConsumer::Impl::LogTransient(const Status& st, std::string_view source) {
  ++consume_errors;
  if (consume_errors <= 10 || consume_errors % 1000 == 0) {
    Log(fmt::format("{} (#{}; librdkafka retries): {}", source, consume_errors, st.ToString()));
  }
}

void DedupConsumer::Impl::OnTransientError(const Status& error) noexcept {
  try {
    LogTransient(error, "client error");
  } catch (...) {
  }
}

DedupConsumer::DedupConsumer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

DedupConsumer::~DedupConsumer() = default;

Result<std::unique_ptr<DedupConsumer>> DedupConsumer::Create(CheckpointStore& store, DedupConsumerOptions options,
                                                             DedupConsumerHooks hooks) {
  EXACTLY_RETURN_IF_ERROR(CheckOptions(options));
  KafkaConfig config = options.config;
  config.Set("enable.auto.commit", "false");
  config.Set("enable.auto.offset.store", "false");
  // Without a checkpoint or a committed offset, start from the beginning:
  // a dedup consumer must not skip data by default.
  if (!config.Has("auto.offset.reset")) config.Set("auto.offset.reset", "earliest");
  // A partition with nothing to process (taken over caught up, without a
  // local checkpoint) otherwise has no known position, and so no lag.
  if (!config.Has("enable.partition.eof")) config.Set("enable.partition.eof", "true");

  auto impl = std::make_unique<Impl>(store, std::move(options), std::move(hooks));
  auto txn = store.BeginApp(impl->options.app);
  if (!txn.ok()) return txn.status().WithContext("application state");
  impl->txn.emplace(std::move(*txn));
  auto consumer = Consumer::Create(config, impl.get());
  if (!consumer.ok()) return consumer.status();
  impl->consumer.emplace(std::move(*consumer));
  EXACTLY_RETURN_IF_ERROR(impl->consumer->Subscribe(impl->options.topics));
  return std::unique_ptr<DedupConsumer>(new DedupConsumer(std::move(impl)));
}

Status DedupConsumer::RunFor(std::chrono::milliseconds duration) {
  // Records handled per clock reading: the clock costs more than a
  // record's dedup decision.
  constexpr int kBurst = 64;
  Impl& s = *impl_;
  if (s.closed) return Status::FailedPrecondition("consumer is closed");
  const auto deadline = Clock::now() + duration;
  for (;;) {
    if (!s.stop_error.ok()) return s.stop_error;
    if (s.stop_requested.load(std::memory_order_relaxed)) return Status::OK();
    const auto now = Clock::now();
    if (now >= deadline) return Status::OK();
    if (now < s.resume_at) {
      // Backing off after a failure; the group heartbeat runs on
      // librdkafka's own thread meanwhile.
      std::this_thread::sleep_for(std::min({Until(s.resume_at, now), Until(deadline, now), milliseconds(100)}));
      continue;
    }
    if (s.pending && now >= s.next_pending_check) {
      // Not on every burst: each check serves the producer's delivery
      // reports, which is cheaper in bulk.
      s.next_pending_check = now + kPendingCheckInterval;
      (void)s.FinishPending(/*flushed=*/false);  // failures are logged and rewound
    }
    // Records that waited for the last checkpoint go first, in order.
    if (!s.aligning && !s.held.empty()) {
      s.ReleaseHeld();
      continue;
    }
    // One pipelined checkpoint at a time: while the previous one waits for
    // its acknowledgements, keep processing.
    if (s.CheckpointDue(now) && (!s.Pipelined() || !s.pending) && s.ReadyToCheckpoint(now)) {
      if (s.Pipelined()) {
        (void)s.StartCheckpoint();
      } else {
        (void)s.DoCheckpoint(s.options.hook_timeout);
      }
      continue;
    }
    auto wait = std::min(s.options.poll_timeout, std::max(Until(deadline, now), milliseconds(0)));
    // With a checkpoint waiting for acknowledgements, do not sleep long in
    // an idle poll: it would delay the commit.
    if (s.pending) wait = std::min(wait, 5 * kPendingCheckInterval);
    // Aligning: not past the bound of the wait.
    if (s.aligning) wait = std::min(wait, std::max(Until(s.align_started + s.options.checkpoint_alignment, now),
                                                   milliseconds(0)));
    for (int i = 0; i < kBurst; ++i) {
      if (!s.ReadAhead(wait)) break;
      if (s.ahead.empty()) {
        // Idle: a good moment for group offset commits still due (also
        // when checkpoints are triggered by record count only).
        if (i == 0) s.CommitToKafka({});
        break;
      }
      wait = milliseconds(0);  // only the first poll of a burst waits
      PolledRing::Slot& slot = s.ahead.TakeFront();
      if (!slot.msg.ok()) {
        s.HandleEvent(slot.msg);
        continue;
      }
      if (s.Hold(slot.msg)) {
        if (s.held_bytes >= s.options.checkpoint_alignment_bytes) break;
        continue;
      }
      s.Process(slot.view ? *slot.view : slot.msg.view());
      // Freed now, as before the ring, not when the slot is reused: the
      // allocations for the next record can then reuse memory still in
      // cache. (Unpinned runs leaned that way; the sets overlapped:
      // docs/BENCHMARKS.md, "Core engine".)
      slot.msg = KafkaMessage();
      slot.view.reset();
      if (!s.stop_error.ok() || s.resume_at > now) break;
      if (s.newly_aligned) break;  // perhaps the last one: see whether the checkpoint can go
      // A checkpoint is due by record count (unless one is still pending).
      // (While aligning, partitions becoming aligned say when to look.)
      if (s.options.checkpoint_records > 0 && s.records_since_checkpoint >= s.options.checkpoint_records &&
          !s.pending && !s.aligning) {
        break;
      }
    }
  }
}

Status DedupConsumer::Run() {
  while (!impl_->stop_requested.load(std::memory_order_relaxed)) {
    EXACTLY_RETURN_IF_ERROR(RunFor(std::chrono::seconds(1)));
  }
  return Status::OK();
}

void DedupConsumer::RequestStop() noexcept { impl_->stop_requested.store(true, std::memory_order_relaxed); }
bool DedupConsumer::stop_requested() const noexcept { return impl_->stop_requested.load(std::memory_order_relaxed); }

Status DedupConsumer::Checkpoint() {
  if (impl_->closed) return Status::FailedPrecondition("consumer is closed");
  if (!impl_->stop_error.ok()) return impl_->stop_error;
  return impl_->DoCheckpoint(impl_->options.hook_timeout);
}

Status DedupConsumer::Close(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (s.closed) return Status::OK();
  s.closed = true;
  const auto deadline = Clock::now() + timeout;
  Status st;
  // Records waiting for an aligned checkpoint go first, so that the final
  // checkpoint covers them too.
  s.EndAlignment();
  s.ReleaseHeld();
  if (s.stop_error.ok()) st = s.DoCheckpoint(std::min(s.options.hook_timeout, timeout));
  // Any left (a rewind or stop came first) were not processed, so no
  // checkpoint covers them: whoever consumes next gets them again. The
  // same for records read ahead (and librdkafka's close would wait for
  // every message it handed out).
  s.held.clear();
  s.held_bytes = 0;
  s.ahead.Clear();
  const auto left = std::max(Until(deadline, Clock::now()), milliseconds(1));
  Status closed = s.consumer->Close(left);
  return st.ok() ? closed : st;
}

DedupConsumerStats DedupConsumer::stats() const {
  DedupConsumerStats st = impl_->stats;
  st.engine = impl_->engine.counters();
  st.assigned = impl_->entries.size();
  st.tracked_producers = impl_->engine.TotalProducerCount();
  st.in_progress_messages = impl_->engine.InProgressCount();
  st.in_progress_bytes = impl_->engine.BufferedBytes();
  st.reassembly_reserve_bytes = impl_->engine.ReassemblyReserveBytes();
  st.waiting_records = impl_->held.size();
  return st;
}

std::vector<PartitionPosition> DedupConsumer::Positions() const {
  std::vector<PartitionPosition> out;
  out.reserve(impl_->entries.size());
  for (const auto& e : impl_->entries) {
    PartitionPosition p{e->tp, e->next, e->checkpointed};
    if (impl_->consumer) p.high_watermark = impl_->consumer->CachedHighWatermark(e->tp);
    p.end_reached = e->end_reached;
    p.producers = impl_->engine.ProducerCount(e->tp);
    out.push_back(std::move(p));
  }
  return out;
}

Status DedupConsumer::stop_error() const { return impl_->stop_error; }

std::optional<std::int64_t> PartitionPosition::lag() const noexcept {
  const std::optional<Offset>& at = next ? next : (checkpointed ? checkpointed : end_reached);
  if (!high_watermark || !at) return std::nullopt;
  return std::max<std::int64_t>(0, high_watermark->value() - at->value());
}

}  // namespace exactly::kafka
