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
// difference to the process's CPU time is reported as "exited".
//
// Thread safety: any thread; each call reads /proc afresh.
#pragma once

#include <map>
#include <string>

namespace exactly::bench {

struct ThreadSample {
  struct Thread {
    std::string role;
    double cpu_s = 0;
  };
  std::map<int, Thread> by_tid;
};

ThreadSample SampleThreads();

// CPU seconds by role between two samples of the same process: threads in
// both count their difference, threads only in `to` all of theirs.
std::map<std::string, double> CpuByRole(const ThreadSample& from, const ThreadSample& to);

}  // namespace exactly::bench
