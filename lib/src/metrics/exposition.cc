// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Registry::Render: the Prometheus text exposition format 0.0.4.
//   # HELP name text         (text escapes '\' and newline)
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} number   (values escape '\', '"' and newline)
// Histograms: name_bucket{...,le="bound"} cumulative counts ending with
// le="+Inf", then name_sum and name_count.
#include <fmt/format.h>

#include <cmath>

#include "exactly/metrics/registry.h"

namespace exactly::metrics {
namespace {

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// Go's strconv.ParseFloat reads every form written here.
void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// {a="x",b="y"} with an optional extra le label; nothing when empty.
void AppendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*quote=*/true);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

template <class Metric>
void AppendHeader(std::string& out, const Family<Metric>& f, std::string_view type) {
  out += "# HELP ";
  out += f.name();
  out += ' ';
  AppendEscaped(out, f.help(), /*quote=*/false);
  out += "\n# TYPE ";
  out += f.name();
  out += ' ';
  out += type;
  out += '\n';
}

void Render(std::string& out, const Family<Counter>& f) {
  std::string body;
  f.ForEach([&](const std::vector<std::string>& values, const Counter& c) {
    body += f.name();
    AppendLabels(body, f.label_names(), values);
    fmt::format_to(std::back_inserter(body), " {}\n", c.Value());
  });
  if (body.empty()) return;
  AppendHeader(out, f, "counter");
  out += body;
}

void Render(std::string& out, const Family<Gauge>& f) {
  std::string body;
  f.ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
    body += f.name();
    AppendLabels(body, f.label_names(), values);
    body += ' ';
    AppendNumber(body, g.Value());
    body += '\n';
  });
  if (body.empty()) return;
  AppendHeader(out, f, "gauge");
  out += body;
}

void Render(std::string& out, const Family<Histogram>& f) {
  std::string body;
  f.ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
    const Histogram::Snapshot s = h.Read();
    const auto bounds = h.bounds();
    std::string le;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      le.clear();
      if (i < bounds.size()) {
        AppendNumber(le, bounds[i]);
      } else {
        le = "+Inf";
      }
      body += f.name();
      body += "_bucket";
      AppendLabels(body, f.label_names(), values, le);
      fmt::format_to(std::back_inserter(body), " {}\n", s.cumulative[i]);
    }
    body += f.name();
    body += "_sum";
    AppendLabels(body, f.label_names(), values);
    body += ' ';
    AppendNumber(body, s.sum);
    body += '\n';
    body += f.name();
    body += "_count";
    AppendLabels(body, f.label_names(), values);
    fmt::format_to(std::back_inserter(body), " {}\n", s.count);
  });
  if (body.empty()) return;
  AppendHeader(out, f, "histogram");
  out += body;
}

}  // namespace

std::string Registry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lk(mu_);
    hooks = hooks_;
  }
  for (const auto& hook : hooks) hook();
  std::string out;
  std::lock_guard lk(mu_);
  for (const auto& [name, e] : families_) {
    switch (e.kind) {
      case Kind::kCounter:
        metrics::Render(out, *e.counter);
        break;
      case Kind::kGauge:
        metrics::Render(out, *e.gauge);
        break;
      case Kind::kHistogram:
        metrics::Render(out, *e.histogram);
        break;
    }
  }
  return out;
}

}  // namespace exactly::metrics
