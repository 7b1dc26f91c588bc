// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// CPU time of this process's threads, by role, for benchmarks that need to
// say which part of a process bounds a figure: the consume/produce loop
// itself, librdkafka's client threads, the embedded broker, RocksDB. Read
// from /proc/self/task (Linux), at 10 ms resolution.
//
// Roles, by thread name: "loop" for threads named like the main thread
// (the loop, and threads it starts without naming them, such as the
// relay's checkpoint commits), "librdkafka" for a client's rdk:* threads,
// "mock broker" for rdk:mock, "rocksdb" for rocksdb:*, else the name.
// A thread that exits between two samples is missing from both; the
// difference to the process's CPU time is reported as "exited"
// (kExitedThreads).
//
// Thread safety: any thread; each call reads /proc afresh.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace exactly::bench {

inline constexpr std::string_view kLoopThread = "loop", kLibrdkafkaThreads = "librdkafka",
                                  kMockBrokerThreads = "mock broker", kRocksDbThreads = "rocksdb",
                                  kExitedThreads = "exited";
// Every role above, in the order reports list them.
inline constexpr std::array<std::string_view, 5> kThreadRoles = {kLoopThread, kLibrdkafkaThreads, kMockBrokerThreads,
                                                                 kRocksDbThreads, kExitedThreads};

struct ThreadSample {
  struct Thread {
    std::string role;
    double cpu_s = 0;
  };
  std::map<int, Thread> by_tid;
  std::uint64_t minor_faults = 0;  // the process's, so far (MinorFaults)
};

ThreadSample SampleThreads();

// The process's minor page faults so far (getrusage).
std::uint64_t MinorFaults();

// CPU seconds by role between two samples of the same process: threads in
// both count their difference, threads only in `to` all of theirs; what
// `process_cpu_s` (the process's CPU over the same span) has beyond them
// is kExitedThreads.
std::map<std::string, double, std::less<>> CpuByRole(const ThreadSample& from, const ThreadSample& to,
                                                     double process_cpu_s);

}  // namespace exactly::bench
