// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Test helpers for the core engine: a record builder, owning copies of
// delivered messages and dead-lettered records, a recording dead-letter
// sink, a small harness around Engine, and a seeded generator of producer
// traffic (retries, re-sent windows, zombies, epoch restarts, gaps,
// interleaved / out-of-order / duplicated / corrupt chunks, unstamped and
// malformed records) annotated with what each record claims, so that tests
// can check the engine against an independent model.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "exactly/envelope.h"
#include "exactly/record.h"
#include "exactly/types.h"

namespace exactly::test {

inline constexpr std::int64_t kBaseTimestamp = 1'700'000'000'000;

// Builds an OwnedRecord. Defaults: topic "t", partition 0, no key, no
// value, no headers, timestamp kBaseTimestamp + offset.
class RecordBuilder {
 public:
  explicit RecordBuilder(std::int64_t offset = 0) {
    r_.topic = "t";
    r_.partition = Partition(0);
    r_.offset = exactly::Offset(offset);
    r_.timestamp = TimestampMs(kBaseTimestamp + offset);
  }
  RecordBuilder& OnTopic(std::string topic) {
    r_.topic = std::move(topic);
    return *this;
  }
  RecordBuilder& OnPartition(std::int32_t p) {
    r_.partition = Partition(p);
    return *this;
  }
  RecordBuilder& At(std::int64_t offset) {
    r_.offset = exactly::Offset(offset);
    return *this;
  }
  RecordBuilder& Ts(std::int64_t ts) {
    r_.timestamp = TimestampMs(ts);
    return *this;
  }
  RecordBuilder& Key(std::optional<std::string> key) {
    r_.key = std::move(key);
    return *this;
  }
  RecordBuilder& Value(std::optional<std::string> value) {
    r_.value = std::move(value);
    return *this;
  }
  RecordBuilder& Header(std::string name, std::optional<std::string> value) {
    r_.headers.push_back(OwnedHeader{std::move(name), std::move(value)});
    return *this;
  }
  // eo.producer, eo.epoch, eo.seq.
  RecordBuilder& Stamp(std::string_view producer, std::uint64_t epoch, std::uint64_t seq) {
    Header(std::string(header::kProducer), std::string(producer));
    Header(std::string(header::kEpoch), std::to_string(epoch));
    return Header(std::string(header::kSeq), std::to_string(seq));
  }
  RecordBuilder& Chunk(std::uint32_t index, std::uint32_t count) {
    return Header(std::string(header::kChunk), std::to_string(index) + "/" + std::to_string(count));
  }
  RecordBuilder& Size(std::uint64_t size) { return Header(std::string(header::kSize), std::to_string(size)); }
  RecordBuilder& Crc(std::uint32_t crc) { return Header(std::string(header::kCrc), FormatCrc(crc)); }
  // eo.size and eo.crc of `whole`.
  RecordBuilder& SizeAndCrcOf(std::string_view whole) {
    Size(whole.size());
    return Crc(crc32c::Value(whole));
  }
  OwnedRecord Build() const { return r_; }
  operator OwnedRecord() const { return r_; }  // NOLINT: convenience

 private:
  OwnedRecord r_;
};

// The N chunk records of one message: chunk i holds pieces[i] (nullopt = a
// null value), has offset first_offset + i, key "key-<i>" and a header
// "x-chunk: <i>", and claims the size and CRC32C of the concatenation.
inline std::vector<OwnedRecord> MakeChunks(std::string_view producer, std::uint64_t epoch, std::uint64_t seq,
                                           const std::vector<std::optional<std::string>>& pieces,
                                           std::int64_t first_offset) {
  std::string whole;
  for (const auto& p : pieces) {
    if (p) whole += *p;
  }
  std::vector<OwnedRecord> out;
  const auto n = static_cast<std::uint32_t>(pieces.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    out.push_back(RecordBuilder(first_offset + i)
                      .Key("key-" + std::to_string(i))
                      .Value(pieces[i])
                      .Stamp(producer, epoch, seq)
                      .Chunk(i, n)
                      .SizeAndCrcOf(whole)
                      .Header("x-chunk", std::to_string(i))
                      .Build());
  }
  return out;
}

// Splits `whole` into n pieces of near-equal length.
inline std::vector<std::optional<std::string>> SplitEven(std::string_view whole, std::size_t n) {
  std::vector<std::optional<std::string>> out;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = whole.size() / n + (i < whole.size() % n ? 1 : 0);
    out.emplace_back(std::string(whole.substr(pos, len)));
    pos += len;
  }
  return out;
}

inline std::vector<OwnedHeader> OwnHeaders(std::span<const HeaderView> headers) {
  std::vector<OwnedHeader> out;
  for (const HeaderView& h : headers) {
    out.push_back(OwnedHeader{std::string(h.name), h.value ? std::optional<std::string>(std::string(*h.value))
                                                          : std::nullopt});
  }
  return out;
}

inline std::optional<std::string> Own(NullableBytes b) {
  return b ? std::optional<std::string>(std::string(*b)) : std::nullopt;
}

// An owning copy of a delivered Message.
struct DeliveredMessage {
  std::string topic;
  Partition partition;
  Offset offset;
  TimestampMs timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;
  bool stamped = false;
  std::string producer;
  EpochSeq stamp;
  std::uint32_t chunks = 0;
  bool gap = false;
  std::optional<std::uint32_t> crc;  // checked eo.crc

  static DeliveredMessage From(const Message& m) {
    DeliveredMessage d;
    d.topic = std::string(m.topic);
    d.partition = m.partition;
    d.offset = m.offset;
    d.timestamp = m.timestamp;
    d.key = Own(m.key);
    d.value = Own(m.value);
    d.headers = OwnHeaders(m.headers);
    d.stamped = m.stamped;
    d.producer = std::string(m.producer);
    d.stamp = m.stamp;
    d.chunks = m.chunks;
    d.gap = m.gap;
    d.crc = m.crc;
    return d;
  }
  friend bool operator==(const DeliveredMessage&, const DeliveredMessage&) = default;
};

inline std::string Printable(const std::optional<std::string>& s) {
  if (!s) return "null";
  std::string out = "\"";
  for (unsigned char c : *s) {
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

inline void PrintTo(const DeliveredMessage& m, std::ostream* os) {
  *os << "{" << m.topic << "[" << m.partition.value() << "]@" << m.offset.value() << " ts=" << m.timestamp.value()
      << " key=" << Printable(m.key) << " value=" << Printable(m.value) << " headers=[";
  for (const auto& h : m.headers) *os << h.name << "=" << Printable(h.value) << " ";
  *os << "] stamped=" << m.stamped << " producer=" << m.producer << " stamp=(" << m.stamp.epoch.value() << ","
      << m.stamp.seq.value() << ") chunks=" << m.chunks << " gap=" << m.gap
      << " crc=" << (m.crc ? std::to_string(*m.crc) : std::string("none")) << "}";
}

// An owning copy of a Rejected.
struct RejectedRecord {
  RejectReason reason = RejectReason::kMalformed;
  std::string detail;
  OwnedRecord record;
  friend bool operator==(const RejectedRecord&, const RejectedRecord&) = default;
};

inline void PrintTo(const RejectedRecord& r, std::ostream* os) {
  *os << "{" << RejectReasonName(r.reason) << " (" << r.detail << ") " << r.record.topic << "["
      << r.record.partition.value() << "]@" << r.record.offset.value() << " value=" << Printable(r.record.value)
      << "}";
}

class RecordingSink final : public DeadLetterSink {
 public:
  void OnRejected(const Rejected& rejected) noexcept override {
    records.push_back(RejectedRecord{rejected.reason, std::string(rejected.detail),
                                     OwnedRecord::FromView(rejected.record)});
  }
  std::size_t Count(RejectReason reason) const {
    return static_cast<std::size_t>(
        std::count_if(records.begin(), records.end(), [&](const RejectedRecord& r) { return r.reason == reason; }));
  }
  std::vector<RejectedRecord> records;
};

// An Engine with a recording sink and a list of delivered messages.
class EngineHarness {
 public:
  explicit EngineHarness(EngineOptions options = {}) : engine(options, &sink) {}

  Outcome Feed(const OwnedRecord& r) {
    const RecordView v = r.view();
    return engine.Process(v, [this](const Message& m) { delivered.push_back(DeliveredMessage::From(m)); });
  }
  std::vector<Outcome> FeedAll(const std::vector<OwnedRecord>& rs) {
    std::vector<Outcome> out;
    for (const auto& r : rs) out.push_back(Feed(r));
    return out;
  }

  RecordingSink sink;
  Engine engine;
  std::vector<DeliveredMessage> delivered;
};

// What holding record `r` as a chunk costs against max-buffer-bytes: its
// value, and for chunk 0 also its key and headers (names and values), which
// the in-progress message keeps for the delivered one.
inline std::uint64_t HeldBytes(const OwnedRecord& r) {
  std::uint64_t n = r.value ? r.value->size() : 0;
  bool chunk0 = false;
  for (const OwnedHeader& hd : r.headers) chunk0 |= hd.name == "eo.chunk" && hd.value && hd.value->starts_with("0/");
  if (!chunk0) return n;
  if (r.key) n += r.key->size();
  for (const OwnedHeader& hd : r.headers) n += hd.name.size() + (hd.value ? hd.value->size() : 0);
  return n;
}

inline std::uint64_t ReasonCount(const Counters& c, MalformedReason r) {
  return c.malformed_by_reason[static_cast<std::size_t>(r)];
}

// ---------------------------------------------------------------------------
// Seeded traffic generator.

// What a generated record is meant to be, straight from how it was built
// (not from parsing its headers).
enum class Intent : std::uint8_t { kUnstamped, kMalformed, kStamped };

struct GenRecord {
  OwnedRecord record;
  Intent intent = Intent::kUnstamped;
  MalformedReason malformed = MalformedReason::kNone;
  // The claims of a stamped record.
  std::string producer;
  EpochSeq stamp;
  std::optional<ChunkInfo> chunk;
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> crc;
};

struct TrafficOptions {
  std::uint64_t seed = 1;
  std::vector<std::pair<std::string, std::int32_t>> partitions = {{"a", 0}, {"a", 1}, {"b", 0}};
  std::size_t records_per_partition = 1500;
  std::uint32_t max_chunks = 5;
  std::size_t max_payload = 48;
  std::size_t producers_per_partition = 4;
  // Percent of records followed by an offset jump of 1..offset_jump_max.
  int offset_jump_percent = 5;
  std::int64_t offset_jump_max = 20;
  // Timestamps: kBaseTimestamp + offset * ts_step (+ jitter in [0, ts_jitter]
  // when not monotonic, which may move them backwards).
  std::int64_t ts_step = 10;
  std::int64_t ts_jitter = 50;
  bool monotonic_timestamps = false;
  // Percent of producer-idle pauses: a jump of ts_pause in the timestamps.
  int pause_percent = 0;
  std::int64_t ts_pause = 0;
  // Event mix (weights).
  int w_new = 40, w_retry = 8, w_window = 4, w_restart = 3, w_zombie = 5, w_unstamped = 6, w_malformed = 6,
      w_conflict = 3;
};

namespace detail {

class TrafficGen {
 public:
  explicit TrafficGen(const TrafficOptions& o) : o_(o), rng_(o.seed) {}

  std::vector<GenRecord> Run() {
    std::vector<std::vector<GenRecord>> streams;
    for (const auto& [topic, partition] : o_.partitions) streams.push_back(MakePartition(topic, partition));
    // Merge the partition streams in a random order, each kept in offset order.
    std::vector<GenRecord> out;
    std::vector<std::size_t> pos(streams.size(), 0);
    for (;;) {
      std::vector<std::size_t> open;
      for (std::size_t i = 0; i < streams.size(); ++i) {
        if (pos[i] < streams[i].size()) open.push_back(i);
      }
      if (open.empty()) break;
      const std::size_t s = open[Uniform(0, open.size() - 1)];
      out.push_back(std::move(streams[s][pos[s]++]));
    }
    return out;
  }

 private:
  struct SentMessage {
    std::vector<GenRecord> records;
  };
  struct Producer {
    std::string id;
    std::uint64_t epoch = 0;
    std::uint64_t next_seq = 0;
    std::deque<SentMessage> history;
    std::optional<std::uint64_t> zombie_epoch;
    std::uint64_t zombie_next_seq = 0;
  };

  std::size_t Uniform(std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_);
  }
  bool Percent(int p) { return static_cast<int>(Uniform(0, 99)) < p; }

  std::string RandomBytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(Uniform(0, 255));
    return s;
  }

  std::vector<OwnedHeader> ExtraHeaders(const std::string& tag) {
    std::vector<OwnedHeader> h;
    if (Percent(50)) h.push_back({"x-tag", tag});
    if (Percent(10)) h.push_back({"eo.trace", "t-" + tag});
    if (Percent(10)) h.push_back({"x-null", std::nullopt});
    return h;
  }

  // A stamped record (no offset yet) with the given claims.
  GenRecord Stamped(const std::string& topic, std::int32_t partition, const std::string& producer, std::uint64_t e,
                    std::uint64_t s, std::optional<ChunkInfo> chunk, std::optional<std::uint64_t> size,
                    std::optional<std::uint32_t> crc, std::optional<std::string> key, std::optional<std::string> value,
                    const std::vector<OwnedHeader>& extra) {
    GenRecord g;
    g.intent = Intent::kStamped;
    g.producer = producer;
    g.stamp = EpochSeq{Epoch(e), Sequence(s)};
    g.chunk = chunk;
    g.size = size;
    g.crc = crc;
    OwnedRecord& r = g.record;
    r.topic = topic;
    r.partition = exactly::Partition(partition);
    r.key = std::move(key);
    r.value = std::move(value);
    // Some extra headers before the envelope, the rest after it.
    const std::size_t split = extra.empty() ? 0 : Uniform(0, extra.size());
    for (std::size_t i = 0; i < split; ++i) r.headers.push_back(extra[i]);
    StampSpec spec;
    spec.producer = producer;
    spec.stamp = g.stamp;
    spec.chunk = chunk;
    spec.size = size;
    spec.crc = crc;
    FormatStamp(spec).AppendTo(r.headers);
    for (std::size_t i = split; i < extra.size(); ++i) r.headers.push_back(extra[i]);
    return g;
  }

  // The records of one message (chunks in index order, before shuffling).
  std::vector<GenRecord> MakeMessage(const std::string& topic, std::int32_t partition, const std::string& producer,
                                 std::uint64_t e, std::uint64_t s) {
    const std::string tag = producer + ":" + std::to_string(e) + ":" + std::to_string(s);
    std::string payload = RandomBytes(Uniform(0, o_.max_payload));
    const std::uint32_t true_crc = crc32c::Value(payload);
    std::vector<GenRecord> out;
    if (Percent(55)) {
      // A single record, sometimes carrying eo.size / eo.crc to verify.
      std::optional<std::uint64_t> size;
      std::optional<std::uint32_t> crc;
      if (Percent(25)) size = payload.size();
      if (Percent(25)) crc = true_crc;
      if (Percent(5) && size) size = *size + 1;
      if (Percent(5) && crc) crc = *crc ^ 0x10u;
      std::optional<std::string> value = payload;
      if (payload.empty() && Percent(50)) value = std::nullopt;
      std::optional<std::string> key = Percent(80) ? std::optional<std::string>("k-" + tag) : std::nullopt;
      out.push_back(Stamped(topic, partition, producer, e, s, std::nullopt, size, crc, key, value, ExtraHeaders(tag)));
      return out;
    }
    const auto n = static_cast<std::uint32_t>(Uniform(1, o_.max_chunks));
    // Random split points.
    std::vector<std::size_t> cuts;
    for (std::uint32_t i = 1; i < n; ++i) cuts.push_back(Uniform(0, payload.size()));
    std::sort(cuts.begin(), cuts.end());
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(payload.size());
    std::uint64_t size = payload.size();
    std::uint32_t crc = true_crc;
    const int corrupt = Percent(6) ? static_cast<int>(Uniform(1, 3)) : 0;
    if (corrupt == 1) crc ^= 0x80000000u;
    if (corrupt == 2) size = size == 0 ? 1 : (Percent(50) ? size + 1 : size - 1);
    const std::uint32_t corrupt_chunk = static_cast<std::uint32_t>(Uniform(0, n - 1));
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string piece = payload.substr(cuts[i], cuts[i + 1] - cuts[i]);
      if (corrupt == 3 && i == corrupt_chunk && !piece.empty()) piece[0] = static_cast<char>(piece[0] ^ 0x01);
      std::optional<std::string> value = piece;
      if (piece.empty() && Percent(50)) value = std::nullopt;
      std::optional<std::string> key =
          Percent(85) ? std::optional<std::string>("k" + std::to_string(i) + "-" + tag) : std::nullopt;
      std::vector<OwnedHeader> extra = ExtraHeaders(tag);
      extra.push_back({"x-chunk", std::to_string(i)});
      out.push_back(Stamped(topic, partition, producer, e, s, ChunkInfo{i, n}, size, crc, key, value, extra));
    }
    if (Percent(25)) std::shuffle(out.begin(), out.end(), rng_);
    if (Percent(10)) {
      // A duplicated chunk, possibly with different bytes (first copy wins).
      GenRecord dup = out[Uniform(0, out.size() - 1)];
      if (Percent(50) && dup.record.value && !dup.record.value->empty()) (*dup.record.value)[0] ^= 0x02;
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(Uniform(0, out.size())), std::move(dup));
    }
    if (Percent(4) && out.size() > 1) out.erase(out.begin() + static_cast<std::ptrdiff_t>(Uniform(0, out.size() - 1)));
    return out;
  }

  GenRecord Unstamped(const std::string& topic, std::int32_t partition, std::size_t n) {
    GenRecord g;
    g.intent = Intent::kUnstamped;
    g.record.topic = topic;
    g.record.partition = exactly::Partition(partition);
    if (Percent(70)) g.record.key = "u-" + std::to_string(n);
    if (Percent(90)) g.record.value = RandomBytes(Uniform(0, o_.max_payload));
    if (Percent(30)) g.record.headers.push_back({"x-u", std::to_string(n)});
    if (Percent(20)) g.record.headers.push_back({"eo.unknown", "1"});
    return g;
  }

  GenRecord Malformed(const std::string& topic, std::int32_t partition, const std::string& producer,
                      std::uint64_t e, std::uint64_t s) {
    GenRecord g;
    g.intent = Intent::kMalformed;
    g.record.topic = topic;
    g.record.partition = exactly::Partition(partition);
    g.record.value = RandomBytes(Uniform(0, 8));
    auto& h = g.record.headers;
    const std::string ps = producer, es = std::to_string(e), ss = std::to_string(s);
    switch (Uniform(0, 12)) {
      case 0:
        g.malformed = MalformedReason::kMissingProducer;
        h = {{"eo.epoch", es}, {"eo.seq", ss}};
        break;
      case 1:
        g.malformed = MalformedReason::kMissingEpoch;
        h = {{"eo.producer", ps}, {"eo.seq", ss}};
        break;
      case 2:
        g.malformed = MalformedReason::kMissingSeq;
        h = {{"eo.producer", ps}, {"eo.epoch", es}};
        break;
      case 3:
        g.malformed = MalformedReason::kBadProducer;
        h = {{"eo.producer", Percent(50) ? "bad id" : ""}, {"eo.epoch", es}, {"eo.seq", ss}};
        break;
      case 4:
        g.malformed = MalformedReason::kBadEpoch;
        h = {{"eo.producer", ps}, {"eo.epoch", "0" + es}, {"eo.seq", ss}};
        break;
      case 5:
        g.malformed = MalformedReason::kBadSeq;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", "+" + ss}};
        break;
      case 6:
        g.malformed = MalformedReason::kRepeatedHeader;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.seq", ss}};
        break;
      case 7:
        g.malformed = MalformedReason::kBadChunk;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.chunk", "2/2"}, {"eo.size", "3"},
             {"eo.crc", "00000000"}};
        break;
      case 8:
        g.malformed = MalformedReason::kChunkWithoutSize;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.chunk", "0/2"}, {"eo.crc", "00000000"}};
        break;
      case 9:
        g.malformed = MalformedReason::kChunkWithoutCrc;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.chunk", "0/2"}, {"eo.size", "3"}};
        break;
      case 10:
        g.malformed = MalformedReason::kBadSize;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.size", "x"}};
        break;
      case 11:
        g.malformed = MalformedReason::kBadCrc;
        h = {{"eo.producer", ps}, {"eo.epoch", es}, {"eo.seq", ss}, {"eo.crc", "0x1234"}};
        break;
      default:
        g.malformed = MalformedReason::kBadProducer;
        h = {{"eo.producer", std::nullopt}, {"eo.epoch", es}, {"eo.seq", ss}};
        break;
    }
    if (Percent(30)) h.push_back({"x-m", "1"});
    return g;
  }

  std::vector<GenRecord> MakePartition(const std::string& topic, std::int32_t partition) {
    // Ids on both sides of the engine's inline-id limit (24 bytes): 25 and
    // 24 bytes, and a 92-byte one.
    static const char* const kIds[] = {"alpha",      "beta/producer-of-25-bytes", "gamma", "delta/producer-of-24byte",
                                       "relay/in/0", "e~!",
                                       ("epsilon/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                        "xxxxxxxxxxxxxxxxxxxxxxxxxx")};
    std::vector<Producer> producers;
    for (std::size_t i = 0; i < o_.producers_per_partition; ++i) {
      Producer p;
      p.id = kIds[i % std::size(kIds)];
      if (i >= std::size(kIds)) p.id += std::to_string(i);
      p.epoch = Uniform(0, 2);
      p.next_seq = Uniform(0, 5);
      producers.push_back(std::move(p));
    }
    std::vector<std::deque<GenRecord>> pending;
    std::vector<GenRecord> stream;
    std::size_t emitted_events = 0;
    const int total_weight =
        o_.w_new + o_.w_retry + o_.w_window + o_.w_restart + o_.w_zombie + o_.w_unstamped + o_.w_malformed +
        o_.w_conflict;

    auto emit_message = [&](Producer& p, std::uint64_t e, std::uint64_t s, bool remember) {
      std::vector<GenRecord> recs = MakeMessage(topic, partition, p.id, e, s);
      if (remember) {
        p.history.push_back(SentMessage{recs});
        if (p.history.size() > 8) p.history.pop_front();
      }
      pending.emplace_back(recs.begin(), recs.end());
    };

    while (stream.size() < o_.records_per_partition) {
      if (!pending.empty() && Percent(55)) {
        const std::size_t q = Uniform(0, pending.size() - 1);
        auto& dq = pending[q];
        std::size_t idx = 0;
        if (dq.size() > 1 && Percent(12)) idx = Uniform(0, dq.size() - 1);  // out of order
        stream.push_back(std::move(dq[idx]));
        dq.erase(dq.begin() + static_cast<std::ptrdiff_t>(idx));
        if (dq.empty()) pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(q));
        continue;
      }
      ++emitted_events;
      Producer& p = producers[Uniform(0, producers.size() - 1)];
      int pick = static_cast<int>(Uniform(0, static_cast<std::size_t>(total_weight - 1)));
      auto take = [&pick](int w) {
        if (pick < w) return true;
        pick -= w;
        return false;
      };
      if (take(o_.w_new)) {
        if (Percent(10)) p.next_seq += Uniform(1, 4);  // a gap
        const std::uint64_t s = p.next_seq++;
        emit_message(p, p.epoch, s, true);
      } else if (take(o_.w_retry)) {
        if (p.history.empty()) continue;
        std::vector<GenRecord> recs = p.history[Uniform(0, p.history.size() - 1)].records;
        if (Percent(30) && recs.size() > 1) recs.erase(recs.begin() + static_cast<std::ptrdiff_t>(Uniform(0, recs.size() - 1)));
        pending.emplace_back(recs.begin(), recs.end());
      } else if (take(o_.w_window)) {
        if (p.history.empty()) continue;
        const std::size_t k = Uniform(1, std::min<std::size_t>(4, p.history.size()));
        std::deque<GenRecord> q;
        for (std::size_t i = p.history.size() - k; i < p.history.size(); ++i) {
          for (const auto& r : p.history[i].records) q.push_back(r);
        }
        pending.push_back(std::move(q));
      } else if (take(o_.w_restart)) {
        p.zombie_epoch = p.epoch;
        p.zombie_next_seq = p.next_seq;
        p.epoch += Percent(20) ? 2 : 1;
        p.next_seq = Uniform(0, 3);
        p.history.clear();
        const std::uint64_t s = p.next_seq++;
        emit_message(p, p.epoch, s, true);
      } else if (take(o_.w_zombie)) {
        if (!p.zombie_epoch) continue;
        const std::uint64_t s = p.zombie_next_seq++;
        emit_message(p, *p.zombie_epoch, s, false);
      } else if (take(o_.w_unstamped)) {
        pending.push_back({Unstamped(topic, partition, emitted_events)});
      } else if (take(o_.w_malformed)) {
        pending.push_back({Malformed(topic, partition, p.id, p.epoch, p.next_seq)});
      } else {
        // A chunk that conflicts with a recent chunked message of p: same
        // stamp, different N, size or crc.
        const GenRecord* base = nullptr;
        for (auto it = p.history.rbegin(); it != p.history.rend() && base == nullptr; ++it) {
          for (const auto& r : it->records) {
            if (r.chunk) {
              base = &r;
              break;
            }
          }
        }
        if (base == nullptr) continue;
        GenRecord c = *base;
        std::uint32_t n = c.chunk->count;
        std::uint64_t size = *c.size;
        std::uint32_t crc = *c.crc;
        switch (Uniform(0, 2)) {
          case 0: n += 1; break;
          case 1: size += 1; break;
          default: crc ^= 1u; break;
        }
        std::vector<OwnedHeader> extra = {{"x-conflict", "1"}};
        pending.push_back({Stamped(topic, partition, c.producer, c.stamp.epoch.value(), c.stamp.seq.value(),
                                   ChunkInfo{c.chunk->index, n}, size, crc, c.record.key, c.record.value, extra)});
      }
    }
    // Flush whatever is pending, still interleaved.
    while (!pending.empty()) {
      const std::size_t q = Uniform(0, pending.size() - 1);
      stream.push_back(std::move(pending[q].front()));
      pending[q].pop_front();
      if (pending[q].empty()) pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(q));
    }
    // Offsets and timestamps.
    std::int64_t offset = static_cast<std::int64_t>(Uniform(0, 1000));
    std::int64_t pause = 0;
    std::int64_t last_ts = 0;
    for (auto& g : stream) {
      g.record.offset = exactly::Offset(offset);
      if (o_.pause_percent > 0 && Percent(o_.pause_percent)) pause += o_.ts_pause;
      std::int64_t ts = kBaseTimestamp + offset * o_.ts_step + pause;
      if (!o_.monotonic_timestamps) {
        ts += static_cast<std::int64_t>(Uniform(0, static_cast<std::size_t>(o_.ts_jitter)));
      } else {
        ts = std::max(ts, last_ts);
      }
      last_ts = ts;
      g.record.timestamp = TimestampMs(ts);
      offset += 1;
      if (Percent(o_.offset_jump_percent)) offset += static_cast<std::int64_t>(Uniform(1, static_cast<std::size_t>(o_.offset_jump_max)));
    }
    return stream;
  }

  TrafficOptions o_;
  std::mt19937_64 rng_;
};

}  // namespace detail

// Records of all partitions, each partition in offset order, partitions
// interleaved at random. Deterministic for a given TrafficOptions.
inline std::vector<GenRecord> GenerateTraffic(const TrafficOptions& options) {
  return detail::TrafficGen(options).Run();
}

// ---------------------------------------------------------------------------
// Comparing runs record by record.

// Canonical order, so that states can be compared whatever order the
// engine lists producers and messages in.
inline PartitionState Normalised(PartitionState s) {
  std::sort(s.producers.begin(), s.producers.end(),
            [](const ProducerState& a, const ProducerState& b) { return a.producer < b.producer; });
  std::sort(s.in_progress.begin(), s.in_progress.end(), [](const InProgressState& a, const InProgressState& b) {
    return std::tie(a.header.producer, a.header.stamp) < std::tie(b.header.producer, b.header.stamp);
  });
  return s;
}

// Everything observable about processing one record.
struct Step {
  Outcome outcome;
  std::vector<DeliveredMessage> delivered;
  std::vector<RejectedRecord> rejected;
  friend bool operator==(const Step&, const Step&) = default;
};

inline void PrintTo(const Step& s, std::ostream* os) {
  *os << OutcomeName(s.outcome) << " delivered=[";
  for (const auto& m : s.delivered) PrintTo(m, os);
  *os << "] rejected=[";
  for (const auto& r : s.rejected) PrintTo(r, os);
  *os << "]";
}

inline Step Run(Engine& engine, RecordingSink& sink, const OwnedRecord& r) {
  Step s;
  sink.records.clear();
  const RecordView v = r.view();
  s.outcome = engine.Process(v, [&](const Message& m) { s.delivered.push_back(DeliveredMessage::From(m)); });
  s.rejected = sink.records;
  return s;
}

inline std::vector<Step> Uninterrupted(const EngineOptions& options, const std::vector<GenRecord>& records) {
  RecordingSink sink;
  Engine engine(options, &sink);
  std::vector<Step> steps;
  for (const auto& g : records) steps.push_back(Run(engine, sink, g.record));
  return steps;
}

}  // namespace exactly::test
