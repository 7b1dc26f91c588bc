// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Invalid input: a truncated last line, invalid JSON, a missing or
// mistyped field, an offset going backwards, an over-long line. Each gives
// a clear error naming the file and line, a non-zero exit status, and
// nothing in the state directory for the bad record (the records before it
// are checkpointed; the bad one never reaches the engine). --skip-invalid
// counts such lines and goes on.
#include <gtest/gtest.h>

#include "exactly/checkpoint_store.h"
#include "exactly/recorded_log.h"
#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

std::string Good(int offset, int seq) {
  OwnedRecord r;
  r.topic = "t";
  r.partition = Partition(0);
  r.offset = Offset(offset);
  r.timestamp = TimestampMs(1'700'000'000'000 + offset);
  r.value = "v" + std::to_string(seq);
  r.headers = {{"eo.producer", "p1"}, {"eo.epoch", "0"}, {"eo.seq", std::to_string(seq)}};
  std::string s;
  AppendRecordLine(s, r.view());
  return s;
}

std::optional<Offset> CheckpointedOffset(const std::string& state) {
  StoreOptions opt;
  opt.read_only = true;
  opt.create_if_missing = false;
  auto store = CheckpointStore::Open(state, opt);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return std::nullopt;
  }
  auto off = (*store)->LoadOffset(TopicPartition{Topic("t"), Partition(0)});
  if (!off.ok()) {
    ADD_FAILURE() << off.status().ToString();
    return std::nullopt;
  }
  return *off;
}

struct BadLine {
  const char* name;
  std::string line;  // the 6th line (offset 5); "" means: the 5th line repeated offset
  bool last;         // the bad line ends the file (no newline)
  const char* message;
};

std::vector<BadLine> BadLines() {
  std::string truncated = Good(5, 5);
  truncated.resize(truncated.size() / 2);
  return {
      {"truncated_last_line", truncated, true, "truncated last line"},
      {"invalid_json", "{\"topic\":\"t\",\"partition\":0,,\"offset\":5}\n", false, "invalid JSON"},
      {"missing_field", "{\"topic\":\"t\",\"partition\":0,\"ts\":1,\"key\":null,\"payload\":\"x\"}\n", false,
       "missing field \"offset\""},
      {"mistyped_field", "{\"topic\":\"t\",\"partition\":\"0\",\"offset\":5,\"key\":null,\"payload\":\"x\"}\n", false,
       "field \"partition\": must be an integer"},
      {"offset_backwards", Good(3, 5), false, "offset 3 of t[0] is not above the previous offset 4"},
      {"overlong_line", std::string(5000, ' ') + Good(5, 5), false, "line longer than the limit of 1024 bytes"},
  };
}

class InvalidInput : public ::testing::TestWithParam<BadLine> {};

TEST_P(InvalidInput, StopsWithFileAndLineAndCheckpointsOnlyTheGoodPrefix) {
  const BadLine& bad = GetParam();
  ScratchDir dir("invalid");
  std::string text;
  for (int i = 0; i < 5; ++i) text += Good(i, i);
  text += bad.line;
  if (!bad.last) text += Good(6, 6) + Good(7, 7);
  const std::string in = dir.Path("in.jsonl");
  WriteFile(in, text);
  const std::string state = dir.Path("state");
  const ProcessResult r = RunReplay({"--state-dir", state, "--max-line-bytes", "1024", "-o", dir.Path("out"), "--stats",
                                     dir.Path("stats"), in});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(in + ":6: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad.message), std::string::npos) << r.err;
  EXPECT_EQ(ReadLines(dir.Path("out")).size(), 5u) << "the five good records before the bad line are delivered";
  EXPECT_EQ(CheckpointedOffset(state), Offset(5)) << "the checkpoint stops right before the bad record";
  EXPECT_NE(ReadFile(dir.Path("stats")).find("\"exit_status\":1"), std::string::npos);

  // Fixed input resumes after the good prefix: nothing delivered twice.
  std::string fixed;
  for (int i = 0; i < 8; ++i) fixed += Good(i, i);
  WriteFile(in, fixed);
  const ProcessResult again = RunReplay({"--state-dir", state, "-o", dir.Path("out"), in});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(ReadLines(dir.Path("out")).size(), 8u);
  EXPECT_EQ(CheckpointedOffset(state), Offset(8));
}

TEST_P(InvalidInput, SkipInvalidCountsAndContinues) {
  const BadLine& bad = GetParam();
  ScratchDir dir("skip");
  std::string text;
  for (int i = 0; i < 5; ++i) text += Good(i, i);
  text += bad.line;
  if (!bad.last) text += Good(6, 6) + Good(7, 7);
  WriteFile(dir.Path("in.jsonl"), text);
  const ProcessResult r = RunReplay({"--skip-invalid", "--max-line-bytes", "1024", "-o", dir.Path("out"), "--stats",
                                     dir.Path("stats"), dir.Path("in.jsonl")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("skipped invalid line: " + dir.Path("in.jsonl") + ":6: "), std::string::npos) << r.err;
  EXPECT_EQ(ReadLines(dir.Path("out")).size(), bad.last ? 5u : 7u);
  EXPECT_NE(ReadFile(dir.Path("stats")).find("\"invalid_lines\":1,"), std::string::npos) << ReadFile(dir.Path("stats"));
}

INSTANTIATE_TEST_SUITE_P(Kinds, InvalidInput, ::testing::ValuesIn(BadLines()),
                         [](const ::testing::TestParamInfo<BadLine>& p) { return std::string(p.param.name); });

TEST(InvalidInput, BadFirstLineLeavesNoCheckpointForThePartition) {
  ScratchDir dir("first");
  WriteFile(dir.Path("in.jsonl"), "{\"topic\":\"t\",\"partition\":0}\n" + Good(1, 1));
  const ProcessResult r = RunReplay({"--state-dir", dir.Path("state"), "-o", dir.Path("out"), dir.Path("in.jsonl")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir.Path("in.jsonl") + ":1: missing field \"offset\""), std::string::npos) << r.err;
  EXPECT_EQ(CheckpointedOffset(dir.Path("state")), std::nullopt);
}

TEST(InvalidInput, MissingFileIsAnIoFailure) {
  ScratchDir dir("missing");
  const ProcessResult r = RunReplay({"-o", dir.Path("out"), dir.Path("absent.jsonl")});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("absent.jsonl"), std::string::npos) << r.err;
}

TEST(InvalidInput, TenMegabyteGarbageLine) {
  ScratchDir dir("garbage");
  WriteFile(dir.Path("in.jsonl"), Good(0, 0) + std::string(10u << 20, '{') + "\n" + Good(1, 1));
  const ProcessResult r = RunReplay({"-o", dir.Path("out"), dir.Path("in.jsonl")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir.Path("in.jsonl") + ":2: invalid JSON"), std::string::npos) << r.err;
  const ProcessResult skip = RunReplay({"--skip-invalid", "-o", dir.Path("out"), dir.Path("in.jsonl")});
  EXPECT_EQ(skip.status, 0) << skip.err;
  EXPECT_EQ(ReadLines(dir.Path("out")).size(), 2u);
}

}  // namespace
}  // namespace exactly::replaytest
