// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store: folding watermark deltas into producer keys never
// changes what Load returns, whatever the fold schedule (inline steps
// interleaved with commits, a background thread, reopen mid-pass) and
// erasures (the producer-TTL purge path).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"

namespace exactly {
namespace {

using unit_test::TempDir;

const TopicPartition kTp{Topic("t"), Partition(0)};

// Random watermark churn against an in-memory model.
class Churn {
 public:
  explicit Churn(std::uint32_t seed, int producers) : rng_(seed), producers_(producers) {}

  // One checkpoint's worth of changes; applies them to the model.
  std::vector<std::pair<std::string, std::optional<ProducerState>>> Next(int changes) {
    std::vector<std::pair<std::string, std::optional<ProducerState>>> out;
    std::uniform_int_distribution<int> pick(0, producers_ - 1);
    for (int i = 0; i < changes; ++i) {
      std::string id = "producer/" + std::to_string(pick(rng_) * 7919 % 100003);
      if (rng_() % 5 == 0) {
        model_.erase(id);
        out.emplace_back(id, std::nullopt);
      } else {
        ProducerState p{id, EpochSeq{Epoch(rng_() % 3), Sequence(++seq_)}, TimestampMs(static_cast<std::int64_t>(seq_))};
        if (rng_() % 10 == 0) p.watermark.reset();
        model_[id] = p;
        out.emplace_back(id, p);
      }
    }
    return out;
  }

  std::vector<ProducerState> Model() const {
    std::vector<ProducerState> v;
    for (const auto& [id, p] : model_) v.push_back(p);
    return v;
  }

 private:
  std::mt19937 rng_;
  int producers_;
  std::uint64_t seq_ = 0;
  std::map<std::string, ProducerState> model_;
};

struct Visit {
  const std::vector<std::pair<std::string, std::optional<ProducerState>>>& ops;
  void operator()(ChangeVisitor& v) const {
    for (const auto& [id, p] : ops) {
      if (p) {
        v.ProducerChanged(*p);
      } else {
        v.ProducerErased(id);
      }
    }
  }
};

void Commit(CheckpointStore& store, std::int64_t offset,
            const std::vector<std::pair<std::string, std::optional<ProducerState>>>& ops) {
  Checkpoint cp = store.BeginCheckpoint();
  Visit visit{ops};
  ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(offset), visit).ok());
  Status st = store.Commit(std::move(cp));
  ASSERT_TRUE(st.ok()) << st.ToString();
}

void ExpectModel(const CheckpointStore& store, const Churn& churn, std::int64_t offset) {
  auto l = store.Load(kTp);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_TRUE(l->has_value());
  EXPECT_EQ((*l)->next_offset, Offset(offset));
  // Load returns producers sorted by id.
  EXPECT_EQ((*l)->state.producers, churn.Model());
}

StoreOptions SmallFolds(bool background) {
  StoreOptions o;
  o.background_fold = background;
  o.fold_pending_bytes = 4096;
  o.fold_max_deltas = 2;
  o.fold_step_bytes = 1024;  // passes span several commits
  o.sync = false;            // speed; atomicity does not depend on it
  return o;
}

TEST(CheckpointStoreFold, InlineFoldInterleavedWithCommits) {
  TempDir tmp;
  Churn churn(1234, 800);
  auto store = CheckpointStore::Open(tmp.path, SmallFolds(false)).value();
  for (int round = 1; round <= 150; ++round) {
    Commit(*store, round, churn.Next(round % 7 == 0 ? 300 : 15));
    if (round % 10 == 0) ExpectModel(*store, churn, round);
    if (round % 50 == 0) {
      store.reset();  // reopen mid-pass
      store = CheckpointStore::Open(tmp.path, SmallFolds(false)).value();
      ExpectModel(*store, churn, round);
    }
  }
  ASSERT_TRUE(store->Fold().ok());
  ExpectModel(*store, churn, 150);
  auto layout = store->DescribeWatermarks(kTp).value();
  EXPECT_EQ(layout.producer_keys, churn.Model().size());  // one key per live producer
  EXPECT_EQ(layout.segments, 0u);
  EXPECT_EQ(layout.deltas, 0u);  // all folded
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreFold, BackgroundFoldRacesCommitsAndLoads) {
  TempDir tmp;
  Churn churn(99, 2000);
  auto store = CheckpointStore::Open(tmp.path, SmallFolds(true)).value();
  for (int round = 1; round <= 200; ++round) {
    Commit(*store, round, churn.Next(40));
    if (round % 5 == 0) ExpectModel(*store, churn, round);
  }
  EXPECT_GE(store->DescribeWatermarks(kTp).value().producer_keys, 1u);  // the folder ran
  store.reset();
  store = CheckpointStore::Open(tmp.path, SmallFolds(true)).value();
  ExpectModel(*store, churn, 200);
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreFold, ReplaceDuringAFoldPassWins) {
  TempDir tmp;
  Churn churn(7, 500);
  StoreOptions o = SmallFolds(false);
  o.fold_step_bytes = 256;  // a pass takes many steps
  auto store = CheckpointStore::Open(tmp.path, o).value();
  for (int round = 1; round <= 20; ++round) Commit(*store, round, churn.Next(50));
  // Start a pass (one small step), then replace the partition under it.
  ASSERT_TRUE(store->Fold(256).ok());
  PartitionState fresh;
  fresh.max_timestamp = TimestampMs(1);
  fresh.producers = {ProducerState{"only", EpochSeq{Epoch(1), Sequence(1)}, TimestampMs(1)}};
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.ReplacePartition(kTp, Offset(21), fresh).ok());
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  ASSERT_TRUE(store->Fold().ok());
  auto l = store->Load(kTp).value();
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->state.producers, fresh.producers);
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreFold, EverythingErasedLeavesAnEmptyPartition) {
  TempDir tmp;
  StoreOptions o = SmallFolds(false);
  o.fold_pending_bytes = 1 << 30;  // only explicit folds
  o.fold_max_deltas = 1000;
  auto store = CheckpointStore::Open(tmp.path, o).value();
  std::vector<std::pair<std::string, std::optional<ProducerState>>> add;
  std::vector<std::pair<std::string, std::optional<ProducerState>>> del;
  for (int i = 0; i < 1000; ++i) {
    std::string id = "p" + std::to_string(i);
    add.emplace_back(id, ProducerState{id, EpochSeq{}, TimestampMs(i)});
    del.emplace_back(id, std::nullopt);
  }
  Commit(*store, 1, add);
  EXPECT_EQ(store->DescribeWatermarks(kTp).value().deltas, 1u);
  ASSERT_TRUE(store->Fold().ok());
  EXPECT_EQ(store->DescribeWatermarks(kTp).value().deltas, 0u);
  EXPECT_EQ(store->Load(kTp).value()->state.producers.size(), 1000u);
  Commit(*store, 2, del);
  Commit(*store, 3, {});
  ASSERT_TRUE(store->Fold().ok());
  EXPECT_TRUE(store->Load(kTp).value()->state.producers.empty());
  auto layout = store->DescribeWatermarks(kTp).value();
  EXPECT_EQ(layout.producer_keys, 0u);  // erasures delete the keys
  EXPECT_EQ(layout.deltas, 0u);
  EXPECT_TRUE(store->Verify().ok());
}

}  // namespace
}  // namespace exactly
