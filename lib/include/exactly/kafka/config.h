// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// KafkaConfig: librdkafka client properties as an ordered list of
// key=value pairs, kept as plain strings so that no librdkafka type
// appears in a public header. The pairs are applied, in order, when a
// client (Producer, Consumer, MockCluster) is created; a property
// librdkafka rejects fails that creation with kInvalidArgument and a
// message naming the property and librdkafka's reason.
//
// Thread safety: a value type. Distinct objects may be used concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exactly/status.h"

namespace exactly::kafka {

class KafkaConfig {
 public:
  KafkaConfig() = default;
  KafkaConfig(std::initializer_list<std::pair<std::string, std::string>> pairs);

  // Sets (or replaces) a property. Never fails: validation happens when a
  // client is built, or eagerly with Validate().
  KafkaConfig& Set(std::string_view key, std::string_view value);
  // Parses "key=value" (as kcat's -X); kInvalidArgument naming the text
  // when there is no '=' or the key is empty.
  Status SetPair(std::string_view key_equals_value);
  // The value last set for `key`, if any.
  std::optional<std::string> Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }

  // Applies every property to a scratch librdkafka configuration and
  // reports the first one it rejects.
  Status Validate() const;

  const std::vector<std::pair<std::string, std::string>>& pairs() const noexcept { return pairs_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace exactly::kafka
