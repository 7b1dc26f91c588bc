// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Reading topics back and judging the relay's output against the reference.
//
// - ReadWholeTopic: every record of every partition of a topic, from offset
//   0 to the high watermark read at the start, each partition in offset
//   order. A partition whose low watermark is not 0 lost records to the
//   mock broker's retention: kCorruption (the run's volume was too high).
// - Judge: deduplicates the output by the relay's stamps (DESIGN.md §5:
//   producer <relay-id>/<input-topic>/<partition>, the given epoch, seq = the
//   input offset that completed the message; the first copy counts, later
//   copies must be identical), checks each output producer's order in its
//   output partition, and compares with the reference: payload, key and
//   headers byte for byte; the dead-letter topic must name every rejected
//   input record (by its exactly.dead-letter.partition/.offset headers) and
//   nothing else, each with a reason and the record's own value (unless
//   marked exactly.dead-letter.truncated).
//
// Thread safety: plain functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "exactly/record.h"
#include "exactly/status.h"
#include "reference.h"

namespace exactly::torture {

Result<std::vector<OwnedRecord>> ReadWholeTopic(const std::string& bootstraps, const std::string& topic,
                                                std::int32_t partitions, std::chrono::milliseconds timeout);

struct Verdict {
  std::uint64_t output_records = 0, output_messages = 0, repeats = 0;
  std::uint64_t expected = 0, delivered = 0, missing = 0, extra = 0, reordered = 0, differing = 0, invalid = 0;
  std::uint64_t dead_letter_records = 0, dead_lettered = 0, dead_letter_missing = 0, dead_letter_unexpected = 0,
                dead_letter_differing = 0;
  std::vector<std::string> examples;  // the first few mismatches, in words
  bool ok() const {
    return missing == 0 && extra == 0 && reordered == 0 && differing == 0 && invalid == 0 && dead_letter_missing == 0 &&
           dead_letter_unexpected == 0;
  }
};

Verdict Judge(const ReferenceResult& ref, const std::vector<OwnedRecord>& output,
              const std::vector<OwnedRecord>& dead_letters, const std::string& relay_id, const std::string& input_topic,
              std::uint64_t output_epoch);

}  // namespace exactly::torture
