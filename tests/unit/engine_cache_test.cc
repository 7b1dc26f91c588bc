// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The engine's bounded producer cache: an engine that evicts producers to a
// ProducerSource and fetches them back decides exactly as an engine that
// keeps every producer, whatever the budget, the checkpoint schedule, the
// delay between building and committing a checkpoint, and restarts from the
// store. Eviction never takes a producer whose state is not committed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine_test_support.h"
#include "exactly/engine.h"
#include "exactly/producer_source.h"

namespace exactly::test {
namespace {

const TopicPartition kTp{Topic("t"), Partition(0)};

// A store of committed producer states: what CheckpointStore keeps, without
// RocksDB. Changes are collected into a pending checkpoint and become
// visible to FetchProducer only when it is committed.
class MemoryStore final : public ProducerSource {
 public:
  struct Pending {
    std::map<std::pair<std::string, std::string>, std::optional<ProducerState>> ops;
    std::vector<std::pair<TopicPartition, std::uint64_t>> collections;
  };

  Result<std::optional<ProducerState>> FetchProducer(const TopicPartition& tp,
                                                     std::string_view producer) const override {
    ++fetches;
    if (fail) return Status::IoError("injected read failure");
    auto it = committed.find({tp.ToString(), std::string(producer)});
    if (it == committed.end()) return std::optional<ProducerState>();
    return std::optional<ProducerState>(it->second);
  }

  // Collects every partition of `engine` into a new pending checkpoint.
  Pending Collect(Engine& engine) {
    Pending p;
    for (const TopicPartition& tp : engine.Partitions()) {
      Visitor v(tp.ToString(), &p);
      p.collections.emplace_back(tp, engine.CollectChanges(tp, v));
    }
    return p;
  }

  void Commit(Engine& engine, const Pending& p) {
    for (const auto& [key, op] : p.ops) {
      if (op) {
        committed[key] = *op;
      } else {
        committed.erase(key);
      }
    }
    for (const auto& [tp, collection] : p.collections) engine.MarkCommitted(tp, collection);
  }

  std::map<std::pair<std::string, std::string>, ProducerState> committed;
  mutable std::uint64_t fetches = 0;
  bool fail = false;

 private:
  class Visitor final : public ChangeVisitor {
   public:
    Visitor(std::string tp, Pending* p) : tp_(std::move(tp)), p_(p) {}
    void ProducerChanged(const ProducerState& s) override { p_->ops[{tp_, s.producer}] = s; }
    void ProducerErased(std::string_view producer) override { p_->ops[{tp_, std::string(producer)}] = std::nullopt; }
    void ChunkAdded(const InProgressHeader&, const ChunkView&) override {}
    void InProgressRemoved(std::string_view, EpochSeq) override {}

   private:
    std::string tp_;
    Pending* p_;
  };
};

struct Schedule {
  std::size_t budget = 3;
  int checkpoint_every = 25;  // records, on average
  int commit_delay = 10;      // records between building and committing, at most
  int restart_percent = 10;   // of commits followed by a restart from the store
  bool purge = true;
};

// Runs `records` through an engine with a producer cache over a MemoryStore
// and compares every step with `expected`.
void RunPaged(EngineOptions options, const Schedule& sched, const std::vector<GenRecord>& records,
              const std::vector<Step>& expected, std::uint64_t seed, Counters* totals) {
  SCOPED_TRACE("schedule seed " + std::to_string(seed));
  options.max_resident_producers = sched.budget;
  std::mt19937_64 rng(seed);
  MemoryStore store;
  RecordingSink sink;
  auto engine = std::make_unique<Engine>(options, &sink);
  engine->set_producer_source(&store);
  // Checkpoints built and not yet committed, oldest first, each with the
  // record count at which it commits: up to three in flight, so that some
  // producers are always reported in a collection that is not committed.
  std::deque<std::pair<MemoryStore::Pending, std::size_t>> in_flight;
  int next_checkpoint = 1 + static_cast<int>(rng() % (2 * sched.checkpoint_every));

  for (std::size_t i = 0; i < records.size(); ++i) {
    while (!in_flight.empty() && in_flight.front().second <= i) {
      store.Commit(*engine, in_flight.front().first);
      in_flight.pop_front();
      if (in_flight.empty() && static_cast<int>(rng() % 100) < sched.restart_percent) {
        // Everything is committed right now, so the store plus the
        // in-progress messages (the store keeps those too) are the state.
        MemoryStore::Pending rest = store.Collect(*engine);
        store.Commit(*engine, rest);
        auto fresh = std::make_unique<Engine>(options, &sink);
        fresh->set_producer_source(&store);
        for (const TopicPartition& tp : engine->Partitions()) {
          PartitionState s = engine->Snapshot(tp);
          s.producers.clear();
          s.producers_omitted = true;
          const Status st = fresh->Restore(tp, std::move(s));
          ASSERT_TRUE(st.ok()) << "restore at record " << i << ": " << st.ToString();
        }
        *totals += engine->counters();
        engine = std::move(fresh);
      }
    }
    if (in_flight.size() < 3 && --next_checkpoint <= 0) {
      if (sched.purge) {
        for (const TopicPartition& tp : engine->Partitions()) engine->PurgeExpired(tp, 8);
      }
      const std::size_t at = std::max(i, in_flight.empty() ? 0 : in_flight.back().second) +
                             static_cast<std::size_t>(rng() % (sched.commit_delay + 1));
      in_flight.emplace_back(store.Collect(*engine), at);
      next_checkpoint = 1 + static_cast<int>(rng() % (2 * sched.checkpoint_every));
    }
    const Step got = Run(*engine, sink, records[i].record);
    ASSERT_EQ(got, expected[i]) << "record #" << i << " at offset " << records[i].record.offset.value();
  }
  *totals += engine->counters();
}

TEST(EngineCache, PagedEngineDecidesAsAnEngineThatKeepsEveryProducer) {
  struct Case {
    const char* name;
    EngineOptions options;
    TrafficOptions traffic;
    Schedule sched;
  };
  std::vector<Case> cases;
  {
    Case c{"tiny budget, many producers", {}, {}, {}};
    c.traffic.producers_per_partition = 12;
    c.sched.budget = 2;
    cases.push_back(c);
  }
  {
    Case c{"small bounds and ttl, committed at once", {}, {}, {}};
    c.options.max_chunk_span = 15;
    c.options.max_buffer_bytes = 120;
    c.options.producer_ttl_ms = 3000;
    c.traffic.pause_percent = 2;
    c.traffic.ts_pause = 5000;
    c.traffic.producers_per_partition = 8;
    c.sched.budget = 4;
    c.sched.commit_delay = 0;
    cases.push_back(c);
  }
  {
    Case c{"long commit delays, frequent restarts", {}, {}, {}};
    c.traffic.producers_per_partition = 10;
    c.sched.budget = 6;
    c.sched.checkpoint_every = 8;
    c.sched.commit_delay = 40;
    c.sched.restart_percent = 40;
    cases.push_back(c);
  }
  Counters totals;
  for (const Case& c : cases) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(std::string(c.name) + ", traffic seed " + std::to_string(seed));
      TrafficOptions t = c.traffic;
      t.seed = seed;
      t.records_per_partition = 700;
      const std::vector<GenRecord> records = GenerateTraffic(t);
      const std::vector<Step> expected = Uninterrupted(c.options, records);
      RunPaged(c.options, c.sched, records, expected, seed * 104729, &totals);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  // The cache was exercised, not bypassed.
  EXPECT_GT(totals.producers_evicted, 1000u);
  EXPECT_GT(totals.producers_fetched, 1000u);
  EXPECT_GT(totals.producer_cache_hits, totals.producer_cache_misses);
}

// An engine with a producer cache of `budget` over a MemoryStore.
struct CachedEngine {
  explicit CachedEngine(std::size_t budget) : h(Options(budget)) { h.engine.set_producer_source(&store); }
  static EngineOptions Options(std::size_t budget) {
    EngineOptions o;
    o.max_resident_producers = budget;
    return o;
  }
  MemoryStore store;  // declared first: outlives the engine that reads it
  EngineHarness h;
};

// Feeds one single-record message.
Outcome Send(EngineHarness& h, std::int64_t offset, std::string_view producer, std::uint64_t seq) {
  return h.Feed(RecordBuilder(offset).Value("v").Stamp(producer, 0, seq).Build());
}

TEST(EngineCache, EvictsOnlyProducersOfACommittedCollection) {
  CachedEngine cached(1);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  ASSERT_EQ(Send(h, 1, "a", 1), Outcome::kDelivered);
  ASSERT_EQ(Send(h, 2, "b", 1), Outcome::kDelivered);
  const MemoryStore::Pending first = store.Collect(h.engine);
  ASSERT_EQ(Send(h, 3, "c", 1), Outcome::kDelivered);
  const MemoryStore::Pending second = store.Collect(h.engine);
  ASSERT_EQ(second.collections.size(), 1u);

  // Only the first collection is committed: c, reported in the second, stays.
  store.Commit(h.engine, first);
  EXPECT_EQ(h.engine.ProducerCount(kTp), 1u);
  EXPECT_EQ(h.engine.counters().producers_evicted, 2u);
  EXPECT_EQ(h.engine.counters().producer_cache_hits, 0u);
  // a was evicted and comes back from the store with its watermark.
  EXPECT_EQ(Send(h, 4, "a", 1), Outcome::kDuplicate);
  EXPECT_EQ(h.engine.counters().producers_fetched, 1u);
  // c was not committed: it must not be looked up (its state is in memory).
  EXPECT_EQ(Send(h, 5, "c", 1), Outcome::kDuplicate);
  EXPECT_EQ(h.engine.counters().producer_cache_hits, 1u);
  EXPECT_EQ(h.engine.counters().producer_cache_misses, 1u);
}

TEST(EngineCache, NeverEvictsAProducerChangedSinceItsCollection) {
  CachedEngine cached(1);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  ASSERT_EQ(Send(h, 1, "a", 1), Outcome::kDelivered);
  ASSERT_EQ(Send(h, 2, "b", 1), Outcome::kDelivered);
  const MemoryStore::Pending p = store.Collect(h.engine);
  ASSERT_EQ(Send(h, 3, "a", 2), Outcome::kDelivered);  // a is dirty again
  ASSERT_EQ(Send(h, 4, "b", 2), Outcome::kDelivered);  // and b
  store.Commit(h.engine, p);
  EXPECT_EQ(h.engine.ProducerCount(kTp), 2u) << "both changed after the committed collection";
  EXPECT_EQ(Send(h, 5, "a", 2), Outcome::kDuplicate);
  EXPECT_EQ(Send(h, 6, "b", 2), Outcome::kDuplicate);
  EXPECT_EQ(h.engine.counters().producer_cache_misses, 0u);
}

TEST(EngineCache, NeverEvictsAProducerWithAMessageInProgress) {
  CachedEngine cached(1);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  const auto chunks = MakeChunks("p", 0, 1, {"ab", "cd"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  ASSERT_EQ(Send(h, 10, "q", 1), Outcome::kDelivered);
  store.Commit(h.engine, store.Collect(h.engine));
  EXPECT_EQ(h.engine.ProducerCount(kTp), 1u) << "q goes, p stays with its message";
  ASSERT_EQ(h.Feed(chunks[1]), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered.back().value, "abcd");
  EXPECT_EQ(h.engine.counters().producer_cache_misses, 0u);
}

TEST(EngineCache, KeepsEveryProducerWithoutASourceOrABudget) {
  for (bool with_source : {false, true}) {
    EngineOptions o;
    o.max_resident_producers = with_source ? 0 : 1;
    EngineHarness h(o);
    MemoryStore store;
    if (with_source) h.engine.set_producer_source(&store);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(Send(h, i + 1, "p" + std::to_string(i), 1), Outcome::kDelivered);
    store.Commit(h.engine, store.Collect(h.engine));
    EXPECT_EQ(h.engine.ProducerCount(kTp), 5u) << "with_source=" << with_source;
    EXPECT_EQ(store.fetches, 0u);
  }
}

TEST(EngineCache, SharesTheEvictionBetweenPartitions) {
  CachedEngine cached(40);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(h.Feed(RecordBuilder(i + 1).OnPartition(0).Value("v").Stamp("a" + std::to_string(i), 0, 1).Build()),
              Outcome::kDelivered);
    ASSERT_EQ(h.Feed(RecordBuilder(i + 1).OnPartition(1).Value("v").Stamp("b" + std::to_string(i), 0, 1).Build()),
              Outcome::kDelivered);
  }
  store.Commit(h.engine, store.Collect(h.engine));
  const TopicPartition p1{Topic("t"), Partition(1)};
  // One commit over both partitions: the first gives up half the excess,
  // the second its share of what is left; nobody is emptied.
  EXPECT_GT(h.engine.ProducerCount(kTp), 0u);
  EXPECT_GT(h.engine.ProducerCount(p1), 0u);
  // Commits with nothing new converge on the budget.
  for (int round = 0; round < 10; ++round) store.Commit(h.engine, store.Collect(h.engine));
  EXPECT_LE(h.engine.TotalProducerCount(), 40u);
  EXPECT_GE(h.engine.TotalProducerCount(), 38u) << "evicts only the excess";
}

TEST(EngineCache, AFailedFetchLeavesTheRecordUndecided) {
  CachedEngine cached(1);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  ASSERT_EQ(Send(h, 1, "a", 1), Outcome::kDelivered);
  ASSERT_EQ(Send(h, 2, "b", 1), Outcome::kDelivered);
  store.Commit(h.engine, store.Collect(h.engine));
  ASSERT_EQ(h.engine.ProducerCount(kTp), 1u);
  store.fail = true;
  const std::size_t delivered = h.delivered.size();
  const std::size_t dead = h.sink.records.size();
  // One of a, b was evicted; a record of each: the evicted one fails.
  const Outcome oa = Send(h, 3, "a", 2);
  const Outcome ob = Send(h, 4, "b", 2);
  ASSERT_TRUE((oa == Outcome::kFailed) != (ob == Outcome::kFailed)) << OutcomeName(oa) << " " << OutcomeName(ob);
  EXPECT_EQ(h.engine.failure().code(), Code::kIoError);
  EXPECT_NE(h.engine.failure().ToString().find("t[0]"), std::string::npos) << h.engine.failure().ToString();
  EXPECT_EQ(h.delivered.size(), delivered + 1) << "only the resident producer's record";
  EXPECT_EQ(h.sink.records.size(), dead) << "an undecided record is not dead-lettered";
  store.fail = false;
  EXPECT_EQ(oa == Outcome::kFailed ? Send(h, 3, "a", 2) : Send(h, 4, "b", 2), Outcome::kDelivered);
}

TEST(EngineCache, ABatchStopsAtTheFirstUndecidedRecord) {
  CachedEngine cached(1);
  EngineHarness& h = cached.h;
  MemoryStore& store = cached.store;
  ASSERT_EQ(Send(h, 1, "a", 1), Outcome::kDelivered);
  store.Commit(h.engine, store.Collect(h.engine));
  ASSERT_EQ(Send(h, 2, "b", 1), Outcome::kDelivered);
  store.Commit(h.engine, store.Collect(h.engine));  // evicts a (b was just used)
  ASSERT_EQ(h.engine.ProducerCount(kTp), 1u);
  store.fail = true;
  const std::vector<OwnedRecord> records = {RecordBuilder(3).Value("v").Stamp("b", 0, 2).Build(),
                                            RecordBuilder(4).Value("v").Stamp("a", 0, 2).Build(),
                                            RecordBuilder(5).Value("v").Stamp("b", 0, 3).Build()};
  std::vector<RecordView> views;
  for (const OwnedRecord& r : records) views.push_back(r.view());
  std::vector<Outcome> outcomes(3, Outcome::kDuplicate);
  std::size_t delivered = 0;
  EXPECT_EQ(h.engine.ProcessBatch(views, [&](const Message&) { ++delivered; }, outcomes), 1u);
  EXPECT_EQ(outcomes[0], Outcome::kDelivered);
  EXPECT_EQ(outcomes[1], Outcome::kFailed);
  EXPECT_EQ(outcomes[2], Outcome::kDuplicate) << "not touched";
  EXPECT_EQ(delivered, 1u) << "nothing after the undecided record";
}

TEST(EngineCache, RestoreWithoutProducersFetchesOwnersOfMessagesInProgress) {
  const auto chunks = MakeChunks("p", 0, 5, {"ab", "cd", "ef"}, 1);
  MemoryStore store;
  store.committed[{kTp.ToString(), "p"}] =
      ProducerState{"p", EpochSeq{Epoch(0), Sequence(4)}, TimestampMs(kBaseTimestamp)};
  PartitionState s;
  s.producers_omitted = true;
  s.max_timestamp = TimestampMs(kBaseTimestamp + 1);
  InProgressState m;
  m.header.producer = "p";
  m.header.stamp = EpochSeq{Epoch(0), Sequence(5)};
  m.header.count = 3;
  m.header.size = 6;
  m.header.crc = crc32c::Value("abcdef");
  m.header.first_offset = Offset(1);
  m.chunks.push_back(ChunkState{1, Offset(2), TimestampMs(kBaseTimestamp + 2), std::string("cd")});
  s.in_progress.push_back(m);

  {
    Engine engine;
    const Status st = engine.Restore(kTp, s);
    EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  }
  {
    Engine engine;
    engine.set_producer_source(&store);
    PartitionState unknown = s;
    unknown.in_progress[0].header.producer = "nobody";
    const Status st = engine.Restore(kTp, unknown);
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
  }
  {
    Engine engine;
    engine.set_producer_source(&store);
    store.fail = true;
    EXPECT_EQ(engine.Restore(kTp, s).code(), Code::kIoError);
    store.fail = false;
  }
  EngineHarness h;
  h.engine.set_producer_source(&store);
  ASSERT_TRUE(h.engine.Restore(kTp, s).ok());
  EXPECT_EQ(h.engine.ProducerCount(kTp), 1u);
  EXPECT_TRUE(h.engine.Snapshot(kTp).producers_omitted);
  EXPECT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(chunks[2]), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "abcdef");
  // A producer the engine never held is looked up in the store.
  store.committed[{kTp.ToString(), "q"}] =
      ProducerState{"q", EpochSeq{Epoch(2), Sequence(9)}, TimestampMs(kBaseTimestamp)};
  EXPECT_EQ(h.Feed(RecordBuilder(9).Value("v").Stamp("q", 1, 100).Build()), Outcome::kStale);
  EXPECT_EQ(h.Feed(RecordBuilder(10).Value("v").Stamp("r", 0, 1).Build()), Outcome::kDelivered);
  EXPECT_EQ(h.engine.counters().producer_cache_misses, 3u);
  EXPECT_EQ(h.engine.counters().producers_fetched, 2u);
}

}  // namespace
}  // namespace exactly::test
