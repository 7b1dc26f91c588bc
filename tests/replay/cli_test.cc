// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-replay's command line (DESIGN.md §6): every documented option is
// accepted and explained by --help; bad values are usage errors (exit 2).
#include <gtest/gtest.h>

#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

TEST(ReplayCli, HelpExplainsEveryOption) {
  const ProcessResult r = RunReplay({"--help"});
  ASSERT_EQ(r.status, 0);
  for (const char* opt : {"--output", "-o", "--state-dir", "--checkpoint-every", "--max-records", "--crash-after",
                          "--stats", "--unstamped", "--max-chunk-span", "--max-buffer-bytes", "--max-message-bytes",
                          "--max-chunks", "--producer-ttl", "--skip-invalid", "--dead-letters", "FILE", "'-'",
                          "Exit status"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
}

TEST(ReplayCli, AcceptsEveryOption) {
  ScratchDir dir("cli");
  WriteFile(dir.Path("empty.jsonl"), "");
  const ProcessResult r = RunReplay({"-o", dir.Path("out"), "--state-dir", dir.Path("state"), "--checkpoint-every", "10",
                                     "--max-records", "100", "--stats", dir.Path("stats"), "--unstamped", "drop",
                                     "--max-chunk-span", "50", "--max-buffer-bytes", "1MiB", "--max-message-bytes",
                                     "65536", "--max-chunks", "16", "--producer-ttl", "12h", "--skip-invalid",
                                     "--dead-letters", dir.Path("dead"), "--max-line-bytes", "4096", "--no-progress",
                                     dir.Path("empty.jsonl")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
  EXPECT_NE(ReadFile(dir.Path("stats")).find("\"malformed_by_reason\":{\"missing_producer\":0"), std::string::npos)
      << ReadFile(dir.Path("stats"));
}

TEST(ReplayCli, ProducerTtlDurations) {
  ScratchDir dir("ttl");
  WriteFile(dir.Path("empty.jsonl"), "");
  for (const char* ok : {"7d", "12h", "30m", "45s", "500ms", "1h30m", "604800000", "1d12h"}) {
    const ProcessResult r = RunReplay({"--producer-ttl", ok, dir.Path("empty.jsonl")});
    EXPECT_EQ(r.status, 0) << ok << ": " << r.err;
  }
  for (const char* bad : {"7x", "", "-5", "h", "0", "1.5h", "99999999999999999999"}) {
    const ProcessResult r = RunReplay({"--producer-ttl", bad, dir.Path("empty.jsonl")});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find("Try 'exactly-replay --help'"), std::string::npos) << r.err;
  }
}

TEST(ReplayCli, UsageErrors) {
  ScratchDir dir("usage");
  WriteFile(dir.Path("empty.jsonl"), "");
  const std::string f = dir.Path("empty.jsonl");
  const std::vector<std::vector<std::string>> bad = {
      {},                                   // no FILE
      {"--unstamped", "keep", f},           // neither pass nor drop
      {"--checkpoint-every", "-1", f},
      {"--max-records", "ten", f},
      {"--max-chunks", "0", f},
      {"--max-chunks", "4294967296", f},
      {"--max-buffer-bytes", "12XB", f},
      {"--bogus", f},
      {"-", "-"},                           // stdin twice
  };
  for (const auto& args : bad) {
    const ProcessResult r = RunReplay(args);
    EXPECT_EQ(r.status, 2) << testing::PrintToString(args) << ": " << r.err;
  }
}

TEST(ReplayCli, SecondRunOverTheSameInputDeliversNothing) {
  // Everything the first run processed is checkpointed at its end.
  ScratchDir dir("again");
  GeneratorOptions opt;
  opt.records = 20000;
  WriteFile(dir.Path("in.jsonl"), ToJsonLines(GenerateLog(opt).records));
  const ProcessResult first = RunReplay({"--state-dir", dir.Path("state"), "-o", dir.Path("o1"), dir.Path("in.jsonl")});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_FALSE(ReadFile(dir.Path("o1")).empty());
  const ProcessResult second = RunReplay({"--state-dir", dir.Path("state"), "-o", dir.Path("o2"), "--stats",
                                          dir.Path("stats"), dir.Path("in.jsonl")});
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(ReadFile(dir.Path("o2")), "");
  EXPECT_NE(ReadFile(dir.Path("stats")).find("\"records_skipped\":20000,"), std::string::npos)
      << ReadFile(dir.Path("stats"));
}

}  // namespace
}  // namespace exactly::replaytest
