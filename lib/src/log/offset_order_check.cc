// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include "exactly/recorded_log.h"

namespace exactly {

Status OffsetOrderCheck::Check(const RecordView& record, std::string_view file, std::uint64_t line) {
  if (cached_ == nullptr || cached_topic_ != record.topic) {
    auto it = last_.find(record.topic);
    if (it == last_.end()) it = last_.emplace(std::string(record.topic), std::unordered_map<std::int32_t, std::int64_t>()).first;
    cached_ = &it->second;  // node-based map: the pointer survives rehashing
    cached_topic_.assign(record.topic);
  }
  auto [slot, inserted] = cached_->try_emplace(record.partition.value(), record.offset.value());
  if (inserted) return Status::OK();
  if (record.offset.value() <= slot->second) {
    return Status::Corruption(fmt::format("{}:{}: offset {} of {}[{}] is not above the previous offset {} of that "
                                          "partition (offsets must increase within a partition)",
                                          file, line, record.offset.value(), record.topic, record.partition.value(),
                                          slot->second));
  }
  slot->second = record.offset.value();
  return Status::OK();
}

std::optional<Offset> OffsetOrderCheck::Last(std::string_view topic, Partition partition) const {
  const auto it = last_.find(topic);
  if (it == last_.end()) return std::nullopt;
  const auto p = it->second.find(partition.value());
  if (p == it->second.end()) return std::nullopt;
  return Offset(p->second);
}

}  // namespace exactly
