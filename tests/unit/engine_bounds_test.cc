// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The bounds of DESIGN.md §3: chunk span, buffer bytes, producer TTL (and
// PurgeExpired), and the chunk-bomb case: a record's claims (N, size) must
// never cause memory use by themselves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"

// Tracks the largest single allocation while armed, to show that claims
// such as `eo.size: 67108864` are not reserved up front.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<std::size_t> g_largest_allocation{0};
// Called through a volatile pointer so that the compiler does not pair
// free() with the replaced operator new below.
void (*volatile g_free)(void*) = std::free;
}  // namespace

void* operator new(std::size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    std::size_t cur = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > cur && !g_largest_allocation.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { g_free(p); }
void operator delete[](void* p) noexcept { g_free(p); }
void operator delete(void* p, std::size_t) noexcept { g_free(p); }
void operator delete[](void* p, std::size_t) noexcept { g_free(p); }

namespace exactly::test {
namespace {

using ::testing::IsEmpty;

class LargestAllocation {
 public:
  LargestAllocation() {
    g_largest_allocation.store(0);
    g_track_allocations.store(true);
  }
  ~LargestAllocation() { g_track_allocations.store(false); }
  std::size_t bytes() const { return g_largest_allocation.load(); }
};

EpochSeq ES(std::uint64_t e, std::uint64_t s) { return EpochSeq{Epoch(e), Sequence(s)}; }

OwnedRecord Single(std::string_view producer, std::uint64_t e, std::uint64_t s, std::int64_t offset,
                   std::int64_t ts) {
  return RecordBuilder(offset).Ts(ts).Value("v").Stamp(producer, e, s).Build();
}

// Chunk i of a message whose claims are the size and crc of `whole`.
OwnedRecord ChunkOf(std::string_view producer, std::uint64_t e, std::uint64_t s, std::uint32_t i, std::uint32_t n,
                    const std::string& whole, std::string value, std::int64_t offset) {
  return RecordBuilder(offset).Value(std::move(value)).Stamp(producer, e, s).Chunk(i, n).SizeAndCrcOf(whole).Build();
}

// Chunk 0 of a two-chunk message of `bytes` + 1 bytes, holding `bytes` bytes.
OwnedRecord FirstHalf(std::string_view producer, std::uint64_t seq, std::size_t bytes, std::int64_t offset) {
  const std::string body(bytes, 'x');
  return ChunkOf(producer, 0, seq, 0, 2, body + "y", body, offset);
}
OwnedRecord SecondHalf(std::string_view producer, std::uint64_t seq, std::size_t bytes, std::int64_t offset) {
  const std::string body(bytes, 'x');
  return ChunkOf(producer, 0, seq, 1, 2, body + "y", "y", offset);
}

const TopicPartition kTp{Topic("t"), Partition(0)};


std::vector<std::int64_t> DeadLetteredOffsets(const RecordingSink& sink, RejectReason reason) {
  std::vector<std::int64_t> out;
  for (const auto& r : sink.records) {
    if (r.reason == reason) out.push_back(r.record.offset.value());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> InProgressProducers(const Engine& engine, const TopicPartition& tp) {
  std::vector<std::string> out;
  for (const auto& p : engine.Snapshot(tp).in_progress) out.push_back(p.header.producer);
  std::sort(out.begin(), out.end());
  return out;
}

// --- chunk span -----------------------------------------------------------------

EngineOptions SpanOptions() {
  EngineOptions o;
  o.max_chunk_span = 10;
  return o;
}

TEST(ChunkSpan, InProgressMoreThanSpanBelowIsAbandonedByAnUnstampedRecord) {
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(FirstHalf("p", 0, 3, 100)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(RecordBuilder(111).Value("u").Build()), Outcome::kUnstampedPassed);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(h.engine.counters().abandoned_chunks, 1u);
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), std::vector<std::int64_t>{100});
  // The late second half cannot complete the abandoned message; it starts a
  // new one of its own.
  EXPECT_EQ(h.Feed(SecondHalf("p", 0, 3, 112)), Outcome::kBuffered);
  EXPECT_THAT(h.delivered, ::testing::SizeIs(1));  // only the unstamped record
}

TEST(ChunkSpan, ExactlyAtTheSpanIsKept) {
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(FirstHalf("p", 0, 3, 100)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(RecordBuilder(109).Value("u").Build()), Outcome::kUnstampedPassed);
  EXPECT_EQ(h.Feed(SecondHalf("p", 0, 3, 110)), Outcome::kDelivered);
  EXPECT_EQ(h.engine.counters().abandoned, 0u);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].value, "xxxy");
}

TEST(ChunkSpan, CompletingChunkBeyondTheSpanDoesNotComplete) {
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(FirstHalf("p", 0, 3, 100)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(SecondHalf("p", 0, 3, 111)), Outcome::kBuffered);
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), std::vector<std::int64_t>{100});
}

TEST(ChunkSpan, AnyRecordOfThePartitionTriggersIt) {
  // Another producer's record, a malformed record, a stale record.
  std::vector<OwnedRecord> triggers = {
      Single("q", 0, 0, 111, kBaseTimestamp),
      RecordBuilder(111).Value("m").Header("eo.seq", "1").Build(),
  };
  for (const OwnedRecord& trigger : triggers) {
    EngineHarness h(SpanOptions());
    ASSERT_EQ(h.Feed(FirstHalf("p", 0, 3, 100)), Outcome::kBuffered);
    h.Feed(trigger);
    EXPECT_EQ(h.engine.InProgressCount(), 0u);
    EXPECT_EQ(h.engine.counters().abandoned, 1u);
  }
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(Single("p", 5, 0, 90, kBaseTimestamp)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(ChunkOf("p", 5, 2, 0, 2, "ab", "a", 100)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(Single("p", 4, 0, 111, kBaseTimestamp)), Outcome::kStale);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
}

TEST(ChunkSpan, IsMeasuredFromTheFirstChunkReceivedNotChunkZero) {
  EngineHarness h(SpanOptions());
  const std::string whole = "abc";
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 2, 3, whole, "c", 100)), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 0, 3, whole, "a", 105)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(ChunkOf("p", 0, 0, 1, 3, whole, "b", 111)), Outcome::kBuffered);
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), (std::vector<std::int64_t>{100, 105}));
}

TEST(ChunkSpan, OtherPartitionsAreNotAffected) {
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(FirstHalf("p", 0, 3, 100)), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(RecordBuilder(5000).OnPartition(1).Value("u").Build()), Outcome::kUnstampedPassed);
  EXPECT_EQ(h.Feed(RecordBuilder(5000).OnTopic("other").Value("u").Build()), Outcome::kUnstampedPassed);
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_EQ(h.Feed(SecondHalf("p", 0, 3, 101)), Outcome::kDelivered);
}

TEST(ChunkSpan, AbandonsEveryExpiredMessageOfThePartition) {
  EngineHarness h(SpanOptions());
  ASSERT_EQ(h.Feed(FirstHalf("a", 0, 1, 100)), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(FirstHalf("b", 0, 1, 101)), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(FirstHalf("c", 0, 1, 105)), Outcome::kBuffered);
  h.Feed(RecordBuilder(112).Value("u").Build());
  EXPECT_EQ(InProgressProducers(h.engine, kTp), std::vector<std::string>{"c"});
  EXPECT_EQ(h.engine.counters().abandoned, 2u);
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), (std::vector<std::int64_t>{100, 101}));
}

// --- buffer bytes ------------------------------------------------------------------

EngineOptions BufferOptions(std::uint64_t max_buffer_bytes) {
  EngineOptions o;
  o.max_buffer_bytes = max_buffer_bytes;
  return o;
}

TEST(BufferBytes, ExactlyFullIsAllowed) {
  const OwnedRecord a = FirstHalf("a", 0, 60, 1), b = FirstHalf("b", 0, 40, 2);
  EngineHarness h(BufferOptions(HeldBytes(a) + HeldBytes(b)));
  ASSERT_EQ(h.Feed(a), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(b), Outcome::kBuffered);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(a) + HeldBytes(b));
  EXPECT_EQ(h.engine.counters().abandoned, 0u);
}

TEST(BufferBytes, OneByteOverEvictsTheOldest) {
  const OwnedRecord a = FirstHalf("a", 0, 60, 1), b = FirstHalf("b", 0, 40, 2);
  EngineHarness h(BufferOptions(HeldBytes(a) + HeldBytes(b) - 1));
  ASSERT_EQ(h.Feed(a), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(b), Outcome::kBuffered);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), std::vector<std::string>{"b"});
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(b));
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
}

// Chunk 0's key and headers stay with the message until it completes, so
// they are held bytes: a large header fills the buffer like a large value.
TEST(BufferBytes, ChunkZeroKeyAndHeadersCount) {
  const std::string whole(11, 'v');
  const OwnedRecord heavy = RecordBuilder(1)
                                .Key(std::string(300, 'k'))
                                .Value(whole.substr(0, 10))
                                .Stamp("heavy", 0, 0)
                                .Chunk(0, 2)
                                .SizeAndCrcOf(whole)
                                .Header("trace", std::string(500, 't'))
                                .Build();
  ASSERT_GT(HeldBytes(heavy), 810u);
  const OwnedRecord light = FirstHalf("b", 0, 10, 2);
  EngineHarness h(BufferOptions(HeldBytes(heavy) + HeldBytes(light) - 1));
  ASSERT_EQ(h.Feed(heavy), Outcome::kBuffered);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(heavy));
  ASSERT_EQ(h.Feed(light), Outcome::kBuffered);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), std::vector<std::string>{"b"}) << "the heavy message was evicted";
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  // A chunk 0 whose headers alone exceed the bound is its own message's end.
  EngineHarness tight(BufferOptions(HeldBytes(heavy) - 1));
  EXPECT_EQ(tight.Feed(heavy), Outcome::kAbandoned);
  EXPECT_EQ(tight.engine.BufferedBytes(), 0u);
}

TEST(BufferBytes, OverflowAbandonsOldestByFirstOffsetUntilItFits) {
  const std::string wa(45, 'a');
  const OwnedRecord a0 = ChunkOf("a", 0, 0, 0, 3, wa, std::string(20, 'a'), 1);
  const OwnedRecord b = FirstHalf("b", 0, 30, 2);
  const OwnedRecord a1 = ChunkOf("a", 0, 0, 1, 3, wa, std::string(20, 'a'), 3);
  const OwnedRecord c = FirstHalf("c", 0, 10, 4);
  const OwnedRecord d = FirstHalf("d", 0, 45, 5);
  // Room for b, c and d exactly: everything but d fits, d fits once a goes.
  EngineHarness h(BufferOptions(HeldBytes(b) + HeldBytes(c) + HeldBytes(d)));
  ASSERT_LE(HeldBytes(a0) + HeldBytes(a1), HeldBytes(d));
  ASSERT_EQ(h.Feed(a0), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(b), Outcome::kBuffered);
  // a receives another chunk later: it is still the oldest by first offset.
  ASSERT_EQ(h.Feed(a1), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(c), Outcome::kBuffered);
  ASSERT_EQ(h.engine.BufferedBytes(), HeldBytes(a0) + HeldBytes(b) + HeldBytes(a1) + HeldBytes(c));
  ASSERT_EQ(h.engine.counters().abandoned, 0u);
  // d does not fit: a (first offset 1) goes, and then d fits.
  EXPECT_EQ(h.Feed(d), Outcome::kBuffered);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(b) + HeldBytes(c) + HeldBytes(d));
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(h.engine.counters().abandoned_chunks, 2u);
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), (std::vector<std::int64_t>{1, 3}));
}

TEST(BufferBytes, OverflowAbandonsSeveralMessagesUntilItFits) {
  const OwnedRecord a = FirstHalf("a", 0, 30, 1), b = FirstHalf("b", 0, 30, 2), c = FirstHalf("c", 0, 30, 3);
  const OwnedRecord d = FirstHalf("d", 0, 45, 4);
  EngineHarness h(BufferOptions(HeldBytes(a) + HeldBytes(b) + HeldBytes(c)));
  // d needs more than a's room but no more than a's and b's.
  ASSERT_GT(HeldBytes(d), HeldBytes(a));
  ASSERT_LE(HeldBytes(d), HeldBytes(a) + HeldBytes(b));
  ASSERT_EQ(h.Feed(a), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(b), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(c), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(d), Outcome::kBuffered);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(c) + HeldBytes(d));
  EXPECT_EQ(h.engine.counters().abandoned, 2u);
}

TEST(BufferBytes, ChunkThatCanNeverFitAbandonsItsOwnMessage) {
  const OwnedRecord a = FirstHalf("a", 0, 50, 1);
  EngineHarness h(BufferOptions(200));
  ASSERT_EQ(h.Feed(a), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(FirstHalf("big", 0, 200, 2)), Outcome::kAbandoned);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), std::vector<std::string>{"a"}) << "others are not sacrificed";
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(a));
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  // Never silently lost: the chunk itself is dead-lettered.
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), std::vector<std::int64_t>{2});
  EXPECT_EQ(h.Feed(SecondHalf("big", 0, 200, 3)), Outcome::kBuffered)
      << "the rest of an abandoned message starts a new one (rule 6)";
}

// The own message's held bytes plus the chunk exceed the bound: abandoning
// other messages could never make room, so only the own message goes.
TEST(BufferBytes, ChunkWhoseOwnMessageCanNeverFitAbandonsOnlyThatMessage) {
  const OwnedRecord older = FirstHalf("older", 0, 20, 1);
  const std::string whole(260, 'w');
  const OwnedRecord p0 = ChunkOf("p", 0, 0, 0, 2, whole, std::string(60, 'w'), 2);
  const OwnedRecord p1 = ChunkOf("p", 0, 0, 1, 2, whole, std::string(200, 'w'), 3);
  // Both first chunks fit; p's second could not, even with older gone.
  EngineHarness h(BufferOptions(HeldBytes(older) + HeldBytes(p0)));
  ASSERT_GT(HeldBytes(p0) + HeldBytes(p1), HeldBytes(older) + HeldBytes(p0));
  ASSERT_EQ(h.Feed(older), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(p0), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(p1), Outcome::kAbandoned);
  EXPECT_EQ(InProgressProducers(h.engine, kTp), std::vector<std::string>{"older"});
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(older));
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), (std::vector<std::int64_t>{2, 3}));
}

TEST(BufferBytes, AccountingIsPerPartition) {
  const std::uint64_t one = HeldBytes(FirstHalf("a", 0, 80, 1));
  EngineHarness h(BufferOptions(one + 10));  // one message per partition fits, two would not
  ASSERT_EQ(h.Feed(FirstHalf("a", 0, 80, 1)), Outcome::kBuffered);
  OwnedRecord other = FirstHalf("a", 0, 80, 1);
  other.partition = Partition(1);
  EXPECT_EQ(h.Feed(other), Outcome::kBuffered);
  OwnedRecord third = FirstHalf("a", 0, 80, 1);
  third.topic = "u";
  EXPECT_EQ(h.Feed(third), Outcome::kBuffered);
  EXPECT_EQ(h.engine.counters().abandoned, 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 3 * one);
  EXPECT_EQ(h.engine.InProgressCount(), 3u);
}

TEST(BufferBytes, BufferedBytesCountsHeldValuesAndChunkZeroMetadataOnly) {
  EngineHarness h;
  const std::string whole = "aaaabbbbbbcc";
  const OwnedRecord first = ChunkOf("p", 0, 0, 0, 3, whole, "aaaa", 1);
  ASSERT_EQ(h.Feed(first), Outcome::kBuffered);
  ASSERT_GT(HeldBytes(first), 4u);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(first));
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 0, 3, whole, "aaaa", 2)), Outcome::kChunkDuplicate);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(first));
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 1, 4, whole, "bbbbbb", 3)), Outcome::kMalformed);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(first));
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 1, 3, whole, "bbbbbb", 4)), Outcome::kBuffered);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(first) + 6);
  ASSERT_EQ(h.Feed(ChunkOf("p", 0, 0, 2, 3, whole, "cc", 5)), Outcome::kDelivered);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
}

// --- chunk bomb ----------------------------------------------------------------------

TEST(ChunkBomb, ClaimedCountAndSizeAreNeverReservedUpFront) {
  EngineHarness h;
  std::uint64_t received = 0;
  const std::size_t largest = [&] {
    LargestAllocation tracker;
    for (int i = 0; i < 200; ++i) {
      const std::string value(static_cast<std::size_t>(i % 17), 'b');
      OwnedRecord r = RecordBuilder(i)
                          .Value(value)
                          .Stamp("bomber-" + std::to_string(i), 0, 0)
                          .Header("eo.chunk", i % 2 == 0 ? "0/65536" : "65535/65536")
                          .Header("eo.size", "67108864")
                          .Header("eo.crc", "deadbeef")
                          .Build();
      received += HeldBytes(r);
      EXPECT_EQ(h.Feed(r), Outcome::kBuffered);
      EXPECT_EQ(h.engine.BufferedBytes(), received);
    }
    return tracker.bytes();
  }();
  EXPECT_EQ(h.engine.InProgressCount(), 200u);
  EXPECT_EQ(h.engine.BufferedBytes(), received);
  EXPECT_LT(largest, std::size_t{1} << 20) << "an allocation sized by a record's claims";
}

TEST(ChunkBomb, ManyChunksOfOneHugeClaimedMessage) {
  EngineHarness h;
  std::uint64_t received = 0;
  std::size_t largest = 0;
  {
    LargestAllocation tracker;
    for (std::uint32_t i = 0; i < 2000; ++i) {
      const std::string value(i % 5, 'c');
      OwnedRecord r = RecordBuilder(i)
                          .Value(value)
                          .Stamp("bomber", 0, 0)
                          .Header("eo.chunk", std::to_string(i * 32) + "/65536")
                          .Header("eo.size", "67108864")
                          .Header("eo.crc", "deadbeef")
                          .Build();
      received += HeldBytes(r);
      ASSERT_EQ(h.Feed(r), Outcome::kBuffered);
    }
    largest = tracker.bytes();
  }
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_EQ(h.engine.BufferedBytes(), received);
  EXPECT_LT(largest, std::size_t{1} << 20);
}

// In-order chunks are written straight into the message buffer, which
// grows by what arrived: never to the claimed size.
TEST(ChunkBomb, InOrderChunksOfAHugeClaimGrowTheBufferOnlyByWhatArrived) {
  EngineHarness h;
  // A finished message first, so a reusable buffer exists as in a busy
  // consumer.
  const std::string small(1000, 's');
  for (const OwnedRecord& r : MakeChunks("honest", 0, 0, SplitEven(small, 4), 0)) h.Feed(r);
  ASSERT_EQ(h.delivered.size(), 1u);
  std::uint64_t received = 0;
  std::size_t largest = 0;
  {
    LargestAllocation tracker;
    for (std::uint32_t i = 0; i < 300; ++i) {
      const std::string value(1024, 'c');
      OwnedRecord r = RecordBuilder(10 + i)
                          .Value(value)
                          .Stamp("bomber", 0, 0)
                          .Header("eo.chunk", std::to_string(i) + "/65536")
                          .Header("eo.size", "67108864")
                          .Header("eo.crc", "deadbeef")
                          .Build();
      received += HeldBytes(r);
      ASSERT_EQ(h.Feed(r), Outcome::kBuffered);
    }
    largest = tracker.bytes();
  }
  EXPECT_EQ(h.engine.BufferedBytes(), received);
  EXPECT_LE(largest, 2 * received) << "the message buffer grew past twice what arrived";
}

// --- producer TTL -------------------------------------------------------------------

EngineOptions TtlOptions() {
  EngineOptions o;
  o.producer_ttl_ms = 1000;
  return o;
}

TEST(ProducerTtl, OlderThanTtlIsTreatedAsUnknown) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1, 10000)), Outcome::kDelivered);
  // Idle for 1001 ms: a lower stamp is delivered again.
  EXPECT_EQ(h.Feed(Single("p", 0, 3, 2, 11001)), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_FALSE(h.delivered[1].gap);
  EXPECT_EQ(h.engine.Snapshot(kTp).producers.at(0).watermark, ES(0, 3));
}

TEST(ProducerTtl, OlderEpochIsDeliveredAfterTtl) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 7, 5, 1, 10000)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 2, 0, 2, 20000)), Outcome::kDelivered);
}

TEST(ProducerTtl, WithinTtlIsDuplicate) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1, 10000)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 3, 2, 10999)), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 3, 10500)), Outcome::kDuplicate);
}

TEST(ProducerTtl, ExactlyAtTtlIsStillKnown) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1, 10000)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 2, 11000)), Outcome::kDuplicate);
}

// The engine judges the TTL against the partition's largest timestamp so
// far (engine.h explains why: it keeps purging from changing decisions).
// DESIGN.md §3's text says "than the new record"; the two differ only when
// timestamps fall back by more than the TTL, as here: q's record at 10000
// expires p (last seen at 5000, TTL 1000), so p's later record stamped 5500
// is treated as coming from an unknown producer and delivered again.
TEST(ProducerTtl, IsJudgedAgainstThePartitionsLargestTimestamp) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1, 5000)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("q", 0, 0, 2, 10000)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 3, 5500)), Outcome::kDelivered);
  EXPECT_EQ(h.delivered.size(), 3u);
  // Purging p now or never makes no difference to p's next record.
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 4, 5600)), Outcome::kDuplicate);
}

TEST(ProducerTtl, IsMeasuredFromTheLastRecordSeen) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1, 10000)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("p", 0, 2, 2, 10800)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 2, 3, 11500)), Outcome::kDuplicate);
}

TEST(ProducerTtl, EarlierTimestampDoesNotExpireAnything) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1, 10000)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 1, 2, 1)), Outcome::kDuplicate);
  EXPECT_EQ(h.engine.Snapshot(kTp).producers.at(0).last_seen, TimestampMs(10000)) << "the max timestamp seen";
}

TEST(ProducerTtl, OtherProducersActivityDoesNotKeepAProducerAlive) {
  EngineHarness h(TtlOptions());
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1, 10000)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("q", 0, 0, 2, 10900)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 3, 11500)), Outcome::kDelivered);
}

TEST(ProducerTtl, ExpiredProducersMessageInProgressIsAbandonedNotLost) {
  EngineHarness h(TtlOptions());
  OwnedRecord first = FirstHalf("p", 5, 3, 1);
  first.timestamp = TimestampMs(10000);
  ASSERT_EQ(h.Feed(first), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(Single("p", 0, 1, 2, 12000)), Outcome::kDelivered);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(DeadLetteredOffsets(h.sink, RejectReason::kAbandoned), std::vector<std::int64_t>{1});
}

// --- PurgeExpired ------------------------------------------------------------------

TEST(PurgeExpired, ForgetsProducersIdleLongerThanTtlJudgedByLargestTimestamp) {
  EngineHarness h(TtlOptions());
  h.Feed(Single("a", 0, 1, 1, 1000));
  h.Feed(Single("b", 0, 1, 2, 1999));
  h.Feed(Single("c", 0, 1, 3, 2000));
  h.Feed(Single("d", 0, 1, 4, 3000));
  ASSERT_EQ(h.engine.ProducerCount(kTp), 4u);
  // Largest timestamp 3000: a (2000 idle) and b (1001) are expired; c (1000
  // idle, exactly the TTL) and d are not.
  EXPECT_EQ(h.engine.PurgeExpired(kTp, 100), 2u);
  EXPECT_EQ(h.engine.ProducerCount(kTp), 2u);
  EXPECT_EQ(h.engine.counters().producers_expired, 2u);
  std::vector<std::string> left;
  for (const auto& p : h.engine.Snapshot(kTp).producers) left.push_back(p.producer);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(h.engine.PurgeExpired(kTp, 100), 0u);
  EXPECT_THAT(h.sink.records, IsEmpty());
}

TEST(PurgeExpired, RespectsTheBudgetAndResumesWhereItStopped) {
  EngineHarness h(TtlOptions());
  for (int i = 0; i < 7; ++i) h.Feed(Single("old" + std::to_string(i), 0, 1, i, 1000));
  for (int i = 0; i < 3; ++i) h.Feed(Single("new" + std::to_string(i), 0, 1, 10 + i, 5000));
  EXPECT_EQ(h.engine.PurgeExpired(kTp, 0), 0u);
  std::size_t erased = 0;
  for (int call = 0; call < 10; ++call) {
    const std::size_t n = h.engine.PurgeExpired(kTp, 2);
    EXPECT_LE(n, 2u);
    erased += n;
  }
  EXPECT_EQ(erased, 7u);
  EXPECT_EQ(h.engine.ProducerCount(kTp), 3u);
}

TEST(PurgeExpired, NeverUsesTheWallClock) {
  EngineHarness h(TtlOptions());
  h.Feed(Single("a", 0, 1, 1, 1));  // 1970
  h.Feed(Single("b", 0, 1, 2, 2));
  EXPECT_EQ(h.engine.PurgeExpired(kTp, 100), 0u);
  EXPECT_EQ(h.engine.ProducerCount(kTp), 2u);
}

TEST(PurgeExpired, PurgedProducerIsUnknownAfterwards) {
  EngineHarness h(TtlOptions());
  h.Feed(Single("a", 0, 9, 1, 1000));
  h.Feed(Single("b", 0, 1, 2, 5000));
  ASSERT_EQ(h.engine.PurgeExpired(kTp, 100), 1u);
  EXPECT_EQ(h.Feed(Single("a", 0, 2, 3, 5001)), Outcome::kDelivered);
}

TEST(PurgeExpired, UnknownPartitionPurgesNothing) {
  EngineHarness h(TtlOptions());
  EXPECT_EQ(h.engine.PurgeExpired(TopicPartition{Topic("nope"), Partition(3)}, 100), 0u);
}

}  // namespace
}  // namespace exactly::test
