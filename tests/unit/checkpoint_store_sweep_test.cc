// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The store's producer-TTL sweep (StoreOptions::purge_sweep_interval):
// producers only the store holds are deleted once their TTL has expired on
// the partition's stored clock. Producers within the TTL stay. So do
// producers with an in-progress message. A producer whose newer state is
// still in a pending delta keeps that state. Engines restored before and
// after the sweep decide alike. The background folder runs the sweep by
// itself once the interval has passed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"
#include "engine_test_support.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"

namespace exactly::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const TopicPartition kTp{Topic("t"), Partition(0)};
constexpr std::int64_t kTtl = 1000;
constexpr std::int64_t kClock = kBaseTimestamp + 10'000;

using unit_test::TempDir;

ProducerState Producer(std::string id, std::uint64_t seq, std::int64_t last_seen) {
  return ProducerState{std::move(id), EpochSeq{Epoch(1), Sequence(seq)}, TimestampMs(last_seen)};
}

EngineOptions Options() {
  EngineOptions o;
  o.producer_ttl_ms = kTtl;
  o.max_resident_producers = 64;  // a producer cache: restored partitions page producers in
  return o;
}

std::map<std::string, ProducerState> Producers(CheckpointStore& store) {
  auto loaded = store.Load(kTp);
  EXPECT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status().ToString();
  std::map<std::string, ProducerState> out;
  if (loaded.ok() && loaded->has_value()) {
    for (const auto& p : (*loaded)->state.producers) out[p.producer] = p;
  }
  return out;
}

// Stored before any engine of this process checkpointed (so with no TTL
// known to the store yet): "old" and "revived" expired on the clock,
// "recent" not, "busy" expired but with a message in progress.
void Seed(CheckpointStore& store) {
  PartitionState state;
  state.producers = {Producer("old", 5, kClock - 9000), Producer("recent", 5, kClock - 500),
                     Producer("busy", 5, kClock - 9000), Producer("revived", 5, kClock - 9000)};
  InProgressState busy;
  busy.header = InProgressHeader{"busy", EpochSeq{Epoch(1), Sequence(6)}, 2, 6, 0, Offset(90), true, "k", {}};
  busy.chunks = {ChunkState{0, Offset(90), TimestampMs(kClock - 9000), "abc"}};
  state.in_progress = {busy};
  state.max_timestamp = TimestampMs(kClock - 100);
  Checkpoint cp = store.BeginCheckpoint();
  ASSERT_TRUE(cp.ReplacePartition(kTp, Offset(100), state).ok());
  ASSERT_TRUE(store.Commit(std::move(cp)).ok());
}

// An engine restored from the store with producers paged in decides two
// records (the clock reaches kClock), then checkpoints through
// AddPartition: "revived" sends again (it was expired, so it starts
// over), "fresh" is new.
void RunEngineAndCheckpoint(CheckpointStore& store) {
  Engine engine(Options());
  engine.set_producer_source(&store);
  auto loaded = store.Load(kTp, LoadOptions{.producers = false});
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  (*loaded)->state.producers_omitted = true;  // as DedupConsumer restores with a cache
  const Status restored = engine.Restore(kTp, std::move((*loaded)->state));
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  int delivered = 0;
  for (const OwnedRecord& r : {RecordBuilder(100).Ts(kClock).Stamp("revived", 1, 2).Value("v").Build(),
                               RecordBuilder(101).Ts(kClock).Stamp("fresh", 1, 1).Value("v").Build()}) {
    const Outcome o = engine.Process(r.view(), [&](const Message&) { ++delivered; });
    ASSERT_NE(o, Outcome::kFailed);
  }
  ASSERT_EQ(delivered, 2) << "an expired producer starts over; a new one is new";
  Checkpoint cp = store.BeginCheckpoint();
  ASSERT_TRUE(cp.AddPartition(kTp, Offset(102), engine).ok());
  ASSERT_TRUE(store.Commit(std::move(cp)).ok());
}

// How an engine restored (all producers loaded) from `store` decides a
// re-sent record of each producer: true if delivered.
std::map<std::string, bool> Decisions(CheckpointStore& store) {
  Engine engine(Options());
  auto loaded = store.Load(kTp);
  EXPECT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_TRUE(engine.Restore(kTp, std::move((*loaded)->state)).ok());
  std::map<std::string, bool> out;
  std::int64_t offset = 200;
  for (const char* id : {"old", "recent", "revived", "fresh"}) {
    bool delivered = false;
    const OwnedRecord r = RecordBuilder(offset++).Ts(kClock).Stamp(id, 1, 1).Value("again").Build();
    (void)engine.Process(r.view(), [&](const Message&) { delivered = true; });
    out[id] = delivered;
  }
  return out;
}

TEST(CheckpointStoreSweep, DeletesOnlyStoredProducersExpiredOnTheStoredClock) {
  TempDir dir;
  StoreOptions so;
  so.background_fold = false;
  auto store = CheckpointStore::Open(dir.path, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Seed(**store));
  ASSERT_NO_FATAL_FAILURE(RunEngineAndCheckpoint(**store));
  const auto before = Producers(**store);
  ASSERT_EQ(before.size(), 5u);
  ASSERT_EQ(before.at("revived").last_seen, TimestampMs(kClock)) << "the pending delta holds its new state";
  const auto decisions_before = Decisions(**store);

  ASSERT_TRUE((*store)->SweepExpired().ok());
  // "old" and the folded (expired) key of "revived" went.
  EXPECT_EQ((*store)->SweptProducerCount(), 2u);
  auto after = Producers(**store);
  EXPECT_EQ(after.count("old"), 0u);
  for (const char* kept : {"recent", "busy", "fresh", "revived"}) {
    ASSERT_EQ(after.count(kept), 1u) << kept;
    EXPECT_EQ(after.at(kept), before.at(kept)) << kept;
  }
  auto old = (*store)->FetchProducer(kTp, "old");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->has_value());
  EXPECT_EQ(Decisions(**store), decisions_before) << "the sweep changed a decision";
  EXPECT_TRUE(decisions_before.at("old")) << "an expired producer is unknown either way";

  // Folding the pending delta writes "revived"'s new state back as its key.
  ASSERT_TRUE((*store)->Fold().ok());
  after = Producers(**store);
  ASSERT_EQ(after.count("revived"), 1u);
  EXPECT_EQ(after.at("revived"), before.at("revived"));
  // Nothing is left to sweep; and the state survives reopening.
  ASSERT_TRUE((*store)->SweepExpired().ok());
  EXPECT_EQ((*store)->SweptProducerCount(), 2u);
  store->reset();
  auto reopened = CheckpointStore::Open(dir.path, so);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(Producers(**reopened), after);
}

TEST(CheckpointStoreSweep, TheBackgroundFolderSweepsOnceTheIntervalHasPassed) {
  TempDir dir;
  StoreOptions so;
  so.purge_sweep_interval = 1ms;
  auto store = CheckpointStore::Open(dir.path, so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Seed(**store));
  ASSERT_NO_FATAL_FAILURE(RunEngineAndCheckpoint(**store));
  // The folder wakes at least once a second; no commit is needed.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((*store)->SweptProducerCount() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ((*store)->SweptProducerCount(), 2u);
  EXPECT_EQ(Producers(**store).count("old"), 0u);
  EXPECT_EQ(Producers(**store).count("recent"), 1u);
}

TEST(CheckpointStoreSweep, NoSweepWithoutAnEngineTtlOrWhenDisabled) {
  for (const bool disabled : {false, true}) {
    TempDir dir;
    StoreOptions so;
    so.background_fold = false;
    if (disabled) so.purge_sweep_interval = 0ms;
    auto store = CheckpointStore::Open(dir.path, so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_NO_FATAL_FAILURE(Seed(**store));
    if (disabled) {
      // A TTL is known, but the inline fold steps of later commits do
      // not sweep.
      ASSERT_NO_FATAL_FAILURE(RunEngineAndCheckpoint(**store));
      for (int i = 0; i < 3; ++i) {
        Checkpoint cp = (*store)->BeginCheckpoint();
        ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(102 + i), [](ChangeVisitor&) {}).ok());
        ASSERT_TRUE((*store)->Commit(std::move(cp)).ok());
      }
    } else {
      // No engine checkpointed the partition in this process: no TTL.
      ASSERT_TRUE((*store)->SweepExpired().ok());
    }
    EXPECT_EQ((*store)->SweptProducerCount(), 0u) << (disabled ? "disabled" : "no TTL");
    EXPECT_EQ(Producers(**store).count("old"), 1u);
  }
}

}  // namespace
}  // namespace exactly::test
