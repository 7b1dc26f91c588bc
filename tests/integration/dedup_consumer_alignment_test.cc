// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Aligned checkpoints of the DedupConsumer: a checkpoint that falls due
// while chunked messages are half-way waits for them to complete, so no
// checkpoint carries chunks (and without alignment, the same input does);
// partitions that wait meanwhile lose and repeat nothing, in order; a
// message that never completes ends the wait at its time or byte bound,
// and its chunk is then checkpointed; retryable handler failures while
// records wait change nothing in the exactly-once application state.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "demo_traffic.h"
#include "exactly/checkpoint_store.h"
#include "exactly/crc32c.h"
#include "exactly/envelope.h"
#include "exactly/kafka/dedup_consumer.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;
using kafka::DedupConsumer;
using kafka::DedupConsumerHooks;
using kafka::DedupConsumerOptions;

constexpr int kPartitions = 2;

// A delivered message as the handler saw it.
struct Seen {
  std::int32_t partition;
  std::int64_t offset;
  std::string producer;
  std::uint64_t seq;
  std::size_t bytes;
};

class DedupAlignmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = kafka::MockCluster::Create(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = std::make_unique<kafka::MockCluster>(std::move(*cluster));
    ASSERT_TRUE(cluster_->CreateTopic("in", kPartitions).ok());
    auto producer = kafka::Producer::Create(RelayProducerConfig(bs()));
    ASSERT_TRUE(producer.ok());
    producer_ = std::make_unique<kafka::Producer>(std::move(*producer));
  }

  std::string bs() const { return cluster_->bootstraps(); }

  // Sends `value` as a message of `chunks` chunks (1: a single stamped
  // record), or only its chunks [0, `send`) when `send` is given.
  void Send(std::int32_t partition, const std::string& producer, std::uint64_t seq, const std::string& value,
            std::uint32_t chunks, std::optional<std::uint32_t> send = std::nullopt) {
    const std::size_t step = (value.size() + chunks - 1) / chunks;
    for (std::uint32_t i = 0; i < send.value_or(chunks); ++i) {
      StampSpec spec{producer, EpochSeq{Epoch(1), Sequence(seq)}, std::nullopt, std::nullopt, std::nullopt};
      if (chunks > 1) {
        spec.chunk = ChunkInfo{i, chunks};
        spec.size = value.size();
        spec.crc = crc32c::Value(value);
      }
      std::vector<OwnedHeader> owned;
      FormatStamp(spec).AppendTo(owned);
      std::vector<HeaderView> headers;
      for (const OwnedHeader& h : owned) {
        headers.push_back(HeaderView{h.name, h.value ? NullableBytes(*h.value) : std::nullopt});
      }
      const std::string_view part = std::string_view(value).substr(std::min(value.size(), i * step), step);
      ASSERT_TRUE(producer_
                      ->Produce(kafka::OutgoingRecord{"in", Partition(partition), std::nullopt, part, headers}, 10s)
                      .ok());
    }
    ASSERT_TRUE(producer_->Flush(10s).ok());
  }

  DedupConsumerOptions Options(const std::string& group) const {
    DedupConsumerOptions o;
    o.config = GroupConsumerConfig(bs());
    o.config.Set("group.id", group);
    o.topics = {"in"};
    o.checkpoint_interval = 0ms;
    o.log = [](std::string_view) {};
    return o;
  }

  // Partitions whose stored checkpoint holds chunks of a message in
  // progress, right now.
  static int StoredInProgress(CheckpointStore& store) {
    int n = 0;
    for (int p = 0; p < kPartitions; ++p) {
      auto loaded = store.Load(TopicPartition{Topic("in"), Partition(p)}, LoadOptions{});
      EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
      if (loaded.ok() && loaded->has_value() && !(*loaded)->state.in_progress.empty()) ++n;
    }
    return n;
  }

  // Runs `c` until `done`, at most 30 s.
  static Status RunUntil(DedupConsumer& c, const std::function<bool()>& done) {
    return DriveUntil({[&] { return c.RunFor(20ms); }}, done, 30s);
  }

  // The next offset `c` processes in partition `p` (-1: none yet).
  static std::int64_t NextOf(const DedupConsumer& c, std::int32_t p) {
    for (const auto& pos : c.Positions()) {
      if (pos.tp.partition.value() == p && pos.next) return pos.next->value();
    }
    return -1;
  }

  // With `c`'s checkpoints due every record or two and a long wait bound:
  // producer "fast"'s record 0 on partition 1 is processed; then chunk 0
  // of 2 of `slow` ("slow", seq 0) on partition 0, after which the due
  // checkpoint waits; then "fast" records 1..`waiting` on partition 1,
  // which has nothing in progress, so they wait.
  void MakeRecordsWait(DedupConsumer& c, const std::string& slow, std::uint64_t waiting) {
    ASSERT_NO_FATAL_FAILURE(Send(1, "fast", 0, "v0", 1));
    ASSERT_TRUE(RunUntil(c, [&] { return NextOf(c, 1) == 1; }).ok());
    ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2, /*send=*/1));
    ASSERT_TRUE(RunUntil(c, [&] { return NextOf(c, 0) == 1; }).ok());
    for (std::uint64_t s = 1; s <= waiting; ++s) {
      ASSERT_NO_FATAL_FAILURE(Send(1, "fast", s, "v" + std::to_string(s), 1));
    }
    ASSERT_TRUE(RunUntil(c, [&] { return c.stats().waiting_records == waiting; }).ok());
  }

  static DedupConsumerHooks Recording(std::vector<Seen>* seen) {
    DedupConsumerHooks hooks;
    hooks.on_message = [seen](const Message& m, AppTransaction&) {
      seen->push_back(Seen{m.partition.value(), m.offset.value(), std::string(m.producer), m.stamp.seq.value(),
                           m.value ? m.value->size() : 0});
      return Status::OK();
    };
    hooks.pre_checkpoint = [](std::chrono::milliseconds) { return Status::OK(); };
    return hooks;
  }

  std::unique_ptr<kafka::MockCluster> cluster_;
  std::unique_ptr<kafka::Producer> producer_;
};

// The count key of one stamped message: "count/<producer>/<seq>".
std::string PerMessageKey(const Message& m) {
  return "count/" + std::string(m.producer) + "/" + std::to_string(m.stamp.seq.value());
}

// Each partition's delivered offsets rise: nothing waited out of order.
void ExpectInOrder(const std::vector<Seen>& seen) {
  std::map<std::int32_t, std::int64_t> last;
  for (const Seen& s : seen) {
    auto [it, fresh] = last.emplace(s.partition, s.offset);
    if (!fresh) {
      EXPECT_GT(s.offset, it->second) << "partition " << s.partition << " delivered out of order";
      it->second = s.offset;
    }
  }
}

TEST_F(DedupAlignmentTest, DueCheckpointsWaitForMessagesInProgressAndCarryNoChunks) {
  // Per partition: 30 messages of 4 chunks, each followed by a single
  // record. Checkpoints fall due every 7 records, so mostly mid-message.
  std::map<std::tuple<std::string, std::uint64_t>, std::size_t> expected;
  for (std::uint64_t m = 0; m < 30; ++m) {
    for (std::int32_t p = 0; p < kPartitions; ++p) {
      const std::string big = relay_demo::FillerText(80'000, m * 2 + p);
      const std::string id = "big" + std::to_string(p);
      ASSERT_NO_FATAL_FAILURE(Send(p, id, m, big, 4));
      expected[{id, m}] = big.size();
      const std::string small_id = "small" + std::to_string(p);
      ASSERT_NO_FATAL_FAILURE(Send(p, small_id, m, "x", 1));
      expected[{small_id, m}] = 1;
    }
  }
  auto high = HighWatermarks(bs(), "in", kPartitions);
  ASSERT_TRUE(high.ok());

  // Without alignment first: the same input does leave chunks in
  // checkpoints, so the aligned run below shows alignment at work.
  for (const bool aligned : {false, true}) {
    SCOPED_TRACE(aligned ? "aligned" : "not aligned");
    TempDir dir;
    auto store = CheckpointStore::Open(dir.path());
    ASSERT_TRUE(store.ok());
    std::vector<Seen> seen;
    int with_chunks = 0;
    auto options = Options(aligned ? "aligned" : "unaligned");
    options.checkpoint_records = 7;
    options.checkpoint_alignment = aligned ? 30s : 0ms;  // never reached: the input is all there
    options.on_checkpoint = [&](std::chrono::microseconds) { with_chunks += StoredInProgress(**store); };
    auto consumer = DedupConsumer::Create(**store, options, Recording(&seen));
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    const Status st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }},
                                 [&] { return CaughtUp((*consumer)->Positions(), *high); }, 60s);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE((*consumer)->Close(30s).ok());
    const auto stats = (*consumer)->stats();
    EXPECT_GT(stats.checkpoints, 20u);
    EXPECT_EQ(stats.rewinds, 0u);
    if (aligned) {
      EXPECT_EQ(with_chunks, 0) << "a checkpoint carried chunks";
      EXPECT_GT(stats.checkpoint_alignments, 5u);
      EXPECT_EQ(stats.checkpoint_alignments_expired, 0u);
    } else {
      EXPECT_GT(with_chunks, 0) << "the input never put a checkpoint mid-message";
      EXPECT_EQ(stats.checkpoint_alignments, 0u);
    }
    // Everything once, whole, and in order.
    std::map<std::tuple<std::string, std::uint64_t>, std::size_t> got;
    for (const Seen& s : seen) {
      EXPECT_TRUE(got.emplace(std::tuple{s.producer, s.seq}, s.bytes).second) << s.producer << " " << s.seq;
    }
    EXPECT_EQ(got, expected);
    ExpectInOrder(seen);
    EXPECT_EQ(StoredInProgress(**store), 0);
  }
}

// Which bound ends the wait for a message that never completes.
enum class Bound { kTime, kBytes };

class DedupAlignmentBoundTest : public DedupAlignmentTest, public ::testing::WithParamInterface<Bound> {};

TEST_P(DedupAlignmentBoundTest, AMessageThatNeverCompletesEndsTheWaitAtItsBound) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  std::vector<Seen> seen;
  auto options = Options("bound");
  options.checkpoint_records = 1;  // due at once after every record
  if (GetParam() == Bound::kTime) {
    options.checkpoint_alignment = 300ms;
  } else {
    options.checkpoint_alignment = 1h;      // never, in this test
    options.checkpoint_alignment_bytes = 1;  // the first record that waits ends it
  }
  auto consumer = DedupConsumer::Create(**store, options, Recording(&seen));
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();

  // Chunk 0 of 2 on partition 0, processed: the checkpoint now due waits.
  const std::string slow = relay_demo::FillerText(50'000, 1);
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2, /*send=*/1));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 1; }).ok());
  // Partition 1's records wait behind it until the bound ends the wait.
  for (std::uint64_t s = 0; s < 20; ++s) ASSERT_NO_FATAL_FAILURE(Send(1, "fast", s, "v" + std::to_string(s), 1));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 1) == 20; }).ok()) << "the wait did not end at its bound";
  auto stats = (*consumer)->stats();
  EXPECT_EQ(stats.checkpoint_alignments, 1u);
  EXPECT_EQ(stats.checkpoint_alignments_expired, 1u);
  if (GetParam() == Bound::kTime) {
    EXPECT_GE(stats.checkpoint_alignment_wait, 300ms);
  }
  EXPECT_LT(stats.checkpoint_alignment_wait, 30s);
  EXPECT_EQ(StoredInProgress(**store), 1) << "the chunk is checkpointed once the wait gave up";
  ASSERT_EQ(seen.size(), 20u);
  for (std::uint64_t s = 0; s < 20; ++s) EXPECT_EQ(seen[s].seq, s);

  // Its last chunk completes it; the next checkpoint holds no chunk, and
  // the chunk already checkpointed made no further wait.
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2));  // both chunks: chunk 0 again is a duplicate
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 3; }).ok());
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  stats = (*consumer)->stats();
  EXPECT_EQ(stats.checkpoint_alignments, 1u);
  ASSERT_EQ(seen.size(), 21u);
  EXPECT_EQ(seen.back().producer, "slow");
  EXPECT_EQ(seen.back().bytes, slow.size());
  EXPECT_EQ(StoredInProgress(**store), 0);
}

INSTANTIATE_TEST_SUITE_P(Bounds, DedupAlignmentBoundTest, ::testing::Values(Bound::kTime, Bound::kBytes),
                         [](const auto& p) { return p.param == Bound::kTime ? "Time" : "Bytes"; });

TEST_F(DedupAlignmentTest, CloseProcessesWaitingRecordsBeforeTheFinalCheckpoint) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  std::vector<Seen> seen;
  auto options = Options("close");
  options.checkpoint_records = 1;
  options.checkpoint_alignment = 1h;
  auto consumer = DedupConsumer::Create(**store, options, Recording(&seen));
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, relay_demo::FillerText(20'000, 1), 2, /*send=*/1));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 1; }).ok());
  for (std::uint64_t s = 0; s < 4; ++s) ASSERT_NO_FATAL_FAILURE(Send(1, "fast", s, "v", 1));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return (*consumer)->stats().waiting_records == 4; }).ok());
  ASSERT_TRUE(seen.empty());
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  EXPECT_EQ((*consumer)->stats().waiting_records, 0u);
  ASSERT_EQ(seen.size(), 4u);
  for (std::uint64_t s = 0; s < 4; ++s) EXPECT_EQ(seen[s].seq, s);
  for (const auto& [p, next] : std::map<std::int32_t, std::int64_t>{{0, 1}, {1, 4}}) {
    auto offset = (*store)->LoadOffset(TopicPartition{Topic("in"), Partition(p)});
    ASSERT_TRUE(offset.ok() && offset->has_value()) << p;
    EXPECT_EQ((*offset)->value(), next) << "partition " << p;
  }
  EXPECT_EQ(StoredInProgress(**store), 1);
}

TEST_F(DedupAlignmentTest, DestroyedWhileRecordsWaitResumesFromTheLastCheckpoint) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto options = Options("destroyed");
  options.checkpoint_records = 1;
  options.checkpoint_alignment = 1h;
  const std::string slow = relay_demo::FillerText(20'000, 1);
  std::vector<Seen> first;
  {
    auto consumer = DedupConsumer::Create(**store, options, Recording(&first));
    ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
    ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2, /*send=*/1));
    ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 1; }).ok());
    for (std::uint64_t s = 0; s < 3; ++s) ASSERT_NO_FATAL_FAILURE(Send(1, "fast", s, "v", 1));
    ASSERT_TRUE(RunUntil(**consumer, [&] { return (*consumer)->stats().waiting_records == 3; }).ok());
    // Destroyed without Close, as a crash: the waiting librdkafka messages
    // go with it (before its handle).
  }
  EXPECT_TRUE(first.empty());
  // Another group, not to wait out the dead member's session: the store
  // says where to resume.
  options.config.Set("group.id", "destroyed-restarted");
  std::vector<Seen> second;
  auto consumer = DedupConsumer::Create(**store, options, Recording(&second));
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 3 && NextOf(**consumer, 1) == 3; }).ok());
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  std::vector<std::tuple<std::string, std::uint64_t>> got;
  for (const Seen& s : second) got.emplace_back(s.producer, s.seq);
  std::sort(got.begin(), got.end());
  const std::vector<std::tuple<std::string, std::uint64_t>> want{{"fast", 0}, {"fast", 1}, {"fast", 2}, {"slow", 0}};
  EXPECT_EQ(got, want);
}

// Whether the partition whose records wait has unsaved work when the
// rewind comes: then it is sought back too and its waiting records go.
enum class Waiting { kClean, kDirty };

class DedupAlignmentRewindTest : public DedupAlignmentTest, public ::testing::WithParamInterface<Waiting> {};

TEST_P(DedupAlignmentRewindTest, ARewindWhileRecordsWaitLosesAndRepeatsNothing) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  std::vector<Seen> seen;  // successful deliveries
  std::size_t seen_at_rewind = 0;
  bool failed = false;
  DedupConsumerHooks hooks;
  hooks.on_message = [&](const Message& m, AppTransaction& txn) -> Status {
    // The chunked message fails once (retryable): a rewind.
    if (m.producer == "slow" && !failed) {
      failed = true;
      return Status::Unavailable("output queue full");
    }
    seen.push_back(Seen{m.partition.value(), m.offset.value(), std::string(m.producer), m.stamp.seq.value(),
                        m.value ? m.value->size() : 0});
    IncrementCount(txn, PerMessageKey(m));
    return Status::OK();
  };
  hooks.pre_checkpoint = [](std::chrono::milliseconds) { return Status::OK(); };
  hooks.on_rewind = [&] { seen_at_rewind = seen.size(); };
  auto options = Options("rewind");
  options.app = "counts";
  // Clean: every record is checkpointed at once. Dirty: partition 1's
  // first record is not checkpointed before the wait starts.
  options.checkpoint_records = GetParam() == Waiting::kClean ? 1 : 2;
  options.checkpoint_alignment = 1h;  // only the rewind ends this wait
  auto consumer = DedupConsumer::Create(**store, options, hooks);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();

  const std::string slow = relay_demo::FillerText(20'000, 1);
  ASSERT_NO_FATAL_FAILURE(MakeRecordsWait(**consumer, slow, 5));
  EXPECT_EQ(NextOf(**consumer, 1), 1);
  // The last chunk completes the message, whose handler fails: a rewind.
  // (Chunk 0 is sent again, a duplicate, with it.)
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2));
  ASSERT_TRUE(RunUntil(**consumer, [&] { return NextOf(**consumer, 0) == 3 && NextOf(**consumer, 1) == 6; }).ok());
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  const auto stats = (*consumer)->stats();
  EXPECT_EQ(stats.rewinds, 1u);
  EXPECT_EQ(stats.waiting_records, 0u);

  // Exactly once in the application state...
  const std::map<std::string, std::uint64_t> got = CommittedCounts(**store, "counts", "count/");
  std::map<std::string, std::uint64_t> expected{{"count/slow/0", 1}};
  for (int s = 0; s <= 5; ++s) expected["count/fast/" + std::to_string(s)] = 1;
  EXPECT_EQ(got, expected);
  // ...and in order after the rewind: partition 1 from where it was left
  // (clean) or from its first record (dirty: sought back).
  std::vector<std::uint64_t> after;
  for (std::size_t i = seen_at_rewind; i < seen.size(); ++i) {
    if (seen[i].partition == 1) after.push_back(seen[i].seq);
  }
  const std::vector<std::uint64_t> want =
      GetParam() == Waiting::kClean ? std::vector<std::uint64_t>{1, 2, 3, 4, 5}
                                    : std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5};
  EXPECT_EQ(after, want);
}

INSTANTIATE_TEST_SUITE_P(Partition, DedupAlignmentRewindTest, ::testing::Values(Waiting::kClean, Waiting::kDirty),
                         [](const auto& p) { return p.param == Waiting::kClean ? "Clean" : "Dirty"; });


// The group protocol of the rebalance below.
class DedupAlignmentRebalanceTest : public DedupAlignmentTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DedupAlignmentRebalanceTest, ARebalanceWhileRecordsWaitLosesAndRepeatsNothing) {
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());  // shared by both members
  ASSERT_TRUE(store.ok());
  auto hooks = [](int* delivered) {
    DedupConsumerHooks h;
    h.on_message = [delivered](const Message& m, AppTransaction& txn) {
      ++*delivered;
      IncrementCount(txn, PerMessageKey(m));
      return Status::OK();
    };
    h.pre_checkpoint = [](std::chrono::milliseconds) { return Status::OK(); };
    return h;
  };
  auto options = Options("rebalance");
  options.app = "counts";
  options.checkpoint_records = 1;
  options.checkpoint_alignment = 1h;
  options.config.Set("partition.assignment.strategy", GetParam());
  int delivered_a = 0, delivered_b = 0;
  auto a = DedupConsumer::Create(**store, options, hooks(&delivered_a));
  ASSERT_TRUE(a.ok()) << a.status().ToString();

  // As above: partition 0 has chunk 0 of 2, partition 1's records wait.
  const std::string slow = relay_demo::FillerText(20'000, 1);
  ASSERT_NO_FATAL_FAILURE(MakeRecordsWait(**a, slow, 5));

  // A second member joins: a partition moves while records wait.
  auto b = DedupConsumer::Create(**store, options, hooks(&delivered_b));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto both = [&] {
    return std::vector<std::function<Status()>>{[&] { return (*a)->RunFor(20ms); }, [&] { return (*b)->RunFor(20ms); }};
  };
  ASSERT_TRUE(DriveUntil(both(),
                         [&] {
                           return (*a)->stats().assigned == 1 && (*b)->stats().assigned == 1 &&
                                  (*a)->stats().waiting_records == 0;
                         },
                         60s)
                  .ok());
  // The message completes with whichever member owns partition 0 now.
  ASSERT_NO_FATAL_FAILURE(Send(0, "slow", 0, slow, 2));
  const std::map<std::int32_t, std::int64_t> high{{0, 3}, {1, 6}};
  ASSERT_TRUE(DriveUntil(both(),
                         [&] {
                           auto positions = (*a)->Positions();
                           for (auto& p : (*b)->Positions()) positions.push_back(p);
                           return CaughtUp(positions, high);
                         },
                         60s)
                  .ok());
  ASSERT_TRUE((*a)->Close(30s).ok());
  ASSERT_TRUE((*b)->Close(30s).ok());
  EXPECT_GE((*a)->stats().revocations, 1u);

  std::map<std::string, std::uint64_t> expected{{"count/slow/0", 1}};
  for (int s = 0; s <= 5; ++s) expected["count/fast/" + std::to_string(s)] = 1;
  EXPECT_EQ(CommittedCounts(**store, "counts", "count/"), expected);
  EXPECT_GE(delivered_a + delivered_b, 7);
}

INSTANTIATE_TEST_SUITE_P(Protocols, DedupAlignmentRebalanceTest, ::testing::Values("range", "cooperative-sticky"),
                         [](const auto& p) { return std::string(p.param) == "range" ? "Eager" : "Cooperative"; });

TEST_F(DedupAlignmentTest, HandlerFailuresWhileRecordsWaitCountEachMessageOnce) {
  // Per partition: 40 messages of 3 chunks, each followed by two single
  // records of another producer; every fifth chunked message is sent
  // twice (the copy is a duplicate).
  std::map<std::string, std::uint64_t> expected;
  for (std::uint64_t m = 0; m < 40; ++m) {
    for (std::int32_t p = 0; p < kPartitions; ++p) {
      const std::string chunked = "c" + std::to_string(p), single = "s" + std::to_string(p);
      const std::string value = relay_demo::FillerText(30'000, m * 2 + p);
      ASSERT_NO_FATAL_FAILURE(Send(p, chunked, m, value, 3));
      if (m % 5 == 0) {
        ASSERT_NO_FATAL_FAILURE(Send(p, chunked, m, value, 3));
      }
      ++expected["count/" + chunked];
      for (std::uint64_t k = 0; k < 2; ++k) {
        ASSERT_NO_FATAL_FAILURE(Send(p, single, m * 2 + k, "v", 1));
        ++expected["count/" + single];
      }
    }
  }
  auto high = HighWatermarks(bs(), "in", kPartitions);
  ASSERT_TRUE(high.ok());

  constexpr std::uint64_t kSeed = 20261122;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  std::mt19937_64 rng(kSeed);
  TempDir dir;
  auto store = CheckpointStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  std::uint64_t failures = 0;
  DedupConsumerHooks hooks;
  hooks.on_message = [&](const Message& m, AppTransaction& txn) -> Status {
    if (rng() % 40 == 0) {
      ++failures;
      return Status::Unavailable("output queue full");  // retryable: a rewind
    }
    IncrementCount(txn, "count/" + std::string(m.stamped ? m.producer : "unstamped"));
    return Status::OK();
  };
  hooks.pre_checkpoint = [](std::chrono::milliseconds) { return Status::OK(); };
  auto options = Options("failures");
  options.app = "counts";
  options.checkpoint_records = 13;
  options.checkpoint_alignment = 30s;
  auto consumer = DedupConsumer::Create(**store, options, hooks);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  const Status st = DriveUntil({[&] { return (*consumer)->RunFor(20ms); }},
                               [&] { return CaughtUp((*consumer)->Positions(), *high); }, 120s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE((*consumer)->Close(30s).ok());
  const auto stats = (*consumer)->stats();
  EXPECT_GT(failures, 3u);
  EXPECT_EQ(stats.rewinds, failures);
  EXPECT_GT(stats.checkpoint_alignments, 3u);
  const std::map<std::string, std::uint64_t> got = CommittedCounts(**store, "counts", "count/");
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace exactly::testing
