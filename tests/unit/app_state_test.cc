// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Application state: staged put/get/delete per application namespace,
// committed by the checkpoint that carries it, and a running aggregate
// that comes out exactly once across crashes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "exactly/app_state.h"
#include "exactly/checkpoint_store.h"

namespace exactly {
namespace {

using unit_test::TempDir;

std::optional<std::string> Get(const AppTransaction& txn, std::string_view key) {
  auto r = txn.Get(key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

Status CommitApp(CheckpointStore& store, AppTransaction&& txn) {
  Checkpoint cp = store.BeginCheckpoint();
  EXACTLY_RETURN_IF_ERROR(cp.Stage(std::move(txn)));
  return store.Commit(std::move(cp));
}

TEST(AppState, ReadsSeeStagedWritesThenCommitted) {
  TempDir tmp;
  auto store = CheckpointStore::Open(tmp.path).value();
  AppTransaction txn = store->BeginApp("agg").value();
  EXPECT_EQ(Get(txn, "k"), std::nullopt);
  txn.Put("k", "1");
  EXPECT_EQ(Get(txn, "k"), "1");
  txn.Put("k", "2");
  EXPECT_EQ(Get(txn, "k"), "2");
  txn.Put("gone", "x");
  txn.Delete("gone");
  EXPECT_EQ(Get(txn, "gone"), std::nullopt);
  txn.Put("empty", "");
  EXPECT_EQ(txn.size(), 3u);
  // Nothing is committed yet.
  EXPECT_EQ(store->GetApp("agg", "k").value(), std::nullopt);
  ASSERT_TRUE(CommitApp(*store, std::move(txn)).ok());
  EXPECT_EQ(store->GetApp("agg", "k").value(), "2");
  EXPECT_EQ(store->GetApp("agg", "empty").value(), "");

  AppTransaction next = store->BeginApp("agg").value();
  EXPECT_EQ(Get(next, "k"), "2");  // committed
  next.Delete("k");
  EXPECT_EQ(Get(next, "k"), std::nullopt);  // staged delete hides it
  EXPECT_EQ(store->GetApp("agg", "k").value(), "2");
  ASSERT_TRUE(CommitApp(*store, std::move(next)).ok());
  EXPECT_EQ(store->GetApp("agg", "k").value(), std::nullopt);
}

TEST(AppState, ApplicationsAreNamespaced) {
  TempDir tmp;
  auto store = CheckpointStore::Open(tmp.path).value();
  AppTransaction a = store->BeginApp("a").value();
  AppTransaction ab = store->BeginApp("ab").value();
  a.Put("bkey", "from a");
  ab.Put("key", "from ab");
  Checkpoint cp = store->BeginCheckpoint();
  ASSERT_TRUE(cp.Stage(std::move(a)).ok());
  ASSERT_TRUE(cp.Stage(std::move(ab)).ok());
  ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  EXPECT_EQ(store->GetApp("a", "bkey").value(), "from a");
  EXPECT_EQ(store->GetApp("a", "key").value(), std::nullopt);
  EXPECT_EQ(store->GetApp("ab", "key").value(), "from ab");
  EXPECT_EQ(store->GetApp("ab", "bkey").value(), std::nullopt);

  std::vector<std::string> seen;
  ASSERT_TRUE(store->ScanApp("a", "", [&](std::string_view k, std::string_view v) {
                      seen.push_back(std::string(k) + "=" + std::string(v));
                      return true;
                    }).ok());
  EXPECT_EQ(seen, std::vector<std::string>{"bkey=from a"});
  EXPECT_EQ(store->BeginApp("").status().code(), Code::kInvalidArgument);
}

TEST(AppState, ScanVisitsAPrefixInOrder) {
  TempDir tmp;
  auto store = CheckpointStore::Open(tmp.path).value();
  AppTransaction txn = store->BeginApp("s").value();
  for (const char* k : {"user/2", "user/10", "user/1", "users", "item/1"}) txn.Put(k, k);
  ASSERT_TRUE(CommitApp(*store, std::move(txn)).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store->ScanApp("s", "user/", [&](std::string_view k, std::string_view) {
                      keys.emplace_back(k);
                      return keys.size() < 2;  // stop early
                    }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"user/1", "user/10"}));
}

TEST(AppState, DroppedCheckpointDiscardsStagedWrites) {
  TempDir tmp;
  auto store = CheckpointStore::Open(tmp.path).value();
  {
    AppTransaction txn = store->BeginApp("x").value();
    txn.Put("k", "v");
    Checkpoint cp = store->BeginCheckpoint();
    ASSERT_TRUE(cp.Stage(std::move(txn)).ok());
  }  // never committed
  EXPECT_EQ(store->GetApp("x", "k").value(), std::nullopt);
  auto other = CheckpointStore::Open(tmp.path + "-other").value();
  AppTransaction foreign = other->BeginApp("x").value();
  Checkpoint cp = store->BeginCheckpoint();
  EXPECT_EQ(cp.Stage(std::move(foreign)).code(), Code::kInvalidArgument);
  other.reset();
  std::filesystem::remove_all(tmp.path + "-other");
}

// A stream processor summing message values, checkpointing every few
// messages and crashing (dropping everything uncommitted) at random. With
// the sum kept in app state next to the offset, it ends exactly right.
TEST(AppState, RunningAggregateIsExactlyOnce) {
  TempDir tmp;
  const TopicPartition tp{Topic("numbers"), Partition(0)};
  std::vector<std::int64_t> input;
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) input.push_back(static_cast<std::int64_t>(rng() % 1000));
  std::int64_t expected = 0;
  for (auto v : input) expected += v;

  auto noop = [](ChangeVisitor&) {};
  int crashes = 0;
  bool done = false;
  while (!done) {
    auto store = CheckpointStore::Open(tmp.path).value();
    auto loaded = store->Load(tp).value();
    std::int64_t offset = loaded ? loaded->next_offset.value() : 0;
    AppTransaction txn = store->BeginApp("sum").value();
    for (;;) {
      if (offset == static_cast<std::int64_t>(input.size())) {
        Checkpoint cp = store->BeginCheckpoint();
        ASSERT_TRUE(cp.AddPartitionChanges(tp, Offset(offset), noop).ok());
        ASSERT_TRUE(cp.Stage(std::move(txn)).ok());
        ASSERT_TRUE(store->Commit(std::move(cp)).ok());
        done = true;
        break;
      }
      // The handler.
      auto cur = txn.Get("total").value();
      std::int64_t total = cur ? std::stoll(*cur) : 0;
      txn.Put("total", std::to_string(total + input[static_cast<std::size_t>(offset)]));
      ++offset;
      if (rng() % 50 == 0) {  // crash: staged state and progress are lost
        ++crashes;
        break;
      }
      if (offset % 7 == 0) {
        Checkpoint cp = store->BeginCheckpoint();
        ASSERT_TRUE(cp.AddPartitionChanges(tp, Offset(offset), noop).ok());
        ASSERT_TRUE(cp.Stage(std::move(txn)).ok());
        ASSERT_TRUE(store->Commit(std::move(cp)).ok());
        txn = store->BeginApp("sum").value();
      }
    }
  }
  EXPECT_GT(crashes, 3);
  auto store = CheckpointStore::Open(tmp.path).value();
  EXPECT_EQ(store->GetApp("sum", "total").value(), std::to_string(expected));
}

}  // namespace
}  // namespace exactly
