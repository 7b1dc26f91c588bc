// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "exactly/kafka/epoch_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "exactly/envelope.h"

namespace exactly::kafka {

namespace {

constexpr const char* kMagic = "exactly-epoch 1";

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::OK();
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Errno("fsync", path);
}

// Writes `content` to `path` atomically and durably: temp file, fsync,
// rename, fsync of the directory.
Status WriteDurably(const std::string& dir, const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  Status st = WriteAll(fd, content, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync", tmp);
  ::close(fd);
  EXACTLY_RETURN_IF_ERROR(st);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename to", path);
  return SyncPath(dir, O_RDONLY | O_DIRECTORY);
}

struct Stored {
  std::string producer;
  Epoch epoch;
};

Result<Stored> Parse(const std::string& path, const std::string& text) {
  std::istringstream in(text);
  std::string magic, key1, producer, key2, epoch_text;
  auto bad = [&](std::string_view why) {
    return Status::Corruption(fmt::format("epoch file {} is corrupt ({}); refusing to reuse an epoch", path, why));
  };
  if (!std::getline(in, magic) || magic != kMagic) return bad("bad first line");
  if (!(in >> key1 >> producer) || key1 != "producer" || !ValidProducerId(producer)) return bad("bad producer line");
  if (!(in >> key2 >> epoch_text) || key2 != "epoch") return bad("bad epoch line");
  const auto epoch = ParseDecimal(epoch_text);
  if (!epoch) return bad("epoch is not a decimal");
  return Stored{producer, Epoch(*epoch)};
}

}  // namespace

Result<EpochDirectory> EpochDirectory::Open(const std::string& dir, const ProducerId& producer) {
  if (!ValidProducerId(producer.str())) {
    return Status::InvalidArgument(fmt::format("invalid producer id '{}'", producer.str()));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("create epoch directory {}: {}", dir, ec.message()));

  const std::string lock_path = dir + "/LOCK";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return Status::Busy(fmt::format("epoch directory {} is locked by another live producer", dir));
    }
    errno = e;
    return Errno("lock", lock_path);
  }
  // From here on the lock is released by the object's destructor.
  EpochDirectory held(dir, fd, Epoch(0));

  const std::string path = dir + "/EPOCH";
  Epoch next(0);
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto stored = Parse(path, text.str());
    if (!stored.ok()) return stored.status();
    if (stored->producer != producer.str()) {
      return Status::InvalidArgument(fmt::format("epoch directory {} belongs to producer '{}', not '{}'", dir,
                                                 stored->producer, producer.str()));
    }
    if (stored->epoch.value() == std::numeric_limits<std::uint64_t>::max()) {
      return Status::ResourceExhausted(fmt::format("epoch directory {}: epoch counter exhausted", dir));
    }
    next = Epoch(stored->epoch.value() + 1);
  } else if (std::filesystem::exists(path, ec)) {
    return Status::IoError(fmt::format("cannot read {}", path));
  }
  EXACTLY_RETURN_IF_ERROR(
      WriteDurably(dir, path, fmt::format("{}\nproducer {}\nepoch {}\n", kMagic, producer.str(), next.value())));
  held.epoch_ = next;
  return held;
}

EpochDirectory::EpochDirectory(EpochDirectory&& o) noexcept
    : dir_(std::move(o.dir_)), lock_fd_(std::exchange(o.lock_fd_, -1)), epoch_(o.epoch_) {}

EpochDirectory& EpochDirectory::operator=(EpochDirectory&& o) noexcept {
  if (this != &o) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    dir_ = std::move(o.dir_);
    lock_fd_ = std::exchange(o.lock_fd_, -1);
    epoch_ = o.epoch_;
  }
  return *this;
}

EpochDirectory::~EpochDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing the descriptor releases the flock
}

}  // namespace exactly::kafka
