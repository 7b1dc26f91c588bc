// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Child: one spawned process of the torture run (broker, producer, relay),
// started (fork + exec) in a process group of its own so that a signal
// meant for it never reaches the driver and one meant for the driver's
// terminal never reaches it, and with PR_SET_PDEATHSIG so that it is
// SIGKILLed if the driver dies (even by SIGKILL, e.g. a test timeout). LineReader: line-by-line reads with a deadline
// from a pipe (the broker's answers).
//
// Contract
// - Spawn() runs argv[0] (a path) with stdin from a file or a pipe the
//   caller writes (stdin_fd()), stdout to a file or a pipe the caller reads
//   (stdout_fd()), stderr appended to a file. Signals are reset to their
//   defaults in the child (the driver ignores SIGPIPE).
// - Signal() sends to the child's whole process group. Wait()/TryWait()
//   reap it once; the exit is reported as an ExitInfo.
// - The destructor of a child still running SIGKILLs its group and reaps
//   it: a failing driver leaves no process behind. The death signal is tied
//   to the spawning thread: spawn from a thread that outlives the child.
//
// Thread safety: a value with one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "exactly/status.h"

namespace exactly::torture {

struct ExitInfo {
  bool signaled = false;
  int code = 0;  // exit status, or the signal number when signaled
  std::string ToString() const;
};

struct SpawnSpec {
  std::vector<std::string> argv;
  std::string stdin_file;  // empty: stdin is a pipe (or /dev/null with !stdin_pipe)
  bool stdin_pipe = false;
  bool stdout_pipe = false;  // else stdout goes with stderr
  std::string stderr_file;   // appended; empty: /dev/null
};

class Child {
 public:
  static Result<Child> Spawn(const SpawnSpec& spec);
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !exit_; }
  int stdin_fd() const noexcept { return stdin_fd_; }
  int stdout_fd() const noexcept { return stdout_fd_; }
  void CloseStdin();

  void Signal(int sig) const;
  ExitInfo Wait();
  std::optional<ExitInfo> TryWait();
  // Waits up to `timeout`; nullopt if still running.
  std::optional<ExitInfo> WaitFor(std::chrono::milliseconds timeout);

 private:
  void Reset() noexcept;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::optional<ExitInfo> exit_;
};

class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its newline; kTimedOut past the deadline,
  // kIoError at end of stream.
  Result<std::string> Next(std::chrono::milliseconds timeout);

 private:
  int fd_;
  std::string pending_;
};

}  // namespace exactly::torture
