// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/record.h"

namespace exactly {

OwnedRecord& OwnedRecord::operator=(const OwnedRecord& o) {
  if (this == &o) return *this;
  topic = o.topic;
  partition = o.partition;
  offset = o.offset;
  timestamp = o.timestamp;
  key = o.key;
  value = o.value;
  headers = o.headers;
  header_views_.clear();
  return *this;
}

OwnedRecord OwnedRecord::FromView(const RecordView& v) {
  OwnedRecord r;
  r.topic = std::string(v.topic);
  r.partition = v.partition;
  r.offset = v.offset;
  r.timestamp = v.timestamp;
  if (v.key) r.key = std::string(*v.key);
  if (v.value) r.value = std::string(*v.value);
  r.headers.reserve(v.headers.size());
  for (const HeaderView& h : v.headers) {
    OwnedHeader oh{std::string(h.name), std::nullopt};
    if (h.value) oh.value = std::string(*h.value);
    r.headers.push_back(std::move(oh));
  }
  return r;
}

RecordView OwnedRecord::view() const {
  header_views_.clear();
  header_views_.reserve(headers.size());
  for (const OwnedHeader& h : headers) {
    header_views_.push_back(HeaderView{h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
  }
  RecordView v;
  v.topic = topic;
  v.partition = partition;
  v.offset = offset;
  v.timestamp = timestamp;
  v.key = key ? NullableBytes(*key) : std::nullopt;
  v.value = value ? NullableBytes(*value) : std::nullopt;
  v.headers = header_views_;
  return v;
}

}  // namespace exactly
