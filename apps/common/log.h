// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The apps' own log lines, in text or JSON, filtered by level; and a
// KafkaLogSink that sends librdkafka's log lines through the same logger.
//
// Formats (one line each, to stderr):
// - text: `<app>: <msg>` (warn, error and debug lines say so:
//   `<app>: warning: ...`); fields are left out, since the message says
//   the same in words.
// - json: one object per line, {"ts":"2026-11-21T16:30:00.123Z",
//   "level":"info","msg":"...", then the fields}; a field whose value is
//   a number is written as a JSON number. Strings are JSON-escaped
//   (control characters as \u00XX; a byte that is not valid UTF-8 as the
//   four characters \xNN, since strict parsers reject the lone surrogates
//   recorded logs use), so every line parses as strict JSON.
//
// Thread safety: Configure before any other thread logs; Log and the
// sink from any thread (one write per line, under a mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/kafka/log.h"
#include "exactly/status.h"

namespace exactly::apps {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
enum class LogFormat { kText, kJson };

Result<LogLevel> ParseLogLevel(std::string_view text);    // error|warn|info|debug
Result<LogFormat> ParseLogFormat(std::string_view text);  // text|json
std::string_view LogLevelName(LogLevel level) noexcept;

struct LogField {
  std::string key;
  std::string value;
  bool number = false;  // json: unquoted
};
LogField Field(std::string key, std::string_view value);
LogField Field(std::string key, std::int64_t value);
LogField Field(std::string key, std::uint64_t value);
LogField Field(std::string key, double value);

// One formatted line, without the newline.
std::string FormatLogLine(LogFormat format, std::string_view app, LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields, std::chrono::system_clock::time_point now);

class Logger {
 public:
  static Logger& Get();
  void Configure(std::string app, LogFormat format, LogLevel level);
  bool Enabled(LogLevel level) const noexcept { return level <= level_; }
  LogFormat format() const noexcept { return format_; }
  void Log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields = {});

 private:
  std::string app_ = "exactly";
  LogFormat format_ = LogFormat::kText;
  LogLevel level_ = LogLevel::kInfo;
};

inline void LogInfo(std::string_view msg, const std::vector<LogField>& fields = {}) {
  Logger::Get().Log(LogLevel::kInfo, msg, fields);
}

// librdkafka's lines through Logger::Get(): syslog levels 0-3 are error,
// 4 warn, 5-6 info, 7 debug; fields `facility` and `client`.
class LoggerKafkaSink final : public kafka::KafkaLogSink {
 public:
  void Log(int level, std::string_view facility, std::string_view client, std::string_view message) noexcept override;
};

}  // namespace exactly::apps
