// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/config.h"

#include <fmt/format.h>

#include "handles.h"

namespace exactly::kafka {

KafkaConfig::KafkaConfig(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  for (const auto& [k, v] : pairs) Set(k, v);
}

KafkaConfig& KafkaConfig::Set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : pairs_) {
    if (k == key) {
      v = std::string(value);
      return *this;
    }
  }
  pairs_.emplace_back(std::string(key), std::string(value));
  return *this;
}

Status KafkaConfig::SetPair(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument(fmt::format("librdkafka property '{}' is not of the form key=value", text));
  }
  Set(text.substr(0, eq), text.substr(eq + 1));
  return Status::OK();
}

std::optional<std::string> KafkaConfig::Get(std::string_view key) const {
  for (const auto& [k, v] : pairs_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

Status KafkaConfig::Validate() const {
  auto conf = detail::BuildConf(*this);
  return conf.status();
}

}  // namespace exactly::kafka
