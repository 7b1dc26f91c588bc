// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Private: the records a DedupConsumer has polled and not yet looked at,
// oldest first, in a fixed ring: a record stays in the slot it was polled
// into until it is decided or moved out (to wait for an aligned
// checkpoint), so there is no allocation per record and the view built
// for the engine's hint is still valid when the record is decided. The
// record taken out last keeps its slot until the next Push, so deciding
// it may erase records (a rewind) without touching it; the caller frees
// its message once decided.
// Not thread-safe (the consumer's loop thread only). Not installed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "exactly/engine.h"
#include "exactly/kafka/message.h"
#include "exactly/record.h"

namespace exactly::kafka {

class PolledRing {
 public:
  // The record about to be decided and kPrefetchDistance after it.
  static constexpr std::size_t kCapacity = Engine::kPrefetchDistance + 1;

  struct Slot {
    KafkaMessage msg;
    std::uint64_t bytes = 0;  // counted against the read-ahead's byte bound
    // Set when the record was hinted: it views `msg` in this slot, and is
    // reset when the message leaves the slot.
    std::optional<RecordView> view;
  };

  bool empty() const noexcept { return count_ == 0; }
  bool full() const noexcept { return count_ == kCapacity; }
  std::size_t size() const noexcept { return count_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

  // Appends `msg` (the ring must not be full) and returns its slot.
  Slot& Push(KafkaMessage msg, std::uint64_t bytes) noexcept {
    Slot& s = slots_[Wrap(head_ + count_)];
    s.msg = std::move(msg);
    s.bytes = bytes;
    s.view.reset();
    ++count_;
    bytes_ += bytes;
    return s;
  }

  // Takes the oldest record out (the ring must not be empty): no longer
  // counted or erased, its slot stays valid until the next Push reuses it.
  Slot& TakeFront() noexcept {
    Slot& s = slots_[head_];
    bytes_ -= s.bytes;
    head_ = Wrap(head_ + 1);
    --count_;
    return s;
  }

  // Removes the records whose slot `drop` is true for, keeping the others
  // in order.
  template <class Pred>
  void EraseIf(Pred drop) noexcept {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      Slot& from = slots_[Wrap(head_ + i)];
      if (drop(std::as_const(from))) {
        bytes_ -= from.bytes;
        from.msg = KafkaMessage();
        from.view.reset();
        continue;
      }
      Slot& to = slots_[Wrap(head_ + kept)];
      if (&to != &from) {
        to.msg = std::move(from.msg);
        to.bytes = from.bytes;
        to.view.reset();  // it viewed the old slot's message
        from.view.reset();
      }
      ++kept;
    }
    count_ = kept;
  }

  // Destroys every message, the one taken out last included.
  void Clear() noexcept {
    for (Slot& s : slots_) {
      s.msg = KafkaMessage();
      s.view.reset();
    }
    count_ = 0;
    bytes_ = 0;
  }

 private:
  // i < 2 * kCapacity: one compare instead of the multiply and shifts of
  // `%` by a constant that is not a power of two.
  static std::size_t Wrap(std::size_t i) noexcept { return i >= kCapacity ? i - kCapacity : i; }

  std::array<Slot, kCapacity> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace exactly::kafka
