// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The engine fed arbitrary record sequences (two partitions, three
// producers, small epochs and sequences, chunks with right or wrong size and
// crc, malformed and unstamped records, tight bounds). Invariants checked:
// - every input record ends in exactly one outcome (outcome tallies add up);
// - delivered watermarks never go backwards per (partition, producer), as
//   long as no producer expired;
// - bytes held (chunk values, chunk 0's key and headers) never exceed
//   max-buffer-bytes in any partition, and equal what a snapshot shows;
// - a delivered reassembled message matches its eo.size and eo.crc;
// - snapshot -> encode -> decode -> restore at a chosen point, then the
//   same remaining input, gives exactly the same deliveries.
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "exactly/crc32c.h"
#include "exactly/engine.h"
#include "fuzz_input.h"

namespace {

using namespace exactly;

struct Rec {
  OwnedRecord r;
};

std::string Digits(std::uint64_t v) { return std::to_string(v); }

std::vector<OwnedRecord> Decode(fuzz::FuzzInput& in) {
  std::vector<OwnedRecord> out;
  std::int64_t offset[2] = {0, 0};
  std::int64_t ts = 1000;
  // Message bodies the chunks are cut from, per (producer, seq).
  while (!in.empty() && out.size() < 400) {
    OwnedRecord r;
    const unsigned part = in.Below(2);
    r.topic = "t";
    r.partition = Partition(static_cast<std::int32_t>(part));
    offset[part] += 1 + in.Below(4);
    r.offset = Offset(offset[part]);
    ts += in.Below(50);
    r.timestamp = TimestampMs(ts);
    const unsigned kind = in.Below(16);
    const std::string producer = "p" + std::to_string(in.Below(3));
    const std::uint64_t epoch = in.Below(3);
    const std::uint64_t seq = in.Below(12);
    if (kind == 0) {  // unstamped
      r.value = in.Bytes(8);
    } else if (kind == 1) {  // malformed: a bad epoch
      r.headers = {{"eo.producer", producer}, {"eo.epoch", "01"}, {"eo.seq", Digits(seq)}};
    } else if (kind < 8) {  // single record, sometimes verified
      r.value = in.Bytes(8);
      r.headers = {{"eo.producer", producer}, {"eo.epoch", Digits(epoch)}, {"eo.seq", Digits(seq)}};
      if (kind == 7) r.headers.push_back({"eo.size", Digits(r.value->size() + in.Below(2))});
    } else {  // a chunk of a message whose body is fixed by its stamp
      const unsigned n = 1 + (seq % 4);
      const unsigned i = in.Below(n);
      std::string body;
      for (unsigned k = 0; k < 3 * n; ++k) body.push_back(static_cast<char>('a' + (seq + k + epoch) % 26));
      r.value = body.substr(3 * i, 3);
      const bool bad_crc = in.Below(8) == 0;
      r.headers = {{"eo.producer", producer},
                   {"eo.epoch", Digits(epoch)},
                   {"eo.seq", Digits(seq)},
                   {"eo.chunk", Digits(i) + "/" + Digits(n)},
                   {"eo.size", Digits(body.size())},
                   {"eo.crc", FormatCrc(crc32c::Value(body) ^ (bad_crc ? 1u : 0u))},
                   {"app", "v"}};
    }
    out.push_back(std::move(r));
  }
  return out;
}

struct Delivery {
  std::int32_t partition;
  std::int64_t offset;
  std::string producer;
  std::uint64_t epoch, seq;
  std::string value;
  bool operator==(const Delivery&) const = default;
};

struct Run {
  bool check_watermarks = true;  // false when producers may expire (TTL)
  std::vector<Delivery> delivered;
  std::map<std::tuple<std::int32_t, std::string>, EpochSeq> last;
};

void Feed(Engine& engine, const OwnedRecord& rec, Run& run, std::uint64_t* outcomes) {
  const RecordView v = rec.view();
  const Outcome o = engine.Process(v, [&](const Message& m) {
    if (!m.stamped) return;
    const auto key = std::make_tuple(m.partition.value(), std::string(m.producer));
    auto it = run.last.find(key);
    if (run.check_watermarks && it != run.last.end() && !(it->second < m.stamp)) std::abort();  // went backwards
    run.last[key] = m.stamp;
    if (m.chunks > 0) {
      // Verify against the claims of the record that completed it.
      const Envelope e = Classify(v.headers);
      if (!e.size || !e.crc || m.value->size() != *e.size || crc32c::Value(*m.value) != *e.crc) std::abort();
    }
    run.delivered.push_back(Delivery{m.partition.value(), m.offset.value(), std::string(m.producer),
                                     m.stamp.epoch.value(), m.stamp.seq.value(), std::string(m.value.value_or(""))});
  });
  ++outcomes[static_cast<int>(o)];
}

void CheckBuffers(const Engine& engine, std::uint64_t max_buffer) {
  std::uint64_t total = 0;
  for (const TopicPartition& tp : engine.Partitions()) {
    std::uint64_t held = 0;
    for (const InProgressState& m : engine.Snapshot(tp).in_progress) {
      for (const ChunkState& c : m.chunks) held += c.value ? c.value->size() : 0;
      // Chunk 0's key and headers are held with the message too.
      if (m.header.have_chunk0) {
        held += m.header.key0 ? m.header.key0->size() : 0;
        for (const OwnedHeader& h : m.header.headers0) held += h.name.size() + (h.value ? h.value->size() : 0);
      }
    }
    if (held > max_buffer) std::abort();
    total += held;
  }
  if (total != engine.BufferedBytes()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  EngineOptions opts;
  opts.max_chunk_span = 2 + in.Below(30);
  opts.max_buffer_bytes = 1 + in.Below(20);
  opts.producer_ttl_ms = in.Below(4) == 0 ? 1 + in.Below(200) : INT64_MAX / 4;
  opts.unstamped = in.Below(2) ? UnstampedPolicy::kPass : UnstampedPolicy::kDrop;
  const unsigned split = in.Below(255);
  const std::vector<OwnedRecord> records = Decode(in);

  Engine a(opts);
  Run run_a;
  run_a.check_watermarks = opts.producer_ttl_ms > 1'000'000'000;
  std::uint64_t outcomes[16] = {};
  std::size_t cut = records.empty() ? 0 : split % (records.size() + 1);
  for (std::size_t i = 0; i < cut; ++i) {
    Feed(a, records[i], run_a, outcomes);
    CheckBuffers(a, opts.max_buffer_bytes);
  }
  // Engine b continues from a's state, round-tripped through bytes.
  Engine b(opts);
  for (const TopicPartition& tp : a.Partitions()) {
    PartitionState decoded;
    if (!DecodePartitionState(EncodePartitionState(a.Snapshot(tp)), &decoded).ok()) std::abort();
    if (!b.Restore(tp, std::move(decoded)).ok()) std::abort();
  }
  Run run_b = run_a;
  run_b.delivered.clear();
  std::uint64_t outcomes_b[16] = {};
  const std::size_t before = run_a.delivered.size();
  for (std::size_t i = cut; i < records.size(); ++i) {
    Feed(a, records[i], run_a, outcomes);
    Feed(b, records[i], run_b, outcomes_b);
    CheckBuffers(a, opts.max_buffer_bytes);
  }
  if (!std::equal(run_a.delivered.begin() + static_cast<std::ptrdiff_t>(before), run_a.delivered.end(),
                  run_b.delivered.begin(), run_b.delivered.end()))
    std::abort();

  std::uint64_t tally = 0;
  for (std::uint64_t n : outcomes) tally += n;
  if (tally != records.size() || a.counters().records != records.size()) std::abort();
  // Records counted by outcome agree with the counters.
  const Counters& c = a.counters();
  if (outcomes[static_cast<int>(Outcome::kDuplicate)] != c.duplicate ||
      outcomes[static_cast<int>(Outcome::kStale)] != c.stale ||
      outcomes[static_cast<int>(Outcome::kMalformed)] != c.malformed ||
      outcomes[static_cast<int>(Outcome::kChunkDuplicate)] != c.chunk_duplicate ||
      outcomes[static_cast<int>(Outcome::kUnstampedDropped)] != c.unstamped_dropped)
    std::abort();
  return 0;
}
