// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Registry, families and metric types (rendering is in exposition.cc).
#include "exactly/metrics/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace exactly::metrics {
namespace {

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(std::string_view s, bool colon) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!NameChar(s[i], i == 0, colon)) return false;
  }
  return true;
}

}  // namespace

// --- histogram ------------------------------------------------------------

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(double v) noexcept {
  if (std::isnan(v)) return;
  // First bound >= v: the bucket v belongs to (the +Inf one if none).
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, std::size_t count) {
  std::vector<double> out;
  if (!(start > 0) || !(factor > 1)) return out;
  for (double b = start; out.size() < count && std::isfinite(b); b *= factor) out.push_back(b);
  return out;
}

std::vector<double> LinearBuckets(double start, double width, std::size_t count) {
  std::vector<double> out;
  if (!(width > 0) || !std::isfinite(start)) return out;
  for (std::size_t i = 0; i < count; ++i) {
    const double b = start + width * static_cast<double>(i);
    if (!std::isfinite(b)) break;
    out.push_back(b);
  }
  return out;
}

// --- families ---------------------------------------------------------------

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds, std::size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)),
      max_series_(max_series) {}

template <class Metric>
Family<Metric>::~Family() = default;

template <class Metric>
Result<Metric*> Family<Metric>::With(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    return Status::InvalidArgument(fmt::format("metric {}: {} label values given for {} labels", name_,
                                               values.size(), label_names_.size()));
  }
  std::vector<std::string> key(values.begin(), values.end());
  std::lock_guard lk(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) {
    it->second.removed = false;
    return it->second.metric.get();
  }
  if (series_.size() >= max_series_) {
    return Status::ResourceExhausted(
        fmt::format("metric {}: already {} series (the limit); label values must come from a bounded set", name_,
                    series_.size()));
  }
  std::unique_ptr<Metric> m;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    m = std::make_unique<Histogram>(bounds_);
  } else {
    m = std::make_unique<Metric>();
  }
  Metric* raw = m.get();
  series_.emplace(std::move(key), Series{std::move(m), false});
  return raw;
}

template <class Metric>
bool Family<Metric>::Remove(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) return false;
  std::vector<std::string> key(values.begin(), values.end());
  std::lock_guard lk(mu_);
  auto it = series_.find(key);
  if (it == series_.end() || it->second.removed) return false;
  it->second.removed = true;
  return true;
}

template <class Metric>
void Family<Metric>::ForEach(const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const {
  std::lock_guard lk(mu_);
  for (const auto& [values, series] : series_) {
    if (!series.removed) fn(values, *series.metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- registry -------------------------------------------------------------

Registry::Registry(std::size_t max_series_per_family) : max_series_(std::max<std::size_t>(max_series_per_family, 1)) {}

Registry::~Registry() = default;

Status Registry::CheckNew(const std::string& name, const std::vector<std::string>& label_names, Kind kind) const {
  if (!ValidName(name, /*colon=*/true)) {
    return Status::InvalidArgument(fmt::format("metric name '{}' must match [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  std::set<std::string_view> seen;
  for (const std::string& l : label_names) {
    if (!ValidName(l, /*colon=*/false) || l.starts_with("__")) {
      return Status::InvalidArgument(
          fmt::format("metric {}: label name '{}' must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __", name, l));
    }
    if (kind == Kind::kHistogram && l == "le") {
      return Status::InvalidArgument(fmt::format("metric {}: a histogram may not have the label 'le'", name));
    }
    if (!seen.insert(l).second) {
      return Status::InvalidArgument(fmt::format("metric {}: label '{}' given twice", name, l));
    }
  }
  if (families_.count(name)) return Status::InvalidArgument(fmt::format("metric {} is already registered", name));
  return Status::OK();
}

Result<Family<Counter>*> Registry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard lk(mu_);
  EXACTLY_RETURN_IF_ERROR(CheckNew(name, label_names, Kind::kCounter));
  auto f = std::make_unique<Family<Counter>>(name, std::move(help), std::move(label_names), std::vector<double>{},
                                             max_series_);
  if (f->label_names().empty()) (void)f->With({});  // unlabelled: present from the start
  Family<Counter>* raw = f.get();
  families_.emplace(std::move(name), Entry{Kind::kCounter, std::move(f), nullptr, nullptr});
  return raw;
}

Result<Family<Gauge>*> Registry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard lk(mu_);
  EXACTLY_RETURN_IF_ERROR(CheckNew(name, label_names, Kind::kGauge));
  auto f = std::make_unique<Family<Gauge>>(name, std::move(help), std::move(label_names), std::vector<double>{},
                                           max_series_);
  if (f->label_names().empty()) (void)f->With({});
  Family<Gauge>* raw = f.get();
  families_.emplace(std::move(name), Entry{Kind::kGauge, nullptr, std::move(f), nullptr});
  return raw;
}

Result<Family<Histogram>*> Registry::AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                                  std::vector<std::string> label_names) {
  std::lock_guard lk(mu_);
  EXACTLY_RETURN_IF_ERROR(CheckNew(name, label_names, Kind::kHistogram));
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      return Status::InvalidArgument(
          fmt::format("histogram {}: bucket bounds must be finite and strictly increasing", name));
    }
  }
  auto f = std::make_unique<Family<Histogram>>(name, std::move(help), std::move(label_names), std::move(bounds),
                                               max_series_);
  if (f->label_names().empty()) (void)f->With({});
  Family<Histogram>* raw = f.get();
  families_.emplace(std::move(name), Entry{Kind::kHistogram, nullptr, nullptr, std::move(f)});
  return raw;
}

void Registry::OnCollect(std::function<void()> hook) {
  std::lock_guard lk(mu_);
  hooks_.push_back(std::move(hook));
}

}  // namespace exactly::metrics
