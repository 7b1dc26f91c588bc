// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The option-value parsers shared by the apps (apps/common/parse.h):
// durations and byte counts, their forms, bounds and errors. No broker.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "parse.h"

namespace exactly::apps {
namespace {

TEST(AppParse, Durations) {
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("1500"), 1500);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("45s"), 45'000);
  EXPECT_EQ(*ParseDurationMs("30m"), 1'800'000);
  EXPECT_EQ(*ParseDurationMs("12h"), 43'200'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 604'800'000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("1d12h5s20ms"), 129'605'020);
  EXPECT_EQ(*ParseDurationMs("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  for (const char* bad : {"", "h", "7x", "-5", "+5", "1.5h", "5 s", "5S", "ms", "1h30", "9223372036854775808",
                          "106751991167301d", "99999999999999999999ms"}) {
    const auto r = ParseDurationMs(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string_view::npos) << r.status().ToString();
  }
}

TEST(AppParse, ByteCounts) {
  EXPECT_EQ(*ParseByteCount("0"), 0u);
  EXPECT_EQ(*ParseByteCount("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteCount("1k"), 1024u);
  EXPECT_EQ(*ParseByteCount("512KiB"), 512u << 10);
  EXPECT_EQ(*ParseByteCount("64M"), 64u << 20);
  EXPECT_EQ(*ParseByteCount("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteCount("2GiB"), std::uint64_t{2} << 30);
  EXPECT_EQ(*ParseByteCount("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"", "k", "-1", "1.5M", "1MB", "1 MiB", "1m", "18446744073709551616", "17179869184G"}) {
    const auto r = ParseByteCount(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace exactly::apps
