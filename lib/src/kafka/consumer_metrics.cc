// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/consumer_metrics.h"

#include <fmt/format.h>

#include <atomic>
#include <set>
#include <vector>

#include "exactly/envelope.h"

namespace exactly::kafka {
namespace {

using metrics::Counter;
using metrics::Gauge;

// A cumulative count copied into a counter: adds what grew since the last
// copy (the sources never decrease).
struct Mirror {
  Counter* counter = nullptr;
  std::uint64_t last = 0;
  void Copy(std::uint64_t now) {
    if (now > last) counter->Inc(now - last);
    last = now;
  }
};

template <class T>
Result<T*> One(Result<metrics::Family<T>*> family, std::initializer_list<std::string_view> values) {
  if (!family.ok()) return family.status();
  return (*family)->With(values);
}

#define EXACTLY_ASSIGN(lhs, expr)              \
  do {                                         \
    auto r_ = (expr);                          \
    if (!r_.ok()) return r_.status();          \
    lhs = *r_;                                 \
  } while (0)

// Read by the collect hook on the scraping thread; outlives the adapter.
struct CheckpointClock {
  std::atomic<bool> valid{false};
  std::atomic<std::int64_t> steady_ns{0};
  std::atomic<bool> alive{true};
};

}  // namespace

struct DedupConsumerMetrics::Impl {
  Mirror processed, polled, skipped, rewinds, checkpoints_ok, checkpoints_failed, offset_commit_failures;
  Mirror assignments, revocations, lost;
  Mirror alignments_aligned, alignments_expired;
  Mirror duplicate, stale, malformed, chunk_duplicate, unstamped_passed, unstamped_dropped, abandoned_chunks;
  std::vector<Mirror> malformed_by_reason;
  Mirror delivered, delivered_chunked, corrupt, abandoned, gaps, expired, dead_lettered;
  Mirror cache_hits, cache_misses, fetched, evicted, reassembly_allocations;
  Gauge *assigned = nullptr, *producers = nullptr, *in_progress = nullptr, *in_progress_bytes = nullptr;
  Gauge* reassembly_reserve = nullptr;
  Gauge *last_checkpoint_ts = nullptr, *since_checkpoint = nullptr;
  metrics::Histogram* checkpoint_duration = nullptr;
  metrics::Family<Gauge>*lag = nullptr, *next = nullptr, *checkpointed = nullptr, *partition_producers = nullptr;
  // Partitions currently rendered, by (topic, partition label).
  std::set<std::pair<std::string, std::string>> rendered;
  std::shared_ptr<CheckpointClock> clock = std::make_shared<CheckpointClock>();
  std::optional<std::chrono::steady_clock::time_point> last_seen_checkpoint;
};

Result<std::unique_ptr<DedupConsumerMetrics>> DedupConsumerMetrics::Create(metrics::Registry& r) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  EXACTLY_ASSIGN(m.processed.counter,
                 One(r.AddCounter("exactly_records_processed_total", "Input records decided by the engine (replays after a rewind included)."), {}));
  EXACTLY_ASSIGN(m.polled.counter, One(r.AddCounter("exactly_records_polled_total", "Records received from Kafka."), {}));
  EXACTLY_ASSIGN(m.skipped.counter,
                 One(r.AddCounter("exactly_records_skipped_total", "Records below their partition's position (already processed), ignored."), {}));
  auto records = r.AddCounter("exactly_records_total", "Input records not delivered as they came, by outcome.", {"outcome"});
  if (!records.ok()) return records.status();
  EXACTLY_ASSIGN(m.duplicate.counter, (*records)->With({"duplicate"}));
  EXACTLY_ASSIGN(m.stale.counter, (*records)->With({"stale"}));
  EXACTLY_ASSIGN(m.malformed.counter, (*records)->With({"malformed"}));
  EXACTLY_ASSIGN(m.chunk_duplicate.counter, (*records)->With({"chunk_duplicate"}));
  EXACTLY_ASSIGN(m.unstamped_passed.counter, (*records)->With({"unstamped_passed"}));
  EXACTLY_ASSIGN(m.unstamped_dropped.counter, (*records)->With({"unstamped_dropped"}));
  EXACTLY_ASSIGN(m.abandoned_chunks.counter, (*records)->With({"abandoned_chunk"}));
  auto reasons = r.AddCounter("exactly_malformed_records_total", "Malformed records by reason.", {"reason"});
  if (!reasons.ok()) return reasons.status();
  m.malformed_by_reason.resize(kMalformedReasonCount);
  for (std::size_t i = 0; i < kMalformedReasonCount; ++i) {
    const auto reason = static_cast<MalformedReason>(i);
    if (reason == MalformedReason::kNone) continue;  // not a reason to reject
    EXACTLY_ASSIGN(m.malformed_by_reason[i].counter, (*reasons)->With({MalformedReasonName(reason)}));
  }
  auto messages = r.AddCounter("exactly_messages_total", "Messages by outcome (a chunked message counts once).", {"outcome"});
  if (!messages.ok()) return messages.status();
  EXACTLY_ASSIGN(m.delivered.counter, (*messages)->With({"delivered"}));
  EXACTLY_ASSIGN(m.corrupt.counter, (*messages)->With({"corrupt"}));
  EXACTLY_ASSIGN(m.abandoned.counter, (*messages)->With({"abandoned"}));
  EXACTLY_ASSIGN(m.delivered_chunked.counter,
                 One(r.AddCounter("exactly_messages_delivered_chunked_total", "Delivered messages reassembled from two or more chunks."), {}));
  EXACTLY_ASSIGN(m.gaps.counter,
                 One(r.AddCounter("exactly_sequence_gaps_total", "Deliveries that skipped sequence numbers within the producer's epoch."), {}));
  EXACTLY_ASSIGN(m.expired.counter, One(r.AddCounter("exactly_producers_expired_total", "Producers forgotten by the producer TTL."), {}));
  EXACTLY_ASSIGN(m.dead_lettered.counter,
                 One(r.AddCounter("exactly_dead_lettered_records_total", "Rejected records handed to the dead-letter sink."), {}));
  auto lookups = r.AddCounter("exactly_producer_cache_lookups_total",
                              "Producer lookups of stamped records: resident (hit) or read from the state directory (miss).",
                              {"result"});
  if (!lookups.ok()) return lookups.status();
  EXACTLY_ASSIGN(m.cache_hits.counter, (*lookups)->With({"hit"}));
  EXACTLY_ASSIGN(m.cache_misses.counter, (*lookups)->With({"miss"}));
  EXACTLY_ASSIGN(m.fetched.counter,
                 One(r.AddCounter("exactly_producers_fetched_total", "Evicted producers read back from the state directory."), {}));
  EXACTLY_ASSIGN(m.evicted.counter,
                 One(r.AddCounter("exactly_producers_evicted_total", "Producers evicted from memory past --producer-cache."), {}));
  EXACTLY_ASSIGN(m.reassembly_allocations.counter,
                 One(r.AddCounter("exactly_reassembly_buffer_allocations_total",
                                  "Buffers allocated or grown to reassemble chunked messages (finished ones are reused)."),
                     {}));
  auto checkpoints = r.AddCounter("exactly_checkpoints_total", "Checkpoints by result.", {"result"});
  if (!checkpoints.ok()) return checkpoints.status();
  EXACTLY_ASSIGN(m.checkpoints_ok.counter, (*checkpoints)->With({"ok"}));
  EXACTLY_ASSIGN(m.checkpoints_failed.counter, (*checkpoints)->With({"failed"}));
  EXACTLY_ASSIGN(m.rewinds.counter, One(r.AddCounter("exactly_rewinds_total", "Rewinds to the last checkpoint."), {}));
  auto alignments = r.AddCounter("exactly_checkpoint_alignments_total",
                                 "Due checkpoints that waited for chunked messages in progress to complete, by "
                                 "result: aligned (no chunks to write) or expired (a bound reached first).",
                                 {"result"});
  if (!alignments.ok()) return alignments.status();
  EXACTLY_ASSIGN(m.alignments_aligned.counter, (*alignments)->With({"aligned"}));
  EXACTLY_ASSIGN(m.alignments_expired.counter, (*alignments)->With({"expired"}));
  EXACTLY_ASSIGN(m.offset_commit_failures.counter,
                 One(r.AddCounter("exactly_offset_commit_failures_total",
                                  "Offset commits to the consumer group that failed (made again later; the state "
                                  "directory is the source of truth)."),
                     {}));
  auto rebalances = r.AddCounter("exactly_rebalance_events_total", "Rebalance callbacks by kind.", {"kind"});
  if (!rebalances.ok()) return rebalances.status();
  EXACTLY_ASSIGN(m.assignments.counter, (*rebalances)->With({"assigned"}));
  EXACTLY_ASSIGN(m.revocations.counter, (*rebalances)->With({"revoked"}));
  EXACTLY_ASSIGN(m.lost.counter, (*rebalances)->With({"lost"}));

  EXACTLY_ASSIGN(m.assigned, One(r.AddGauge("exactly_assigned_partitions", "Input partitions owned by this consumer."), {}));
  EXACTLY_ASSIGN(m.producers, One(r.AddGauge("exactly_tracked_producers", "Producers with dedup state, all owned partitions."), {}));
  EXACTLY_ASSIGN(m.in_progress, One(r.AddGauge("exactly_in_progress_messages", "Chunked messages being reassembled."), {}));
  EXACTLY_ASSIGN(m.in_progress_bytes,
                 One(r.AddGauge("exactly_in_progress_bytes", "Bytes held by chunked messages being reassembled."), {}));
  EXACTLY_ASSIGN(m.reassembly_reserve,
                 One(r.AddGauge("exactly_reassembly_reserve_bytes",
                                "Reassembly buffers kept for reuse or lent from that reserve to messages in progress (at most 64 MiB)."),
                     {}));
  EXACTLY_ASSIGN(m.last_checkpoint_ts,
                 One(r.AddGauge("exactly_last_checkpoint_timestamp_seconds", "Unix time of the last successful checkpoint (0: none yet)."), {}));
  EXACTLY_ASSIGN(m.since_checkpoint,
                 One(r.AddGauge("exactly_seconds_since_last_checkpoint", "Age of the last successful checkpoint at scrape time (-1: none yet)."), {}));
  EXACTLY_ASSIGN(m.checkpoint_duration,
                 One(r.AddHistogram("exactly_checkpoint_duration_seconds", "Checkpoint duration: trigger to store commit, output acknowledgements included.",
                                    metrics::ExponentialBuckets(0.001, 2, 14)),
                     {}));
  auto lag = r.AddGauge("exactly_consumer_lag_records", "High watermark minus the next offset to process.", {"topic", "partition"});
  if (!lag.ok()) return lag.status();
  m.lag = *lag;
  auto next = r.AddGauge("exactly_next_offset", "Next offset to process.", {"topic", "partition"});
  if (!next.ok()) return next.status();
  m.next = *next;
  auto cp = r.AddGauge("exactly_checkpointed_offset", "Next offset recorded by the last checkpoint.", {"topic", "partition"});
  if (!cp.ok()) return cp.status();
  m.checkpointed = *cp;
  auto pp = r.AddGauge("exactly_partition_tracked_producers", "Producers with dedup state in the partition.", {"topic", "partition"});
  if (!pp.ok()) return pp.status();
  m.partition_producers = *pp;

  m.since_checkpoint->Set(-1);
  r.OnCollect([clock = m.clock, gauge = m.since_checkpoint] {
    if (!clock->alive.load(std::memory_order_acquire) || !clock->valid.load(std::memory_order_acquire)) return;
    const auto at = std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(clock->steady_ns.load(std::memory_order_relaxed)));
    gauge->Set(std::chrono::duration<double>(std::chrono::steady_clock::now() - at).count());
  });
  return std::unique_ptr<DedupConsumerMetrics>(new DedupConsumerMetrics(std::move(impl)));
}

DedupConsumerMetrics::DedupConsumerMetrics(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

DedupConsumerMetrics::~DedupConsumerMetrics() { impl_->clock->alive.store(false, std::memory_order_release); }

void DedupConsumerMetrics::ObserveCheckpoint(std::chrono::microseconds d) noexcept {
  impl_->checkpoint_duration->Observe(std::chrono::duration<double>(d).count());
}

void DedupConsumerMetrics::Update(const DedupConsumerStats& s, std::span<const PartitionPosition> positions) {
  Impl& m = *impl_;
  const Counters& c = s.engine;
  m.processed.Copy(c.records);
  m.polled.Copy(s.polled);
  m.skipped.Copy(s.skipped);
  m.duplicate.Copy(c.duplicate);
  m.stale.Copy(c.stale);
  m.malformed.Copy(c.malformed);
  m.chunk_duplicate.Copy(c.chunk_duplicate);
  m.unstamped_passed.Copy(c.unstamped - c.unstamped_dropped);
  m.unstamped_dropped.Copy(c.unstamped_dropped);
  m.abandoned_chunks.Copy(c.abandoned_chunks);
  for (std::size_t i = 0; i < kMalformedReasonCount; ++i) {
    if (m.malformed_by_reason[i].counter != nullptr) m.malformed_by_reason[i].Copy(c.malformed_by_reason[i]);
  }
  m.delivered.Copy(c.delivered);
  m.delivered_chunked.Copy(c.delivered_chunked);
  m.corrupt.Copy(c.corrupt);
  m.abandoned.Copy(c.abandoned);
  m.gaps.Copy(c.gaps);
  m.expired.Copy(c.producers_expired);
  m.dead_lettered.Copy(c.dead_lettered);
  m.cache_hits.Copy(c.producer_cache_hits);
  m.cache_misses.Copy(c.producer_cache_misses);
  m.fetched.Copy(c.producers_fetched);
  m.evicted.Copy(c.producers_evicted);
  m.reassembly_allocations.Copy(c.reassembly_allocations);
  m.checkpoints_ok.Copy(s.checkpoints);
  m.checkpoints_failed.Copy(s.checkpoint_failures);
  m.rewinds.Copy(s.rewinds);
  m.alignments_aligned.Copy(s.checkpoint_alignments - s.checkpoint_alignments_expired);
  m.alignments_expired.Copy(s.checkpoint_alignments_expired);
  m.offset_commit_failures.Copy(s.offset_commit_failures);
  m.assignments.Copy(s.assignments);
  m.revocations.Copy(s.revocations);
  m.lost.Copy(s.lost);

  m.assigned->Set(static_cast<double>(s.assigned));
  m.producers->Set(static_cast<double>(s.tracked_producers));
  m.in_progress->Set(static_cast<double>(s.in_progress_messages));
  m.in_progress_bytes->Set(static_cast<double>(s.in_progress_bytes));
  m.reassembly_reserve->Set(static_cast<double>(s.reassembly_reserve_bytes));
  if (s.last_checkpoint && s.last_checkpoint != m.last_seen_checkpoint) {
    m.last_seen_checkpoint = s.last_checkpoint;
    // The wall-clock time of a steady_clock instant in the past.
    const auto age = std::chrono::steady_clock::now() - *s.last_checkpoint;
    const auto wall = std::chrono::system_clock::now() - age;
    m.last_checkpoint_ts->Set(std::chrono::duration<double>(wall.time_since_epoch()).count());
    m.clock->steady_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(s.last_checkpoint->time_since_epoch()).count(),
                             std::memory_order_relaxed);
    m.clock->valid.store(true, std::memory_order_release);
  }

  std::set<std::pair<std::string, std::string>> now;
  for (const PartitionPosition& p : positions) {
    auto key = std::make_pair(std::string(p.tp.topic.name()), fmt::format("{}", p.tp.partition.value()));
    const std::string_view t = key.first, part = key.second;
    auto set = [&](metrics::Family<Gauge>* f, double v) {
      if (auto g = f->With({t, part}); g.ok()) (*g)->Set(v);
    };
    if (p.next) set(m.next, static_cast<double>(p.next->value()));
    if (p.checkpointed) set(m.checkpointed, static_cast<double>(p.checkpointed->value()));
    set(m.partition_producers, static_cast<double>(p.producers));
    // Unknown until the partition processed a record, was restored from a
    // checkpoint or reached its end.
    if (const auto lag = p.lag()) set(m.lag, static_cast<double>(*lag));
    now.insert(std::move(key));
  }
  for (const auto& key : m.rendered) {
    if (now.count(key)) continue;
    for (auto* f : {m.lag, m.next, m.checkpointed, m.partition_producers}) (void)f->Remove({key.first, key.second});
  }
  m.rendered = std::move(now);
}

// --- relay ------------------------------------------------------------------

struct RelayMetrics::Impl {
  Mirror forwarded, forwarded_chunked, output_records, dead_letters, produced, delivered, failed;
};

Result<std::unique_ptr<RelayMetrics>> RelayMetrics::Create(metrics::Registry& r) {
  auto consumer = DedupConsumerMetrics::Create(r);
  if (!consumer.ok()) return consumer.status();
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  auto fwd = r.AddCounter("exactly_relay_forwarded_messages_total", "Messages sent to the output topic (replays after a rewind included).", {"chunked"});
  if (!fwd.ok()) return fwd.status();
  EXACTLY_ASSIGN(m.forwarded.counter, (*fwd)->With({"false"}));
  EXACTLY_ASSIGN(m.forwarded_chunked.counter, (*fwd)->With({"true"}));
  EXACTLY_ASSIGN(m.output_records.counter, One(r.AddCounter("exactly_relay_output_records_total", "Records produced to the output topic."), {}));
  EXACTLY_ASSIGN(m.dead_letters.counter,
                 One(r.AddCounter("exactly_relay_dead_letters_sent_total", "Records produced to the dead-letter topic."), {}));
  auto reports = r.AddCounter("exactly_relay_producer_records_total", "Output and dead-letter records by delivery state.", {"result"});
  if (!reports.ok()) return reports.status();
  EXACTLY_ASSIGN(m.produced.counter, (*reports)->With({"produced"}));
  EXACTLY_ASSIGN(m.delivered.counter, (*reports)->With({"delivered"}));
  EXACTLY_ASSIGN(m.failed.counter, (*reports)->With({"failed"}));
  return std::unique_ptr<RelayMetrics>(new RelayMetrics(std::move(*consumer), std::move(impl)));
}

RelayMetrics::RelayMetrics(std::unique_ptr<DedupConsumerMetrics> consumer, std::unique_ptr<Impl> impl) noexcept
    : consumer_(std::move(consumer)), impl_(std::move(impl)) {}

RelayMetrics::~RelayMetrics() = default;

void RelayMetrics::Update(const RelayStats& s, std::span<const PartitionPosition> positions) {
  consumer_->Update(s.consumer, positions);
  Impl& m = *impl_;
  m.forwarded.Copy(s.forwarded - s.forwarded_chunked);
  m.forwarded_chunked.Copy(s.forwarded_chunked);
  m.output_records.Copy(s.output_records);
  m.dead_letters.Copy(s.dead_lettered);
  m.produced.Copy(s.producer.produced);
  m.delivered.Copy(s.producer.delivered);
  m.failed.Copy(s.producer.failed);
}

}  // namespace exactly::kafka
