// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "log/record_line_parser.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <limits>

#include "log/json_text.h"

namespace exactly::logfmt {
namespace {

namespace od = simdjson::ondemand;

enum Field : unsigned {
  kTopic = 1u << 0,
  kPartition = 1u << 1,
  kOffset = 1u << 2,
  kTs = 1u << 3,
  kKey = 1u << 4,
  kPayload = 1u << 5,
  kHeaders = 1u << 6,
  kUnknown = 0,
};
constexpr unsigned kRequired = kTopic | kPartition | kOffset | kKey | kPayload;

// `raw` points just past the key's opening quote. The comparison may read
// name.size() + 1 bytes, always inside the padded line.
bool KeyIs(const char* raw, std::string_view name) noexcept {
  return std::memcmp(raw, name.data(), name.size()) == 0 && raw[name.size()] == '"';
}

Field Classify(const char* k) noexcept {
  switch (k[0]) {
    case 't':
      if (KeyIs(k, "topic")) return kTopic;
      if (KeyIs(k, "ts")) return kTs;
      return kUnknown;
    case 'p':
      if (KeyIs(k, "partition")) return kPartition;
      if (KeyIs(k, "payload")) return kPayload;
      return kUnknown;
    case 'o':
      return KeyIs(k, "offset") ? kOffset : kUnknown;
    case 'k':
      return KeyIs(k, "key") ? kKey : kUnknown;
    case 'h':
      return KeyIs(k, "headers") ? kHeaders : kUnknown;
    default:
      return kUnknown;
  }
}

std::string_view FieldName(unsigned f) noexcept {
  switch (f) {
    case kTopic: return "topic";
    case kPartition: return "partition";
    case kOffset: return "offset";
    case kTs: return "ts";
    case kKey: return "key";
    case kPayload: return "payload";
    case kHeaders: return "headers";
    default: return "?";
  }
}

// Short strings (most keys, topics, header names and values) are cheaper
// to walk than to hand to memchr.
bool HasBackslash(std::string_view s) noexcept {
  if (s.size() >= 32) return std::memchr(s.data(), '\\', s.size()) != nullptr;
  for (char c : s)
    if (c == '\\') return true;
  return false;
}

std::string_view TrimRight(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Why a parse failed. Built into a Status only on the error path, so the
// happy path allocates nothing.
struct Failure {
  simdjson::error_code json = simdjson::SUCCESS;  // a JSON syntax error
  const char* what = nullptr;                     // or a layout error
  unsigned field = 0;                             // the field concerned (alone: missing)
  explicit operator bool() const noexcept { return json != simdjson::SUCCESS || what != nullptr || field != 0; }
};

}  // namespace

std::size_t LinePadding() noexcept { return simdjson::SIMDJSON_PADDING; }

struct RecordLineParser::Impl {
  od::parser parser;
  std::string scratch;  // decoded strings of the current line
  std::size_t scratch_used = 0;
  std::string escaped;  // the line with raw invalid UTF-8 rewritten
  std::vector<HeaderView> headers;

  enum class Str : std::uint8_t { kOk, kNull, kNotString, kBadEscape };

  // Reads a JSON string or null from a value's raw token. Strings without
  // escapes are views into the line; others are decoded into `scratch`.
  Str ReadString(od::value& v, NullableBytes* out, const char** why) {
    const std::string_view tok = TrimRight(v.raw_json_token());
    if (tok == "null") {
      *out = std::nullopt;
      return Str::kNull;
    }
    if (tok.size() < 2 || tok.front() != '"' || tok.back() != '"') return Str::kNotString;
    const std::string_view body = tok.substr(1, tok.size() - 2);
    // simdjson's first stage has already rejected raw control characters
    // inside strings (UNESCAPED_CHARS), so only a backslash needs decoding.
    if (!HasBackslash(body)) {
      *out = body;
      return Str::kOk;
    }
    char* dst = scratch.data() + scratch_used;
    std::size_t len = 0;
    if (const char* err = UnescapeJsonString(body, dst, &len)) {
      *why = err;
      return Str::kBadEscape;
    }
    scratch_used += len;
    *out = std::string_view(dst, len);
    return Str::kOk;
  }

  Failure ReadHeaders(od::value& v) {
    od::array arr;
    if (v.get_array().get(arr) != simdjson::SUCCESS) {
      return {simdjson::SUCCESS, "must be an array [name, value, ...]", kHeaders};
    }
    bool name_next = true;
    for (auto element : arr) {
      od::value e;
      if (auto err = std::move(element).get(e)) return {err, nullptr, kHeaders};
      NullableBytes s;
      const char* why = nullptr;
      switch (ReadString(e, &s, &why)) {
        case Str::kOk:
          break;
        case Str::kNull:
          if (name_next) return {simdjson::SUCCESS, "has a null header name", kHeaders};
          break;
        case Str::kNotString:
          return {simdjson::SUCCESS,
                  name_next ? "has a header name that is not a string" : "has a header value that is not a string or null",
                  kHeaders};
        case Str::kBadEscape:
          return {simdjson::SUCCESS, why, kHeaders};
      }
      if (name_next) {
        headers.push_back(HeaderView{*s, std::nullopt});
      } else {
        headers.back().value = s;
      }
      name_next = !name_next;
    }
    if (!name_next) return {simdjson::SUCCESS, "has an odd number of elements (a name without a value)", kHeaders};
    return {};
  }

  // False if the value is not an integer in [lo, hi].
  static bool ReadInt(od::value& v, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
    std::int64_t x = 0;
    if (v.get_int64().get(x) != simdjson::SUCCESS || x < lo || x > hi) return false;
    *out = x;
    return true;
  }

  Failure ParseOnce(std::string_view line, std::size_t capacity, RecordView* out) {
    od::document doc;
    if (auto err = parser.iterate(simdjson::padded_string_view(line.data(), line.size(), capacity)).get(doc)) {
      return {err, nullptr, 0};
    }
    od::object obj;
    if (auto err = doc.get_object().get(obj)) {
      if (err == simdjson::INCORRECT_TYPE) return {simdjson::SUCCESS, "a record line must be a JSON object", 0};
      return {err, nullptr, 0};
    }
    if (scratch.size() < line.size()) scratch.resize(line.size());
    scratch_used = 0;
    headers.clear();
    unsigned seen = 0;
    std::int64_t n = 0;
    out->timestamp = TimestampMs(-1);
    for (auto field_result : obj) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return {err, nullptr, 0};
      const Field f = Classify(field.key().raw());
      if (f == kUnknown) continue;  // tstype, broker, ...: skipped by the iterator
      if (seen & f) return {simdjson::SUCCESS, "appears twice", f};
      seen |= f;
      od::value& v = field.value();
      switch (f) {
        case kTopic: {
          NullableBytes s;
          const char* why = nullptr;
          const Str r = ReadString(v, &s, &why);
          if (r == Str::kBadEscape) return {simdjson::SUCCESS, why, f};
          if (r != Str::kOk) return {simdjson::SUCCESS, "must be a string", f};
          out->topic = *s;
          break;
        }
        case kPartition:
          if (!ReadInt(v, 0, std::numeric_limits<std::int32_t>::max(), &n)) {
            return {simdjson::SUCCESS, "must be an integer in 0..2147483647", f};
          }
          out->partition = Partition(static_cast<std::int32_t>(n));
          break;
        case kOffset:
          if (!ReadInt(v, 0, std::numeric_limits<std::int64_t>::max(), &n)) {
            return {simdjson::SUCCESS, "must be a non-negative 64-bit integer", f};
          }
          out->offset = Offset(n);
          break;
        case kTs:
          if (!ReadInt(v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), &n)) {
            return {simdjson::SUCCESS, "must be a 64-bit integer (milliseconds)", f};
          }
          out->timestamp = TimestampMs(n);
          break;
        case kKey:
        case kPayload: {
          NullableBytes s;
          const char* why = nullptr;
          const Str r = ReadString(v, &s, &why);
          if (r == Str::kBadEscape) return {simdjson::SUCCESS, why, f};
          if (r == Str::kNotString) return {simdjson::SUCCESS, "must be a string or null", f};
          (f == kKey ? out->key : out->value) = s;
          break;
        }
        case kHeaders:
          if (Failure fail = ReadHeaders(v)) return fail;
          break;
        default:
          break;
      }
    }
    // A fully consumed document has no current location.
    const char* loc = nullptr;
    if (doc.current_location().get(loc) == simdjson::SUCCESS) {
      return {simdjson::SUCCESS, "unexpected content after the record object", 0};
    }
    if ((seen & kRequired) != kRequired) {
      for (unsigned f = 1; f <= kPayload; f <<= 1) {
        if ((kRequired & f) && !(seen & f)) return {simdjson::SUCCESS, nullptr, f};
      }
    }
    out->headers = headers;
    return {};
  }
};

RecordLineParser::RecordLineParser() : impl_(std::make_unique<Impl>()) {}
RecordLineParser::~RecordLineParser() = default;

Status RecordLineParser::Parse(std::string_view line, std::size_t capacity, RecordView* out) {
  Failure fail = impl_->ParseOnce(line, capacity, out);
  if (fail.json == simdjson::UTF8_ERROR) {
    // kcat writes bytes that are not UTF-8 raw. Re-read the line with
    // those bytes turned into the \uDCXX escapes they decode from.
    std::string& esc = impl_->escaped;
    esc.clear();
    EscapeInvalidUtf8(line, esc);
    const std::size_t len = esc.size();
    esc.resize(len + LinePadding(), '\0');
    fail = impl_->ParseOnce(std::string_view(esc.data(), len), esc.size(), out);
  }
  if (!fail) return Status::OK();
  if (fail.json != simdjson::SUCCESS) {
    return Status::Corruption(fmt::format("invalid JSON: {}", simdjson::error_message(fail.json)));
  }
  if (fail.field == 0) return Status::Corruption(fail.what);
  if (fail.what == nullptr) return Status::Corruption(fmt::format("missing field \"{}\"", FieldName(fail.field)));
  return Status::Corruption(fmt::format("field \"{}\": {}", FieldName(fail.field), fail.what));
}

}  // namespace exactly::logfmt
