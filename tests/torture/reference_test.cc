// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The torture run's reference model and judge, on hand-made records: the
// torture is only as good as these two, so each rule and each kind of
// mismatch is shown to be seen.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "reference.h"
#include "verify.h"

namespace exactly::torture {
namespace {

using Headers = std::vector<OwnedHeader>;

OwnedRecord Rec(std::int32_t partition, std::int64_t offset, Headers headers, std::optional<std::string> value,
                std::optional<std::string> key = std::nullopt) {
  OwnedRecord r;
  r.topic = "in";
  r.partition = Partition(partition);
  r.offset = Offset(offset);
  r.timestamp = TimestampMs(1000 + offset);
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers = std::move(headers);
  return r;
}

Headers Stamp(const std::string& producer, std::uint64_t epoch, std::uint64_t seq) {
  return {{"eo.producer", producer}, {"eo.epoch", std::to_string(epoch)}, {"eo.seq", std::to_string(seq)}};
}

Headers Chunk(const std::string& producer, std::uint64_t epoch, std::uint64_t seq, std::string chunk,
              const std::string& whole) {
  Headers h = Stamp(producer, epoch, seq);
  h.push_back({"eo.chunk", std::move(chunk)});
  h.push_back({"eo.size", std::to_string(whole.size())});
  h.push_back({"eo.crc", fmt::format("{:08x}", SimpleCrc32c(whole))});
  return h;
}

TEST(TortureReference, Crc32cCheckValue) { EXPECT_EQ(SimpleCrc32c("123456789"), 0xE3069283u); }

TEST(TortureReference, EnvelopeValidity) {
  auto kind = [](Headers h) { return ParseEnvelope(h).kind; };
  EXPECT_EQ(kind({{"app", "x"}, {"eo.other", "y"}}), ParsedEnvelope::kUnstamped);
  EXPECT_EQ(kind(Stamp("p", 0, 18446744073709551615ull)), ParsedEnvelope::kStamped);
  EXPECT_EQ(kind({{"eo.producer", "p"}, {"eo.epoch", "0"}, {"eo.seq", "18446744073709551616"}}),
            ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind({{"eo.producer", "p"}, {"eo.epoch", "01"}, {"eo.seq", "1"}}), ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind({{"eo.producer", "a b"}, {"eo.epoch", "0"}, {"eo.seq", "1"}}), ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind({{"eo.producer", "p"}, {"eo.epoch", "0"}}), ParsedEnvelope::kMalformed);
  Headers twice = Stamp("p", 0, 1);
  twice.push_back({"eo.seq", "1"});
  EXPECT_EQ(kind(twice), ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind(Chunk("p", 0, 1, "1/1", "x")), ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind(Chunk("p", 0, 1, "0/01", "x")), ParsedEnvelope::kMalformed);
  EXPECT_EQ(kind(Chunk("p", 0, 1, "0/65537", "x")), ParsedEnvelope::kMalformed);
  Headers upper = Stamp("p", 0, 1);
  upper.push_back({"eo.crc", "E3069283"});
  EXPECT_EQ(kind(upper), ParsedEnvelope::kStamped);
  Headers nocrc = Stamp("p", 0, 1);
  nocrc.push_back({"eo.chunk", "0/2"});
  nocrc.push_back({"eo.size", "2"});
  EXPECT_EQ(kind(nocrc), ParsedEnvelope::kMalformed);
}

TEST(TortureReference, DecisionRules) {
  const std::string hw = "hello world";
  std::vector<OwnedRecord> in = {
      Rec(0, 0, Stamp("p", 1, 5), "a"),                       // delivered
      Rec(0, 1, Stamp("p", 1, 5), "a"),                       // duplicate (= W)
      Rec(0, 2, Stamp("p", 1, 3), "late"),                    // duplicate (< M)
      Rec(0, 3, Stamp("p", 0, 9), "stale"),                   // stale
      Rec(0, 4, Stamp("p", 1, 8), "gap"),                     // delivered, a gap
      Rec(0, 5, Chunk("p", 1, 9, "0/2", hw), "hello ", "k"),  // starts P
      Rec(0, 6, Chunk("p", 1, 9, "1/3", hw), "world"),        // malformed (N differs), P kept
      Rec(0, 7, Chunk("p", 1, 9, "0/2", hw), "HELLO "),       // duplicate chunk, first copy wins
      Rec(0, 8, Chunk("p", 1, 9, "1/2", hw), "world"),        // completes "hello world" with key k
      Rec(0, 9, Chunk("p", 1, 10, "0/2", "abcd"), "ab"),      // P ...
      Rec(0, 10, Chunk("p", 1, 10, "1/2", "abcd"), "cX"),     // ... corrupt: both chunks rejected
      Rec(0, 11, Chunk("p", 1, 11, "0/2", "xy"), "x"),        // P ...
      Rec(0, 12, Stamp("p", 2, 0), "new epoch"),              // ... abandoned by a newer stamp
      Rec(0, 13, {{"app", "1"}}, std::nullopt),               // unstamped: passes
      Rec(
          0, 14,
          [] {
            Headers h = Stamp("p", 2, 1);
            h.push_back({"eo.crc", "00000000"});
            return h;
          }(),
          "z"),
      Rec(0, 15, Chunk("p", 2, 2, "0/1", "one"), "one"),  // N = 1 completes at once
      Rec(1, 0, Stamp("p", 0, 0), "other partition"),     // its own state
  };
  const ReferenceResult ref = RunReference(in, 100000);
  std::set<Place> delivered;
  for (const auto& [place, m] : ref.messages) delivered.insert(place);
  EXPECT_EQ(delivered, (std::set<Place>{{0, 0}, {0, 4}, {0, 8}, {0, 12}, {0, 13}, {0, 15}, {1, 0}}));
  EXPECT_EQ(ref.messages.at({0, 8}).value, hw);
  EXPECT_EQ(ref.messages.at({0, 8}).key, "k");
  EXPECT_EQ(ref.messages.at({0, 8}).seq, 9u);
  EXPECT_FALSE(ref.messages.at({0, 13}).stamped);
  EXPECT_EQ(ref.rejected, (std::set<Place>{{0, 6}, {0, 9}, {0, 10}, {0, 11}, {0, 14}}));
  EXPECT_EQ(ref.stale, 1u);
  EXPECT_EQ(ref.duplicates, 2u);
  EXPECT_EQ(ref.duplicate_chunks, 1u);
  EXPECT_EQ(ref.gaps, 3u);  // 5 -> 8; 9 -> 11 (10 was corrupt); (2,0) -> (2,2) ((2,1) was rejected)
  EXPECT_EQ(ref.corrupt, 1u);
  EXPECT_EQ(ref.abandoned, 1u);
  EXPECT_EQ(ref.pending, 0u);
}

TEST(TortureReference, ChunkSpanAbandonsOldMessages) {
  std::vector<OwnedRecord> in = {Rec(0, 0, Chunk("p", 0, 1, "0/2", "ab"), "a"),
                                 Rec(0, 11, Stamp("q", 0, 1), "far away"),
                                 Rec(0, 12, Chunk("p", 0, 1, "1/2", "ab"), "b")};
  const ReferenceResult ref = RunReference(in, 10);
  EXPECT_EQ(ref.rejected, (std::set<Place>{{0, 0}}));
  EXPECT_EQ(ref.abandoned, 1u);
  // The late second chunk starts a new message of the same stamp: incomplete.
  EXPECT_EQ(ref.pending, 1u);
  EXPECT_EQ(ref.messages.size(), 1u);
}

// The relay's output for `m`, as DESIGN.md §5 stamps it.
OwnedRecord Out(std::int32_t partition, std::int64_t offset, std::int32_t in_partition, std::int64_t seq,
                const ExpectedMessage& m, std::uint64_t epoch = 0) {
  Headers h = Stamp(fmt::format("r/in/{}", in_partition), epoch, static_cast<std::uint64_t>(seq));
  if (m.stamped) h.push_back({"exactly.origin", fmt::format("{} {} {}", m.producer, m.epoch, m.seq)});
  h.insert(h.end(), m.headers.begin(), m.headers.end());
  OwnedRecord r = Rec(partition, offset, h, m.value, m.key);
  r.topic = "out";
  return r;
}

OwnedRecord DeadLetter(std::int64_t offset, const Place& place) {
  OwnedRecord r = Rec(0, offset,
                      {{"exactly.dead-letter.reason", "malformed"},
                       {"exactly.dead-letter.topic", "in"},
                       {"exactly.dead-letter.partition", std::to_string(place.first)},
                       {"exactly.dead-letter.offset", std::to_string(place.second)}},
                      "bad");
  r.topic = "dlq";
  return r;
}

class TortureJudge : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<OwnedRecord> in = {Rec(0, 0, Stamp("p", 0, 1), "one", "k"), Rec(0, 1, {{"eo.producer", "p"}}, "bad"),
                                   Rec(0, 2, Stamp("p", 0, 2), "two"), Rec(0, 3, Stamp("p", 0, 3), "three")};
    ref_ = RunReference(in, 100000);
    for (const auto& [place, m] : ref_.messages) {
      good_.push_back(Out(0, static_cast<std::int64_t>(good_.size()), place.first, place.second, m));
    }
    dead_ = {DeadLetter(0, {0, 1})};
  }
  Verdict Judge(const std::vector<OwnedRecord>& out, const std::vector<OwnedRecord>& dead) {
    return torture::Judge(ref_, out, dead, "r", "in", 0);
  }
  ReferenceResult ref_;
  std::vector<OwnedRecord> good_, dead_;
};

TEST_F(TortureJudge, ExactOutputPasses) {
  std::vector<OwnedRecord> out = good_;
  out.push_back(good_[0]);  // a replay after a crash: identical, dropped
  out.back().offset = Offset(3);
  std::vector<OwnedRecord> dead = dead_;
  dead.push_back(DeadLetter(1, {0, 1}));
  const Verdict v = Judge(out, dead);
  EXPECT_TRUE(v.ok()) << (v.examples.empty() ? "" : v.examples[0]);
  EXPECT_EQ(v.delivered, 3u);
  EXPECT_EQ(v.repeats, 1u);
  EXPECT_EQ(v.dead_lettered, 1u);
}

TEST_F(TortureJudge, SeesEveryKindOfMismatch) {
  {
    std::vector<OwnedRecord> out = {good_[0], good_[2]};
    EXPECT_EQ(Judge(out, dead_).missing, 1u);
  }
  {
    std::vector<OwnedRecord> out = good_;
    out.push_back(Out(0, 3, 0, 1, ref_.messages.at({0, 0})));  // claims in[0]@1, which is malformed
    EXPECT_EQ(Judge(out, dead_).extra, 1u);
  }
  {
    std::vector<OwnedRecord> out = {good_[0], good_[2], good_[1]};
    EXPECT_EQ(Judge(out, dead_).reordered, 1u);
  }
  {
    std::vector<OwnedRecord> out = good_;
    out[1].value = "TWO";
    EXPECT_EQ(Judge(out, dead_).differing, 1u);
    out = good_;
    out[0].key.reset();
    EXPECT_EQ(Judge(out, dead_).differing, 1u);
    out = good_;
    out[0].headers.push_back({"extra", "h"});
    EXPECT_EQ(Judge(out, dead_).differing, 1u);
  }
  {
    std::vector<OwnedRecord> out = good_;
    out.push_back(good_[0]);
    out.back().value = "not the same";
    EXPECT_EQ(Judge(out, dead_).differing, 1u);
  }
  {
    std::vector<OwnedRecord> out = good_;
    out[0] = Out(0, 0, 0, 0, ref_.messages.at({0, 0}), /*epoch=*/1);
    EXPECT_GE(Judge(out, dead_).invalid, 1u);
  }
  EXPECT_EQ(Judge(good_, {}).dead_letter_missing, 1u);
  EXPECT_EQ(Judge(good_, {DeadLetter(0, {0, 1}), DeadLetter(1, {0, 2})}).dead_letter_unexpected, 1u);
  OwnedRecord altered = DeadLetter(0, {0, 1});
  altered.value = "not bad";
  EXPECT_EQ(Judge(good_, {altered}).dead_letter_differing, 1u);
  altered.headers.push_back({"exactly.dead-letter.truncated", "9"});
  EXPECT_EQ(Judge(good_, {altered}).dead_letter_differing, 0u);
}

}  // namespace
}  // namespace exactly::torture
