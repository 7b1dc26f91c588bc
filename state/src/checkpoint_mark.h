// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The checkpoint mark: the number of the last checkpoint committed with
// sync, kept beside the database in `exactly.checkpoint`. RocksDB recovers
// its write-ahead log "to a point in time": it stops at the first record it
// cannot read, which is right for the torn tail of a crash but also opens
// a log damaged further back as the older state before the damage, without
// a word, and the consumer would then deliver again what it had already
// delivered. The mark tells the two apart: a database that recovers to a
// checkpoint below the mark lost synced checkpoints.
//
// The mark is written after its checkpoint's synced write returned, without
// a sync of its own, so it never runs ahead of what is durable: after a
// crash it is that checkpoint's number or an older one. A mark torn by a
// crash fails its checksum and is ignored (the check is then skipped, as
// for a directory written before marks existed).
//
// Thread safety: the writer has one owner (the store, under write_mu).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "exactly/status.h"
#include "unique_fd.h"

namespace exactly::state {

inline constexpr std::string_view kCheckpointMarkFile = "exactly.checkpoint";

struct CheckpointMark {
  std::string store_id;
  std::uint64_t checkpoint = 0;
};

// `dir`/exactly.checkpoint.
std::string CheckpointMarkPath(const std::string& dir);

// The mark in `dir`; nullopt when there is none or it does not read back
// whole (torn, or not a mark).
std::optional<CheckpointMark> ReadCheckpointMark(const std::string& dir);

class CheckpointMarkWriter {
 public:
  CheckpointMarkWriter() = default;  // writes nothing; movable

  static Result<CheckpointMarkWriter> Open(const std::string& dir);
  // Best effort: a mark that is not written stays lower, which only skips
  // the check. Every mark has the same length, so an overwrite in place
  // never leaves the tail of a longer one behind.
  void Write(const CheckpointMark& mark) noexcept;

 private:
  explicit CheckpointMarkWriter(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace exactly::state
