// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// producers_bench: memory and restore time against the number of tracked
// producers, with the engine's producer cache (the default budget, the
// checkpoint store as the ProducerSource) side by side with an engine that
// keeps every producer in memory (budget 0), in the same run.
//
// Each (producers, mode) point runs in its own child process, because peak
// RSS is per process: the parent forks, the child works and prints its
// figures, and the parent reads the child's peak RSS from wait4().
//
// A child:
//  1. build: N single-record messages, one per producer (ids like
//     "svc-07/producer-00123456"), into one partition of a fresh state
//     directory, with a synced checkpoint every 100,000 records (and one at
//     the end), as a relay would; the cache evicts after each;
//  2. restore: reopen the directory and restore the partition, as a
//     consumer does on assignment: with the cache, Load without producers
//     (they are fetched when they send); without, Load everything +
//     Engine::Restore;
//  3. after the restore: 200,000 records from producers picked uniformly at
//     random (each a duplicate of what was delivered) — decisions/s and the
//     cache's hit rate from a cold start.
//
//   producers_bench [--producers 1000,10000,...] [--budget B] [--modes cache,all] [--json] [--dir DIR]
//
// --json prints one JSON object per point and per N (the ratio lines):
//   {"bench":"producers","mode":"cache"|"all","producers":N,"budget":B,
//    "peak_rss_mib":..,"build_s":..,"restore_s":..,"after_restore_rps":..,
//    "hit_rate":..}
//   {"bench":"producers_ratio","axis":"producers","producers":N,"baseline":"all",
//    "rss_ratio":cache/all,"restore_ratio":cache/all,"ratio":cache/all rss}
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_support.h"
#include "exactly/allocator_tuning.h"
#include "exactly/checkpoint_store.h"
#include "exactly/engine.h"

namespace {

using namespace exactly;
using Clock = std::chrono::steady_clock;

const TopicPartition kTp{Topic("in"), Partition(0)};
constexpr std::size_t kCheckpointEvery = 100'000;
constexpr std::size_t kAfterRestoreRecords = 200'000;

[[noreturn]] void Die(const Status& st, std::string_view what) {
  std::fprintf(stderr, "producers_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               st.ToString().c_str());
  std::exit(1);
}
void Check(const Status& st, std::string_view what) {
  if (!st.ok()) Die(st, what);
}
template <class T>
T Check(Result<T> r, std::string_view what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string ProducerId(std::size_t i) { return fmt::format("svc-{:02}/producer-{:08}", i % 64, i); }

// One stamped single-record message; the views point into `this`.
struct OneRecord {
  std::string producer, epoch = "1", seq;
  std::string value = std::string(100, 'v');
  HeaderView headers[3];
  RecordView Make(std::size_t producer_index, std::uint64_t s, std::int64_t offset) {
    producer = ProducerId(producer_index);
    seq = std::to_string(s);
    headers[0] = HeaderView{"eo.producer", producer};
    headers[1] = HeaderView{"eo.epoch", epoch};
    headers[2] = HeaderView{"eo.seq", seq};
    RecordView v;
    v.topic = kTp.topic.name();
    v.partition = kTp.partition;
    v.offset = Offset(offset);
    v.timestamp = TimestampMs(1'700'000'000'000 + offset / 1000);
    v.value = value;
    v.headers = headers;
    return v;
  }
};

// Where the memory was at the largest resident set seen during the build
// (sampled at every checkpoint), in MiB.
struct Breakdown {
  double rss = 0, engine_producers = 0;
  double memtables = 0, block_cache = 0, table_readers = 0, pending_index = 0, fold_pass = 0, kept_batch = 0;
  double heap_in_use = 0, heap_free = 0, mmapped = 0;
};

struct Figures {
  double build_s = 0, restore_s = 0, after_rps = 0, hit_rate = 0;
  Breakdown at_peak;
};

double Mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double CurrentRssMib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return Mib(static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
}

void Sample(const CheckpointStore& store, const Engine& engine, Breakdown* peak) {
  const double rss = CurrentRssMib();
  if (rss < peak->rss) return;
  const StoreMemory m = store.MemoryUsage();
  const struct mallinfo2 mi = mallinfo2();
  *peak = Breakdown{rss,
                    static_cast<double>(engine.TotalProducerCount()),
                    Mib(m.memtables),
                    Mib(m.block_cache),
                    Mib(m.table_readers),
                    Mib(m.pending_index),
                    Mib(m.fold_pass),
                    Mib(m.kept_batch),
                    Mib(mi.uordblks),
                    Mib(mi.fordblks),
                    Mib(mi.hblkhd)};
}

void Commit(CheckpointStore& store, Engine& engine, std::int64_t next) {
  Checkpoint cp = store.BeginCheckpoint();
  Check(cp.AddPartition(kTp, Offset(next), engine), "checkpoint");
  const std::uint64_t collection = engine.LastCollection(kTp);
  Check(store.Commit(std::move(cp)), "commit");
  engine.MarkCommitted(kTp, collection);
}

Figures RunChild(const std::string& dir, std::size_t producers, std::size_t budget) {
  Figures f;
  EngineOptions eo;
  eo.max_resident_producers = budget;
  auto sink = [](const Message&) {};
  OneRecord rec;
  {
    auto store = Check(CheckpointStore::Open(dir), "open");
    Engine engine(eo);
    if (budget > 0) engine.set_producer_source(store.get());
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < producers; ++i) {
      const Outcome o = engine.Process(rec.Make(i, 1, static_cast<std::int64_t>(i)), sink);
      if (o != Outcome::kDelivered) Die(Status::Internal(std::string(OutcomeName(o))), "build");
      if ((i + 1) % kCheckpointEvery == 0) {
        Sample(*store, engine, &f.at_peak);
        Commit(*store, engine, static_cast<std::int64_t>(i + 1));
        Sample(*store, engine, &f.at_peak);
      }
    }
    Commit(*store, engine, static_cast<std::int64_t>(producers));
    Sample(*store, engine, &f.at_peak);
    f.build_s = Seconds(Clock::now() - t0);
  }
  auto store = Check(CheckpointStore::Open(dir), "reopen");
  Engine engine(eo);
  if (budget > 0) engine.set_producer_source(store.get());
  const auto t1 = Clock::now();
  auto loaded = Check(store->Load(kTp, LoadOptions{.producers = budget == 0}), "load");
  if (!loaded) Die(Status::NotFound("no checkpoint"), "load");
  loaded->state.producers_omitted = budget > 0;
  Check(engine.Restore(kTp, std::move(loaded->state)), "restore");
  f.restore_s = Seconds(Clock::now() - t1);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> pick(0, producers - 1);
  const auto t2 = Clock::now();
  for (std::size_t i = 0; i < kAfterRestoreRecords; ++i) {
    const Outcome o =
        engine.Process(rec.Make(pick(rng), 1, static_cast<std::int64_t>(producers + i)), sink);
    if (o != Outcome::kDuplicate) Die(Status::Internal(std::string(OutcomeName(o))), "after restore");
  }
  f.after_rps = static_cast<double>(kAfterRestoreRecords) / Seconds(Clock::now() - t2);
  const Counters& c = engine.counters();
  const double lookups = static_cast<double>(c.producer_cache_hits + c.producer_cache_misses);
  f.hit_rate = lookups > 0 ? static_cast<double>(c.producer_cache_hits) / lookups : 1.0;
  return f;
}

struct Point {
  Figures f;
  double peak_rss_mib = 0;
};

// Runs one point in a child process; the child writes its figures to a pipe.
Point RunPoint(const std::string& base, std::size_t producers, std::size_t budget) {
  const std::string dir = fmt::format("{}/p{}-b{}", base, producers, budget);
  std::filesystem::remove_all(dir);
  int fds[2];
  if (pipe(fds) != 0) Die(Status::IoError("pipe"), "fork");
  const pid_t pid = fork();
  if (pid < 0) Die(Status::IoError("fork failed"), "fork");
  if (pid == 0) {
    close(fds[0]);
    const Figures f = RunChild(dir, producers, budget);
    const ssize_t n = write(fds[1], &f, sizeof f);
    _exit(n == static_cast<ssize_t>(sizeof f) ? 0 : 1);
  }
  close(fds[1]);
  Point p;
  const ssize_t n = read(fds[0], &p.f, sizeof p.f);
  close(fds[0]);
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      n != static_cast<ssize_t>(sizeof p.f)) {
    Die(Status::Internal(fmt::format("child for {} producers (budget {}) failed", producers, budget)), "child");
  }
  p.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
  std::filesystem::remove_all(dir);
  return p;
}

std::size_t ParseCount(std::string_view s) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    Die(Status::InvalidArgument(fmt::format("'{}' is not a count", s)), "arguments");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  // As exactly-relay does (its main calls this first); the children inherit it.
  TuneAllocatorForLongRunningProcess();
  std::vector<std::size_t> counts = {1'000, 10'000, 100'000, 1'000'000, 10'000'000};
  std::size_t budget = EngineOptions{}.max_resident_producers;
  bool json = false, with_all = true, with_cache = true;
  std::string base = std::filesystem::temp_directory_path() / fmt::format("producers_bench.{}", getpid());
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--producers" && i + 1 < argc) {
      const auto list = bench::ParseU64List(argv[++i], "--producers");
      counts.assign(list.begin(), list.end());
    } else if (a == "--budget" && i + 1 < argc) {
      budget = ParseCount(argv[++i]);
    } else if (a == "--modes" && i + 1 < argc) {
      const std::string_view m = argv[++i];
      with_cache = m.find("cache") != std::string_view::npos;
      with_all = m.find("all") != std::string_view::npos;
    } else if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: producers_bench [--producers N,N,...] [--budget B] [--modes cache,all] [--json] "
                   "[--dir DIR]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(base);
  std::printf("%-10s %-6s %12s %10s %11s %14s %9s\n", "producers", "mode", "peak RSS MiB", "build s", "restore s",
              "after rec/s", "hit rate");
  for (std::size_t n : counts) {
    std::optional<Point> cache, all;
    for (int mode = 0; mode < 2; ++mode) {
      if ((mode == 0 && !with_cache) || (mode == 1 && !with_all)) continue;
      const std::size_t b = mode == 0 ? budget : 0;
      const Point p = RunPoint(base, n, b);
      (mode == 0 ? cache : all) = p;
      const char* name = mode == 0 ? "cache" : "all";
      std::printf("%-10zu %-6s %12.1f %10.2f %11.4f %14.0f %9.3f\n", n, name, p.peak_rss_mib, p.f.build_s,
                  p.f.restore_s, p.f.after_rps, p.f.hit_rate);
      const Breakdown& at = p.f.at_peak;
      std::printf(
          "  at the largest sampled RSS (%.1f MiB): %.0f resident producers; store: memtables %.1f, block cache "
          "%.1f, table readers %.1f, pending index %.1f, fold pass %.1f, kept batch %.1f MiB; malloc: in use %.1f, "
          "free %.1f, mmapped %.1f MiB\n",
          at.rss, at.engine_producers, at.memtables, at.block_cache, at.table_readers, at.pending_index, at.fold_pass,
          at.kept_batch, at.heap_in_use, at.heap_free, at.mmapped);
      if (json) {
        std::printf(
            "{\"bench\":\"producers\",\"mode\":\"%s\",\"producers\":%zu,\"budget\":%zu,\"peak_rss_mib\":%.1f,"
            "\"build_s\":%.3f,\"restore_s\":%.4f,\"after_restore_rps\":%.0f,\"hit_rate\":%.4f}\n",
            name, n, b, p.peak_rss_mib, p.f.build_s, p.f.restore_s, p.f.after_rps, p.f.hit_rate);
      }
      std::fflush(stdout);
    }
    if (json && cache && all) {
      std::printf(
          "{\"bench\":\"producers_ratio\",\"axis\":\"producers\",\"producers\":%zu,\"baseline\":\"all\","
          "\"rss_ratio\":%.3f,\"restore_ratio\":%.4f,\"ratio\":%.3f}\n",
          n, cache->peak_rss_mib / all->peak_rss_mib, cache->f.restore_s / all->f.restore_s,
          cache->peak_rss_mib / all->peak_rss_mib);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(base);
  return 0;
}
