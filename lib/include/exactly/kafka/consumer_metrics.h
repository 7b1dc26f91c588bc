// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// DedupConsumerMetrics and RelayMetrics: Prometheus metrics for a
// DedupConsumer (or a Relay) in a metrics::Registry. docs/OPERATIONS.md
// lists every metric and what to do about it.
//
// Usage: create one per consumer on a registry, pass CheckpointObserver()
// as DedupConsumerOptions::on_checkpoint (RelayOptions::on_checkpoint), and
// call Update(consumer) on the loop thread between RunFor slices (e.g.
// every 100-500 ms). The hot path pays nothing: Update copies the
// consumer's cumulative counters (adding the difference since the last
// Update) and sets the gauges, so a scrape sees values as of the last
// Update. Partitions no longer owned leave the scrape at the next Update.
//
// Contract
// - Create fails (kInvalidArgument) if a metric name is already registered
//   (one adapter per registry, or one registry per consumer).
// - "seconds since the last checkpoint" is computed at scrape time (an
//   OnCollect hook), so it keeps growing while the loop is stuck.
// - The adapter may be destroyed before the registry: the collect hook then
//   does nothing.
//
// Thread safety: Update and the checkpoint observer on the loop thread;
// scrapes (Registry::Render) from any thread concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/relay.h"
#include "exactly/metrics/registry.h"
#include "exactly/status.h"

namespace exactly::kafka {

class DedupConsumerMetrics {
 public:
  static Result<std::unique_ptr<DedupConsumerMetrics>> Create(metrics::Registry& registry);
  ~DedupConsumerMetrics();
  DedupConsumerMetrics(const DedupConsumerMetrics&) = delete;
  DedupConsumerMetrics& operator=(const DedupConsumerMetrics&) = delete;

  void Update(const DedupConsumer& consumer) { Update(consumer.stats(), consumer.Positions()); }
  void Update(const DedupConsumerStats& stats, std::span<const PartitionPosition> positions);
  // Observes one checkpoint's duration (the histogram).
  void ObserveCheckpoint(std::chrono::microseconds duration) noexcept;
  // ObserveCheckpoint as a callable for on_checkpoint; `this` must outlive
  // the consumer's use of it.
  std::function<void(std::chrono::microseconds)> CheckpointObserver() {
    return [this](std::chrono::microseconds d) { ObserveCheckpoint(d); };
  }

 private:
  struct Impl;
  explicit DedupConsumerMetrics(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// DedupConsumerMetrics plus the relay's output and dead-letter counters.
class RelayMetrics {
 public:
  static Result<std::unique_ptr<RelayMetrics>> Create(metrics::Registry& registry);
  ~RelayMetrics();
  RelayMetrics(const RelayMetrics&) = delete;
  RelayMetrics& operator=(const RelayMetrics&) = delete;

  void Update(const Relay& relay) { Update(relay.stats(), relay.Positions()); }
  void Update(const RelayStats& stats, std::span<const PartitionPosition> positions);
  std::function<void(std::chrono::microseconds)> CheckpointObserver() { return consumer_->CheckpointObserver(); }

 private:
  struct Impl;
  RelayMetrics(std::unique_ptr<DedupConsumerMetrics> consumer, std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<DedupConsumerMetrics> consumer_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exactly::kafka
