// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The torture run's independent reference: a deliberately small and simple
// model of DESIGN.md §2 (envelope) and §3 (decision rules), written apart
// from the engine and sharing none of its code, applied to the records
// actually found in the input topic. What the producers believed they sent
// plays no part: the mock broker may lose or duplicate records.
//
// Modelled: every §2 validity rule, rules 1-6, the chunk-span bound. Not
// modelled (the torture never reaches them, which the driver checks): the
// buffer-bytes bound (256 MiB), the producer TTL (7 days), the unstamped
// `drop` policy (the relay runs with `pass`).
//
// Thread safety: plain functions and values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "exactly/record.h"

namespace exactly::torture {

// A record's place in the input: (partition, offset) of the one topic.
using Place = std::pair<std::int32_t, std::int64_t>;

struct ParsedEnvelope {
  enum Kind { kUnstamped, kMalformed, kStamped } kind = kUnstamped;
  std::string why;  // for kMalformed
  std::string producer;
  std::uint64_t epoch = 0, seq = 0;
  bool chunked = false;
  std::uint32_t index = 0, count = 0;
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> crc;
};

// §2 classification, with the default limits (65536 chunks, 64 MiB).
ParsedEnvelope ParseEnvelope(const std::vector<OwnedHeader>& headers);
bool IsEnvelopeName(const std::string& name);
std::uint32_t SimpleCrc32c(const std::string& bytes);

struct ExpectedMessage {
  bool stamped = false;
  std::string producer;
  std::uint64_t epoch = 0, seq = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;  // user headers (all headers when unstamped)
};

struct ReferenceResult {
  std::map<Place, ExpectedMessage> messages;                    // by the place of the completing record
  std::set<Place> rejected;                                     // every record owed to the dead-letter topic
  std::map<Place, std::optional<std::string>> rejected_values;  // and its value
  std::uint64_t records = 0, unstamped = 0, malformed = 0, stale = 0, duplicates = 0, duplicate_chunks = 0, corrupt = 0,
                abandoned = 0, gaps = 0, chunked_delivered = 0;
  std::uint64_t pending = 0;  // chunked messages still incomplete at the end
  std::int64_t max_pending_bytes = 0;
};

// `input` holds every record of the input topic, each partition's in offset order.
ReferenceResult RunReference(const std::vector<OwnedRecord>& input, std::uint64_t max_chunk_span);

}  // namespace exactly::torture
