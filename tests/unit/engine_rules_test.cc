// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// One named test per decision rule of DESIGN.md §3, plus gaps, epochs,
// reassembled message fields, unstamped policies, malformed records and
// counters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine_test_support.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "exactly/envelope.h"

namespace exactly::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

EpochSeq ES(std::uint64_t e, std::uint64_t s) { return EpochSeq{Epoch(e), Sequence(s)}; }

OwnedRecord Single(std::string_view producer, std::uint64_t e, std::uint64_t s, std::int64_t offset,
                   std::string value = "v") {
  return RecordBuilder(offset).Key("k").Value(std::move(value)).Stamp(producer, e, s).Build();
}

const TopicPartition kTp{Topic("t"), Partition(0)};

std::optional<EpochSeq> Watermark(const Engine& engine, const TopicPartition& tp, std::string_view producer) {
  for (const auto& p : engine.Snapshot(tp).producers) {
    if (p.producer == producer) return p.watermark;
  }
  return std::nullopt;
}

const InProgressState* FindInProgress(const PartitionState& s, std::string_view producer) {
  for (const auto& p : s.in_progress) {
    if (p.header.producer == producer) return &p;
  }
  return nullptr;
}

// A dead-lettered chunk of a corrupt or abandoned message carries the
// message's stamp and chunk headers, chunk 0's key (when known), and the
// chunk's own topic, partition, offset, timestamp and bytes.
void ExpectReconstructedChunk(const RejectedRecord& rejected, const OwnedRecord& original,
                              const std::optional<std::string>& key0) {
  SCOPED_TRACE("dead-lettered chunk at offset " + std::to_string(original.offset.value()));
  const OwnedRecord& r = rejected.record;
  EXPECT_EQ(r.topic, original.topic);
  EXPECT_EQ(r.partition, original.partition);
  EXPECT_EQ(r.offset, original.offset);
  EXPECT_EQ(r.timestamp, original.timestamp);
  EXPECT_EQ(r.value.value_or(""), original.value.value_or(""));
  EXPECT_EQ(r.key, key0);
  const RecordView rv = r.view();
  const Envelope got = Classify(rv.headers);
  const RecordView ov = original.view();
  const Envelope want = Classify(ov.headers);
  ASSERT_EQ(got.kind, EnvelopeKind::kStamped);
  EXPECT_EQ(got.producer, want.producer);
  EXPECT_EQ(got.stamp, want.stamp);
  ASSERT_TRUE(got.chunk.has_value());
  EXPECT_EQ(got.chunk->index, want.chunk->index);
  EXPECT_EQ(got.chunk->count, want.chunk->count);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.crc, want.crc);
}

class EngineRules : public ::testing::Test {
 protected:
  EngineHarness h;
};

// --- rule 1 -----------------------------------------------------------------

TEST_F(EngineRules, Rule1UnknownProducerUnchunkedRecordIsDeliveredAndSetsWatermark) {
  EXPECT_EQ(h.Feed(Single("p", 3, 17, 100, "hello")), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  const DeliveredMessage& m = h.delivered[0];
  EXPECT_TRUE(m.stamped);
  EXPECT_EQ(m.producer, "p");
  EXPECT_EQ(m.stamp, ES(3, 17));
  EXPECT_EQ(m.value, "hello");
  EXPECT_EQ(m.chunks, 0u);
  EXPECT_FALSE(m.gap) << "an unknown producer has no watermark to have a gap from";
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(3, 17));
  EXPECT_EQ(h.engine.ProducerCount(kTp), 1u);
  EXPECT_TRUE(h.engine.HasPartition(kTp));
  EXPECT_EQ(h.engine.counters().gaps, 0u);
}

TEST_F(EngineRules, Rule1UnknownProducerChunkStartsMessageInProgress) {
  const auto chunks = MakeChunks("p", 0, 4, {"ab", "cd"}, 10);
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kBuffered);
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_EQ(h.engine.BufferedBytes(), 2u);
  const PartitionState s = h.engine.Snapshot(kTp);
  const InProgressState* p = FindInProgress(s, "p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->header.stamp, ES(0, 4));
  EXPECT_EQ(p->header.count, 2u);
  EXPECT_EQ(p->header.size, 4u);
  EXPECT_EQ(p->header.crc, crc32c::Value("abcd"));
  EXPECT_EQ(p->header.first_offset, Offset(11));
  EXPECT_FALSE(p->header.have_chunk0);
  ASSERT_EQ(p->chunks.size(), 1u);
  EXPECT_EQ(p->chunks[0].index, 1u);
}

TEST_F(EngineRules, Rule1ProducerStateIsPerTopicAndPartition) {
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(RecordBuilder(1).OnPartition(1).Value("v").Stamp("p", 0, 5).Build()), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(RecordBuilder(1).OnTopic("u").Value("v").Stamp("p", 0, 5).Build()), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 2)), Outcome::kDuplicate);
  EXPECT_EQ(h.delivered.size(), 3u);
  EXPECT_EQ(h.engine.TotalProducerCount(), 3u);
  EXPECT_EQ(h.engine.Partitions().size(), 3u);
}

// --- rule 2 -----------------------------------------------------------------

TEST_F(EngineRules, Rule2OlderEpochThanWatermarkIsStale) {
  ASSERT_EQ(h.Feed(Single("p", 2, 5, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 1, 100, 2)), Outcome::kStale);
  EXPECT_EQ(h.Feed(Single("p", 0, 0, 3)), Outcome::kStale);
  EXPECT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.engine.counters().stale, 2u);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(2, 5));
  EXPECT_THAT(h.sink.records, IsEmpty()) << "stale records are dropped, not dead-lettered";
}

TEST_F(EngineRules, Rule2OlderEpochThanInProgressMessageIsStaleEvenAboveWatermark) {
  ASSERT_EQ(h.Feed(Single("p", 2, 5, 1)), Outcome::kDelivered);
  const auto chunks = MakeChunks("p", 3, 0, {"x", "y"}, 2);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  // (2, 9) > W = (2, 5), but M = P = (3, 0): the old epoch is fenced.
  EXPECT_EQ(h.Feed(Single("p", 2, 9, 4)), Outcome::kStale);
  EXPECT_EQ(h.engine.InProgressCount(), 1u) << "a stale record leaves P alone";
  OwnedRecord last = chunks[1];
  last.offset = Offset(5);
  EXPECT_EQ(h.Feed(last), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].stamp, ES(3, 0));
}

TEST_F(EngineRules, Rule2StaleChunkIsStale) {
  ASSERT_EQ(h.Feed(Single("p", 1, 0, 1)), Outcome::kDelivered);
  const auto chunks = MakeChunks("p", 0, 7, {"x", "y"}, 2);
  EXPECT_EQ(h.Feed(chunks[0]), Outcome::kStale);
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kStale);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
}

// --- rule 3 -----------------------------------------------------------------

TEST_F(EngineRules, Rule3BelowWatermarkIsDuplicate) {
  ASSERT_EQ(h.Feed(Single("p", 1, 5, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 1, 4, 2)), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed(Single("p", 1, 0, 3)), Outcome::kDuplicate);
  EXPECT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.engine.counters().duplicate, 2u);
  EXPECT_THAT(h.sink.records, IsEmpty()) << "duplicates are dropped, not dead-lettered";
}

TEST_F(EngineRules, Rule3EqualToWatermarkIsDuplicate) {
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 2)), Outcome::kDuplicate);
  // Also as a chunk of a message with W's stamp (a retried chunked message).
  const auto chunks = MakeChunks("p", 0, 5, {"a", "b"}, 3);
  EXPECT_EQ(h.Feed(chunks[0]), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kDuplicate);
  EXPECT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.counters().duplicate, 3u);
}

TEST_F(EngineRules, Rule3ResentChunkedMessageIsDuplicate) {
  const auto chunks = MakeChunks("p", 0, 1, {"ab", "cd", "ef"}, 1);
  h.FeedAll(chunks);
  ASSERT_EQ(h.delivered.size(), 1u);
  auto again = MakeChunks("p", 0, 1, {"ab", "cd", "ef"}, 4);
  EXPECT_THAT(h.FeedAll(again), ElementsAre(Outcome::kDuplicate, Outcome::kDuplicate, Outcome::kDuplicate));
  EXPECT_EQ(h.delivered.size(), 1u);
}

TEST_F(EngineRules, Rule3LateRecordBetweenWatermarkAndInProgressIsDropped) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  const auto chunks = MakeChunks("p", 0, 5, {"xx", "yy"}, 2);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  // W = (0,1) < (0,3) < P = (0,5) = M: late, dropped; P is kept.
  EXPECT_EQ(h.Feed(Single("p", 0, 3, 4)), Outcome::kDuplicate);
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  OwnedRecord last = chunks[1];
  last.offset = Offset(5);
  EXPECT_EQ(h.Feed(last), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].stamp, ES(0, 5));
  EXPECT_EQ(h.delivered[1].value, "xxyy");
  // Still late after P was delivered.
  EXPECT_EQ(h.Feed(Single("p", 0, 3, 6)), Outcome::kDuplicate);
  EXPECT_EQ(h.delivered.size(), 2u);
}

// --- rule 4 -----------------------------------------------------------------

TEST_F(EngineRules, Rule4ChunksOfInProgressMessageAreBuffered) {
  const auto chunks = MakeChunks("p", 0, 0, {"aa", "bbb", "c", "dddd"}, 10);
  EXPECT_EQ(h.Feed(chunks[2]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(chunks[3]), Outcome::kBuffered);
  EXPECT_EQ(h.engine.BufferedBytes(), 5u + HeldBytes(chunks[0]));
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  const PartitionState s = h.engine.Snapshot(kTp);
  ASSERT_EQ(s.in_progress.size(), 1u);
  std::vector<std::uint32_t> indexes;
  for (const auto& c : s.in_progress[0].chunks) indexes.push_back(c.index);
  EXPECT_THAT(indexes, ElementsAre(0u, 2u, 3u)) << "chunks are kept in ascending index order";
  EXPECT_EQ(s.in_progress[0].header.first_offset, Offset(12)) << "the first chunk received, not chunk 0";
  EXPECT_TRUE(s.in_progress[0].header.have_chunk0);
  EXPECT_EQ(s.in_progress[0].header.key0, "key-0");
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "aabbbcdddd");
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
}

TEST_F(EngineRules, Rule4ChunkWithDifferentCountIsMalformedAndInProgressIsKept) {
  const auto chunks = MakeChunks("p", 0, 1, {"a", "b", "c"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  // Same stamp, claims N = 4.
  const auto other = MakeChunks("p", 0, 1, {"a", "b", "c", ""}, 2);
  EXPECT_EQ(h.Feed(other[1]), Outcome::kMalformed);
  EXPECT_EQ(h.engine.counters().malformed, 1u);
  EXPECT_EQ(ReasonCount(h.engine.counters(), MalformedReason::kChunkMismatch), 1u);
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kMalformed);
  EXPECT_EQ(h.sink.records[0].detail, MalformedReasonName(MalformedReason::kChunkMismatch));
  EXPECT_EQ(h.sink.records[0].record, other[1]) << "a malformed record is dead-lettered as it came";
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(chunks[0])) << "the mismatching chunk is not held";
  OwnedRecord c1 = chunks[1], c2 = chunks[2];
  c1.offset = Offset(3);
  c2.offset = Offset(4);
  EXPECT_EQ(h.Feed(c1), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(c2), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "abc");
}

TEST_F(EngineRules, Rule4ChunkWithDifferentSizeIsMalformedAndInProgressIsKept) {
  const auto chunks = MakeChunks("p", 0, 1, {"ab", "cd"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  OwnedRecord bad = RecordBuilder(2)
                        .Value("cd")
                        .Stamp("p", 0, 1)
                        .Chunk(1, 2)
                        .Size(5)
                        .Crc(crc32c::Value("abcd"))
                        .Build();
  EXPECT_EQ(h.Feed(bad), Outcome::kMalformed);
  EXPECT_EQ(ReasonCount(h.engine.counters(), MalformedReason::kChunkMismatch), 1u);
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  OwnedRecord good = chunks[1];
  good.offset = Offset(3);
  EXPECT_EQ(h.Feed(good), Outcome::kDelivered);
  EXPECT_EQ(h.delivered.size(), 1u);
}

TEST_F(EngineRules, Rule4ChunkWithDifferentCrcIsMalformedAndInProgressIsKept) {
  const auto chunks = MakeChunks("p", 0, 1, {"ab", "cd"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  OwnedRecord bad =
      RecordBuilder(2).Value("cd").Stamp("p", 0, 1).Chunk(1, 2).Size(4).Crc(crc32c::Value("abcd") ^ 1).Build();
  EXPECT_EQ(h.Feed(bad), Outcome::kMalformed);
  EXPECT_EQ(ReasonCount(h.engine.counters(), MalformedReason::kChunkMismatch), 1u);
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].detail, MalformedReasonName(MalformedReason::kChunkMismatch));
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  OwnedRecord good = chunks[1];
  good.offset = Offset(3);
  EXPECT_EQ(h.Feed(good), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "abcd");
}

// An unchunked record has no N, size or crc of P's, so it cannot be a chunk
// of P: rule 4 makes it malformed, and P is kept.
TEST_F(EngineRules, Rule4UnchunkedRecordWithInProgressStampIsMalformed) {
  const auto chunks = MakeChunks("p", 0, 1, {"ab", "cd"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(Single("p", 0, 1, 2, "abcd")), Outcome::kMalformed);
  EXPECT_EQ(ReasonCount(h.engine.counters(), MalformedReason::kChunkMismatch), 1u);
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_THAT(h.delivered, IsEmpty());
}

TEST_F(EngineRules, Rule4DuplicateChunkIndexIsIgnoredAndFirstCopyWins) {
  const auto chunks = MakeChunks("p", 0, 1, {"first", "-tail"}, 1);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  // A second copy of chunk 0 with different bytes but the same claims.
  OwnedRecord copy = chunks[0];
  copy.offset = Offset(2);
  copy.value = "FIRST";
  copy.key = "other-key";
  EXPECT_EQ(h.Feed(copy), Outcome::kChunkDuplicate);
  EXPECT_EQ(h.engine.counters().chunk_duplicate, 1u);
  EXPECT_EQ(h.engine.BufferedBytes(), HeldBytes(chunks[0])) << "the duplicate chunk is not held";
  EXPECT_THAT(h.sink.records, IsEmpty()) << "a duplicate chunk is dropped, not dead-lettered";
  OwnedRecord tail = chunks[1];
  tail.offset = Offset(3);
  EXPECT_EQ(h.Feed(tail), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "first-tail");
  EXPECT_EQ(h.delivered[0].key, "key-0");
}

// --- rule 5 -----------------------------------------------------------------

TEST_F(EngineRules, Rule5CompleteMessageIsDeliveredAndUpdatesWatermark) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  const auto chunks = MakeChunks("p", 0, 2, {"one", "two", "three"}, 2);
  EXPECT_THAT(h.FeedAll(chunks), ElementsAre(Outcome::kBuffered, Outcome::kBuffered, Outcome::kDelivered));
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].value, "onetwothree");
  EXPECT_EQ(h.delivered[1].chunks, 3u);
  EXPECT_EQ(h.delivered[1].stamp, ES(0, 2));
  EXPECT_FALSE(h.delivered[1].gap);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 2));
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.engine.counters().delivered_chunked, 1u);
  EXPECT_EQ(h.Feed(Single("p", 0, 2, 5)), Outcome::kDuplicate);
}

TEST_F(EngineRules, Rule5WrongSizeIsCorruptWatermarkUnchangedInProgressClearedDeadLettered) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  std::vector<OwnedRecord> chunks;
  for (std::uint32_t i = 0; i < 2; ++i) {
    chunks.push_back(RecordBuilder(2 + i)
                         .Key("key-" + std::to_string(i))
                         .Value(i == 0 ? "abc" : "def")
                         .Stamp("p", 0, 2)
                         .Chunk(i, 2)
                         .Size(7)  // really 6
                         .Crc(crc32c::Value("abcdef"))
                         .Build());
  }
  EXPECT_THAT(h.FeedAll(chunks), ElementsAre(Outcome::kBuffered, Outcome::kCorrupt));
  EXPECT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.engine.counters().corrupt, 1u);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 1)) << "W unchanged";
  EXPECT_EQ(h.engine.InProgressCount(), 0u) << "P cleared";
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  ASSERT_EQ(h.sink.records.size(), 2u) << "one dead letter per held chunk";
  std::vector<RejectedRecord> dl = h.sink.records;
  std::sort(dl.begin(), dl.end(),
            [](const RejectedRecord& a, const RejectedRecord& b) { return a.record.offset < b.record.offset; });
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(dl[i].reason, RejectReason::kCorrupt);
  // The held chunk is rebuilt from the message; the completing record is
  // dead-lettered as it came.
  ExpectReconstructedChunk(dl[0], chunks[0], "key-0");
  EXPECT_EQ(dl[1].record, chunks[1]);
  EXPECT_EQ(h.engine.counters().dead_lettered, 2u);
  // Because W is unchanged, the same stamp sent correctly is delivered.
  const auto fixed = MakeChunks("p", 0, 2, {"abc", "def"}, 4);
  EXPECT_THAT(h.FeedAll(fixed), ElementsAre(Outcome::kBuffered, Outcome::kDelivered));
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].value, "abcdef");
}

TEST_F(EngineRules, Rule5WrongCrcIsCorruptWatermarkUnchangedInProgressClearedDeadLettered) {
  auto chunks = MakeChunks("p", 0, 1, {"abc", "def", "g"}, 1);
  chunks[1].value = "dEf";  // same length, different bytes
  EXPECT_THAT(h.FeedAll(chunks), ElementsAre(Outcome::kBuffered, Outcome::kBuffered, Outcome::kCorrupt));
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(h.engine.counters().corrupt, 1u);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), std::nullopt) << "W unchanged (nothing delivered yet)";
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  ASSERT_EQ(h.sink.records.size(), 3u);
  std::vector<RejectedRecord> dl = h.sink.records;
  std::sort(dl.begin(), dl.end(),
            [](const RejectedRecord& a, const RejectedRecord& b) { return a.record.offset < b.record.offset; });
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(dl[i].reason, RejectReason::kCorrupt);
  ExpectReconstructedChunk(dl[0], chunks[0], "key-0");
  ExpectReconstructedChunk(dl[1], chunks[1], "key-0");
  EXPECT_EQ(dl[2].record, chunks[2]) << "the completing record, as it came";
  // A later message of the same producer is not a duplicate of nothing.
  EXPECT_EQ(h.Feed(Single("p", 0, 1, 10, "abcdefg")), Outcome::kDelivered);
}

TEST_F(EngineRules, Rule5UnchunkedRecordWithCorrectSizeAndCrcIsDelivered) {
  OwnedRecord r = RecordBuilder(1).Value("payload").Stamp("p", 0, 1).SizeAndCrcOf("payload").Build();
  EXPECT_EQ(h.Feed(r), Outcome::kDelivered);
  OwnedRecord size_only = RecordBuilder(2).Value("payload").Stamp("p", 0, 2).Size(7).Build();
  EXPECT_EQ(h.Feed(size_only), Outcome::kDelivered);
  OwnedRecord crc_only = RecordBuilder(3).Value("payload").Stamp("p", 0, 3).Crc(crc32c::Value("payload")).Build();
  EXPECT_EQ(h.Feed(crc_only), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 3u);
  EXPECT_EQ(h.delivered[0].chunks, 0u);
}

TEST_F(EngineRules, Rule5UnchunkedRecordWithWrongSizeIsCorrupt) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  OwnedRecord r = RecordBuilder(2).Value("payload").Stamp("p", 0, 2).Size(8).Build();
  EXPECT_EQ(h.Feed(r), Outcome::kCorrupt);
  EXPECT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.engine.counters().corrupt, 1u);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 1));
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kCorrupt);
  EXPECT_EQ(h.sink.records[0].record.offset, Offset(2));
  EXPECT_EQ(h.sink.records[0].record.value, "payload");
}

TEST_F(EngineRules, Rule5UnchunkedRecordWithWrongCrcIsCorruptAndWatermarkUnchanged) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  OwnedRecord r = RecordBuilder(2).Value("payload").Stamp("p", 0, 2).Crc(crc32c::Value("Payload")).Build();
  EXPECT_EQ(h.Feed(r), Outcome::kCorrupt);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 1));
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kCorrupt);
  // W unchanged: the intact resend is delivered.
  OwnedRecord fixed = RecordBuilder(3).Value("payload").Stamp("p", 0, 2).Crc(crc32c::Value("payload")).Build();
  EXPECT_EQ(h.Feed(fixed), Outcome::kDelivered);
}

// --- rule 6 -----------------------------------------------------------------

TEST_F(EngineRules, Rule6NewerUnchunkedRecordAbandonsInProgressAndIsDelivered) {
  ASSERT_EQ(h.Feed(Single("p", 0, 0, 1)), Outcome::kDelivered);
  auto chunks = MakeChunks("p", 0, 1, {"abc", "def"}, 2);
  ASSERT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(Single("p", 0, 2, 3)), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].stamp, ES(0, 2));
  EXPECT_TRUE(h.delivered[1].gap) << "the abandoned (0,1) was never delivered";
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(h.engine.counters().abandoned_chunks, 1u);
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kAbandoned);
  ExpectReconstructedChunk(h.sink.records[0], chunks[0], "key-0");
  // The rest of the abandoned message is now late.
  chunks[1].offset = Offset(4);
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kDuplicate);
  EXPECT_EQ(h.delivered.size(), 2u);
}

TEST_F(EngineRules, Rule6NewerChunkAbandonsInProgressAndStartsNewMessage) {
  const auto old = MakeChunks("p", 0, 1, {"abc", "def", "ghi"}, 1);
  ASSERT_EQ(h.Feed(old[1]), Outcome::kBuffered);
  ASSERT_EQ(h.Feed(old[2]), Outcome::kBuffered);
  const auto next = MakeChunks("p", 0, 2, {"jk", "lm"}, 3);
  EXPECT_EQ(h.Feed(next[1]), Outcome::kBuffered);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(h.engine.counters().abandoned_chunks, 2u);
  ASSERT_EQ(h.sink.records.size(), 2u);
  for (const auto& r : h.sink.records) EXPECT_EQ(r.reason, RejectReason::kAbandoned);
  std::vector<RejectedRecord> dl = h.sink.records;
  std::sort(dl.begin(), dl.end(),
            [](const RejectedRecord& a, const RejectedRecord& b) { return a.record.offset < b.record.offset; });
  // Chunk 0 never arrived, so there is no key to carry.
  ExpectReconstructedChunk(dl[0], old[1], std::nullopt);
  ExpectReconstructedChunk(dl[1], old[2], std::nullopt);
  EXPECT_EQ(h.engine.InProgressCount(), 1u);
  EXPECT_EQ(h.engine.BufferedBytes(), 2u);
  const PartitionState s = h.engine.Snapshot(kTp);
  ASSERT_EQ(s.in_progress.size(), 1u);
  EXPECT_EQ(s.in_progress[0].header.stamp, ES(0, 2));
  EXPECT_EQ(s.in_progress[0].header.first_offset, Offset(4));
  OwnedRecord n0 = next[0];
  n0.offset = Offset(5);
  EXPECT_EQ(h.Feed(n0), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "jklm");
  EXPECT_FALSE(h.delivered[0].gap) << "no watermark yet";
}

TEST_F(EngineRules, Rule6NewerEpochAbandonsInProgress) {
  const auto old = MakeChunks("p", 4, 100, {"abc", "def"}, 1);
  ASSERT_EQ(h.Feed(old[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(Single("p", 5, 0, 2)), Outcome::kDelivered);
  EXPECT_EQ(h.engine.counters().abandoned, 1u);
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  OwnedRecord rest = old[1];
  rest.offset = Offset(3);
  EXPECT_EQ(h.Feed(rest), Outcome::kStale);
}

TEST_F(EngineRules, Rule6SingleChunkMessageCompletesAtOnce) {
  OwnedRecord r = RecordBuilder(7)
                      .Key("k0")
                      .Value("whole")
                      .Header("before", "1")
                      .Stamp("p", 0, 3)
                      .Chunk(0, 1)
                      .SizeAndCrcOf("whole")
                      .Header("after", "2")
                      .Build();
  EXPECT_EQ(h.Feed(r), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  const DeliveredMessage& m = h.delivered[0];
  EXPECT_EQ(m.value, "whole");
  EXPECT_EQ(m.key, "k0");
  EXPECT_EQ(m.chunks, 1u);
  EXPECT_EQ(m.offset, Offset(7));
  EXPECT_THAT(m.headers, ElementsAre(OwnedHeader{"before", "1"}, OwnedHeader{"eo.producer", "p"},
                                     OwnedHeader{"eo.epoch", "0"}, OwnedHeader{"eo.seq", "3"},
                                     OwnedHeader{"after", "2"}));
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  EXPECT_EQ(h.engine.counters().delivered_chunked, 0u) << "N = 1 is not reassembled from N >= 2 chunks";
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 3));
}

TEST_F(EngineRules, Rule6SingleChunkMessageWithWrongCrcIsCorrupt) {
  OwnedRecord r = RecordBuilder(7).Value("whole").Stamp("p", 0, 3).Chunk(0, 1).Size(5).Crc(0x12345678).Build();
  EXPECT_EQ(h.Feed(r), Outcome::kCorrupt);
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kCorrupt);
}

// --- gaps and epochs --------------------------------------------------------

TEST_F(EngineRules, GapWithinEpochIsAcceptedAndCounted) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("p", 0, 2, 2)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("p", 0, 9, 3)), Outcome::kDelivered);
  ASSERT_EQ(h.Feed(Single("p", 0, 10, 4)), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 4u);
  EXPECT_FALSE(h.delivered[1].gap);
  EXPECT_TRUE(h.delivered[2].gap);
  EXPECT_FALSE(h.delivered[3].gap);
  EXPECT_EQ(h.engine.counters().gaps, 1u);
  // The skipped sequences are now below W.
  EXPECT_EQ(h.Feed(Single("p", 0, 5, 5)), Outcome::kDuplicate);
}

TEST_F(EngineRules, GapIsMeasuredForReassembledMessages) {
  ASSERT_EQ(h.Feed(Single("p", 0, 1, 1)), Outcome::kDelivered);
  h.FeedAll(MakeChunks("p", 0, 4, {"a", "b"}, 2));
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_TRUE(h.delivered[1].gap);
  EXPECT_EQ(h.engine.counters().gaps, 1u);
}

TEST_F(EngineRules, NewEpochMayRestartAtLowerSequenceWithoutGap) {
  ASSERT_EQ(h.Feed(Single("p", 0, 100, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 1, 0, 2)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", 3, 7, 3)), Outcome::kDelivered) << "epochs need not be contiguous either";
  ASSERT_EQ(h.delivered.size(), 3u);
  EXPECT_FALSE(h.delivered[1].gap);
  EXPECT_FALSE(h.delivered[2].gap);
  EXPECT_EQ(h.engine.counters().gaps, 0u);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(3, 7));
  EXPECT_EQ(h.Feed(Single("p", 0, 101, 4)), Outcome::kStale) << "the old epoch is fenced";
  EXPECT_EQ(h.Feed(Single("p", 1, 1, 5)), Outcome::kStale);
}

TEST_F(EngineRules, MaximumEpochAndSequenceAreHandled) {
  const std::uint64_t max = UINT64_MAX;
  ASSERT_EQ(h.Feed(Single("p", max, max - 1, 1)), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(Single("p", max, max, 2)), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_FALSE(h.delivered[1].gap);
  EXPECT_EQ(h.Feed(Single("p", max, max, 3)), Outcome::kDuplicate);
  EXPECT_EQ(h.Feed(Single("p", max - 1, max, 4)), Outcome::kStale);
}

// --- reassembled message fields ---------------------------------------------

TEST_F(EngineRules, ReassembledMessageHasCompletingChunkOffsetAndTimestampAndChunkZeroKeyAndHeaders) {
  std::vector<OwnedRecord> chunks;
  const std::string whole = "0123456789";
  const std::vector<std::string> pieces = {"0123", "456", "789"};
  for (std::uint32_t i = 0; i < 3; ++i) {
    RecordBuilder b(0);
    b.OnTopic("orders").OnPartition(3).Key("key-" + std::to_string(i)).Value(pieces[i]);
    b.Header("x-first", "chunk" + std::to_string(i));
    b.Stamp("prod-1", 2, 40).Chunk(i, 3).SizeAndCrcOf(whole);
    b.Header("eo.trace", "abc").Header("x-null", std::nullopt).Header("x-chunk", std::to_string(i));
    chunks.push_back(b.Build());
  }
  // Arrival order 2, 0, 1 with distinct offsets and timestamps.
  chunks[2].offset = Offset(500);
  chunks[2].timestamp = TimestampMs(9000);
  chunks[0].offset = Offset(501);
  chunks[0].timestamp = TimestampMs(7000);
  chunks[1].offset = Offset(502);
  chunks[1].timestamp = TimestampMs(8000);
  EXPECT_EQ(h.Feed(chunks[2]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(chunks[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(chunks[1]), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  const DeliveredMessage& m = h.delivered[0];
  EXPECT_EQ(m.topic, "orders");
  EXPECT_EQ(m.partition, Partition(3));
  EXPECT_EQ(m.offset, Offset(502)) << "offset of the chunk that completed it";
  EXPECT_EQ(m.timestamp, TimestampMs(8000)) << "timestamp of the chunk that completed it";
  EXPECT_EQ(m.key, "key-0");
  EXPECT_EQ(m.value, whole);
  EXPECT_TRUE(m.stamped);
  EXPECT_EQ(m.producer, "prod-1");
  EXPECT_EQ(m.stamp, ES(2, 40));
  EXPECT_EQ(m.chunks, 3u);
  EXPECT_THAT(m.headers, ElementsAre(OwnedHeader{"x-first", "chunk0"}, OwnedHeader{"eo.producer", "prod-1"},
                                     OwnedHeader{"eo.epoch", "2"}, OwnedHeader{"eo.seq", "40"},
                                     OwnedHeader{"eo.trace", "abc"}, OwnedHeader{"x-null", std::nullopt},
                                     OwnedHeader{"x-chunk", "0"}));
}

TEST_F(EngineRules, ReassembledMessageKeyIsNullWhenChunkZeroKeyIsNull) {
  auto chunks = MakeChunks("p", 0, 0, {"a", "b"}, 1);
  chunks[0].key = std::nullopt;
  h.FeedAll(chunks);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].key, std::nullopt);
}

TEST_F(EngineRules, NullValueChunkIsAnEmptyChunk) {
  const auto chunks = MakeChunks("p", 0, 0, {"ab", std::nullopt, "", "cd"}, 1);
  EXPECT_THAT(h.FeedAll(chunks),
              ElementsAre(Outcome::kBuffered, Outcome::kBuffered, Outcome::kBuffered, Outcome::kDelivered));
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "abcd");
}

TEST_F(EngineRules, SingleNullChunkIsDeliveredAsEmptyNonNullValue) {
  OwnedRecord r = RecordBuilder(1).Value(std::nullopt).Stamp("p", 0, 0).Chunk(0, 1).Size(0).Crc(0).Build();
  EXPECT_EQ(h.Feed(r), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, std::optional<std::string>("")) << "a reassembled value is never null";
}

TEST_F(EngineRules, AllNullChunksReassembleToEmptyValue) {
  const auto chunks = MakeChunks("p", 0, 0, {std::nullopt, std::nullopt, std::nullopt}, 1);
  h.FeedAll(chunks);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, std::optional<std::string>(""));
  EXPECT_EQ(h.engine.BufferedBytes(), 0u);
}

TEST_F(EngineRules, UnchunkedStampedRecordIsDeliveredWithItsOwnFields) {
  OwnedRecord r = RecordBuilder(42)
                      .Ts(123456)
                      .Key(std::nullopt)
                      .Value(std::nullopt)
                      .Header("a", "1")
                      .Stamp("p", 0, 0)
                      .Header("eo.unknown", std::nullopt)
                      .Build();
  EXPECT_EQ(h.Feed(r), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 1u);
  const DeliveredMessage& m = h.delivered[0];
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.offset, Offset(42));
  EXPECT_EQ(m.timestamp, TimestampMs(123456));
  EXPECT_EQ(m.key, std::nullopt);
  EXPECT_EQ(m.value, std::nullopt) << "a single record's null value stays null";
  EXPECT_EQ(m.headers, r.headers);
  EXPECT_EQ(m.chunks, 0u);
}

// --- interleaving -------------------------------------------------------------

TEST_F(EngineRules, InterleavedChunksOfTwoProducersAreBothReassembled) {
  const auto a = MakeChunks("a", 0, 0, {"A0", "A1", "A2"}, 0);
  const auto b = MakeChunks("b", 7, 3, {"B0", "B1"}, 0);
  std::vector<OwnedRecord> order = {a[0], b[1], a[2], b[0], a[1]};
  for (std::size_t i = 0; i < order.size(); ++i) order[i].offset = Offset(static_cast<std::int64_t>(10 + i));
  EXPECT_THAT(h.FeedAll(order), ElementsAre(Outcome::kBuffered, Outcome::kBuffered, Outcome::kBuffered,
                                            Outcome::kDelivered, Outcome::kDelivered));
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[0].producer, "b");
  EXPECT_EQ(h.delivered[0].value, "B0B1");
  EXPECT_EQ(h.delivered[0].offset, Offset(13));
  EXPECT_EQ(h.delivered[1].producer, "a");
  EXPECT_EQ(h.delivered[1].value, "A0A1A2");
  EXPECT_EQ(h.delivered[1].offset, Offset(14));
  EXPECT_EQ(h.engine.counters().abandoned, 0u) << "another producer's chunk never abandons P";
}

TEST_F(EngineRules, OutOfOrderChunksAreReassembledInIndexOrder) {
  auto chunks = MakeChunks("p", 0, 0, {"a", "b", "c", "d", "e"}, 0);
  const std::vector<std::size_t> order = {4, 1, 3, 0, 2};
  std::int64_t off = 0;
  for (std::size_t i : order) {
    chunks[i].offset = Offset(off++);
    h.Feed(chunks[i]);
  }
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].value, "abcde");
  EXPECT_EQ(h.delivered[0].offset, Offset(4));
}

TEST_F(EngineRules, SameProducerOnTwoPartitionsReassemblesIndependently) {
  auto p0 = MakeChunks("p", 0, 0, {"x0", "x1"}, 0);
  auto p1 = MakeChunks("p", 0, 0, {"y0", "y1"}, 0);
  for (auto& r : p1) r.partition = Partition(1);
  EXPECT_EQ(h.Feed(p0[0]), Outcome::kBuffered);
  EXPECT_EQ(h.Feed(p1[0]), Outcome::kBuffered);
  EXPECT_EQ(h.engine.InProgressCount(), 2u);
  EXPECT_EQ(h.Feed(p1[1]), Outcome::kDelivered);
  EXPECT_EQ(h.Feed(p0[1]), Outcome::kDelivered);
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[0].value, "y0y1");
  EXPECT_EQ(h.delivered[0].partition, Partition(1));
  EXPECT_EQ(h.delivered[1].value, "x0x1");
}

// --- unstamped -------------------------------------------------------------------

TEST_F(EngineRules, UnstampedRecordPassesUnchangedByDefault) {
  OwnedRecord r = RecordBuilder(9)
                      .Key("k")
                      .Value("v")
                      .Header("eo.trace", "x")
                      .Header("other", std::nullopt)
                      .Build();
  EXPECT_EQ(h.Feed(r), Outcome::kUnstampedPassed);
  EXPECT_EQ(h.Feed(r), Outcome::kUnstampedPassed) << "unstamped records are not deduplicated";
  ASSERT_EQ(h.delivered.size(), 2u);
  const DeliveredMessage& m = h.delivered[0];
  EXPECT_FALSE(m.stamped);
  EXPECT_EQ(m.topic, r.topic);
  EXPECT_EQ(m.partition, r.partition);
  EXPECT_EQ(m.offset, r.offset);
  EXPECT_EQ(m.timestamp, r.timestamp);
  EXPECT_EQ(m.key, r.key);
  EXPECT_EQ(m.value, r.value);
  EXPECT_EQ(m.headers, r.headers);
  EXPECT_EQ(m.chunks, 0u);
  EXPECT_EQ(h.engine.counters().unstamped, 2u);
  EXPECT_EQ(h.engine.counters().unstamped_dropped, 0u);
  EXPECT_EQ(h.engine.counters().delivered, 2u);
  EXPECT_THAT(h.sink.records, IsEmpty());
  EXPECT_EQ(h.engine.TotalProducerCount(), 0u);
}

TEST(EngineUnstamped, DropPolicyDropsAndDeadLettersUnstampedRecords) {
  EngineOptions o;
  o.unstamped = UnstampedPolicy::kDrop;
  EngineHarness h(o);
  OwnedRecord r = RecordBuilder(3).Key("k").Value("v").Header("x", "y").Build();
  EXPECT_EQ(h.Feed(r), Outcome::kUnstampedDropped);
  EXPECT_THAT(h.delivered, IsEmpty());
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].reason, RejectReason::kUnstamped);
  EXPECT_EQ(h.sink.records[0].record, r);
  EXPECT_EQ(h.engine.counters().unstamped, 1u);
  EXPECT_EQ(h.engine.counters().unstamped_dropped, 1u);
  EXPECT_EQ(h.engine.counters().delivered, 0u);
  EXPECT_EQ(h.engine.counters().dead_lettered, 1u);
  // Stamped records are unaffected by the policy.
  EXPECT_EQ(h.Feed(Single("p", 0, 0, 4)), Outcome::kDelivered);
}

// --- malformed ------------------------------------------------------------------

struct MalformedCase {
  const char* name;
  MalformedReason reason;
  std::vector<OwnedHeader> headers;
};

std::vector<MalformedCase> MalformedCases() {
  return {
      {"MissingProducer", MalformedReason::kMissingProducer, {{"eo.epoch", "0"}, {"eo.seq", "1"}}},
      {"BadProducer", MalformedReason::kBadProducer, {{"eo.producer", "a b"}, {"eo.epoch", "0"}, {"eo.seq", "1"}}},
      {"MissingEpoch", MalformedReason::kMissingEpoch, {{"eo.producer", "p"}, {"eo.seq", "1"}}},
      {"BadEpoch", MalformedReason::kBadEpoch, {{"eo.producer", "p"}, {"eo.epoch", "-1"}, {"eo.seq", "1"}}},
      {"MissingSeq", MalformedReason::kMissingSeq, {{"eo.producer", "p"}, {"eo.epoch", "0"}}},
      {"BadSeq", MalformedReason::kBadSeq, {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "01"}}},
      {"RepeatedHeader",
       MalformedReason::kRepeatedHeader,
       {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.epoch", "0"}, {"eo.seq", "1"}}},
      {"BadChunk",
       MalformedReason::kBadChunk,
       {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "1"}, {"eo.chunk", "0/0"}, {"eo.size", "1"},
        {"eo.crc", "00000000"}}},
      {"ChunkWithoutSize",
       MalformedReason::kChunkWithoutSize,
       {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "1"}, {"eo.chunk", "0/2"}, {"eo.crc", "00000000"}}},
      {"ChunkWithoutCrc",
       MalformedReason::kChunkWithoutCrc,
       {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "1"}, {"eo.chunk", "0/2"}, {"eo.size", "1"}}},
      {"BadSize", MalformedReason::kBadSize, {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "1"}, {"eo.size", "1x"}}},
      {"BadCrc", MalformedReason::kBadCrc, {{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "1"}, {"eo.crc", "zz"}}},
  };
}

TEST_F(EngineRules, MalformedRecordsAreNeverDeliveredAndAreDeadLetteredAndCountedByReason) {
  std::int64_t offset = 0;
  for (const MalformedCase& c : MalformedCases()) {
    SCOPED_TRACE(c.name);
    OwnedRecord r = RecordBuilder(offset++).Key("k").Value("v").Build();
    r.headers = c.headers;
    const std::size_t before = h.sink.records.size();
    EXPECT_EQ(h.Feed(r), Outcome::kMalformed);
    EXPECT_EQ(ReasonCount(h.engine.counters(), c.reason), 1u);
    ASSERT_EQ(h.sink.records.size(), before + 1);
    const RejectedRecord& dl = h.sink.records.back();
    EXPECT_EQ(dl.reason, RejectReason::kMalformed);
    EXPECT_EQ(dl.detail, MalformedReasonName(c.reason));
    EXPECT_EQ(dl.record, r);
  }
  const std::size_t n = MalformedCases().size();
  EXPECT_THAT(h.delivered, IsEmpty());
  EXPECT_EQ(h.engine.counters().malformed, n);
  EXPECT_EQ(h.engine.counters().records, n);
  EXPECT_EQ(h.engine.counters().dead_lettered, n);
  EXPECT_EQ(h.engine.TotalProducerCount(), 0u) << "a malformed record creates no producer state";
  EXPECT_EQ(h.engine.InProgressCount(), 0u);
}

TEST_F(EngineRules, MalformedRecordLeavesProducerStateAlone) {
  ASSERT_EQ(h.Feed(Single("p", 0, 5, 1)), Outcome::kDelivered);
  OwnedRecord bad = RecordBuilder(2).Value("v").Stamp("p", 0, 6).Header("eo.crc", "xyz").Build();
  EXPECT_EQ(h.Feed(bad), Outcome::kMalformed);
  EXPECT_EQ(Watermark(h.engine, kTp, "p"), ES(0, 5));
  EXPECT_EQ(h.Feed(Single("p", 0, 6, 3)), Outcome::kDelivered);
}

TEST(EngineDeadLetters, WorksWithoutSinkAndCountsRejections) {
  Engine engine;  // no sink
  std::size_t delivered = 0;
  OwnedRecord bad = RecordBuilder(0).Value("v").Header("eo.seq", "1").Build();
  EXPECT_EQ(engine.Process(bad.view(), [&](const Message&) { ++delivered; }), Outcome::kMalformed);
  auto chunks = MakeChunks("p", 0, 0, {"ab", "cd"}, 1);
  chunks[1].value = "cD";
  for (const auto& c : chunks) (void)engine.Process(c.view(), [&](const Message&) { ++delivered; });
  EXPECT_EQ(delivered, 0u);
  EXPECT_EQ(engine.counters().malformed, 1u);
  EXPECT_EQ(engine.counters().corrupt, 1u);
}

TEST(EngineDeadLetters, SinkCanBeSetAfterConstruction) {
  Engine engine;
  RecordingSink sink;
  engine.set_dead_letter_sink(&sink);
  OwnedRecord bad = RecordBuilder(0).Value("v").Header("eo.epoch", "1").Build();
  EXPECT_EQ(engine.Process(bad.view(), [](const Message&) {}), Outcome::kMalformed);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].detail, MalformedReasonName(MalformedReason::kMissingProducer));
  engine.set_dead_letter_sink(nullptr);
  EXPECT_EQ(engine.Process(bad.view(), [](const Message&) {}), Outcome::kMalformed);
  EXPECT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(engine.counters().malformed, 2u);
}

// --- counters -------------------------------------------------------------------

TEST_F(EngineRules, CountersAddUp) {
  h.Feed(Single("p", 1, 1, 0));                                 // delivered
  h.Feed(Single("p", 1, 1, 1));                                 // duplicate
  h.Feed(Single("p", 0, 9, 2));                                 // stale
  h.Feed(Single("p", 1, 4, 3));                                 // delivered, gap
  h.Feed(RecordBuilder(4).Value("u").Build());                  // unstamped
  h.Feed(RecordBuilder(5).Value("m").Header("eo.seq", "1"));    // malformed
  auto chunks = MakeChunks("q", 0, 0, {"a", "b"}, 6);
  h.Feed(chunks[0]);                                            // buffered
  OwnedRecord dup = chunks[0];
  dup.offset = Offset(7);
  h.Feed(dup);                                                  // chunk duplicate
  chunks[1].offset = Offset(8);
  h.Feed(chunks[1]);                                            // delivered chunked
  auto corrupt = MakeChunks("q", 0, 1, {"a", "b"}, 9);
  corrupt[1].value = "c";
  h.FeedAll(corrupt);                                           // corrupt
  h.Feed(MakeChunks("q", 0, 2, {"a", "b"}, 11)[0]);             // buffered
  h.Feed(Single("q", 0, 3, 12));                                // abandons, delivered
  const Counters& c = h.engine.counters();
  EXPECT_EQ(c.records, 13u);
  EXPECT_EQ(c.delivered, 5u);
  EXPECT_EQ(c.delivered_chunked, 1u);
  EXPECT_EQ(c.duplicate, 1u);
  EXPECT_EQ(c.stale, 1u);
  EXPECT_EQ(c.malformed, 1u);
  EXPECT_EQ(ReasonCount(c, MalformedReason::kMissingProducer), 1u);
  EXPECT_EQ(c.corrupt, 1u);
  EXPECT_EQ(c.abandoned, 1u);
  EXPECT_EQ(c.abandoned_chunks, 1u);
  EXPECT_EQ(c.chunk_duplicate, 1u);
  EXPECT_EQ(c.unstamped, 1u);
  EXPECT_EQ(c.unstamped_dropped, 0u);
  EXPECT_EQ(c.gaps, 2u);  // (1,1) -> (1,4), and W (0,0) -> (0,3)
  EXPECT_EQ(c.dead_lettered, 1u + 2u + 1u);  // malformed + corrupt chunks + abandoned chunk
  EXPECT_EQ(c.dead_lettered, h.sink.records.size());
}

TEST(EngineCounters, PlusEqualsAddsEveryField) {
  Counters a, b;
  a.records = 1;
  a.delivered = 2;
  a.malformed_by_reason[3] = 4;
  a.gaps = 5;
  b.records = 10;
  b.delivered = 20;
  b.malformed_by_reason[3] = 40;
  b.malformed_by_reason[13] = 1;
  b.dead_lettered = 7;
  b.producers_expired = 8;
  a += b;
  EXPECT_EQ(a.records, 11u);
  EXPECT_EQ(a.delivered, 22u);
  EXPECT_EQ(a.malformed_by_reason[3], 44u);
  EXPECT_EQ(a.malformed_by_reason[13], 1u);
  EXPECT_EQ(a.gaps, 5u);
  EXPECT_EQ(a.dead_lettered, 7u);
  EXPECT_EQ(a.producers_expired, 8u);
}

TEST(EngineMove, MovedEngineKeepsStateSinkAndCounters) {
  RecordingSink sink;
  Engine a(EngineOptions{}, &sink);
  auto chunks = MakeChunks("p", 0, 1, {"ab", "cd"}, 1);
  ASSERT_EQ(a.Process(Single("p", 0, 0, 0).view(), [](const Message&) {}), Outcome::kDelivered);
  ASSERT_EQ(a.Process(chunks[0].view(), [](const Message&) {}), Outcome::kBuffered);
  Engine b(std::move(a));
  EXPECT_EQ(b.counters().records, 2u);
  EXPECT_EQ(b.InProgressCount(), 1u);
  Engine c;
  c = std::move(b);
  std::vector<DeliveredMessage> out;
  EXPECT_EQ(c.Process(chunks[1].view(), [&](const Message& m) { out.push_back(DeliveredMessage::From(m)); }),
            Outcome::kDelivered);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, "abcd");
  EXPECT_EQ(c.Process(Single("p", 0, 0, 3).view(), [](const Message&) {}), Outcome::kDuplicate);
  OwnedRecord bad = RecordBuilder(4).Value("v").Header("eo.seq", "1").Build();
  EXPECT_EQ(c.Process(bad.view(), [](const Message&) {}), Outcome::kMalformed);
  EXPECT_EQ(sink.records.size(), 1u) << "the sink moves with the engine";
}

// --- names and options --------------------------------------------------------

TEST(EngineNames, OutcomeAndRejectReasonNamesAreDistinctAndNonEmpty) {
  std::set<std::string_view> outcomes;
  for (int i = 0; i <= static_cast<int>(Outcome::kUnstampedDropped); ++i) {
    const std::string_view n = OutcomeName(static_cast<Outcome>(i));
    EXPECT_FALSE(n.empty());
    outcomes.insert(n);
  }
  EXPECT_EQ(outcomes.size(), static_cast<std::size_t>(Outcome::kUnstampedDropped) + 1);
  std::set<std::string_view> reasons;
  for (int i = 0; i <= static_cast<int>(RejectReason::kUnstamped); ++i) {
    const std::string_view n = RejectReasonName(static_cast<RejectReason>(i));
    EXPECT_FALSE(n.empty());
    reasons.insert(n);
  }
  EXPECT_EQ(reasons.size(), 4u);
}

TEST(EngineOptionsTest, DefaultsMatchDesignAndValidate) {
  const EngineOptions o;
  EXPECT_EQ(o.limits.max_chunks, 65536u);
  EXPECT_EQ(o.limits.max_message_bytes, 64ull * 1024 * 1024);
  EXPECT_EQ(o.unstamped, UnstampedPolicy::kPass);
  EXPECT_EQ(o.max_chunk_span, 100000u);
  EXPECT_EQ(o.max_buffer_bytes, 256ull * 1024 * 1024);
  EXPECT_EQ(o.producer_ttl_ms, 7ll * 24 * 3600 * 1000);
  EXPECT_TRUE(o.Validate().ok());
  Engine engine(o);
  EXPECT_EQ(engine.options().max_chunk_span, 100000u);
}

TEST(EngineOptionsTest, ValidateRejectsNonsense) {
  EngineOptions zero_chunks;
  zero_chunks.limits.max_chunks = 0;
  EXPECT_FALSE(zero_chunks.Validate().ok());
  EngineOptions negative_ttl;
  negative_ttl.producer_ttl_ms = -1;
  EXPECT_FALSE(negative_ttl.Validate().ok());
}

}  // namespace
}  // namespace exactly::test
