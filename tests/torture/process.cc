// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace exactly::torture {

using Clock = std::chrono::steady_clock;

std::string ExitInfo::ToString() const {
  return signaled ? fmt::format("killed by signal {}", code) : fmt::format("exit status {}", code);
}

namespace {

ExitInfo Decode(int status) {
  if (WIFSIGNALED(status)) return ExitInfo{true, WTERMSIG(status)};
  return ExitInfo{false, WEXITSTATUS(status)};
}

Status Errno(std::string_view what) { return Status::IoError(fmt::format("{}: {}", what, std::strerror(errno))); }

}  // namespace

Result<Child> Child::Spawn(const SpawnSpec& spec) {
  // Everything the child needs is prepared before fork(): between fork and
  // exec only async-signal-safe calls are allowed (the driver has threads).
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const char* in_path = spec.stdin_file.empty() ? "/dev/null" : spec.stdin_file.c_str();
  const char* err_path = spec.stderr_file.empty() ? "/dev/null" : spec.stderr_file.c_str();
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if ((spec.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) ||
      (spec.stdout_pipe && ::pipe2(out_pipe, O_CLOEXEC) != 0) || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    Status st = Errno("pipe");
    close_all();
    return st;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    Status st = Errno("fork");
    close_all();
    return st;
  }
  if (pid == 0) {
    // A process group of its own; SIGKILLed if the driver dies, however it dies.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int in = spec.stdin_pipe ? in_pipe[0] : ::open(in_path, O_RDONLY | O_CLOEXEC);
    int err = ::open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int out = spec.stdout_pipe ? out_pipe[1] : err;
    if (in < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
      const int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    for (int sig : {SIGPIPE, SIGINT, SIGTERM}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    const int e = errno;
    (void)!::write(exec_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that a signal sent right away reaches the group
  ::close(exec_pipe[1]);
  exec_pipe[1] = -1;
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(exec_pipe[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  exec_pipe[0] = -1;
  if (spec.stdin_pipe) ::close(in_pipe[0]);
  if (spec.stdout_pipe) ::close(out_pipe[1]);
  Child c;
  c.pid_ = pid;
  c.stdin_fd_ = spec.stdin_pipe ? in_pipe[1] : -1;
  c.stdout_fd_ = spec.stdout_pipe ? out_pipe[0] : -1;
  if (n > 0) {
    c.Wait();
    return Status::IoError(fmt::format("cannot run {}: {}", spec.argv[0], std::strerror(child_errno)));
  }
  return c;
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    Reset();
    pid_ = o.pid_;
    stdin_fd_ = o.stdin_fd_;
    stdout_fd_ = o.stdout_fd_;
    exit_ = o.exit_;
    o.pid_ = -1;
    o.stdin_fd_ = o.stdout_fd_ = -1;
    o.exit_.reset();
  }
  return *this;
}

Child::~Child() { Reset(); }

void Child::Reset() noexcept {
  if (running()) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  CloseStdin();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  pid_ = -1;
  exit_.reset();
}

void Child::CloseStdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Child::Signal(int sig) const {
  if (running()) ::kill(-pid_, sig);
}

ExitInfo Child::Wait() {
  if (exit_) return *exit_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return ExitInfo{false, -1};
  }
  exit_ = Decode(status);
  return *exit_;
}

std::optional<ExitInfo> Child::TryWait() {
  if (exit_) return exit_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_ = Decode(status);
  return exit_;
}

std::optional<ExitInfo> Child::WaitFor(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto e = TryWait()) return e;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<std::string> LineReader::Next(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status::TimedOut("no complete line in time");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return Errno("poll");
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno != EINTR && errno != EAGAIN) return Errno("read");
    if (n == 0) return Status::IoError("end of stream");
    if (n > 0) pending_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace exactly::torture
