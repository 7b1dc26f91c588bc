// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Engine::ProcessBatch and Engine::Prefetch against Process() alone: the
// seeded random traffic of the model test (every rule, chunked messages,
// malformed and unstamped records, several partitions interleaved) is fed
// to one engine record by record and to another in batches of random
// sizes, or record by record with hints a random distance ahead (across
// batch boundaries). Every outcome, every delivered message and
// dead-lettered record (in order), the counters and the final partition
// states must be identical. Between batches both engines purge expired
// producers the same way, so batches also start on a table that lost
// entries; the many-producer variants take the look-ahead path (the others,
// with small tables, do not) and grow the producer index in the middle of
// batches (after its prefetches were issued). With hints, partitions are
// also dropped (as on a revocation) while hints for their records are
// outstanding: under the sanitizers a hint left pointing at the dropped
// partition fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "exactly/engine.h"

namespace exactly::test {
namespace {

void ExpectSameCounters(const Counters& got, const Counters& want) {
  EXPECT_EQ(got.records, want.records);
  EXPECT_EQ(got.delivered, want.delivered);
  EXPECT_EQ(got.delivered_chunked, want.delivered_chunked);
  EXPECT_EQ(got.duplicate, want.duplicate);
  EXPECT_EQ(got.stale, want.stale);
  EXPECT_EQ(got.malformed, want.malformed);
  EXPECT_EQ(got.malformed_by_reason, want.malformed_by_reason);
  EXPECT_EQ(got.corrupt, want.corrupt);
  EXPECT_EQ(got.abandoned, want.abandoned);
  EXPECT_EQ(got.abandoned_chunks, want.abandoned_chunks);
  EXPECT_EQ(got.chunk_duplicate, want.chunk_duplicate);
  EXPECT_EQ(got.unstamped, want.unstamped);
  EXPECT_EQ(got.unstamped_dropped, want.unstamped_dropped);
  EXPECT_EQ(got.gaps, want.gaps);
  EXPECT_EQ(got.producers_expired, want.producers_expired);
  EXPECT_EQ(got.dead_lettered, want.dead_lettered);
}

PartitionState Sorted(PartitionState s) {
  std::sort(s.producers.begin(), s.producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  return s;
}

struct Side {
  explicit Side(const EngineOptions& options) : engine(options, &sink) {}
  RecordingSink sink;
  Engine engine;
  std::vector<DeliveredMessage> delivered;
  std::vector<Outcome> outcomes;
};

enum class Feed { kBatch, kPrefetch };

// Feeds one seed's traffic both ways; returns false after a disagreement.
// kBatch: ProcessBatch() per batch. kPrefetch: Process() per record, each
// record hinted 0 to 2 * kPrefetchDistance records before (a distance
// drawn per batch), and both engines drop the next record's partition:
// every 5th batch, or with `drop_once_big` once, as soon as a table is big
// enough for hints (so hints for it are outstanding).
bool RunBothWays(const TrafficOptions& traffic, const EngineOptions& options, std::size_t max_batch,
                 Feed feed = Feed::kBatch, bool drop_once_big = false) {
  SCOPED_TRACE("seed " + std::to_string(traffic.seed));
  const std::vector<GenRecord> records = GenerateTraffic(traffic);
  std::vector<RecordView> views;
  views.reserve(records.size());
  for (const GenRecord& g : records) views.push_back(g.record.view());

  Side one(options), batched(options);
  std::mt19937_64 rng(traffic.seed);
  std::size_t batches = 0;
  std::size_t hinted = 0;  // kPrefetch: records [0, hinted) were hinted
  std::uint64_t drops = 0;
  for (std::size_t first = 0; first < views.size();) {
    // Sizes from 0 (an empty batch) to max_batch, so batches both shorter
    // and longer than the look-ahead occur.
    const std::size_t n = std::min(views.size() - first, static_cast<std::size_t>(rng() % (max_batch + 1)));
    const std::span<const RecordView> batch(views.data() + first, n);
    for (const RecordView& v : batch)
      one.outcomes.push_back(
          one.engine.Process(v, [&](const Message& m) { one.delivered.push_back(DeliveredMessage::From(m)); }));
    const auto deliver = [&](const Message& m) { batched.delivered.push_back(DeliveredMessage::From(m)); };
    if (feed == Feed::kBatch) {
      std::vector<Outcome> outcomes(n);
      const std::size_t decided = batched.engine.ProcessBatch(batch, deliver, outcomes);
      EXPECT_EQ(decided, batch.size()) << "every record decided (no producer source)";
      batched.outcomes.insert(batched.outcomes.end(), outcomes.begin(), outcomes.end());
    } else {
      const std::size_t distance = rng() % (2 * Engine::kPrefetchDistance + 1);
      for (std::size_t i = first; i < first + n; ++i) {
        for (; hinted < std::min(views.size(), i + distance + 1); ++hinted) batched.engine.Prefetch(views[hinted]);
        batched.outcomes.push_back(batched.engine.Process(views[i], deliver));
      }
    }
    first += n;
    ++batches;

    const bool drop = drop_once_big ? drops == 0 && batched.engine.PrefetchHelps() : batches % 5 == 0;
    if (feed == Feed::kPrefetch && drop && first < views.size()) {
      // The next record's partition: hints for it are likely outstanding.
      const TopicPartition tp{Topic(std::string(views[first].topic)), views[first].partition};
      one.engine.DropPartition(tp);
      batched.engine.DropPartition(tp);
      ++drops;
    }

    if (batches % 7 == 0) {
      for (const auto& [topic, partition] : traffic.partitions) {
        const TopicPartition tp{Topic(topic), Partition(partition)};
        EXPECT_EQ(batched.engine.PurgeExpired(tp, 64), one.engine.PurgeExpired(tp, 64));
      }
    }
    // Compare as we go, so a failure names the first batch that differs.
    if (batched.outcomes != one.outcomes || batched.delivered != one.delivered ||
        batched.sink.records != one.sink.records) {
      ADD_FAILURE() << "batch #" << batches << " (records " << first - n << ".." << first << ") differs";
      for (std::size_t i = 0; i < std::min(one.outcomes.size(), batched.outcomes.size()); ++i) {
        if (one.outcomes[i] != batched.outcomes[i]) {
          ADD_FAILURE() << "record #" << i << ": Process " << OutcomeName(one.outcomes[i]) << ", ProcessBatch "
                        << OutcomeName(batched.outcomes[i]);
          break;
        }
      }
      EXPECT_EQ(batched.delivered, one.delivered);
      EXPECT_EQ(batched.sink.records, one.sink.records);
      return false;
    }
  }
  ExpectSameCounters(batched.engine.counters(), one.engine.counters());
  EXPECT_EQ(batched.engine.BufferedBytes(), one.engine.BufferedBytes());
  EXPECT_EQ(batched.engine.InProgressCount(), one.engine.InProgressCount());
  EXPECT_EQ(batched.engine.TotalProducerCount(), one.engine.TotalProducerCount());
  for (const auto& [topic, partition] : traffic.partitions) {
    const TopicPartition tp{Topic(topic), Partition(partition)};
    EXPECT_EQ(Sorted(batched.engine.Snapshot(tp)), Sorted(one.engine.Snapshot(tp)));
    EXPECT_EQ(batched.engine.MaxTimestamp(tp), one.engine.MaxTimestamp(tp));
  }
  // The traffic did exercise the rules (not a run of deliveries only).
  const Counters& c = one.engine.counters();
  EXPECT_GT(c.delivered, 0u);
  EXPECT_GT(c.duplicate + c.stale, 0u);
  EXPECT_GT(c.malformed, 0u);
  if (feed == Feed::kPrefetch) {
    EXPECT_GT(drops, 0u);
  }
  return !::testing::Test::HasFailure();
}

constexpr std::uint64_t kSeeds[] = {1, 2, 3, 7, 42, 1234, 99991, 20240601};

TEST(EngineBatch, AgreesWithProcessOnModelTraffic) {
  for (std::uint64_t seed : kSeeds) {
    TrafficOptions t;
    t.seed = seed;
    if (!RunBothWays(t, EngineOptions{}, 64)) return;
  }
}

// Tight bounds (chunk span, buffered bytes), offset jumps, and unstamped
// records dropped: abandoned and corrupt messages in every batch.
EngineOptions BoundedOptions() {
  EngineOptions options;
  options.max_chunk_span = 12;
  options.max_buffer_bytes = 224;
  options.unstamped = UnstampedPolicy::kDrop;
  return options;
}

TrafficOptions BoundedTraffic(std::uint64_t seed) {
  TrafficOptions t;
  t.seed = seed;
  t.max_payload = 96;
  t.offset_jump_percent = 8;
  t.offset_jump_max = 10;
  return t;
}

// Two partitions of 14k producers each: past the look-ahead threshold.
TrafficOptions ManyProducersTraffic() {
  TrafficOptions t;
  t.seed = 17;
  t.producers_per_partition = 14000;
  t.records_per_partition = 20000;
  t.partitions = {{"x", 0}, {"x", 1}};
  return t;
}

TEST(EngineBatch, AgreesWithProcessWhenBoundsTriggerAndUnstampedAreDropped) {
  for (std::uint64_t seed : kSeeds) {
    if (!RunBothWays(BoundedTraffic(seed), BoundedOptions(), 40)) return;
  }
}

TEST(EngineBatch, AgreesWithProcessWhenProducersExpireAndArePurged) {
  EngineOptions options;
  options.producer_ttl_ms = 3000;
  options.max_chunk_span = 60;
  for (std::uint64_t seed : {31u, 32u, 33u, 34u}) {
    TrafficOptions t;
    t.seed = seed;
    t.monotonic_timestamps = true;
    t.pause_percent = 1;
    t.ts_pause = 4000;
    if (!RunBothWays(t, options, 100)) return;
  }
}

// Enough producers per partition for the look-ahead (an index of 16k
// slots and more: from ~6.2k producers), with two such partitions
// interleaved; the index grows again (to 32k slots, at ~12.3k producers)
// while prefetches for later records of a batch are outstanding.
TEST(EngineBatch, AgreesWithProcessWithTensOfThousandsOfProducers) {
  ASSERT_TRUE(RunBothWays(ManyProducersTraffic(), EngineOptions{}, 500));
}

TEST(EnginePrefetch, AgreesWithProcessOnModelTraffic) {
  for (std::uint64_t seed : kSeeds) {
    TrafficOptions t;
    t.seed = seed;
    if (!RunBothWays(t, EngineOptions{}, 64, Feed::kPrefetch)) return;
  }
}

TEST(EnginePrefetch, AgreesWithProcessWhenBoundsTriggerAndUnstampedAreDropped) {
  for (std::uint64_t seed : kSeeds) {
    if (!RunBothWays(BoundedTraffic(seed), BoundedOptions(), 40, Feed::kPrefetch)) return;
  }
}

// The look-ahead path (as for ProcessBatch above), with a partition
// dropped once, as soon as a table is big enough for hints, while hints
// for its records are outstanding (under ASan, a hint left pointing at
// the dropped partition is a use after free: tried).
TEST(EnginePrefetch, AgreesWithProcessWithTensOfThousandsOfProducers) {
  ASSERT_TRUE(RunBothWays(ManyProducersTraffic(), EngineOptions{}, 500, Feed::kPrefetch, /*drop_once_big=*/true));
}

}  // namespace
}  // namespace exactly::test
