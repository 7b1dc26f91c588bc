// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Checkpoint store safety: a second opener gets kBusy, a newer format
// kNotSupported, damage kCorruption naming what is wrong, and a failed
// write fails the whole checkpoint, which is absent after reopening.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"
#include "exactly/store_fault_injection.h"

namespace exactly {
namespace {

namespace fs = std::filesystem;

using unit_test::TempDir;

const TopicPartition kTp{Topic("orders"), Partition(3)};

struct Producers {
  int from, to;
  std::int64_t ts;
  void operator()(ChangeVisitor& v) const {
    for (int i = from; i < to; ++i) {
      v.ProducerChanged(ProducerState{"p" + std::to_string(i), EpochSeq{Epoch(1), Sequence(static_cast<std::uint64_t>(ts))},
                                      TimestampMs(ts)});
    }
  }
};

Status CommitRound(CheckpointStore& store, std::int64_t round) {
  Checkpoint cp = store.BeginCheckpoint();
  EXACTLY_RETURN_IF_ERROR(cp.AddPartitionChanges(kTp, Offset(round), Producers{0, 50, round}));
  AppTransaction txn = store.BeginApp("app").value();
  txn.Put("round", std::to_string(round));
  EXACTLY_RETURN_IF_ERROR(cp.Stage(std::move(txn)));
  return store.Commit(std::move(cp));
}

// The checkpoint the store holds: its offset, and that every other kind
// of state agrees with it.
std::int64_t StoredRound(const CheckpointStore& store) {
  auto l = store.Load(kTp);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  if (!l.ok() || !l->has_value()) return -1;
  const std::int64_t round = (*l)->next_offset.value();
  EXPECT_EQ((*l)->state.producers.size(), 50u);
  for (const ProducerState& p : (*l)->state.producers) EXPECT_EQ(p.last_seen, TimestampMs(round));
  auto app = store.GetApp("app", "round");
  EXPECT_TRUE(app.ok() && app->has_value());
  if (app.ok() && app->has_value()) {
    EXPECT_EQ(**app, std::to_string(round));
  }
  return round;
}

void RawPut(const std::string& dir, const std::string& key, const std::string& value) {
  rocksdb::DB* db = nullptr;
  rocksdb::Options o;
  o.create_if_missing = true;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir, &db).ok());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Put(wo, key, value).ok());
  delete db;
}

TEST(CheckpointStoreSafety, SecondOpenerIsBusy) {
  TempDir tmp;
  auto first = CheckpointStore::Open(tmp.path);
  ASSERT_TRUE(first.ok());
  auto second = CheckpointStore::Open(tmp.path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_TRUE(second.status().retryable());
  EXPECT_NE(second.status().message().find(tmp.path), std::string_view::npos) << second.status().ToString();
  EXPECT_NE(second.status().message().find(std::to_string(getpid())), std::string_view::npos);

  // Another process too.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = CheckpointStore::Open(tmp.path);
    _exit(!r.ok() && r.status().code() == Code::kBusy ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);

  // An inspector may still read.
  StoreOptions ro;
  ro.read_only = true;
  auto inspector = CheckpointStore::Open(tmp.path, ro);
  ASSERT_TRUE(inspector.ok()) << inspector.status().ToString();
  Checkpoint cp = (*inspector)->BeginCheckpoint();
  EXPECT_EQ((*inspector)->Commit(std::move(cp)).code(), Code::kFailedPrecondition);

  first->reset();
  EXPECT_TRUE(CheckpointStore::Open(tmp.path).ok());  // released
}

TEST(CheckpointStoreSafety, MissingDirectory) {
  TempDir tmp;
  StoreOptions o;
  o.create_if_missing = false;
  EXPECT_EQ(CheckpointStore::Open(tmp.path + "/nope", o).status().code(), Code::kNotFound);
  o.read_only = true;
  EXPECT_EQ(CheckpointStore::Open(tmp.path + "/nope", o).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(tmp.path + "/nope"));
}

TEST(CheckpointStoreSafety, NewerFormatIsNotSupported) {
  TempDir tmp;
  ASSERT_TRUE(CheckpointStore::Open(tmp.path).ok());
  RawPut(tmp.path, "mformat_version", "99");
  auto r = CheckpointStore::Open(tmp.path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotSupported);
  EXPECT_NE(r.status().message().find("format version 99"), std::string_view::npos) << r.status().ToString();
}

TEST(CheckpointStoreSafety, ForeignDatabaseIsRefused) {
  TempDir tmp;
  RawPut(tmp.path, "some-key", "some-value");
  auto r = CheckpointStore::Open(tmp.path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("no format version"), std::string_view::npos) << r.status().ToString();
}

// A process killed while creating the directory, after RocksDB wrote
// IDENTITY and its first MANIFEST but before CURRENT: nothing was ever
// committed there, so the next start creates the store instead of
// refusing the directory as damaged.
TEST(CheckpointStoreSafety, CreationKilledBeforeCurrentOpensAsNew) {
  TempDir tmp;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
  }
  namespace fs = std::filesystem;
  for (const auto& e : fs::directory_iterator(tmp.path)) {
    const std::string name = e.path().filename().string();
    if (name != "IDENTITY" && !name.starts_with("MANIFEST-")) fs::remove_all(e.path());
  }
  ASSERT_TRUE(fs::exists(fs::path(tmp.path) / "IDENTITY"));
  auto r = CheckpointStore::Open(tmp.path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto parts = (*r)->ListPartitions();
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
  EXPECT_TRUE(CommitRound(**r, 1).ok());
}

// The checkpoint mark (exactly.checkpoint) records the last synced
// checkpoint beside the database. A database that opens at an older
// checkpoint than the mark lost synced checkpoints (a damaged write-ahead
// log, or files restored without their mark): damage, not an older state.
// Here the database files of an older copy are put back under the newer
// mark, as a write-ahead log damaged after checkpoint 1 would look.
TEST(CheckpointStoreSafety, DatabaseBehindTheCheckpointMarkIsDamage) {
  TempDir tmp, older;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  fs::copy(tmp.path, older.path, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 2).ok());
    ASSERT_TRUE(CommitRound(*s, 3).ok());
  }
  const fs::path mark = fs::path(older.path) / "exactly.checkpoint";
  fs::copy_file(fs::path(tmp.path) / "exactly.checkpoint", mark, fs::copy_options::overwrite_existing);
  for (int attempt = 0; attempt < 2; ++attempt) {  // refusing leaves it as it was
    auto r = CheckpointStore::Open(older.path);
    ASSERT_FALSE(r.ok()) << "attempt " << attempt;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
    const std::string_view msg = r.status().message();
    EXPECT_NE(msg.find("state directory " + older.path + " is damaged"), std::string_view::npos) << msg;
    EXPECT_NE(msg.find("checkpoint 3 was committed"), std::string_view::npos) << msg;
    EXPECT_NE(msg.find("recovers only to checkpoint 1"), std::string_view::npos) << msg;
    EXPECT_NE(msg.find(mark.string()), std::string_view::npos) << msg;  // how to accept the older state
  }
  // The operator's way out, when the older state is wanted: remove the mark.
  fs::remove(mark);
  auto r = CheckpointStore::Open(older.path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(StoredRound(**r), 1);
  EXPECT_EQ((*r)->Info().last_checkpoint, 1u);
  // And the newer directory itself opens as it is.
  r = CheckpointStore::Open(tmp.path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(StoredRound(**r), 3);
}

// A database that holds nothing under a mark lost its whole log (the
// replay test "GarbageWriteAheadLogIsDamageNotAnOlderState" scribbles over
// it): damage. A mark of another store (its id differs) says nothing about
// this one.
TEST(CheckpointStoreSafety, EmptyDatabaseUnderACheckpointMarkIsDamage) {
  TempDir tmp, other, wiped;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  const fs::path mark = fs::path(tmp.path) / "exactly.checkpoint";
  fs::copy_file(mark, fs::path(wiped.path) / "exactly.checkpoint");
  auto r = CheckpointStore::Open(wiped.path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("checkpoint 1 was committed, but the database recovers only to nothing"),
            std::string_view::npos)
      << r.status().ToString();

  { auto s = CheckpointStore::Open(other.path).value(); }  // initialized: a store id, no checkpoint
  fs::copy_file(mark, fs::path(other.path) / "exactly.checkpoint", fs::copy_options::overwrite_existing);
  r = CheckpointStore::Open(other.path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->Info().last_checkpoint, 0u);
}

TEST(CheckpointStoreSafety, TornCheckpointMarkIsIgnored) {
  TempDir tmp;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
    ASSERT_TRUE(CommitRound(*s, 2).ok());
  }
  const fs::path mark = fs::path(tmp.path) / "exactly.checkpoint";
  std::string text;
  std::getline(std::ifstream(mark), text);
  ASSERT_FALSE(text.empty());
  for (const std::string& torn : {text.substr(0, text.size() / 2), text.substr(0, text.size() - 3) + "999" + "\n",
                                  std::string("garbage\n"), std::string()}) {
    std::ofstream(mark, std::ios::trunc) << torn;
    auto r = CheckpointStore::Open(tmp.path);
    ASSERT_TRUE(r.ok()) << "mark '" << torn << "': " << r.status().ToString();
    EXPECT_EQ(StoredRound(**r), 2);
    // Committing writes a whole mark again.
    ASSERT_TRUE(CommitRound(**r, 2).ok());
  }
}

TEST(CheckpointStoreSafety, UnsyncedCheckpointsAreNotMarked) {
  TempDir tmp;
  StoreOptions o;
  o.sync = false;
  {
    auto s = CheckpointStore::Open(tmp.path, o).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  // Without sync a power cut may lose the checkpoint and keep its mark: no
  // mark is written, so none can claim a checkpoint the log never kept.
  EXPECT_FALSE(fs::exists(fs::path(tmp.path) / "exactly.checkpoint"));
}

TEST(CheckpointStoreSafety, DamagedCurrentFileIsCorruption) {
  TempDir tmp;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  std::ofstream(tmp.path + "/CURRENT", std::ios::trunc) << "garbage";
  auto r = CheckpointStore::Open(tmp.path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("CURRENT"), std::string_view::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("Recovering a corrupt state directory"), std::string_view::npos);
}

TEST(CheckpointStoreSafety, DamagedTableFileIsCorruptionOnRead) {
  TempDir tmp;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  {
    // Move everything into a table file.
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), tmp.path, &db).ok());
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    delete db;
  }
  std::string sst;
  for (const auto& e : fs::directory_iterator(tmp.path)) {
    if (e.path().extension() == ".sst") sst = e.path().string();
  }
  ASSERT_FALSE(sst.empty());
  {
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);  // inside the first data block
    f.write("\xFF\xFF\xFF\xFF", 4);
  }
  auto r = CheckpointStore::Open(tmp.path);
  Status st = r.ok() ? (*r)->Verify() : r.status();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(".sst"), std::string_view::npos) << st.ToString();
}

TEST(CheckpointStoreSafety, DamagedValueNamesThePartition) {
  TempDir tmp;
  {
    auto s = CheckpointStore::Open(tmp.path).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
  }
  // The offset record of orders[3]: 'o' "orders" 00 01 be32(3 ^ sign bit).
  RawPut(tmp.path, std::string("oorders\0\x01\x80\0\0\x03", 13), "\x01\xFF");
  auto s = CheckpointStore::Open(tmp.path).value();
  auto l = s->Load(kTp);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kCorruption);
  EXPECT_NE(l.status().message().find("orders[3]"), std::string_view::npos) << l.status().ToString();
  EXPECT_NE(l.status().message().find("offset record"), std::string_view::npos) << l.status().ToString();
  EXPECT_EQ(s->Verify().code(), Code::kCorruption);
}

struct FaultCase {
  const char* name;
  StoreFaultInjector::Error error;
  bool sync_only;
  std::uint64_t after_bytes;  // torn write when > 0
};

class CheckpointStoreWriteFailure : public ::testing::TestWithParam<FaultCase> {};

TEST_P(CheckpointStoreWriteFailure, FailsTheWholeCheckpoint) {
  const FaultCase& fc = GetParam();
  TempDir tmp;
  auto injector = std::make_shared<StoreFaultInjector>();
  StoreOptions o;
  o.fault_injector = injector;
  {
    auto s = CheckpointStore::Open(tmp.path, o).value();
    ASSERT_TRUE(CommitRound(*s, 1).ok());
    ASSERT_TRUE(CommitRound(*s, 2).ok());
    if (fc.sync_only) {
      injector->ArmSyncFailure(fc.error);
    } else {
      injector->Arm(fc.error, StoreFaultInjector::Files::kWriteAheadLog, fc.after_bytes);
    }
    Status st = CommitRound(*s, 3);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kIoError) << st.ToString();
    EXPECT_NE(st.message().find("checkpoint 3"), std::string_view::npos) << st.ToString();
    if (fc.error == StoreFaultInjector::Error::kNoSpace) {
      EXPECT_NE(st.message().find("space"), std::string_view::npos) << st.ToString();
    }
    EXPECT_GT(injector->injected(), 0u);
    // The store refuses to go on: the engine state no longer matches it.
    injector->Disarm();
    Status again = CommitRound(*s, 4);
    EXPECT_EQ(again.code(), Code::kFailedPrecondition) << again.ToString();
  }
  auto s = CheckpointStore::Open(tmp.path, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(StoredRound(**s), 2);
  EXPECT_EQ((*s)->Info().last_checkpoint, 2u);
  // And the store works again.
  ASSERT_TRUE(CommitRound(**s, 3).ok());
  EXPECT_EQ(StoredRound(**s), 3);
  EXPECT_TRUE((*s)->Verify().ok());
}

INSTANTIATE_TEST_SUITE_P(Faults, CheckpointStoreWriteFailure,
                         ::testing::Values(FaultCase{"NoSpace", StoreFaultInjector::Error::kNoSpace, false, 0},
                                           FaultCase{"IoError", StoreFaultInjector::Error::kIoError, false, 0},
                                           FaultCase{"TornWrite", StoreFaultInjector::Error::kNoSpace, false, 300},
                                           FaultCase{"SyncFails", StoreFaultInjector::Error::kIoError, true, 0}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace exactly
