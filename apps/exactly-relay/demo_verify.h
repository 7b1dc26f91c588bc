// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Verifying a relay run against ground truth: the input topic as read
// back (never what a producer believes it sent).
//
// The reference is deliberately simple and separate from the engine: per
// (topic, partition, producer), a record whose epoch is below the highest
// epoch already seen is stale; a message (epoch, seq) counts once, from
// the record that completes it (all chunks present, eo.size and eo.crc
// right); everything else is a duplicate. It does not model the engine's
// bounds (chunk span, buffer bytes, producer TTL) nor late messages below
// a watermark, which the demo's traffic never produces.
//
// The relay's output is indexed by its §5 stamp: producer
// <relay-id>/<topic>/<partition> and seq = the input offset completing the
// message, so every output message names its source exactly.
//
// Also used by the relay's integration tests. Thread safety: pure
// functions, except ReadTopic (its own consumer).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exactly/engine.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::relay_demo {

// Every record of every partition of `topic`, partition by partition in
// offset order, up to the high watermarks queried first. kCorruption if
// the log no longer starts at offset 0 (the mock's retention dropped data).
Result<std::vector<OwnedRecord>> ReadTopic(const std::string& bootstraps, const std::string& topic,
                                           std::chrono::milliseconds timeout);

// Where a message came from: the input record that completed it.
struct Source {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  friend auto operator<=>(const Source&, const Source&) = default;
};

struct ExpectedMessage {
  bool stamped = true;
  std::string producer;  // original stamp (stamped only)
  EpochSeq stamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;  // user headers, without the envelope
};

struct Reference {
  std::map<Source, ExpectedMessage> messages;
  std::uint64_t records = 0;
  std::uint64_t duplicates = 0;        // records of messages already delivered, and duplicate chunks
  std::uint64_t stale = 0;             // records below a producer's highest epoch
  std::uint64_t malformed = 0;
  std::uint64_t corrupt_messages = 0;
  std::uint64_t unstamped = 0;         // delivered (pass) or dropped
  std::uint64_t incomplete = 0;        // chunked messages never completed
  // Records the engine must reject: malformed ones, the held chunks of
  // corrupt messages, dropped unstamped records.
  std::set<Source> rejected;
};
Reference ComputeReference(const std::vector<OwnedRecord>& input, UnstampedPolicy unstamped = UnstampedPolicy::kPass,
                           const EnvelopeLimits& limits = {});

struct OutputMessage {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;  // without the envelope (origin headers included)
  std::uint32_t chunks = 0;
};

struct OutputIndex {
  std::map<Source, OutputMessage> messages;
  std::uint64_t records = 0;
  std::uint64_t repeats = 0;  // records of messages seen before (replays after a crash)
  std::vector<std::string> problems;  // records that are not valid relay output
};
OutputIndex IndexOutput(const std::vector<OwnedRecord>& output, std::string_view relay_id, Epoch epoch);

struct Verdict {
  std::uint64_t expected = 0;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t extra = 0;       // output messages with no input counterpart
  std::uint64_t mismatched = 0;  // found, but key, value or headers differ
  std::uint64_t invalid = 0;     // output records that are not valid relay output
  std::vector<std::string> examples;  // the first few problems, for humans
  bool ok() const { return lost == 0 && extra == 0 && mismatched == 0 && invalid == 0; }
};
Verdict Compare(const Reference& reference, const OutputIndex& output);

// The dead-letter topic against Reference::rejected, by the
// exactly.dead-letter.topic/.partition/.offset headers. Repeats (after a
// crash) are allowed; records without those headers are `invalid`.
struct DeadLetterVerdict {
  std::uint64_t expected = 0;
  std::uint64_t records = 0;
  std::uint64_t missing = 0;
  std::uint64_t unexpected = 0;
  std::uint64_t invalid = 0;
  std::vector<std::string> examples;
  bool ok() const { return missing == 0 && unexpected == 0 && invalid == 0; }
};
DeadLetterVerdict CompareDeadLetters(const Reference& reference, const std::vector<OwnedRecord>& dead_letters);

}  // namespace exactly::relay_demo
