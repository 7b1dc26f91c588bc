// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "broker_faults.h"

#include <unistd.h>

#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "seed.h"

namespace exactly::torture {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Status Broker::Start(const std::string& binary, int brokers, const std::vector<TopicSpec>& topics,
                     const std::string& log_file) {
  SpawnSpec spec;
  spec.argv = {binary, "--brokers", std::to_string(brokers)};
  for (const auto& t : topics) {
    spec.argv.insert(spec.argv.end(), {"--topic", fmt::format("{}:{}", t.name, t.partitions)});
  }
  spec.stdin_pipe = true;
  spec.stdout_pipe = true;
  spec.stderr_file = log_file;
  auto child = Child::Spawn(spec);
  if (!child.ok()) return child.status();
  child_ = std::move(*child);
  reader_.emplace(child_.stdout_fd());
  auto line = reader_->Next(20s);
  if (!line.ok()) return line.status().WithContext("exactly-broker's bootstrap line");
  bootstraps_ = *line;
  return Status::OK();
}

Status Broker::Command(const std::string& cmd) {
  std::lock_guard lock(mu_);
  const std::string line = cmd + "\n";
  if (::write(child_.stdin_fd(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return Status::IoError(fmt::format("exactly-broker: cannot send '{}'", cmd));
  }
  auto answer = reader_->Next(20s);
  if (!answer.ok()) return answer.status().WithContext(fmt::format("exactly-broker's answer to '{}'", cmd));
  if (*answer != "ok") return Status::Internal(fmt::format("exactly-broker: '{}' -> {}", cmd, *answer));
  return Status::OK();
}

void RunFaults(Broker& broker, const FaultOptions& o, const std::atomic<bool>& stop, FaultStats& stats) {
  std::mt19937_64 rng(MixSeed(o.seed ^ 0x6661756c74ull));
  std::vector<std::string> kinds;
  std::stringstream ss(o.kinds);
  for (std::string k; std::getline(ss, k, ',');) {
    if (!k.empty() && k != "none") kinds.push_back(k);
  }
  if (kinds.empty()) return;
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  auto sleep = [&](std::int64_t ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!stop.load() && Clock::now() < until) std::this_thread::sleep_for(10ms);
  };
  const std::vector<std::string> produce_errors = {"NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE",
                                                   "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS"};
  const std::vector<std::string> fetch_errors = {"NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE",
                                                 "REQUEST_TIMED_OUT"};
  const std::vector<std::string> commit_errors = {"COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "REQUEST_TIMED_OUT"};
  auto run = [&](const std::string& cmd) {
    Status st = broker.Command(cmd);
    if (!st.ok() && stats.error.ok()) stats.error = st;
  };
  while (!stop.load()) {
    sleep(uniform(o.min_ms, o.max_ms));
    if (stop.load()) break;
    const std::string& kind = kinds[rng() % kinds.size()];
    const auto b = uniform(1, o.brokers);
    if (kind == "down") {
      run(fmt::format("down {}", b));
      sleep(uniform(200, 2500));
      run(fmt::format("up {}", b));
    } else if (kind == "leader") {
      const TopicSpec& t = o.topics[rng() % o.topics.size()];
      run(fmt::format("leader {} {} {}", t.name, uniform(0, t.partitions - 1), b));
    } else if (kind == "produce") {
      run(fmt::format("errors Produce {} {}", uniform(1, 5), produce_errors[rng() % produce_errors.size()]));
    } else if (kind == "fetch") {
      run(fmt::format("errors Fetch {} {}", uniform(1, 5), fetch_errors[rng() % fetch_errors.size()]));
    } else if (kind == "commit") {
      run(fmt::format("errors OffsetCommit {} {}", uniform(1, 3), commit_errors[rng() % commit_errors.size()]));
    } else if (kind == "rtt") {
      run(fmt::format("rtt {} {}", b, uniform(20, 300)));
      sleep(uniform(300, 3000));
      run(fmt::format("rtt {} 0", b));
    } else {
      if (stats.error.ok()) stats.error = Status::InvalidArgument(fmt::format("unknown fault kind '{}'", kind));
      return;
    }
    ++stats.by_kind[kind];
    ++stats.total;
  }
}

}  // namespace exactly::torture
