// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// PolledRing, the DedupConsumer's read-ahead: order, byte accounting,
// erasure in order across the ring's wrap, views dropped when a record
// moves to another slot, and the record taken out last left alone by an
// erasure (a rewind while it is being decided). The messages are empty
// (no librdkafka message): each record is told apart by its byte count.
#include "polled_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace exactly::kafka {
namespace {

constexpr std::size_t kCapacity = PolledRing::kCapacity;

void PushIds(PolledRing& ring, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t id = first; id <= last; ++id) ring.Push(KafkaMessage(), id);
}

std::uint64_t Sum(const std::vector<std::uint64_t>& ids) {
  std::uint64_t n = 0;
  for (std::uint64_t id : ids) n += id;
  return n;
}

// Takes every record out, oldest first.
std::vector<std::uint64_t> Drain(PolledRing& ring) {
  std::vector<std::uint64_t> ids;
  while (!ring.empty()) ids.push_back(ring.TakeFront().bytes);
  return ids;
}

TEST(PolledRing, TakesRecordsOutInTheOrderTheyCameAndCountsTheirBytes) {
  PolledRing ring;
  EXPECT_TRUE(ring.empty());
  PushIds(ring, 1, 5);
  EXPECT_EQ(ring.size(), 5u);
  EXPECT_EQ(ring.bytes(), 15u);
  EXPECT_EQ(ring.TakeFront().bytes, 1u);
  EXPECT_EQ(ring.bytes(), 14u);
  PushIds(ring, 6, 6);
  EXPECT_EQ(Drain(ring), (std::vector<std::uint64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(ring.bytes(), 0u);
}

TEST(PolledRing, HoldsExactlyItsCapacity) {
  PolledRing ring;
  PushIds(ring, 1, kCapacity - 1);
  EXPECT_FALSE(ring.full());
  PushIds(ring, kCapacity, kCapacity);
  EXPECT_TRUE(ring.full());
  EXPECT_EQ(ring.size(), kCapacity);
}

// Every start position of the ring, so erasures cross its wrap.
TEST(PolledRing, EraseKeepsTheOthersInOrderWhereverTheRingStarts) {
  for (std::size_t start = 0; start < kCapacity; ++start) {
    SCOPED_TRACE("start " + std::to_string(start));
    PolledRing ring;
    PushIds(ring, 1000, 1000 + start - 1);
    (void)Drain(ring);  // the next record lands in slot `start`
    PushIds(ring, 1, kCapacity);
    ring.EraseIf([](const PolledRing::Slot& s) { return s.bytes % 3 == 0; });
    std::vector<std::uint64_t> want;
    for (std::uint64_t id = 1; id <= kCapacity; ++id) {
      if (id % 3 != 0) want.push_back(id);
    }
    EXPECT_EQ(ring.size(), want.size());
    EXPECT_EQ(ring.bytes(), Sum(want));
    // Room again for exactly what was erased, after the others.
    const std::uint64_t room = kCapacity - want.size();
    PushIds(ring, 100, 100 + room - 1);
    EXPECT_TRUE(ring.full());
    for (std::uint64_t id = 100; id < 100 + room; ++id) want.push_back(id);
    EXPECT_EQ(Drain(ring), want);
  }
}

TEST(PolledRing, ARecordMovedToAnotherSlotLosesItsView) {
  PolledRing ring;
  PushIds(ring, 1, 4);
  for (std::size_t i = 0; i < 4; ++i) {
    PolledRing::Slot& s = ring.TakeFront();
    ring.Push(std::move(s.msg), s.bytes).view = RecordView{};
  }
  // Records 1..4 again, each with a view; dropping 2 moves 3 and 4.
  ring.EraseIf([](const PolledRing::Slot& s) { return s.bytes == 2; });
  PolledRing::Slot& first = ring.TakeFront();
  EXPECT_EQ(first.bytes, 1u);
  EXPECT_TRUE(first.view.has_value()) << "not moved: its view still views its own message";
  PolledRing::Slot& third = ring.TakeFront();
  EXPECT_EQ(third.bytes, 3u);
  EXPECT_FALSE(third.view.has_value()) << "moved: its view would view the slot it left";
}

TEST(PolledRing, TheRecordTakenOutLastIsLeftAloneByAnErasureAndTheNextPushes) {
  PolledRing ring;
  PushIds(ring, 1, kCapacity);
  PolledRing::Slot& taken = ring.TakeFront();
  taken.view = RecordView{};
  ring.EraseIf([](const PolledRing::Slot&) { return true; });  // a rewind while record 1 is decided
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.bytes(), 0u);
  EXPECT_EQ(taken.bytes, 1u);
  EXPECT_TRUE(taken.view.has_value());
  // The ring fills every other slot before it reuses that one.
  PushIds(ring, 2, kCapacity);
  EXPECT_EQ(taken.bytes, 1u);
  EXPECT_TRUE(taken.view.has_value());
  PushIds(ring, 99, 99);
  EXPECT_EQ(taken.bytes, 99u) << "the last free slot is the taken one";
}

TEST(PolledRing, ClearForgetsEverything) {
  PolledRing ring;
  PushIds(ring, 1, 6);
  PolledRing::Slot& taken = ring.TakeFront();
  taken.view = RecordView{};
  ring.Clear();
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.bytes(), 0u);
  EXPECT_FALSE(taken.view.has_value());
  PushIds(ring, 7, 8);
  EXPECT_EQ(Drain(ring), (std::vector<std::uint64_t>{7, 8}));
}

}  // namespace
}  // namespace exactly::kafka
