// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Broker: the exactly-broker process of a torture run and its fault
// channel (commands on its stdin, one `ok` line back per command).
// RunFaults: the fault injector, drawing every choice from the run's seed.
//
// Thread safety: Broker::Command may be called from several threads (one
// command at a time); RunFaults on its own thread until `stop`.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exactly/status.h"
#include "process.h"

namespace exactly::torture {

struct TopicSpec {
  std::string name;
  std::int32_t partitions;
};

// The broker process and its command channel (one command at a time).
class Broker {
 public:
  // Starts `binary` with `brokers` brokers and `topics` created, stderr
  // appended to `log_file`; waits for its bootstrap line.
  Status Start(const std::string& binary, int brokers, const std::vector<TopicSpec>& topics,
               const std::string& log_file);
  // Sends one command; OK when the broker answers `ok`.
  Status Command(const std::string& cmd);
  const std::string& bootstraps() const { return bootstraps_; }
  Child& child() { return child_; }

 private:
  Child child_;
  std::optional<LineReader> reader_;
  std::string bootstraps_;
  std::mutex mu_;
};

struct FaultStats {
  std::map<std::string, std::uint64_t> by_kind;
  std::uint64_t total = 0;
  Status error;
};

struct FaultOptions {
  std::string kinds;                         // comma-separated: down,leader,produce,fetch,commit,rtt ("none": none)
  std::int64_t min_ms = 300, max_ms = 2500;  // pause between faults
  int brokers = 1;
  std::vector<TopicSpec> topics;  // for leader moves
  std::uint64_t seed = 0;
};

// Injects faults until `stop`, each undone before the next where it has an
// undo (down -> up, rtt -> 0). Leader moves and injected errors stay.
void RunFaults(Broker& broker, const FaultOptions& o, const std::atomic<bool>& stop, FaultStats& stats);

}  // namespace exactly::torture
