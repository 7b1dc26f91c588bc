// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Resource attacks on the engine and the recorded-log reader: hostile
// input that tries to make them hold memory out of proportion to the
// configured bounds. Each test measures the process's peak resident set
// (getrusage ru_maxrss) and asserts it against a bound stated from the
// engine's options, above a baseline taken when the test starts. ctest runs
// every test case in its own process, so the peak is that test's own.
// (Run all cases in one process and the later ones measure nothing new:
// the bound then holds trivially, it cannot fail falsely.)
//
// Every test also checks that the hostile records are accounted for:
// delivered, abandoned and dead-lettered, malformed, or a reader error.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "address_sanitizer.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "exactly/envelope.h"
#include "exactly/recorded_log.h"

namespace exactly {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

std::uint64_t PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// AddressSanitizer's allocator (redzones, quarantine) multiplies memory
// use, so under it the peak-RSS bounds below are not checked: the same
// tests check them in the regular build, and the outcome checks run in both.
constexpr bool kRssIsMeasurable = !test_build::kAddressSanitizer;

// Growth of the peak resident set since construction.
class PeakGrowth {
 public:
  PeakGrowth() : baseline_(PeakRssBytes()) {}
  ~PeakGrowth() {
    std::printf("peak RSS: baseline %.1f MiB, grew by %.1f MiB\n", static_cast<double>(baseline_) / kMiB,
                static_cast<double>(bytes()) / kMiB);
  }
  std::uint64_t bytes() const { return PeakRssBytes() - baseline_; }
  // What the bounds are checked against: 0 where RSS says nothing.
  std::uint64_t bounded_bytes() const { return kRssIsMeasurable ? bytes() : 0; }
  std::uint64_t baseline() const { return baseline_; }

 private:
  std::uint64_t baseline_;
};

// Counts rejected records by reason, keeping nothing.
class CountingSink : public DeadLetterSink {
 public:
  void OnRejected(const Rejected& r) noexcept override { ++by_reason[static_cast<int>(r.reason)]; }
  std::uint64_t abandoned() const { return by_reason[static_cast<int>(RejectReason::kAbandoned)]; }
  std::uint64_t malformed() const { return by_reason[static_cast<int>(RejectReason::kMalformed)]; }
  std::uint64_t by_reason[8] = {};
};

// Builds records as views over reused buffers, so that the test itself
// allocates nothing per record and the measured growth is the engine's.
class HostileRecord {
 public:
  HostileRecord& Stamp(std::string producer, std::uint64_t epoch, std::uint64_t seq) {
    producer_ = std::move(producer);
    epoch_ = std::to_string(epoch);
    seq_ = std::to_string(seq);
    return *this;
  }
  HostileRecord& Chunk(std::string chunk, std::uint64_t size, std::uint32_t crc) {
    chunk_ = std::move(chunk);
    size_ = std::to_string(size);
    crc_ = FormatCrc(crc);
    chunked_ = true;
    return *this;
  }
  HostileRecord& Value(std::string_view v) {
    value_ = v;
    return *this;
  }
  HostileRecord& Key(std::string_view k) {
    key_ = k;
    return *this;
  }
  HostileRecord& Extra(std::vector<HeaderView> extra) {
    extra_ = std::move(extra);
    return *this;
  }
  RecordView View(std::int64_t offset, std::int64_t ts) {
    headers_.clear();
    headers_.push_back({header::kProducer, producer_});
    headers_.push_back({header::kEpoch, epoch_});
    headers_.push_back({header::kSeq, seq_});
    if (chunked_) {
      headers_.push_back({header::kChunk, chunk_});
      headers_.push_back({header::kSize, size_});
      headers_.push_back({header::kCrc, crc_});
    }
    headers_.insert(headers_.end(), extra_.begin(), extra_.end());
    RecordView v;
    v.topic = "t";
    v.partition = Partition(0);
    v.offset = Offset(offset);
    v.timestamp = TimestampMs(ts);
    v.key = key_;
    v.value = value_;
    v.headers = headers_;
    return v;
  }

 private:
  std::string producer_, epoch_, seq_, chunk_, size_, crc_;
  bool chunked_ = false;
  NullableBytes key_, value_;
  std::vector<HeaderView> extra_;
  std::vector<HeaderView> headers_;
};

const auto Ignore = [](const Message&) {};

// --- producer-id flood -----------------------------------------------------

// The engine keeps one entry per (partition, producer) until producer-ttl
// expires it: that is its memory budget per producer. Stated budget: the
// id's bytes plus 256 bytes of bookkeeping (watermark, last-seen clock,
// hash-map node). A million distinct 64-byte ids must stay within it.
TEST(ProducerIdFlood, MillionDistinctProducersStayWithinThePerProducerBudget) {
  constexpr std::uint64_t kProducers = 1'000'000;
  constexpr std::uint64_t kIdBytes = 64;
  constexpr std::uint64_t kBudgetPerProducer = kIdBytes + 256;
  Engine engine;
  CountingSink sink;
  engine.set_dead_letter_sink(&sink);
  HostileRecord rec;
  rec.Value("v");
  std::uint64_t delivered = 0;
  const PeakGrowth growth;
  char id[kIdBytes + 1];
  for (std::uint64_t i = 0; i < kProducers; ++i) {
    std::snprintf(id, sizeof id, "flood-%058llu", static_cast<unsigned long long>(i));
    rec.Stamp(std::string(id, kIdBytes), 0, 0);
    const Outcome o = engine.Process(rec.View(static_cast<std::int64_t>(i), 1'700'000'000'000), [&](const Message&) {
      ++delivered;
    });
    ASSERT_EQ(o, Outcome::kDelivered) << "producer " << i;
  }
  EXPECT_EQ(delivered, kProducers);
  EXPECT_EQ(engine.counters().delivered, kProducers);
  EXPECT_EQ(engine.TotalProducerCount(), kProducers);
  EXPECT_EQ(engine.counters().dead_lettered, 0u);
  const std::uint64_t bound = kProducers * kBudgetPerProducer;
  EXPECT_LE(growth.bounded_bytes(), bound) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB for " << kProducers
                                   << " producers (baseline " << growth.baseline() / kMiB << " MiB)";
  std::printf("producer flood: %llu producers, peak RSS +%llu MiB (%llu bytes/producer), bound %llu MiB\n",
              static_cast<unsigned long long>(kProducers), static_cast<unsigned long long>(growth.bytes() / kMiB),
              static_cast<unsigned long long>(growth.bytes() / kProducers),
              static_cast<unsigned long long>(bound / kMiB));
}

// With a producer TTL, a flood spread over time does not accumulate: the
// purge a checkpoint runs forgets idle producers, and each is counted.
TEST(ProducerIdFlood, ProducersIdleLongerThanTheTtlArePurgedAndCounted) {
  EngineOptions opts;
  opts.producer_ttl_ms = 1000;
  Engine engine(opts);
  const TopicPartition tp{Topic("t"), Partition(0)};
  HostileRecord rec;
  rec.Value("v");
  constexpr std::int64_t kRecords = 200'000;
  std::size_t most = 0;
  for (std::int64_t i = 0; i < kRecords; ++i) {
    rec.Stamp("ttl-flood-" + std::to_string(i), 0, 0);
    ASSERT_EQ(engine.Process(rec.View(i, 1'700'000'000'000 + i), Ignore), Outcome::kDelivered);
    if (i % 1000 == 999) engine.PurgeExpired(tp, 4096);  // what each checkpoint does
    most = std::max(most, engine.TotalProducerCount());
  }
  // At most the TTL's worth of producers (one per ms) plus a purge interval.
  EXPECT_LE(most, 1001u + 1000u + 1u);
  EXPECT_EQ(engine.counters().delivered, static_cast<std::uint64_t>(kRecords));
  EXPECT_EQ(engine.counters().producers_expired + engine.TotalProducerCount(), static_cast<std::uint64_t>(kRecords));
}

// --- chunk bomb --------------------------------------------------------------

// Messages that claim the largest size (eo.size = max-message-bytes) and
// the most chunks (eo.chunk 0/65536) and never complete. What is held is
// bounded by max-buffer-bytes, never by the claims; every message ends
// abandoned (dead-lettered) or still in progress.
TEST(ChunkBomb, MaximumClaimsNeverCompletingStayWithinMaxBufferBytes) {
  EngineOptions opts;
  opts.max_buffer_bytes = 16 * kMiB;
  Engine engine(opts);
  CountingSink sink;
  engine.set_dead_letter_sink(&sink);
  const std::string chunk(4096, 'b');
  constexpr std::uint64_t kMessages = 100'000;  // 400 MiB of chunk bytes, 6.4 TB claimed
  // More producers than the buffer holds chunks (4096), so that the
  // buffer bound, not supersession, is what abandons most messages.
  constexpr std::uint64_t kProducers = 10'000;
  HostileRecord rec;
  rec.Value(chunk);
  std::uint64_t buffered = 0, abandoned_outcomes = 0;
  const PeakGrowth growth;
  for (std::uint64_t i = 0; i < kMessages; ++i) {
    // Each producer's next message supersedes (abandons) its previous one;
    // the buffer bound abandons the oldest of the others.
    rec.Stamp("bomber-" + std::to_string(i % kProducers), 0, i / kProducers)
        .Chunk("0/65536", opts.limits.max_message_bytes, 0x12345678);
    const Outcome o = engine.Process(rec.View(static_cast<std::int64_t>(i), 1'700'000'000'000), Ignore);
    if (o == Outcome::kBuffered) ++buffered;
    if (o == Outcome::kAbandoned) ++abandoned_outcomes;
    ASSERT_LE(engine.BufferedBytes(), opts.max_buffer_bytes) << "after message " << i;
  }
  const Counters& c = engine.counters();
  EXPECT_EQ(buffered + abandoned_outcomes, kMessages);
  EXPECT_EQ(c.abandoned + engine.InProgressCount(), kMessages);
  EXPECT_EQ(c.abandoned_chunks, c.abandoned);  // one chunk each
  EXPECT_EQ(sink.abandoned(), c.abandoned_chunks);
  EXPECT_EQ(c.dead_lettered, c.abandoned_chunks);
  EXPECT_EQ(c.delivered, 0u);
  // The buffer is full: each held message costs its 4096 value bytes plus
  // chunk 0's key and headers (under 256 bytes here), and one more would
  // not fit.
  EXPECT_LE(engine.InProgressCount(), opts.max_buffer_bytes / chunk.size());
  EXPECT_GT(engine.BufferedBytes() + chunk.size() + 256, opts.max_buffer_bytes);
  // Held chunks, plus per-producer and per-message bookkeeping.
  const std::uint64_t bound = opts.max_buffer_bytes + kProducers * 512 + 8 * kMiB;
  EXPECT_LE(growth.bounded_bytes(), bound) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
  std::printf("chunk bomb: %llu messages claiming %llu bytes each, peak RSS +%llu MiB, bound %llu MiB\n",
              static_cast<unsigned long long>(kMessages),
              static_cast<unsigned long long>(opts.limits.max_message_bytes),
              static_cast<unsigned long long>(growth.bytes() / kMiB), static_cast<unsigned long long>(bound / kMiB));
}

// Finished messages' buffers are lent to messages that start, chosen by
// their claimed size. A producer that finishes large messages and then
// starts tiny ones claiming the same size, over and over, would have each
// tiny message keep a large buffer that max-buffer-bytes never sees
// (it counts bytes sent). The lent buffers count against the engine's
// reserve (64 MiB), so the tiny messages together hold at most that.
TEST(BufferHoarding, TinyMessagesClaimingLargeSizesHoldAtMostTheReserve) {
  constexpr std::uint64_t kReserve = 64 * kMiB;
  constexpr std::uint64_t kBig = 4 * kMiB;
  constexpr int kCycles = 30;  // 30 x 4 x 4 MiB = 480 MiB of buffers, unbounded
  Engine engine;
  const std::string half(kBig / 2, 'h');
  const std::string whole = half + half;
  const std::uint32_t crc = crc32c::Value(whole);
  HostileRecord rec;
  std::int64_t offset = 0;
  const PeakGrowth growth;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    // Four large messages at once (so four buffers), finished.
    const auto seq = static_cast<std::uint64_t>(cycle);
    for (int m = 0; m < 4; ++m) {
      rec.Stamp("big-" + std::to_string(m), 0, seq).Chunk("0/2", kBig, crc).Value(half);
      ASSERT_EQ(engine.Process(rec.View(offset++, 1'700'000'000'000), Ignore), Outcome::kBuffered);
    }
    for (int m = 0; m < 4; ++m) {
      rec.Stamp("big-" + std::to_string(m), 0, seq).Chunk("1/2", kBig, crc).Value(half);
      ASSERT_EQ(engine.Process(rec.View(offset++, 1'700'000'000'000), Ignore), Outcome::kDelivered);
    }
    for (int m = 0; m < 4; ++m) {  // four tiny ones claiming the same size, never finished
      rec.Stamp("tiny-" + std::to_string(cycle * 4 + m), 0, 0).Chunk("0/2", kBig, crc).Value("x");
      ASSERT_EQ(engine.Process(rec.View(offset++, 1'700'000'000'000), Ignore), Outcome::kBuffered);
    }
    ASSERT_LE(engine.ReassemblyReserveBytes(), kReserve) << "cycle " << cycle;
  }
  EXPECT_EQ(engine.InProgressCount(), static_cast<std::size_t>(kCycles * 4));
  EXPECT_LE(engine.BufferedBytes(), static_cast<std::uint64_t>(kCycles * 4 * 512));
  // The reserve, four messages being built and the test's own strings.
  const std::uint64_t bound = kReserve + 4 * kBig + 16 * kMiB;
  EXPECT_LE(growth.bounded_bytes(), bound) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// Empty chunks hold no bytes, so max-buffer-bytes never abandons them: the
// chunk span does. In-progress messages stay below the span, and memory
// below the span times the per-message bookkeeping.
TEST(ChunkBomb, EmptyChunksAreBoundedByTheChunkSpan) {
  EngineOptions opts;
  opts.max_chunk_span = 10'000;
  Engine engine(opts);
  CountingSink sink;
  engine.set_dead_letter_sink(&sink);
  constexpr std::uint64_t kMessages = 300'000;
  constexpr std::uint64_t kProducers = 20'000;
  HostileRecord rec;
  rec.Value("");
  const PeakGrowth growth;
  std::size_t most = 0;
  for (std::uint64_t i = 0; i < kMessages; ++i) {
    rec.Stamp("empty-" + std::to_string(i % kProducers), 0, i / kProducers)
        .Chunk("65535/65536", opts.limits.max_message_bytes, 0);
    const Outcome o = engine.Process(rec.View(static_cast<std::int64_t>(i), 1'700'000'000'000), Ignore);
    ASSERT_EQ(o, Outcome::kBuffered) << "message " << i;
    most = std::max(most, engine.InProgressCount());
  }
  EXPECT_LE(most, opts.max_chunk_span + 1);
  const Counters& c = engine.counters();
  EXPECT_EQ(c.abandoned + engine.InProgressCount(), kMessages);
  EXPECT_EQ(sink.abandoned(), c.abandoned_chunks);
  EXPECT_EQ(engine.BufferedBytes(), 0u);
  const std::uint64_t bound = (opts.max_chunk_span + 1) * 1024 + kProducers * 512 + 8 * kMiB;
  EXPECT_LE(growth.bounded_bytes(), bound) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// --- oversized and numerous headers -----------------------------------------

// A 16 MiB eo.producer is malformed (ids are at most 255 bytes): counted,
// dead-lettered, and never copied into the engine's state, however often
// it comes.
TEST(OversizedHeader, HugeProducerIdIsMalformedAndNeverKept) {
  Engine engine;
  CountingSink sink;
  engine.set_dead_letter_sink(&sink);
  const std::string huge(16 * kMiB, 'P');
  HostileRecord rec;
  rec.Value("v").Stamp(huge, 0, 0);
  const PeakGrowth growth;  // `huge` and its copy in rec are already counted
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(engine.Process(rec.View(i, 1'700'000'000'000), Ignore), Outcome::kMalformed);
  }
  EXPECT_EQ(engine.counters().malformed, 50u);
  EXPECT_EQ(engine.counters().malformed_by_reason[static_cast<int>(MalformedReason::kBadProducer)], 50u);
  EXPECT_EQ(sink.malformed(), 50u);
  EXPECT_EQ(engine.TotalProducerCount(), 0u);
  EXPECT_LE(growth.bounded_bytes(), 4 * kMiB) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// A large application header on a delivered record is passed through by
// view: delivered once, nothing retained.
TEST(OversizedHeader, HugeHeaderValueOnADeliveredRecordIsNotRetained) {
  Engine engine;
  const std::string huge(32 * kMiB, 'h');
  HostileRecord rec;
  rec.Value("v").Extra({{"trace", huge}});
  std::uint64_t delivered = 0;
  const PeakGrowth growth;
  for (int i = 0; i < 20; ++i) {
    rec.Stamp("p", 0, static_cast<std::uint64_t>(i));
    ASSERT_EQ(engine.Process(rec.View(i, 1'700'000'000'000), [&](const Message& m) {
      ++delivered;
      ASSERT_EQ(m.headers.back().value->size(), huge.size());
    }),
              Outcome::kDelivered);
  }
  EXPECT_EQ(delivered, 20u);
  EXPECT_LE(growth.bounded_bytes(), 4 * kMiB) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// A record with 200 000 headers (the envelope among them) is classified
// and delivered once, in time linear in its size.
TEST(ManyHeaders, RecordWithTwoHundredThousandHeadersIsDeliveredOnce) {
  Engine engine;
  std::vector<HeaderView> extra(200'000, HeaderView{"x-app", std::string_view("value")});
  HostileRecord rec;
  rec.Value("v").Extra(extra);
  (void)rec.View(0, 0);  // the test's own header array, allocated before the baseline
  std::uint64_t delivered = 0;
  std::size_t headers_seen = 0;
  const PeakGrowth growth;
  for (int i = 0; i < 10; ++i) {
    rec.Stamp("many", 0, static_cast<std::uint64_t>(i));
    ASSERT_EQ(engine.Process(rec.View(i, 1'700'000'000'000), [&](const Message& m) {
      ++delivered;
      headers_seen = m.headers.size();
    }),
              Outcome::kDelivered);
  }
  EXPECT_EQ(delivered, 10u);
  EXPECT_EQ(headers_seen, extra.size() + 3);
  EXPECT_LE(growth.bounded_bytes(), 4 * kMiB) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// Chunk 0's key and headers are kept with its in-progress message (they
// become the delivered message's). They are bytes held in P (DESIGN.md §3),
// so they must count against max-buffer-bytes: 64 messages each holding a
// 4 MiB header value (256 MiB) under an 8 MiB bound.
TEST(OversizedHeader, HugeHeaderOnHeldChunkZeroCountsAgainstMaxBufferBytes) {
  EngineOptions opts;
  opts.max_buffer_bytes = 8 * kMiB;
  Engine engine(opts);
  CountingSink sink;
  engine.set_dead_letter_sink(&sink);
  const std::string huge(4 * kMiB, 'h');
  HostileRecord rec;
  rec.Value("x").Extra({{"trace", huge}});
  const PeakGrowth growth;
  for (int i = 0; i < 64; ++i) {
    rec.Stamp("holder-" + std::to_string(i), 0, 0).Chunk("0/2", 2, crc32c::Value("xy"));
    engine.Process(rec.View(i, 1'700'000'000'000), Ignore);
  }
  const Counters& c = engine.counters();
  EXPECT_EQ(c.abandoned + engine.InProgressCount(), 64u);
  EXPECT_LE(growth.bounded_bytes(), opts.max_buffer_bytes + 16 * kMiB)
      << "peak RSS grew by " << growth.bytes() / kMiB << " MiB holding " << engine.InProgressCount()
      << " messages (BufferedBytes " << engine.BufferedBytes() << ")";
}

// --- a 10 MB garbage line in a recorded log ------------------------------------

class GarbageLog : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("exactly-garbage-" + std::to_string(::getpid()) + ".jsonl"))
                .string();
    // Written in 1 MB blocks, so that the test's own peak stays small and
    // the reader's growth shows.
    std::mt19937_64 rng(20261121);  // fixed seed: the garbage is reproducible
    const std::string good = R"({"topic":"t","partition":0,"offset":1,"key":null,"payload":"a"})";
    const std::string good2 = R"({"topic":"t","partition":0,"offset":3,"key":null,"payload":"b"})";
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "%s\n", good.c_str());
    std::string block(1'000'000, ' ');
    for (int b = 0; b < 10; ++b) {
      for (char& ch : block) {
        ch = static_cast<char>(rng() & 0xFF);
        if (ch == '\n') ch = '{';
      }
      ASSERT_EQ(std::fwrite(block.data(), 1, block.size(), f), block.size());
    }
    std::fprintf(f, "\n%s\n", good2.c_str());
    std::fclose(f);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Reads the whole log: records, then the errors' codes and lines.
  void ReadAll(const RecordedLogOptions& opts, std::vector<std::string>* payloads, std::vector<Status>* errors,
               std::vector<std::uint64_t>* error_lines) {
    auto reader = RecordedLogReader::Open(path_, opts);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    for (;;) {
      RecordView v;
      Result<bool> r = (*reader)->Next(&v);
      if (!r.ok()) {
        errors->push_back(r.status());
        error_lines->push_back((*reader)->line());
        ASSERT_NE(r.status().code(), Code::kIoError);
        continue;
      }
      if (!*r) break;
      payloads->push_back(std::string(*v.value));
    }
  }

  std::string path_;
};

// Within the line limit (64 MiB by default) the line is read whole and
// refused as invalid JSON; the reader holds at most about twice the line.
TEST_F(GarbageLog, TenMegabyteGarbageLineIsAClearErrorAndTheReaderGoesOn) {
  std::vector<std::string> payloads;
  std::vector<Status> errors;
  std::vector<std::uint64_t> lines;
  const PeakGrowth growth;
  ReadAll(RecordedLogOptions{}, &payloads, &errors, &lines);
  EXPECT_EQ(payloads, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), Code::kCorruption);
  EXPECT_EQ(lines[0], 2u);
  EXPECT_TRUE(errors[0].message().starts_with(path_ + ":2: ")) << errors[0].ToString();
  // The buffer doubles up to the line (16 MiB) plus one 1 MiB block.
  EXPECT_LE(growth.bounded_bytes(), 2 * 10'000'000 + 8 * kMiB) << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

// Over the line limit the line is skipped without being held: memory stays
// at the limit plus one read block, whatever the line's length.
TEST_F(GarbageLog, GarbageLineOverTheLimitIsSkippedWithoutBeingHeld) {
  RecordedLogOptions opts;
  opts.max_line_bytes = 1 * kMiB;
  std::vector<std::string> payloads;
  std::vector<Status> errors;
  std::vector<std::uint64_t> lines;
  const PeakGrowth growth;
  ReadAll(opts, &payloads, &errors, &lines);
  EXPECT_EQ(payloads, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), Code::kResourceExhausted);
  EXPECT_EQ(lines[0], 2u);
  EXPECT_TRUE(errors[0].message().starts_with(path_ + ":2: ")) << errors[0].ToString();
  EXPECT_LE(growth.bounded_bytes(), 2 * (opts.max_line_bytes + opts.read_block_bytes) + 2 * kMiB)
      << "peak RSS grew by " << growth.bytes() / kMiB << " MiB";
}

}  // namespace
}  // namespace exactly
