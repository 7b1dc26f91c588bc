// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// LockFile: an exclusive, non-blocking advisory lock (flock) on a file in
// the state directory, held for the store's lifetime, so that a second
// process (or a second store in this process) opening the same directory
// is refused with kBusy at once instead of waiting. The kernel drops the
// lock when the holder dies, even by SIGKILL.
//
// Thread safety: one owner.
#pragma once

#include <string>
#include <utility>

#include "exactly/status.h"
#include "unique_fd.h"

namespace exactly::state {

class LockFile {
 public:
  LockFile() = default;  // holds nothing; movable, closing (and unlocking) when it goes

  // Locks `path`, creating it. kBusy names the holder's pid when known.
  static Result<LockFile> Acquire(const std::string& path);

 private:
  explicit LockFile(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // the flock goes with it
};

}  // namespace exactly::state
