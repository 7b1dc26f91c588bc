// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Helpers for the Kafka integration tests: reading a topic back in full
// (the ground truth of every test), reassembling chunked messages by hand,
// driving an app as a subprocess with deadlines, and, for the relay's
// tests, generating input traffic and checking the output against the
// reference computed from the input (the demo's generator and verifier,
// apps/exactly-relay/demo_*.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "demo_verify.h"
#include "exactly/kafka/config.h"
#include "exactly/record.h"
#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::testing {

using namespace std::chrono_literals;

// Client settings that suit the mock cluster (see MOCK-BROKER notes).
kafka::KafkaConfig ConsumerConfig(const std::string& bootstraps);
kafka::KafkaConfig ProducerConfig(const std::string& bootstraps);

// Every record of partitions 0..partitions-1 of `topic`, in offset order per
// partition (partition 0 first), read until each partition's high
// watermark (queried first) is reached. Fails at the deadline.
Result<std::vector<OwnedRecord>> ReadAll(const std::string& bootstraps, const std::string& topic, int partitions,
                                         std::chrono::milliseconds timeout = 60s);

// A message rebuilt from the records of one (partition, producer, epoch,
// seq), checking the envelope along the way.
struct Reassembled {
  Partition partition;
  std::string producer;
  EpochSeq stamp;
  std::uint32_t chunks = 0;  // 0: unchunked
  std::optional<std::string> key;
  std::string value;
  std::vector<OwnedHeader> headers;  // chunk 0's, without the envelope headers
};

// Reassembles `records` by hand: every record must be validly stamped,
// chunks of one message must be contiguous, in index order, in one
// partition, and match eo.size and eo.crc. Returns messages in the order
// of their first record (partition by partition).
Result<std::vector<Reassembled>> ReassembleByHand(const std::vector<OwnedRecord>& records);

// The demo's traffic generator (demo_traffic.h; its defaults otherwise)
// with two producers <prefix>-0/1, `messages` each, 5% of windows re-sent,
// into partitions 0..partitions-1 of `topic`, and chunked messages of the
// sizes in `large_messages` only (the mock keeps about 5 MiB per
// partition). An idempotent producer, so the broker adds no duplicates of
// its own.
// Fails the current test with ASSERTs: call under ASSERT_NO_FATAL_FAILURE.
void GenerateRelayInput(const std::string& bootstraps, const std::string& topic, int partitions,
                        const std::string& prefix, std::uint64_t messages,
                        const std::vector<std::size_t>& large_messages = {});

// A relay's run read back.
struct RelayRun {
  std::vector<OwnedRecord> input, output;
  relay_demo::Reference reference;  // from `input`
  relay_demo::OutputIndex index;    // `output` by the relay's stamps
};

// Reads `input_topic` and `output_topic` back and checks the output,
// deduplicated by the stamps of relay `relay_id` (output epoch 0), against
// the reference: nothing lost, extra, mismatched or invalid (one test
// failure per example). `run` (may be null) receives what was read.
// Fails the current test with ASSERTs: call under ASSERT_NO_FATAL_FAILURE.
void ExpectOutputMatchesReference(const std::string& bootstraps, const std::string& input_topic,
                                  const std::string& output_topic, const std::string& relay_id,
                                  RelayRun* run = nullptr);

// Downstream consumers drop a record whose seq is below one they have seen
// from the same producer, so the first copy of each output message must
// come after the first copies of every lower seq of its output producer.
// Repeats are harmless (dropped downstream). Adds a test failure per late
// message (the first five) and one for the count.
void ExpectOutputInStampOrder(const std::vector<OwnedRecord>& output);

// A child process with pipes to its stdin and stdout.
class Subprocess {
 public:
  static Result<Subprocess> Spawn(const std::vector<std::string>& argv);
  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  Subprocess(const Subprocess&) = delete;
  ~Subprocess();  // kills (SIGKILL) and reaps a child still running

  // One line of stdout without the newline; kTimedOut at the deadline,
  // kNotFound at end of output.
  Result<std::string> ReadLine(std::chrono::milliseconds timeout);
  Status Write(const std::string& text);
  void CloseStdin();
  void Signal(int sig);
  // The exit status (128+N when killed by signal N); kTimedOut if still running.
  Result<int> Wait(std::chrono::milliseconds timeout);

 private:
  Subprocess(int pid, int in, int out) : pid_(pid), in_(in), out_(out) {}
  int pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffered_;
  bool reaped_ = false;
};

}  // namespace exactly::testing
