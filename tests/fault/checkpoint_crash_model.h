// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The synthetic engine of the checkpoint crash test, shared by the child
// that checkpoints it and the parent that checks what survived. Round r's
// changes are a pure function of r, so the state after any round can be
// recomputed: watermark sets and erasures over a pool of producers in two
// partitions, a chunked message started each round (chunk 0), continued
// the next (chunk 1) and finished the one after (removed), application
// state (a running sum and a rotating set of keys), and the next offsets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "exactly/checkpoint_store.h"

namespace exactly::crash_model {

inline constexpr int kPartitions = 2;
inline constexpr int kPool = 400;           // producers per partition
inline constexpr int kChangesPerRound = 40;  // watermark changes per round

inline TopicPartition Tp(int p) { return TopicPartition{Topic("crash"), Partition(p)}; }
inline Offset NextOffset(std::uint64_t round, int p) { return Offset(static_cast<std::int64_t>(round) * 100 + p); }
inline std::uint64_t RoundOf(Offset next) { return static_cast<std::uint64_t>(next.value() / 100); }

inline std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline InProgressHeader MessageOf(std::uint64_t r) {
  InProgressHeader h;
  h.producer = "chunky-" + std::to_string(r % 5);
  h.stamp = EpochSeq{Epoch(r), Sequence(0)};
  h.count = 3;
  h.size = 30;
  h.crc = static_cast<std::uint32_t>(Mix(r));
  h.first_offset = Offset(static_cast<std::int64_t>(r) * 100);
  h.have_chunk0 = true;
  h.key0 = "key-" + std::to_string(r);
  h.headers0 = {OwnedHeader{"h", std::to_string(r)}};
  return h;
}

inline int PartitionOfMessage(std::uint64_t r) { return static_cast<int>(r % kPartitions); }

// Reports round r's changes to partition p.
inline void EmitRound(std::uint64_t r, int p, ChangeVisitor& v) {
  const std::int64_t ts = static_cast<std::int64_t>(r) * 1000;
  for (int j = 0; j < kChangesPerRound; ++j) {
    const std::uint64_t h = Mix(r * 1000003 + static_cast<std::uint64_t>(j));
    if (static_cast<int>(h % kPartitions) != p) continue;
    const std::string id = "producer-" + std::to_string((h >> 8) % kPool);
    if ((h >> 20) % 6 == 0) {
      v.ProducerErased(id);
    } else {
      v.ProducerChanged(ProducerState{id, EpochSeq{Epoch(r), Sequence(static_cast<std::uint64_t>(j))}, TimestampMs(ts + j)});
    }
  }
  // Removals first, as the engine reports them.
  if (r >= 3 && PartitionOfMessage(r - 2) == p) v.InProgressRemoved(MessageOf(r - 2).producer, MessageOf(r - 2).stamp);
  if (r >= 2 && PartitionOfMessage(r - 1) == p) {
    const ChunkState c{1, Offset(static_cast<std::int64_t>(r) * 100 + 1), TimestampMs(ts + 500),
                       std::to_string(r - 1) + "/1"};
    v.ChunkAdded(MessageOf(r - 1), ViewOf(c));
  }
  if (PartitionOfMessage(r) == p) {
    const ChunkState c{0, Offset(static_cast<std::int64_t>(r) * 100), TimestampMs(ts + 500), std::to_string(r) + "/0"};
    v.ChunkAdded(MessageOf(r), ViewOf(c));
  }
}

// Application state staged by round r.
inline void StageApp(std::uint64_t r, AppTransaction& txn) {
  txn.Put("sum", std::to_string(r * (r + 1) / 2));
  txn.Put("k" + std::to_string(r % 10), std::to_string(r));
  txn.Delete("k" + std::to_string((r + 5) % 10));
}

// The state after a number of rounds, advanced round by round.
class Model {
 public:
  std::uint64_t round() const { return round_; }

  void AdvanceTo(std::uint64_t r) {
    while (round_ < r) {
      ++round_;
      for (int p = 0; p < kPartitions; ++p) {
        Applier a(parts_[p]);
        EmitRound(round_, p, a);
      }
      app_["sum"] = std::to_string(round_ * (round_ + 1) / 2);
      app_["k" + std::to_string(round_ % 10)] = std::to_string(round_);
      app_.erase("k" + std::to_string((round_ + 5) % 10));
    }
  }

  // As Load returns it: producers sorted by id, messages by (producer, stamp).
  PartitionState State(int p) const {
    PartitionState s;
    s.max_timestamp = parts_[p].max_ts;
    for (const auto& [id, st] : parts_[p].producers) s.producers.push_back(st);
    for (const auto& [key, m] : parts_[p].in_progress) s.in_progress.push_back(m);
    return s;
  }
  const std::map<std::string, std::string>& app() const { return app_; }

 private:
  struct Part {
    std::map<std::string, ProducerState> producers;
    std::map<std::pair<std::string, std::tuple<std::uint64_t, std::uint64_t>>, InProgressState> in_progress;
    TimestampMs max_ts{INT64_MIN};
  };
  class Applier : public ChangeVisitor {
   public:
    explicit Applier(Part& part) : part_(part) {}
    void ProducerChanged(const ProducerState& s) override {
      part_.producers[s.producer] = s;
      if (s.last_seen > part_.max_ts) part_.max_ts = s.last_seen;
    }
    void ProducerErased(std::string_view id) override { part_.producers.erase(std::string(id)); }
    void ChunkAdded(const InProgressHeader& h, const ChunkView& c) override {
      InProgressState& m = part_.in_progress[Key(h.producer, h.stamp)];
      m.header = h;
      m.chunks.push_back(OwnedChunk(c));
      if (c.timestamp > part_.max_ts) part_.max_ts = c.timestamp;
    }
    void InProgressRemoved(std::string_view producer, EpochSeq stamp) override {
      part_.in_progress.erase(Key(std::string(producer), stamp));
    }

   private:
    static std::pair<std::string, std::tuple<std::uint64_t, std::uint64_t>> Key(std::string producer, EpochSeq s) {
      return {std::move(producer), {s.epoch.value(), s.seq.value()}};
    }
    Part& part_;
  };

  std::uint64_t round_ = 0;
  Part parts_[kPartitions];
  std::map<std::string, std::string> app_;
};

// Options that make the store fold often, in passes of several steps.
inline StoreOptions ChurnyOptions() {
  StoreOptions o;
  o.fold_pending_bytes = 2048;
  o.fold_max_deltas = 4;
  o.fold_step_bytes = 512;
  return o;
}

}  // namespace exactly::crash_model
