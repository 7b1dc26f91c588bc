// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// exactly-state over real state directories written by exactly-replay:
// every command's output (ls, show, dump, verify, forget, set-offset) and
// its errors: an unknown producer or partition, a missing directory, a
// directory held by another store (writing refused, reading allowed), a
// damaged directory, and bad command lines; reading while a writer
// keeps checkpointing.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exactly/checkpoint_store.h"
#include "exactly/recorded_log.h"
#include "replay_test_support.h"

namespace exactly::replaytest {
namespace {

ProcessResult RunState(const std::vector<std::string>& args) { return RunProcess(EXACTLY_STATE_BIN, args); }

OwnedRecord Stamped(const std::string& topic, int partition, int offset, const std::string& producer, int seq,
                    std::string value = "v") {
  OwnedRecord r;
  r.topic = topic;
  r.partition = Partition(partition);
  r.offset = Offset(offset);
  r.timestamp = TimestampMs(1'700'000'000'000 + offset);
  r.value = std::move(value);
  r.headers = {{"eo.producer", producer}, {"eo.epoch", "3"}, {"eo.seq", std::to_string(seq)}};
  return r;
}

// Whitespace-separated fields of the first output line whose fields
// begin with the words of `prefix`.
std::vector<std::string> Row(const std::string& text, const std::string& prefix) {
  std::vector<std::string> want;
  std::istringstream p(prefix);
  for (std::string w; p >> w;) want.push_back(w);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> out;
    for (std::string f; fields >> f;) out.push_back(f);
    if (out.size() >= want.size() && std::equal(want.begin(), want.end(), out.begin())) return out;
  }
  return {};
}

using Fields = std::vector<std::string>;

// t[0]: p1 delivers seq 0..2, p2 seq 0, then chunk 0 of p2's 2-chunk
// message seq 1 (in progress; its value is not UTF-8); t[1]: p1 seq 0.
class StateTool : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<OwnedRecord> log = {Stamped("t", 0, 0, "p1", 0), Stamped("t", 0, 1, "p1", 1),
                                    Stamped("t", 0, 2, "p1", 2), Stamped("t", 0, 3, "p2", 0),
                                    Stamped("t", 1, 0, "p1", 0)};
    OwnedRecord chunk = Stamped("t", 0, 4, "p2", 1, std::string("\xff\"ab", 4));
    chunk.key = "k";
    chunk.headers.push_back({"eo.chunk", "0/2"});
    chunk.headers.push_back({"eo.size", "8"});
    chunk.headers.push_back({"eo.crc", "0000abcd"});
    log.push_back(chunk);
    const std::string in = dir_.Path("in.jsonl");
    WriteFile(in, ToJsonLines(log));
    const ProcessResult r = RunReplay({"--state-dir", state_, "-o", dir_.Path("out.jsonl"), in});
    ASSERT_EQ(r.status, 0) << r.err;
  }

  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return RunState(args);
  }

  ScratchDir dir_{"state-tool"};
  const std::string state_ = dir_.Path("state");
};

TEST_F(StateTool, LsListsPartitionsAndTheLastCheckpoint) {
  const ProcessResult r = Run({"ls"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("state directory: " + state_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("last checkpoint: #1 at 20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(age "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("partitions: 2\n"), std::string::npos) << r.out;
  EXPECT_EQ(Row(r.out, "TOPIC"),
            (Fields{"TOPIC", "PARTITION", "NEXT_OFFSET", "CHECKPOINT", "PRODUCERS", "IN_PROGRESS", "IN_PROGRESS_BYTES"}));
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "5", "1", "2", "1", "4"})) << r.out;
  EXPECT_EQ(Row(r.out, "t 1"), (Fields{"t", "1", "1", "1", "1", "0", "0"})) << r.out;
}

TEST_F(StateTool, ShowGivesTheProducersWatermarkPerPartition) {
  ProcessResult r = Run({"show", "--producer", "p1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "3/2", "2023-11-14T22:13:20.002Z", "-"})) << r.out;
  EXPECT_EQ(Row(r.out, "t 1"), (Fields{"t", "1", "3/0", "2023-11-14T22:13:20.000Z", "-"})) << r.out;

  r = Run({"show", "--producer", "p2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "3/0", "2023-11-14T22:13:20.004Z", "3/1:1of2"})) << r.out;
  EXPECT_TRUE(Row(r.out, "t 1").empty()) << r.out;

  r = Run({"show", "--producer", "nobody"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("producer 'nobody' is not tracked in any partition of " + state_), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(StateTool, DumpWritesEverythingAsJsonLines) {
  const ProcessResult r = Run({"dump", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("{\"type\":\"store\",\"dir\":\"" + state_ + "\",\"format_version\":2,\"store_id\":\"", 0),
            0u)
      << lines[0];
  EXPECT_NE(lines[0].find("\"last_checkpoint\":1,\"last_checkpoint_unix_ms\":"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1],
            "{\"type\":\"partition\",\"topic\":\"t\",\"partition\":0,\"next_offset\":5,\"checkpoint\":1,"
            "\"max_timestamp\":1700000000004,\"producers\":["
            "{\"producer\":\"p1\",\"watermark\":{\"epoch\":3,\"seq\":2},\"last_seen\":1700000000002},"
            "{\"producer\":\"p2\",\"watermark\":{\"epoch\":3,\"seq\":0},\"last_seen\":1700000000004}],"
            "\"in_progress\":[{\"producer\":\"p2\",\"epoch\":3,\"seq\":1,\"count\":2,\"size\":8,\"crc\":43981,"
            "\"first_offset\":4,\"key\":\"k\",\"headers\":[[\"eo.producer\",\"p2\"],[\"eo.epoch\",\"3\"],"
            "[\"eo.seq\",\"1\"],[\"eo.chunk\",\"0/2\"],[\"eo.size\",\"8\"],[\"eo.crc\",\"0000abcd\"]],"
            "\"chunks\":[{\"index\":0,\"offset\":4,\"timestamp\":1700000000004,"
            "\"value\":\"\\uDCFF\\\"ab\"}]}]}");
  EXPECT_EQ(lines[2],
            "{\"type\":\"partition\",\"topic\":\"t\",\"partition\":1,\"next_offset\":1,\"checkpoint\":1,"
            "\"max_timestamp\":1700000000000,\"producers\":[{\"producer\":\"p1\",\"watermark\":{\"epoch\":3,"
            "\"seq\":0},\"last_seen\":1700000000000}],\"in_progress\":[]}");
}

TEST_F(StateTool, VerifyPassesOnAGoodDirectory) {
  const ProcessResult r = Run({"verify"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 2 partitions, checkpoint #1, every item decodes\n");
}

TEST_F(StateTool, ForgetRemovesTheProducerEverywhereInOneCheckpoint) {
  ProcessResult r = Run({"forget", "--producer", "p2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "forgot producer p2 in 1 partition(s), 1 in-progress message(s) dropped; checkpoint #2\n");
  r = Run({"show", "--producer", "p2"});
  EXPECT_EQ(r.status, 1) << r.out;
  r = Run({"ls"});
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "5", "2", "1", "0", "0"})) << r.out;
  EXPECT_EQ(Row(r.out, "t 1"), (Fields{"t", "1", "1", "1", "1", "0", "0"})) << r.out;  // untouched

  r = Run({"forget", "--producer", "p1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "forgot producer p1 in 2 partition(s), 0 in-progress message(s) dropped; checkpoint #3\n");
  r = Run({"ls"});
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "5", "3", "0", "0", "0"})) << r.out;
  EXPECT_EQ(Row(r.out, "t 1"), (Fields{"t", "1", "1", "3", "0", "0", "0"})) << r.out;
  EXPECT_EQ(Run({"verify"}).status, 0);

  r = Run({"forget", "--producer", "p1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("producer 'p1' is not tracked in any partition"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing changed"), std::string::npos) << r.err;
}

TEST_F(StateTool, ForgottenProducerStartsOverOnResume) {
  ASSERT_EQ(Run({"forget", "--producer", "p1"}).status, 0);
  // p1 restarted from seq 0 in epoch 3: without forget these would be duplicates.
  const std::string in = dir_.Path("more.jsonl");
  WriteFile(in, ToJsonLines({Stamped("t", 1, 1, "p1", 0, "again")}));
  const std::string out = dir_.Path("more-out.jsonl");
  const ProcessResult r = RunReplay({"--state-dir", state_, "-o", out, in});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto delivered = ParseLines(ReadLines(out));
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].value, "again");
}

TEST_F(StateTool, SetOffsetMovesOnlyTheOffset) {
  ProcessResult r = Run({"set-offset", "--topic", "t", "--partition", "0", "--offset", "100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "t[0]: next offset 5 -> 100; checkpoint #2\n");
  r = Run({"ls"});
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "100", "2", "2", "1", "4"})) << r.out;
  r = Run({"show", "--producer", "p1"});
  EXPECT_EQ(Row(r.out, "t 0"), (Fields{"t", "0", "3/2", "2023-11-14T22:13:20.002Z", "-"})) << r.out;

  r = Run({"set-offset", "--topic", "t", "--partition", "7", "--offset", "3"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("t[7] has no checkpoint in " + state_ + "; nothing changed (add --create"), std::string::npos)
      << r.err;
  r = Run({"set-offset", "--topic", "t", "--partition", "7", "--offset", "3", "--create"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "t[7]: next offset (none) -> 3; checkpoint #3\n");
  r = Run({"ls"});
  EXPECT_EQ(Row(r.out, "t 7"), (Fields{"t", "7", "3", "3", "0", "0", "0"})) << r.out;
  EXPECT_EQ(Run({"verify"}).status, 0);
}

TEST_F(StateTool, WritingIsRefusedWhileAnotherStoreHoldsTheDirectoryReadingIsNot) {
  auto holder = CheckpointStore::Open(state_);  // as a running relay does
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"forget", "--producer", "p1"}, {"set-offset", "--topic", "t", "--partition", "0", "--offset", "1"}}) {
    const ProcessResult r = Run(args);
    EXPECT_EQ(r.status, 5) << args[0];
    EXPECT_NE(r.err.find("refusing to modify state directory " + state_ + ": another process holds it"),
              std::string::npos)
        << r.err;
  }
  const ProcessResult ls = Run({"ls"});
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(Row(ls.out, "t 0"), (Fields{"t", "0", "5", "1", "2", "1", "4"})) << ls.out;
  EXPECT_EQ(Run({"verify"}).status, 0);
  EXPECT_EQ(Run({"show", "--producer", "p1"}).status, 0);
  EXPECT_EQ(Run({"dump"}).status, 0);
  holder->reset();
  EXPECT_EQ(Run({"forget", "--producer", "p1"}).status, 0);  // released
}

TEST_F(StateTool, ReadingWorksWhileAWriterKeepsCheckpointing) {
  // A writer committing (and folding, flushing, compacting) as fast as it
  // can, as a busy relay does, while the reading commands run.
  StoreOptions wo;
  wo.create_if_missing = false;
  wo.fold_pending_bytes = 1;  // fold often: files come and go
  auto writer = CheckpointStore::Open(state_, wo);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> commits{0};
  std::thread t([&] {
    const TopicPartition tp{Topic("busy"), Partition(0)};
    for (std::int64_t i = 1; !stop.load(); ++i) {
      Checkpoint cp = (*writer)->BeginCheckpoint();
      Status s = cp.AddPartitionChanges(tp, Offset(i), [&](ChangeVisitor& v) {
        for (int p = 0; p < 10; ++p) {
          v.ProducerChanged(ProducerState{"w" + std::to_string((i * 10 + p) % 1000),
                                          EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(i))},
                                          TimestampMs(i)});
        }
      });
      if (s.ok()) s = (*writer)->Commit(std::move(cp));
      if (!s.ok()) {
        ADD_FAILURE() << s.ToString();
        return;
      }
      commits.fetch_add(1);
    }
  });
  for (int i = 0; i < 3; ++i) {
    for (const char* cmd : {"ls", "verify", "dump"}) {
      const ProcessResult r = Run({cmd});
      EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    }
  }
  stop.store(true);
  t.join();
  EXPECT_GT(commits.load(), 0);
  std::printf("writer committed %lld checkpoints meanwhile\n", static_cast<long long>(commits.load()));
  const ProcessResult r = Run({"ls"});
  EXPECT_EQ(Row(r.out, "busy 0").size(), 7u) << r.out;
}

TEST_F(StateTool, MissingDirectoryIsAnErrorAndNeverCreated) {
  const std::string missing = dir_.Path("nope");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ls"}, {"verify"}, {"forget", "--producer", "p1"}, {"set-offset", "--topic", "t", "--partition", "0",
                                                                 "--offset", "1", "--create"}}) {
    std::vector<std::string> full = {"--state-dir", missing};
    full.insert(full.end(), args.begin(), args.end());
    const ProcessResult r = RunState(full);
    EXPECT_EQ(r.status, 3) << args[0];
    EXPECT_NE(r.err.find("no state directory at " + missing), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(missing));
}

void RawPut(const std::string& dir, const std::string& key, const std::string& value) {
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, &db).ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
  delete db;
}

TEST_F(StateTool, VerifyNamesTheFirstDamagedItem) {
  // The offset record of t[0]: 'o', "t" escaped, partition 0 sign-flipped.
  RawPut(state_, std::string("ot\x00\x01\x80\x00\x00\x00", 8), "garbage");
  ProcessResult r = Run({"verify"});
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("state directory " + state_ + " is damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checkpoint of t[0]"), std::string::npos) << r.err;
  EXPECT_EQ(Run({"ls"}).status, 4);
  EXPECT_EQ(Run({"dump"}).status, 4);

  RawPut(state_, "zzz", "x");  // a key of no known kind, later in key order
  r = Run({"verify"});
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("unknown key 'zzz'"), std::string::npos) << r.err;
}

// The database files of an older copy under the newer checkpoint mark
// (exactly.checkpoint), as a write-ahead log damaged after the copy would
// look: every command reports damage (status 4), and removing the mark
// accepts the older state.
TEST_F(StateTool, DatabaseBehindItsCheckpointMarkIsReportedAsDamaged) {
  const std::string older = dir_.Path("older");
  std::filesystem::copy(state_, older, std::filesystem::copy_options::recursive);
  {
    StoreOptions wo;
    wo.create_if_missing = false;
    auto writer = CheckpointStore::Open(state_, wo);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    Checkpoint cp = (*writer)->BeginCheckpoint();
    ASSERT_TRUE(cp.AddPartitionChanges(TopicPartition{Topic("t"), Partition(1)}, Offset(5), [](ChangeVisitor&) {}).ok());
    ASSERT_TRUE((*writer)->Commit(std::move(cp)).ok());
  }
  std::filesystem::copy_file(state_ + "/exactly.checkpoint", older + "/exactly.checkpoint",
                             std::filesystem::copy_options::overwrite_existing);
  for (const char* cmd : {"verify", "ls"}) {
    const ProcessResult r = RunState({"--state-dir", older, cmd});
    EXPECT_EQ(r.status, 4) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("state directory " + older + " is damaged"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("write-ahead log"), std::string::npos) << r.err;
  }
  std::filesystem::remove(older + "/exactly.checkpoint");
  EXPECT_EQ(RunState({"--state-dir", older, "verify"}).status, 0);
  EXPECT_EQ(Run({"verify"}).status, 0);
}

TEST_F(StateTool, UnreadableDirectoryIsReportedAsDamaged) {
  WriteFile(state_ + "/CURRENT", "not a manifest name");
  const ProcessResult r = Run({"ls"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find(state_), std::string::npos) << r.err;
}

TEST(StateToolCli, HelpAndUsageErrors) {
  ProcessResult r = RunState({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"Usage: exactly-state --state-dir DIR COMMAND", "set-offset --topic T", "forget --producer ID",
                        "Exit status:", "--state-dir"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"ls"}, "--state-dir DIR is required"},
      {{"--state-dir", "x"}, "no command given"},
      {{"--state-dir", "x", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"--state-dir", "x", "show"}, "show needs --producer"},
      {{"--state-dir", "x", "ls", "--offset", "3"}, "--offset does not apply to ls"},
      {{"--state-dir", "x", "set-offset", "--topic", "t", "--partition", "0"}, "set-offset needs --offset"},
      {{"--state-dir", "x", "set-offset", "--topic", "t", "--partition", "0", "--offset", "-1"}, "is negative"},
      {{"--state-dir", "x", "set-offset", "--topic", "t", "--partition", "x", "--offset", "1"},
       "--partition: 'x' is not an integer"},
      {{"--state-dir", "x", "ls", "extra"}, "unexpected argument 'extra'"},
  };
  for (const auto& [args, message] : bad) {
    r = RunState(args);
    EXPECT_EQ(r.status, 2) << message;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace exactly::replaytest
