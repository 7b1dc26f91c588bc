// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Generated golden logs: a seeded generator (replay_test_support.h) writes
// a recorded log full of protocol faults together with the deliveries
// DESIGN.md §3 prescribes for it; exactly-replay must produce exactly those
// lines. Also: many input files, and standard input, give the same result
// as one file.
#include <gtest/gtest.h>

#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

// Names the first differing line, so a failure is readable.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int n = 1;; ++n) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "identical";
    if (ha != hb || la != lb) {
      return "line " + std::to_string(n) + ":\n  expected: " + (ha ? la : "<end>") + "\n  actual:   " + (hb ? lb : "<end>");
    }
  }
}

class Generated : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(Generated, OutputIsWhatTheProtocolPrescribes) {
  GeneratorOptions opt;
  opt.seed = GetParam();
  opt.records = 6000;
  const GeneratedLog log = GenerateLog(opt);
  ScratchDir dir("generated");
  WriteFile(dir.Path("in.jsonl"), ToJsonLines(log.records));
  const ProcessResult r = RunReplay({"-o", dir.Path("out.jsonl"), dir.Path("in.jsonl")});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string want = ToJsonLines(log.expected);
  const std::string got = ReadFile(dir.Path("out.jsonl"));
  EXPECT_TRUE(want == got) << FirstDifference(want, got);
  // Every kind of fault was exercised.
  for (const char* kind : {"retry", "resend_window", "zombie", "epoch_restart", "gap", "corrupt", "abandon", "malformed",
                           "unstamped", "chunk_duplicate", "chunked_message"}) {
    EXPECT_GT(log.counts.count(kind) ? log.counts.at(kind) : 0, 0u) << kind;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Generated, ::testing::Values(1u, 2u, 3u, 20240601u));

TEST(GeneratedFiles, SplitFilesAndStdinGiveTheSameOutput) {
  GeneratorOptions opt;
  opt.seed = 99;
  opt.records = 3000;
  const GeneratedLog log = GenerateLog(opt);
  ScratchDir dir("split");
  const std::string all = ToJsonLines(log.records);
  WriteFile(dir.Path("all.jsonl"), all);
  // Three files cut at arbitrary line boundaries: processed in file order.
  std::vector<std::string> parts(3);
  std::size_t n = 0;
  for (const OwnedRecord& r : log.records) parts[std::min<std::size_t>(2, n++ * 3 / log.records.size())] += ToJsonLines({r});
  for (int i = 0; i < 3; ++i) WriteFile(dir.Path("part" + std::to_string(i)), parts[static_cast<std::size_t>(i)]);
  const ProcessResult split =
      RunReplay({"-o", dir.Path("split.out"), dir.Path("part0"), "-", dir.Path("part2")}, dir.Path("part1"));
  ASSERT_EQ(split.status, 0) << split.err;
  EXPECT_EQ(ReadFile(dir.Path("split.out")), ToJsonLines(log.expected));
  const ProcessResult piped = RunReplay({"-"}, dir.Path("all.jsonl"));  // stdin in, stdout out
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out, ToJsonLines(log.expected));
}

}  // namespace
}  // namespace exactly::replaytest
