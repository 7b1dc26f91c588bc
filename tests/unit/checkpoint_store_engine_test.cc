// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store with the real engine: an engine checkpointed and
// restored from the store at every checkpoint behaves exactly like one
// that never stopped (same deliveries, same state), and producer-TTL
// purges reach the store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "exactly/envelope.h"

namespace exactly {
namespace {

using unit_test::TempDir;

PartitionState Normalized(PartitionState s) {
  std::sort(s.producers.begin(), s.producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  std::sort(s.in_progress.begin(), s.in_progress.end(), [](const InProgressState& a, const InProgressState& b) {
    return std::tie(a.header.producer, a.header.stamp) < std::tie(b.header.producer, b.header.stamp);
  });
  return s;
}

// Seeded producer traffic over two partitions: new messages, re-sent
// duplicates, chunked messages (interleaved, some never finished), epoch
// bumps, unstamped records. Timestamps advance `step_ms` per record.
class Traffic {
 public:
  Traffic(std::uint32_t seed, int producers, std::int64_t step_ms)
      : rng_(seed), producers_(static_cast<std::size_t>(producers)), step_ms_(step_ms) {}

  OwnedRecord Next() {
    const std::int32_t part = static_cast<std::int32_t>(rng_() % 2);
    std::deque<OwnedRecord>& pending = pending_[static_cast<std::size_t>(part)];
    OwnedRecord r;
    if (!pending.empty() && rng_() % 3 == 0) {
      r = std::move(pending.front());
      pending.pop_front();
    } else {
      const std::size_t pi = rng_() % producers_.size();
      Producer& p = producers_[pi];
      const std::string id = "producer-" + std::to_string(pi);
      const int action = static_cast<int>(rng_() % 20);
      if (action == 0) ++p.epoch;
      if (action == 19) {
        // Unstamped: moves only the partition clock, which must survive too.
        r.value = "plain";
      } else if (action < 3 && p.seq > 0) {
        r = Single(id, p.epoch, p.seq - rng_() % std::min<std::uint64_t>(p.seq, 3));  // duplicate
      } else if (action < 6) {
        ++p.seq;
        const std::uint32_t n = 2 + static_cast<std::uint32_t>(rng_() % 3);
        std::string whole;
        for (std::uint32_t i = 0; i < n * 5; ++i) whole.push_back(static_cast<char>('a' + rng_() % 26));
        std::vector<OwnedRecord> chunks;
        for (std::uint32_t i = 0; i < n; ++i) {
          chunks.push_back(Chunk(id, p.epoch, p.seq, i, n, whole));
        }
        std::shuffle(chunks.begin(), chunks.end(), rng_);
        if (rng_() % 4 == 0) chunks.pop_back();  // never completes: abandoned later
        r = std::move(chunks.front());
        for (std::size_t i = 1; i < chunks.size(); ++i) pending.push_back(std::move(chunks[i]));
      } else {
        ++p.seq;
        r = Single(id, p.epoch, p.seq);
      }
    }
    r.topic = "t";
    r.partition = Partition(part);
    r.offset = Offset(next_offset_[static_cast<std::size_t>(part)]++);
    now_ += step_ms_;
    r.timestamp = TimestampMs(now_);
    return r;
  }

  std::int64_t NextOffset(std::int32_t part) const { return next_offset_[static_cast<std::size_t>(part)]; }

 private:
  struct Producer {
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
  };

  static OwnedRecord Single(const std::string& id, std::uint64_t e, std::uint64_t s) {
    OwnedRecord r;
    FormatStamp(StampSpec{id, EpochSeq{Epoch(e), Sequence(s)}, std::nullopt, std::nullopt, std::nullopt})
        .AppendTo(r.headers);
    r.value = id + ":" + std::to_string(e) + ":" + std::to_string(s);
    return r;
  }
  static OwnedRecord Chunk(const std::string& id, std::uint64_t e, std::uint64_t s, std::uint32_t i, std::uint32_t n,
                           const std::string& whole) {
    OwnedRecord r;
    FormatStamp(StampSpec{id, EpochSeq{Epoch(e), Sequence(s)}, ChunkInfo{i, n}, whole.size(), crc32c::Value(whole)})
        .AppendTo(r.headers);
    r.key = "k" + std::to_string(i);
    r.headers.push_back(OwnedHeader{"app", "h" + std::to_string(i)});
    r.value = whole.substr(i * 5, 5);
    return r;
  }

  std::mt19937 rng_;
  std::vector<Producer> producers_;
  std::int64_t step_ms_;
  std::int64_t now_ = 1'700'000'000'000;
  std::deque<OwnedRecord> pending_[2];
  std::int64_t next_offset_[2] = {0, 0};
};

std::string Describe(const Message& m) {
  return std::to_string(m.partition.value()) + "@" + std::to_string(m.offset.value()) + " " + std::string(m.producer) +
         " " + std::string(m.value.value_or("<null>")) + (m.key ? " key=" + std::string(*m.key) : "");
}

const std::vector<TopicPartition> kTps = {{Topic("t"), Partition(0)}, {Topic("t"), Partition(1)}};

Status CheckpointAll(CheckpointStore& store, Engine& engine, const Traffic& traffic) {
  Checkpoint cp = store.BeginCheckpoint();
  for (const auto& tp : kTps) {
    EXACTLY_RETURN_IF_ERROR(cp.AddPartition(tp, Offset(traffic.NextOffset(tp.partition.value())), engine));
  }
  return store.Commit(std::move(cp));
}

TEST(CheckpointStoreEngine, RestoredEngineMatchesOneThatNeverStopped) {
  TempDir tmp;
  EngineOptions eo;
  Engine steady(eo);
  auto restarted = std::make_unique<Engine>(eo);
  StoreOptions so;
  so.sync = false;
  so.background_fold = false;
  so.fold_max_deltas = 3;
  so.fold_step_bytes = 512;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  Traffic traffic(2024, 60, 10);
  std::size_t delivered = 0;
  for (int i = 1; i <= 3000; ++i) {
    OwnedRecord r = traffic.Next();
    std::vector<std::string> a;
    std::vector<std::string> b;
    const Outcome oa = steady.Process(r.view(), [&](const Message& m) { a.push_back(Describe(m)); });
    const Outcome ob = restarted->Process(r.view(), [&](const Message& m) { b.push_back(Describe(m)); });
    ASSERT_EQ(oa, ob) << "record " << i;
    ASSERT_EQ(a, b) << "record " << i;
    delivered += a.size();
    if (i % 97 == 0) {
      Status st = CheckpointAll(*store, *restarted, traffic);
      ASSERT_TRUE(st.ok()) << st.ToString();
      if (i % 194 == 0) {  // reopen the store too
        store.reset();
        store = CheckpointStore::Open(tmp.path, so).value();
      }
      restarted = std::make_unique<Engine>(eo);
      for (const auto& tp : kTps) {
        auto loaded = store->Load(tp);
        ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
        ASSERT_TRUE(loaded->has_value());
        EXPECT_EQ((*loaded)->next_offset, Offset(traffic.NextOffset(tp.partition.value())));
        EXPECT_EQ(Normalized((*loaded)->state), Normalized(steady.Snapshot(tp))) << tp.ToString() << " record " << i;
        Status st2 = restarted->Restore(tp, std::move((*loaded)->state));
        ASSERT_TRUE(st2.ok()) << st2.ToString();
      }
    }
  }
  EXPECT_GT(delivered, 1000u);
  EXPECT_GT(steady.InProgressCount(), 0u);
  EXPECT_TRUE(store->Verify().ok());
}

TEST(CheckpointStoreEngine, ProducerTtlPurgesReachTheStore) {
  TempDir tmp;
  EngineOptions eo;
  eo.producer_ttl_ms = 2000;  // 200 records at 10 ms each
  Engine engine(eo);
  StoreOptions so;
  so.sync = false;
  so.purge_budget = 64;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  Traffic early(1, 300, 10);
  for (int i = 0; i < 1500; ++i) {
    OwnedRecord r = early.Next();
    engine.Process(r.view(), [](const Message&) {});
  }
  ASSERT_TRUE(CheckpointAll(*store, engine, early).ok());
  auto first = store->Load(kTps[0]);
  ASSERT_TRUE(first.ok() && first->has_value());
  const std::size_t before = first.value()->state.producers.size();
  EXPECT_GT(before, 100u);
  // Later traffic from a few producers only, far in the future: the others
  // expire and are purged a budget at a time, checkpoint by checkpoint.
  OwnedRecord late;
  FormatStamp(StampSpec{"latecomer", EpochSeq{Epoch(0), Sequence(1)}, std::nullopt, std::nullopt, std::nullopt})
      .AppendTo(late.headers);
  late.topic = "t";
  late.value = "v";
  for (int round = 0; round < 20; ++round) {
    for (std::int32_t p = 0; p < 2; ++p) {
      late.partition = Partition(p);
      late.offset = Offset(early.NextOffset(p) + round);
      late.timestamp = TimestampMs(1'800'000'000'000 + round);
      engine.Process(late.view(), [](const Message&) {});
    }
    ASSERT_TRUE(CheckpointAll(*store, engine, early).ok());
    for (const auto& tp : kTps) {
      auto loaded = store->Load(tp);
      ASSERT_TRUE(loaded.ok() && loaded->has_value());
      EXPECT_EQ(Normalized(loaded.value()->state).producers, Normalized(engine.Snapshot(tp)).producers);
    }
  }
  ASSERT_TRUE(store->Fold().ok());
  for (const auto& tp : kTps) {
    auto loaded = store->Load(tp);
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    // Only the latecomer and producers holding a message in progress stay.
    EXPECT_LT(loaded.value()->state.producers.size(), before / 4) << tp.ToString();
    EXPECT_EQ(loaded.value()->state.producers.size(), engine.ProducerCount(tp));
  }
}

}  // namespace
}  // namespace exactly
