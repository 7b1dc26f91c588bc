// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Crash/resume properties of exactly-replay (DESIGN.md §4 and §6), on a
// generated log of 60 000 records, with the real binary:
//
// - `--checkpoint-every K --crash-after N`, then a resume with the same
//   --state-dir: the first run's output is a prefix of the crash-free
//   output, the resumed run's output a suffix, and together they cover it
//   (the overlap is what was emitted after the last checkpoint and emitted
//   again: at-least-once with identical stamps). Deduplicated by (topic,
//   partition, stamp) the union is exactly the crash-free output. The same
//   holds for the dead letters.
// - `--max-records M` runs, resumed until the input is exhausted, give the
//   crash-free output exactly: no duplicate at all, since every run ends
//   with a checkpoint.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "exactly/recorded_log.h"
#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

class CrashResume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("crash");
    GeneratorOptions opt;
    opt.seed = 4242;
    opt.records = 60000;
    opt.topics = 2;
    opt.partitions = 3;
    log_ = new GeneratedLog(GenerateLog(opt));
    WriteFile(Input(), ToJsonLines(log_->records));
    const ProcessResult r =
        RunReplay({"-o", dir_->Path("baseline.out"), "--dead-letters", dir_->Path("baseline.dead"), Input()});
    ASSERT_EQ(r.status, 0) << r.err;
    baseline_ = new std::vector<std::string>(ReadLines(dir_->Path("baseline.out")));
    baseline_dead_ = new std::vector<std::string>(ReadLines(dir_->Path("baseline.dead")));
  }
  static void TearDownTestSuite() {
    delete baseline_dead_;
    delete baseline_;
    delete log_;
    delete dir_;
  }
  static std::string Input() { return dir_->Path("input.jsonl"); }

  // `part` must equal want[from, from + part.size()).
  static bool IsSliceAt(const std::vector<std::string>& want, const std::vector<std::string>& part, std::size_t from) {
    if (from + part.size() > want.size()) return false;
    return std::equal(part.begin(), part.end(), want.begin() + static_cast<std::ptrdiff_t>(from));
  }

  // Checks the crash run + resume outputs against the baseline.
  static void CheckCovered(const std::vector<std::string>& want, const std::vector<std::string>& first,
                           const std::vector<std::string>& second, const std::string& what) {
    ASSERT_LE(first.size(), want.size()) << what;
    EXPECT_TRUE(IsSliceAt(want, first, 0)) << what << ": the crashed run's output is not a prefix of the crash-free one";
    ASSERT_LE(second.size(), want.size()) << what;
    const std::size_t from = want.size() - second.size();
    EXPECT_TRUE(IsSliceAt(want, second, from)) << what << ": the resumed run's output is not a suffix";
    EXPECT_LE(from, first.size()) << what << ": lines " << first.size() << ".." << from << " were lost";
    // The same, stated as the at-least-once + stamps contract.
    std::map<std::string, std::string> union_by_key;
    for (const auto* lines : {&first, &second}) {
      for (const OwnedRecord& r : ParseLines(*lines)) {
        const std::string key = DeliveryKey(r);
        std::string line;
        AppendRecordLine(line, r.view());
        const auto [it, inserted] = union_by_key.emplace(key, line);
        if (!inserted) {
          EXPECT_EQ(it->second, line) << what << ": a re-emitted message differs: " << key;
        }
      }
    }
    std::map<std::string, std::string> want_by_key;
    for (const OwnedRecord& r : ParseLines(want)) {
      std::string line;
      AppendRecordLine(line, r.view());
      want_by_key.emplace(DeliveryKey(r), line);
    }
    EXPECT_TRUE(union_by_key == want_by_key) << what << ": deduplicated union differs from the crash-free output ("
                                             << union_by_key.size() << " vs " << want_by_key.size() << " messages)";
  }

  static ScratchDir* dir_;
  static GeneratedLog* log_;
  static std::vector<std::string>* baseline_;
  static std::vector<std::string>* baseline_dead_;
};

ScratchDir* CrashResume::dir_ = nullptr;
GeneratedLog* CrashResume::log_ = nullptr;
std::vector<std::string>* CrashResume::baseline_ = nullptr;
std::vector<std::string>* CrashResume::baseline_dead_ = nullptr;

TEST_F(CrashResume, BaselineIsTheGeneratorsExpectation) {
  ASSERT_GE(log_->records.size(), 50000u);
  EXPECT_EQ(ReadFile(dir_->Path("baseline.out")), ToJsonLines(log_->expected));
  EXPECT_GT(baseline_dead_->size(), 0u);
}

struct Point {
  std::uint64_t crash_after;
  std::uint64_t checkpoint_every;
  bool same_output_file;  // resume appends to the crashed run's file
};

TEST_F(CrashResume, CrashThenResumeCoversTheCrashFreeOutput) {
  const Point points[] = {
      {1, 1000, false},         // before any checkpoint
      {999, 1000, true},        // just before the first checkpoint
      {1000, 1000, false},      // exactly at a checkpoint: the crash comes first
      {1001, 1000, true},       // just after one
      {12345, 977, false},      // unaligned
      {33333, 5000, true},
      {59000, 20000, false},    // long tail since the last checkpoint
      {45678, 0, true},         // no periodic checkpoint: resume from scratch
  };
  for (const Point& p : points) {
    const std::string tag = "n" + std::to_string(p.crash_after) + "-k" + std::to_string(p.checkpoint_every);
    SCOPED_TRACE(tag);
    const std::string state = dir_->Path(tag + ".state");
    const std::string out1 = dir_->Path(tag + ".out1");
    const std::string out2 = p.same_output_file ? out1 : dir_->Path(tag + ".out2");
    const std::string dead1 = dir_->Path(tag + ".dead1");
    const std::string dead2 = p.same_output_file ? dead1 : dir_->Path(tag + ".dead2");
    std::vector<std::string> common = {"--state-dir", state};
    if (p.checkpoint_every) common.insert(common.end(), {"--checkpoint-every", std::to_string(p.checkpoint_every)});

    std::vector<std::string> crash = common;
    crash.insert(crash.end(), {"--crash-after", std::to_string(p.crash_after), "-o", out1, "--dead-letters", dead1, Input()});
    const ProcessResult r1 = RunReplay(crash);
    ASSERT_EQ(r1.status, 137) << r1.err;
    const std::vector<std::string> first = ReadLines(out1);
    const std::vector<std::string> first_dead = ReadLines(dead1);

    std::vector<std::string> resume = common;
    resume.insert(resume.end(), {"-o", out2, "--dead-letters", dead2, "--stats", dir_->Path(tag + ".stats"), Input()});
    const ProcessResult r2 = RunReplay(resume);
    ASSERT_EQ(r2.status, 0) << r2.err;
    std::vector<std::string> second = ReadLines(out2);
    std::vector<std::string> second_dead = ReadLines(dead2);
    if (p.same_output_file) {
      second.erase(second.begin(), second.begin() + static_cast<std::ptrdiff_t>(first.size()));
      second_dead.erase(second_dead.begin(), second_dead.begin() + static_cast<std::ptrdiff_t>(first_dead.size()));
    }
    CheckCovered(*baseline_, first, second, "output");
    // Dead letters carry no stamp of their own in every case (unstamped
    // drops, malformed): compare them as lines.
    ASSERT_LE(first_dead.size(), baseline_dead_->size());
    EXPECT_TRUE(IsSliceAt(*baseline_dead_, first_dead, 0));
    ASSERT_LE(second_dead.size(), baseline_dead_->size());
    EXPECT_TRUE(IsSliceAt(*baseline_dead_, second_dead, baseline_dead_->size() - second_dead.size()));
    EXPECT_LE(baseline_dead_->size() - second_dead.size(), first_dead.size()) << "dead letters lost";

    // The resumed run skipped exactly what the last checkpoint covered.
    const std::string stats = ReadFile(dir_->Path(tag + ".stats"));
    const std::uint64_t checkpointed = p.checkpoint_every ? (p.crash_after - 1) / p.checkpoint_every * p.checkpoint_every : 0;
    EXPECT_NE(stats.find("\"records_skipped\":" + std::to_string(checkpointed) + ","), std::string::npos) << stats;
  }
}

TEST_F(CrashResume, MaxRecordsSplitsGiveTheCrashFreeOutputExactly) {
  for (const auto& [m, k] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{7000, 0}, {9999, 1234}}) {
    const std::string tag = "m" + std::to_string(m) + "-k" + std::to_string(k);
    SCOPED_TRACE(tag);
    const std::string state = dir_->Path(tag + ".state");
    const std::string out = dir_->Path(tag + ".out");
    const std::string dead = dir_->Path(tag + ".dead");
    int runs = 0;
    for (;; ++runs) {
      ASSERT_LT(runs, 20);
      std::vector<std::string> args = {"--state-dir", state, "--max-records", std::to_string(m), "-o", out,
                                       "--dead-letters", dead, "--stats", dir_->Path(tag + ".stats")};
      if (k) args.insert(args.end(), {"--checkpoint-every", std::to_string(k)});
      args.push_back(Input());
      const ProcessResult r = RunReplay(args);
      ASSERT_EQ(r.status, 0) << r.err;
      if (ReadFile(dir_->Path(tag + ".stats")).find("\"max_records_reached\":false") != std::string::npos) break;
    }
    EXPECT_EQ(runs + 1, static_cast<int>((log_->records.size() + m - 1) / m) + (log_->records.size() % m == 0 ? 1 : 0));
    EXPECT_TRUE(ReadLines(out) == *baseline_) << "output differs from the crash-free run";
    EXPECT_TRUE(ReadLines(dead) == *baseline_dead_) << "dead letters differ from the crash-free run";
  }
}

}  // namespace
}  // namespace exactly::replaytest
