// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The engine's producer table (an internal header): random inserts,
// lookups and erases against std::unordered_map, checking that entries
// never move, that every entry is reachable by a slot sweep, and that
// erasing (backward shift) never loses another entry.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../../lib/src/core/producer_table.h"

namespace exactly::detail {
namespace {

struct TestEntry {
  explicit TestEntry(std::string_view i) : id_(i) {}
  std::string_view id() const { return id_; }
  std::string id_;
  std::uint64_t value = 0;
};

TEST(ProducerTable, AgreesWithUnorderedMapUnderRandomChurn) {
  constexpr std::uint64_t kSeed = 0x7ab1e'0001;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  std::mt19937_64 rng(kSeed);
  ProducerTable<TestEntry> table;
  std::unordered_map<std::string, std::pair<TestEntry*, std::uint64_t>> model;
  // Short (inline) and long ids, and a small id space so that erased ids
  // come back.
  const auto random_id = [&rng] {
    const std::uint64_t k = rng() % 3000;
    return k % 7 == 0 ? "a-long-producer-identifier-" + std::to_string(k) : "p" + std::to_string(k);
  };
  for (int step = 0; step < 200000; ++step) {
    const std::string id = random_id();
    const auto op = rng() % 10;
    auto it = model.find(id);
    if (op < 5) {
      const auto [e, inserted] = table.FindOrInsert(id);
      ASSERT_EQ(inserted, it == model.end()) << id;
      ASSERT_EQ(e->id(), id);
      if (inserted) {
        e->value = rng();
        model.emplace(id, std::make_pair(e, e->value));
      } else {
        ASSERT_EQ(e, it->second.first) << "an entry moved: " << id;
        ASSERT_EQ(e->value, it->second.second);
      }
    } else if (op < 8) {
      TestEntry* e = table.Find(id);
      ASSERT_EQ(e != nullptr, it != model.end()) << id;
      if (e) {
        ASSERT_EQ(e, it->second.first);
      }
    } else if (it != model.end()) {
      table.Erase(it->second.first);
      model.erase(it);
      ASSERT_EQ(table.Find(id), nullptr);
    }
    ASSERT_EQ(table.size(), model.size());
    if (step % 20000 == 0) {
      std::size_t swept = 0;
      for (std::size_t i = 0; i < table.SlotCount(); ++i) {
        if (TestEntry* e = table.AtSlot(i)) {
          ++swept;
          const auto m = model.find(std::string(e->id()));
          ASSERT_NE(m, model.end());
          ASSERT_EQ(m->second.first, e);
        }
      }
      ASSERT_EQ(swept, model.size());
      for (const auto& [mid, m] : model) ASSERT_EQ(table.Find(mid), m.first) << mid;
    }
  }
}

TEST(ProducerTable, ReserveThenFillKeepsEveryEntry) {
  ProducerTable<TestEntry> table;
  table.Reserve(10000);
  const std::size_t slots = table.SlotCount();
  std::vector<TestEntry*> entries;
  for (int i = 0; i < 10000; ++i) entries.push_back(table.FindOrInsert("id-" + std::to_string(i)).first);
  EXPECT_EQ(table.SlotCount(), slots) << "reserved room was not enough";
  std::size_t visited = 0;
  table.ForEach([&visited](const TestEntry&) { ++visited; });
  EXPECT_EQ(visited, 10000u);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(table.Find("id-" + std::to_string(i)), entries[static_cast<std::size_t>(i)]);
  for (int i = 0; i < 10000; i += 2) table.Erase(entries[static_cast<std::size_t>(i)]);
  EXPECT_EQ(table.size(), 5000u);
  for (int i = 1; i < 10000; i += 2) EXPECT_EQ(table.Find("id-" + std::to_string(i)), entries[static_cast<std::size_t>(i)]);
}

// A CLOCK sweep that evicts (as the engine's producer cache does after a
// checkpoint) while new producers keep arriving must keep the index's
// load even: swept in index order, the slots ahead of the hand filled up
// and probe runs grew to tens of thousands of slots.
TEST(ProducerTable, EvictionSweepKeepsProbeRunsShort) {
  ProducerTable<TestEntry> table;
  constexpr std::size_t kBudget = 65'536;
  constexpr std::size_t kPerRound = 6'554;
  std::uint64_t hand = 0;
  std::size_t next = 0;
  std::size_t longest = 0;
  for (int round = 0; round < 60; ++round) {  // three turns of the hand
    for (std::size_t k = 0; k < kPerRound; ++k, ++next) {
      TestEntry* e = table.FindOrInsert("svc-" + std::to_string(next % 64) + "/producer-" + std::to_string(next)).first;
      e->value = 1;  // the reference bit
    }
    const std::size_t slots = table.SlotCount();
    std::size_t evicted = 0;
    const std::size_t want = table.size() > kBudget ? table.size() - kBudget : 0;
    for (std::size_t visited = 0; visited < 2 * slots && evicted < want; ++visited) {
      TestEntry* e = table.AtSlot(table.SweepSlot(hand));
      if (e == nullptr) {
        ++hand;
      } else if (e->value != 0) {
        e->value = 0;
        ++hand;
      } else {
        table.Erase(e);  // the hand stays: a later entry may shift into the slot
        ++evicted;
      }
    }
    ASSERT_EQ(evicted, want) << "round " << round;
    longest = std::max(longest, table.LongestRun());
  }
  EXPECT_EQ(table.size(), kBudget);
  // At ~54% load an evenly loaded index has runs under ~100 slots; the
  // index-order sweep reached ~900 here (and tens of thousands at 1 M).
  EXPECT_LT(longest, 200u) << "slots " << table.SlotCount();
}

// Past the first ~32k entries, pages are 2 MiB blocks mapped outside
// malloc: entries there must stay put and be found through erase and reuse
// as anywhere else, and every block must be counted while mapped and
// released with the table.
TEST(ProducerTable, BlockPagesKeepEntriesAndAreCounted) {
  const std::size_t mapped_before = MappedBlockBytes();
  {
    ProducerTable<TestEntry> table;
    constexpr int kIds = 100000;
    const auto id_of = [](int i) { return (i % 5 == 0 ? "a-producer-id-longer-than-24-bytes-" : "p") + std::to_string(i); };
    std::vector<TestEntry*> entries;
    for (int i = 0; i < kIds; ++i) {
      TestEntry* e = table.FindOrInsert(id_of(i)).first;
      e->value = static_cast<std::uint64_t>(i);
      entries.push_back(e);
    }
    const std::size_t mapped_full = MappedBlockBytes() - mapped_before;
    // The index (over 2 MiB at this size) and the entry blocks.
    EXPECT_GE(mapped_full, std::size_t{2} << 20);
    EXPECT_EQ(mapped_full % (std::size_t{2} << 20), 0u);
    // Erase two thirds, insert as many new ids: erased entries are reused,
    // so no block is added.
    for (int i = 0; i < kIds; ++i)
      if (i % 3 != 0) table.Erase(entries[static_cast<std::size_t>(i)]);
    for (int i = kIds; i < 2 * kIds - (kIds + 2) / 3; ++i) {
      TestEntry* e = table.FindOrInsert(id_of(i)).first;
      e->value = static_cast<std::uint64_t>(i);
    }
    EXPECT_EQ(table.size(), static_cast<std::size_t>(kIds));
    EXPECT_EQ(MappedBlockBytes() - mapped_before, mapped_full);
    for (int i = 0; i < kIds; i += 3) {
      TestEntry* e = table.Find(id_of(i));
      ASSERT_EQ(e, entries[static_cast<std::size_t>(i)]) << id_of(i);
      ASSERT_EQ(e->value, static_cast<std::uint64_t>(i));
    }
    for (int i = 1; i < kIds; i += 3) ASSERT_EQ(table.Find(id_of(i)), nullptr) << id_of(i);
    for (int i = kIds; i < 2 * kIds - (kIds + 2) / 3; ++i) {
      TestEntry* e = table.Find(id_of(i));
      ASSERT_NE(e, nullptr) << id_of(i);
      ASSERT_EQ(e->id(), id_of(i));
      ASSERT_EQ(e->value, static_cast<std::uint64_t>(i));
    }
  }
  EXPECT_EQ(MappedBlockBytes(), mapped_before);
}

}  // namespace
}  // namespace exactly::detail
