// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store: a directory in on-disk format 1 (folded watermarks in
// producer-range segments) loads read-only as it is, and the first open
// for writing upgrades it to format 2 without changing what any partition
// loads.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"
#include "store_format1.h"

namespace exactly {
namespace {

using unit_test::TempDir;

TopicPartition Tp(std::string topic, int p) { return TopicPartition{Topic(std::move(topic)), Partition(p)}; }

struct Fixture {
  std::vector<testing::Format1Partition> parts;
  std::map<TopicPartition, LoadedPartition> expected;  // what each should load
};

// Three partitions: many producers over many segments with pending sets
// and erasures and an in-progress message; deltas only (an empty folded
// state); a single producer, no deltas.
Fixture MakeFixture(std::uint64_t checkpoint) {
  const std::uint32_t seed = 77;
  std::mt19937 rng(seed);
  Fixture f;
  auto add = [&](TopicPartition tp, int producers, int deltas, bool message) {
    testing::Format1Partition part;
    part.tp = tp;
    part.next_offset = Offset(1000 + producers);
    part.folded.max_timestamp = TimestampMs(5000);
    std::map<std::string, ProducerState> model;
    for (int i = 0; i < producers; ++i) {
      std::string id = "producer-" + std::to_string(i);
      if (i % 50 == 0) id += std::string("\0\xff", 2);
      ProducerState s{id, EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(i))}, TimestampMs(i)};
      if (i % 9 == 0) s.watermark.reset();
      part.folded.producers.push_back(s);
      model[id] = s;
    }
    for (int d = 0; d < deltas; ++d) {
      std::vector<testing::Format1Op> ops;
      for (int k = 0; k < 30; ++k) {
        const std::string id = "producer-" + std::to_string(rng() % static_cast<unsigned>(producers + 20));
        if (rng() % 4 == 0) {
          ops.emplace_back(id, std::nullopt);
          model.erase(id);
        } else {
          ProducerState s{id, EpochSeq{Epoch(2), Sequence(static_cast<std::uint64_t>(d * 100 + k))}, TimestampMs(4000 + d)};
          ops.emplace_back(id, s);
          model[id] = s;
        }
      }
      part.pending.push_back(std::move(ops));
    }
    if (message) {
      InProgressState m;
      m.header.producer = "chunky";
      m.header.stamp = EpochSeq{Epoch(3), Sequence(1)};
      m.header.count = 2;
      m.header.size = 10;
      m.header.first_offset = Offset(900);
      m.chunks.push_back(ChunkState{0, Offset(900), TimestampMs(4500), std::string("hello")});
      part.folded.in_progress.push_back(m);
    }
    LoadedPartition want;
    want.next_offset = part.next_offset;
    want.checkpoint = checkpoint;
    want.state.max_timestamp = part.folded.max_timestamp;
    for (const auto& [id, s] : model) want.state.producers.push_back(s);
    want.state.in_progress = part.folded.in_progress;
    f.expected[tp] = want;
    f.parts.push_back(std::move(part));
  };
  add(Tp("orders", 0), 3000, 12, true);
  add(Tp("orders", 1), 0, 5, false);
  add(Tp("payments", -1), 1, 0, false);
  return f;
}

void ExpectLoads(const CheckpointStore& store, const Fixture& f) {
  auto parts = store.ListPartitions().value();
  ASSERT_EQ(parts.size(), f.expected.size());
  for (const auto& [tp, want] : f.expected) {
    SCOPED_TRACE(tp.ToString());
    auto l = store.Load(tp);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ASSERT_TRUE(l->has_value());
    EXPECT_EQ((*l)->next_offset, want.next_offset);
    EXPECT_EQ((*l)->checkpoint, want.checkpoint);
    EXPECT_EQ((*l)->state, want.state);
  }
}

TEST(CheckpointStoreUpgrade, Format1LoadsReadOnlyAndUpgradesWhenOpenedForWriting) {
  TempDir tmp;
  const Fixture f = MakeFixture(40);
  Status st = testing::WriteFormat1Directory(tmp.path, f.parts, 40, 1024);
  ASSERT_TRUE(st.ok()) << st.ToString();

  StoreOptions ro;
  ro.read_only = true;
  {
    auto store = CheckpointStore::Open(tmp.path, ro).value();
    EXPECT_EQ(store->Info().format_version, 1u);
    EXPECT_GT(store->DescribeWatermarks(Tp("orders", 0)).value().segments, 10u);  // really format 1
    ExpectLoads(*store, f);
    auto r = store->FetchProducer(Tp("orders", 0), "producer-1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kNotSupported);
    EXPECT_NE(r.status().message().find("open it for writing once"), std::string_view::npos) << r.status().ToString();
    EXPECT_TRUE(store->Verify().ok());
  }
  {
    StoreOptions rw;
    rw.background_fold = false;
    auto store = CheckpointStore::Open(tmp.path, rw).value();
    EXPECT_EQ(store->Info().format_version, kStoreFormatVersion);
    ExpectLoads(*store, f);
    for (const auto& part : f.parts) {
      const WatermarkLayout layout = store->DescribeWatermarks(part.tp).value();
      EXPECT_EQ(layout.segments, 0u);
      EXPECT_EQ(layout.producer_keys, part.folded.producers.size());
      EXPECT_EQ(layout.deltas, part.pending.size());  // pending deltas stay, replayed over the keys
    }
    // Every producer fetches as it loads, and unknown ones are absent.
    for (const auto& [tp, want] : f.expected) {
      for (const ProducerState& p : want.state.producers) {
        auto r = store->FetchProducer(tp, p.producer);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_TRUE(r->has_value()) << p.producer;
        EXPECT_EQ(**r, p);
      }
      EXPECT_FALSE(store->FetchProducer(tp, "producer-999999").value().has_value());
    }
    EXPECT_TRUE(store->Verify().ok());
    ASSERT_TRUE(store->Fold().ok());
    ExpectLoads(*store, f);
  }
  auto store = CheckpointStore::Open(tmp.path, ro).value();
  EXPECT_EQ(store->Info().format_version, kStoreFormatVersion);
  ExpectLoads(*store, f);
}

TEST(CheckpointStoreUpgrade, EmptyFormat1DirectoryIsUpgraded) {
  TempDir tmp;
  ASSERT_TRUE(testing::WriteFormat1Directory(tmp.path, {}, 0).ok());
  {
    auto store = CheckpointStore::Open(tmp.path).value();
    EXPECT_EQ(store->Info().format_version, 2u);
    EXPECT_TRUE(store->ListPartitions().value().empty());
  }
  StoreOptions ro;
  ro.read_only = true;
  EXPECT_EQ(CheckpointStore::Open(tmp.path, ro).value()->Info().format_version, 2u);
}

}  // namespace
}  // namespace exactly
