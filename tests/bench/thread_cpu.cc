// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "thread_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace exactly::bench {

namespace {

std::string ReadLine(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::string line;
  std::getline(f, line);
  return line;
}

std::string RoleOf(std::string_view name, std::string_view main_name) {
  if (name == main_name) return std::string(kLoopThread);
  if (name == "rdk:mock") return std::string(kMockBrokerThreads);
  if (name.starts_with("rdk:")) return std::string(kLibrdkafkaThreads);
  if (name.starts_with("rocksdb:")) return std::string(kRocksDbThreads);
  return std::string(name);
}

}  // namespace

std::uint64_t MinorFaults() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::uint64_t>(usage.ru_minflt);
}

ThreadSample SampleThreads() {
  ThreadSample s;
  s.minor_faults = MinorFaults();
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  const std::string main_name = ReadLine("/proc/self/comm");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    int tid = 0;
    const std::string dir = entry.path().filename().string();
    if (std::from_chars(dir.data(), dir.data() + dir.size(), tid).ec != std::errc()) continue;
    // "tid (name) state ppid ...": the name may hold spaces and parentheses,
    // so the fields are counted from the last ')'.
    const std::string stat = ReadLine(entry.path() / "stat");
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    const std::string_view name(stat.data() + open + 1, close - open - 1);
    s.by_tid[tid] = {RoleOf(name, main_name), (utime + stime) / static_cast<double>(ticks)};
  }
  return s;
}

std::map<std::string, double, std::less<>> CpuByRole(const ThreadSample& from, const ThreadSample& to,
                                                     double process_cpu_s) {
  std::map<std::string, double, std::less<>> out;
  double threads_cpu_s = 0;
  for (const auto& [tid, t] : to.by_tid) {
    const auto before = from.by_tid.find(tid);
    const bool same = before != from.by_tid.end() && before->second.role == t.role;
    const double s = t.cpu_s - (same ? before->second.cpu_s : 0.0);
    out[t.role] += s;
    threads_cpu_s += s;
  }
  if (process_cpu_s > threads_cpu_s) out[std::string(kExitedThreads)] = process_cpu_s - threads_cpu_s;
  return out;
}

}  // namespace exactly::bench
