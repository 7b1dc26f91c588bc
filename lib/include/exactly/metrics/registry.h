// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// A small metrics registry: counters, gauges and histograms, in families
// with labels, rendered in the Prometheus text exposition format 0.0.4
// (Registry::Render; serve it with MetricsServer, http_server.h).
//
// Usage: register a family once, look up the series you update once
// (With), keep the pointer, and update it on the hot path:
//
//   metrics::Registry registry;
//   auto records = registry.AddCounter("exactly_relay_records_total", "Records by outcome.", {"outcome"});
//   metrics::Counter* delivered = (*records)->With({"delivered"}).value();
//   delivered->Inc();
//
// Contract
// - Names: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
//   [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; a histogram may not
//   have the label "le". A name is registered once (kInvalidArgument
//   otherwise). Label values are any bytes (they should be UTF-8, as
//   Prometheus requires); they are escaped when rendered.
// - A family without labels has its one series from the start (rendered
//   as 0); a family with labels renders only the series looked up so far.
// - Each family holds at most Registry's max_series_per_family series;
//   With beyond that returns kResourceExhausted (label values from
//   unbounded sets must not grow memory without bound).
// - Pointers returned by With and Add* stay valid for the registry's life,
//   Remove included (it hides a series; With shows it again).
// - Histograms: bucket bounds strictly increasing and finite; +Inf is
//   implicit. An observation v counts in every bucket whose bound >= v.
//   NaN observations are ignored. _count is the sum of the buckets, so it
//   always equals the +Inf bucket; _sum may lag concurrent observations
//   by the ones in flight.
//
// Thread safety: everything may be called from any thread concurrently.
// Counter/Gauge/Histogram updates are lock-free atomic operations (no
// mutex on the hot path); With and Render take the family's mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/status.h"

namespace exactly::metrics {

// A monotonically increasing count.
class Counter {
 public:
  void Inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void Inc() noexcept { Add(1); }
  void Dec() noexcept { Add(-1); }
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts of observations in buckets, and their sum.
class Histogram {
 public:
  // Use Registry::AddHistogram; public for std::make_unique.
  explicit Histogram(std::span<const double> bounds);

  void Observe(double v) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;
  std::span<const double> bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf last)
  std::atomic<double> sum_{0};
};

// `count` bounds start, start*factor, ... (start > 0, factor > 1).
std::vector<double> ExponentialBuckets(double start, double factor, std::size_t count);
// `count` bounds start, start+width, ... (width > 0).
std::vector<double> LinearBuckets(double start, double width, std::size_t count);

enum class Kind { kCounter, kGauge, kHistogram };

// The series of one metric name, one per combination of label values.
template <class Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds,
         std::size_t max_series);
  ~Family();
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series with these label values (one per label name, in order),
  // created at first use.
  Result<Metric*> With(std::span<const std::string_view> values);
  Result<Metric*> With(std::initializer_list<std::string_view> values) {
    return With(std::span<const std::string_view>(values.begin(), values.size()));
  }

  // Takes the series out of the exposition (e.g. a partition revoked
  // from this process). Its pointer stays valid and its updates are kept
  // but not rendered; the next With for the same values returns the same
  // series and renders it again. Removed series still count against the
  // family's limit. Returns false if the series was not rendered.
  bool Remove(std::span<const std::string_view> values);
  bool Remove(std::initializer_list<std::string_view> values) {
    return Remove(std::span<const std::string_view>(values.begin(), values.size()));
  }

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  // Calls fn(label values, metric) for every series not removed, in
  // label-value order, under the family's mutex.
  void ForEach(const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms
  std::size_t max_series_;
  mutable std::mutex mu_;
  struct Series {
    std::unique_ptr<Metric> metric;
    bool removed = false;
  };
  std::map<std::vector<std::string>, Series> series_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

class Registry {
 public:
  explicit Registry(std::size_t max_series_per_family = 10'000);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Result<Family<Counter>*> AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Result<Family<Gauge>*> AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  Result<Family<Histogram>*> AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                          std::vector<std::string> label_names = {});

  // Runs `hook` at the start of every Render, e.g. to set a gauge that is
  // derived at scrape time ("seconds since the last checkpoint"). Hooks
  // run on the scraping thread and must not call Render.
  void OnCollect(std::function<void()> hook);

  // The text exposition format 0.0.4: families in name order, each with
  // HELP and TYPE lines, series in label-value order.
  std::string Render() const;

  // The Content-Type to serve Render's output with.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry {
    Kind kind;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
  };
  Status CheckNew(const std::string& name, const std::vector<std::string>& label_names, Kind kind) const;

  const std::size_t max_series_;
  mutable std::mutex mu_;  // guards families_ and hooks_ (not the families' series)
  std::map<std::string, Entry> families_;
  std::vector<std::function<void()>> hooks_;
};

}  // namespace exactly::metrics
