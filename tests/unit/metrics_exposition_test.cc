// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The metrics registry and its Prometheus text exposition (0.0.4): exact
// text for a small registry (HELP/TYPE lines, escaping, histogram
// buckets), special values, and every registration error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "exactly/metrics/registry.h"

namespace exactly::metrics {
namespace {

TEST(MetricsExposition, SmallRegistryRendersExactly) {
  Registry r;
  auto requests = r.AddCounter("app_requests_total", "Requests handled.", {"method", "path"});
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  (*requests)->With({"POST", "/"}).value()->Inc();
  (*requests)->With({"GET", "/a\"b\\c\nd"}).value()->Inc(3);
  auto temp = r.AddGauge("app_temperature_celsius", "Temperature.\nSecond line with \\ backslash.");
  ASSERT_TRUE(temp.ok());
  (*temp)->With({}).value()->Set(-2.5);
  auto latency = r.AddHistogram("app_latency_seconds", "Latency.", {0.25, 0.5, 1}, {"op"});
  ASSERT_TRUE(latency.ok());
  Histogram* read = (*latency)->With({"read"}).value();
  for (double v : {0.125, 0.5, 0.75, 3.0}) read->Observe(v);
  ASSERT_TRUE(r.AddCounter("app_unused_total", "Never looked up: not rendered.", {"x"}).ok());
  ASSERT_TRUE(r.AddCounter("app_zero_total", "Unlabelled: present from the start.").ok());

  EXPECT_EQ(r.Render(),
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"0.25\"} 1\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"0.5\"} 2\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{op=\"read\"} 4.375\n"
            "app_latency_seconds_count{op=\"read\"} 4\n"
            "# HELP app_requests_total Requests handled.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
            "app_requests_total{method=\"POST\",path=\"/\"} 1\n"
            "# HELP app_temperature_celsius Temperature.\\nSecond line with \\\\ backslash.\n"
            "# TYPE app_temperature_celsius gauge\n"
            "app_temperature_celsius -2.5\n"
            "# HELP app_zero_total Unlabelled: present from the start.\n"
            "# TYPE app_zero_total counter\n"
            "app_zero_total 0\n");
}

TEST(MetricsExposition, UnlabelledHistogramAndSpecialValues) {
  Registry r;
  auto h = r.AddHistogram("h_seconds", "H.", {1});
  ASSERT_TRUE(h.ok());
  Histogram* hist = (*h)->With({}).value();
  hist->Observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  hist->Observe(2);
  auto g = r.AddGauge("g", "G.", {"v"});
  ASSERT_TRUE(g.ok());
  (*g)->With({"inf"}).value()->Set(std::numeric_limits<double>::infinity());
  (*g)->With({"nan"}).value()->Set(std::numeric_limits<double>::quiet_NaN());
  (*g)->With({"neg"}).value()->Set(-std::numeric_limits<double>::infinity());
  Gauge* big = (*g)->With({"x"}).value();
  big->Set(1e21);
  big->Add(0);
  EXPECT_EQ(r.Render(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{v=\"inf\"} +Inf\ng{v=\"nan\"} NaN\ng{v=\"neg\"} -Inf\ng{v=\"x\"} 1e+21\n"
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 0\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 2\nh_seconds_count 1\n");
}

TEST(MetricsExposition, UpdatesAndLookupsAreStable) {
  Registry r;
  auto c = r.AddCounter("c_total", "C.", {"k"});
  ASSERT_TRUE(c.ok());
  Counter* a = (*c)->With({"a"}).value();
  EXPECT_EQ((*c)->With({"a"}).value(), a);  // the same series
  a->Inc(2);
  a->Inc();
  EXPECT_EQ(a->Value(), 3u);
  auto g = r.AddGauge("g", "G.");
  Gauge* gauge = (*g)->With({}).value();
  gauge->Inc();
  gauge->Inc();
  gauge->Dec();
  gauge->Add(0.5);
  EXPECT_EQ(gauge->Value(), 1.5);
}

TEST(MetricsExposition, RemovedSeriesLeaveTheScrapeAndComeBack) {
  Registry r;
  auto lag = r.AddGauge("lag_records", "Lag.", {"topic", "partition"});
  ASSERT_TRUE(lag.ok());
  Gauge* p0 = (*lag)->With({"t", "0"}).value();
  Gauge* p1 = (*lag)->With({"t", "1"}).value();
  p0->Set(5);
  p1->Set(7);
  EXPECT_TRUE((*lag)->Remove({"t", "0"}));
  EXPECT_FALSE((*lag)->Remove({"t", "0"}));   // already removed
  EXPECT_FALSE((*lag)->Remove({"t", "9"}));   // never there
  EXPECT_FALSE((*lag)->Remove({"t"}));        // wrong arity
  const std::string without = r.Render();
  EXPECT_EQ(without.find("partition=\"0\""), std::string::npos) << without;
  EXPECT_NE(without.find("lag_records{topic=\"t\",partition=\"1\"} 7\n"), std::string::npos) << without;
  p0->Set(6);  // the holder's pointer is still valid, just not rendered
  EXPECT_EQ(r.Render().find("partition=\"0\""), std::string::npos);
  EXPECT_EQ((*lag)->With({"t", "0"}).value(), p0);  // assigned again: the same series
  EXPECT_NE(r.Render().find("lag_records{topic=\"t\",partition=\"0\"} 6\n"), std::string::npos);
  // A family with every series removed is left out, as one never used.
  EXPECT_TRUE((*lag)->Remove({"t", "0"}));
  EXPECT_TRUE((*lag)->Remove({"t", "1"}));
  EXPECT_EQ(r.Render(), "");
}

TEST(MetricsExposition, CollectHooksRunBeforeEachRender) {
  Registry r;
  auto g = r.AddGauge("age_seconds", "Age.");
  Gauge* age = (*g)->With({}).value();
  int calls = 0;
  r.OnCollect([&] { age->Set(++calls); });
  EXPECT_NE(r.Render().find("age_seconds 1\n"), std::string::npos);
  EXPECT_NE(r.Render().find("age_seconds 2\n"), std::string::npos);
}

TEST(MetricsExposition, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
  EXPECT_EQ(LinearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_TRUE(ExponentialBuckets(0, 2, 3).empty());
  EXPECT_TRUE(LinearBuckets(0, 0, 3).empty());
}

TEST(MetricsExposition, RegistrationErrors) {
  Registry r(/*max_series_per_family=*/2);
  ASSERT_TRUE(r.AddCounter("ok_total", "ok", {"a"}).ok());
  const auto code = [](const auto& result) { return result.status().code(); };
  EXPECT_EQ(code(r.AddCounter("ok_total", "again")), Code::kInvalidArgument);  // duplicate
  EXPECT_EQ(code(r.AddGauge("ok_total", "again as gauge")), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddCounter("", "x")), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddCounter("1abc", "x")), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddCounter("a-b", "x")), Code::kInvalidArgument);
  EXPECT_TRUE(r.AddCounter("ns:sub_total", "colons are allowed in names").ok());
  EXPECT_EQ(code(r.AddCounter("x_total", "x", {"a:b"})), Code::kInvalidArgument);  // not in label names
  EXPECT_EQ(code(r.AddCounter("x_total", "x", {"__reserved"})), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddCounter("x_total", "x", {"a", "a"})), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddHistogram("h", "x", {1}, {"le"})), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddHistogram("h", "x", {2, 1})), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddHistogram("h", "x", {1, 1})), Code::kInvalidArgument);
  EXPECT_EQ(code(r.AddHistogram("h", "x", {1, std::numeric_limits<double>::infinity()})), Code::kInvalidArgument);
  EXPECT_TRUE(r.AddHistogram("h", "x", {}).ok());  // only +Inf

  auto f = r.AddGauge("limited", "x", {"k"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->With({}).status().code(), Code::kInvalidArgument);          // too few values
  EXPECT_EQ((*f)->With({"a", "b"}).status().code(), Code::kInvalidArgument);  // too many
  EXPECT_TRUE((*f)->With({"1"}).ok());
  EXPECT_TRUE((*f)->With({"2"}).ok());
  EXPECT_TRUE((*f)->With({"1"}).ok());  // existing series: no new memory
  auto third = (*f)->With({"3"});
  EXPECT_EQ(third.status().code(), Code::kResourceExhausted);
  EXPECT_NE(third.status().message().find("limited"), std::string_view::npos);
}

}  // namespace
}  // namespace exactly::metrics
