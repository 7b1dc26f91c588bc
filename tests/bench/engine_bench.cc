// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Core engine benchmarks. Every figure is meant to be read as a ratio
// against a baseline measured in the same run (scripts/bench.sh does the
// division): decisions against classification alone, reassembly against
// memcpy of the same bytes.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "exactly/crc32c.h"
#include "exactly/engine.h"

namespace exactly {
namespace {

// Single-record messages from `producers` producers, round-robin, each with
// a rising sequence. The epoch header is shared by all records and rewritten
// between passes (same digit count), so every pass is fresh traffic.
class Traffic {
 public:
  Traffic(std::size_t producers, std::size_t records) : epoch_("1000000000") {
    ids_.reserve(producers);
    for (std::size_t i = 0; i < producers; ++i) ids_.push_back("producer-" + std::to_string(i));
    seqs_.reserve(records);
    headers_.reserve(records * 5);
    for (std::size_t r = 0; r < records; ++r) seqs_.push_back(std::to_string(r / producers));
    for (std::size_t r = 0; r < records; ++r) {
      headers_.push_back({"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"});
      headers_.push_back({"eo.producer", ids_[r % producers]});
      headers_.push_back({"eo.epoch", epoch_});
      headers_.push_back({"eo.seq", seqs_[r]});
      headers_.push_back({"content-type", "application/json"});
    }
    records_.reserve(records);
    for (std::size_t r = 0; r < records; ++r) {
      RecordView v;
      v.topic = "in";
      v.partition = Partition(0);
      v.offset = Offset(static_cast<std::int64_t>(r));
      v.timestamp = TimestampMs(1'700'000'000'000);
      v.key = std::nullopt;
      v.value = payload_;
      v.headers = std::span<const HeaderView>(&headers_[r * 5], 5);
      records_.push_back(v);
    }
  }
  const std::vector<RecordView>& records() const { return records_; }
  // Moves to the next epoch; the header views see it at once.
  void NextEpoch() {
    std::uint64_t e = 0;
    std::from_chars(epoch_.data(), epoch_.data() + epoch_.size(), e);
    std::to_chars(epoch_.data(), epoch_.data() + epoch_.size(), e + 1);
  }

 private:
  std::string epoch_;
  std::string payload_ = std::string(100, 'p');
  std::vector<std::string> ids_, seqs_;
  std::vector<HeaderView> headers_;
  std::vector<RecordView> records_;
};

// How a caller feeds the engine a batch of records.
enum class Feed : int {
  kProcess = 0,   // Process() on each record
  kBatch = 1,     // ProcessBatch() on the batch
  kPrefetch = 2,  // Prefetch() kPrefetchDistance records ahead, then Process(): the Kafka consumer's way
};

void FeedBatch(Engine& engine, Feed feed, std::span<const RecordView> batch, Engine::DeliverFn deliver) {
  switch (feed) {
    case Feed::kProcess:
      for (const RecordView& r : batch) engine.Process(r, deliver);
      break;
    case Feed::kBatch:
      engine.ProcessBatch(batch, deliver);
      break;
    case Feed::kPrefetch: {
      // A consumer hints each record as it reads it, that many records
      // before deciding it; at the end of a batch (its queue drained) it
      // decides the last ones without hints ahead of them.
      const std::size_t ahead = std::min(Engine::kPrefetchDistance, batch.size());
      for (std::size_t j = 0; j < ahead; ++j) engine.Prefetch(batch[j]);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i + ahead < batch.size()) engine.Prefetch(batch[i + ahead]);
        engine.Process(batch[i], deliver);
      }
      break;
    }
  }
}

void BM_Decisions(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  const auto feed = static_cast<Feed>(state.range(1));
  // A small record set stays in cache, as a just-fetched batch does; the
  // producer table is what grows.
  Traffic traffic(producers, std::max<std::size_t>(producers, 8192));
  Engine engine;
  std::uint64_t delivered = 0;
  auto sink = [&](const Message&) { ++delivered; };
  // Warm-up pass: every producer known, as in a long-running consumer.
  for (const RecordView& r : traffic.records()) engine.Process(r, sink);
  for (auto _ : state) {
    state.PauseTiming();
    traffic.NextEpoch();
    state.ResumeTiming();
    FeedBatch(engine, feed, traffic.records(), sink);
  }
  if (delivered != traffic.records().size() * (state.iterations() + 1)) state.SkipWithError("not all delivered");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * traffic.records().size()));
}
// Args: producers; feed (Feed: what the look-ahead costs where the table
// is in cache and it does nothing).
BENCHMARK(BM_Decisions)->ArgsProduct({{1, 1000}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// Traffic for the producer-count curve: batches of single-record messages
// (headers as above), each record from a producer drawn at random,
// uniformly (the worst case for the caches: every record is a different,
// cold producer) or Zipf-like (s = 1 over a fixed random ranking: a few hot
// producers, a long cold tail). Every producer's seq starts at a value of
// 1 to 9 digits and rises by one per record, so every record is a fresh
// delivery and seq lengths are mixed. A batch's ids and seqs are copied into
// the batch's own buffer, as a fetched batch holds them: the engine's
// misses are its own. Fixed seed.
class CurveTraffic {
 public:
  static constexpr std::size_t kBatch = 8192;

  CurveTraffic(std::size_t producers, bool zipf, std::uint64_t seed)
      : producers_(producers), zipf_(zipf), rng_(seed), next_seq_(producers) {
    std::uniform_int_distribution<int> digits(1, 9);
    for (auto& s : next_seq_) {
      const int d = digits(rng_);
      std::uint64_t low = 1;
      for (int i = 1; i < d; ++i) low *= 10;
      s = low + rng_() % (4 * low);  // room to rise within d digits
    }
    if (zipf_) {
      rank_to_producer_.resize(producers);
      for (std::size_t i = 0; i < producers; ++i) rank_to_producer_[i] = static_cast<std::uint32_t>(i);
      std::shuffle(rank_to_producer_.begin(), rank_to_producer_.end(), rng_);
    }
    text_.resize(kBatch * 48);
    headers_.resize(kBatch * 5);
    records_.resize(kBatch);
  }

  // One record from each producer in order, in batches: the warm-up that
  // makes every producer known, as in a long-running consumer.
  template <class Fn>
  void ForEachWarmUpBatch(Fn&& fn) {
    for (std::size_t first = 0; first < producers_; first += kBatch) {
      const std::size_t n = std::min(kBatch, producers_ - first);
      Fill(n, [&](std::size_t i) { return first + i; });
      fn(batch());
    }
  }

  // Refills the batch with kBatch records from randomly drawn producers.
  void Next() {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const double log_n1 = std::log(static_cast<double>(producers_) + 1.0);
    Fill(kBatch, [&](std::size_t) -> std::size_t {
      if (!zipf_) return rng_() % producers_;
      // P(rank >= k) ~ 1 - ln(k+1)/ln(n+1): a continuous Zipf(1).
      auto rank = static_cast<std::size_t>(std::exp(u(rng_) * log_n1)) - 1;
      return rank_to_producer_[std::min(rank, producers_ - 1)];
    });
  }

  std::span<const RecordView> batch() const { return std::span<const RecordView>(records_.data(), size_); }

 private:
  template <class Pick>
  void Fill(std::size_t n, Pick&& pick) {
    char* out = text_.data();
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t p = pick(r);
      char* id = out;
      std::memcpy(out, "producer-", 9);
      out = std::to_chars(out + 9, out + 24, p).ptr;
      const std::string_view id_view(id, static_cast<std::size_t>(out - id));
      char* seq = out;
      out = std::to_chars(out, out + 24, next_seq_[p]++).ptr;
      const std::string_view seq_view(seq, static_cast<std::size_t>(out - seq));
      headers_[r * 5 + 0] = {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
      headers_[r * 5 + 1] = {"eo.producer", id_view};
      headers_[r * 5 + 2] = {"eo.epoch", "1000000000"};
      headers_[r * 5 + 3] = {"eo.seq", seq_view};
      headers_[r * 5 + 4] = {"content-type", "application/json"};
      RecordView& v = records_[r];
      v.topic = "in";
      v.partition = Partition(0);
      v.offset = Offset(offset_++);
      v.timestamp = TimestampMs(1'700'000'000'000);
      v.key = std::nullopt;
      v.value = payload_;
      v.headers = std::span<const HeaderView>(&headers_[r * 5], 5);
    }
    size_ = n;
  }

  std::size_t producers_;
  bool zipf_;
  std::mt19937_64 rng_;
  std::vector<std::uint64_t> next_seq_;
  std::vector<std::uint32_t> rank_to_producer_;
  std::string payload_ = std::string(100, 'p');
  std::vector<char> text_;
  std::vector<HeaderView> headers_;
  std::vector<RecordView> records_;
  std::size_t size_ = 0;
  std::int64_t offset_ = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The producer-count curve: an engine tracking 1k producers (the baseline)
// and one tracking N, fed alternately one batch each, in the same process,
// so machine load hits both alike. Reports decisions per CPU second of
// each (thread CPU time: per_s for N, per_s_1k) and ratio_to_1k, the
// figure to watch (issue target at 1M: >= 0.5).
// Args: producers N; distribution (0 uniform, 1 Zipf-like); feed (Feed).
void BM_DecisionCurve(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  const bool zipf = state.range(1) != 0;
  const auto feed = static_cast<Feed>(state.range(2));
  struct Side {
    CurveTraffic traffic;
    Engine engine;
    double seconds = 0;
    std::uint64_t records = 0;
  };
  std::uint64_t delivered = 0;
  auto sink = [&](const Message&) { ++delivered; };
  Side small{CurveTraffic(1000, zipf, 1), Engine()};
  Side large{CurveTraffic(producers, zipf, 2), Engine()};
  for (Side* side : {&small, &large})
    side->traffic.ForEachWarmUpBatch([&](std::span<const RecordView> batch) {
      for (const RecordView& r : batch) side->engine.Process(r, sink);
    });
  delivered = 0;
  for (auto _ : state) {
    for (Side* side : {&small, &large}) {
      side->traffic.Next();
      const auto batch = side->traffic.batch();
      const double start = ThreadCpuSeconds();
      FeedBatch(side->engine, feed, batch, sink);
      side->seconds += ThreadCpuSeconds() - start;
      side->records += batch.size();
    }
  }
  if (delivered != small.records + large.records) state.SkipWithError("not all delivered");
  const double rate_small = static_cast<double>(small.records) / small.seconds;
  const double rate_large = static_cast<double>(large.records) / large.seconds;
  state.counters["per_s_1k"] = rate_small;
  state.counters["per_s"] = rate_large;
  state.counters["ratio_to_1k"] = rate_large / rate_small;
}
BENCHMARK(BM_DecisionCurve)
    ->ArgNames({"producers", "zipf", "feed"})
    ->ArgsProduct({{10000, 100000, 1000000}, {0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    // Fixed, so the engines are built once per repetition (a 1M warm-up
    // takes longer than the measurement): ~1 s at 1M producers.
    ->Iterations(250);

// The floor under a decision: classifying the envelope alone.
void BM_Classify(benchmark::State& state) {
  Traffic traffic(1000, 8192);
  for (auto _ : state) {
    for (const RecordView& r : traffic.records()) benchmark::DoNotOptimize(Classify(r.headers));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * traffic.records().size()));
}
BENCHMARK(BM_Classify);

// Heap bytes per tracked producer, ids excluded, via glibc's allocator
// stats: bytes in use from the heap plus those in mmapped blocks (large
// allocations are mmapped and missing from uordblks alone), plus the
// producer tables' 2 MiB blocks, mapped outside malloc (entries past the
// first ~32k of a partition, and indexes of 2 MiB and more).
std::size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd + Engine::MappedBytes();
}

void BM_MemoryPerProducer(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  Traffic traffic(producers, producers);
  std::size_t id_bytes = 0;
  for (const RecordView& r : traffic.records()) id_bytes += r.headers[1].value->size();
  double per_producer = 0;
  for (auto _ : state) {
    const std::size_t before = HeapInUse();
    {
      Engine engine;
      for (const RecordView& r : traffic.records()) engine.Process(r, [](const Message&) {});
      const std::size_t after = HeapInUse();
      per_producer = (static_cast<double>(after) - static_cast<double>(before) - static_cast<double>(id_bytes)) /
                     static_cast<double>(producers);
    }
  }
  state.counters["bytes_per_producer"] = per_producer;
  if (per_producer > 128) state.SkipWithError("over the 128 bytes per producer budget");
}
BENCHMARK(BM_MemoryPerProducer)->Arg(1000)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

constexpr std::size_t kMessageBytes = 1 << 20;
constexpr std::size_t kChunkBytes = 64 << 10;
constexpr std::uint32_t kChunks = kMessageBytes / kChunkBytes;

struct ChunkedMessage {
  std::string bytes = std::string(kMessageBytes, '\0');
  std::string size = std::to_string(kMessageBytes);
  std::string crc;
  std::vector<std::string> chunk_names;
  ChunkedMessage() {
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 2654435761u >> 24);
    crc = FormatCrc(crc32c::Value(bytes));
    for (std::uint32_t i = 0; i < kChunks; ++i) chunk_names.push_back(std::to_string(i) + "/" + std::to_string(kChunks));
  }
};

// Baseline: copy the same chunks into one contiguous buffer. The
// destination is offset by 64 bytes from the source's page offset: with both
// at the same offset (as two fresh 1 MiB allocations are), glibc's
// `rep movsb` copy runs ~15x slower on the AMD EPYC VMs measured, which would
// flatter the ratio.
void BM_ReassembleBaselineMemcpy(benchmark::State& state) {
  ChunkedMessage msg;
  auto buffer = std::make_unique<char[]>(kMessageBytes + 4096);
  const auto src_page_offset = reinterpret_cast<std::uintptr_t>(msg.bytes.data()) % 4096;
  const auto buf_page_offset = reinterpret_cast<std::uintptr_t>(buffer.get()) % 4096;
  char* out = buffer.get() + (src_page_offset + 64 + 4096 - buf_page_offset) % 4096;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kChunks; ++i) std::memcpy(out + i * kChunkBytes, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_ReassembleBaselineMemcpy);

// Feeds one chunked message per Send() to an engine: 16 chunk records in,
// one verified 1 MiB message out.
class ChunkFeeder {
 public:
  explicit ChunkFeeder(const ChunkedMessage& msg) : msg_(msg), headers_(6) {}
  void Send() {
    const auto end = std::to_chars(seq_, seq_ + sizeof seq_, n_++).ptr;
    for (std::uint32_t i = 0; i < kChunks; ++i) {
      headers_[0] = {"eo.producer", "big-producer"};
      headers_[1] = {"eo.epoch", "1"};
      headers_[2] = {"eo.seq", std::string_view(seq_, static_cast<std::size_t>(end - seq_))};
      headers_[3] = {"eo.chunk", msg_.chunk_names[i]};
      headers_[4] = {"eo.size", msg_.size};
      headers_[5] = {"eo.crc", msg_.crc};
      RecordView r{"in", Partition(0), Offset(offset_++), TimestampMs(0), std::nullopt,
                   std::string_view(msg_.bytes).substr(i * kChunkBytes, kChunkBytes), headers_};
      engine_.Process(r, [&](const Message& m) {
        benchmark::DoNotOptimize(m.value->data());
        ++delivered_;
      });
    }
  }
  std::uint64_t delivered() const { return delivered_; }

 private:
  const ChunkedMessage& msg_;
  Engine engine_;
  char seq_[24] = {};
  std::uint64_t n_ = 0;
  std::uint64_t delivered_ = 0;
  std::int64_t offset_ = 0;
  std::vector<HeaderView> headers_;
};

void BM_Reassemble(benchmark::State& state) {
  ChunkedMessage msg;
  ChunkFeeder feeder(msg);
  for (auto _ : state) feeder.Send();
  if (feeder.delivered() != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("not all delivered");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Reassemble);

// The reassembly ratio on a shared machine: every iteration times one
// memcpy of the chunks (as BM_ReassembleBaselineMemcpy), one copy-and-check
// of them (as BM_Crc32cCopyChunks) and one reassembled message back to
// back, so all three see the same load; the counters are ratios of the
// medians (a time slice lost to another process spoils single samples, not
// the median). The iteration time reported is the reassembly's. Each of
// the three writes its own destination, as the engine writes its message
// buffer: a destination another step has just written is still in cache,
// and measured up to 1.7x faster to write again.
void BM_ReassembleInterleaved(benchmark::State& state) {
  ChunkedMessage msg;
  ChunkFeeder feeder(msg);
  const auto src_page_offset = reinterpret_cast<std::uintptr_t>(msg.bytes.data()) % 4096;
  const auto place = [&](std::unique_ptr<char[]>& buffer) {
    buffer = std::make_unique<char[]>(kMessageBytes + 4096);
    const auto buf_page_offset = reinterpret_cast<std::uintptr_t>(buffer.get()) % 4096;
    return buffer.get() + (src_page_offset + 64 + 4096 - buf_page_offset) % 4096;
  };
  std::unique_ptr<char[]> copy_buffer, check_buffer;
  char* out = place(copy_buffer);
  char* checked = place(check_buffer);
  std::vector<double> copy_s, check_s, reassemble_s;
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < kChunks; ++i)
      std::memcpy(out + i * kChunkBytes, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
    const auto t1 = Clock::now();
    std::uint32_t crc = 0;
    for (std::uint32_t i = 0; i < kChunks; ++i)
      crc = crc32c::ExtendCopy(crc, checked + i * kChunkBytes, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
    benchmark::DoNotOptimize(crc);
    benchmark::ClobberMemory();
    const auto t2 = Clock::now();
    feeder.Send();
    const auto t3 = Clock::now();
    copy_s.push_back(seconds(t0, t1));
    check_s.push_back(seconds(t1, t2));
    reassemble_s.push_back(seconds(t2, t3));
    state.SetIterationTime(reassemble_s.back());
  }
  if (feeder.delivered() != static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("not all delivered");
    return;
  }
  const auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double copy = median(copy_s), check = median(check_s), reassemble = median(reassemble_s);
  state.counters["memcpy_GBps"] = static_cast<double>(kMessageBytes) / copy / 1e9;
  state.counters["reassembly_GBps"] = static_cast<double>(kMessageBytes) / reassemble / 1e9;
  state.counters["ratio_to_memcpy"] = copy / reassemble;
  state.counters["ratio_to_copy_crc"] = check / reassemble;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_ReassembleInterleaved)->UseManualTime();

void BM_Crc32c(benchmark::State& state) {
  ChunkedMessage msg;
  for (auto _ : state) benchmark::DoNotOptimize(crc32c::Value(msg.bytes));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Crc32c);

// Each CRC32C implementation this CPU supports, on the same 1 MiB.
void BM_Crc32cImplementation(benchmark::State& state) {
  const auto impl = static_cast<crc32c::Implementation>(state.range(0));
  if (!crc32c::Supported(impl)) {
    state.SkipWithError("unsupported on this CPU");
    return;
  }
  state.SetLabel(std::string(crc32c::ImplementationName(impl)));
  ChunkedMessage msg;
  for (auto _ : state) benchmark::DoNotOptimize(crc32c::ExtendWith(impl, 0, msg.bytes.data(), msg.bytes.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Crc32cImplementation)
    ->Arg(static_cast<int>(crc32c::Implementation::kPortable))
    ->Arg(static_cast<int>(crc32c::Implementation::kSse42))
    ->Arg(static_cast<int>(crc32c::Implementation::kClmul))
    ->Arg(static_cast<int>(crc32c::Implementation::kVclmul))
    ->Arg(static_cast<int>(crc32c::Implementation::kHybrid));

// Copying and checking in one pass, as reassembly does.
void BM_Crc32cCopy(benchmark::State& state) {
  ChunkedMessage msg;
  auto out = std::make_unique<char[]>(kMessageBytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c::ExtendCopy(0, out.get(), msg.bytes.data(), msg.bytes.size()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Crc32cCopy);

// The same copy-and-check in the 64 KiB pieces reassembly gets: the
// engine's own overhead is BM_Reassemble against this.
void BM_Crc32cCopyChunks(benchmark::State& state) {
  ChunkedMessage msg;
  auto out = std::make_unique<char[]>(kMessageBytes);
  for (auto _ : state) {
    std::uint32_t crc = 0;
    for (std::uint32_t i = 0; i < kChunks; ++i)
      crc = crc32c::ExtendCopy(crc, out.get() + i * kChunkBytes, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
    benchmark::DoNotOptimize(crc);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Crc32cCopyChunks);

// The fused copy-and-check loop of each implementation that has one.
void BM_Crc32cCopyImplementation(benchmark::State& state) {
  const auto impl = static_cast<crc32c::Implementation>(state.range(0));
  if (!crc32c::Supported(impl)) {
    state.SkipWithError("unsupported on this CPU");
    return;
  }
  state.SetLabel(std::string(crc32c::ImplementationName(impl)));
  ChunkedMessage msg;
  auto out = std::make_unique<char[]>(kMessageBytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c::ExtendCopyWith(impl, 0, out.get(), msg.bytes.data(), msg.bytes.size()));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kMessageBytes));
}
BENCHMARK(BM_Crc32cCopyImplementation)
    ->Arg(static_cast<int>(crc32c::Implementation::kSse42))
    ->Arg(static_cast<int>(crc32c::Implementation::kVclmul))
    ->Arg(static_cast<int>(crc32c::Implementation::kHybrid));

// Every kernel this CPU supports, CRC alone and fused with the copy, on the
// 64 KiB pieces reassembly gets, timed back to back with a memcpy of the
// same pieces in every iteration (the way BM_ReassembleInterleaved is), so
// the figures compare under the same load. Counters: GB/s from the median
// time of each, `<kernel>_copy` for the fused loop. All write the same
// destination, which is therefore always in cache: compare the kernels with
// each other here, and reassembly with memcpy in BM_ReassembleInterleaved.
void BM_Crc32cKernelsInterleaved(benchmark::State& state) {
  ChunkedMessage msg;
  auto buffer = std::make_unique<char[]>(kMessageBytes + 4096);
  const auto src_page_offset = reinterpret_cast<std::uintptr_t>(msg.bytes.data()) % 4096;
  const auto buf_page_offset = reinterpret_cast<std::uintptr_t>(buffer.get()) % 4096;
  char* out = buffer.get() + (src_page_offset + 64 + 4096 - buf_page_offset) % 4096;
  struct Kernel {
    std::string name;
    std::function<std::uint32_t()> run;
    std::vector<double> seconds;
  };
  std::vector<Kernel> kernels;
  kernels.push_back({"memcpy", [&] {
                       for (std::uint32_t i = 0; i < kChunks; ++i)
                         std::memcpy(out + i * kChunkBytes, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
                       return 0u;
                     }, {}});
  for (auto impl : {crc32c::Implementation::kSse42, crc32c::Implementation::kVclmul, crc32c::Implementation::kHybrid}) {
    if (!crc32c::Supported(impl)) continue;
    const std::string name(crc32c::ImplementationName(impl));
    kernels.push_back({name, [&, impl] {
                         std::uint32_t crc = 0;
                         for (std::uint32_t i = 0; i < kChunks; ++i)
                           crc = crc32c::ExtendWith(impl, crc, msg.bytes.data() + i * kChunkBytes, kChunkBytes);
                         return crc;
                       }, {}});
    kernels.push_back({name + "_copy", [&, impl] {
                         std::uint32_t crc = 0;
                         for (std::uint32_t i = 0; i < kChunks; ++i)
                           crc = crc32c::ExtendCopyWith(impl, crc, out + i * kChunkBytes,
                                                        msg.bytes.data() + i * kChunkBytes, kChunkBytes);
                         return crc;
                       }, {}});
  }
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    for (Kernel& k : kernels) {
      const auto t0 = Clock::now();
      benchmark::DoNotOptimize(k.run());
      benchmark::ClobberMemory();
      k.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  for (Kernel& k : kernels) {
    auto mid = k.seconds.begin() + static_cast<std::ptrdiff_t>(k.seconds.size() / 2);
    std::nth_element(k.seconds.begin(), mid, k.seconds.end());
    state.counters[k.name + "_GBps"] = static_cast<double>(kMessageBytes) / *mid / 1e9;
  }
}
BENCHMARK(BM_Crc32cKernelsInterleaved)->Iterations(2000);

}  // namespace
}  // namespace exactly

BENCHMARK_MAIN();
