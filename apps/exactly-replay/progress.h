// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The progress line on stderr: records, records/s and the share of the
// input bytes consumed, redrawn a few times a second — only when stderr is
// a terminal, so logs and pipes never see it.
//
// Thread safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace exactly::replay {

class Progress {
 public:
  // total_bytes: the input size if every file's size is known.
  Progress(bool wanted, std::optional<std::uint64_t> total_bytes);
  // Cheap: looks at the clock once every 4096 calls.
  void Tick(std::uint64_t records, std::uint64_t bytes) {
    if (enabled_ && (++calls_ & 4095) == 0) Draw(records, bytes, false);
  }
  // Draws the final figures and ends the line.
  void Finish(std::uint64_t records, std::uint64_t bytes);

 private:
  void Draw(std::uint64_t records, std::uint64_t bytes, bool final);
  bool enabled_;
  bool drawn_ = false;
  std::optional<std::uint64_t> total_;
  std::uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace exactly::replay
