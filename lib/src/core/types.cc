// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/types.h"

#include <string>

namespace exactly {

std::string TopicPartition::ToString() const {
  return topic.name() + "[" + std::to_string(partition.value()) + "]";
}

}  // namespace exactly
