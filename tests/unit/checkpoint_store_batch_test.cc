// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The store keeps a committed checkpoint's write batch, cleared, for the
// next checkpoint (a relay's checkpoints carry megabytes of chunks, and a
// fresh batch grew into newly mapped memory each time): the next
// checkpoint takes it, writes only its own changes, and a batch over the
// bound is not kept.
#include <gtest/gtest.h>

#include <string>

#include "exactly/checkpoint_store.h"
#include "temp_dir.h"

namespace exactly {
namespace {

using unit_test::TempDir;

const TopicPartition kTp{Topic("batch"), Partition(0)};

InProgressHeader Message(std::string producer, std::uint64_t size) {
  InProgressHeader h;
  h.producer = std::move(producer);
  h.stamp = EpochSeq{Epoch(1), Sequence(1)};
  h.count = 2;
  h.size = size;
  h.first_offset = Offset(0);
  return h;
}

TEST(CheckpointStoreBatch, CommittedBatchIsKeptForTheNextCheckpointOnly) {
  TempDir tmp;
  StoreOptions so;
  so.sync = false;
  auto store = CheckpointStore::Open(tmp.path, so).value();
  EXPECT_EQ(store->MemoryUsage().kept_batch, 0u);

  const InProgressHeader big = Message("big", 4u << 20);
  const ChunkState chunk0{0, Offset(0), TimestampMs(1), std::string(2u << 20, 'a')};
  {
    Checkpoint cp = store->BeginCheckpoint();
    ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(1), [&](ChangeVisitor& v) { v.ChunkAdded(big, ViewOf(chunk0)); })
                    .ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  }
  const std::size_t kept = store->MemoryUsage().kept_batch;
  EXPECT_GE(kept, 2u << 20);

  {
    Checkpoint cp = store->BeginCheckpoint();
    EXPECT_EQ(store->MemoryUsage().kept_batch, 0u) << "taken by the checkpoint under way";
    ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(2), [&](ChangeVisitor& v) {
                    v.ProducerChanged(ProducerState{"small", EpochSeq{Epoch(1), Sequence(5)}, TimestampMs(2)});
                  }).ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  }
  EXPECT_EQ(store->MemoryUsage().kept_batch, kept) << "the same buffer, kept again";

  // What is stored is each checkpoint's own changes: the chunk once, the
  // producer, the offset of the last.
  auto loaded = store->Load(kTp).value();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->next_offset, Offset(2));
  ASSERT_EQ(loaded->state.producers.size(), 1u);
  EXPECT_EQ(loaded->state.producers[0].producer, "small");
  ASSERT_EQ(loaded->state.in_progress.size(), 1u);
  ASSERT_EQ(loaded->state.in_progress[0].chunks.size(), 1u);
  EXPECT_EQ(loaded->state.in_progress[0].chunks[0], chunk0);

  // A batch past the bound (32 MiB) is not kept.
  const ChunkState huge{0, Offset(3), TimestampMs(3), std::string(33u << 20, 'h')};
  {
    Checkpoint cp = store->BeginCheckpoint();
    ASSERT_TRUE(cp.AddPartitionChanges(kTp, Offset(4), [&](ChangeVisitor& v) {
                    v.ChunkAdded(Message("huge", 40u << 20), ViewOf(huge));
                  }).ok());
    ASSERT_TRUE(store->Commit(std::move(cp)).ok());
  }
  EXPECT_EQ(store->MemoryUsage().kept_batch, 0u);
}

}  // namespace
}  // namespace exactly
