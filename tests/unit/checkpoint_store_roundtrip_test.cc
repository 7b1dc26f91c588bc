// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store: every kind of state survives a checkpoint, a reopen
// and a Load, exactly.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"

namespace exactly {
namespace {

using unit_test::TempDir;

// A scripted ChangeVisitor source, standing in for Engine::CollectChanges.
struct Changes {
  using Chunk = std::pair<InProgressHeader, ChunkState>;
  using Removed = std::pair<std::string, EpochSeq>;
  std::vector<std::variant<ProducerState, std::string, Chunk, Removed>> events;

  Changes& Set(std::string p, std::optional<EpochSeq> w, std::int64_t ts) {
    events.emplace_back(ProducerState{std::move(p), w, TimestampMs(ts)});
    return *this;
  }
  Changes& Erase(std::string p) {
    events.emplace_back(std::move(p));
    return *this;
  }
  Changes& Add(const InProgressHeader& h, ChunkState c) {
    events.emplace_back(Chunk{h, std::move(c)});
    return *this;
  }
  Changes& Remove(std::string p, EpochSeq s) {
    events.emplace_back(Removed{std::move(p), s});
    return *this;
  }
  void operator()(ChangeVisitor& v) const {
    for (const auto& e : events) {
      if (auto* p = std::get_if<ProducerState>(&e)) v.ProducerChanged(*p);
      if (auto* s = std::get_if<std::string>(&e)) v.ProducerErased(*s);
      if (auto* c = std::get_if<Chunk>(&e)) v.ChunkAdded(c->first, ViewOf(c->second));
      if (auto* r = std::get_if<Removed>(&e)) v.InProgressRemoved(r->first, r->second);
    }
  }
  // What the engine's state becomes.
  void ApplyTo(PartitionState* s) const {
    for (const auto& e : events) {
      if (auto* p = std::get_if<ProducerState>(&e)) {
        std::erase_if(s->producers, [&](const ProducerState& x) { return x.producer == p->producer; });
        s->producers.push_back(*p);
      }
      if (auto* id = std::get_if<std::string>(&e)) {
        std::erase_if(s->producers, [&](const ProducerState& x) { return x.producer == *id; });
      }
      if (auto* c = std::get_if<Chunk>(&e)) {
        auto it = std::find_if(s->in_progress.begin(), s->in_progress.end(), [&](const InProgressState& m) {
          return m.header.producer == c->first.producer && m.header.stamp == c->first.stamp;
        });
        if (it == s->in_progress.end()) {
          s->in_progress.push_back(InProgressState{c->first, {}});
          it = s->in_progress.end() - 1;
        }
        it->header = c->first;
        it->chunks.push_back(c->second);
        std::sort(it->chunks.begin(), it->chunks.end(),
                  [](const ChunkState& a, const ChunkState& b) { return a.index < b.index; });
      }
      if (auto* r = std::get_if<Removed>(&e)) {
        std::erase_if(s->in_progress, [&](const InProgressState& m) {
          return m.header.producer == r->first && m.header.stamp == r->second;
        });
      }
    }
  }
};

PartitionState Normalized(PartitionState s) {
  std::sort(s.producers.begin(), s.producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  std::sort(s.in_progress.begin(), s.in_progress.end(), [](const InProgressState& a, const InProgressState& b) {
    return std::tie(a.header.producer, a.header.stamp) < std::tie(b.header.producer, b.header.stamp);
  });
  return s;
}

EpochSeq ES(std::uint64_t e, std::uint64_t s) { return EpochSeq{Epoch(e), Sequence(s)}; }

InProgressHeader Header(std::string producer, EpochSeq stamp, std::uint32_t n, bool chunk0) {
  InProgressHeader h;
  h.producer = std::move(producer);
  h.stamp = stamp;
  h.count = n;
  h.size = 1000;
  h.crc = 0xDEADBEEF;
  h.first_offset = Offset(100);
  h.have_chunk0 = chunk0;
  if (chunk0) {
    h.key0 = "key";
    h.headers0 = {OwnedHeader{"trace", "abc"}, OwnedHeader{"nullh", std::nullopt}};
  }
  return h;
}

ChunkState Chunk(std::uint32_t i, std::int64_t off, std::optional<std::string> v) {
  return ChunkState{i, Offset(off), TimestampMs(1000 + off), std::move(v)};
}

const TopicPartition kTp{Topic("orders"), Partition(3)};

std::unique_ptr<CheckpointStore> OpenOrDie(const std::string& dir, StoreOptions o = {}) {
  auto r = CheckpointStore::Open(dir, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

void CommitChanges(CheckpointStore& store, const TopicPartition& tp, Offset next, const Changes& ch) {
  Checkpoint cp = store.BeginCheckpoint();
  ASSERT_TRUE(cp.AddPartitionChanges(tp, next, ch).ok());
  Status st = store.Commit(std::move(cp));
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(CheckpointStoreRoundTrip, FreshStoreHasMetadataAndNothingElse) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  ASSERT_TRUE(store);
  StoreInfo info = store->Info();
  EXPECT_EQ(info.format_version, kStoreFormatVersion);
  EXPECT_EQ(info.store_id.size(), 32u);
  EXPECT_FALSE(info.created_by.empty());
  EXPECT_EQ(info.written_by, info.created_by);
  EXPECT_EQ(info.last_checkpoint, 0u);
  auto parts = store->ListPartitions();
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
  auto loaded = store->Load(kTp);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  const std::string id = info.store_id;
  store.reset();
  store = OpenOrDie(tmp.Sub("s"));
  EXPECT_EQ(store->Info().store_id, id);
}

TEST(CheckpointStoreRoundTrip, EveryKindOfStateSurvivesReopen) {
  TempDir tmp;
  PartitionState model;
  model.max_timestamp = TimestampMs(INT64_MIN);
  {
    auto store = OpenOrDie(tmp.Sub("s"));
    Changes c1;
    c1.Set("alpha", ES(1, 5), 1000)
        .Set("beta", std::nullopt, 1001)  // seen, nothing delivered yet
        .Set("gamma", ES(0, 18446744073709551615ull), -5)
        .Add(Header("beta", ES(1, 1), 3, true), Chunk(0, 100, "abc"))
        .Add(Header("beta", ES(1, 1), 3, true), Chunk(2, 102, std::nullopt))
        .Add(Header("gamma", ES(1, 0), 2, false), Chunk(1, 103, std::string()));
    CommitChanges(*store, kTp, Offset(104), c1);
    c1.ApplyTo(&model);

    AppTransaction txn = store->BeginApp("counter").value();
    txn.Put("total", "42");
    txn.Put(std::string("bin\0key", 7), std::string("v\0v", 3));
    Checkpoint cp = store->BeginCheckpoint();
    Changes c2;
    c2.Set("alpha", ES(2, 0), 2000).Erase("gamma").Remove("gamma", ES(1, 0)).Set("delta", ES(7, 7), 1500);
    ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(200), c2).ok());
    ASSERT_TRUE(cp.Stage(std::move(txn)).ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
    c2.ApplyTo(&model);
    EXPECT_EQ(store->Info().last_checkpoint, 2u);
  }
  model.max_timestamp = TimestampMs(2000);  // the largest timestamp reported

  auto store = OpenOrDie(tmp.Sub("s"));
  auto loaded = store->Load(kTp);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->next_offset, Offset(200));
  EXPECT_EQ((*loaded)->checkpoint, 2u);
  EXPECT_EQ(Normalized((*loaded)->state), Normalized(model));
  auto off = store->LoadOffset(kTp);
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(**off, Offset(200));
  auto v = store->GetApp("counter", "total");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, "42");
  auto b = store->GetApp("counter", std::string("bin\0key", 7));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, std::string("v\0v", 3));
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreRoundTrip, ChunksAreRemovedWhenTheirMessageEnds) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  auto h = Header("p", ES(0, 9), 4, true);
  CommitChanges(*store, kTp, Offset(1), Changes().Set("p", ES(0, 8), 1).Add(h, Chunk(0, 1, "a")));
  CommitChanges(*store, kTp, Offset(2), Changes().Add(h, Chunk(1, 2, "b")));
  auto loaded = store->Load(kTp).value();
  ASSERT_EQ(loaded->state.in_progress.size(), 1u);
  EXPECT_EQ(loaded->state.in_progress[0].chunks.size(), 2u);
  // Delivered: removed, W advanced. A corrupt copy re-sent under the same
  // stamp starts over within the same checkpoint (removal reported first).
  CommitChanges(*store, kTp, Offset(4),
                Changes().Remove("p", ES(0, 9)).Set("p", ES(0, 8), 4).Add(h, Chunk(3, 4, "z")));
  loaded = store->Load(kTp).value();
  ASSERT_EQ(loaded->state.in_progress.size(), 1u);
  ASSERT_EQ(loaded->state.in_progress[0].chunks.size(), 1u);
  EXPECT_EQ(loaded->state.in_progress[0].chunks[0].index, 3u);
  CommitChanges(*store, kTp, Offset(5), Changes().Remove("p", ES(0, 9)));
  loaded = store->Load(kTp).value();
  EXPECT_TRUE(loaded->state.in_progress.empty());
  EXPECT_EQ(loaded->state.max_timestamp, TimestampMs(1004));
}

TEST(CheckpointStoreRoundTrip, PartitionsAreKeptApartAndListedInOrder) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  const std::vector<TopicPartition> tps = {
      {Topic("a"), Partition(0)}, {Topic("a"), Partition(2)}, {Topic("a"), Partition(10)},
      {Topic("a.b"), Partition(1)}, {Topic("ab"), Partition(0)}, {Topic("b"), Partition(0)}};
  Checkpoint cp = store->BeginCheckpoint();
  for (std::size_t i = tps.size(); i-- > 0;) {
    ASSERT_TRUE(cp.AddPartitionChanges(tps[i], Offset(static_cast<std::int64_t>(i)),
                                       Changes().Set("p" + std::to_string(i), ES(i, i), 1))
                    .ok());
  }
  EXPECT_EQ(cp.AddPartitionChanges(tps[0], Offset(0), Changes()).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  auto listed = store->ListPartitions();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, tps);
  for (std::size_t i = 0; i < tps.size(); ++i) {
    auto l = store->Load(tps[i]).value();
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(l->next_offset, Offset(static_cast<std::int64_t>(i)));
    ASSERT_EQ(l->state.producers.size(), 1u);
    EXPECT_EQ(l->state.producers[0].producer, "p" + std::to_string(i));
  }
}

TEST(CheckpointStoreRoundTrip, ReplaceAndRemovePartition) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  CommitChanges(*store, kTp, Offset(1), Changes().Set("old", ES(1, 1), 1).Add(Header("old", ES(1, 2), 2, true),
                                                                            Chunk(0, 1, "x")));
  PartitionState full;
  full.max_timestamp = TimestampMs(77);
  for (int i = 0; i < 3000; ++i) {
    full.producers.push_back(ProducerState{"prod-" + std::to_string(i), ES(1, static_cast<std::uint64_t>(i)),
                                           TimestampMs(i)});
  }
  full.in_progress.push_back(InProgressState{Header("prod-7", ES(2, 0), 3, true), {Chunk(0, 5, "c0")}});
  {
    Checkpoint cp = store->BeginCheckpoint();
    ASSERT_TRUE(cp.ReplacePartition(kTp, Offset(50), full).ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  }
  auto l = store->Load(kTp).value();
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->next_offset, Offset(50));
  EXPECT_EQ(Normalized(l->state), Normalized(full));

  // Duplicate producers are refused.
  PartitionState dup;
  dup.producers = {ProducerState{"x", std::nullopt, TimestampMs(0)}, ProducerState{"x", std::nullopt, TimestampMs(1)}};
  Checkpoint bad = store->BeginCheckpoint();
  EXPECT_EQ(bad.ReplacePartition(kTp, Offset(0), dup).code(), Code::kInvalidArgument);

  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.RemovePartition(kTp).ok());
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  EXPECT_FALSE(store->Load(kTp).value().has_value());
  EXPECT_TRUE(store->ListPartitions().value().empty());
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreRoundTrip, ExplicitMaxTimestampIsKept) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(9), Changes().Set("p", ES(0, 0), 5), TimestampMs(900)).ok());
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  store.reset();
  store = OpenOrDie(tmp.Sub("s"));
  // Carried forward by a later checkpoint that reports nothing newer.
  CommitChanges(*store, kTp, Offset(10), Changes().Set("q", ES(0, 0), 6));
  EXPECT_EQ(store->Load(kTp).value()->state.max_timestamp, TimestampMs(900));
}

TEST(CheckpointStoreRoundTrip, CommittedCheckpointCannotBeReused) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("s"));
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  EXPECT_EQ(store->Commit(std::move(cp)).code(), Code::kFailedPrecondition);  // NOLINT: use after move on purpose
  auto other = OpenOrDie(tmp.Sub("t"));
  Checkpoint foreign = other->BeginCheckpoint();
  EXPECT_EQ(store->Commit(std::move(foreign)).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace exactly
