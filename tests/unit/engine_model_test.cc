// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Seeded randomized test: generated producer traffic is fed to the Engine
// and to an independent, deliberately simple model of DESIGN.md §3 written
// here (std::map based, working from what each record was built to claim,
// never parsing headers with library code). Every record's outcome,
// delivered message and dead-lettered records must agree, as must the
// buffered bytes, the in-progress count and the counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine_test_support.h"
#include "exactly/crc32c.h"
#include "exactly/engine.h"

namespace exactly::test {
namespace {

// A bitwise CRC32C, independent of the library's implementation.
std::uint32_t ModelCrc32c(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

// What the model says about one dead-lettered record. Values of held chunks
// are compared with null read as empty (a null chunk is an empty chunk).
struct RejectKey {
  RejectReason reason;
  std::string topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp;
  std::optional<std::string> value;
  friend auto operator<=>(const RejectKey&, const RejectKey&) = default;
};

void PrintTo(const RejectKey& k, std::ostream* os) {
  *os << "{" << RejectReasonName(k.reason) << " " << k.topic << "[" << k.partition << "]@" << k.offset
      << " ts=" << k.timestamp << " value=" << Printable(k.value) << "}";
}

struct Expected {
  Outcome outcome = Outcome::kDelivered;
  std::optional<DeliveredMessage> delivered;
  std::vector<RejectKey> rejects;
};

class Model {
 public:
  explicit Model(const EngineOptions& o) : o_(o) {}

  Expected Process(const GenRecord& g) {
    Expected x;
    out_ = &x;
    ++counters_.records;
    const OwnedRecord& r = g.record;
    PartitionModel& part = parts_[{r.topic, r.partition.value()}];
    // Chunk span, before anything else.
    for (auto& [id, prod] : part.producers) {
      if (prod.p && r.offset.value() - prod.p->first_offset > static_cast<std::int64_t>(o_.max_chunk_span)) {
        Abandon(part, prod, nullptr);
      }
    }
    switch (g.intent) {
      case Intent::kUnstamped:
        ++counters_.unstamped;
        if (o_.unstamped == UnstampedPolicy::kPass) {
          x.outcome = Outcome::kUnstampedPassed;
          DeliveredMessage m;
          m.topic = r.topic;
          m.partition = r.partition;
          m.offset = r.offset;
          m.timestamp = r.timestamp;
          m.key = r.key;
          m.value = r.value;
          m.headers = r.headers;
          m.stamped = false;
          x.delivered = m;
          ++counters_.delivered;
        } else {
          x.outcome = Outcome::kUnstampedDropped;
          ++counters_.unstamped_dropped;
          Reject(RejectReason::kUnstamped, r, false);
        }
        break;
      case Intent::kMalformed:
        Malformed(g.malformed, r);
        break;
      case Intent::kStamped:
        Stamped(part, g);
        break;
    }
    out_ = nullptr;
    return x;
  }

  std::uint64_t BufferedBytes() const {
    std::uint64_t n = 0;
    for (const auto& [tp, part] : parts_) n += part.held;
    return n;
  }
  std::size_t InProgressCount() const {
    std::size_t n = 0;
    for (const auto& [tp, part] : parts_) {
      for (const auto& [id, prod] : part.producers) n += prod.p ? 1 : 0;
    }
    return n;
  }
  const Counters& counters() const { return counters_; }
  std::size_t expired() const { return expired_; }

 private:
  struct InProgress {
    EpochSeq stamp;
    std::uint32_t n = 0;
    std::uint64_t size = 0;
    std::uint32_t crc = 0;
    std::int64_t first_offset = 0;
    std::map<std::uint32_t, const GenRecord*> chunks;
    std::uint64_t bytes = 0;
  };
  struct ProducerModel {
    std::optional<EpochSeq> w;
    std::optional<InProgress> p;
    std::optional<std::int64_t> last_seen;  // largest timestamp of its records
  };
  struct PartitionModel {
    std::map<std::string, ProducerModel> producers;
    std::uint64_t held = 0;
  };

  static std::uint64_t Len(const OwnedRecord& r) { return r.value ? r.value->size() : 0; }
  // What holding a chunk costs against max-buffer-bytes: its value, and for
  // chunk 0 also its key and headers (kept for the delivered message).
  static std::uint64_t HeldCost(const GenRecord& g) {
    std::uint64_t n = Len(g.record);
    if (g.chunk->index != 0) return n;
    if (g.record.key) n += g.record.key->size();
    for (const OwnedHeader& h : g.record.headers) n += h.name.size() + (h.value ? h.value->size() : 0);
    return n;
  }

  void Reject(RejectReason reason, const OwnedRecord& r, bool chunk_bytes) {
    std::optional<std::string> value = r.value;
    if (chunk_bytes && !value) value = std::string();
    out_->rejects.push_back(
        RejectKey{reason, r.topic, r.partition.value(), r.offset.value(), r.timestamp.value(), std::move(value)});
    ++counters_.dead_lettered;
  }

  void Malformed(MalformedReason reason, const OwnedRecord& r) {
    out_->outcome = Outcome::kMalformed;
    ++counters_.malformed;
    ++counters_.malformed_by_reason[static_cast<std::size_t>(reason)];
    Reject(RejectReason::kMalformed, r, false);
  }

  // Drops prod's message in progress: every held chunk is dead-lettered
  // (and `extra`, a chunk that was never held, too).
  void Abandon(PartitionModel& part, ProducerModel& prod, const OwnedRecord* extra) {
    InProgress& p = *prod.p;
    for (const auto& [i, g] : p.chunks) Reject(RejectReason::kAbandoned, g->record, true);
    if (extra != nullptr) Reject(RejectReason::kAbandoned, *extra, true);
    ++counters_.abandoned;
    counters_.abandoned_chunks += p.chunks.size() + (extra != nullptr ? 1 : 0);
    part.held -= p.bytes;
    prod.p.reset();
  }

  void Deliver(ProducerModel& prod, DeliveredMessage m) {
    m.stamped = true;
    m.gap = prod.w && prod.w->epoch == m.stamp.epoch && m.stamp.seq.value() > prod.w->seq.value() + 1;
    if (m.gap) ++counters_.gaps;
    prod.w = m.stamp;
    ++counters_.delivered;
    if (m.chunks >= 2) ++counters_.delivered_chunked;
    out_->outcome = Outcome::kDelivered;
    out_->delivered = std::move(m);
  }

  void Stamped(PartitionModel& part, const GenRecord& g) {
    ProducerModel& prod = part.producers[g.producer];
    const EpochSeq st = g.stamp;
    // Producer TTL: idle for longer than the TTL before this record, the
    // producer is treated as unknown (its message in progress is abandoned).
    const std::int64_t ts = g.record.timestamp.value();
    if (prod.last_seen && ts - *prod.last_seen > o_.producer_ttl_ms) {
      ++expired_;
      if (prod.p) Abandon(part, prod, nullptr);
      prod.w.reset();
    }
    prod.last_seen = std::max(prod.last_seen.value_or(ts), ts);
    if (!prod.w && !prod.p) return Rule6(part, prod, g);  // rule 1
    EpochSeq m = prod.w ? *prod.w : prod.p->stamp;
    if (prod.p && prod.p->stamp > m) m = prod.p->stamp;
    if (st.epoch < m.epoch) {  // rule 2
      out_->outcome = Outcome::kStale;
      ++counters_.stale;
      return;
    }
    if (st < m || (prod.w && st == *prod.w)) {  // rule 3
      out_->outcome = Outcome::kDuplicate;
      ++counters_.duplicate;
      return;
    }
    if (prod.p && st == prod.p->stamp) return Rule4(part, prod, g);
    Rule6(part, prod, g);
  }

  void Rule4(PartitionModel& part, ProducerModel& prod, const GenRecord& g) {
    InProgress& p = *prod.p;
    if (!g.chunk || g.chunk->count != p.n || g.size != p.size || g.crc != p.crc) {
      return Malformed(MalformedReason::kChunkMismatch, g.record);
    }
    if (p.chunks.count(g.chunk->index) != 0) {
      out_->outcome = Outcome::kChunkDuplicate;
      ++counters_.chunk_duplicate;
      return;
    }
    AddChunk(part, prod, g);
  }

  void Rule6(PartitionModel& part, ProducerModel& prod, const GenRecord& g) {
    if (prod.p) Abandon(part, prod, nullptr);
    const OwnedRecord& r = g.record;
    // A one-chunk message "completes at once": it is never held, so the
    // buffer bound does not apply to it (DESIGN.md leaves this open; see
    // the report).
    if (g.chunk && g.chunk->count == 1) {
      const std::string value = r.value.value_or("");
      if (value.size() != *g.size || ModelCrc32c(value) != *g.crc) {
        out_->outcome = Outcome::kCorrupt;
        ++counters_.corrupt;
        Reject(RejectReason::kCorrupt, r, true);
        return;
      }
      DeliveredMessage m;
      m.topic = r.topic;
      m.partition = r.partition;
      m.offset = r.offset;
      m.timestamp = r.timestamp;
      m.key = r.key;
      m.value = value;
      for (const auto& h : r.headers) {
        if (h.name != "eo.chunk" && h.name != "eo.size" && h.name != "eo.crc") m.headers.push_back(h);
      }
      m.producer = g.producer;
      m.stamp = g.stamp;
      m.chunks = 1;
      m.crc = *g.crc;
      return Deliver(prod, std::move(m));
    }
    if (!g.chunk) {
      const std::string value = r.value.value_or("");
      if ((g.size && *g.size != value.size()) || (g.crc && *g.crc != ModelCrc32c(value))) {
        out_->outcome = Outcome::kCorrupt;
        ++counters_.corrupt;
        Reject(RejectReason::kCorrupt, r, false);
        return;
      }
      DeliveredMessage m;
      m.topic = r.topic;
      m.partition = r.partition;
      m.offset = r.offset;
      m.timestamp = r.timestamp;
      m.key = r.key;
      m.value = r.value;
      m.headers = r.headers;
      m.producer = g.producer;
      m.stamp = g.stamp;
      m.chunks = 0;
      m.crc = g.crc;
      return Deliver(prod, std::move(m));
    }
    InProgress p;
    p.stamp = g.stamp;
    p.n = g.chunk->count;
    p.size = *g.size;
    p.crc = *g.crc;
    p.first_offset = r.offset.value();
    prod.p = std::move(p);
    AddChunk(part, prod, g);
  }

  void AddChunk(PartitionModel& part, ProducerModel& prod, const GenRecord& g) {
    InProgress& p = *prod.p;
    const std::uint64_t len = HeldCost(g);
    if (p.bytes + len > o_.max_buffer_bytes) {
      // Can never fit: its own message goes.
      out_->outcome = Outcome::kAbandoned;
      Abandon(part, prod, &g.record);
      return;
    }
    while (part.held + len > o_.max_buffer_bytes) {
      ProducerModel* oldest = nullptr;
      for (auto& [id, other] : part.producers) {
        if (&other == &prod || !other.p) continue;
        if (oldest == nullptr || other.p->first_offset < oldest->p->first_offset) oldest = &other;
      }
      if (oldest == nullptr) break;  // cannot happen: own bytes fit
      Abandon(part, *oldest, nullptr);
    }
    p.chunks[g.chunk->index] = &g;
    p.bytes += len;
    part.held += len;
    if (p.chunks.size() < p.n) {
      out_->outcome = Outcome::kBuffered;
      return;
    }
    // Complete (rule 5).
    std::string whole;
    for (const auto& [i, c] : p.chunks) whole += c->record.value.value_or("");
    part.held -= p.bytes;
    if (whole.size() != p.size || ModelCrc32c(whole) != p.crc) {
      out_->outcome = Outcome::kCorrupt;
      ++counters_.corrupt;
      for (const auto& [i, c] : p.chunks) Reject(RejectReason::kCorrupt, c->record, true);
      prod.p.reset();
      return;
    }
    const OwnedRecord& c0 = p.chunks.at(0)->record;
    DeliveredMessage m;
    m.topic = g.record.topic;
    m.partition = g.record.partition;
    m.offset = g.record.offset;
    m.timestamp = g.record.timestamp;
    m.key = c0.key;
    m.value = whole;
    for (const auto& h : c0.headers) {
      if (h.name != "eo.chunk" && h.name != "eo.size" && h.name != "eo.crc") m.headers.push_back(h);
    }
    m.producer = g.producer;
    m.stamp = p.stamp;
    m.chunks = p.n;
    m.crc = p.crc;
    prod.p.reset();
    Deliver(prod, std::move(m));
  }

  EngineOptions o_;
  std::map<std::pair<std::string, std::int32_t>, PartitionModel> parts_;
  Counters counters_;
  std::size_t expired_ = 0;
  Expected* out_ = nullptr;
};

std::vector<RejectKey> EngineRejects(const std::vector<RejectedRecord>& rs) {
  std::vector<RejectKey> out;
  for (const auto& r : rs) {
    std::optional<std::string> value = r.record.value;
    if ((r.reason == RejectReason::kAbandoned || r.reason == RejectReason::kCorrupt) && !value) value = std::string();
    out.push_back(RejectKey{r.reason, r.record.topic, r.record.partition.value(), r.record.offset.value(),
                            r.record.timestamp.value(), std::move(value)});
  }
  return out;
}

// Corrupt single records are dead-lettered as they came; the model
// normalises only chunks, so normalise the expected side the same way.
void NormaliseChunkValues(std::vector<RejectKey>& keys) {
  for (auto& k : keys) {
    if ((k.reason == RejectReason::kAbandoned || k.reason == RejectReason::kCorrupt) && !k.value) {
      k.value = std::string();
    }
  }
}

std::string Describe(const GenRecord& g) {
  std::string s = g.record.topic + "[" + std::to_string(g.record.partition.value()) + "]@" +
                  std::to_string(g.record.offset.value()) + " ";
  switch (g.intent) {
    case Intent::kUnstamped: return s + "unstamped";
    case Intent::kMalformed: return s + "malformed " + std::string(MalformedReasonName(g.malformed));
    case Intent::kStamped: break;
  }
  s += g.producer + " (" + std::to_string(g.stamp.epoch.value()) + "," + std::to_string(g.stamp.seq.value()) + ")";
  if (g.chunk) s += " chunk " + std::to_string(g.chunk->index) + "/" + std::to_string(g.chunk->count);
  if (g.size) s += " size " + std::to_string(*g.size);
  if (g.crc) s += " crc " + FormatCrc(*g.crc);
  s += " len " + std::to_string(g.record.value ? g.record.value->size() : 0);
  return s;
}

struct Totals {
  std::size_t expired = 0;
  std::size_t delivered = 0, delivered_chunked = 0, corrupt = 0, abandoned = 0, stale = 0, duplicate = 0,
              chunk_duplicate = 0, malformed = 0, gaps = 0;
};

// Runs one seed; returns false after the first disagreement.
bool RunAgainstModel(const TrafficOptions& traffic, const EngineOptions& options, Totals* totals) {
  SCOPED_TRACE("seed " + std::to_string(traffic.seed));
  const std::vector<GenRecord> records = GenerateTraffic(traffic);
  RecordingSink sink;
  Engine engine(options, &sink);
  Model model(options);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const GenRecord& g = records[i];
    SCOPED_TRACE("record #" + std::to_string(i) + ": " + Describe(g));
    Expected want = model.Process(g);
    std::vector<DeliveredMessage> got_delivered;
    sink.records.clear();
    const RecordView v = g.record.view();
    const Outcome got = engine.Process(v, [&](const Message& m) { got_delivered.push_back(DeliveredMessage::From(m)); });
    bool ok = true;
    EXPECT_EQ(OutcomeName(got), OutcomeName(want.outcome)) << (ok = false, "");
    if (want.delivered) {
      EXPECT_EQ(got_delivered.size(), 1u) << (ok = false, "");
      if (got_delivered.size() == 1) {
        EXPECT_EQ(got_delivered[0], *want.delivered) << (ok = false, "");
      }
    } else {
      EXPECT_TRUE(got_delivered.empty()) << (ok = false, "");
    }
    std::vector<RejectKey> got_rejects = EngineRejects(sink.records);
    NormaliseChunkValues(want.rejects);
    std::sort(got_rejects.begin(), got_rejects.end());
    std::sort(want.rejects.begin(), want.rejects.end());
    EXPECT_EQ(got_rejects, want.rejects) << (ok = false, "");
    for (const auto& r : sink.records) {
      if (r.reason == RejectReason::kMalformed) {
        const MalformedReason reason = g.intent == Intent::kMalformed ? g.malformed : MalformedReason::kChunkMismatch;
        EXPECT_EQ(r.detail, MalformedReasonName(reason)) << (ok = false, "");
      }
    }
    EXPECT_EQ(engine.BufferedBytes(), model.BufferedBytes()) << (ok = false, "");
    EXPECT_EQ(engine.InProgressCount(), model.InProgressCount()) << (ok = false, "");
    if (!ok) return false;
    if (want.delivered) {
      ++totals->delivered;
      if (want.delivered->chunks >= 2) ++totals->delivered_chunked;
      if (want.delivered->gap) ++totals->gaps;
    }
    switch (want.outcome) {
      case Outcome::kCorrupt: ++totals->corrupt; break;
      case Outcome::kStale: ++totals->stale; break;
      case Outcome::kDuplicate: ++totals->duplicate; break;
      case Outcome::kChunkDuplicate: ++totals->chunk_duplicate; break;
      case Outcome::kMalformed: ++totals->malformed; break;
      default: break;
    }
  }
  const Counters& got = engine.counters();
  const Counters& want = model.counters();
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
  EXPECT_EQ(got.dead_lettered, want.dead_lettered);
  totals->abandoned += want.abandoned;
  totals->expired += model.expired();
  return !::testing::Test::HasFailure();
}

constexpr std::uint64_t kSeeds[] = {1, 2, 3, 7, 42, 1234, 99991, 20240601};

TEST(EngineModel, AgreesWithModelWhenBoundsDoNotTrigger) {
  EngineOptions options;  // defaults: span 100000, 256 MiB, 7 days
  Totals totals;
  for (std::uint64_t seed : kSeeds) {
    TrafficOptions t;
    t.seed = seed;
    if (!RunAgainstModel(t, options, &totals)) return;
  }
  // The generated traffic exercises every rule.
  EXPECT_GT(totals.delivered_chunked, 100u);
  EXPECT_GT(totals.corrupt, 10u);
  EXPECT_GT(totals.stale, 10u);
  EXPECT_GT(totals.duplicate, 100u);
  EXPECT_GT(totals.chunk_duplicate, 10u);
  EXPECT_GT(totals.malformed, 50u);
  EXPECT_GT(totals.gaps, 10u);
  EXPECT_GT(totals.abandoned, 10u);
}

TEST(EngineModel, AgreesWithModelWithUnstampedDropPolicy) {
  EngineOptions options;
  options.unstamped = UnstampedPolicy::kDrop;
  Totals totals;
  for (std::uint64_t seed : {5u, 6u, 11u}) {
    TrafficOptions t;
    t.seed = seed;
    t.w_unstamped = 20;
    if (!RunAgainstModel(t, options, &totals)) return;
  }
}

TEST(EngineModel, AgreesWithModelWhenChunkSpanAndBufferBoundsTrigger) {
  EngineOptions options;
  options.max_chunk_span = 12;
  // Room for one message of up to 96 value bytes plus chunk 0's key and
  // headers (about 100 bytes), so one message always fits on its own.
  options.max_buffer_bytes = 224;
  Totals totals;
  for (std::uint64_t seed : kSeeds) {
    TrafficOptions t;
    t.seed = seed;
    t.max_payload = 96;
    t.offset_jump_percent = 8;
    t.offset_jump_max = 10;
    if (!RunAgainstModel(t, options, &totals)) return;
  }
  EXPECT_GT(totals.abandoned, 100u);
  EXPECT_GT(totals.delivered_chunked, 50u);
}

// With non-decreasing timestamps the new record's timestamp is also the
// largest seen in its partition, so this variant holds whichever of the two
// the TTL is judged against (see ProducerTtl.IsJudgedAgainstTheNewRecordsTimestamp).
TEST(EngineModel, AgreesWithModelWhenProducerTtlExpires) {
  EngineOptions options;
  options.producer_ttl_ms = 3000;
  options.max_chunk_span = 60;
  Totals totals;
  for (std::uint64_t seed : {31u, 32u, 33u, 34u}) {
    TrafficOptions t;
    t.seed = seed;
    t.monotonic_timestamps = true;
    t.pause_percent = 1;
    t.ts_pause = 4000;
    if (!RunAgainstModel(t, options, &totals)) return;
  }
  EXPECT_GT(totals.expired, 20u);
}

TEST(EngineModel, AgreesWithModelWithManyProducersAndLongChunkedMessages) {
  EngineOptions options;
  options.max_chunk_span = 40;
  options.max_buffer_bytes = 400;
  Totals totals;
  for (std::uint64_t seed : {17u, 18u, 19u}) {
    TrafficOptions t;
    t.seed = seed;
    t.producers_per_partition = 9;
    t.max_chunks = 12;
    t.max_payload = 300;
    t.partitions = {{"x", 0}, {"x", 1}, {"x", 2}, {"y", 0}};
    if (!RunAgainstModel(t, options, &totals)) return;
  }
}

}  // namespace
}  // namespace exactly::test
