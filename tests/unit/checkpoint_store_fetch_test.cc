// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store as a ProducerSource: FetchProducer returns what a full
// Load returns for the same producer, whatever happened before (commits
// with sets and erasures, partial and full folds, Replace, reopen, a
// failed commit and reopen), from a thread racing commits and the
// background fold too; Load without producers; the pending-change index
// stays under its bound.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"
#include "exactly/store_fault_injection.h"

namespace exactly {
namespace {

using unit_test::TempDir;

TopicPartition Tp(int p) { return TopicPartition{Topic("fetch"), Partition(p)}; }

// Producer ids, some with the bytes the key encoding escapes.
std::string Id(int i) {
  std::string id = "producer-" + std::to_string(i);
  if (i % 17 == 0) id += std::string("\0x", 2);
  if (i % 23 == 0) id += "\xff\x01";
  return id;
}

using Op = std::pair<std::string, std::optional<ProducerState>>;
using Model = std::map<std::string, ProducerState>;

std::vector<ProducerState> Sorted(const Model& m) {
  std::vector<ProducerState> v;
  for (const auto& [id, p] : m) v.push_back(p);
  return v;
}

Status CommitOps(CheckpointStore& store, int p, std::int64_t offset, const std::vector<Op>& ops) {
  Checkpoint cp = store.BeginCheckpoint();
  EXACTLY_RETURN_IF_ERROR(cp.AddPartitionChanges(Tp(p), Offset(offset), [&](ChangeVisitor& v) {
    for (const auto& [id, s] : ops) {
      if (s) {
        v.ProducerChanged(*s);
      } else {
        v.ProducerErased(id);
      }
    }
  }));
  return store.Commit(std::move(cp));
}

// Every producer of the pool (and one never seen) fetches as the model
// says; the full Load agrees.
void ExpectAgrees(const CheckpointStore& store, int p, const Model& model, int pool, bool load) {
  for (int i = 0; i <= pool; ++i) {
    const std::string id = i == pool ? "never-seen" : Id(i);
    auto r = store.FetchProducer(Tp(p), id);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto it = model.find(id);
    if (it == model.end()) {
      EXPECT_FALSE(r->has_value()) << "producer " << i << " of partition " << p;
    } else {
      ASSERT_TRUE(r->has_value()) << "producer " << i << " of partition " << p;
      EXPECT_EQ(**r, it->second) << "producer " << i << " of partition " << p;
    }
  }
  if (load) {
    auto l = store.Load(Tp(p));
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ASSERT_TRUE(l->has_value());
    EXPECT_EQ((*l)->state.producers, Sorted(model));
  }
}

StoreOptions TinyFolds(bool background, std::shared_ptr<StoreFaultInjector> injector) {
  StoreOptions o;
  o.background_fold = background;
  o.fold_pending_bytes = 600;
  o.fold_max_deltas = 3;
  o.fold_step_bytes = 200;  // passes span several commits
  o.sync = false;           // speed; atomicity does not depend on it
  o.fault_injector = std::move(injector);
  return o;
}

class RandomHistory : public ::testing::TestWithParam<bool> {};

TEST_P(RandomHistory, FetchProducerAgreesWithLoad) {
  const bool background = GetParam();
  const std::uint32_t seed = 20261121u + (background ? 1 : 0);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  constexpr int kPool = 150;
  constexpr int kParts = 2;
  TempDir tmp;
  auto injector = std::make_shared<StoreFaultInjector>();
  const StoreOptions so = TinyFolds(background, injector);
  auto store = CheckpointStore::Open(tmp.path, so).value();
  Model model[kParts];
  std::int64_t offset[kParts] = {0, 0};
  std::uint64_t seq = 0;
  auto random_ops = [&](int p, Model* m) {
    std::vector<Op> ops;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) {
      const std::string id = Id(static_cast<int>(rng() % kPool));
      if (rng() % 4 == 0) {
        m->erase(id);
        ops.emplace_back(id, std::nullopt);
      } else {
        ProducerState s{id, EpochSeq{Epoch(rng() % 3), Sequence(++seq)}, TimestampMs(static_cast<std::int64_t>(seq))};
        if (rng() % 8 == 0) s.watermark.reset();
        (*m)[id] = s;
        ops.emplace_back(id, s);
      }
    }
    (void)p;
    return ops;
  };
  int failed_commits = 0;
  for (int step = 1; step <= 300; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int p = static_cast<int>(rng() % kParts);
    const unsigned what = rng() % 100;
    if (what < 60) {
      auto ops = random_ops(p, &model[p]);
      Status st = CommitOps(*store, p, ++offset[p], ops);
      ASSERT_TRUE(st.ok()) << st.ToString();
    } else if (what < 70) {
      ASSERT_TRUE(store->Fold(50 + rng() % 500).ok());  // often stops mid-pass
    } else if (what < 74) {
      ASSERT_TRUE(store->Fold().ok());
      EXPECT_EQ(store->DescribeWatermarks(Tp(p)).value().deltas, 0u);
    } else if (what < 80) {
      store.reset();
      store = CheckpointStore::Open(tmp.path, so).value();
    } else if (what < 83) {
      // Replace with a random subset of the model.
      Model fresh;
      for (const auto& [id, s] : model[p]) {
        if (rng() % 2) fresh[id] = s;
      }
      PartitionState ps;
      ps.max_timestamp = TimestampMs(static_cast<std::int64_t>(seq));
      ps.producers = Sorted(fresh);
      Checkpoint cp = store->BeginCheckpoint();
      ASSERT_TRUE(cp.ReplacePartition(Tp(p), Offset(++offset[p]), ps).ok());
      ASSERT_TRUE(store->Commit(std::move(cp)).ok());
      model[p] = std::move(fresh);
    } else if (what < 87) {
      // A commit that fails in the write, then reopen: the store holds
      // the state before it or (if the bytes did land) after it.
      Model after = model[p];
      auto ops = random_ops(p, &after);
      injector->Arm(StoreFaultInjector::Error::kIoError);
      Status st = CommitOps(*store, p, offset[p] + 1, ops);
      injector->Disarm();
      ASSERT_FALSE(st.ok());
      ++failed_commits;
      store.reset();
      store = CheckpointStore::Open(tmp.path, so).value();
      auto stored = store->LoadOffset(Tp(p)).value();
      if (stored == Offset(offset[p] + 1)) {
        model[p] = std::move(after);
        ++offset[p];
      }
    }
    for (int q = 0; q < kParts; ++q) {
      if (offset[q] == 0) continue;
      ExpectAgrees(*store, q, model[q], kPool, step % 5 == 0);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(failed_commits, 0);
  EXPECT_TRUE(store->Verify().ok());
}

INSTANTIATE_TEST_SUITE_P(Fold, RandomHistory, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? std::string("Background") : std::string("Inline"); });

TEST(CheckpointStoreFetch, UnknownAndErasedProducersAreAbsent) {
  TempDir tmp;
  StoreOptions so = TinyFolds(false, nullptr);
  so.fold_pending_bytes = 1 << 30;  // only explicit folds
  so.fold_max_deltas = 1000;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  EXPECT_FALSE(store->FetchProducer(Tp(9), "p").value().has_value());  // no such partition
  const ProducerState a{"a", EpochSeq{Epoch(1), Sequence(5)}, TimestampMs(10)};
  const ProducerState b{"b", std::nullopt, TimestampMs(11)};
  ASSERT_TRUE(CommitOps(*store, 0, 1, {{"a", a}, {"b", b}}).ok());
  EXPECT_FALSE(store->FetchProducer(Tp(0), "c").value().has_value());
  EXPECT_FALSE(store->FetchProducer(Tp(1), "a").value().has_value());  // another partition
  EXPECT_EQ(store->FetchProducer(Tp(0), "a").value(), a);
  EXPECT_EQ(store->FetchProducer(Tp(0), "b").value(), b);
  ASSERT_TRUE(store->Fold().ok());
  EXPECT_EQ(store->FetchProducer(Tp(0), "a").value(), a);  // now from its key
  EXPECT_EQ(store->DescribeWatermarks(Tp(0)).value().overlay_producers, 0u);
  ASSERT_TRUE(CommitOps(*store, 0, 2, {{"a", std::nullopt}}).ok());
  EXPECT_FALSE(store->FetchProducer(Tp(0), "a").value().has_value());  // erased, pending
  EXPECT_EQ(store->DescribeWatermarks(Tp(0)).value().overlay_producers, 1u);
  ASSERT_TRUE(store->Fold().ok());
  EXPECT_FALSE(store->FetchProducer(Tp(0), "a").value().has_value());  // erased, folded
  EXPECT_EQ(store->DescribeWatermarks(Tp(0)).value().producer_keys, 1u);
  store.reset();
  store = CheckpointStore::Open(tmp.path, so).value();
  EXPECT_FALSE(store->FetchProducer(Tp(0), "a").value().has_value());
  EXPECT_EQ(store->FetchProducer(Tp(0), "b").value(), b);
  // A removed partition has no producers left.
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.RemovePartition(Tp(0)).ok());
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  EXPECT_FALSE(store->FetchProducer(Tp(0), "b").value().has_value());
}

TEST(CheckpointStoreFetch, LoadWithoutProducersKeepsOffsetClockAndMessages) {
  TempDir tmp;
  StoreOptions so = TinyFolds(false, nullptr);
  auto store = CheckpointStore::Open(tmp.path, so).value();
  InProgressHeader h;
  h.producer = "chunky";
  h.stamp = EpochSeq{Epoch(2), Sequence(7)};
  h.count = 3;
  h.size = 12;
  h.first_offset = Offset(40);
  for (int round = 1; round <= 30; ++round) {
    Checkpoint cp = store->BeginCheckpoint();
    ASSERT_TRUE(cp.AddPartitionChanges(Tp(0), Offset(round * 10), [&](ChangeVisitor& v) {
                    for (int i = 0; i < 50; ++i) {
                      v.ProducerChanged(ProducerState{Id((round * 37 + i) % 400),
                                                      EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(round))},
                                                      TimestampMs(round * 100 + i)});
                    }
                    if (round == 4 || round == 9) {
                      const std::uint32_t index = round == 4 ? 0 : 2;
                      const ChunkState c{index, Offset(round * 10), TimestampMs(round * 100 + 99),
                                         std::string("chunk") + std::to_string(index)};
                      v.ChunkAdded(h, ViewOf(c));
                    }
                  }).ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  }
  auto full = store->Load(Tp(0)).value();
  auto lean = store->Load(Tp(0), LoadOptions{.producers = false}).value();
  ASSERT_TRUE(full.has_value());
  ASSERT_TRUE(lean.has_value());
  EXPECT_EQ(lean->next_offset, full->next_offset);
  EXPECT_EQ(lean->checkpoint, full->checkpoint);
  EXPECT_EQ(lean->state.max_timestamp, full->state.max_timestamp);
  EXPECT_EQ(lean->state.max_timestamp, TimestampMs(30 * 100 + 49));
  EXPECT_EQ(lean->state.in_progress, full->state.in_progress);
  ASSERT_EQ(lean->state.in_progress.size(), 1u);
  EXPECT_EQ(lean->state.in_progress[0].chunks.size(), 2u);
  EXPECT_TRUE(lean->state.producers.empty());
  EXPECT_GT(full->state.producers.size(), 300u);
  EXPECT_FALSE(store->Load(Tp(5), LoadOptions{.producers = false}).value().has_value());
}

TEST(CheckpointStoreFetch, OverlayStaysUnderItsBoundWithManyProducers) {
  TempDir tmp;
  StoreOptions so;
  so.background_fold = false;  // inline: every commit runs one fold step
  so.sync = false;
  so.fold_pending_bytes = 64 << 10;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  ASSERT_TRUE(CommitOps(*store, 0, 1, {}).ok());
  ASSERT_FALSE(store->FetchProducer(Tp(0), "x").value().has_value());  // builds the overlay
  constexpr int kPerCommit = 2000;
  constexpr int kCommits = 100;  // 200k distinct producers in all
  std::size_t peak = 0;
  std::size_t delta_bytes = 0;
  std::size_t indexed = 0;
  for (int c = 0; c < kCommits; ++c) {
    std::vector<Op> ops;
    for (int i = 0; i < kPerCommit; ++i) {
      const std::string id = "svc/producer-" + std::to_string(c * kPerCommit + i);
      ops.emplace_back(id, ProducerState{id, EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(i))}, TimestampMs(c)});
    }
    ASSERT_TRUE(CommitOps(*store, 0, c + 2, ops).ok());
    // A commit this large drops the index; a fetch (as the engine makes for
    // a producer it does not hold) rebuilds it from what is still pending.
    ASSERT_FALSE(store->FetchProducer(Tp(0), "x").value().has_value());
    if (c % 3 != 1) continue;  // DescribeWatermarks counts every key: not every time
    const WatermarkLayout layout = store->DescribeWatermarks(Tp(0)).value();
    peak = std::max(peak, layout.overlay_bytes);
    delta_bytes = std::max(delta_bytes, layout.delta_bytes);
    indexed = std::max(indexed, layout.overlay_producers);
  }
  EXPECT_GE(indexed, static_cast<std::size_t>(kPerCommit));  // the overlay was in use
  // Pending deltas stay within the threshold plus what one fold step
  // cannot absorb; the overlay within a small multiple of that, while all
  // 200k producers would take ~15x more.
  const std::size_t bound = 4 * (so.fold_pending_bytes + 2 * kPerCommit * 40);
  EXPECT_LE(delta_bytes, so.fold_pending_bytes + 2 * kPerCommit * 40);
  EXPECT_LE(peak, bound);
  EXPECT_GT(static_cast<std::size_t>(kPerCommit) * kCommits * 60, 10 * bound);
  // Spot checks, from the overlay and from keys.
  for (int i : {0, 1234, 150000, 199999}) {
    const std::string id = "svc/producer-" + std::to_string(i);
    auto r = store->FetchProducer(Tp(0), id).value();
    ASSERT_TRUE(r.has_value()) << id;
    EXPECT_EQ(r->last_seen, TimestampMs(i / kPerCommit));
  }
}

// The total bound over all partitions folds partitions that are each
// under their own threshold.
TEST(CheckpointStoreFetch, TotalPendingBoundFoldsAcrossPartitions) {
  TempDir tmp;
  StoreOptions so;
  so.background_fold = false;
  so.sync = false;
  so.fold_pending_bytes = 1 << 30;
  so.fold_max_deltas = 1 << 30;
  so.fold_total_pending_bytes = 32 << 10;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  for (int round = 0; round < 40; ++round) {
    for (int p = 0; p < 8; ++p) {
      std::vector<Op> ops;
      for (int i = 0; i < 100; ++i) {
        const std::string id = "p-" + std::to_string(round * 100 + i);
        ops.emplace_back(id, ProducerState{id, std::nullopt, TimestampMs(round)});
      }
      ASSERT_TRUE(CommitOps(*store, p, round + 1, ops).ok());
    }
  }
  std::size_t total = 0;
  for (int p = 0; p < 8; ++p) total += store->DescribeWatermarks(Tp(p)).value().delta_bytes;
  // 8 x 40 deltas of ~2.5 KB were committed (~800 KB); what remains is
  // about the bound.
  EXPECT_LE(total, 3 * so.fold_total_pending_bytes);
  for (int p = 0; p < 8; ++p) EXPECT_EQ(store->Load(Tp(p)).value()->state.producers.size(), 4000u);
}

// A reader fetching while a writer commits and the background fold runs:
// watermarks only move forward, so a fetch must never see one go back or
// vanish, and ends at the last committed value.
TEST(CheckpointStoreFetch, ConcurrentFetchesSeeCommittedStatesOnly) {
  TempDir tmp;
  StoreOptions so = TinyFolds(true, nullptr);
  so.fold_pending_bytes = 2048;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  constexpr int kPool = 64;
  std::vector<Op> first;
  for (int i = 0; i < kPool; ++i) first.emplace_back(Id(i), ProducerState{Id(i), EpochSeq{Epoch(0), Sequence(0)}, TimestampMs(0)});
  ASSERT_TRUE(CommitOps(*store, 0, 1, first).ok());
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::thread reader([&] {
    std::vector<std::uint64_t> seen(kPool, 0);
    std::mt19937 rng(5);
    while (!done.load()) {
      const int i = static_cast<int>(rng() % kPool);
      auto r = store->FetchProducer(Tp(0), Id(i));
      if (!r.ok() || !r->has_value() || !(*r)->watermark || (*r)->watermark->seq.value() < seen[i]) {
        errors.fetch_add(1);
        continue;
      }
      seen[i] = (*r)->watermark->seq.value();
    }
  });
  std::mt19937 rng(6);
  std::vector<std::uint64_t> last(kPool, 0);
  for (int round = 1; round <= 400; ++round) {
    std::vector<Op> ops;
    for (int k = 0; k < 8; ++k) {
      const int i = static_cast<int>(rng() % kPool);
      last[i] = static_cast<std::uint64_t>(round);
      ops.emplace_back(Id(i), ProducerState{Id(i), EpochSeq{Epoch(0), Sequence(last[i])}, TimestampMs(round)});
    }
    ASSERT_TRUE(CommitOps(*store, 0, round + 1, ops).ok());
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kPool; ++i) {
    auto r = store->FetchProducer(Tp(0), Id(i)).value();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->watermark->seq.value(), last[i]);
  }
}

// A fold pass that begins while a Replace is being written must not write
// the replaced producers back. The Replace's WAL sync is held open (a slow
// disk) and a second thread starts a fold exactly then; found as a rare
// failure of RandomHistory/Background, where the background folder did
// the same by chance: the generation that invalidates such passes was
// bumped before the write, so a pass could see the new generation and
// the old deltas.
TEST(CheckpointStoreFetch, FoldStartedDuringAReplaceDoesNotWriteReplacedProducersBack) {
  TempDir tmp;
  auto injector = std::make_shared<StoreFaultInjector>();
  StoreOptions so;
  so.background_fold = false;
  so.sync = true;
  so.fold_pending_bytes = 1 << 30;  // nothing folds but the racing Fold()
  so.fold_max_deltas = 1 << 30;
  so.fault_injector = injector;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  const ProducerState kept{"kept", EpochSeq{Epoch(1), Sequence(1)}, TimestampMs(1)};
  const ProducerState dropped{"dropped", EpochSeq{Epoch(1), Sequence(1)}, TimestampMs(1)};
  ASSERT_TRUE(CommitOps(*store, 0, 1, {{"kept", kept}, {"dropped", dropped}}).ok());
  ASSERT_EQ(store->DescribeWatermarks(Tp(0)).value().deltas, 1u);

  injector->SetWalSyncDelay(std::chrono::milliseconds(200));
  Status fold_status;
  std::thread folder([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (injector->wal_syncs_delayed() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    fold_status = store->Fold();  // its pass begins while the Replace is mid-write
  });
  PartitionState ps;
  ps.max_timestamp = TimestampMs(2);
  ps.producers = {kept};
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.ReplacePartition(Tp(0), Offset(2), ps).ok());
  const Status commit_status = store->Commit(std::move(cp));
  folder.join();
  injector->SetWalSyncDelay(std::chrono::microseconds(0));
  ASSERT_TRUE(commit_status.ok()) << commit_status.ToString();
  ASSERT_TRUE(fold_status.ok()) << fold_status.ToString();
  ASSERT_TRUE(store->Fold().ok());
  EXPECT_FALSE(store->FetchProducer(Tp(0), "dropped").value().has_value());
  EXPECT_EQ(store->FetchProducer(Tp(0), "kept").value(), kept);
  auto l = store->Load(Tp(0)).value();
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->state.producers, std::vector<ProducerState>{kept});
}

}  // namespace
}  // namespace exactly
