// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store benchmarks:
// - BM_Checkpoint/<changed>/<pace ms>/<fold>: latency of one checkpoint (build +
//   synced commit) of a partition of 1M producers of which <changed>
//   changed, with the background fold running; checkpoints start every
//   <pace ms> (0: back to back, which outruns the fold for 10k changes and
//   measures the backpressure). <fold> 0 turns folding off, to separate the
//   checkpoint write from the fold's competition for CPU and disk. Reports
//   p50/p99 in microseconds.
// - BM_WriteFloor/<puts>/<bytes>: one synced RocksDB write of <puts> puts
//   of <bytes>-byte values, the floor any encoding pays.
// - BM_Restore: Load of a partition of 1M producers (folded, plus pending
//   deltas), and Load + Engine::Restore; Load without producers.
// - BM_FetchProducer/<kind>: FetchProducer in a partition of 1M producers
//   with 20 pending 10k-producer deltas, warm block cache: 0 = the producer
//   has a pending change (overlay hit), 1 = folded only (one point read of
//   its key), 2 = unknown producer (bloom-filtered miss).
//
// Timings are taken per iteration with a steady clock, so the counters
// give percentiles rather than only a mean.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"

namespace exactly {
namespace {

using Clock = std::chrono::steady_clock;

using bench::TempDir;

const TopicPartition kTp{Topic("bench"), Partition(0)};
constexpr int kProducers = 1'000'000;

std::string ProducerId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "svc-%02d/producer-%07d", i % 37, i);
  return buf;
}

PartitionState Population(int n) {
  PartitionState s;
  s.max_timestamp = TimestampMs(1'700'000'000'000);
  s.producers.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    s.producers.push_back(ProducerState{ProducerId(i), EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(i))},
                                        TimestampMs(1'700'000'000'000 - i)});
  }
  return s;
}

void Seed(CheckpointStore& store, int n) {
  Checkpoint cp = store.BeginCheckpoint();
  if (!cp.ReplacePartition(kTp, Offset(0), Population(n)).ok() || !store.Commit(std::move(cp)).ok()) std::abort();
}

void Percentiles(benchmark::State& state, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = us.back();
}

void BM_Checkpoint(benchmark::State& state) {
  const int changed = static_cast<int>(state.range(0));
  const auto pace = std::chrono::milliseconds(state.range(1));
  const bool fold = state.range(2) != 0;
  TempDir tmp("cpbench");
  StoreOptions so;  // sync on
  if (!fold) {
    // Diagnostic: the checkpoint write alone, nothing folding beside it.
    so.background_fold = false;
    so.fold_pending_bytes = SIZE_MAX;
    so.fold_max_deltas = SIZE_MAX;
  }
  auto store = CheckpointStore::Open(tmp.path(), so).value();
  Seed(*store, kProducers);
  std::mt19937 rng(1);
  std::vector<ProducerState> changes(static_cast<std::size_t>(changed));
  std::vector<double> us;
  std::vector<double> build_us;
  std::int64_t offset = 0;
  std::uint64_t seq = 0;
  auto next_start = Clock::now();
  for (auto _ : state) {
    std::this_thread::sleep_until(next_start);
    next_start = Clock::now() + pace;
    for (auto& p : changes) {
      p = ProducerState{ProducerId(static_cast<int>(rng() % kProducers)), EpochSeq{Epoch(1), Sequence(++seq)},
                        TimestampMs(1'800'000'000'000 + static_cast<std::int64_t>(seq))};
    }
    offset += 1000;
    const auto t0 = Clock::now();
    Checkpoint cp = store->BeginCheckpoint();
    Status st = cp.AddPartitionChanges(kTp, Offset(offset), [&](ChangeVisitor& v) {
      for (const auto& p : changes) v.ProducerChanged(p);
    });
    const auto tb = Clock::now();
    if (st.ok()) st = store->Commit(std::move(cp));
    const auto t1 = Clock::now();
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    build_us.push_back(std::chrono::duration<double, std::micro>(tb - t0).count());
  }
  std::sort(build_us.begin(), build_us.end());
  if (!build_us.empty()) state.counters["build_p50_us"] = build_us[build_us.size() / 2];
  Percentiles(state, std::move(us));
  auto layout = store->DescribeWatermarks(kTp).value();
  state.counters["pending_deltas"] = static_cast<double>(layout.deltas);
  state.counters["producer_keys"] = static_cast<double>(layout.producer_keys);
}
BENCHMARK(BM_Checkpoint)->Args({100, 0, 1})->Iterations(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Checkpoint)->Args({10000, 100, 1})->Iterations(300)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Checkpoint)->Args({10000, 0, 1})->Iterations(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Checkpoint)->Args({10000, 100, 0})->Iterations(300)->Unit(benchmark::kMicrosecond);

// One synced RocksDB write: <puts> puts of <bytes>-byte values.
void BM_WriteFloor(benchmark::State& state) {
  const int puts = static_cast<int>(state.range(0));
  const std::size_t bytes = static_cast<std::size_t>(state.range(1));
  TempDir tmp("cpbench");
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, tmp.path(), &raw).ok()) std::abort();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::string value(bytes, 'v');
  std::vector<double> us;
  std::mt19937 rng(2);
  for (auto _ : state) {
    rocksdb::WriteBatch b;
    for (int i = 0; i < puts; ++i) b.Put(ProducerId(static_cast<int>(rng() % kProducers)), value);
    const auto t0 = Clock::now();
    auto s = db->Write(wo, &b);
    const auto t1 = Clock::now();
    if (!s.ok()) std::abort();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  Percentiles(state, std::move(us));
}
BENCHMARK(BM_WriteFloor)->Args({1, 16})->Iterations(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WriteFloor)->Args({100, 16})->Iterations(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WriteFloor)->Args({1000, 16})->Iterations(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WriteFloor)->Args({10000, 16})->Iterations(300)->Unit(benchmark::kMicrosecond);
// The same bytes as one 10k-producer delta value, in one put.
BENCHMARK(BM_WriteFloor)->Args({1, 340000})->Iterations(1000)->Unit(benchmark::kMicrosecond);

StoreOptions KeepDeltasPending() {
  StoreOptions so;
  so.background_fold = false;
  so.fold_pending_bytes = SIZE_MAX;  // keep the deltas pending
  so.fold_max_deltas = SIZE_MAX;
  so.fold_total_pending_bytes = SIZE_MAX;
  return so;
}

// A 1M-producer partition, folded (one key per producer, as a restore
// after a fold finds it), plus `deltas` pending 10k-producer deltas.
// Returns the producers the deltas changed.
std::vector<int> SeedWithDeltas(const std::string& dir, int deltas) {
  auto store = CheckpointStore::Open(dir, KeepDeltasPending()).value();
  Seed(*store, kProducers);
  std::mt19937 rng(3);
  std::vector<int> changed;
  for (int d = 0; d < deltas; ++d) {
    Checkpoint cp = store->BeginCheckpoint();
    (void)cp.AddPartitionChanges(kTp, Offset(d + 1), [&](ChangeVisitor& v) {
      for (int i = 0; i < 10000; ++i) {
        const int id = static_cast<int>(rng() % kProducers);
        changed.push_back(id);
        v.ProducerChanged(ProducerState{ProducerId(id), EpochSeq{Epoch(2), Sequence(static_cast<std::uint64_t>(i))},
                                        TimestampMs(1'800'000'000'000)});
      }
    });
    if (!store->Commit(std::move(cp)).ok()) std::abort();
  }
  return changed;
}

// Restore of a 1M-producer partition: producer keys plus `deltas`
// pending 10k-producer deltas.
void BM_Restore(benchmark::State& state) {
  const int deltas = static_cast<int>(state.range(0));
  const bool into_engine = state.range(1) != 0;
  const bool producers = state.range(2) != 0;
  TempDir tmp("cpbench");
  (void)SeedWithDeltas(tmp.path(), deltas);
  auto store = CheckpointStore::Open(tmp.path(), KeepDeltasPending()).value();  // cold-ish: fresh block cache
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto loaded = store->Load(kTp, LoadOptions{producers});
    if (!loaded.ok() || !loaded->has_value() ||
        (*loaded)->state.producers.size() != (producers ? kProducers : 0)) {
      std::abort();
    }
    if (into_engine) {
      Engine engine;
      if (!engine.Restore(kTp, std::move((*loaded)->state)).ok()) std::abort();
      benchmark::DoNotOptimize(engine.ProducerCount(kTp));
    }
    const auto t1 = Clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  Percentiles(state, std::move(us));
}
BENCHMARK(BM_Restore)->Args({0, 0, 1})->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Restore)->Args({20, 0, 1})->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Restore)->Args({0, 1, 1})->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Restore)->Args({20, 0, 0})->Iterations(5)->Unit(benchmark::kMillisecond);

// FetchProducer against one seeded directory, shared by the three kinds.
void BM_FetchProducer(benchmark::State& state) {
  static TempDir* tmp = nullptr;
  static std::vector<int> changed;
  if (!tmp) {
    tmp = new TempDir("cpbench");  // lives until exit: the three runs share it
    changed = SeedWithDeltas(tmp->path(), 20);
    std::sort(changed.begin(), changed.end());
  }
  const int kind = static_cast<int>(state.range(0));
  auto store = CheckpointStore::Open(tmp->path(), KeepDeltasPending()).value();
  std::mt19937 rng(4);
  auto pick = [&]() -> std::string {
    if (kind == 0) return ProducerId(changed[rng() % changed.size()]);
    if (kind == 2) return "absent/" + std::to_string(rng());
    for (;;) {
      const int id = static_cast<int>(rng() % kProducers);
      if (!std::binary_search(changed.begin(), changed.end(), id)) return ProducerId(id);
    }
  };
  // Warm up: the first fetch indexes the pending deltas; then fill the
  // block cache with index, filter and data blocks.
  const auto b0 = Clock::now();
  if (!store->FetchProducer(kTp, pick()).ok()) std::abort();
  state.counters["first_fetch_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - b0).count();
  for (int i = 0; i < 200000; ++i) {
    if (!store->FetchProducer(kTp, pick()).ok()) std::abort();
  }
  std::vector<double> us;
  for (auto _ : state) {
    const std::string id = pick();
    const auto t0 = Clock::now();
    auto r = store->FetchProducer(kTp, id);
    const auto t1 = Clock::now();
    if (!r.ok() || r->has_value() != (kind != 2)) std::abort();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  Percentiles(state, std::move(us));
  auto layout = store->DescribeWatermarks(kTp).value();
  state.counters["overlay_producers"] = static_cast<double>(layout.overlay_producers);
  state.counters["overlay_MiB"] = static_cast<double>(layout.overlay_bytes) / (1 << 20);
}
BENCHMARK(BM_FetchProducer)->Arg(0)->Iterations(200000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FetchProducer)->Arg(1)->Iterations(200000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FetchProducer)->Arg(2)->Iterations(200000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace exactly

BENCHMARK_MAIN();
