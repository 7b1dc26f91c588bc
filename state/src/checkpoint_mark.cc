// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#include "checkpoint_mark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "exactly/crc32c.h"

namespace exactly::state {

namespace {

// "exactly-checkpoint 1 <store id> <checkpoint, 20 digits> <crc32c of what
// precedes it, 8 hex digits>\n"
constexpr std::string_view kMagic = "exactly-checkpoint 1 ";

std::string Format(const CheckpointMark& m) {
  std::string body = fmt::format("{}{} {:020}", kMagic, m.store_id, m.checkpoint);
  return fmt::format("{} {:08x}\n", body, crc32c::Value(body));
}

}  // namespace

std::string CheckpointMarkPath(const std::string& dir) {
  return (std::filesystem::path(dir) / kCheckpointMarkFile).string();
}

std::optional<CheckpointMark> ReadCheckpointMark(const std::string& dir) {
  const UniqueFd fd(::open(CheckpointMarkPath(dir).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char buf[256];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<std::size_t>(n));
  if (!text.starts_with(kMagic) || !text.ends_with('\n')) return std::nullopt;
  text.remove_suffix(1);
  // <body> <crc>
  const auto crc_at = text.rfind(' ');
  if (crc_at == std::string_view::npos || text.size() - crc_at - 1 != 8) return std::nullopt;
  const std::string_view body = text.substr(0, crc_at), crc_text = text.substr(crc_at + 1);
  std::uint32_t crc = 0;
  if (std::from_chars(crc_text.data(), crc_text.data() + crc_text.size(), crc, 16).ec != std::errc() ||
      crc != crc32c::Value(body)) {
    return std::nullopt;
  }
  // <magic><store id> <checkpoint>
  const std::string_view rest = body.substr(kMagic.size());
  const auto sp = rest.find(' ');
  if (sp == std::string_view::npos || sp == 0) return std::nullopt;
  CheckpointMark m;
  m.store_id = std::string(rest.substr(0, sp));
  const std::string_view number = rest.substr(sp + 1);
  if (std::from_chars(number.data(), number.data() + number.size(), m.checkpoint).ec != std::errc()) return std::nullopt;
  return m;
}

Result<CheckpointMarkWriter> CheckpointMarkWriter::Open(const std::string& dir) {
  const std::string path = CheckpointMarkPath(dir);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  return CheckpointMarkWriter(UniqueFd(fd));
}

void CheckpointMarkWriter::Write(const CheckpointMark& mark) noexcept {
  if (!fd_.valid()) return;
  try {
    const std::string text = Format(mark);
    (void)!::pwrite(fd_.get(), text.data(), text.size(), 0);
  } catch (...) {
  }
}

}  // namespace exactly::state
