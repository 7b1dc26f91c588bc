// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// RecordView: one Kafka record as the core sees it, independent of
// librdkafka. It is a non-owning view: every string_view and the header
// span point into memory owned by the caller (a librdkafka message, a
// parsed log line, a test's vectors) and must outlive the view.
//
// Nullability follows Kafka: a key, a value or a header value may be null,
// which is distinct from empty. Null is std::nullopt here.
//
// OwnedRecord is the owning counterpart, for tests, logs and buffering.
//
// Thread safety: views are values; the memory they point to must not be
// mutated while a view of it is in use.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/types.h"

namespace exactly {

using NullableBytes = std::optional<std::string_view>;

struct HeaderView {
  std::string_view name;
  NullableBytes value;
};

struct RecordView {
  std::string_view topic;
  Partition partition;
  Offset offset;
  TimestampMs timestamp;
  NullableBytes key;
  NullableBytes value;
  std::span<const HeaderView> headers;
};

struct OwnedHeader {
  std::string name;
  std::optional<std::string> value;
  friend bool operator==(const OwnedHeader&, const OwnedHeader&) = default;
};

// An owning record. view() is valid until the OwnedRecord is modified or
// destroyed.
class OwnedRecord {
 public:
  std::string topic;
  Partition partition;
  Offset offset;
  TimestampMs timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;

  OwnedRecord() = default;
  OwnedRecord(const OwnedRecord& o) { *this = o; }
  OwnedRecord& operator=(const OwnedRecord& o);
  OwnedRecord(OwnedRecord&&) noexcept = default;
  OwnedRecord& operator=(OwnedRecord&&) noexcept = default;

  static OwnedRecord FromView(const RecordView& v);
  // The view is rebuilt on each call; it borrows from *this.
  RecordView view() const;

  friend bool operator==(const OwnedRecord& a, const OwnedRecord& b) {
    return a.topic == b.topic && a.partition == b.partition && a.offset == b.offset &&
           a.timestamp == b.timestamp && a.key == b.key && a.value == b.value && a.headers == b.headers;
  }

 private:
  mutable std::vector<HeaderView> header_views_;
};

}  // namespace exactly
