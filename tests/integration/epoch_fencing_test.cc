// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The epoch directory: strictly increasing epochs across opens, one live
// owner at a time, and a restarted producer fencing its predecessor in
// what consumers actually read back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "exactly/engine.h"
#include "exactly/kafka/epoch_dir.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/stamped_producer.h"
#include "kafka_support.h"

namespace exactly::kafka {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "exactly-epoch-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(EpochDirectory, EpochStrictlyIncreasesAndSurvivesReopen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/p";
  for (std::uint64_t expected = 0; expected < 4; ++expected) {
    auto d = EpochDirectory::Open(dir, ProducerId("p-1"));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->epoch(), Epoch(expected));
  }
}

TEST(EpochDirectory, OneLiveOwner) {
  TempDir tmp;
  auto first = EpochDirectory::Open(tmp.path(), ProducerId("p"));
  ASSERT_TRUE(first.ok());
  auto second = EpochDirectory::Open(tmp.path(), ProducerId("p"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find(tmp.path()), std::string_view::npos);
  // Moving keeps the lock; destroying releases it.
  EpochDirectory moved = std::move(*first);
  EXPECT_FALSE(EpochDirectory::Open(tmp.path(), ProducerId("p")).ok());
  { EpochDirectory gone = std::move(moved); }
  auto third = EpochDirectory::Open(tmp.path(), ProducerId("p"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->epoch(), Epoch(1));
}

TEST(EpochDirectory, RefusesOtherProducerAndCorruption) {
  TempDir tmp;
  ASSERT_TRUE(EpochDirectory::Open(tmp.path(), ProducerId("alice")).ok());
  auto other = EpochDirectory::Open(tmp.path(), ProducerId("bob"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
  EXPECT_NE(other.status().message().find("alice"), std::string_view::npos);

  std::ofstream(tmp.path() + "/EPOCH", std::ios::trunc) << "garbage\n";
  auto corrupt = EpochDirectory::Open(tmp.path(), ProducerId("alice"));
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), Code::kCorruption);
}

TEST(EpochFencing, RestartedProducerFencesItsPredecessor) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(cluster->CreateTopic("fenced", 1).ok());
  TempDir tmp;
  const auto conf = testing::ProducerConfig(cluster->bootstraps());
  StampedProducerOptions opts;
  opts.producer_id = ProducerId("svc");
  opts.epoch_dir = tmp.path();

  auto send = [](StampedProducer& p, const std::string& v) {
    auto r = p.Send({"fenced", Partition(0), std::nullopt, std::string_view(v), {}, std::nullopt}, 5s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };

  // The first incarnation sends 3 messages and "dies" (closed here).
  Epoch first_epoch;
  {
    auto a = StampedProducer::Open(conf, opts);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    first_epoch = a->epoch();
    // While it lives, nobody else can take its directory.
    auto rival = StampedProducer::Open(conf, opts);
    ASSERT_FALSE(rival.ok());
    EXPECT_EQ(rival.status().code(), Code::kBusy);
    for (int i = 0; i < 3; ++i) send(*a, "a" + std::to_string(i));
    ASSERT_TRUE(a->Close(10s).ok());
  }
  // The restart gets a strictly higher epoch and restarts its sequence.
  auto b = StampedProducer::Open(conf, opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_GT(b->epoch(), first_epoch);
  EXPECT_EQ(b->next_seq(), Sequence(0));
  send(*b, "b0");
  send(*b, "b1");
  ASSERT_TRUE(b->Flush(10s).ok());
  // A zombie of the first incarnation (same epoch, later sequences) writes late.
  StampedProducerOptions zombie_opts;
  zombie_opts.producer_id = ProducerId("svc");
  zombie_opts.epoch = first_epoch;
  zombie_opts.first_seq = Sequence(3);
  auto zombie = StampedProducer::Open(conf, zombie_opts);
  ASSERT_TRUE(zombie.ok());
  send(*zombie, "zombie");
  ASSERT_TRUE(zombie->Close(10s).ok());
  send(*b, "b2");
  ASSERT_TRUE(b->Close(10s).ok());

  auto records = testing::ReadAll(cluster->bootstraps(), "fenced", 1);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 7u);
  Engine engine;
  std::vector<std::string> delivered;
  for (const auto& r : *records) {
    (void)engine.Process(r.view(), [&](const Message& m) { delivered.emplace_back(*m.value); });
  }
  EXPECT_EQ(delivered, (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1", "b2"}));
  EXPECT_EQ(engine.counters().stale, 1u);
}

}  // namespace
}  // namespace exactly::kafka
