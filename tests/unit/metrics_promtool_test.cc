// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The rendered exposition of a registry with every metric kind passes
// `promtool check metrics` (Prometheus's own parser and linter), and
// promtool does reject a broken exposition (so the check can fail).
// promtool comes with the Debian package prometheus (scripts/install-deps.sh).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "exactly/metrics/registry.h"

namespace exactly::metrics {
namespace {

namespace fs = std::filesystem;

std::string FindPromtool() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path p = fs::path(dir) / "promtool";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

struct CheckResult {
  int status = -1;
  std::string output;
};

// Runs `promtool check metrics` with `text` on its standard input.
CheckResult Check(const std::string& promtool, const std::string& text) {
  std::string tmpl = (fs::temp_directory_path() / "promtool-XXXXXX").string();
  const char* dir = ::mkdtemp(tmpl.data());
  if (dir == nullptr) return {};
  const fs::path in = fs::path(dir) / "metrics.txt";
  const fs::path out = fs::path(dir) / "out.txt";
  std::ofstream(in) << text;
  const std::string cmd = "'" + promtool + "' check metrics < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  CheckResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::stringstream ss;
  ss << std::ifstream(out).rdbuf();
  r.output = ss.str();
  fs::remove_all(dir);
  return r;
}

TEST(MetricsPromtool, EveryKindPassesCheckMetrics) {
  const std::string promtool = FindPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found on PATH: run scripts/install-deps.sh (Debian package prometheus)";

  Registry r;
  auto records = r.AddCounter("exactly_test_records_total", "Records by outcome.", {"outcome", "reason"});
  ASSERT_TRUE(records.ok());
  (*records)->With({"delivered", ""}).value()->Inc(10);
  (*records)->With({"dead_lettered", "quote\" backslash\\ newline\n"}).value()->Inc(2);
  auto lag = r.AddGauge("exactly_test_consumer_lag_records", "Lag.\nWith a second line.", {"topic", "partition"});
  (*lag)->With({"orders", "0"}).value()->Set(42);
  (*lag)->With({"orders", "1"}).value()->Set(0);
  auto age = r.AddGauge("exactly_test_seconds_since_last_checkpoint", "Age.");
  (*age)->With({}).value()->Set(1.25);
  auto dur = r.AddHistogram("exactly_test_checkpoint_duration_seconds", "Duration.",
                            ExponentialBuckets(0.001, 4, 8));
  for (double v : {0.0005, 0.003, 0.2, 9.0}) (*dur)->With({}).value()->Observe(v);
  auto sized = r.AddHistogram("exactly_test_message_bytes", "Sizes.", {1024, 65536}, {"topic"});
  (*sized)->With({"orders"}).value()->Observe(100);
  const std::string text = r.Render();

  const CheckResult ok = Check(promtool, text);
  EXPECT_EQ(ok.status, 0) << ok.output << "\n--- input:\n" << text;
  EXPECT_EQ(ok.output, "") << ok.output;  // no lint findings either

  // The check is not vacuous: an unescaped quote in a label value fails.
  const CheckResult bad = Check(promtool, "# TYPE x_total counter\nx_total{a=\"b\"c\"} 1\n");
  EXPECT_NE(bad.status, 0) << bad.output;
}

}  // namespace
}  // namespace exactly::metrics
