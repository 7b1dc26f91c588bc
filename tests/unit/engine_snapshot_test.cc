// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Snapshots, restores and change collection: a run that is snapshotted and
// restored into fresh engines at random points (directly or through the
// encoded bytes) decides exactly as an uninterrupted run; the changes
// reported by CollectChanges rebuild the state Snapshot() gives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine_test_support.h"
#include "exactly/engine.h"
#include "exactly/partition_state.h"

namespace exactly {

// Found by argument-dependent lookup, for readable failure messages.
static void PrintTo(const PartitionState& s, std::ostream* os) {
  *os << "{max_ts=" << s.max_timestamp.value() << " producers=[";
  for (const auto& p : s.producers) {
    *os << p.producer << ":";
    if (p.watermark) {
      *os << "(" << p.watermark->epoch.value() << "," << p.watermark->seq.value() << ")";
    } else {
      *os << "none";
    }
    *os << "@" << p.last_seen.value() << " ";
  }
  *os << "] in_progress=[";
  for (const auto& p : s.in_progress) {
    *os << p.header.producer << "(" << p.header.stamp.epoch.value() << "," << p.header.stamp.seq.value() << ") n="
        << p.header.count << " first=" << p.header.first_offset.value() << " chunk0=" << p.header.have_chunk0
        << " chunks={";
    for (const auto& c : p.chunks) *os << c.index << "@" << c.offset.value() << " ";
    *os << "} ";
  }
  *os << "]}";
}

}  // namespace exactly

namespace exactly::test {
namespace {

using ::testing::IsEmpty;

TopicPartition TpOf(const OwnedRecord& r) { return TopicPartition{Topic(r.topic), r.partition}; }

enum class RestoreVia { kStruct, kBytes };

// Processes `records`, moving the state into a fresh engine at random
// points; compares every step with `expected`.
void RunWithRestores(const EngineOptions& options, const std::vector<GenRecord>& records,
                     const std::vector<Step>& expected, std::uint64_t seed, RestoreVia via, int* restores) {
  std::mt19937_64 rng(seed);
  RecordingSink sink;
  auto engine = std::make_unique<Engine>(options, &sink);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (rng() % 40 == 0) {
      ++*restores;
      auto fresh = std::make_unique<Engine>(options, &sink);
      for (const TopicPartition& tp : engine->Partitions()) {
        PartitionState state = engine->Snapshot(tp);
        if (via == RestoreVia::kBytes) {
          const std::string bytes = EncodePartitionState(state);
          PartitionState decoded;
          const Status st = DecodePartitionState(bytes, &decoded);
          ASSERT_TRUE(st.ok()) << st.ToString();
          ASSERT_EQ(decoded, state) << "encode/decode round trip";
          state = std::move(decoded);
        }
        const PartitionState before = state;
        const Status st = fresh->Restore(tp, std::move(state));
        ASSERT_TRUE(st.ok()) << "at record " << i << ": " << st.ToString();
        ASSERT_EQ(Normalised(fresh->Snapshot(tp)), Normalised(before));
      }
      EXPECT_EQ(fresh->BufferedBytes(), engine->BufferedBytes());
      EXPECT_EQ(fresh->InProgressCount(), engine->InProgressCount());
      EXPECT_EQ(fresh->TotalProducerCount(), engine->TotalProducerCount());
      engine = std::move(fresh);
    }
    const Step got = Run(*engine, sink, records[i].record);
    ASSERT_EQ(got, expected[i]) << "record #" << i << " at offset " << records[i].record.offset.value();
  }
}

struct Variant {
  const char* name;
  EngineOptions options;
  TrafficOptions traffic;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v;
  {
    Variant x{"default bounds", {}, {}};
    v.push_back(x);
  }
  {
    Variant x{"small bounds and ttl", {}, {}};
    x.options.max_chunk_span = 15;
    x.options.max_buffer_bytes = 120;
    x.options.producer_ttl_ms = 3000;
    x.traffic.pause_percent = 2;
    x.traffic.ts_pause = 5000;
    x.traffic.max_payload = 100;
    v.push_back(x);
  }
  {
    Variant x{"drop unstamped", {}, {}};
    x.options.unstamped = UnstampedPolicy::kDrop;
    x.options.max_chunk_span = 30;
    v.push_back(x);
  }
  return v;
}

void SnapshotRestoreMatchesUninterruptedRun(RestoreVia via) {
  int restores = 0;
  for (const Variant& variant : Variants()) {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
      SCOPED_TRACE(std::string(variant.name) + ", seed " + std::to_string(seed));
      TrafficOptions t = variant.traffic;
      t.seed = seed;
      t.records_per_partition = 800;
      const std::vector<GenRecord> records = GenerateTraffic(t);
      const std::vector<Step> expected = Uninterrupted(variant.options, records);
      RunWithRestores(variant.options, records, expected, seed * 7919, via, &restores);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(restores, 100);
}

TEST(EngineSnapshot, RestoredEnginesDecideAsAnUninterruptedRun) {
  SnapshotRestoreMatchesUninterruptedRun(RestoreVia::kStruct);
}

TEST(EngineSnapshot, RestoredFromEncodedBytesDecideAsAnUninterruptedRun) {
  SnapshotRestoreMatchesUninterruptedRun(RestoreVia::kBytes);
}

TEST(EngineSnapshot, SnapshotOfUnknownPartitionIsEmpty) {
  Engine engine;
  const PartitionState s = engine.Snapshot(TopicPartition{Topic("t"), Partition(0)});
  EXPECT_THAT(s.producers, IsEmpty());
  EXPECT_THAT(s.in_progress, IsEmpty());
  EXPECT_FALSE(engine.HasPartition(TopicPartition{Topic("t"), Partition(0)}));
}

TEST(EngineSnapshot, SnapshotHoldsWatermarksChunksAndMaxTimestamp) {
  EngineHarness h;
  h.Feed(RecordBuilder(1).Ts(500).Value("v").Stamp("p", 2, 3).Build());
  auto chunks = MakeChunks("q", 1, 1, {"ab", std::nullopt, "cd"}, 2);
  chunks[0].timestamp = TimestampMs(900);
  chunks[1].timestamp = TimestampMs(700);
  h.Feed(chunks[0]);
  h.Feed(chunks[1]);
  const PartitionState s = Normalised(h.engine.Snapshot(TopicPartition{Topic("t"), Partition(0)}));
  ASSERT_EQ(s.producers.size(), 2u);
  EXPECT_EQ(s.producers[0].producer, "p");
  EXPECT_EQ(s.producers[0].watermark, (EpochSeq{Epoch(2), Sequence(3)}));
  EXPECT_EQ(s.producers[0].last_seen, TimestampMs(500));
  EXPECT_EQ(s.producers[1].producer, "q");
  EXPECT_EQ(s.producers[1].watermark, std::nullopt);
  EXPECT_EQ(s.producers[1].last_seen, TimestampMs(900));
  EXPECT_EQ(s.max_timestamp, TimestampMs(900));
  ASSERT_EQ(s.in_progress.size(), 1u);
  const InProgressState& p = s.in_progress[0];
  EXPECT_EQ(p.header.producer, "q");
  EXPECT_EQ(p.header.stamp, (EpochSeq{Epoch(1), Sequence(1)}));
  EXPECT_EQ(p.header.count, 3u);
  EXPECT_EQ(p.header.size, 4u);
  EXPECT_EQ(p.header.first_offset, Offset(2));
  EXPECT_TRUE(p.header.have_chunk0);
  EXPECT_EQ(p.header.key0, "key-0");
  // Chunk 0's headers are kept (minus the chunk fields or not; at least the
  // application's own header is there).
  EXPECT_TRUE(std::any_of(p.header.headers0.begin(), p.header.headers0.end(),
                          [](const OwnedHeader& hd) { return hd.name == "x-chunk" && hd.value == "0"; }));
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].index, 0u);
  EXPECT_EQ(p.chunks[0].offset, Offset(2));
  EXPECT_EQ(p.chunks[0].timestamp, TimestampMs(900));
  EXPECT_EQ(p.chunks[0].value, "ab");
  EXPECT_EQ(p.chunks[1].index, 1u);
  EXPECT_EQ(p.chunks[1].value.value_or(""), "");
}

TEST(EngineSnapshot, RestoreReplacesThePartitionState) {
  EngineHarness h;
  const TopicPartition tp{Topic("t"), Partition(0)};
  h.Feed(RecordBuilder(1).Value("v").Stamp("p", 0, 10).Build());
  PartitionState s;
  s.producers.push_back(ProducerState{"q", EpochSeq{Epoch(0), Sequence(4)}, TimestampMs(kBaseTimestamp)});
  ASSERT_TRUE(h.engine.Restore(tp, s).ok());
  EXPECT_EQ(h.engine.ProducerCount(tp), 1u);
  EXPECT_EQ(h.Feed(RecordBuilder(2).Value("v").Stamp("q", 0, 4).Build()), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed(RecordBuilder(3).Value("v").Stamp("p", 0, 1).Build()), Outcome::kDelivered)
      << "p is no longer known";
}

TEST(EngineSnapshot, RestoreOfInProgressMessageContinuesIt) {
  const TopicPartition tp{Topic("t"), Partition(0)};
  auto chunks = MakeChunks("p", 0, 3, {"hello ", "wor", "ld"}, 10);
  chunks[2].offset = Offset(10);
  chunks[0].offset = Offset(11);
  chunks[1].offset = Offset(12);
  EngineHarness a;
  a.Feed(chunks[2]);
  a.Feed(chunks[0]);
  EngineHarness b;
  ASSERT_TRUE(b.engine.Restore(tp, a.engine.Snapshot(tp)).ok());
  EXPECT_EQ(b.engine.BufferedBytes(), 2u + HeldBytes(chunks[0]));
  EXPECT_EQ(b.engine.BufferedBytes(), a.engine.BufferedBytes()) << "a restore holds what the snapshot held";
  EXPECT_EQ(b.engine.InProgressCount(), 1u);
  EXPECT_EQ(b.Feed(chunks[1]), Outcome::kDelivered);
  ASSERT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(b.delivered[0].value, "hello world");
  EXPECT_EQ(b.delivered[0].key, "key-0");
  EXPECT_EQ(b.delivered[0].offset, Offset(12));
  EXPECT_EQ(a.Feed(chunks[1]), Outcome::kDelivered);
  ASSERT_EQ(a.delivered.size(), 1u);
  EXPECT_EQ(b.delivered[0], a.delivered[0]);
}

// Inconsistent states are rejected with kCorruption and leave the partition
// empty.
TEST(EngineSnapshot, RestoreRejectsInconsistentStates) {
  const TopicPartition tp{Topic("t"), Partition(0)};
  auto valid = [] {
    EngineHarness h;
    auto chunks = MakeChunks("p", 0, 3, {"ab", "cd", "ef"}, 10);
    h.Feed(RecordBuilder(1).Value("v").Stamp("p", 0, 1).Build());
    h.Feed(chunks[0]);
    h.Feed(chunks[2]);
    return h.engine.Snapshot(TopicPartition{Topic("t"), Partition(0)});
  };
  {
    Engine e;
    ASSERT_TRUE(e.Restore(tp, valid()).ok());
  }
  std::vector<std::pair<const char*, PartitionState>> bad;
  {
    PartitionState s = valid();
    s.producers.push_back(s.producers[0]);
    bad.emplace_back("duplicate producer", s);
  }
  {
    PartitionState s = valid();
    s.producers[0].producer = "bad id";
    s.in_progress[0].header.producer = "bad id";
    bad.emplace_back("invalid producer id", s);
  }
  {
    PartitionState s = valid();
    s.in_progress[0].chunks[1].index = 3;
    bad.emplace_back("chunk index >= count", s);
  }
  {
    PartitionState s = valid();
    s.in_progress[0].chunks[1].index = 0;
    bad.emplace_back("repeated chunk index", s);
  }
  {
    PartitionState s = valid();
    std::swap(s.in_progress[0].chunks[0], s.in_progress[0].chunks[1]);
    bad.emplace_back("chunks not in ascending index order", s);
  }
  {
    PartitionState s = valid();
    s.in_progress[0].header.count = 0;
    bad.emplace_back("count 0", s);
  }
  {
    PartitionState s = valid();
    s.in_progress.push_back(s.in_progress[0]);
    s.in_progress[1].header.stamp.seq = Sequence(4);
    bad.emplace_back("two messages in progress for one producer", s);
  }
  {
    PartitionState s = valid();
    s.in_progress[0].header.stamp = EpochSeq{Epoch(0), Sequence(1)};
    bad.emplace_back("message in progress not above the watermark", s);
  }
  for (auto& [what, state] : bad) {
    SCOPED_TRACE(what);
    Engine e;
    const Status st = e.Restore(tp, std::move(state));
    EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    EXPECT_EQ(e.ProducerCount(tp), 0u);
    EXPECT_EQ(e.InProgressCount(), 0u);
    EXPECT_EQ(e.BufferedBytes(), 0u);
  }
}

TEST(EngineSnapshot, DropPartitionForgetsThePartitionWithoutDeadLetters) {
  EngineHarness h;
  const TopicPartition tp0{Topic("t"), Partition(0)};
  const TopicPartition tp1{Topic("t"), Partition(1)};
  h.Feed(RecordBuilder(1).Value("v").Stamp("p", 0, 5).Build());
  const OwnedRecord held = MakeChunks("p", 0, 6, {"ab", "cd"}, 2)[0];
  h.Feed(held);
  OwnedRecord other = RecordBuilder(1).OnPartition(1).Value("v").Stamp("p", 0, 5).Build();
  h.Feed(other);
  ASSERT_TRUE(h.engine.HasPartition(tp0));
  ASSERT_EQ(h.engine.BufferedBytes(), HeldBytes(held));
  h.engine.DropPartition(tp0);
  EXPECT_FALSE(h.engine.HasPartition(tp0));
  EXPECT_TRUE(h.engine.HasPartition(tp1));
  EXPECT_EQ(h.engine.Partitions(), std::vector<TopicPartition>{tp1});
  EXPECT_EQ(h.engine.ProducerCount(tp0), 0u);
  EXPECT_EQ(h.engine.TotalProducerCount(), 1u);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_THAT(h.engine.Snapshot(tp0).producers, IsEmpty());
  EXPECT_THAT(h.sink.records, IsEmpty()) << "the state lives on in the last checkpoint";
  EXPECT_EQ(h.engine.counters().abandoned, 0u);
  EXPECT_EQ(h.Feed(RecordBuilder(10).Value("v").Stamp("p", 0, 5).Build()), Outcome::kDelivered);
  h.engine.DropPartition(TopicPartition{Topic("never"), Partition(9)});  // harmless
}

// --- CollectChanges ------------------------------------------------------------

// Rebuilds a partition's state from reported changes.
class Rebuilder final : public ChangeVisitor {
 public:
  void ProducerChanged(const ProducerState& state) override {
    ++changed;
    for (auto& p : state_.producers) {
      if (p.producer == state.producer) {
        p = state;
        return;
      }
    }
    state_.producers.push_back(state);
  }
  void ProducerErased(std::string_view producer) override {
    ++erased;
    erased_ids.emplace_back(producer);
    std::erase_if(state_.producers, [&](const ProducerState& p) { return p.producer == producer; });
  }
  void ChunkAdded(const InProgressHeader& message, const ChunkView& view) override {
    const ChunkState chunk = OwnedChunk(view);
    ++added;
    InProgressState* target = nullptr;
    for (auto& m : state_.in_progress) {
      if (m.header.producer == message.producer && m.header.stamp == message.stamp) target = &m;
    }
    if (target == nullptr) {
      state_.in_progress.push_back(InProgressState{message, {}});
      target = &state_.in_progress.back();
    }
    target->header = message;
    auto it = std::lower_bound(target->chunks.begin(), target->chunks.end(), chunk.index,
                               [](const ChunkState& c, std::uint32_t i) { return c.index < i; });
    EXPECT_TRUE(it == target->chunks.end() || it->index != chunk.index)
        << "chunk " << chunk.index << " of " << message.producer << " reported twice";
    target->chunks.insert(it, chunk);
  }
  void InProgressRemoved(std::string_view producer, EpochSeq stamp) override {
    ++removed;
    std::erase_if(state_.in_progress, [&](const InProgressState& m) {
      return m.header.producer == producer && m.header.stamp == stamp;
    });
  }

  // The rebuilt state; max_timestamp is not reported by changes.
  PartitionState state() const { return state_; }
  void Reset(PartitionState s) { state_ = std::move(s); }

  int changed = 0, erased = 0, added = 0, removed = 0;
  std::vector<std::string> erased_ids;

 private:
  PartitionState state_;
};

PartitionState WithoutMaxTimestamp(PartitionState s) {
  s.max_timestamp = TimestampMs(0);
  return Normalised(std::move(s));
}

TEST(EngineChanges, RebuiltStateFromChangesEqualsSnapshot) {
  int checks = 0;
  int uncollected_checks = 0;
  Rebuilder totals;
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    EngineOptions options;
    options.max_chunk_span = 15;
    options.max_buffer_bytes = 120;
    options.producer_ttl_ms = 3000;
    TrafficOptions t;
    t.seed = seed;
    t.records_per_partition = 1000;
    t.max_payload = 100;
    t.monotonic_timestamps = true;
    t.pause_percent = 2;
    t.ts_pause = 5000;
    const std::vector<GenRecord> records = GenerateTraffic(t);
    Engine engine(options);
    std::map<TopicPartition, Rebuilder> rebuilt;
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < records.size(); ++i) {
      (void)engine.Process(records[i].record.view(), [](const Message&) {});
      if (rng() % 10 == 0) {
        const TopicPartition tp = TpOf(records[i].record);
        engine.PurgeExpired(tp, 1 + rng() % 3);
      }
      if (rng() % 7 == 0) {
        for (const TopicPartition& tp : engine.Partitions()) {
          Rebuilder& r = rebuilt[tp];
          const std::size_t uncollected = engine.UncollectedChunks(tp);
          const int added_before = r.added;
          engine.CollectChanges(tp, r);
          ASSERT_EQ(static_cast<std::size_t>(r.added - added_before), uncollected)
              << "UncollectedChunks counts what CollectChanges reports, after record #" << i;
          ASSERT_EQ(engine.UncollectedChunks(tp), 0u);
          if (uncollected > 0) ++uncollected_checks;
          ASSERT_EQ(WithoutMaxTimestamp(r.state()), WithoutMaxTimestamp(engine.Snapshot(tp)))
              << "after record #" << i << " in " << tp.ToString();
          ++checks;
          // Nothing changed since: nothing reported.
          Rebuilder quiet;
          engine.CollectChanges(tp, quiet);
          EXPECT_EQ(quiet.changed + quiet.erased + quiet.added + quiet.removed, 0);
        }
      }
    }
    for (const auto& [tp, r] : rebuilt) {
      totals.changed += r.changed;
      totals.erased += r.erased;
      totals.added += r.added;
      totals.removed += r.removed;
    }
  }
  EXPECT_GT(checks, 300);
  EXPECT_GT(uncollected_checks, 30);
  EXPECT_GT(totals.changed, 0);
  EXPECT_GT(totals.erased, 0);
  EXPECT_GT(totals.added, 0);
  EXPECT_GT(totals.removed, 0);
}

// Forwards every change to two visitors.
class Tee final : public ChangeVisitor {
 public:
  Tee(ChangeVisitor& a, ChangeVisitor& b) : a_(a), b_(b) {}
  void ProducerChanged(const ProducerState& s) override {
    a_.ProducerChanged(s);
    b_.ProducerChanged(s);
  }
  void ProducerErased(std::string_view p) override {
    a_.ProducerErased(p);
    b_.ProducerErased(p);
  }
  void ChunkAdded(const InProgressHeader& m, const ChunkView& c) override {
    a_.ChunkAdded(m, c);
    b_.ChunkAdded(m, c);
  }
  void InProgressRemoved(std::string_view p, EpochSeq s) override {
    a_.InProgressRemoved(p, s);
    b_.InProgressRemoved(p, s);
  }

 private:
  ChangeVisitor& a_;
  ChangeVisitor& b_;
};

TEST(EngineChanges, ReportsEachKindOfChange) {
  EngineOptions options;
  options.producer_ttl_ms = 1000;
  Engine engine(options);
  const TopicPartition tp{Topic("t"), Partition(0)};
  auto feed = [&](const OwnedRecord& r) { return engine.Process(r.view(), [](const Message&) {}); };
  Rebuilder all;  // the state rebuilt from every collection so far
  auto collect = [&] {
    Rebuilder step;
    Tee tee(all, step);
    engine.CollectChanges(tp, tee);
    EXPECT_EQ(WithoutMaxTimestamp(all.state()), WithoutMaxTimestamp(engine.Snapshot(tp)));
    return step;
  };
  auto chunks = MakeChunks("p", 0, 2, {"ab", "cd", "ef"}, 2);
  for (auto& c : chunks) c.timestamp = TimestampMs(1000);
  ASSERT_EQ(feed(RecordBuilder(1).Ts(1000).Value("v").Stamp("p", 0, 1).Build()), Outcome::kDelivered);
  ASSERT_EQ(feed(chunks[0]), Outcome::kBuffered);
  {
    const Rebuilder r = collect();
    EXPECT_GE(r.changed, 1);
    EXPECT_EQ(r.added, 1);
    EXPECT_EQ(r.removed, 0);
    ASSERT_EQ(r.state().producers.size(), 1u);
    EXPECT_EQ(r.state().producers[0].watermark, (EpochSeq{Epoch(0), Sequence(1)}));
    ASSERT_EQ(r.state().in_progress.size(), 1u);
    EXPECT_EQ(r.state().in_progress[0].chunks.size(), 1u);
  }
  ASSERT_EQ(feed(chunks[1]), Outcome::kBuffered);
  {
    const Rebuilder r = collect();
    EXPECT_EQ(r.added, 1) << "only the chunk received since the last collection";
    EXPECT_EQ(r.removed, 0);
  }
  ASSERT_EQ(feed(chunks[2]), Outcome::kDelivered);
  {
    const Rebuilder r = collect();
    EXPECT_EQ(r.added, 0);
    EXPECT_EQ(r.removed, 1) << "a message in progress at the last collection is gone";
    EXPECT_GE(r.changed, 1);
  }
  // A message started and completed between two collections: its watermark
  // is reported.
  for (const auto& c : MakeChunks("p", 0, 3, {"x", "y"}, 10)) {
    OwnedRecord r = c;
    r.timestamp = TimestampMs(1000);
    ASSERT_NE(feed(r), Outcome::kMalformed);
  }
  {
    const Rebuilder r = collect();
    EXPECT_GE(r.changed, 1);
  }
  // Abandoned by a newer stamp.
  OwnedRecord next = MakeChunks("p", 0, 4, {"x", "y"}, 12)[0];
  next.timestamp = TimestampMs(1000);
  ASSERT_EQ(feed(next), Outcome::kBuffered);
  (void)collect();
  ASSERT_EQ(feed(RecordBuilder(14).Ts(1000).Value("v").Stamp("p", 0, 5).Build()), Outcome::kDelivered);
  {
    const Rebuilder r = collect();
    EXPECT_EQ(r.removed, 1);
  }
  // Purging reports ProducerErased.
  ASSERT_EQ(feed(RecordBuilder(20).Ts(5000).Value("v").Stamp("q", 0, 0).Build()), Outcome::kDelivered);
  ASSERT_EQ(engine.PurgeExpired(tp, 10), 1u);
  {
    const Rebuilder r = collect();
    EXPECT_EQ(r.erased_ids, std::vector<std::string>{"p"});
    EXPECT_GE(r.changed, 1) << "q";
  }
  {
    const Rebuilder r = collect();
    EXPECT_EQ(r.changed + r.erased + r.added + r.removed, 0);
  }
}

// An incremental store persists what CollectChanges reports plus the
// partition's largest timestamp (Engine::MaxTimestamp), which the producer
// TTL depends on. A restart from such a checkpoint must decide as the
// uninterrupted engine does (DESIGN.md §1: whatever the checkpoint
// schedule). Here an unstamped record carries the partition's largest
// timestamp, which expires p; both engines must agree that p's next record
// comes from an unknown producer.
TEST(EngineChanges, StateRebuiltFromChangesDecidesAsTheUninterruptedEngine) {
  EngineOptions options;
  options.producer_ttl_ms = 1000;
  const TopicPartition tp{Topic("t"), Partition(0)};
  Engine a(options);
  auto feed = [](Engine& e, const OwnedRecord& r) { return e.Process(r.view(), [](const Message&) {}); };
  ASSERT_EQ(feed(a, RecordBuilder(1).Ts(1000).Value("v").Stamp("p", 0, 5).Build()), Outcome::kDelivered);
  ASSERT_EQ(feed(a, RecordBuilder(2).Ts(5000).Value("u").Build()), Outcome::kUnstampedPassed);
  Rebuilder changes;
  a.CollectChanges(tp, changes);
  PartitionState rebuilt = changes.state();
  rebuilt.max_timestamp = a.MaxTimestamp(tp);
  EXPECT_EQ(rebuilt.max_timestamp, TimestampMs(5000));
  Engine b(options);
  ASSERT_TRUE(b.Restore(tp, rebuilt).ok());
  const OwnedRecord next = RecordBuilder(3).Ts(1500).Value("v").Stamp("p", 0, 5).Build();
  const Outcome got_a = feed(a, next);
  const Outcome got_b = feed(b, next);
  EXPECT_EQ(OutcomeName(got_a), OutcomeName(got_b)) << "uninterrupted vs restored from changes";
  EXPECT_EQ(OutcomeName(got_a), OutcomeName(Outcome::kDelivered));
}

TEST(EngineChanges, MaxTimestampCoversEveryRecordOfThePartition) {
  EngineHarness h;
  const TopicPartition tp{Topic("t"), Partition(0)};
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(INT64_MIN)) << "unknown partition";
  h.Feed(RecordBuilder(1).Ts(100).Value("v").Stamp("p", 0, 5).Build());
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(100));
  h.Feed(RecordBuilder(2).Ts(300).Value("u").Build());  // unstamped
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(300));
  h.Feed(RecordBuilder(3).Ts(400).Value("m").Header("eo.seq", "x").Build());  // malformed
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(400));
  h.Feed(RecordBuilder(4).Ts(500).Value("v").Stamp("p", 0, 5).Build());  // duplicate
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(500));
  h.Feed(RecordBuilder(5).Ts(200).Value("v").Stamp("p", 0, 6).Build());  // earlier timestamp
  EXPECT_EQ(h.engine.MaxTimestamp(tp), TimestampMs(500));
  EXPECT_EQ(h.engine.Snapshot(tp).max_timestamp, TimestampMs(500));
  EXPECT_EQ(h.engine.MaxTimestamp(TopicPartition{Topic("t"), Partition(1)}), TimestampMs(INT64_MIN));
  Engine restored;
  ASSERT_TRUE(restored.Restore(tp, h.engine.Snapshot(tp)).ok());
  EXPECT_EQ(restored.MaxTimestamp(tp), TimestampMs(500));
}

TEST(EngineChanges, RestoreMarksThePartitionClean) {
  const TopicPartition tp{Topic("t"), Partition(0)};
  EngineHarness a;
  a.Feed(RecordBuilder(1).Value("v").Stamp("p", 0, 5).Build());
  a.Feed(MakeChunks("q", 0, 1, {"a", "b"}, 2)[0]);
  EXPECT_EQ(a.engine.UncollectedChunks(tp), 1u);
  Engine b;
  ASSERT_TRUE(b.Restore(tp, a.engine.Snapshot(tp)).ok());
  EXPECT_EQ(b.UncollectedChunks(tp), 0u) << "restored chunks are in the checkpoint already";
  Rebuilder r;
  b.CollectChanges(tp, r);
  EXPECT_EQ(r.changed + r.erased + r.added + r.removed, 0);
}

TEST(EngineChanges, CollectChangesOfUnknownPartitionReportsNothing) {
  Engine engine;
  Rebuilder r;
  engine.CollectChanges(TopicPartition{Topic("none"), Partition(0)}, r);
  EXPECT_EQ(r.changed + r.erased + r.added + r.removed, 0);
  EXPECT_EQ(engine.UncollectedChunks(TopicPartition{Topic("none"), Partition(0)}), 0u);
}

}  // namespace
}  // namespace exactly::test
