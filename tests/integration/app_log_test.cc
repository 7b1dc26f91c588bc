// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The apps' log lines (apps/common/log.h): every JSON line parses (simdjson)
// and carries ts, level, msg and its fields, numbers as numbers, hostile
// text (quotes, control bytes, invalid UTF-8) escaped; the text format;
// level and format parsing.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <string>

#include "log.h"

namespace exactly::apps {
namespace {

TEST(AppLog, JsonLinesParseWithEveryField) {
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'763'740'800'123));
  const std::string hostile = "q\"uote\\ \n\t\x01 \xff\xfe caf\xc3\xa9";
  const std::string line =
      FormatLogLine(LogFormat::kJson, "exactly-relay", LogLevel::kWarn, hostile,
                    {Field("lag", std::uint64_t{42}), Field("rate", 12.5), Field("topic", hostile),
                     Field("delta", std::int64_t{-3}), Field("msg", "reserved keys are not repeated")},
                    when);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
  EXPECT_EQ(doc["ts"].get_string().value(), "2025-11-21T16:00:00.123Z");
  EXPECT_EQ(doc["level"].get_string().value(), "warn");
  // Invalid bytes come back as the text \xNN, valid UTF-8 as is.
  const std::string_view msg = doc["msg"].get_string().value();
  EXPECT_NE(msg.find("q\"uote\\ \n\t\x01 \\xff\\xfe caf"), std::string_view::npos) << msg;
  EXPECT_NE(msg.find("caf\xc3\xa9"), std::string_view::npos);
  EXPECT_EQ(doc["lag"].get_uint64().value(), 42u);
  EXPECT_EQ(doc["rate"].get_double().value(), 12.5);
  EXPECT_EQ(doc["delta"].get_int64().value(), -3);
  EXPECT_EQ(doc["topic"].get_string().value(), msg);
  std::size_t keys = 0;
  for (auto field : doc.get_object()) {
    (void)field;
    ++keys;
  }
  EXPECT_EQ(keys, 7u);  // ts, level, msg, lag, rate, topic, delta
}

TEST(AppLog, TextLines) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(FormatLogLine(LogFormat::kText, "exactly-relay", LogLevel::kInfo, "relaying", {Field("lag", std::uint64_t{7})}, now),
            "exactly-relay: relaying");  // fields are for JSON; the message says it in words
  EXPECT_EQ(FormatLogLine(LogFormat::kText, "exactly-relay", LogLevel::kError, "stopped", {}, now),
            "exactly-relay: error: stopped");
}

TEST(AppLog, LevelsAndFormatsParse) {
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("error").value(), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  Logger& l = Logger::Get();
  l.Configure("t", LogFormat::kText, LogLevel::kWarn);
  EXPECT_TRUE(l.Enabled(LogLevel::kError));
  EXPECT_TRUE(l.Enabled(LogLevel::kWarn));
  EXPECT_FALSE(l.Enabled(LogLevel::kInfo));
}

}  // namespace
}  // namespace exactly::apps
