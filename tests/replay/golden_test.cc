// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Golden recorded logs (golden/*/): each input.jsonl is replayed through
// exactly-replay with the case's args; the delivered output must equal
// expected.jsonl byte for byte, the dead letters expected-dead-letters.txt,
// and the counters expected-stats.json. The expectations were derived by
// hand from DESIGN.md §3 (see make_golden.py and each case's README.md).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>

#include "exactly/recorded_log.h"
#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(EXACTLY_REPLAY_GOLDEN_DIR)) {
    if (e.is_directory() && std::filesystem::exists(e.path() / "input.jsonl")) names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Dir(const std::string& name) { return std::string(EXACTLY_REPLAY_GOLDEN_DIR) + "/" + name; }

// "topic partition offset reason [detail]" per dead letter, sorted. The
// detail is only kept for malformed records, where engine.h fixes it (the
// MalformedReasonName); other details are free text.
std::vector<std::string> DeadLetterSummary(const std::string& path) {
  std::vector<std::string> out;
  for (const OwnedRecord& r : ParseLines(ReadLines(path))) {
    std::string reason, detail;
    for (const OwnedHeader& h : r.headers) {
      if (h.name == "exactly.dead-letter.reason") reason = h.value.value_or("");
      if (h.name == "exactly.dead-letter.detail") detail = h.value.value_or("");
    }
    std::string line = r.topic + " " + std::to_string(r.partition.value()) + " " + std::to_string(r.offset.value()) +
                       " " + reason;
    if (reason == "malformed") line += " " + detail;
    out.push_back(line);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    // Numeric order on (topic, partition, offset) as the expectation file uses.
    std::istringstream sa(a), sb(b);
    std::string ta, tb;
    long long pa = 0, pb = 0, oa = 0, ob = 0;
    sa >> ta >> pa >> oa;
    sb >> tb >> pb >> ob;
    return std::tie(ta, pa, oa, a) < std::tie(tb, pb, ob, b);
  });
  return out;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, ReplayMatchesExpectations) {
  const std::string dir = Dir(GetParam());
  ScratchDir scratch("golden");
  std::vector<std::string> args = ReadLines(dir + "/args");
  std::erase(args, "");
  std::vector<std::string> run = args;
  run.insert(run.end(), {"-o", scratch.Path("out.jsonl"), "--dead-letters", scratch.Path("dead.jsonl"), "--stats",
                         scratch.Path("stats.json"), dir + "/input.jsonl"});
  const ProcessResult r = RunReplay(run);
  ASSERT_EQ(r.status, 0) << r.err;

  EXPECT_EQ(ReadFile(scratch.Path("out.jsonl")), ReadFile(dir + "/expected.jsonl"));
  EXPECT_EQ(DeadLetterSummary(scratch.Path("dead.jsonl")), ReadLines(dir + "/expected-dead-letters.txt"));

  simdjson::dom::parser parser;
  simdjson::dom::element want, got;
  ASSERT_EQ(parser.load(dir + "/expected-stats.json").get(want), simdjson::SUCCESS);
  simdjson::dom::parser parser2;
  ASSERT_EQ(parser2.load(scratch.Path("stats.json")).get(got), simdjson::SUCCESS) << ReadFile(scratch.Path("stats.json"));
  for (auto [key, value] : want.get_object()) {
    if (key == "malformed_by_reason") {
      for (auto [reason, count] : value.get_object()) {
        EXPECT_EQ(got["malformed_by_reason"][reason].get_uint64().value(), count.get_uint64().value()) << reason;
      }
      continue;
    }
    simdjson::dom::element actual;
    ASSERT_EQ(got[key].get(actual), simdjson::SUCCESS) << "stats lack " << key;
    EXPECT_EQ(actual.get_uint64().value(), value.get_uint64().value()) << key;
  }
}

TEST_P(Golden, OutputReplaysToItself) {
  // DESIGN.md §6: the output uses the input layout so it can be replayed
  // again. Reassembled messages come out as single stamped records, so a
  // second pass (same options, fresh state) delivers every line unchanged.
  const std::string dir = Dir(GetParam());
  std::vector<std::string> args = ReadLines(dir + "/args");
  std::erase(args, "");
  ScratchDir scratch("golden-again");
  std::vector<std::string> run = args;
  run.insert(run.end(), {"-o", scratch.Path("again.jsonl"), dir + "/expected.jsonl"});
  const ProcessResult r = RunReplay(run);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ReadFile(scratch.Path("again.jsonl")), ReadFile(dir + "/expected.jsonl"));
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return n;
                         });

}  // namespace
}  // namespace exactly::replaytest
