// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// EpochDirectory: the durable epoch counter of one stamped producer.
//
// Contract
// - Open() locks DIR (flock on DIR/LOCK, non-blocking: kBusy if another
//   live owner holds it, in this process or another), reads DIR/EPOCH,
//   writes back the next epoch and syncs it (file and directory) before
//   returning. The first open of an empty directory gives epoch 0; each
//   later open gives the previous epoch + 1. So a restarted producer always
//   stamps with a higher epoch than every predecessor, which fences them
//   (DESIGN.md §3 rule 2).
// - The directory remembers the producer id it was first opened with;
//   opening it for another id is kInvalidArgument (two producers sharing a
//   counter would fence each other).
// - A corrupt EPOCH file is kCorruption, never silently reset.
// - The lock is held until the object is destroyed (move-only).
//
// Thread safety: a value with one owner; not for concurrent use.
#pragma once

#include <string>

#include "exactly/status.h"
#include "exactly/types.h"

namespace exactly::kafka {

class EpochDirectory {
 public:
  static Result<EpochDirectory> Open(const std::string& dir, const ProducerId& producer);

  EpochDirectory(EpochDirectory&& o) noexcept;
  EpochDirectory& operator=(EpochDirectory&& o) noexcept;
  EpochDirectory(const EpochDirectory&) = delete;
  EpochDirectory& operator=(const EpochDirectory&) = delete;
  ~EpochDirectory();

  Epoch epoch() const noexcept { return epoch_; }
  const std::string& path() const noexcept { return dir_; }

 private:
  EpochDirectory(std::string dir, int lock_fd, Epoch epoch) noexcept
      : dir_(std::move(dir)), lock_fd_(lock_fd), epoch_(epoch) {}
  std::string dir_;
  int lock_fd_ = -1;
  Epoch epoch_;
};

}  // namespace exactly::kafka
