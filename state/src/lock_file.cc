// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace exactly::state {

Result<LockFile> LockFile::Acquire(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  LockFile lock{UniqueFd(fd)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return Status::IoError(fmt::format("cannot lock {}: {}", path, std::strerror(errno)));
    }
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("unknown");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::Busy(fmt::format(
        "state directory is in use by another store (lock {} held by pid {}); "
        "only one process may checkpoint into a state directory",
        path, holder));
  }
  // Record our pid for the message above; best effort.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return lock;
}

}  // namespace exactly::state
