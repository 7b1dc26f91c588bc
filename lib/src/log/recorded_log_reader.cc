// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Streaming line reader: one growable block buffer, lines parsed in place
// (the simdjson padding lives past the buffer's end), so a record costs no
// copy unless a string needs unescaping.
#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "exactly/recorded_log.h"
#include "log/record_line_parser.h"

namespace exactly {
namespace {

bool IsBlank(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

struct RecordedLogReader::Impl {
  std::string name;
  RecordedLogOptions options;
  int fd = -1;
  bool owns_fd = false;
  bool eof = false;
  bool discarding = false;  // inside an over-long line, dropping bytes
  Status io_error;
  std::unique_ptr<char[]> buf;  // cap + padding bytes
  std::size_t cap = 0;
  std::size_t begin = 0;  // start of the current (unconsumed) line
  std::size_t scan = 0;   // no newline in [begin, scan)
  std::size_t end = 0;    // end of data read
  std::uint64_t lines = 0;  // lines consumed
  std::uint64_t current_line = 0;
  std::uint64_t consumed = 0;
  std::optional<std::uint64_t> size;
  logfmt::RecordLineParser parser;

  ~Impl() {
    if (owns_fd && fd >= 0) ::close(fd);
  }

  void Allocate(std::size_t new_cap) {
    auto next = std::make_unique<char[]>(new_cap + logfmt::LinePadding());
    std::memcpy(next.get(), buf.get() + begin, end - begin);
    end -= begin;
    scan -= begin;
    begin = 0;
    buf = std::move(next);
    cap = new_cap;
  }

  Status TooLong() const {
    return Status::ResourceExhausted(
        fmt::format("line longer than the limit of {} bytes (--max-line-bytes)", options.max_line_bytes));
  }

  Status Error(Status st) const { return st.WithContext(fmt::format("{}:{}", name, current_line)); }

  Result<bool> ParseLine(std::string_view line, bool unterminated, RecordView* out) {
    const std::size_t capacity = cap + logfmt::LinePadding() - static_cast<std::size_t>(line.data() - buf.get());
    Status st = parser.Parse(line, capacity, out);
    if (st.ok()) return true;
    if (unterminated) {
      return Error(Status::Corruption(
          fmt::format("truncated last line (no newline at end of file): {}", st.message())));
    }
    return Error(std::move(st));
  }

  // Reads more input after `end`, compacting or growing the buffer first.
  Status Fill() {
    if (begin > 0) {
      std::memmove(buf.get(), buf.get() + begin, end - begin);
      end -= begin;
      scan -= begin;
      begin = 0;
    }
    // Grow only while a line is still allowed to: capacity stays below
    // twice the line limit plus one block.
    if (end == cap) Allocate(std::max(cap + 1, std::min(cap * 2, options.max_line_bytes + options.read_block_bytes)));
    for (;;) {
      const ssize_t n = ::read(fd, buf.get() + end, cap - end);
      if (n > 0) {
        end += static_cast<std::size_t>(n);
        return Status::OK();
      }
      if (n == 0) {
        eof = true;
        return Status::OK();
      }
      if (errno != EINTR) return Status::IoError(fmt::format("{}: read: {}", name, std::strerror(errno)));
    }
  }

  Result<bool> Next(RecordView* out) {
    if (!io_error.ok()) return io_error;
    for (;;) {
      char* nl = scan < end ? static_cast<char*>(std::memchr(buf.get() + scan, '\n', end - scan)) : nullptr;
      if (nl != nullptr) {
        const std::size_t at = static_cast<std::size_t>(nl - buf.get());
        const std::string_view line(buf.get() + begin, at - begin);
        ++lines;
        consumed += line.size() + 1;
        begin = scan = at + 1;
        if (discarding) {
          discarding = false;  // the over-long line ends here; reported already
          continue;
        }
        current_line = lines;
        if (line.size() > options.max_line_bytes) return Error(TooLong());
        if (IsBlank(line)) continue;
        return ParseLine(line, false, out);
      }
      scan = end;
      if (!discarding && end - begin > options.max_line_bytes) {
        current_line = lines + 1;
        discarding = true;
        consumed += end - begin;
        begin = scan = end;
        return Error(TooLong());
      }
      if (discarding) {
        consumed += end - begin;
        begin = scan = end;
      }
      if (eof) {
        if (begin == end) return false;
        const std::string_view line(buf.get() + begin, end - begin);
        ++lines;
        consumed += line.size();
        begin = scan = end;
        if (discarding) {
          discarding = false;
          continue;
        }
        current_line = lines;
        if (line.size() > options.max_line_bytes) return Error(TooLong());
        if (IsBlank(line)) continue;
        return ParseLine(line, true, out);
      }
      if (fd < 0) {
        eof = true;
        continue;
      }
      if (Status st = Fill(); !st.ok()) {
        io_error = st;
        return st;
      }
    }
  }
};

RecordedLogReader::RecordedLogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordedLogReader::~RecordedLogReader() = default;

Result<std::unique_ptr<RecordedLogReader>> RecordedLogReader::Open(const std::string& path,
                                                                   const RecordedLogOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.read_block_bytes < 4096) impl->options.read_block_bytes = 4096;
  if (path == "-") {
    impl->name = "<stdin>";
    impl->fd = STDIN_FILENO;
  } else {
    impl->name = path;
    impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (impl->fd < 0) return Status::IoError(fmt::format("{}: open: {}", path, std::strerror(errno)));
    impl->owns_fd = true;
  }
  struct stat st {};
  if (::fstat(impl->fd, &st) == 0 && S_ISREG(st.st_mode)) {
    impl->size = static_cast<std::uint64_t>(st.st_size);
#ifdef POSIX_FADV_SEQUENTIAL
    (void)::posix_fadvise(impl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  }
  impl->cap = impl->options.read_block_bytes;
  impl->buf = std::make_unique<char[]>(impl->cap + logfmt::LinePadding());
  return std::unique_ptr<RecordedLogReader>(new RecordedLogReader(std::move(impl)));
}

std::unique_ptr<RecordedLogReader> RecordedLogReader::FromString(std::string name, std::string contents,
                                                                 const RecordedLogOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->options = options;
  impl->cap = contents.size();
  impl->buf = std::make_unique<char[]>(impl->cap + logfmt::LinePadding());
  std::memcpy(impl->buf.get(), contents.data(), contents.size());
  impl->end = contents.size();
  impl->eof = true;
  impl->size = contents.size();
  return std::unique_ptr<RecordedLogReader>(new RecordedLogReader(std::move(impl)));
}

Result<bool> RecordedLogReader::Next(RecordView* out) { return impl_->Next(out); }
const std::string& RecordedLogReader::name() const noexcept { return impl_->name; }
std::uint64_t RecordedLogReader::line() const noexcept { return impl_->current_line; }
std::uint64_t RecordedLogReader::bytes_consumed() const noexcept { return impl_->consumed; }
std::optional<std::uint64_t> RecordedLogReader::size_bytes() const noexcept { return impl_->size; }

Result<OwnedRecord> ParseRecordLine(std::string_view line, std::string_view name, std::uint64_t line_number) {
  std::string padded;
  padded.reserve(line.size() + logfmt::LinePadding());
  padded.append(line);
  padded.append(logfmt::LinePadding(), '\0');
  logfmt::RecordLineParser parser;
  RecordView view;
  Status st = parser.Parse(std::string_view(padded.data(), line.size()), padded.size(), &view);
  if (!st.ok()) return st.WithContext(fmt::format("{}:{}", name, line_number));
  return OwnedRecord::FromView(view);
}

}  // namespace exactly
