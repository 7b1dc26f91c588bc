// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// relay_recipe_bench: the dedup relay against the common "idempotent
// consumer" recipe (a RocksDB lookup per message id, written as
// idempotent_recipe.h describes), with the bare consume -> produce pipe as
// a reference, on the same input, same process, same client settings, on
// the embedded (mock) broker.
//
// Input: the reference point of relay_bench (100 B values, 1,000
// producers, 4 partitions; layout in bench_support.h) with every 100th
// record duplicated (--dup-every), so both deduplicators have something to
// drop; the programme checks that the relay and the recipe forward the same
// number of records. The relay checkpoints every 100 ms, synced; the
// recipe writes its ids synced once per poll batch (--batch records, 500
// like Java's max.poll.records), flushing its output first and committing
// offsets synchronously after. Runs alternate pipe, recipe, relay; the
// per-record form of the recipe (a synced Put per record) is measured
// separately with --per-record-records records (default 10,000: it is slow).
//
//   relay_recipe_bench [--records N] [--runs R] [--batch B] [--dup-every K]
//                      [--per-record-records N] [--recipe-linger-ms MS] [--json]
//
// --json: one JSON object per measured configuration on stdout:
//   bench          "relay_vs_recipe"
//   variant        "batched" (one synced WriteBatch per poll batch) or
//                  "per_record" (one synced Put per forwarded record)
//   size, producers, partitions, records, runs, dup_every, batch,
//   recipe_linger_ms (the recipe producer's linger.ms; the relay's and the
//                  pipe's stay at 5)
//   baseline       "idempotent_recipe"; baseline_rps: its median records/s;
//                  subject_rps: the relay's; ratio = subject / baseline
//                  (ratio of the medians); paired_ratio, paired_min,
//                  paired_max: the per-run ratios
//   pipe_rps       median records/s of the bare pipe in the same runs
//   baseline_cpu_us, subject_cpu_us: median process CPU us per record
//   forwarded      records the recipe forwarded (= the relay's, checked)
//   share_poll, share_process, share_flush, share_write, share_commit:
//                  median share of the recipe's wall time spent polling a
//                  batch, on the per-record work (id, Get, produce, staged
//                  Put), in flush(), in the synced Write and in the commit
//                  ("batched" only)
//   target         5 (relay >= 5x the recipe)
//   load1, cpus, unix_time
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_support.h"
#include "idempotent_recipe.h"

namespace {

using namespace exactly;
using namespace exactly::bench;

void Report(bool json, const char* variant, const Input& in, int runs, const RecipeOptions& ro,
            const std::vector<double>& recipe, const std::vector<double>& relay, const std::vector<double>& pipe,
            const std::vector<double>& recipe_cpu, const std::vector<double>& relay_cpu, std::uint64_t forwarded,
            const std::vector<double>& shares) {
  const Paired s = Summarize(recipe, relay);
  std::FILE* human = json ? stderr : stdout;
  std::fprintf(human, "  %s median: recipe %.0f rec/s, relay %.0f rec/s, pipe %.0f rec/s: relay/recipe = %.2f (paired %.2f, %.2f-%.2f)\n",
               variant, s.baseline, s.subject, Median(pipe), s.ratio, s.paired, s.paired_min, s.paired_max);
  if (!json) return;
  JsonLine j;
  j.Str("bench", "relay_vs_recipe").Str("variant", variant).Int("size", in.spec.value_bytes);
  j.Int("producers", in.spec.producers).Int("partitions", static_cast<std::uint64_t>(in.spec.partitions));
  j.Int("records", in.records).Int("runs", static_cast<std::uint64_t>(runs)).Int("dup_every", in.spec.dup_every);
  j.Int("batch", ro.max_batch).Bool("sync", ro.sync).Int("interval_ms", 100);
  j.Int("recipe_linger_ms", static_cast<std::uint64_t>(ro.linger_ms < 0 ? 5 : ro.linger_ms));
  j.Str("baseline", "idempotent_recipe").Num("baseline_rps", s.baseline).Num("subject_rps", s.subject);
  j.Num("ratio", s.ratio).Num("paired_ratio", s.paired).Num("paired_min", s.paired_min).Num("paired_max", s.paired_max);
  j.Num("pipe_rps", pipe.empty() ? 0 : Median(pipe));
  j.Num("baseline_cpu_us", Median(recipe_cpu)).Num("subject_cpu_us", Median(relay_cpu));
  if (shares.size() == 5) {
    j.Num("share_poll", shares[0]).Num("share_process", shares[1]).Num("share_flush", shares[2]);
    j.Num("share_write", shares[3]).Num("share_commit", shares[4]);
  }
  j.Int("forwarded", forwarded).Num("target", 5).Machine().Print();
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f(argc, argv, {"records", "runs", "batch", "dup-every", "per-record-records", "recipe-linger-ms"}, {"json"});
  const bool json = f.Has("json");
  const int runs = static_cast<int>(f.U64("runs", 3));
  RecipeOptions ro;
  ro.max_batch = f.U64("batch", 500);
  if (f.Has("recipe-linger-ms")) ro.linger_ms = static_cast<int>(f.U64("recipe-linger-ms", 5));
  std::FILE* human = json ? stderr : stdout;
  auto cluster = Check(kafka::MockCluster::Create(1), "mock cluster");

  InputSpec spec;
  spec.topic = "in";
  spec.records = f.U64("records", 200000);
  spec.dup_every = f.U64("dup-every", 100);
  const Input in = ProduceInput(cluster, spec);
  const std::uint64_t expected = spec.records;  // distinct messages
  std::fprintf(human, "relay_recipe_bench: %llu records (%llu distinct) of %zu B, %llu producers, %d partitions\n",
               static_cast<unsigned long long>(in.records), static_cast<unsigned long long>(expected),
               spec.value_bytes, static_cast<unsigned long long>(spec.producers), spec.partitions);
  std::vector<double> pipe, recipe, relay, recipe_cpu, relay_cpu;
  std::vector<double> poll, process, flush, write, commit;  // shares of the recipe's wall time
  std::uint64_t forwarded = 0;
  for (int r = 0; r < runs; ++r) {
    const Measurement p = RunPipe(cluster, in, fmt::format("pipe-{}", r), fmt::format("pipe-out-{}", r));
    const RecipeResult c =
        RunIdempotentRecipe(cluster, in, fmt::format("recipe-{}", r), fmt::format("recipe-out-{}", r), ro);
    const Measurement q =
        RunRelay(cluster, in, fmt::format("relay-{}", r), fmt::format("relay-out-{}", r), RelayRun{});
    if (c.produced != expected || q.output_records != expected) {
      Die(Status::Internal(fmt::format("forwarded: recipe {}, relay {}, expected {}", c.produced, q.output_records,
                                       expected)),
          "outputs differ");
    }
    forwarded = c.produced;
    pipe.push_back(p.rps);
    recipe.push_back(c.m.rps);
    relay.push_back(q.rps);
    recipe_cpu.push_back(c.m.cpu_us);
    relay_cpu.push_back(q.cpu_us);
    std::fprintf(human, "  recipe wall time: poll %.2f s, per-record work %.2f s, flush %.2f s, write %.2f s, commit %.2f s\n",
                 c.poll_s, c.process_s, c.flush_s, c.write_s, c.commit_s);
    poll.push_back(c.poll_s / c.m.secs);
    process.push_back(c.process_s / c.m.secs);
    flush.push_back(c.flush_s / c.m.secs);
    write.push_back(c.write_s / c.m.secs);
    commit.push_back(c.commit_s / c.m.secs);
    std::fprintf(human,
                 "  run %d: pipe %8.0f rec/s   recipe %8.0f rec/s %5.2f us CPU/rec (%llu batches)   relay %8.0f rec/s "
                 "%5.2f us CPU/rec   relay/recipe %.2f\n",
                 r, p.rps, c.m.rps, c.m.cpu_us, static_cast<unsigned long long>(c.batches), q.rps, q.cpu_us,
                 q.rps / c.m.rps);
    std::fflush(human);
  }
  Report(json, "batched", in, runs, ro, recipe, relay, pipe, recipe_cpu, relay_cpu, forwarded,
         {Median(poll), Median(process), Median(flush), Median(write), Median(commit)});

  // The per-record form, on a smaller input of the same layout.
  const std::uint64_t small = f.U64("per-record-records", 10000);
  if (small == 0) return 0;
  InputSpec spec2 = spec;
  spec2.topic = "in-small";
  spec2.records = small;
  const Input in2 = ProduceInput(cluster, spec2);
  RecipeOptions per = ro;
  per.per_record = true;
  recipe.clear();
  relay.clear();
  recipe_cpu.clear();
  relay_cpu.clear();
  for (int r = 0; r < runs; ++r) {
    const RecipeResult c =
        RunIdempotentRecipe(cluster, in2, fmt::format("recipe1-{}", r), fmt::format("recipe1-out-{}", r), per);
    const Measurement q =
        RunRelay(cluster, in2, fmt::format("relay1-{}", r), fmt::format("relay1-out-{}", r), RelayRun{});
    if (c.produced != small || q.output_records != small) Die(Status::Internal("forwarded counts differ"), "per-record");
    recipe.push_back(c.m.rps);
    relay.push_back(q.rps);
    recipe_cpu.push_back(c.m.cpu_us);
    relay_cpu.push_back(q.cpu_us);
    std::fprintf(human, "  per-record run %d: recipe %8.0f rec/s   relay %8.0f rec/s   relay/recipe %.2f\n", r,
                 c.m.rps, q.rps, q.rps / c.m.rps);
  }
  Report(json, "per_record", in2, runs, per, recipe, relay, {}, recipe_cpu, relay_cpu, small, {});
  return 0;
}
