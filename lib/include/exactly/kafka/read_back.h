// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// ReadTopicToEnd: reads a topic back in full, as it is on the brokers.
// What verifications (the relay's demo, the integration tests) take as
// ground truth: never what a producer believes it sent.
//
// Contract
// - Queries each partition's watermarks first, then reads every record
//   below the high watermark; records written meanwhile are left out.
// - kCorruption if a partition no longer starts at offset 0 (the broker
//   deleted records: retention), so a verification never passes on a
//   partial log. kTimedOut naming how far it got at the deadline.
// - `config` needs bootstrap.servers; the reader sets
//   enable.auto.commit=false and auto.offset.reset=error, and
//   fetch.wait.max.ms=10 unless given. It never joins a group.
//
// Thread safety: a free function with its own client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "exactly/kafka/config.h"
#include "exactly/record.h"
#include "exactly/status.h"

namespace exactly::kafka {

// Partitions 0..partitions-1 of `topic` (0: as many as the cluster's
// metadata says), partition 0's records first, each in offset order.
Result<std::vector<OwnedRecord>> ReadTopicToEnd(const KafkaConfig& config, const std::string& topic,
                                                std::int32_t partitions, std::chrono::milliseconds timeout);

}  // namespace exactly::kafka
