// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Workload: the input side of the torture run. In rounds until told to
// stop, it runs `exactly-produce` processes, several at once:
// - stable producers (fixed epoch) sending new batches of small, chunked
//   and large chunked messages, sometimes after a sequence gap, and
//   sometimes re-sending a window of earlier sequences (a retry);
// - a restarted producer whose epoch comes from its epoch directory: now
//   and then it is SIGKILLed in the middle of a large chunked message (the
//   partition's high watermark tells when some of its chunks are in), then
//   restarted (epoch bumped) while a zombie keeps sending under the old
//   epoch;
// and, in process, hostile records (malformed envelopes, corrupt and
// abandoned chunked messages, unstamped records, stale and duplicate
// stamps) straight to the input topic.
//
// Every choice comes from a generator seeded with the run's seed; a
// message's bytes depend only on the seed, producer id and sequence, so a
// retried window re-sends identical bytes. None of this is trusted by the
// verification, which reads the input topic back.
//
// Thread safety: Run() on one thread; stats() after it returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "exactly/status.h"

namespace exactly::torture {

struct WorkloadOptions {
  std::string produce_bin;
  std::string bootstraps;
  std::string topic;
  std::int32_t partitions = 4;  // the restarted producer owns the last one
  std::string work_dir;
  std::uint64_t seed = 0;
  std::chrono::milliseconds round_pause{1000};
  double producer_kill_probability = 0.3;
  double hostile_probability = 0.3;
  int max_batch = 30;
};

struct WorkloadStats {
  std::uint64_t rounds = 0, producer_runs = 0, producer_failures = 0, retried_windows = 0, gaps = 0;
  std::uint64_t producer_kills = 0, kills_mid_message = 0, zombie_runs = 0, restarted_runs = 0;
  std::uint64_t hostile_batches = 0, hostile_records = 0;
  std::vector<std::string> notes;  // first few producer failures
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options);
  // Returns a fatal setup error; producer failures are only counted.
  Status Run(const std::atomic<bool>& stop);
  const WorkloadStats& stats() const { return stats_; }

 private:
  struct Stable {
    std::string id;
    std::int32_t partition;
    std::uint64_t next_seq = 0;
  };
  std::string Payload(const std::string& id, std::uint64_t seq) const;
  Status Round(const std::atomic<bool>& stop);
  Status Hostile(std::int32_t partition);

  WorkloadOptions o_;
  std::mt19937_64 rng_;
  WorkloadStats stats_;
  std::vector<Stable> stable_;
  std::string restarted_id_ = "torture-restarted";
  std::uint64_t restarted_runs_ = 0;  // = the epoch its next run gets from the epoch directory
  std::uint64_t restarted_next_seq_ = 0;
  // After a kill: the zombie's epoch and first sequence, run next round.
  bool zombie_due_ = false;
  std::uint64_t zombie_epoch_ = 0, zombie_seq_ = 0;
  std::vector<std::uint64_t> hostile_epoch_, hostile_seq_;
  std::uint64_t file_counter_ = 0;
};

}  // namespace exactly::torture
