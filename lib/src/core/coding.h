// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Byte encoding helpers for persisted state: LEB128 varints, zigzag for
// signed values, length-prefixed strings. Reader never reads past its input
// and reports failure instead; callers turn that into kCorruption.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace exactly::coding {

inline void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}
inline void PutSigned(std::string& out, std::int64_t v) { PutVarint(out, ZigZag(v)); }
inline void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}
inline void PutFixed32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 4);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool empty() const { return in_.empty(); }
  std::size_t remaining() const { return in_.size(); }

  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      const auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return Fail();
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail();
  }
  std::int64_t Signed() { return UnZigZag(Varint()); }
  std::uint8_t Byte() {
    if (in_.empty()) return static_cast<std::uint8_t>(Fail());
    const auto b = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }
  std::uint32_t Fixed32() {
    if (in_.size() < 4) return static_cast<std::uint32_t>(Fail());
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    in_.remove_prefix(4);
    return v;
  }
  std::string_view Bytes() {
    const std::uint64_t n = Varint();
    if (!ok_ || n > in_.size()) {
      Fail();
      return {};
    }
    const std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  // A count of items that each take at least `min_item_bytes`: rejecting
  // counts the remaining input cannot hold keeps a corrupt count from
  // driving a huge reserve().
  std::uint64_t Count(std::size_t min_item_bytes) {
    const std::uint64_t n = Varint();
    if (ok_ && n > in_.size() / (min_item_bytes ? min_item_bytes : 1)) return Fail();
    return n;
  }
  std::uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace exactly::coding
