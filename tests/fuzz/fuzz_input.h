// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// FuzzInput: draws small integers and byte strings from a fuzzer's input,
// returning zeros once it is exhausted, so every input decodes to
// something.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace exactly::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  std::uint8_t Byte() { return p_ == end_ ? 0 : *p_++; }
  // A value in [0, n).
  unsigned Below(unsigned n) { return n ? Byte() % n : 0; }
  std::string Bytes(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(Below(static_cast<unsigned>(max + 1)), static_cast<std::size_t>(end_ - p_));
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

}  // namespace exactly::fuzz
