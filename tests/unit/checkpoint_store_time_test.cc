// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The store records the wall-clock time of every checkpoint (StoreInfo::
// last_checkpoint_unix_ms, for operators' "age of the state"), keeps it
// across reopening and read-only inspection, and reads directories
// written before it was recorded as "unknown" (0) rather than corrupt.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "temp_dir.h"
#include "exactly/checkpoint_store.h"

namespace exactly {
namespace {

namespace fs = std::filesystem;

using unit_test::TempDir;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CommitOffset(CheckpointStore& store, std::int64_t offset) {
  Checkpoint cp = store.BeginCheckpoint();
  EXACTLY_RETURN_IF_ERROR(cp.AddPartitionChanges(TopicPartition{Topic("t"), Partition(0)}, Offset(offset),
                                                 [](ChangeVisitor&) {}));
  return store.Commit(std::move(cp));
}

TEST(CheckpointStoreTime, RecordedAtEveryCommitAndKeptAcrossReopen) {
  TempDir tmp;
  std::int64_t committed_ms = 0;
  {
    auto store = CheckpointStore::Open(tmp.path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->Info().last_checkpoint_unix_ms, 0);  // no checkpoint yet
    const std::int64_t before = NowMs();
    ASSERT_TRUE(CommitOffset(**store, 1).ok());
    const std::int64_t after = NowMs();
    committed_ms = (*store)->Info().last_checkpoint_unix_ms;
    EXPECT_GE(committed_ms, before);
    EXPECT_LE(committed_ms, after);
  }
  StoreOptions ro;
  ro.read_only = true;
  auto inspector = CheckpointStore::Open(tmp.path, ro);
  ASSERT_TRUE(inspector.ok()) << inspector.status().ToString();
  EXPECT_EQ((*inspector)->Info().last_checkpoint_unix_ms, committed_ms);
  EXPECT_EQ((*inspector)->Info().last_checkpoint, 1u);
}

TEST(CheckpointStoreTime, DirectoryWithoutTheTimeReadsAsUnknown) {
  TempDir tmp;
  {
    auto store = CheckpointStore::Open(tmp.path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(CommitOffset(**store, 1).ok());
  }
  {  // as a version that did not record the time left it
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), tmp.path, &db).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), "mcheckpoint_time").ok());
    delete db;
  }
  auto store = CheckpointStore::Open(tmp.path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Info().last_checkpoint_unix_ms, 0);
  EXPECT_TRUE((*store)->Verify().ok());
  ASSERT_TRUE(CommitOffset(**store, 2).ok());
  EXPECT_GT((*store)->Info().last_checkpoint_unix_ms, 0);
}

}  // namespace
}  // namespace exactly
