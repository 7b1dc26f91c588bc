// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace exactly::apps {
namespace {

std::mutex g_write_mu;

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) n = 2, cp = b & 0x1F;
  else if ((b & 0xF0) == 0xE0) n = 3, cp = b & 0x0F;
  else if ((b & 0xF8) == 0xF0) n = 4, cp = b & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7F) out += fmt::format("\\u{:04x}", u);
    else if (u < 0x80) out += c;
    else if (const std::size_t n = Utf8Length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      out += fmt::format("\\\\x{:02x}", u);  // the text \xNN: strict JSON parsers reject lone surrogates
    }
    ++i;
  }
  out += '"';
}

std::string Timestamp(std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view t) {
  if (t == "error") return LogLevel::kError;
  if (t == "warn") return LogLevel::kWarn;
  if (t == "info") return LogLevel::kInfo;
  if (t == "debug") return LogLevel::kDebug;
  return Status::InvalidArgument(fmt::format("--log-level: '{}' is not one of error, warn, info, debug", t));
}

Result<LogFormat> ParseLogFormat(std::string_view t) {
  if (t == "text") return LogFormat::kText;
  if (t == "json") return LogFormat::kJson;
  return Status::InvalidArgument(fmt::format("--log-format: '{}' is neither text nor json", t));
}

std::string_view LogLevelName(LogLevel l) noexcept {
  switch (l) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

LogField Field(std::string key, std::string_view value) { return {std::move(key), std::string(value), false}; }
LogField Field(std::string key, std::int64_t value) { return {std::move(key), fmt::format("{}", value), true}; }
LogField Field(std::string key, std::uint64_t value) { return {std::move(key), fmt::format("{}", value), true}; }
LogField Field(std::string key, double value) {
  if (!std::isfinite(value)) return {std::move(key), fmt::format("{}", value), false};
  return {std::move(key), fmt::format("{:.3f}", value), true};
}

std::string FormatLogLine(LogFormat format, std::string_view app, LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields, std::chrono::system_clock::time_point now) {
  std::string out;
  if (format == LogFormat::kText) {
    out = fmt::format("{}: ", app);
    if (level == LogLevel::kError) out += "error: ";
    if (level == LogLevel::kWarn) out += "warning: ";
    if (level == LogLevel::kDebug) out += "debug: ";
    out += msg;
    return out;
  }
  out = "{\"ts\":\"" + Timestamp(now) + "\",\"level\":\"" + std::string(LogLevelName(level)) + "\",\"msg\":";
  AppendJsonString(out, msg);
  for (const LogField& f : fields) {
    if (f.key == "ts" || f.key == "level" || f.key == "msg") continue;  // reserved
    out += ',';
    AppendJsonString(out, f.key);
    out += ':';
    if (f.number) {
      out += f.value;
    } else {
      AppendJsonString(out, f.value);
    }
  }
  out += '}';
  return out;
}

Logger& Logger::Get() {
  static Logger logger;
  return logger;
}

void Logger::Configure(std::string app, LogFormat format, LogLevel level) {
  app_ = std::move(app);
  format_ = format;
  level_ = level;
}

void Logger::Log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLogLine(format_, app_, level, msg, fields, std::chrono::system_clock::now());
  line += '\n';
  std::lock_guard lk(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void LoggerKafkaSink::Log(int level, std::string_view facility, std::string_view client,
                          std::string_view message) noexcept {
  const LogLevel l = level <= 3 ? LogLevel::kError : level == 4 ? LogLevel::kWarn : level <= 6 ? LogLevel::kInfo
                                                                                                : LogLevel::kDebug;
  try {
    Logger::Get().Log(l, fmt::format("librdkafka {} {}: {}", client, facility, message),
                      {Field("facility", facility), Field("client", client)});
  } catch (...) {  // a log line is not worth a crash in librdkafka's thread
  }
}

}  // namespace exactly::apps
