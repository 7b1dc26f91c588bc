// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The replay harness for stream-processor authors
// (exactly/testing/replay_harness.h): a handler whose effects go through
// the checkpointed application transaction is crash-consistent; one that
// keeps state elsewhere is caught.
#include "exactly/testing/replay_harness.h"

#include <gtest/gtest.h>

#include <charconv>

#include "replay_test_support.h"

namespace exactly::testing {
namespace {

using replaytest::GeneratedLog;
using replaytest::GenerateLog;
using replaytest::GeneratorOptions;

std::uint64_t GetNumber(AppTransaction& txn, std::string_view key) {
  auto v = txn.Get(key);
  if (!v.ok() || !v->has_value()) return 0;
  std::uint64_t n = 0;
  std::from_chars((*v)->data(), (*v)->data() + (*v)->size(), n);
  return n;
}

// Counts messages and payload bytes per partition, in the transaction.
Status CountingHandler(const Message& m, AppTransaction& txn) {
  const std::string where = std::string(m.topic) + "/" + std::to_string(m.partition.value());
  txn.Put("messages/" + where, std::to_string(GetNumber(txn, "messages/" + where) + 1));
  txn.Put("bytes/" + where, std::to_string(GetNumber(txn, "bytes/" + where) + (m.value ? m.value->size() : 0)));
  if (m.stamped) txn.Put("last/" + where + "/" + std::string(m.producer), std::to_string(m.stamp.seq.value()));
  return Status::OK();
}

std::vector<OwnedRecord> Log(std::size_t records) {
  GeneratorOptions opt;
  opt.seed = 77;
  opt.records = records;
  return GenerateLog(opt).records;
}

TEST(ReplayHarness, TransactionalHandlerIsCrashConsistent) {
  // Every crash reopens the RocksDB store, so frequent crashes get a short log.
  ReplayHarnessOptions opt;
  opt.checkpoint_every = 40;
  const Status often = CheckCrashConsistency(Log(200), CountingHandler, opt, {7, 39, 40, 41});
  EXPECT_TRUE(often.ok()) << often.ToString();
  const Status longer = CheckCrashConsistency(Log(2500), CountingHandler, opt, {97, 500});
  EXPECT_TRUE(longer.ok()) << longer.ToString();
}

TEST(ReplayHarness, RunReportsCrashesAndAtLeastOnceCalls) {
  const auto log = Log(2000);
  ReplayHarnessOptions opt;
  opt.checkpoint_every = 100;
  auto clean = RunReplay(log, CountingHandler, opt);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  opt.crash_every = 250;
  opt.crash_after = {1};
  auto crashy = RunReplay(log, CountingHandler, opt);
  ASSERT_TRUE(crashy.ok()) << crashy.status().ToString();
  EXPECT_EQ(crashy->crashes, 2000u / 250 + 1);
  EXPECT_EQ(crashy->committed, clean->committed);
  EXPECT_EQ(crashy->partitions, clean->partitions);
  // The handler saw some messages again after crashes, never fewer.
  EXPECT_GT(crashy->handled.size(), clean->handled.size());
  EXPECT_EQ(clean->counters.delivered, clean->handled.size());
  std::uint64_t committed_messages = 0;
  for (const auto& [k, v] : clean->committed)
    if (k.starts_with("messages/")) committed_messages += std::stoull(v);
  EXPECT_EQ(committed_messages, clean->handled.size());
}

TEST(ReplayHarness, CatchesStateKeptOutsideTheTransaction) {
  const auto log = Log(1500);
  std::uint64_t calls = 0;  // survives "crashes": not exactly-once
  auto leaky = [&calls](const Message&, AppTransaction& txn) -> Status {
    txn.Put("calls", std::to_string(++calls));
    return Status::OK();
  };
  ReplayHarnessOptions opt;
  opt.checkpoint_every = 50;
  const Status st = CheckCrashConsistency(log, leaky, opt, {120});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_NE(st.ToString().find("app key \"calls\""), std::string::npos) << st.ToString();
}

TEST(ReplayHarness, HandlerErrorsStopTheRun) {
  const auto log = Log(100);
  auto failing = [](const Message& m, AppTransaction&) -> Status {
    return m.offset.value() >= 0 ? Status::Aborted("refused") : Status::OK();
  };
  auto r = RunReplay(log, failing, ReplayHarnessOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("refused"), std::string::npos);
}

TEST(ReplayHarness, ReadsRecordedLogFiles) {
  const std::string path = std::string(EXACTLY_REPLAY_GOLDEN_DIR) + "/04-chunks/input.jsonl";
  auto log = ReadRecordedLog(path);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ReplayHarnessOptions opt;
  opt.checkpoint_every = 3;
  EXPECT_TRUE(CheckCrashConsistency(path, CountingHandler, opt, {1, 2, 5}).ok());
}

}  // namespace
}  // namespace exactly::testing
