// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "exactly/recorded_log.h"
#include "log/record_line_writer.h"

namespace exactly {
namespace {

Status Errno(const std::string& path, const char* op) {
  return Status::IoError(fmt::format("{}: {}: {}", path, op, std::strerror(errno)));
}

// Cuts a torn last line: bytes after the last newline were written by a
// process that died before it could finish (and before any checkpoint
// covering them), so they were never acknowledged. Returns bytes cut.
Result<std::uint64_t> CutTornTail(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno(path, "fstat");
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return std::uint64_t{0};
  const off_t size = st.st_size;
  char block[4096];
  off_t end = size;
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof block) ? end - static_cast<off_t>(sizeof block) : 0;
    const auto want = static_cast<std::size_t>(end - start);
    const ssize_t n = ::pread(fd, block, want, start);
    if (n != static_cast<ssize_t>(want)) return Errno(path, "pread");
    for (std::size_t i = want; i > 0; --i) {
      if (block[i - 1] == '\n') {
        const off_t keep = start + static_cast<off_t>(i);
        if (keep == size) return std::uint64_t{0};
        if (::ftruncate(fd, keep) != 0) return Errno(path, "ftruncate");
        return static_cast<std::uint64_t>(size - keep);
      }
    }
    end = start;
  }
  if (::ftruncate(fd, 0) != 0) return Errno(path, "ftruncate");
  return static_cast<std::uint64_t>(size);
}

}  // namespace

Result<std::unique_ptr<RecordedLogWriter>> RecordedLogWriter::Open(const std::string& path, Mode mode,
                                                                   std::size_t flush_threshold_bytes) {
  std::unique_ptr<RecordedLogWriter> w(new RecordedLogWriter());
  w->path_ = path;
  w->flush_threshold_ = flush_threshold_bytes;
  if (path == "-") {
    w->path_ = "<stdout>";
    w->fd_ = STDOUT_FILENO;
    return w;
  }
  // Append mode reads the tail back (torn-line repair), hence O_RDWR.
  const int flags = O_CREAT | O_CLOEXEC | (mode == Mode::kTruncate ? O_WRONLY | O_TRUNC : O_RDWR | O_APPEND);
  w->fd_ = ::open(path.c_str(), flags, 0666);
  if (w->fd_ < 0) return Errno(path, "open");
  w->owns_fd_ = true;
  if (mode == Mode::kAppend) {
    auto cut = CutTornTail(w->fd_, path);
    if (!cut.ok()) return cut.status();
    w->repaired_ = *cut;
  }
  return w;
}

RecordedLogWriter::~RecordedLogWriter() {
  // Deliberately no flush: what the owner did not Flush() is lost, exactly
  // as it would be in a crash.
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void RecordedLogWriter::Append(const RecordView& record, std::span<const HeaderView> extra_headers) {
  // A raw buffer rather than a std::string: reserving a line's worst case
  // must not cost a memset of it.
  const std::size_t bound = logfmt::RecordLineBound(record, extra_headers);
  if (size_ + bound > capacity_) {
    const std::size_t cap = std::max(size_ + bound, std::max<std::size_t>(capacity_ * 2, flush_threshold_ + (64u << 10)));
    auto grown = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ > 0) std::memcpy(grown.get(), buffer_.get(), size_);
    buffer_ = std::move(grown);
    capacity_ = cap;
  }
  size_ = static_cast<std::size_t>(logfmt::WriteRecordLine(buffer_.get() + size_, record, extra_headers) - buffer_.get());
  ++records_;
  if (size_ >= flush_threshold_) {
    Status st = WriteOut();
    if (!st.ok() && deferred_error_.ok()) deferred_error_ = std::move(st);
  }
}

Status RecordedLogWriter::WriteOut() {
  std::size_t done = 0;
  while (done < size_) {
    const ssize_t n = ::write(fd_, buffer_.get() + done, size_ - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno(path_, "write");
      std::memmove(buffer_.get(), buffer_.get() + done, size_ - done);
      size_ -= done;
      return st;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ = 0;
  return Status::OK();
}

Status RecordedLogWriter::Flush() {
  if (!deferred_error_.ok()) return deferred_error_;
  Status st = WriteOut();
  if (!st.ok()) deferred_error_ = st;
  return st;
}

Status RecordedLogWriter::Sync() {
  EXACTLY_RETURN_IF_ERROR(Flush());
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != ENOTSUP && errno != EROFS) {
    deferred_error_ = Errno(path_, "fsync");
    return deferred_error_;
  }
  return Status::OK();
}

const std::string& RecordedLogWriter::path() const noexcept { return path_; }
std::uint64_t RecordedLogWriter::records_appended() const noexcept { return records_; }
std::size_t RecordedLogWriter::buffered_bytes() const noexcept { return size_; }
std::uint64_t RecordedLogWriter::repaired_bytes() const noexcept { return repaired_; }

}  // namespace exactly
