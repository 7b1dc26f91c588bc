// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Reassembly storage: chunks that arrive in order are copied straight into
// the message buffer (CRC computed as they are copied); chunks that arrive
// early wait on their own until the gap before them closes. Whatever the
// arrival order, duplicates, snapshots or restores, the delivered bytes,
// the dead-lettered chunk bytes and the snapshotted chunk values must be
// exactly what was sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"

namespace exactly::test {
namespace {

constexpr std::uint64_t kSeed = 0x7ea5'5e3b'1e00ull;

std::string RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Splits `whole` into n pieces of random lengths (some empty).
std::vector<std::optional<std::string>> SplitRandom(std::mt19937_64& rng, const std::string& whole, std::size_t n) {
  std::vector<std::size_t> cuts = {0, whole.size()};
  for (std::size_t i = 1; i < n; ++i) cuts.push_back(whole.empty() ? 0 : rng() % (whole.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::optional<std::string>> pieces;
  for (std::size_t i = 0; i < n; ++i) pieces.emplace_back(whole.substr(cuts[i], cuts[i + 1] - cuts[i]));
  return pieces;
}

std::string Concat(const std::vector<std::optional<std::string>>& pieces) {
  std::string whole;
  for (const auto& p : pieces)
    if (p) whole += *p;
  return whole;
}

// The offsets must rise, so the arrival order is applied by re-numbering.
std::vector<OwnedRecord> InArrivalOrder(std::vector<OwnedRecord> chunks, const std::vector<std::size_t>& order,
                                        std::int64_t first_offset) {
  std::vector<OwnedRecord> out;
  for (std::size_t k = 0; k < order.size(); ++k) {
    OwnedRecord r = chunks[order[k]];
    r.offset = Offset(first_offset + static_cast<std::int64_t>(k));
    out.push_back(std::move(r));
  }
  return out;
}

TEST(Reassembly, InOrderMessagesOfManySizesDeliverTheirExactBytes) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  std::mt19937_64 rng(kSeed);
  EngineHarness h;
  std::int64_t offset = 0;
  for (std::uint64_t seq = 0; seq < 60; ++seq) {
    // Sizes around and past the buffer reused from the message before.
    const std::size_t size = seq % 3 == 0 ? rng() % 300000 : rng() % 5000;
    const std::size_t n = 2 + rng() % 20;
    const std::string whole = RandomBytes(rng, size);
    const auto records = MakeChunks("p", 0, seq, SplitRandom(rng, whole, n), offset);
    offset += static_cast<std::int64_t>(n);
    for (std::size_t i = 0; i + 1 < n; ++i) ASSERT_EQ(h.Feed(records[i]), Outcome::kBuffered);
    ASSERT_EQ(h.Feed(records.back()), Outcome::kDelivered) << "message " << seq;
    ASSERT_EQ(h.delivered.back().value, whole) << "message " << seq;
    ASSERT_EQ(h.delivered.back().chunks, n);
  }
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.sink.records.size(), 0u);
}

// Random arrival orders (in-order runs interleaved with early chunks) and
// duplicate chunks, with a snapshot + restore into a fresh engine at a
// random point: the snapshot holds every received chunk's own bytes, and
// both engines deliver the original message.
TEST(Reassembly, OutOfOrderAndDuplicateChunksAroundTheDirectPath) {
  SCOPED_TRACE("seed " + std::to_string(kSeed + 1));
  std::mt19937_64 rng(kSeed + 1);
  const TopicPartition tp{Topic("t"), Partition(0)};  // RecordBuilder's
  for (int trial = 0; trial < 200; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::size_t n = 2 + rng() % 12;
    auto pieces = SplitRandom(rng, RandomBytes(rng, rng() % 2000), n);
    if (rng() % 4 == 0) pieces[rng() % n] = std::nullopt;  // a null chunk counts as empty
    const std::string whole = Concat(pieces);
    const auto chunks = MakeChunks("p", 0, 7, pieces, 0);

    // Mostly ascending with some swaps, sometimes fully shuffled.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    if (trial % 3 == 0) {
      std::shuffle(order.begin(), order.end(), rng);
    } else {
      for (int s = 0; s < 2; ++s) std::swap(order[rng() % n], order[rng() % n]);
    }
    // Re-send some chunks before the last one arrives.
    std::vector<std::size_t> arrivals(order.begin(), order.end() - 1);
    const std::size_t dups = rng() % 4;
    for (std::size_t d = 0; d < dups; ++d) {
      const std::size_t at = 1 + rng() % arrivals.size();
      arrivals.insert(arrivals.begin() + static_cast<std::ptrdiff_t>(at), arrivals[rng() % at]);
    }
    arrivals.push_back(order.back());
    const auto records = InArrivalOrder(chunks, arrivals, 100);

    const std::size_t restore_at = rng() % records.size();
    EngineHarness a;
    EngineHarness b;
    std::vector<bool> seen(n, false);
    for (std::size_t k = 0; k < records.size(); ++k) {
      if (k == restore_at) {
        PartitionState state = a.engine.Snapshot(tp);
        if (k > 0) {
          ASSERT_EQ(state.in_progress.size(), 1u);
          for (const ChunkState& c : state.in_progress[0].chunks) {
            ASSERT_TRUE(seen[c.index]);
            EXPECT_EQ(c.value, pieces[c.index]) << "chunk " << c.index;
          }
        }
        ASSERT_TRUE(b.engine.Restore(tp, std::move(state)).ok());
      }
      const std::size_t index = arrivals[k];
      const bool last = k + 1 == records.size();
      const Outcome expected =
          last ? Outcome::kDelivered : (seen[index] ? Outcome::kChunkDuplicate : Outcome::kBuffered);
      ASSERT_EQ(a.Feed(records[k]), expected) << "arrival " << k << " chunk " << index;
      if (k >= restore_at) {
        ASSERT_EQ(b.Feed(records[k]), expected) << "restored, arrival " << k;
      }
      seen[index] = true;
    }
    ASSERT_EQ(a.delivered.size(), 1u);
    ASSERT_EQ(b.delivered.size(), 1u);
    EXPECT_EQ(a.delivered[0].value, whole);
    EXPECT_EQ(b.delivered[0].value, whole);
    EXPECT_EQ(a.engine.BufferedBytes(), 0u);
    EXPECT_EQ(a.sink.records.size(), 0u);
  }
}

// A message that fails its CRC after some chunks went the direct path and
// some waited: every dead-lettered chunk carries its own bytes.
TEST(Reassembly, CorruptMessageDeadLettersEachChunksOwnBytes) {
  SCOPED_TRACE("seed " + std::to_string(kSeed + 2));
  std::mt19937_64 rng(kSeed + 2);
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t n = 3 + rng() % 8;
    const auto pieces = SplitRandom(rng, RandomBytes(rng, 100 + rng() % 3000), n);
    std::string whole = Concat(pieces);
    whole[rng() % whole.size()] ^= 0x20;  // the claims describe other bytes
    std::vector<OwnedRecord> chunks;
    for (std::uint32_t i = 0; i < n; ++i) {
      chunks.push_back(RecordBuilder(i).Value(pieces[i]).Stamp("p", 0, 1).Chunk(i, static_cast<std::uint32_t>(n))
                           .SizeAndCrcOf(whole).Build());
    }
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::swap(order[1 + rng() % (n - 1)], order[1 + rng() % (n - 1)]);
    EngineHarness h;
    for (const OwnedRecord& r : InArrivalOrder(chunks, order, 10)) h.Feed(r);
    ASSERT_EQ(h.engine.counters().corrupt, 1u) << "trial " << trial;
    ASSERT_EQ(h.sink.records.size(), n);
    for (const RejectedRecord& r : h.sink.records) {
      const std::size_t k = static_cast<std::size_t>(r.record.offset.value() - 10);
      EXPECT_EQ(r.record.value, pieces[order[k]]) << "trial " << trial << " chunk " << order[k];
    }
  }
}

// A consumer of several partitions has a message in progress on each at
// once. Once each has finished one message, the buffers of finished
// messages are enough for the next ones of the same sizes: none is
// allocated or grown again.
// (One spare buffer, as before, left every partition but one growing a
// fresh buffer by doubling for every message.)
TEST(Reassembly, InterleavedPartitionsReuseFinishedBuffers) {
  SCOPED_TRACE("seed " + std::to_string(kSeed + 3));
  std::mt19937_64 rng(kSeed + 3);
  constexpr int kPartitions = 4;
  constexpr std::size_t kChunks = 9;
  EngineHarness h;
  std::int64_t offset = 0;
  std::uint64_t after_first_round = 0;
  for (std::uint64_t seq = 0; seq < 6; ++seq) {
    std::vector<std::vector<OwnedRecord>> messages;
    std::vector<std::string> wholes;
    for (int p = 0; p < kPartitions; ++p) {
      // Each partition its own size: each message must find the buffer
      // that fits it, not just any.
      wholes.push_back(RandomBytes(rng, std::size_t{700'000} + 450'000 * static_cast<std::size_t>((p * 3) % 4)));
      auto records = MakeChunks("p" + std::to_string(p), 0, seq, SplitEven(wholes.back(), kChunks), offset);
      for (auto& r : records) r.partition = Partition(p);
      messages.push_back(std::move(records));
    }
    offset += static_cast<std::int64_t>(kChunks);
    // Round-robin over the partitions, chunk by chunk.
    for (std::size_t i = 0; i < kChunks; ++i) {
      for (int p = 0; p < kPartitions; ++p) {
        const Outcome o = h.Feed(messages[static_cast<std::size_t>(p)][i]);
        ASSERT_EQ(o, i + 1 == kChunks ? Outcome::kDelivered : Outcome::kBuffered) << "seq " << seq << " p " << p;
      }
    }
    for (int p = 0; p < kPartitions; ++p) {
      const DeliveredMessage& d = h.delivered[h.delivered.size() - kPartitions + static_cast<std::size_t>(p)];
      ASSERT_EQ(d.value, wholes[static_cast<std::size_t>(p)]) << "seq " << seq << " p " << p;
    }
    if (seq == 0) after_first_round = h.engine.counters().reassembly_allocations;
  }
  EXPECT_GE(after_first_round, static_cast<std::uint64_t>(kPartitions));
  EXPECT_EQ(h.engine.counters().reassembly_allocations, after_first_round);
}

// Reassembled and one-chunk messages carry the CRC32C they were checked
// against, so that a relay re-chunking them need not compute it again;
// records without eo.crc carry none.
TEST(Reassembly, DeliveredMessagesCarryTheCheckedCrc) {
  EngineHarness h;
  const std::string whole = "the quick brown fox jumps over the lazy dog";
  for (const OwnedRecord& r : MakeChunks("p", 0, 1, SplitEven(whole, 3), 0)) h.Feed(r);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].crc, crc32c::Value(whole));
  h.Feed(MakeChunks("p", 0, 2, SplitEven("one", 1), 3)[0]);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].crc, crc32c::Value("one"));
  h.Feed(RecordBuilder(4).Value("plain").Stamp("p", 0, 3).Build());
  ASSERT_EQ(h.delivered.size(), 3u);
  EXPECT_EQ(h.delivered[2].crc, std::nullopt);
}

}  // namespace
}  // namespace exactly::test
