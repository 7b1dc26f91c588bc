// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Strong types for the quantities the framework juggles, so that a
// partition cannot be passed where an offset is expected, or an epoch where
// a sequence is. All are trivially copyable values; thread safety is that
// of an int.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace exactly {

// An integer that only compares with and converts to itself. `value()` is
// the explicit way out.
template <class Tag, class Rep>
class StrongInt {
 public:
  using rep_type = Rep;
  constexpr StrongInt() noexcept = default;
  constexpr explicit StrongInt(Rep v) noexcept : v_(v) {}
  constexpr Rep value() const noexcept { return v_; }
  friend constexpr auto operator<=>(StrongInt, StrongInt) noexcept = default;
  friend constexpr bool operator==(StrongInt, StrongInt) noexcept = default;

 private:
  Rep v_{};
};

using Partition = StrongInt<struct PartitionTag, std::int32_t>;
using Offset = StrongInt<struct OffsetTag, std::int64_t>;
using Epoch = StrongInt<struct EpochTag, std::uint64_t>;
using Sequence = StrongInt<struct SequenceTag, std::uint64_t>;
// Milliseconds since the Unix epoch, as Kafka record timestamps are.
using TimestampMs = StrongInt<struct TimestampTag, std::int64_t>;

// (epoch, sequence), ordered lexicographically as DESIGN.md §3 requires.
struct EpochSeq {
  Epoch epoch;
  Sequence seq;
  friend constexpr auto operator<=>(const EpochSeq&, const EpochSeq&) noexcept = default;
  friend constexpr bool operator==(const EpochSeq&, const EpochSeq&) noexcept = default;
};

// A topic name (owning).
class Topic {
 public:
  Topic() = default;
  explicit Topic(std::string name) : name_(std::move(name)) {}
  const std::string& name() const noexcept { return name_; }
  friend auto operator<=>(const Topic&, const Topic&) = default;
  friend bool operator==(const Topic&, const Topic&) = default;

 private:
  std::string name_;
};

// A producer id (owning): 1-255 printable ASCII bytes once validated.
class ProducerId {
 public:
  ProducerId() = default;
  explicit ProducerId(std::string id) : id_(std::move(id)) {}
  const std::string& str() const noexcept { return id_; }
  friend auto operator<=>(const ProducerId&, const ProducerId&) = default;
  friend bool operator==(const ProducerId&, const ProducerId&) = default;

 private:
  std::string id_;
};

struct TopicPartition {
  Topic topic;
  Partition partition;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  // "topic[partition]", for messages.
  std::string ToString() const;
};

}  // namespace exactly

template <class Tag, class Rep>
struct std::hash<exactly::StrongInt<Tag, Rep>> {
  std::size_t operator()(exactly::StrongInt<Tag, Rep> v) const noexcept { return std::hash<Rep>()(v.value()); }
};

template <>
struct std::hash<exactly::TopicPartition> {
  std::size_t operator()(const exactly::TopicPartition& tp) const noexcept {
    return std::hash<std::string>()(tp.topic.name()) * 31 + std::hash<std::int32_t>()(tp.partition.value());
  }
};
